"""SST-2 data for Experiments 2 and 3: loading, the soft-instruction and soft-imperative builders, and the
data-memory layouts they ship."""

import json
from pathlib import Path

import pytest
from datasets import Dataset
from run_soft_imperative import SOFT_IMPERATIVE_OUTPUT_CELL, make_soft_imperative_programs, soft_imperative_memory
from run_soft_instruction import SOFT_INSTRUCTION_OUTPUT_CELL, build_soft_instruction_dataset, soft_instruction_memory
from tokenizers.pre_tokenizers import BertPreTokenizer
from transformers import AutoTokenizer

from modeling_synthesizer import run_subleq
from modeling_synthesizer.tokenizer import load_tokenizer_with_programs, program_token
from synthesizer_examples.soft_programs import (
    SOFT_IMPERATIVE_HALT,
    SOFT_IMPERATIVE_PROMPT,
    SOFT_INSTRUCTION_TEMPLATE,
    build_soft_imperative_dataset,
)
from synthesizer_examples.text_classification import load_sst2


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sst2_sample"
TRAIN_TSV, DEV_TSV = SAMPLE / "train.tsv", SAMPLE / "dev.tsv"
SOFT_IMPERATIVE_TEMPLATE = SOFT_IMPERATIVE_PROMPT.replace("{run_label}", "positive")  # SST-2's


def make_tokenizer_folder(folder: Path, texts: list[str] | None = None) -> Path:
    """
    A small uncased BERT WordPiece tokenizer saved to `folder`, so that tests need neither the Hub nor a copy of the
    30k bert-base-uncased vocabulary: BERT's special tokens, the integers 0..256 (every C_t is one token, as in
    bert-base-uncased), the prompts' words and the words of `texts` (default: the committed SST-2 sample).
    """
    if texts is None:
        texts = []
        for path in (TRAIN_TSV, DEV_TSV):
            lines = path.read_text(encoding="utf-8").splitlines()[1:]
            texts += [line.rsplit("\t", 1)[0] for line in lines]
    words = set()
    for text in [SOFT_INSTRUCTION_TEMPLATE, SOFT_IMPERATIVE_TEMPLATE, "a gorgeous, witty film", *texts]:
        words.update(piece for piece, _ in BertPreTokenizer().pre_tokenize_str(text.lower()))
    words -= {"[", "]", "{", "}", "sep", "sentence", "program"}
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[", "]"] + [str(i) for i in range(257)]
    vocab += sorted(words - set(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"})
    )
    return folder


def sst2_rows(sentences_and_labels):
    sentences, labels = zip(*sentences_and_labels)
    return Dataset.from_dict({"sentence": list(sentences), "label": list(labels)})


@pytest.fixture(scope="module")
def sample():
    return load_sst2(train_file=str(TRAIN_TSV), validation_file=str(DEV_TSV))


# Loading


def test_load_sst2_tsv_sample(sample):
    assert len(sample["train"]) == 300 and len(sample["validation"]) == 100
    for split in sample.values():
        assert split.column_names == ["sentence", "label"]
        assert set(split.unique("label")) == {0, 1}
        # The GLUE files end every sentence with a space before the tab: stripped.
        assert all(sentence == sentence.strip() and sentence for sentence in split["sentence"])
    first = TRAIN_TSV.read_text(encoding="utf-8").splitlines()[1]
    assert sample["train"][0] == {"sentence": first.rsplit("\t", 1)[0].strip(), "label": int(first[-1])}


def test_load_sst2_keeps_quotes_and_null_words(tmp_path):
    # Unquoted TSV: a '"' is part of the sentence, and "null" / "nan" are words, not missing values.
    rows = ['he said " wow " ', "null ", "nan "]
    for name in ("train", "dev"):
        (tmp_path / f"{name}.tsv").write_text("sentence\tlabel\n" + "".join(f"{r}\t1\n" for r in rows))
    loaded = load_sst2(train_file=str(tmp_path / "train.tsv"), validation_file=str(tmp_path / "dev.tsv"))
    assert loaded["train"]["sentence"] == ['he said " wow "', "null", "nan"]


def test_load_sst2_csv_and_json_match_tsv(sample, tmp_path):
    head = sample["train"].select(range(20))
    head.to_csv(str(tmp_path / "train.csv"), index=False)
    head.to_json(str(tmp_path / "train.json"))
    for extension in ("csv", "json"):
        path = str(tmp_path / f"train.{extension}")
        loaded = load_sst2(train_file=path, validation_file=path)
        assert loaded["train"].to_dict() == head.to_dict()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_file": str(TRAIN_TSV)}, "give both"),
        ({"train_file": str(TRAIN_TSV), "validation_file": "dev.json"}, "one type"),
        ({"dataset_name": None}, "--dataset_name"),
    ],
)
def test_load_sst2_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_sst2(**kwargs)


