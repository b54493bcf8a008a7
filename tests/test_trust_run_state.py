"""The example scripts' run state: nothing in an output folder runs as code, no token reaches a file a script writes
or uploads, and stale or damaged work is never reported as a finished run."""

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import build_synthesizer_bert_256 as build  # examples/ is on pytest's pythonpath (pyproject.toml)
import pytest
import run_program_memorization
import torch
import transformers
from huggingface_hub import constants
from safetensors.torch import save_file
from test_model_cards import FakeHub

from synthesizer_examples.checkpoint import CorruptCheckpointError, check_checkpoint, latest_intact_checkpoint
from synthesizer_examples.run_info import (
    launch_command,
    redact_argv,
    redact_command,
    redact_environment,
    redact_settings,
    write_json_atomic,
)
from synthesizer_examples.training import MemorizationTrainingArguments


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TOKEN = "hf_FAKEtokenThatMustNeverBeWritten0123456789"
ENV_TOKEN = "hf_FAKEenvironmentTokenNeverWritten987654321"
# The tiny settings of each script's docstring (seconds), quiet.
QUIET = ["--disable_tqdm", "true", "--log_level", "warning"]
TINY_MEMORIZATION = ["--recipe", "tiny", *QUIET]
TINY_LIBRARY = [
    "--programs", "add,absolute", "--data_memory_size", "4", "--max_program_length", "4", "--hidden_size", "32",
    "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64", "--learning_rate", "3e-3",
    "--per_device_train_batch_size", "8", "--num_inputs", "20", "--no_baseline", *QUIET,
]
TINY_RELEASE = [
    "--programs", "add,absolute", "--data_memory_size", "4", "--max_program_length", "4", "--hidden_size", "64",
    "--num_hidden_layers", "2", "--num_attention_heads", "2", "--intermediate_size", "128", "--label_smoothing", "0",
    "--instruction_repeats", "1", "--per_device_train_batch_size", "8", "--learning_rate", "3e-3",
    "--warmup_steps", "0", "--num_train_epochs", "100", "--eval_steps", "20", "--num_inputs", "20", *QUIET,
]
RELEASE_RESULTS = build.RESULTS_FILE
SST2_SAMPLE = ROOT / "data" / "sst2_sample"
TINY_SOFT_INSTRUCTION = [
    "--train_file", str(SST2_SAMPLE / "train.tsv"), "--validation_file", str(SST2_SAMPLE / "dev.tsv"),
    "--tokenizer_name", str(SST2_SAMPLE / "tokenizer"), "--hidden_size", "32", "--num_hidden_layers", "1",
    "--num_attention_heads", "2", "--intermediate_size", "64", "--max_train_samples", "64", "--num_train_epochs", "1",
    *QUIET,
]
SCRIPTS = {
    "run_program_memorization.py": TINY_MEMORIZATION,
    "run_program_library.py": TINY_LIBRARY,
    "build_synthesizer_bert_256.py": TINY_RELEASE,
    "run_soft_instruction.py": TINY_SOFT_INSTRUCTION,
}


def run_script(script: str, argv: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *argv], cwd=cwd, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **env),
    )


def files_holding(folder: Path, secret: str) -> list[str]:
    """Every file under `folder` whose bytes contain `secret` (binary files, pickles and zips included)."""
    needle = secret.encode()
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and needle in path.read_bytes())


# 1. Nothing in an output folder runs as code.


