"""bench/pipeline_speed.py on tiny settings: its data helpers, the training command it passes the example scripts,
the strategy timing with its stepwise check on a tiny soft-imperative checkpoint, the streaming RSS child, and the
report writers."""

import importlib.util
import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest
from test_sst2_examples import QUIET, TINY, load_script
from test_sst2_tasks import DEV_TSV, TRAIN_TSV, make_tokenizer_folder


ROOT = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location("pipeline_speed", ROOT / "bench" / "pipeline_speed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pipeline_speed"] = module
    spec.loader.exec_module(module)
    return module


bench = load_bench()


@pytest.fixture(scope="module")
def soft_imperative(tmp_path_factory):
    """A tiny soft-imperative checkpoint (L = k = 16, 2 programs of 3 instructions), as the benchmark's work dir."""
    tokenizer_dir = make_tokenizer_folder(tmp_path_factory.mktemp("tokenizer"))
    folder = tmp_path_factory.mktemp("work") / "soft-imperative"
    load_script("run_soft_imperative").main([
        "--output_dir", str(folder), "--train_file", str(TRAIN_TSV), "--validation_file", str(DEV_TSV),
        "--tokenizer_name", str(tokenizer_dir), *TINY, *QUIET, "--max_train_samples", "16", "--max_eval_samples",
        "8", "--num_train_epochs", "1", "--eval_strategy", "no", "--save_strategy", "no",
        "--load_best_model_at_end", "false", "--report_to", "none", "--data_memory_size", "16",
        "--max_program_length", "16", "--num_programs", "2", "--program_length", "3",
    ])
    (folder / "pipeline_speed_training.json").write_text(json.dumps({"seed": 3, "wall_s": 0.0, "command": "x"}))
    return folder


def tiny_args(**overrides):
    args = bench.parse_args(["--train_file", str(TRAIN_TSV), "--validation_file", str(DEV_TSV),
                             "--tokenizer_name", "tok", "--max_steps", "20"])
    return Namespace(**{**vars(args), **overrides})


def test_data_helpers():
    sentences, labels = bench.read_sst2_tsv(DEV_TSV)
    assert len(sentences) == len(labels) > 0 and set(labels) == {0, 1}
    assert all(s == s.strip() for s in sentences)
    stream = list(bench.short_descriptions(sentences[:2], 5, 2))
    assert len(stream) == 5 and stream[0] == stream[2] == "Classify this input: " + " ".join(sentences[0].split()[:2])


def test_training_command_trains_without_evaluation_and_saves_the_final_model(tmp_path):
    args = tiny_args()
    command = bench.training_command("soft-imperative", tmp_path, args)
    pairs = dict(zip(command[2::2], command[3::2]))
    assert pairs["--eval_strategy"] == "no" and pairs["--load_best_model_at_end"] == "false"
    assert pairs["--pooling"] == "first" and pairs["--max_train_samples"] == "4000"
    assert "--pooling" not in bench.training_command("baseline", tmp_path, args)


def test_every_strategy_is_timed_and_checked_against_stepwise(soft_imperative):
    sentences, labels = bench.read_sst2_tsv(DEV_TSV)
    sentences, labels = sentences[:6], labels[:6]
    descriptions = bench.soft_imperative_descriptions(sentences, labels, soft_imperative)
    assert all(d.startswith("As long as the input text is positive, run [PROG_") for d in descriptions)
    pipe = bench.synthesizer_pipe(soft_imperative, 4)
    section = bench.time_synthesizer(pipe, "(b)", descriptions, labels, tiny_args(), {"stepwise": 3})
    assert [r["strategy"] for r in section["rows"]] == bench.strategies()
    assert section["checked_against_stepwise"] == {**dict.fromkeys(bench.strategies(), 3), "stepwise": 3}
    stepwise = next(r for r in section["rows"] if r["strategy"] == "stepwise")
    assert stepwise["inputs"] == 3 and stepwise["note"] == "first 3 of 6 inputs"


def test_rss_child_streams_every_input(soft_imperative):
    sentences, _ = bench.read_sst2_tsv(DEV_TSV)
    rss = bench.measure_rss(soft_imperative, sentences[:5], tiny_args(rss_inputs=40))
    assert rss["inputs"] == rss["outputs"] == 40
    assert rss["peak_rss_mib"] >= rss["peak_rss_before_call_mib"] > 0


def test_report_writers(tmp_path):
    def section(*rates, strategies=("lazy", "decoded", "stepwise")):
        return {"rows": [bench.row("p", s, 1.0, r, halt_reasons={"halt": 1}) for s, r in zip(strategies, rates)],
                "checked_against_stepwise": {}, "pipeline_accuracy": 0.5, "training": {}}

    strategies = bench.strategies()
    sections = {"a": section(90, 80, 10, strategies=strategies), "b": section(50, 1, 1, strategies=strategies),
                "c": section(100, strategies=["text-classification"]),
                "d": section(1000, 500, 10, strategies=strategies)}
    targets = bench.measure_targets(sections)
    assert targets["a_over_c"]["measured"] == pytest.approx(0.9) and targets["a_over_c"]["met"]
    report = {"targets": targets, "strategies": strategies, "sections": sections, "settings": vars(tiny_args()),
              "machine": {"load_average_1_5_15": [0, 0, 0]}, "load_average_after": [0, 0, 0], "command": "c",
              "wall_s": 1.0, "training": {"baseline": {"validation_accuracy": 0.5, "validation_metric": "m",
                                                       "wall_s": 1, "command": "c"}},
              "rss": {"inputs": 1, "outputs": 1, "words_per_sentence": 4, "returned": "list", "peak_rss_mib": 2,
                      "peak_rss_before_call_mib": 1, "seconds": 1, "inputs_per_s": 1}}
    report["notes"] = bench.make_notes(report)
    bench.write_markdown(report, tmp_path / "r.md")
    bench.write_png(report, tmp_path / "r.png")
    assert "| (a) soft-instruction" in (tmp_path / "r.md").read_text() and (tmp_path / "r.png").stat().st_size > 0