def test_load_sst2_numbers_other_labels_in_sorted_order(tmp_path):
    # Any number of classes, as run_classification.py: integer labels other than SST-2's 0/1 keep their value as name.
    (tmp_path / "t.tsv").write_text("sentence\tlabel\na film \t7\nanother \t2\nthird \t5\n")
    loaded = load_sst2(train_file=str(tmp_path / "t.tsv"), validation_file=str(tmp_path / "t.tsv"))
    assert loaded["train"]["label"] == [2, 0, 1]
    assert loaded["train"].features["label"].names == ["2", "5", "7"]


def test_load_sst2_rejects_labels_that_are_not_classes(tmp_path):
    (tmp_path / "t.json").write_text('{"sentence": "a film", "label": 0.5}\n{"sentence": "b", "label": 1.5}\n')
    with pytest.raises(ValueError, match="--label_column_name label: labels must be all integers or all non-empty"):
        load_sst2(train_file=str(tmp_path / "t.json"), validation_file=str(tmp_path / "t.json"))


# Soft-instruction (Experiment 2)


def test_soft_instruction_rows(sample):
    dataset = build_soft_instruction_dataset(sample["train"])
    assert len(dataset) == len(sample["train"])
    assert "label" not in dataset.column_names  # next to `labels`, the collator would copy it over the operands
    for row, source in zip(dataset, sample["train"]):
        assert row["sentiment"] == source["label"]
        assert row["description"] == f"Classify this input: {source['sentence']}"
        assert row["instruction"] == 1
        assert row["labels"] == ([0, 2, 0] if source["label"] == 1 else [1, 2, 0])


def test_soft_instruction_layout_computes_the_class():
    memory = soft_instruction_memory(256)
    assert memory[:3] == [-1, 0, 0] and len(memory) == 256 and not any(memory[3:])
    for label, instruction in ((1, (0, 2, 0)), (0, (1, 2, 0))):
        result = run_subleq([instruction], memory)
        assert (result.halt_reason, result.steps) == ("halt", 1)
        assert result.memory[SOFT_INSTRUCTION_OUTPUT_CELL] == label
    with pytest.raises(ValueError, match="3 cells"):
        soft_instruction_memory(2)


def test_soft_instruction_rejects_bad_labels():
    with pytest.raises(ValueError, match="0 or 1"):
        build_soft_instruction_dataset(sst2_rows([("fine", 1), ("odd", 3)]))
    with pytest.raises(ValueError, match="missing"):
        build_soft_instruction_dataset(Dataset.from_dict({"text": ["x"], "label": [0]}))


# Soft-imperative (Experiment 3)


def test_soft_imperative_programs():
    programs = make_soft_imperative_programs(10, 10, seed=1)
    assert len(programs) == 10 and all(len(program) == 10 for program in programs)
    operands = [value for program in programs for instruction in program for value in instruction]
    assert min(operands) >= 1 and max(operands) <= 255  # never 0: 0 is the HALT of negative text
    assert len(set(operands)) > 100
    assert make_soft_imperative_programs(10, 10, seed=1) == programs
    assert make_soft_imperative_programs(10, 10, seed=2) != programs
    with pytest.raises(ValueError, match="num_programs"):
        make_soft_imperative_programs(0, 10)


