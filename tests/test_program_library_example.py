"""`examples/run_program_library.py` end to end on a tiny model, and the helpers of `library_tasks.py`."""

import json
import random
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, pipeline

from modeling_synthesizer.program_library import load_program
from synthesizer_examples.library import (
    PADDING_INSTRUCTION,
    WordDropoutDataset,
    build_description_tokenizer,
    count_ones_splits,
    library_records,
    padded_program,
    split_phrasings,
)
from synthesizer_examples.memorization import build_memorization_dataset


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import run_program_library  # noqa: E402


# Two library programs (add: 4 cells, 3 instructions; absolute: 3 cells, 3 instructions) with k = 4 and L = 4, so
# that one padding instruction is memorized too. About 300 optimizer steps.
TINY_RUN = [
    "--programs", "add,absolute", "--data_memory_size", "4", "--max_program_length", "4",
    "--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64",
    "--learning_rate", "3e-3", "--per_device_train_batch_size", "8", "--num_train_epochs", "300",
    "--save_strategy", "no", "--logging_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning",
    "--num_inputs", "100", "--stepwise_check_inputs", "3", "--no_baseline", "--seed", "0",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("library")
    results = run_program_library.main(TINY_RUN + ["--output_dir", str(out / "run"), "--results_dir", str(out / "res")])
    return out, results


def test_tiny_synthesizer_memorizes_two_programs_and_runs_them_on_unseen_inputs(tiny_run):
    out, results = tiny_run
    assert results["settings"]["final_exact_match"] == 1.0
    assert set(results["programs"]) == {"add", "absolute"}
    for name, entry in results["programs"].items():
        assert len(entry["trained"]) == 4 and len(entry["held_out"]) == 2
        for phrasing in entry["trained"]:
            assert phrasing["decoded_exactly"] and phrasing["decodes_as"] == name, phrasing
            assert phrasing["correct_outputs"] == phrasing["inputs"] == 100, phrasing
        assert entry["stepwise_agrees"]
    # The reports are written where asked.
    assert json.loads((out / "res" / "program_library.json").read_text())["programs"] == json.loads(
        json.dumps(results["programs"]))
    assert "| add | 3 | 4/4 |" in (out / "res" / "program_library.md").read_text()
    assert (out / "res" / "program_library.png").stat().st_size > 0


def test_saved_checkpoint_runs_fresh_inputs_through_the_pipeline(tiny_run):
    # Independent of the script's own evaluation: load the folder, run inputs it never drew, compare with the
    # reference machine's outputs for the true program.
    out, _ = tiny_run
    pipe = pipeline("subleq-execution", model=str(out / "run"))
    library = json.loads((out / "run" / "library.json").read_text())
    rng = random.Random("fresh")
    for name in ("add", "absolute"):
        program = load_program(name)
        assembled = program.assemble(4, 4)
        description = library[name]["trained"][0]
        assert pipe.decode_program(description) == padded_program(program, 4, 4)
        inputs = [program.random_inputs(rng) for _ in range(40)]
        batch = pipe([{"description": description, "memory": assembled.with_inputs(**values)} for values in inputs])
        for values, result in zip(inputs, batch):
            assert result["halted"]
            assert assembled.read_outputs(result["memory"]) == program.reference(**values)
    # far outside the ranges the inputs were drawn from
    result = pipe(library["add"]["trained"][1], memory=load_program("add").assemble(4, 4).with_inputs(a=10**9, b=-7))
    assert result["memory"][2] == 10**9 - 7


def test_description_tokenizer_lowercases_splits_punctuation_and_saves(tmp_path):
    tokenizer = build_description_tokenizer(["What is |x|?", "count the ones"], max_number=8)
    ids = tokenizer("3 what IS | x |?", add_special_tokens=True)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "3", "what", "is", "|", "x", "|", "?", "[SEP]"]
    assert tokenizer.convert_ids_to_tokens(tokenizer("tally the ones")["input_ids"])[1:-1] == ["[UNK]", "the", "ones"]
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("3 what IS | x |?")["input_ids"] == ids