class Payload:
    """A pickle that creates `marker` when it is unpickled: what a hostile checkpoint file would do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.makedirs, (self.marker,)


def plant_checkpoint(output_dir: Path, marker: Path, step: int = 5) -> Path:
    """A `checkpoint-<step>` whose torch states (the Trainer's names, and any other) are payloads."""
    folder = output_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    for name in ("anything.pt", "rng_state.pth", "optimizer.pt", "scheduler.pt"):
        torch.save(Payload(marker), folder / name)
    return folder


def test_checking_a_checkpoint_never_runs_a_pickle_in_it(tmp_path):
    marker = tmp_path / "PWNED"
    folder = plant_checkpoint(tmp_path / "out", marker)
    with pytest.raises(CorruptCheckpointError, match=r"checkpoint-5/anything\.pt \(it holds objects other than "
                                                     r"tensors.*nothing in it was run\)"):
        check_checkpoint(str(folder))
    (folder / "anything.pt").unlink()
    with pytest.raises(CorruptCheckpointError, match=r"checkpoint-5/optimizer\.pt"):
        check_checkpoint(str(folder))
    assert not marker.exists()
    # The Trainer's own states (numpy arrays in the RNG state included) load as it loads them.
    for name in ("optimizer.pt", "scheduler.pt"):
        torch.save({"state": {}, "param_groups": [{"lr": torch.tensor(1.0)}]}, folder / name)
    torch.save({"python": __import__("random").getstate(), "numpy": __import__("numpy").random.get_state(),
                "cpu": torch.random.get_rng_state()}, folder / "rng_state.pth")
    check_checkpoint(str(folder))


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_planted_pickle_never_runs_when_a_script_resumes(script, tmp_path):
    marker = tmp_path / "PWNED"
    plant_checkpoint(tmp_path / "out", marker)
    result = run_script(script, SCRIPTS[script] + ["--output_dir", "out"], tmp_path)
    assert not marker.exists(), "a pickle in the output folder ran"
    assert result.returncode == 2, result.stderr[-3000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"{script}: error: no intact checkpoint in out to resume from (corrupt checkpoint file "
                            "out/checkpoint-5/anything.pt (it holds objects other than tensors"), error
    assert not (tmp_path / "out" / "model.safetensors").exists()  # refused before training


def test_a_payload_beside_an_intact_checkpoint_is_skipped_not_run(tmp_path, capsys):
    """A real interrupted run; then its newest checkpoint's RNG state is replaced by a payload."""
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.epoch >= 2:
                raise KeyboardInterrupt

    run = TINY_MEMORIZATION + ["--output_dir", str(tmp_path / "out"), "--num_train_epochs", "3",
                               "--stop_at_exact_match", "false"]
    with pytest.raises(KeyboardInterrupt):
        run_program_memorization.main(run, callbacks=[Interrupt()])
    marker = tmp_path / "PWNED"
    torch.save(Payload(marker), tmp_path / "out" / "checkpoint-8" / "rng_state.pth")
    capsys.readouterr()
    results = run_program_memorization.main(run)
    assert not marker.exists()
    assert "resuming from checkpoint-4 (step 4)" in capsys.readouterr().out
    assert results["global_step"] == 12


def test_no_unpickling_anywhere_in_the_repository():
    # Built from pieces, so that this file does not match itself.
    forbidden = ["weights_only=" + "False", "pickle." + "load(", "pickle." + "Unpickler", "joblib." + "load",
                 "allow_pickle=" + "True", "torch." + "load(", "dill." + "load"]
    allowed = {"examples/synthesizer_examples/checkpoint.py": {"torch." + "load("}}  # weights_only=True, checked below
    found = []
    for folder in ("examples", "bench", "data", "modeling_synthesizer", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            text = path.read_text(encoding="utf-8")
            found += [f"{relative}: {word}" for word in forbidden
                      if word in text and word not in allowed.get(relative, set())]
    assert found == []
    checkpoint = (EXAMPLES / "synthesizer_examples" / "checkpoint.py").read_text()
    assert re.findall(r"torch\.load\([^)]*\)", checkpoint) == [
        "torch." + 'load(path, map_location="cpu", weights_only=True)']


# 2. No token in any file a script writes or uploads.


def test_commands_and_settings_are_recorded_without_secrets(monkeypatch):
    assert redact_argv(["--hub_token", "hf_a", "--seed", "1", "--hub_token=hf_b", "--x_token=c", "--api-key", "d",
                        "--tokenizer_name", "bert-base-uncased", "--include_num_input_tokens_seen", "true"]) == [
        "--hub_token", "<redacted>", "--seed", "1", "--hub_token=<redacted>", "--x_token=<redacted>", "--api-key",
        "<redacted>", "--tokenizer_name", "bert-base-uncased", "--include_num_input_tokens_seen", "true"]
    assert redact_environment({"HF_TOKEN": "a", "AWS_SECRET_ACCESS_KEY": "b", "WANDB_API_KEY": "c",
                               "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}) == {
        "HF_TOKEN": "<redacted>", "AWS_SECRET_ACCESS_KEY": "<redacted>", "WANDB_API_KEY": "<redacted>",
        "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert launch_command("examples/x.py", ["--hub_token", "hf_a", "--seed", "1"]) == (
        "OMP_NUM_THREADS=2 python examples/x.py --hub_token '<redacted>' --seed 1")
    assert redact_command("OMP_NUM_THREADS=1 HF_TOKEN=hf_a python x.py --hub_token=hf_b --seed 1") == (
        "OMP_NUM_THREADS=1 HF_TOKEN='<redacted>' python x.py '--hub_token=<redacted>' --seed 1")
    unchanged = "OMP_NUM_THREADS=1 python x.py --note 'a b'"
    assert redact_command(unchanged) is unchanged
    assert redact_settings({"hub_token": "hf_a", "nested": [{"api_key": "k"}], "tokenizer_name": "t",
                            "max_tokens": 3, "unset_token": None}) == {
        "hub_token": "<redacted>", "nested": [{"api_key": "<redacted>"}], "tokenizer_name": "t", "max_tokens": 3,
        "unset_token": None}


def test_training_args_pickle_without_the_token_and_the_trainer_keeps_it(tmp_path):
    args = MemorizationTrainingArguments(output_dir=str(tmp_path), hub_token=TOKEN)
    pickled = pickle.dumps(args)
    assert TOKEN.encode() not in pickled
    torch.save(args, tmp_path / "training_args.bin")
    assert TOKEN.encode() not in (tmp_path / "training_args.bin").read_bytes()
    assert args.hub_token == TOKEN  # still there to push with


@pytest.mark.slow
@pytest.mark.parametrize("script, extra", [
    ("run_program_memorization.py", ["--num_train_epochs", "2"]),  # a checkpoint per epoch
    ("run_program_library.py", ["--num_train_epochs", "2", "--save_strategy", "epoch"]),
    ("build_synthesizer_bert_256.py", ["--num_train_epochs", "2", "--save_strategy", "steps", "--save_steps", "4"]),
    ("run_soft_instruction.py", ["--save_steps", "2", "--eval_steps", "2"]),
])
def test_no_token_in_any_file_of_the_output_folder(script, extra, tmp_path):
    result = run_script(script, SCRIPTS[script] + extra + ["--output_dir", "out", "--hub_token", TOKEN], tmp_path,
                        HF_TOKEN=ENV_TOKEN)
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: a tiny run below 100%, as intended here
    output = tmp_path / "out"
    assert list(output.glob("checkpoint-*/training_args.bin")) and (output / "training_args.bin").is_file()
    assert files_holding(output, TOKEN) == [] and files_holding(output, ENV_TOKEN) == []
    recorded = {"run_program_library.py": "library_results.json", "build_synthesizer_bert_256.py": RELEASE_RESULTS}
    if script in recorded:  # the scripts that record their command: the token is there, redacted
        assert "--hub_token '<redacted>'" in json.loads((output / recorded[script]).read_text())["command"]


def test_a_push_authenticates_with_the_token_and_uploads_none(tmp_path, monkeypatch):
    hub = FakeHub(tmp_path / "hub")
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: hub)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the script refuses to push offline
    run_program_memorization.main(TINY_MEMORIZATION + [
        "--output_dir", str(tmp_path / "out"), "--num_train_epochs", "2", "--push_to_hub", "true",
        "--hub_model_id", "org/tiny", "--hub_token", TOKEN, "--hub_strategy", "checkpoint"])
    assert hub.uploads and all(upload["token"] == TOKEN for upload in hub.uploads)
    assert any("training_args.bin" in upload["files"] for upload in hub.uploads)
    assert files_holding(hub.root, TOKEN) == [] and files_holding(tmp_path / "out", TOKEN) == []


def test_the_release_report_redacts_a_token_an_older_build_recorded(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    committed = json.loads((ROOT / "bench" / "results" / "release.json").read_text())
    committed["command"] += f" --hub_token {TOKEN}"
    committed["settings"]["hub_token"] = TOKEN
    (run_dir / "release_results.json").write_text(json.dumps(committed))
    subprocess.run([sys.executable, str(ROOT / "bench" / "release.py"), "--run_dir", str(run_dir), "--results_dir",
                    str(tmp_path / "results")], check=True, capture_output=True, timeout=300)
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["release.json", "release.md"]
    assert files_holding(tmp_path / "results", TOKEN) == []
    assert "--hub_token '<redacted>'" in (tmp_path / "results" / "release.md").read_text()


# 6. Run state: stale or damaged work is never reported as finished.


def test_results_are_written_atomically(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(str(path), {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(str(path), {"a": object()})  # fails half-way through the dump
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["results.json"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny memorization run (100%), with its checkpoints."""
    output_dir = tmp_path_factory.mktemp("finished")
    results = run_program_memorization.main(TINY_MEMORIZATION + ["--output_dir", str(output_dir)])
    assert results["final_exact_match"] == 1.0
    return output_dir, results


def rerun_error(argv: list[str], capsys) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.main(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


@pytest.mark.slow
def test_a_finished_run_records_its_model_and_reruns_as_finished(finished, capsys):
    output_dir, results = finished
    written = json.loads((output_dir / "memorization_results.json").read_text())
    assert written == json.loads(json.dumps(results))
    record = written["saved_model"]
    import hashlib

    assert record["sha256"] == hashlib.sha256((output_dir / "model.safetensors").read_bytes()).hexdigest()
    assert record["global_step"] == results["global_step"] and record["stopped_short"] is False
    capsys.readouterr()
    assert run_program_memorization.main(TINY_MEMORIZATION + ["--output_dir", str(output_dir)]) == written
    assert "holds a finished run" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("damage, message", [
    ("truncate_weights", "is not the model the results describe"),
    ("other_weights", "is not the model the results describe"),
    ("delete_weights", "model.safetensors is missing"),
    ("truncate_results", "memorization_results.json is not a readable results file ("),
    ("list_results", "memorization_results.json is not a readable results file (a JSON list, not an object)"),
    ("strip_results", "memorization_results.json is not a readable results file (it lacks final_exact_match)"),
])
def test_a_damaged_finished_run_is_refused_with_one_line(finished, damage, message, tmp_path, capsys):
    import shutil

    output_dir = tmp_path / "copy"
    shutil.copytree(finished[0], output_dir)
    weights, results_file = output_dir / "model.safetensors", output_dir / "memorization_results.json"
    if damage == "truncate_weights":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "other_weights":  # a valid safetensors file, but not the model the run saved
        save_file({"w": torch.zeros(2)}, weights)
    elif damage == "delete_weights":
        weights.unlink()
    elif damage == "truncate_results":
        results_file.write_text(results_file.read_text()[:50])
    elif damage == "list_results":
        results_file.write_text("[]")
    else:
        results = json.loads(results_file.read_text())
        del results["final_exact_match"]
        results_file.write_text(json.dumps(results))
    error = rerun_error(TINY_MEMORIZATION + ["--output_dir", str(output_dir)], capsys)
    assert message in error and str(output_dir) in error, error
    assert "--overwrite_output_dir to start over" in error


def test_an_interrupted_final_save_is_not_a_finished_run(tmp_path, monkeypatch, capsys):
    def crash(trainer):
        raise KeyboardInterrupt

    run = TINY_MEMORIZATION + ["--output_dir", str(tmp_path), "--num_train_epochs", "2"]
    with monkeypatch.context() as patch:
        patch.setattr(run_program_memorization, "save_unpushed", crash)
        with pytest.raises(KeyboardInterrupt):
            run_program_memorization.main(run)
    assert not (tmp_path / "memorization_results.json").exists()
    capsys.readouterr()
    results = run_program_memorization.main(run)  # resumes, never "finished"
    assert "resuming from checkpoint-8 (step 8)" in capsys.readouterr().out
    assert json.loads((tmp_path / "memorization_results.json").read_text()) == results


@pytest.mark.slow
def test_a_corrupt_run_settings_file_refuses_the_rerun(finished, tmp_path, capsys):
    import shutil

    output_dir = tmp_path / "copy"
    shutil.copytree(finished[0], output_dir)
    settings = output_dir / "run_settings.json"
    for text in (settings.read_text()[:30], '["seed"]'):
        settings.write_text(text)
        # The seed differs: without the file, the check would be skipped and the seed-42 run reported for seed 2.
        error = rerun_error(TINY_MEMORIZATION + ["--output_dir", str(output_dir), "--seed", "2"], capsys)
        assert f"error: {settings} cannot be read (" in error and "pass --overwrite_output_dir" in error


def test_a_checkpoint_with_a_corrupt_config_is_skipped_by_name(tmp_path):
    for step in (4, 6):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (folder / "config.json").write_text(json.dumps({"model_type": "synthesizer"}))
        save_file({"w": torch.ones(4)}, folder / "model.safetensors")
    (tmp_path / "checkpoint-6" / "config.json").write_text('{"model_type": "synth')
    found, corrupt = latest_intact_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "checkpoint-4")
    assert [error.path for error in corrupt] == [str(tmp_path / "checkpoint-6" / "config.json")]


@pytest.mark.slow
def test_overwrite_deletes_the_old_checkpoints_before_training(finished, tmp_path, capsys):
    """The earlier run's checkpoints go before the new run trains: a later rerun of the new command (here one that
    saves none) must not resume the old model."""
    import shutil

    output_dir = tmp_path / "copy"
    shutil.copytree(finished[0], output_dir)
    assert list(output_dir.glob("checkpoint-*"))
    new = TINY_MEMORIZATION + ["--output_dir", str(output_dir), "--seed", "1", "--save_strategy", "no"]
    redone = run_program_memorization.main(new + ["--overwrite_output_dir"])
    assert list(output_dir.glob("checkpoint-*")) == [] and redone["seed"] == 1
    capsys.readouterr()
    assert run_program_memorization.main(new) == redone
    assert "holds a finished run" in capsys.readouterr().out
    # --overwrite_output_dir with a checkpoint of that folder to resume from is a contradiction.
    (output_dir / "checkpoint-3").mkdir()
    (output_dir / "checkpoint-3" / "trainer_state.json").write_text('{"global_step": 3}')
    error = rerun_error(new + ["--overwrite_output_dir", "--resume_from_checkpoint", str(output_dir / "checkpoint-3")],
                        capsys)
    assert "--overwrite_output_dir deletes the checkpoints" in error
    assert (output_dir / "checkpoint-3").is_dir()


@pytest.mark.slow
def test_a_run_that_stopped_short_trains_further_with_more_epochs(tmp_path, capsys):
    run = TINY_MEMORIZATION + ["--output_dir", str(tmp_path), "--num_train_epochs", "1"]
    short = run_program_memorization.main(run)
    assert short["global_step"] == 4 and short["final_exact_match"] < 1.0
    assert short["saved_model"]["stopped_short"] is True
    capsys.readouterr()
    assert run_program_memorization.main(run) == short  # the same budget: nothing more to do
    assert "holds a finished run" in capsys.readouterr().out
    further = run_program_memorization.main(run[:-1] + ["3"])
    printed = capsys.readouterr().out
    assert "stopped short at step 4 (epoch 1); this budget is larger: training further" in printed
    assert "resuming from checkpoint-4 (step 4)" in printed
    assert further["global_step"] == 12 and further["saved_model"]["global_step"] == 12


@pytest.mark.slow
def test_a_finished_release_build_is_not_trained_again(tmp_path, capsys):
    run = TINY_RELEASE + ["--output_dir", str(tmp_path), "--save_strategy", "steps", "--save_steps", "20"]
    results = build.main(run)
    assert results["training"]["final_exact_match"] == 1.0 and list(tmp_path.glob("checkpoint-*"))
    weights = tmp_path / "model.safetensors"
    before = weights.stat().st_mtime_ns
    capsys.readouterr()
    assert build.main(run) == json.loads(json.dumps(results))
    assert "holds a finished build (release_results.json): nothing to do" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == before
    # Overwriting with a new seed deletes the old checkpoints first; the new command, rerun, is then finished.
    new = run[:-4] + ["--save_strategy", "no", "--seed", "5"]
    rebuilt = build.main(new + ["--overwrite_output_dir"])
    assert list(tmp_path.glob("checkpoint-*")) == [] and rebuilt["settings"]["seed"] == 5
    assert build.main(new) == json.loads(json.dumps(rebuilt))
