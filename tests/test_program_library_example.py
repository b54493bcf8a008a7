"""`examples/run_program_library.py` end to end on a tiny model, its report `bench/program_library.py`, and the
helpers of the script (data) and of `examples/utils_program_library.py` (evaluation, baselines)."""

import ast
import json
import os
import random
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import program_library as bench_program_library  # bench/ is on pytest's pythonpath (pyproject.toml)
import pytest
import run_program_library  # examples/ is on pytest's pythonpath (pyproject.toml)
import torch
import utils_program_library
from conftest import run_without_package
from run_program_library import WordDropoutDataset, build_description_tokenizer, split_library, training_records
from test_model_cards import card_code, check_hub_repository
from transformers import AutoTokenizer, pipeline
from utils_program_library import (
    PADDING_INSTRUCTION,
    bits_to_text,
    count_ones_splits,
    is_refusal,
    padded_program,
    run_named,
)

from modeling_synthesizer.program_library import load_program
from synthesizer_examples.memorization import build_memorization_dataset


ROOT = Path(__file__).resolve().parent.parent


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
    results = run_program_library.main(TINY_RUN + ["--output_dir", str(out / "run")])
    return out, results


def test_tiny_synthesizer_memorizes_two_programs_and_runs_them_on_unseen_inputs(tiny_run):
    out, results = tiny_run
    assert results["settings"]["final_exact_match"] == 1.0
    assert set(results["programs"]) == {"add", "absolute"}
    for name, entry in results["programs"].items():
        assert len(entry["trained"]) == 4 and len(entry["held_out"]) == 2
        for phrasing in entry["trained"]:
            assert phrasing["decoded_exactly"] and phrasing["decodes_as"] == name, phrasing
            # Every declared test of the program and the 100 random inputs, each halted, run as it, right.
            assert phrasing["correct_outputs"] == phrasing["inputs"] == len(load_program(name).tests) + 100, phrasing
            assert (phrasing["decision"], phrasing["runs_as"], phrasing["runs_right"]) == ("exact", name, True)
        for phrasing in entry["held_out"]:
            # Held out: run as the most likely known program when its margin is clear, else refused; a run counts
            # right only when every output is, and it is right exactly when the matched program is this one.
            assert phrasing["decision"] in ("likely", "refused"), phrasing
            if phrasing["decision"] == "refused":
                # For a word no trained phrasing has, a margin below 10 nats, an unsure instruction or words that
                # name no program alone (whatever the margin): nothing ran.
                assert phrasing["correct_outputs"] == 0 and not phrasing["runs_wrong"]
            else:
                assert phrasing["margin"] >= 10
                assert phrasing["runs_right"] == (phrasing["runs_as"] == name) != phrasing["runs_wrong"]
        assert entry["stepwise_agrees"]
    # The run's file is what main returned, with the command that reproduces it.
    saved = json.loads((out / "run" / "library_results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    # The caller's OMP_NUM_THREADS, when set, is part of the command that reproduces the run.
    assert re.match(r"(OMP_NUM_THREADS=\d+ )?python examples/run_program_library.py --programs add,absolute ",
                    saved["command"])
    assert not (out / "run" / "program_library.md").exists()  # reports are bench/program_library.py's


def test_card_usage_runs_each_program_by_name_on_its_first_declared_test(tiny_run):
    out, results = tiny_run
    card = (out / "run" / "README.md").read_text()
    assert "| trained phrasings decoded exactly | 8/8 |" in card
    assert "| trained phrasings run right | 8/8 |" in card
    assert f"| steps to 100% exact match | {results['settings']['steps_to_100']} |" in card
    usage = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    for name in ("add", "absolute"):
        test = load_program(name).tests[0]
        description = results["programs"][name]["trained"][0]["description"]
        assert f"    ({description!r}, {test.inputs!r}),  # -> {test.outputs}" in usage


def test_card_runs_as_written_without_the_package(tiny_run, tmp_path):
    out, _ = tiny_run
    folder = out / "run"
    check_hub_repository(folder)
    code, _ = card_code(folder)
    printed = run_without_package(code, tmp_path).splitlines()
    assert printed[0] == "2 programs: add, absolute"
    for line, name in zip(printed[1:3], ("add", "absolute")):
        test = load_program(name).tests[0]
        left, _, outputs = line.rpartition(" -> ")
        assert left.endswith(str(test.inputs)) and ast.literal_eval(outputs) == test.outputs


def test_saved_checkpoint_runs_fresh_inputs_through_the_pipeline(tiny_run):
    # Independent of the script's own evaluation: load the folder, run inputs it never drew, compare with the
    # reference machine's outputs for the true program.
    out, _ = tiny_run
    pipe = pipeline("subleq-execution", model=str(out / "run"), trust_remote_code=True)
    known = {entry["name"]: entry for entry in pipe.model.config.known_programs}
    rng = random.Random("fresh")
    for name in ("add", "absolute"):
        program = load_program(name)
        assembled = program.assemble(4, 4)
        description = known[name]["descriptions"][0]
        assert pipe.decode_program(description) == padded_program(program, 4, 4)
        inputs = [program.random_inputs(rng) for _ in range(40)]
        batch = pipe([{"description": description, "memory": assembled.with_inputs(**values)} for values in inputs])
        for values, result in zip(inputs, batch):
            assert result["halted"]
            assert assembled.read_outputs(result["memory"]) == program.reference(**values)
    # far outside the ranges the inputs were drawn from
    memory = load_program("add").assemble(4, 4).with_inputs(a=10**9, b=-7)
    result = pipe(known["add"]["descriptions"][1], memory=memory)
    assert result["memory"][2] == 10**9 - 7


def test_an_input_that_overflows_is_none_and_the_others_still_run(tiny_run):
    # The folder's pipeline (remote code) raises its own SubleqError class, which run_named must catch.
    out, _ = tiny_run
    pipe = pipeline("subleq-execution", model=str(out / "run"), trust_remote_code=True)
    assembled = load_program("add").assemble(4, 4)
    overflowing, fine = assembled.with_inputs(a=3 * 2**61, b=3 * 2**61), assembled.with_inputs(a=2, b=3)
    with pytest.raises(sys.modules[type(pipe).__module__].SubleqError, match="overflow"):
        pipe("add two numbers", memory=overflowing)
    first, second = run_named(pipe, "add two numbers", [{"a": 3 * 2**61, "b": 3 * 2**61}, {"a": 2, "b": 3}],
                              max_steps=100)
    assert first is None and second["outputs"] == {"sum": 5}
    assert fine[:2] == [2, 3]


def test_bench_report_of_the_tiny_run(tiny_run, tmp_path):
    out, results = tiny_run
    bench_program_library.main(["--run_dir", str(out / "run"), "--results_dir", str(tmp_path / "res")])
    saved = json.loads((out / "run" / "library_results.json").read_text())
    assert json.loads((tmp_path / "res" / "program_library.json").read_text()) == saved
    markdown = (tmp_path / "res" / "program_library.md").read_text()
    for name in ("add", "absolute"):
        held = results["programs"][name]["held_out"]
        decoded, right = sum(p["decoded_exactly"] for p in held), sum(p["correct_outputs"] for p in held)
        runs = len(load_program(name).tests) + 100
        assert f"| {name} | 3 | 4/4 | {decoded}/2 | {4 * runs}/{4 * runs} | {right}/{2 * runs} |" in markdown
        for phrasing in held:
            decoded_exactly = "yes" if phrasing["decoded_exactly"] else "no"
            assert f"| {name} | {phrasing['description']} | {decoded_exactly} |" in markdown
    runs = sum(4 * (len(load_program(name).tests) + 100) for name in ("add", "absolute"))
    assert f"Trained phrasings: 8/8 decoded exactly, {runs}/{runs} right outputs." in markdown
    held = [p for entry in results["programs"].values() for p in entry["held_out"]]
    assert (f"held-out phrasings {sum(p['runs_right'] for p in held)}/4 run right, "
            f"{sum(p['decision'] == 'refused' for p in held)} refused, {sum(p['runs_wrong'] for p in held)} run "
            "wrong") in markdown
    assert "## Counting ones" not in markdown  # --no_baseline
    assert f"    {saved['command']}\n    python bench/program_library.py --run_dir " in markdown
    assert (tmp_path / "res" / "program_library.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_report_reproduces_the_committed_one(tmp_path):
    # The committed markdown, redrawn from the committed results; only the line of the report command may differ.
    committed = ROOT / "bench" / "results"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "library_results.json").write_text((committed / "program_library.json").read_text())
    bench_program_library.main(["--run_dir", str(tmp_path / "run"), "--results_dir", str(tmp_path / "res")])

    def without_report_command(text):
        return [line for line in text.splitlines() if not line.startswith("    python bench/program_library.py")]

    assert without_report_command((tmp_path / "res" / "program_library.md").read_text()) == without_report_command(
        (committed / "program_library.md").read_text())


def test_description_tokenizer_lowercases_splits_punctuation_and_saves(tmp_path):
    tokenizer = build_description_tokenizer(["What is |x|?", "count the ones"], max_number=8)
    ids = tokenizer("3 what IS | x |?", add_special_tokens=True)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "3", "what", "is", "|", "x", "|", "?", "[SEP]"]
    assert tokenizer.convert_ids_to_tokens(tokenizer("tally the ones")["input_ids"])[1:-1] == ["[UNK]", "the", "ones"]
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("3 what IS | x |?")["input_ids"] == ids


def test_records_pad_each_program_with_halt_and_hold_out_the_last_phrasings(capsys):
    program = load_program("absolute")
    phrasings = split_library([program, load_program("add")], 2)
    trained, held_out = phrasings["absolute"]["trained"], phrasings["absolute"]["held_out"]
    assert trained == list(program.descriptions[:4]) and held_out == list(program.descriptions[4:])
    # Every program keeps a phrasing to train on: checked while parsing (status 2), before any record is built.
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.parse_args(["--output_dir", "x", "--programs", "absolute", "--num_held_out", "6",
                                        "--no_baseline"])
    assert exit_info.value.code == 2 and "--num_held_out must be in [0, 6)" in capsys.readouterr().err
    padded = padded_program(program, 4, 5)
    assert padded[:3] == program.assemble(4, 5).program and padded[3:] == [PADDING_INSTRUCTION] * 2
    phrasings["add"]["trained"] = ["add two numbers"]
    records, lengths = training_records([], [program, load_program("add")], phrasings, 4, 5)
    assert [r["description"] for r in records] == trained + ["add two numbers"]
    assert records[0]["program"] == [list(instruction) for instruction in padded] and lengths == [3] * 5
    assert build_memorization_dataset(records).num_rows == 5 * 5


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


def test_baseline_comparison_reports_the_accuracies_each_model_has(tmp_path):
    # Nothing is trained to convergence: the Synthesizer's count_ones_32 is wrong, and the baselines saw counts 0-3
    # only. The reported accuracies must be the ones the models have, computed here another way. The default
    # --baselines: the two classifiers and the no-position regression.
    # Not memorized in one epoch: the build writes its results, then exits 1 (nothing to push).
    with pytest.raises(SystemExit) as failed:
        run_program_library.main([
        "--programs", "count_ones_32", "--data_memory_size", "34", "--max_program_length", "33",
        "--hidden_size", "16", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "32",
        "--num_train_epochs", "1", "--save_strategy", "no", "--eval_strategy", "no", "--logging_strategy", "no",
        "--disable_tqdm", "true", "--log_level", "warning", "--num_inputs", "5", "--stepwise_check_inputs", "0",
        "--baseline_epochs", "80", "--baseline_train_max_length", "3", "--baseline_num_long", "7",
        "--output_dir", str(tmp_path / "run"),
        ])
    assert str(failed.value.code).startswith("error: the build did not memorize every trained phrasing exactly")
    results = json.loads((tmp_path / "run" / "library_results.json").read_text())
    rows = {row["inputs"]: row for row in results["baseline"]["rows"]}
    models = results["baseline"]["models"]
    assert list(models) == ["absolute", "rotary", "no_positions"]
    assert set(rows) == {"train", "held_out_3", "length_16", "length_32"}
    assert rows["train"]["sequences"] == 2 + 4 + 6 and rows["held_out_3"]["sequences"] == 2
    assert rows["length_32"]["sequences"] == 7 and rows["length_32"]["lengths"] == [32]
    # The Synthesizer's accuracy: the saved checkpoint runs the same sequences, zero-padded to 32 bits.
    splits = count_ones_splits(3, 0.25, (16, 32), num_long=7, seed=1234)
    pipe = pipeline("subleq-execution", model=str(tmp_path / "run"), trust_remote_code=True)
    assembled = load_program("count_ones_32").assemble(34, 33)
    description = results["baseline"]["synthesizer_description"]
    for name, sequences in splits.items():
        inputs = [{"bits": bits + [0] * (32 - len(bits))} for bits in sequences]
        try:
            runs = run_named(pipe, description, inputs, max_steps=10_000)
        except ValueError as error:  # the checkpoint refuses a program it does not hold: nothing ran right
            assert is_refusal(error)
            runs = [None] * len(inputs)
        # Right: halted, as count_ones_32, with the count (the one definition of the evaluation).
        right = [r is not None and r["halt_reason"] == "halt" and r["program"] == "count_ones_32"
                 and assembled.read_outputs(r["memory"])["count"] == sum(bits) for r, bits in zip(runs, sequences)]
        assert rows[name]["synthesizer_accuracy"] == sum(right) / len(sequences), name
        assert rows[name]["true_counts_range"] == [min(map(sum, sequences)), max(map(sum, sequences))]
    for row in rows.values():
        assert set(row["baseline_accuracies"]) == set(models)
        assert all(0 <= accuracy <= 1 for accuracy in row["baseline_accuracies"].values()), row
    for model in models.values():
        assert model["global_step"] == 80 and model["final_train_loss"] > 0  # 12 sequences, one batch, 80 epochs
    # The classifiers never had a label above 3; every long sequence here has more ones, so they get none right.
    for name in ("length_16", "length_32"):
        assert rows[name]["true_counts_range"][0] > 3
        for classifier in ("absolute", "rotary"):
            assert rows[name]["baseline_accuracies"][classifier] == 0.0, rows[name]
            assert rows[name]["baseline_largest_counts"][classifier] <= 3, rows[name]
    bench_program_library.main(["--run_dir", str(tmp_path / "run"), "--results_dir", str(tmp_path / "res")])
    markdown = (tmp_path / "res" / "program_library.md").read_text()
    assert ("| inputs | sequences | true counts | BERT, learned absolute positions | RoFormer, rotary positions | "
            "BERT, no positions, sum pooling | Synthesizer running count_ones_32 |") in markdown
    for name, label in (("train", "training sequences (length 1-3)"), ("length_32", "unseen, length 32")):
        row = rows[name]
        cells = [f"{100 * row['baseline_accuracies'][b]:.1f}%" for b in models]
        assert (f"| {label} | {row['sequences']} | {row['true_counts_range'][0]}-{row['true_counts_range'][1]} | "
                + " | ".join(cells) + f" | {100 * row['synthesizer_accuracy']:.1f}% |") in markdown
    assert "## Counting ones: running a program vs. learning the function" in markdown
    assert f"Final training loss {models['no_positions']['final_train_loss']:.3f} (80 steps" in markdown
    # The recorded command is the run's own, and it parses with this script's arguments.
    assert f"    {results['command']}\n" in markdown
    command = shlex.split(results["command"])
    if os.environ.get("OMP_NUM_THREADS"):  # recorded first, as it changes how fast the run is
        assert command.pop(0) == f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    assert command[:2] == ["python", "examples/run_program_library.py"]
    assert run_program_library.parse_args(command[2:])[1].baselines == "absolute,rotary,no_positions"
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--programs", "add", "--output_dir", str(tmp_path / "x")])
    assert exit_info.value.code == 2


def test_an_unknown_baseline_fails_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--programs", "count_ones_32", "--baselines", "absolute,alibi",
                                  "--output_dir", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "--baselines takes a comma-separated list of absolute, rotary, no_positions" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    data_args = run_program_library.parse_args(["--output_dir", "x", "--no_baseline", "--baselines", "alibi"])[1]
    assert utils_program_library.baseline_names(data_args) == []


def test_no_position_baseline_sees_a_bag_of_tokens_and_regresses_any_count():
    # Its prediction is the same for every order of the same bits, and its output is a number, not a class: a
    # sequence longer than the position table it was built with still gets a count.
    tokenizer = build_description_tokenizer(["count the ones"], max_number=4)
    model_args = run_program_library.ModelArguments(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                    intermediate_size=32, max_position_embeddings=8)
    torch.manual_seed(0)
    model = utils_program_library.build_baseline("no_positions", model_args, tokenizer, num_labels=33).eval()
    assert not model.backbone.embeddings.position_embeddings.weight.any()
    assert not model.backbone.embeddings.position_embeddings.weight.requires_grad
    bits = [1, 1, 0, 1, 0, 0, 0, 1, 1, 0]
    batch = tokenizer([bits_to_text(bits), bits_to_text(sorted(bits)), bits_to_text(bits[:3])], padding=True,
                      return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, labels=torch.tensor([5, 5, 2]))
    assert out.logits.shape == (3,) and out.loss.ndim == 0
    assert torch.allclose(out.logits[0], out.logits[1], atol=1e-5)
    assert not torch.allclose(out.logits[0], out.logits[2], atol=1e-3)
    with torch.no_grad():  # 40 bits + [CLS], [SEP]: past the 8 positions of the backbone's table
        assert model(**tokenizer(bits_to_text(bits * 4), return_tensors="pt")).logits.shape == (1,)
    rotary = utils_program_library.build_baseline("rotary", model_args, tokenizer, num_labels=33)
    assert type(rotary).__name__ == "RoFormerForSequenceClassification" and rotary.config.num_labels == 33


def test_predicted_counts_are_a_classifiers_argmax_or_a_regressions_rounded_output():
    class Predicts:
        def __init__(self, predictions):
            self.predictions = predictions

        def predict(self, dataset):
            return self

    logits = np.array([[0.1, 2.0, 0.3], [3.0, 0.0, 0.0]])
    assert utils_program_library.predicted_counts(Predicts(logits), None).tolist() == [1, 0]
    assert utils_program_library.predicted_counts(Predicts(np.array([2.4, 2.6, -0.2, 31.5])), None).tolist() == [
        2, 3, 0, 32]