def test_records_pad_each_program_with_halt_and_hold_out_the_last_phrasings():
    program = load_program("absolute")
    trained, held_out = split_phrasings(program, 2)
    assert trained == list(program.descriptions[:4]) and held_out == list(program.descriptions[4:])
    with pytest.raises(ValueError, match="num_held_out"):
        split_phrasings(program, 6)
    padded = padded_program(program, 4, 5)
    assert padded[:3] == program.assemble(4, 5).program and padded[3:] == [PADDING_INSTRUCTION] * 2
    records = library_records([program, load_program("add")], {"absolute": trained, "add": ["add two numbers"]}, 4, 5)
    assert [r["description"] for r in records] == trained + ["add two numbers"]
    assert build_memorization_dataset(records).num_rows == 5 * 5
    with pytest.raises(ValueError, match="describes both"):
        library_records([program, load_program("add")], {"absolute": ["x"], "add": ["x"]}, 4, 5)


def test_word_dropout_keeps_cls_instruction_and_special_tokens():
    tokenizer = build_description_tokenizer(["count the ones in the bits"], max_number=4)
    rows = build_memorization_dataset([{"description": "count the ones in the bits", "program": [[0, 0, 0]]}])
    rows = rows.map(lambda batch: tokenizer([f"{i} {d}" for i, d in zip(batch["instruction"], batch["description"])]),
                    batched=True)
    clean = rows[0]["input_ids"]
    assert WordDropoutDataset(rows, tokenizer, 0.0, keep_prefix=2)[0]["input_ids"] == clean
    dropped = [WordDropoutDataset(rows, tokenizer, 0.5, keep_prefix=2, seed=s)[0] for s in range(20)]
    assert all(d["input_ids"][:2] == clean[:2] and d["input_ids"][-1] == clean[-1] for d in dropped)
    assert any(tokenizer.unk_token_id in d["input_ids"] for d in dropped)
    assert set(dropped[0]) == {"input_ids", "attention_mask", "labels"}
    assert torch.tensor(dropped[0]["labels"]).tolist() == [0, 0, 0]


def test_count_ones_splits():
    splits = count_ones_splits(4, 0.25, (6, 8), num_long=10, seed=0)
    assert len(splits["held_out_4"]) == 4 and len(splits["train"]) == 2 + 4 + 8 + 12
    assert not {tuple(b) for b in splits["held_out_4"]} & {tuple(b) for b in splits["train"]}
    assert {len(b) for b in splits["length_8"]} == {8} and len(splits["length_6"]) == 10
    assert splits == count_ones_splits(4, 0.25, (6, 8), num_long=10, seed=0)


def test_baseline_comparison_runs_and_is_reported(tmp_path):
    # Wiring only (nothing is trained to convergence): the baseline classifier and count_ones_32 on the same inputs.
    results = run_program_library.main([
        "--programs", "count_ones_32", "--data_memory_size", "34", "--max_program_length", "33",
        "--hidden_size", "16", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "32",
        "--num_train_epochs", "1", "--save_strategy", "no", "--eval_strategy", "no", "--logging_strategy", "no",
        "--disable_tqdm", "true", "--log_level", "warning", "--num_inputs", "5", "--stepwise_check_inputs", "0",
        "--baseline_epochs", "1", "--baseline_train_max_length", "3", "--baseline_num_long", "7",
        "--output_dir", str(tmp_path / "run"), "--results_dir", str(tmp_path / "res"),
    ])
    rows = {row["inputs"]: row for row in results["baseline"]["rows"]}
    assert set(rows) == {"train", "held_out_3", "length_16", "length_32"}
    assert rows["train"]["sequences"] == 2 + 4 + 6 and rows["held_out_3"]["sequences"] == 2
    assert rows["length_32"]["sequences"] == 7 and rows["length_32"]["lengths"] == [32]
    assert all(0 <= row["baseline_accuracy"] <= 1 and 0 <= row["synthesizer_accuracy"] <= 1 for row in rows.values())
    markdown = (tmp_path / "res" / "program_library.md").read_text()
    assert "| unseen, length 32 | 7 |" in markdown and "end-to-end BERT classifier" in markdown
    with pytest.raises(ValueError, match="count_ones_32"):
        run_program_library.main(["--programs", "add", "--output_dir", str(tmp_path / "x")])
