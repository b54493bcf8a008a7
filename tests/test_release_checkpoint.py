"""The release checkpoint `org/synthesizer-bert-256` loads by name and runs its programs on named inputs.

A tiny build of `examples/build_synthesizer_bert_256.py` (two library programs, k = L = 4, a small backbone) is
pushed to a stand-in for the Hub; what was uploaded is placed in a Hugging Face cache in the layout huggingface_hub
reads offline. A process that has only torch and transformers (`HF_HUB_OFFLINE=1`) then loads it by its repo id,
runs every program on random named inputs, is refused an unknown description, and runs the model card's code as
written; the answers are checked against the programs' Python references.
"""

import ast
import json
import random
import re
import shutil
from pathlib import Path

import build_synthesizer_bert_256 as build  # examples/ is on pytest's pythonpath (pyproject.toml)
import pytest
import transformers
from conftest import run_without_package
from huggingface_hub import ModelCard, constants
from test_model_cards import FakeHub, card_code, check_hub_repository

from modeling_synthesizer.program_library import load_program


REPO_ID = "org/synthesizer-bert-256"
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # any 40 hex digits: refs/main names the snapshot
PROGRAMS = ["add", "absolute"]
# add (4 cells) and absolute (3 cells) are 3 instructions each: k = L = 4 also memorizes one HALT padding row per
# phrasing. About 100 optimizer steps. `--min_margin 1000` makes the opt-in matching of the report refuse every unseen
# description: over 4 instructions it is confident of one program for any text. The checkpoint itself refuses them
# whatever the flag: it runs only its trained descriptions.
TINY_RELEASE = [
    "--programs", ",".join(PROGRAMS), "--data_memory_size", "4", "--max_program_length", "4",
    "--hidden_size", "64", "--num_hidden_layers", "2", "--num_attention_heads", "2", "--intermediate_size", "128",
    "--per_device_train_batch_size", "8", "--instruction_repeats", "1", "--warmup_steps", "0",
    "--learning_rate", "3e-3",
    "--label_smoothing", "0",
    "--num_train_epochs", "100", "--eval_steps", "20", "--save_strategy", "no", "--logging_strategy", "no",
    "--num_inputs", "20", "--min_margin", "1000", "--disable_tqdm", "true", "--log_level", "warning", "--seed", "0",
    "--hub_model_id", REPO_ID,
]
UNKNOWN = "translate this sentence into French"


