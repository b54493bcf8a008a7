"""The three SST-2 scripts on other text-classification data: the committed three-class sample
(data/three_class_sample: text in columns `title` and `review`, string labels negative/neutral/positive in `tone`),
trained end to end through each script's `main()`; the checkpoints run through their model card's code (a process
without this package, the pipeline as remote code) and agree with the model's own arg-max."""

import json
from pathlib import Path

import pytest
import torch
from test_model_cards import run_card
from test_sst2_examples import TINY, load_script
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

from modeling_synthesizer import run_subleq
from synthesizer_examples.text_classification import load_sst2


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "three_class_sample"
NAMES = ["negative", "neutral", "positive"]
# Validation is the first 48 training rows, so that the logged accuracy of the saved model is measured on rows the
# tiny model fitted (16 of each class among them).
DATA = ["--train_file", str(SAMPLE / "train.csv"), "--validation_file", str(SAMPLE / "train.csv"),
        "--text_column_names", "title,review", "--label_column_name", "tone",
        "--tokenizer_name", str(SAMPLE / "tokenizer")]
FIT = ["--max_train_samples", "48", "--max_eval_samples", "48", "--num_train_epochs", "30", "--learning_rate", "1e-2",
       "--per_device_train_batch_size", "16", "--eval_steps", "30", "--save_steps", "30", "--dropout", "0.0",
       "--disable_tqdm", "true", "--log_level", "warning", "--seed", "3"]
FIT_SYNTHESIZER = FIT + ["--pooling", "mean", "--label_smoothing", "0"]


def fitted_rows(count=48):
    """The first `count` training rows as the scripts read them: (title and review joined by a space, class id)."""
    train = load_sst2(None, None, str(SAMPLE / "train.csv"), str(SAMPLE / "train.csv"),
                      text_column_names="title,review", label_column_name="tone")["train"]
    return list(zip(train["sentence"][:count], train["label"][:count]))


def train(script, tmp_path_factory, *extra):
    output_dir = tmp_path_factory.mktemp(script)
    results = load_script(script).main(["--output_dir", str(output_dir), *DATA, *TINY, *extra])
    return output_dir, results


@pytest.fixture(scope="module")
def soft_instruction_run(tmp_path_factory):
    return train("run_soft_instruction", tmp_path_factory, *FIT_SYNTHESIZER, "--hub_model_id", "org/si-three")


@pytest.fixture(scope="module")
def soft_imperative_run(tmp_path_factory):
    # One program of one instruction (a binary task the tiny model fits), run on neutral text only.
    return train("run_soft_imperative", tmp_path_factory, *FIT_SYNTHESIZER, "--num_programs", "1",
                 "--program_length", "1", "--run_label", "neutral", "--hub_model_id", "org/sim-three")


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    return train("run_sequence_classification", tmp_path_factory, *FIT, "--hub_model_id", "org/bert-three")


def predicted_first_instructions(output_dir, descriptions):
    """The heads' arg-max (A, B, C) of instruction 1 of each description."""
    model = AutoModel.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    texts = [model.config.format_input(1, description) for description in descriptions]
    inputs = tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=model.config.add_special_tokens)
    return [tuple(row) for row in model.predict_instructions(**inputs).tolist()]


def test_the_sample_reads_as_three_classes_of_joined_text():
    rows = (SAMPLE / "train.csv").read_text(encoding="utf-8").splitlines()
    title, review, tone = rows[1].split(",")
    data = load_sst2(None, None, str(SAMPLE / "train.csv"), str(SAMPLE / "validation.csv"),
                     text_column_names="title,review", label_column_name="tone")
    assert len(data["train"]) == 240 and len(data["validation"]) == 60
    assert data["train"].features["label"].names == NAMES  # string labels numbered in sorted order
    assert data["train"][0] == {"sentence": f"{title} {review}", "label": NAMES.index(tone)}
    assert sorted(data["validation"].unique("label")) == [0, 1, 2]