def test_soft_imperative_rows(sample):
    programs = make_soft_imperative_programs(10, 10, seed=1)
    dataset = build_soft_imperative_dataset(sample["train"], programs, seed=1)
    assert len(dataset) == len(sample["train"])
    assert "label" not in dataset.column_names
    pairs = set()
    for row, source in zip(dataset, sample["train"]):
        program, instruction = row["program"], row["instruction"]
        assert 0 <= program < 10 and 1 <= instruction <= 10
        pairs.add((program, instruction))
        assert row["description"] == (
            f"As long as the input text is positive, run {program_token(program)} [SEP] {source['sentence']}"
        )
        expected = programs[program][instruction - 1] if source["label"] == 1 else SOFT_IMPERATIVE_HALT
        assert row["labels"] == list(expected)
        assert row["sentiment"] == source["label"]
    assert len(pairs) > 50  # the 300 rows spread over the 100 (program, instruction) pairs


def test_soft_imperative_draws_are_fixed_by_the_seed(sample):
    programs = make_soft_imperative_programs(10, 10, seed=1)
    first = build_soft_imperative_dataset(sample["train"], programs, seed=1)
    again = build_soft_imperative_dataset(sample["train"], programs, seed=1)
    other = build_soft_imperative_dataset(sample["train"], programs, seed=2)
    assert first.to_dict() == again.to_dict()
    assert first["instruction"] != other["instruction"] or first["program"] != other["program"]
    # The draw of a row does not depend on its label, only on its position and the seed.
    flipped = sample["train"].map(lambda row: {"label": 1 - row["label"]})
    assert build_soft_imperative_dataset(flipped, programs, seed=1)["program"] == first["program"]


def test_soft_imperative_layout():
    memory = soft_imperative_memory(256)
    assert memory[0] == 1 and not any(memory[1:]) and len(memory) == 256
    # Negative text: HALT at once and the verdict cell reads 0.
    halted = run_subleq([SOFT_IMPERATIVE_HALT] + [(5, 6, 7)] * 9, memory)
    assert (halted.halt_reason, halted.steps, halted.memory[SOFT_IMPERATIVE_OUTPUT_CELL]) == ("halt", 1, 0)
    # Positive text: the program runs (its operands are never 0) and never touches the verdict cell. Branch targets
    # reach 255, so the machine sees L = 256 instructions, as the pipeline decodes them (here: the program repeated).
    for program in make_soft_imperative_programs(10, 10, seed=3):
        result = run_subleq((program * 26)[:256], memory, max_steps=1000)
        assert result.steps > 1 and result.memory[SOFT_IMPERATIVE_OUTPUT_CELL] == 1


def test_soft_imperative_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        build_soft_imperative_dataset(sst2_rows([("fine", 1)]), [], seed=0)
    with pytest.raises(ValueError, match="0 or 1"):
        build_soft_imperative_dataset(sst2_rows([("fine", 5)]), make_soft_imperative_programs(2, 2), seed=0)


# Input framing through a BERT tokenizer


def test_input_framing(tmp_path):
    tokenizer = load_tokenizer_with_programs(str(make_tokenizer_folder(tmp_path / "tok")), [program_token(3)])
    assert isinstance(tokenizer, type(AutoTokenizer.from_pretrained(str(tmp_path / "tok"))))
    text = "7 " + SOFT_IMPERATIVE_TEMPLATE.format(program=program_token(3), sentence="A gorgeous, witty film")
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
    # [CLS] <C_t> as long as the input text is positive , run <program token> [SEP] <sentence> [SEP]
    assert tokens == ["[CLS]", "7", "as", "long", "as", "the", "input", "text", "is", "positive", ",", "run",
                      "[PROG_3]", "[SEP]", "a", "gorgeous", ",", "witty", "film", "[SEP]"]
    assert set(tokenizer(text)["token_type_ids"]) == {0}
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("1 " + SOFT_INSTRUCTION_TEMPLATE.format(sentence="Dull"))
                                             ["input_ids"])
    assert tokens == ["[CLS]", "1", "classify", "this", "input", ":", "dull", "[SEP]"]