def place_in_hub_cache(folder: Path, hf_home: Path, repo_id: str) -> Path:
    """Copies the repository `folder` (without its `checkpoint-*`) into `hf_home`'s hub cache as `repo_id` at `COMMIT`,
    unless it is there already; returns the snapshot."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    if not snapshot.is_dir():
        shutil.copytree(folder, snapshot, ignore=shutil.ignore_patterns("checkpoint-*"))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)  # no newline, as huggingface_hub writes it
    return snapshot


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(the build's results, the pushed repository, the snapshot in the cache, the work folder whose hf_home is
    that cache)."""
    workdir = tmp_path_factory.mktemp("release")
    hub = FakeHub(workdir / "fake_hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transformers.trainer, "hf_api", lambda: hub)
        patch.setattr(constants, "HF_HUB_OFFLINE", False)  # the script refuses to push offline
        results = build.main(TINY_RELEASE + ["--output_dir", str(workdir / "build"), "--push_to_hub", "true"])
    assert {upload["repo_id"] for upload in hub.uploads} == {REPO_ID}
    pushed = hub.root / REPO_ID
    snapshot = place_in_hub_cache(pushed, workdir / "hf_home", REPO_ID)
    return results, pushed, snapshot, workdir


def test_tiny_build_memorizes_its_programs_and_publishes_a_hub_repository(release):
    results, pushed, _, _ = release
    assert results["training"]["final_exact_match"] == 1.0
    assert results["metrics"]["trained phrasings decoded exactly"] == [8, 8]
    assert results["metrics"]["trained phrasings run right"] == [8, 8]
    # Each trained phrasing ran every declared test of its program and the 20 random inputs, all right.
    runs = {name: len(load_program(name).tests) + 20 for name in PROGRAMS}
    total = sum(4 * count for count in runs.values())
    assert results["metrics"]["right outputs, trained phrasings"] == [total, total]
    assert {name: entry["runs"] for name, entry in results["report"]["programs"].items()} == runs
    assert results["metrics"]["unknown descriptions refused"][0] == len(build.UNKNOWN_DESCRIPTIONS)
    # The command as run, with the thread count when the caller's environment sets one.
    assert re.match(r"(OMP_NUM_THREADS=\S+ )?python examples/build_synthesizer_bert_256\.py --programs add,absolute ",
                    results["command"])
    check_hub_repository(pushed)
    assert not any(path.name.startswith("checkpoint-") for path in pushed.iterdir())
    config = json.loads((pushed / "config.json").read_text())
    assert config["min_margin"] is None and config["min_match_confidence"] is None  # trained descriptions only
    known = {program["name"]: program for program in config["known_programs"]}
    assert list(known) == PROGRAMS
    for name, program in known.items():
        assembled = load_program(name).assemble(4, 4)
        assert program["inputs"] == {key: list(cells) for key, cells in assembled.inputs.items()}
        assert program["outputs"] == {key: list(cells) for key, cells in assembled.outputs.items()}
        assert program["descriptions"] == list(load_program(name).descriptions[:4])


def test_card_metadata_holds_the_results_as_model_index(release):
    results, pushed, _, _ = release
    card = ModelCard.load(pushed / "README.md")  # parses the YAML offline
    assert card.data.model_name == "synthesizer-bert-256"
    reported = {result.metric_name: result.metric_value for result in card.data.eval_results}
    assert reported == {name: round(count / total, 4) for name, (count, total) in results["metrics"].items()}
    assert {result.task_type for result in card.data.eval_results} == {"subleq-execution"}
    assert "| add | \"add two numbers\" | `a` (1), `b` (1) | `sum` (1) | 3 |" in card.text


# Run after the card's code, in the same process (one interpreter start and model load for both): the card's imports
# and `run` stay, CASES and UNKNOWN are prepended.
CHECK_BY_NAME = """
import json

print(CHECKS_START)
model = AutoModel.from_pretrained("org/synthesizer-bert-256", trust_remote_code=True)
print(json.dumps({"module": type(model).__module__, "programs": len(model.config.known_programs)}))
run = pipeline("subleq-execution", model="org/synthesizer-bert-256", trust_remote_code=True)
cases = json.loads(CASES)
results = run([{"description": description, "inputs": inputs} for description, inputs in cases], batch_size=8)
print(json.dumps([[result["outputs"], result["halt_reason"], result["program"]] for result in results]))
try:
    run(cases[0][0])
    print(json.dumps("ran"))
except ValueError as error:
    print(json.dumps([type(error).__name__, str(error)]))
try:
    run(UNKNOWN)
    print(json.dumps("ran"))
except ValueError as error:
    print(json.dumps([type(error).__name__, str(error)]))
"""
CHECKS_START = "--- checks ---"


def random_cases(count: int) -> tuple[list, list]:
    """`count` random inputs of each program, run by its first description, and what each run must give."""
    rng = random.Random(0)
    cases, expected = [], []
    for name in PROGRAMS:
        program = load_program(name)
        for _ in range(count):
            inputs = program.random_inputs(rng)
            cases.append([program.descriptions[0], inputs])
            expected.append([program.reference(**inputs), "halt", name])
    return cases, expected


@pytest.fixture(scope="module")
def offline_run(release):
    """(the card's code, what it printed, what the checks printed, what they must print): in a process with only
    torch and transformers, offline, whose HF_HOME is the cache that holds the release."""
    _, _, snapshot, workdir = release
    code, named = card_code(snapshot)
    assert named == REPO_ID
    cases, expected = random_cases(10)
    preamble = f"CASES = {json.dumps(json.dumps(cases))}\nUNKNOWN = {UNKNOWN!r}\nCHECKS_START = {CHECKS_START!r}\n"
    printed = run_without_package(preamble + code + "\n" + CHECK_BY_NAME, workdir)
    card_lines, _, checks = printed.partition(CHECKS_START + "\n")
    return code, card_lines.splitlines(), [json.loads(line) for line in checks.splitlines()], expected


def test_loads_by_name_offline_and_runs_every_program_on_named_inputs(offline_run):
    _, _, (loaded, ran, no_inputs, refused), expected = offline_run
    # The checkpoint's own code from the cache, not this package (which the process cannot import).
    assert loaded["programs"] == 2
    assert loaded["module"].startswith("transformers_modules.org.synthesizer_hyphen_bert_hyphen_256.")
    assert ran == expected
    # Without inputs (and without a memory of its own), a program that declares inputs is refused, naming them.
    assert no_inputs[0] == "ValueError" and no_inputs[1].startswith("program 'add' needs inputs 'a', 'b', not given")
    assert refused[0] == "RunRefused" and f"refused to run {UNKNOWN!r}" in refused[1]


def test_card_code_runs_verbatim_by_name_and_prints_what_it_says(offline_run):
    code, lines, _, _ = offline_run
    assert lines[0] == "2 programs: add, absolute"
    runs, refusal = lines[1:-1], lines[-1]
    assert len(runs) == len(PROGRAMS)
    for line, name in zip(runs, PROGRAMS):
        program = load_program(name)
        left, _, outputs = line.rpartition(" -> ")
        description, _, inputs = left.partition(" {")
        inputs = ast.literal_eval("{" + inputs)
        assert description == program.descriptions[0]
        assert ast.literal_eval(outputs) == program.reference(**inputs)
        assert f"# -> {program.reference(**inputs)}" in code  # the card says what it prints
    assert refusal.startswith(f"refused: refused to run {build.UNKNOWN_DESCRIPTIONS[0]!r}")


def test_a_build_below_100_percent_exits_with_an_error_and_pushes_nothing(tmp_path):
    hub = FakeHub(tmp_path / "fake_hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transformers.trainer, "hf_api", lambda: hub)
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        with pytest.raises(SystemExit) as exit_info:
            build.main(TINY_RELEASE + ["--output_dir", str(tmp_path / "build"), "--push_to_hub", "true",
                                       "--max_steps", "1", "--num_inputs", "2"])
    assert str(exit_info.value.code).startswith("error: the build did not memorize every trained phrasing exactly")
    assert hub.uploads == []
    assert json.loads((tmp_path / "build" / build.RESULTS_FILE).read_text())["training"]["global_step"] == 1
