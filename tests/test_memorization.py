"""Experiment 1: random-program data, tokenizers, the stopping callback and `examples/run_program_memorization.py`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import run_program_memorization  # examples/ is on pytest's pythonpath (pyproject.toml)
import torch
from transformers import AutoTokenizer, TrainerControl, TrainerState, TrainingArguments

from modeling_synthesizer import SynthesizerForSubleq
from modeling_synthesizer.tokenizer import build_word_level_tokenizer, load_tokenizer_with_programs, program_token
from synthesizer_examples.memorization import build_random_program_dataset, make_random_programs
from synthesizer_examples.training import StopAtExactMatchCallback, first_step_reaching


ROOT = Path(__file__).resolve().parent.parent


# Small enough to memorize in about a hundred steps on a CPU.
TINY_RUN = [
    "--num_programs", "3", "--program_length", "8", "--data_memory_size", "8",
    "--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64",
    "--learning_rate", "1e-2", "--dropout", "0", "--label_smoothing", "0", "--per_device_train_batch_size", "8",
    "--num_train_epochs", "200", "--logging_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning",
    "--seed", "0", "--min_train_steps", "0",  # the epochs as given (the tests set them)
]


def test_random_programs_are_deterministic_and_in_range():
    programs = make_random_programs(5, 12, 7, seed=3)
    assert programs == make_random_programs(5, 12, 7, seed=3)
    assert programs != make_random_programs(5, 12, 7, seed=4)
    assert len(programs) == 5 and all(len(program) == 12 for program in programs)
    operands = [operand for program in programs for operand in program]
    assert all(0 <= a < 7 and 0 <= b < 7 and 0 <= c <= 12 for a, b, c in operands)
    assert {c for _, _, c in operands} >= {0, 12}, "C covers HALT and the last instruction"


def test_every_row_is_its_programs_instruction():
    dataset, records = build_random_program_dataset(3, 6, 5, seed=0)
    assert len(dataset) == 18
    for row in dataset:
        index = int(row["description"].removeprefix("[PROG_").removesuffix("]"))
        assert records[index]["description"] == row["description"]
        assert row["labels"] == records[index]["program"][row["instruction"] - 1]
    assert [row["instruction"] for row in dataset.select(range(6))] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bad", [dict(num_programs=0), dict(program_length=0), dict(data_memory_size=0)])
def test_random_program_sizes_must_be_positive(bad):
    sizes = dict(num_programs=2, program_length=2, data_memory_size=2) | bad
    with pytest.raises(ValueError, match=f"{next(iter(bad))} must be >= 1"):
        make_random_programs(seed=0, **sizes)


def test_word_level_tokenizer_round_trip(tmp_path):
    tokenizer = build_word_level_tokenizer(255, [program_token(i) for i in range(3)])
    encoded = tokenizer("17 [PROG_2]", add_special_tokens=False)["input_ids"]
    assert len(encoded) == 2, "a number and a program token are one token each"
    assert tokenizer("17 [PROG_2]")["input_ids"][0] == tokenizer.cls_token_id
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded("17 [PROG_2]", add_special_tokens=False)["input_ids"] == encoded
    assert reloaded.pad_token == "[PAD]"
    with pytest.raises(ValueError, match="repeated"):
        build_word_level_tokenizer(3, ["[PROG_0]", "[PROG_0]"])


def write_tiny_bert_vocab(folder: Path):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [str(i) for i in range(300)] + ["classify", "this"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    # The layout of a Hub BERT tokenizer folder: AutoTokenizer needs the class named next to vocab.txt.
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_pretrained_tokenizer_gets_unsplit_program_tokens(tmp_path):
    tokenizer = load_tokenizer_with_programs(str(write_tiny_bert_vocab(tmp_path / "bert")), ["[PROG_0]", "[PROG_1]"])
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("12 [PROG_1]", add_special_tokens=False)["input_ids"])
    assert tokens == ["12", "[PROG_1]"]


def test_callback_stops_only_at_full_exact_match():
    callback = StopAtExactMatchCallback()
    args, state = TrainingArguments(output_dir="unused"), TrainerState()
    control = callback.on_evaluate(args, state, TrainerControl(), metrics={"eval_exact_match": 0.99})
    assert not control.should_training_stop
    control = callback.on_evaluate(args, state, TrainerControl(), metrics={"eval_exact_match": 1.0})
    assert control.should_training_stop
    history = [{"step": 5, "eval_exact_match": 0.5}, {"step": 9, "loss": 1.0}, {"step": 10, "eval_exact_match": 1.0}]
    assert first_step_reaching(history) == 10
    assert first_step_reaching(history[:2]) is None


@pytest.fixture(scope="module")
def memorized(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("memorized")
    results = run_program_memorization.main(TINY_RUN + ["--output_dir", str(output_dir), "--save_strategy", "no"])
    return output_dir, results


def test_tiny_run_memorizes_and_writes_its_outputs(memorized):
    output_dir, results = memorized
    assert results["final_exact_match"] == 1.0 and results["final_program_exact_match"] == 1.0
    assert results["steps_to_100"] == results["global_step"] > 0
    written = json.loads((output_dir / "memorization_results.json").read_text())
    assert {"num_programs", "program_length", "data_memory_size", "seed", "steps_to_100", "final_exact_match",
            "train_runtime_s"} <= set(written)
    curve = written["exact_match_curve"]  # the last evaluation during training is the one that reached 100%
    assert curve[-1] == [results["steps_to_100"], 1.0] and all(match < 1.0 for _, match in curve[:-1])
    for name in ("model.safetensors", "config.json", "modeling_synthesizer.py", "tokenizer.json", "README.md"):
        assert (output_dir / name).exists(), name
    assert "auto_map" in json.loads((output_dir / "config.json").read_text())
    card = (output_dir / "README.md").read_text()
    assert "trust_remote_code=True" in card and str(results["steps_to_100"]) in card


def test_checkpoint_reloads_with_identical_predictions(memorized):
    output_dir, _ = memorized
    records = json.loads((output_dir / "programs.json").read_text())
    model = SynthesizerForSubleq.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    for record in records:
        texts = [model.config.format_input(i, record["description"]) for i in range(1, len(record["program"]) + 1)]
        inputs = tokenizer(texts, add_special_tokens=model.config.add_special_tokens, return_tensors="pt")
        inputs.pop("token_type_ids", None)
        assert model.predict_instructions(**inputs).tolist() == record["program"]


def test_a_program_the_machine_refuses_is_reported_as_refused_by_both_machines(memorized, monkeypatch):
    output_dir, _ = memorized
    model = SynthesizerForSubleq.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    # Cells of +-2^62: a subtraction of two of opposite sign overflows int64, which both machines refuse.
    monkeypatch.setattr(run_program_memorization, "demo_memory", lambda k: [(-1) ** i * 2 ** 62 for i in range(k)])
    lines = [run_program_memorization.run_one_program(model, tokenizer, record)
             for record in json.loads((output_dir / "programs.json").read_text())]
    assert any(": refused (instruction " in line and "int64 overflow" in line for line in lines), lines
    assert all(line.endswith("; the same as the true program on the reference machine") for line in lines), lines


def test_resume_skips_a_corrupt_checkpoint_and_ends_where_an_uninterrupted_run_does(tmp_path, capsys):
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        """Simulates a crash right after the checkpoint of epoch 3 is written."""

        def on_save(self, args, state, control, **kwargs):
            if state.epoch >= 3:
                raise KeyboardInterrupt

    run = TINY_RUN + ["--num_train_epochs", "6", "--stop_at_exact_match", "false", "--save_strategy", "epoch"]
    straight = run_program_memorization.main(run + ["--output_dir", str(tmp_path / "straight")])
    with pytest.raises(KeyboardInterrupt):
        run_program_memorization.main(run + ["--output_dir", str(tmp_path / "resumed")], callbacks=[Interrupt()])
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    # The default keeps two checkpoints (epochs 2 and 3, 3 steps each): a crash while the newest was written (here a
    # truncated optimizer state) leaves the older one to resume from.
    assert sorted(p.name for p in (tmp_path / "resumed").glob("checkpoint-*")) == ["checkpoint-6", "checkpoint-9"]
    optimizer = tmp_path / "resumed" / "checkpoint-9" / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[:100])
    recorded = json.loads((tmp_path / "resumed" / "checkpoint-6" / "train_runtime.json").read_text())
    capsys.readouterr()
    # The same command again finds the intact checkpoint-6 in output_dir and continues from it.
    resumed = run_program_memorization.main(run + ["--output_dir", str(tmp_path / "resumed")])
    assert "resuming from checkpoint-6 (step 6)" in capsys.readouterr().out
    assert resumed["global_step"] == straight["global_step"]
    assert resumed["final_exact_match"] == straight["final_exact_match"]
    first = SynthesizerForSubleq.from_pretrained(tmp_path / "straight").state_dict()
    second = SynthesizerForSubleq.from_pretrained(tmp_path / "resumed").state_dict()
    for name, tensor in first.items():
        torch.testing.assert_close(second[name], tensor, msg=name)
    # The run's training time adds the session that ended at checkpoint-6 to the resumed one.
    assert resumed["train_runtime_s"] > recorded["train_runtime_s"] > 0


def test_a_corrupt_checkpoint_is_named_and_the_previous_one_used(tmp_path):
    from safetensors.torch import save_file

    from synthesizer_examples.checkpoint import CorruptCheckpointError, check_checkpoint, latest_intact_checkpoint

    for step in (4, 6):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        save_file({"w": torch.ones(64)}, folder / "model.safetensors")
        torch.save({"state": {}}, folder / "optimizer.pt")
    weights = tmp_path / "checkpoint-6" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-40])
    with pytest.raises(CorruptCheckpointError, match="checkpoint-6/model.safetensors"):
        check_checkpoint(str(tmp_path / "checkpoint-6"))
    found, corrupt = latest_intact_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "checkpoint-4") and [e.path for e in corrupt] == [str(weights)]
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{")
    assert latest_intact_checkpoint(str(tmp_path))[0] is None


def test_a_rerun_with_other_settings_is_refused_not_reported_as_the_earlier_run(memorized, capsys):
    output_dir, results = memorized
    recorded = json.loads((output_dir / "run_settings.json").read_text())
    assert recorded["num_programs"] == 3 and recorded["seed"] == 0 and "learning_rate" not in recorded
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.main(TINY_RUN + ["--output_dir", str(output_dir), "--num_programs", "4"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith(f"error: --output_dir {output_dir} holds a run made with other settings (num_programs 3 "
                          "there, 4 here); pass --overwrite_output_dir to start over there, or choose another "
                          "--output_dir")
    # More epochs is how a run is trained further: not a conflict (this one is finished, so nothing to do).
    again = run_program_memorization.main(TINY_RUN + ["--output_dir", str(output_dir), "--num_train_epochs", "300"])
    assert again == json.loads(json.dumps(results))


def test_an_interrupted_run_does_not_resume_with_another_seed(tmp_path, capsys):
    from synthesizer_examples.run_settings import settings_of, write_run_settings

    run = TINY_RUN + ["--output_dir", str(tmp_path)]
    parsed = run_program_memorization.parse_args(run)
    write_run_settings(settings_of(parsed), parsed[-1])
    assert run_program_memorization.parse_args(run) is not None  # no checkpoint yet: nothing to protect
    (tmp_path / "checkpoint-3").mkdir()
    assert run_program_memorization.parse_args(run + ["--num_train_epochs", "9"]) is not None
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.parse_args(run + ["--seed", "1"])
    assert exit_info.value.code == 2 and "(seed 0 there, 1 here)" in capsys.readouterr().err
    assert run_program_memorization.parse_args(run + ["--seed", "1", "--overwrite_output_dir"]) is not None


def test_a_setting_added_since_the_earlier_run_counts_as_its_default(tmp_path, capsys):
    from synthesizer_examples.run_settings import settings_of, write_run_settings

    run = TINY_RUN + ["--output_dir", str(tmp_path)]
    parsed = run_program_memorization.parse_args(run)
    earlier = settings_of(parsed)
    del earlier["c_label_range"]  # as a run_settings.json written before the option existed
    write_run_settings(earlier, parsed[-1])
    (tmp_path / "checkpoint-3").mkdir()
    assert run_program_memorization.parse_args(run) is not None  # the default: the same run
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.parse_args(run + ["--c_label_range", "0..L-1"])
    assert exit_info.value.code == 2 and "(c_label_range '0..L' there, '0..L-1' here)" in capsys.readouterr().err


def test_a_finished_run_is_left_alone_and_overwrite_starts_over(memorized, capsys):
    output_dir, results = memorized
    weights = output_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    capsys.readouterr()
    again = run_program_memorization.main(TINY_RUN + ["--output_dir", str(output_dir), "--save_strategy", "no"])
    assert again == json.loads(json.dumps(results)) and weights.stat().st_mtime_ns == before
    assert "holds a finished run" in capsys.readouterr().out
    redone = run_program_memorization.main(
        TINY_RUN + ["--output_dir", str(output_dir), "--save_strategy", "no", "--overwrite_output_dir"])
    assert weights.stat().st_mtime_ns != before and redone["steps_to_100"] == results["steps_to_100"]


@pytest.mark.parametrize("argv, message", [
    (["--num_program", "4"], "unrecognized arguments: --num_program 4"),  # no prefixes of --num_programs
    (["--num_programs", "0"], "--num_programs must be >= 1, got 0"),
    (["--recipe", "fast"], "argument --recipe: invalid choice: 'fast'"),
    (["--dataset_name", "missing.jsonl"], "--dataset_name missing.jsonl: no such file"),
    (["--learning_rate", "fast"], "argument --learning_rate/--learning-rate: invalid float value: 'fast'"),
    (["--min_train_steps", "-1"], "--min_train_steps must be >= 0, got -1"),
])
def test_bad_arguments_fail_like_argparse(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.main(argv + ["--output_dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert f"error: {message}" in error[-1] and len(error) == 1  # the error alone, in one line
    assert not (tmp_path / "run").exists()


def test_help_opens_with_the_summary_and_recipes():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "run_program_memorization.py"), "--help"],
                            capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines[0]) < 130
    assert lines[2].startswith("Experiment 1 of")
    head = "\n".join(lines[:40])
    assert "--recipe paper" in head and "quick" in head and "tiny" in head


def test_recipes_set_defaults_that_flags_override():
    parse = run_program_memorization.parse_args
    model_args, data_args, training_args = parse([])
    assert (data_args.recipe, data_args.num_programs, model_args.hidden_size) == ("quick", 8, 128)
    assert training_args.output_dir == "runs/memorize" and training_args.save_total_limit == 2
    model_args, data_args, training_args = parse(["--recipe", "paper", "--num_programs", "32"])
    assert (data_args.num_programs, model_args.hidden_size, training_args.learning_rate) == (32, 256, 1e-3)
    assert (training_args.num_train_epochs, training_args.warmup_steps, model_args.label_smoothing) == (250, 0, 0.05)


@pytest.mark.parametrize("num_programs, program_length", [(2, 8), (4, 16), (8, 32), (16, 64)])
def test_quick_budget_is_at_least_its_min_steps_whatever_the_problem_size(num_programs, program_length):
    script = run_program_memorization
    size = ["--num_programs", str(num_programs), "--program_length", str(program_length)]
    rows = num_programs * program_length
    _, _, training_args = script.parse_args(size)
    script.apply_min_train_steps(training_args, rows)
    per_epoch = script.steps_per_epoch(training_args, rows)
    budget = training_args.num_train_epochs * per_epoch
    # At least min_train_steps in whole epochs, or the recipe's 120 epochs where they give more.
    assert budget >= training_args.min_train_steps == 480
    assert training_args.num_train_epochs == max(120, -(-480 // per_epoch))
    # Given epochs above the floor, --max_steps and --min_train_steps 0 are taken as given.
    for flags, epochs in ((["--num_train_epochs", "1000"], 1000), (["--max_steps", "50"], 120),
                          (["--min_train_steps", "0"], 120)):
        _, _, training_args = script.parse_args(size + flags)
        script.apply_min_train_steps(training_args, rows)
        assert training_args.num_train_epochs == epochs, flags


def test_quick_recipe_memorizes_a_smaller_problem_with_its_defaults(tmp_path, capsys):
    # 60 epochs of these 64 rows (the recipe's earlier budget) were 120 steps, too few; the step floor gives 480.
    results = run_program_memorization.main([
        "--num_programs", "4", "--program_length", "16", "--data_memory_size", "16", "--hidden_size", "64",
        "--num_hidden_layers", "2", "--num_attention_heads", "2", "--intermediate_size", "128",
        "--save_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning", "--output_dir", str(tmp_path)])
    assert "until 100% exact match, at most 480 steps (240 epochs)" in capsys.readouterr().out
    assert results["final_exact_match"] == 1.0 and 0 < results["steps_to_100"] <= 480
    assert results["num_train_epochs"] == 240


def test_a_run_stopped_short_trains_further_with_more_min_train_steps(tmp_path, capsys):
    run = TINY_RUN + ["--num_train_epochs", "1", "--save_strategy", "epoch", "--output_dir", str(tmp_path)]
    short = run_program_memorization.main(run)  # 24 rows in batches of 8: 3 steps
    assert short["global_step"] == 3 and short["final_exact_match"] < 1.0 and short["num_train_epochs"] == 1
    capsys.readouterr()
    again = run_program_memorization.main(run)  # the same budget: reported, with the epochs a further run needs
    assert again["global_step"] == 3 and "More epochs (--num_train_epochs above 1) train it further" in (
        capsys.readouterr().out)
    further = run_program_memorization.main(run + ["--min_train_steps", "5"])  # raised to 2 epochs, 6 steps
    assert "this budget is larger: training further" in capsys.readouterr().out
    assert further["global_step"] == 6 and further["num_train_epochs"] == 2


def test_recipe_in_a_json_file_of_arguments(tmp_path):
    arguments = tmp_path / "args.json"
    arguments.write_text(json.dumps({"recipe": "tiny", "num_programs": 5, "output_dir": str(tmp_path / "run")}))
    model_args, data_args, _ = run_program_memorization.parse_args([str(arguments)])
    assert (data_args.recipe, data_args.num_programs, model_args.hidden_size) == ("tiny", 5, 64)


def test_paper_model_with_a_tiny_batch_is_warned_about(tmp_path, capsys):
    run_program_memorization.main([
        "--recipe", "paper", "--num_programs", "4", "--program_length", "16", "--data_memory_size", "16",
        "--max_steps", "1", "--eval_strategy", "no", "--save_strategy", "no", "--disable_tqdm", "true",
        "--log_level", "warning", "--output_dir", str(tmp_path)])
    assert "warning: a batch of 3 rows with the paper's backbone (4 x 256) is known not to memorize" in (
        capsys.readouterr().out)


def test_a_run_below_100_percent_exits_1_and_says_how_far_it_got(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_program_memorization.py"), "--recipe", "tiny",
         "--num_train_epochs", "1", "--output_dir", str(tmp_path)],
        capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=600,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("recipe tiny: N=4 programs x L=16 instructions, k=256")  # the settings, first
    assert "stopped at step 4 below 100%: instruction exact match" in lines[-1]
    assert "programs memorized. Try more epochs" in lines[-1]
    # The bar states the budget as a ceiling, with no total to estimate from; no per-epoch pin_memory warning; logs
    # are numbers.
    assert "training (until 100% exact match, at most 4 steps)" in result.stderr
    assert "pin_memory" not in result.stderr and "'loss': '" not in result.stderr + result.stdout
    assert "step 4 | loss " in result.stdout


def test_format_logs_prints_numbers():
    from synthesizer_examples.training import format_logs

    logs = {"step": 8, "loss": 1.234567, "total_flos": 3.0, "epoch": 2.0}
    assert format_logs(logs) == "step 8 | loss 1.235 | epoch 2"


def test_dataset_from_disk_and_a_pretrained_tokenizer(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "data" / "make_random_programs.py"), "--num_programs", "2", "--program_length",
         "8", "--data_memory_size", "8", "--seed", "5", "--output_dir", str(tmp_path / "data")],
        check=True, capture_output=True,
    )
    tokenizer_dir = write_tiny_bert_vocab(tmp_path / "bert")
    results = run_program_memorization.main(
        TINY_RUN + ["--dataset_name", str(tmp_path / "data"), "--tokenizer_name", str(tokenizer_dir),
                    "--num_train_epochs", "2", "--save_strategy", "no", "--output_dir", str(tmp_path / "run")]
    )
    assert (results["num_programs"], results["program_length"]) == (2, 8)
    saved = json.loads((tmp_path / "run" / "programs.json").read_text())
    assert saved == json.loads((tmp_path / "data" / "programs.json").read_text())
    model = SynthesizerForSubleq.from_pretrained(tmp_path / "run")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "run")
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer) == 307 + 2


def test_committed_sample_loads():
    sample = ROOT / "data" / "samples" / "random_programs_n4_l16_k16_seed1.jsonl"
    _, records = build_random_program_dataset(4, 16, 16, seed=1)
    dataset, loaded = run_program_memorization.load_programs(
        run_program_memorization.DataArguments(dataset_name=str(sample)), seed=0
    )
    assert loaded == records and len(dataset) == 64


def test_push_to_hub_offline_fails_before_training_with_one_message(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_program_memorization.py"), *TINY_RUN,
         "--output_dir", str(tmp_path), "--push_to_hub", "true", "--hub_model_id", "org/name"],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode != 0
    assert "--push_to_hub was given but the Hub is unreachable" in result.stderr
    assert not (tmp_path / "model.safetensors").exists()


def test_world_size_mismatch_is_refused(monkeypatch):
    from types import SimpleNamespace

    from synthesizer_examples.training import check_world_size

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="add --use_cpu"):
        check_world_size(SimpleNamespace(world_size=1))
    check_world_size(SimpleNamespace(world_size=2))
