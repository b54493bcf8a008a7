"""Every checkpoint a training script writes is a complete Hub repository, and its model card runs as written.

A card's Python blocks run verbatim (only the repo id is replaced by the folder it names) in a process that can
import neither this package nor `synthesizer_examples` (torch and transformers only) with `HF_HUB_OFFLINE=1`; what
they print is checked against the subleq machine running the true programs (memorization) or the package's own
pipeline (SST-2). `--push_to_hub` is checked against a stand-in for the Hub that keeps what is uploaded.
"""

import ast
import concurrent.futures
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import run_program_memorization  # examples/ is on pytest's pythonpath (pyproject.toml)
import transformers
from conftest import run_without_package
from huggingface_hub import constants
from test_memorization import TINY_RUN
from test_sst2_examples import FIT_SYNTHESIZER, load_script, script_args
from test_sst2_tasks import make_tokenizer_folder
from transformers import pipeline

from modeling_synthesizer import run_subleq


ROOT = Path(__file__).resolve().parent.parent
# Memorizes its 3 programs in about a hundred steps.
TINY_MEMORIZATION = TINY_RUN
SYNTHESIZER_FILES = ["model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json", "README.md",
                     "configuration_synthesizer.py", "modeling_synthesizer.py", "pipeline_synthesizer.py",
                     "known_programs.py", "subleq.py"]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
MODEL_ARGUMENT = re.compile(r'from_pretrained\("([^"]+)"|model="([^"]+)"')


def card_code(folder: Path) -> tuple[str, str]:
    """The card's Python blocks, joined, and the one repo id they all name."""
    code = "\n".join(PYTHON_BLOCK.findall((folder / "README.md").read_text()))
    named = {a or b for a, b in MODEL_ARGUMENT.findall(code)}
    assert len(named) == 1, f"the card of {folder} names {named}"
    return code, named.pop()


def run_card(folder: Path, tmp_path: Path, repo_id: str | None = None, cwd: Path | None = None) -> list:
    """Runs the card of `folder` verbatim in a process without the package; `repo_id`, when given, is what the card
    must name and is replaced by the folder. Returns the printed `(description, result)` pairs."""
    code, named = card_code(folder)
    if repo_id is not None:
        assert named == repo_id
        code = code.replace(f'"{repo_id}"', json.dumps(str(folder)))
    stdout = run_without_package(code, cwd or tmp_path)
    printed = []
    for line in stdout.splitlines():
        description, _, result = line.partition(" {")
        printed.append((description, ast.literal_eval("{" + result)))
    return printed


def card_memory(folder: Path) -> list[int]:
    """The data memory the card's code runs on (`memory = <expression>  # ...`)."""
    code, _ = card_code(folder)
    expression = re.search(r"^memory = (.+?)  #", code, re.M).group(1)
    return eval(expression, {})  # our own card's expression: a list display or comprehension of ints


