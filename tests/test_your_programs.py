"""Your own programs: a folder of `.asm` programs (not from the built-in library) becomes a checkpoint that runs them
by name on named inputs, in a clean client that has only torch and transformers; the same checkpoint is then taught
one more program (`--model_name_or_path`) and runs old and new, and so is a memorization checkpoint. Tiny
settings (k = L = 4, a small backbone): a few hundred optimizer steps each.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import run_program_library  # examples/ is on pytest's pythonpath (pyproject.toml)
from conftest import _BLOCK_PACKAGE
from transformers import pipeline

from modeling_synthesizer.program_library import read_library


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "my_programs"
TINY = [
    "--data_memory_size", "4", "--max_program_length", "4", "--hidden_size", "64", "--num_hidden_layers", "2",
    "--num_attention_heads", "2", "--intermediate_size", "128", "--learning_rate", "3e-3",
    "--per_device_train_batch_size", "8", "--save_strategy", "no", "--logging_strategy", "no", "--no_baseline",
    "--disable_tqdm", "true", "--log_level", "warning", "--seed", "0",
]
# Teaching keeps the checkpoint's k, L and backbone: only training flags.
TEACH = ["--learning_rate", "3e-3", "--per_device_train_batch_size", "8", "--save_strategy", "no",
         "--logging_strategy", "no", "--no_baseline", "--disable_tqdm", "true", "--log_level", "warning",
         "--seed", "0"]

CLIENT = """
import json, sys
from transformers import pipeline
run = pipeline("subleq-execution", model=sys.argv[1], trust_remote_code=True)
for description, inputs in json.loads(sys.argv[2]):
    result = run(description, inputs=inputs)
    print(json.dumps([result["program"], result["halt_reason"], result["outputs"]]))
"""


def run_client(folder: Path, calls: list, tmp_path: Path) -> list:
    """Runs `calls` ((description, named inputs) pairs) on the checkpoint `folder` in an isolated Python (`-I`: no
    PYTHONPATH, no working directory on sys.path) that cannot import this package; returns what each run printed."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"))
    code = _BLOCK_PACKAGE + textwrap.dedent(CLIENT)
    result = subprocess.run([sys.executable, "-I", "-c", code, str(folder), json.dumps(calls)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def copy_programs(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(EXAMPLES / f"{name}.asm", folder / f"{name}.asm")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the build's results, its folder, the library it was built from)."""
    work = tmp_path_factory.mktemp("yours")
    programs = copy_programs(work / "my_programs", "subtract", "negate")
    results = run_program_library.main(["--programs", str(programs), "--output_dir", str(work / "build")] + TINY)
    return results, work / "build", read_library(programs)


@pytest.mark.slow
def test_a_folder_of_two_new_programs_becomes_a_checkpoint_that_runs_both_by_name(built, tmp_path):
    results, folder, library = built
    assert results["metrics"]["trained phrasings decoded exactly"] == [4, 4]
    assert results["metrics"]["trained phrasings run right"] == [4, 4]
    # After training, every declared test ran again through the pipeline, and was right.
    assert {name: entry["runs"] for name, entry in results["report"]["programs"].items()} == {
        program.name: len(program.tests) for program in library}
    config = json.loads((folder / "config.json").read_text())
    known = {entry["name"]: entry for entry in config["known_programs"]}
    assert set(known) == {"subtract", "negate"}
    assert known["subtract"]["inputs"] == {"a": [0, 1], "b": [1, 1]} and known["subtract"]["outputs"] == {
        "diff": [2, 1]}
    calls = [(known["subtract"]["descriptions"][0], {"a": 1000, "b": 58}),
             (known["subtract"]["descriptions"][1], {"a": -4, "b": 9}),
             (known["negate"]["descriptions"][0], {"x": 77})]
    assert run_client(folder, calls, tmp_path) == [
        ["subtract", "halt", {"diff": 942}], ["subtract", "halt", {"diff": -13}], ["negate", "halt", {"result": -77}]]


def test_a_failing_declared_test_stops_before_training_naming_the_actual_outputs(tmp_path, capsys):
    programs = copy_programs(tmp_path / "wrong", "negate")
    source = (programs / "negate.asm").read_text().replace("; test: x=-12 -> result=12", "; test: x=-12 -> result=13")
    (programs / "negate.asm").write_text(source)
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--programs", str(programs), "--output_dir", str(tmp_path / "out")] + TINY)
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "negate" in message and "line 7" in message, message
    assert "12" in message and "13" in message  # the actual and the expected output
    assert not (tmp_path / "out" / "model.safetensors").exists()  # no training step was taken


@pytest.mark.slow
def test_teaching_the_checkpoint_one_more_program_keeps_the_old_ones(built, tmp_path):
    _, folder, _ = built
    more = copy_programs(tmp_path / "more", "double")
    results = run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                        "--output_dir", str(tmp_path / "taught")] + TEACH)
    assert results["metrics"]["trained phrasings decoded exactly"] == [6, 6]
    assert results["metrics"]["trained phrasings run right"] == [6, 6]
    old_config = json.loads((folder / "config.json").read_text())
    config = json.loads((tmp_path / "taught" / "config.json").read_text())
    assert (config["data_memory_size"], config["max_program_length"]) == (4, 4)  # k and L kept
    # The old entries exactly as declared, the new one appended.
    assert config["known_programs"][:2] == old_config["known_programs"]
    assert config["known_programs"][2]["name"] == "double"
    # New description words got new vocabulary rows; the old words kept their ids.
    old_vocab = json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]
    vocab = json.loads((tmp_path / "taught" / "tokenizer.json").read_text())["model"]["vocab"]
    assert {word: vocab[word] for word in old_vocab} == old_vocab
    assert {"double", "twice"} <= set(vocab) - set(old_vocab)
    assert config["text_config"]["vocab_size"] == len(vocab)
    known = {entry["name"]: entry for entry in config["known_programs"]}
    calls = [(known["subtract"]["descriptions"][0], {"a": 5, "b": 8}), (known["negate"]["descriptions"][1],
                                                                        {"x": -6}),
             (known["double"]["descriptions"][0], {"x": 123})]
    assert run_client(tmp_path / "taught", calls, tmp_path) == [
        ["subtract", "halt", {"diff": -3}], ["negate", "halt", {"result": 6}], ["double", "halt", {"twice": 246}]]