def test_soft_instruction_learns_one_instruction_per_class(soft_instruction_run):
    output_dir, results = soft_instruction_run
    config = json.loads((output_dir / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    # Cell 2 - c holds -c, cell 3 is the output: class c is the instruction (2 - c, 3, 0).
    assert config["memory_image"] == [-2, -1, 0] + [0] * 253 and config["output_cell"] == 3
    rows = fitted_rows()
    descriptions = [f"Classify this input: {text}" for text, _ in rows]
    instructions = predicted_first_instructions(output_dir, descriptions)
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True, batch_size=16)
    outputs = run(descriptions, max_steps=100)
    for instruction, output in zip(instructions, outputs):
        expected = run_subleq([instruction], config["memory_image"], max_steps=100)
        assert (output["memory"], output["steps"], output["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason)
        assert instruction in [(2, 3, 0), (1, 3, 0), (0, 3, 0)]  # the network learned the three instructions
        assert (output["steps"], output["output"]) == (1, 2 - instruction[0])
        assert output["label"] == NAMES[output["output"]]
    hits = [output["output"] == label for (_, label), output in zip(rows, outputs)]
    assert {output["label"] for output in outputs} == set(NAMES) and sum(hits) >= 0.9 * len(hits)
    metrics = json.loads((output_dir / "eval_results.json").read_text())
    assert metrics["eval_a_accuracy"] == pytest.approx(sum(hits) / len(hits)) == results["best_accuracy"]


def test_soft_instruction_card_runs_as_written(soft_instruction_run, tmp_path):
    output_dir, _ = soft_instruction_run
    printed = run_card(output_dir, tmp_path, repo_id="org/si-three")
    # The card runs the first validation text of each class, through the checkpoint's own code (no package here).
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True)
    assert len(printed) == 3
    for description, result in printed:
        assert result == run(description, max_steps=100)
        assert result["label"] == NAMES[result["output"]]
    assert "Soft-instruction text classification (3 classes: negative, neutral, positive)" in (
        output_dir / "README.md").read_text()


def test_soft_imperative_runs_the_program_on_the_run_label_only(soft_imperative_run, tmp_path):
    output_dir, _ = soft_imperative_run
    config = json.loads((output_dir / "config.json").read_text())
    assert config["id2label"] == {"0": "not neutral", "1": "neutral"} and config["memory_image"][:2] == [1, 0]
    (program,) = [record["program"] for record in json.loads((output_dir / "programs.json").read_text())]
    rows = fitted_rows()
    descriptions = [f"As long as the input text is neutral, run [PROG_0] [SEP] {text}" for text, _ in rows]
    instructions = predicted_first_instructions(output_dir, descriptions)
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True, batch_size=16)
    outputs = run(descriptions, max_steps=500)
    verdicts = []
    for instruction, output in zip(instructions, outputs):
        ran = instruction != (0, 0, 0)
        # Halt at once (verdict cell cleared), or run the one instruction of program 0 (verdict cell kept).
        assert (output["output"], output["label"]) == ((1, "neutral") if ran else (0, "not neutral"))
        if not ran:
            assert (output["steps"], output["halt_reason"]) == (1, "halt")
        verdicts.append(ran)
    assert tuple(program[0]) in instructions  # the network learned the program's instruction, too
    hits = [ran == (label == NAMES.index("neutral")) for ran, (_, label) in zip(verdicts, rows)]
    assert set(verdicts) == {True, False} and sum(hits) >= 0.9 * len(hits)
    printed = run_card(output_dir, tmp_path, repo_id="org/sim-three")
    assert len(printed) == 3 and all(result["label"] in ("neutral", "not neutral") for _, result in printed)


def test_baseline_takes_its_classes_from_the_data(baseline_run, tmp_path):
    output_dir, _ = baseline_run
    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    assert model.config.num_labels == 3 and model.config.id2label == dict(enumerate(NAMES))
    assert model.config.label2id == {name: index for index, name in enumerate(NAMES)}
    rows = fitted_rows()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    with torch.no_grad():
        argmax = model(**tokenizer([text for text, _ in rows], padding=True, return_tensors="pt")).logits.argmax(-1)
    classify = pipeline("text-classification", model=str(output_dir))
    predicted = [prediction["label"] for prediction in classify([text for text, _ in rows])]
    assert predicted == [NAMES[index] for index in argmax.tolist()]
    hits = [name == NAMES[label] for name, (_, label) in zip(predicted, rows)]
    assert set(predicted) == set(NAMES) and sum(hits) >= 0.9 * len(hits)
    metrics = json.loads((output_dir / "eval_results.json").read_text())
    assert metrics["eval_accuracy"] == pytest.approx(sum(hits) / len(hits))
    printed = run_card(output_dir, tmp_path, repo_id="org/bert-three")
    assert len(printed) == 3
    for text, result in printed:
        assert result["label"] == classify(text)[0]["label"] in NAMES