def check_hub_repository(folder: Path, names=SYNTHESIZER_FILES):
    missing = [name for name in names if not (folder / name).exists()]
    assert not missing, f"{folder} lacks {missing}"
    config = json.loads((folder / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel"}
    assert config["custom_pipelines"]["subleq-execution"]["impl"] == "pipeline_synthesizer.SubleqPipeline"


def check_runs_memorized_programs(printed, folder: Path, memory: list[int], max_steps: int = 1000):
    records = json.loads((folder / "programs.json").read_text())
    programs = {record["description"]: record["program"] for record in records}
    assert [description for description, _ in printed] == list(programs)[:2]
    for description, result in printed:
        expected = run_subleq(programs[description], memory, max_steps=max_steps)
        assert (result["memory"], result["steps"], result["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason), description


@pytest.fixture(scope="module")
def memorization_run(tmp_path_factory):
    """The README's way: the script run as a command, with a relative --output_dir and a checkpoint per epoch."""
    workdir = tmp_path_factory.mktemp("memorization")
    command = [sys.executable, str(ROOT / "examples" / "run_program_memorization.py"), "--output_dir",
               "runs/memorize", *TINY_MEMORIZATION, "--save_total_limit", "2"]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr
    return workdir


def test_memorization_checkpoints_are_hub_repositories(memorization_run):
    output_dir = memorization_run / "runs" / "memorize"
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    assert len(checkpoints) == 2
    for folder in [output_dir, *checkpoints]:
        check_hub_repository(folder)
    # Without --hub_model_id a card names its folder as the user gave it, so its code runs from where they ran.
    assert card_code(output_dir)[1] == "runs/memorize"
    assert card_code(checkpoints[-1])[1] == f"runs/memorize/{checkpoints[-1].name}"


def test_memorization_card_runs_the_memorized_programs_as_written(memorization_run, tmp_path):
    output_dir = memorization_run / "runs" / "memorize"
    assert json.loads((output_dir / "memorization_results.json").read_text())["final_program_exact_match"] == 1.0
    printed = run_card(output_dir, tmp_path, cwd=memorization_run)
    check_runs_memorized_programs(printed, output_dir, card_memory(output_dir))


def test_last_checkpoint_card_runs_as_written(memorization_run, tmp_path):
    output_dir = memorization_run / "runs" / "memorize"
    last = max(output_dir.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    # The last checkpoint holds the final weights: its card gives the same answers.
    assert run_card(last, tmp_path, cwd=memorization_run) == run_card(output_dir, tmp_path, cwd=memorization_run)


def test_tokenizer_loads_without_the_package(memorization_run, tmp_path):
    code = """
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained("runs/memorize", trust_remote_code=True)
        print(tokenizer("3 [PROG_1]", add_special_tokens=False)["input_ids"])
    """
    stdout = run_without_package(code, memorization_run)
    tokenizer = transformers.AutoTokenizer.from_pretrained(memorization_run / "runs" / "memorize")
    assert ast.literal_eval(stdout.strip()) == tokenizer("3 [PROG_1]", add_special_tokens=False)["input_ids"]


class FakeHub:
    """Stands in for `transformers.trainer.hf_api()`: keeps a copy of each upload, as the Hub would store it."""

    def __init__(self, root: Path):
        self.root = root
        self.uploads = []

    def create_repo(self, repo_id, **kwargs):
        return type("RepoUrl", (), {"repo_id": repo_id})()

    def upload_folder(self, *, repo_id, folder_path, path_in_repo=None, ignore_patterns=(), **kwargs):
        target = self.root / repo_id / (path_in_repo or "")
        for path in sorted(Path(folder_path).rglob("*")):
            relative = path.relative_to(folder_path).as_posix()
            if path.is_file() and not any(fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(
                    relative.split("/")[0], pattern) for pattern in ignore_patterns):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / relative)
        self.uploads.append({"repo_id": repo_id, "files": sorted(p.name for p in target.iterdir()), **kwargs})
        future = concurrent.futures.Future()
        future.set_result(None)
        return future


def test_push_to_hub_uploads_a_repository_whose_card_runs(tmp_path, monkeypatch):
    hub = FakeHub(tmp_path / "hub")
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: hub)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the script refuses to push offline
    output_dir = tmp_path / "run"
    push = ["--push_to_hub", "true", "--hub_model_id", "org/synthesizer-tiny"]
    run_program_memorization.main(TINY_MEMORIZATION + ["--output_dir", str(output_dir), *push])
    assert hub.uploads and {upload["repo_id"] for upload in hub.uploads} == {"org/synthesizer-tiny"}
    # Each save pushed a complete repository, not only the weights and config.
    for upload in hub.uploads:
        assert set(SYNTHESIZER_FILES) <= set(upload["files"]), upload
        assert not any(name.startswith("checkpoint-") for name in upload["files"])
    assert hub.uploads[-1]["commit_message"] == "Synthesizer: program memorization"
    # The final folder is uploaded once (Trainer.save_model alone would push it a first time, as "Model save").
    assert [upload["commit_message"] for upload in hub.uploads].count("Model save") == 0
    pushed = hub.root / "org/synthesizer-tiny"
    check_hub_repository(pushed)
    assert "programs.json" in hub.uploads[-1]["files"]
    printed = run_card(pushed, tmp_path, repo_id="org/synthesizer-tiny")
    check_runs_memorized_programs(printed, pushed, card_memory(pushed))


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return make_tokenizer_folder(tmp_path_factory.mktemp("tokenizer"))


@pytest.mark.parametrize("script", ["run_soft_instruction", "run_soft_imperative"])
def test_sst2_synthesizer_card_runs_as_written(script, tokenizer_dir, tmp_path):
    output_dir = tmp_path / "run"
    extra = ["--num_programs", "1", "--program_length", "1"] if script == "run_soft_imperative" else []
    load_script(script).main(script_args(output_dir, tokenizer_dir, *FIT_SYNTHESIZER, "--num_train_epochs", "2",
                                         "--hub_model_id", f"org/{script}", *extra))
    check_hub_repository(output_dir)
    printed = run_card(output_dir, tmp_path, repo_id=f"org/{script}")
    # The checkpoint's own code (no package) gives what the installed package's pipeline gives.
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True)
    assert len(printed) == 2
    for description, result in printed:
        assert result == run(description, max_steps=100)
        assert result["label"] in ("negative", "positive")


def test_baseline_card_runs_as_written(tokenizer_dir, tmp_path):
    output_dir = tmp_path / "run"
    load_script("run_sequence_classification").main(
        script_args(output_dir, tokenizer_dir, "--max_train_samples", "16", "--max_eval_samples", "16",
                    "--num_train_epochs", "1", "--hub_model_id", "org/bert-sst2"))
    names = ["model.safetensors", "tokenizer.json", "config.json", "README.md"]
    assert all((output_dir / name).exists() for name in names)
    printed = run_card(output_dir, tmp_path, repo_id="org/bert-sst2")
    classify = pipeline("text-classification", model=str(output_dir))
    assert [description for description, _ in printed] == ["a gorgeous, witty film", "a dull, lifeless mess"]
    for sentence, result in printed:
        expected = classify(sentence)[0]
        assert result["label"] == expected["label"] in ("negative", "positive")
        assert result["score"] == pytest.approx(expected["score"], abs=1e-5)