@pytest.mark.slow
def test_teaching_refuses_a_program_that_does_not_fit_the_checkpoint(built, tmp_path, capsys):
    _, folder, _ = built
    more = copy_programs(tmp_path / "more", "minimum")  # 6 data cells: the checkpoint has k = 4
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                  "--output_dir", str(tmp_path / "taught")] + TEACH)
    assert exit_info.value.code == 2
    assert "minimum" in capsys.readouterr().err


@pytest.mark.slow
def test_teaching_refuses_a_name_or_description_the_checkpoint_already_knows(built, tmp_path, capsys):
    _, folder, _ = built
    more = copy_programs(tmp_path / "more", "copy")
    source = (more / "copy.asm").read_text().replace("; name: copy", "; name: negate")
    (more / "copy.asm").write_text(source)
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                  "--output_dir", str(tmp_path / "a")] + TEACH)
    assert exit_info.value.code == 2 and "already knows a program of that name" in capsys.readouterr().err
    # Another case and spacing: the same words to the tokenizer.
    source = (EXAMPLES / "copy.asm").read_text().replace("; description: repeat x",
                                                         "; description: NEGATE  the number")
    (more / "copy.asm").write_text(source)
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                  "--output_dir", str(tmp_path / "b")] + TEACH)
    assert exit_info.value.code == 2 and "of the known program 'negate'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_taught_checkpoint_that_is_not_exact_exits_1(built, tmp_path):
    _, folder, _ = built
    more = copy_programs(tmp_path / "more", "copy")
    with pytest.raises(SystemExit) as exit_info:
        run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                  "--output_dir", str(tmp_path / "taught"), "--max_steps", "1"] + TEACH)
    assert str(exit_info.value.code).startswith("error: the build did not memorize every trained phrasing exactly")


@pytest.mark.slow
def test_a_memorization_checkpoint_is_taught_a_named_program(memorized, tmp_path):
    # Its random programs (named by program tokens, without named cells) are rehearsed from its known_programs and
    # checked by their exact decoding; the new one runs by name on named inputs.
    folder, programs = memorized
    more = copy_programs(tmp_path / "more", "negate")
    results = run_program_library.main(["--model_name_or_path", str(folder), "--programs", str(more),
                                        "--output_dir", str(tmp_path / "taught"), "--learning_rate", "5e-4",
                                        "--per_device_train_batch_size", "12", *TEACH[4:]])
    assert results["metrics"]["trained phrasings decoded exactly"] == [len(programs) + 2, len(programs) + 2]
    config = json.loads((tmp_path / "taught" / "config.json").read_text())
    assert [entry["name"] for entry in config["known_programs"]] == [*programs, "negate"]
    negate = config["known_programs"][-1]["descriptions"][0]
    token = next(iter(programs))
    outputs = run_client(tmp_path / "taught", [(negate, {"x": 31})], tmp_path)
    assert outputs == [["negate", "halt", {"result": -31}]]
    pipe = pipeline("subleq-execution", model=str(tmp_path / "taught"), trust_remote_code=True)
    assert pipe.decode_program(token) == programs[token]
