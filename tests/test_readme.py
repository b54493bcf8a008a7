"""README.md and examples/README.md run as written: every ```bash command and every ```python block, found
automatically (a new block is covered without touching this file, or fails until the table below says how to run
it).

How blocks are run (all in one sandbox folder whose `examples/`, `data/` and `bench/` link to the checkout, so that
the commands' relative paths and their `runs/...` outputs work as from the repository root; Hub offline):

- Shell commands, one per line (`\\` continuations joined, comments dropped), matched in order against
  `COMMAND_RULES`:
  - `run`: run exactly as written (the memorization main job, ~1 minute, and every tiny or sample command);
  - `parse`: the paper-scale commands (tens of minutes, or Hub data): their script's `parse_args` must accept the
    arguments as written, and a launcher's `--config_file` must load; they are not trained here;
  - `setup`: the set-up commands: `pip install` lines are what `.ci/run` executes on a fresh clone; the command after
    the last `&&` is matched again (the main job runs, the test command is this suite).
  A command that matches no rule fails `test_every_shell_command_has_a_rule`.
- Python blocks are executed; `FIXTURES` maps a checkpoint folder a block names to the command that builds it (the
  main job for `runs/memorize`, tiny runs on the committed SST-2 sample for the SST-2 checkpoints). What a block says
  it prints is checked: the trailing comment of a `print(...)` line is its expected output, and a comment that starts
  like a value (`{`, `[`, `(`, a quote or a digit) after a bare expression, on its line or the next, is the expected
  repr; `...` in either stands for anything.
"""

import ast
import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "examples/README.md"]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
SAMPLE = "--train_file data/sst2_sample/train.tsv --validation_file data/sst2_sample/dev.tsv"

# (pattern on the whole command, how it is tested). First match wins.
COMMAND_RULES = [
    (r"^python -m venv \.venv && ", "setup"),
    (r"^python -m pytest -q$", "suite"),
    # The paper-scale runs: Table 1 (about 20 minutes for N = 16), the SST-2 reproductions (GLUE from the Hub, about
    # 20 minutes each), GPU launch configurations.
    (r"--recipe paper|--num_programs (16|32|64|128) --seed", "parse"),
    (r"run_(soft_instruction|soft_imperative|sequence_classification)\.py --output_dir \S+ --seed", "parse"),
    (r"--config_file examples/accelerate_configs/", "parse"),
    # The release checkpoint (BERT 4 x 256 on the whole program library, about 20 minutes or more).
    (r"build_synthesizer_bert_256\.py --output_dir runs/synthesizer-bert-256 ", "parse"),
    (r".", "run"),
]


def blocks(language: str) -> list[tuple[str, str]]:
    """(where, code) of every fenced block in `language` of the two READMEs."""
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for match in BLOCK.finditer(text):
            if match.group(1) == language:
                found.append((f"{doc}:{text[:match.start()].count(chr(10)) + 1}", match.group(2)))
    return found


def shell_commands() -> list[tuple[str, str]]:
    """(where, command) of every command line of the bash blocks."""
    commands = []
    for where, code in blocks("bash"):
        for line in code.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append((where, " ".join(line.split())))
    return commands


def rule_of(command: str) -> str:
    return next(how for pattern, how in COMMAND_RULES if re.search(pattern, command))


def setup_tail(command: str) -> str:
    """The command a set-up line runs after installing."""
    return command.rsplit(" && ", 1)[1]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    for name in ("examples", "data", "bench"):
        (folder / name).symlink_to(ROOT / name)
    return folder


def sandbox_env(sandbox) -> dict:
    # The launchers and `python` of this environment, offline; one thread each (the machine may be shared).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, PATH=path, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1",
                HF_HOME=str(sandbox / "hf_home"), PYTHONPATH=str(ROOT))


def run_command(command: str, sandbox) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-c", command], cwd=sandbox, env=sandbox_env(sandbox), capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


# Checkpoints that Python blocks load, and the command that builds each one first.
MAIN_JOB = "python examples/run_program_memorization.py --output_dir runs/memorize"
# Tiny runs that fit the README's example sentences (repeated in a training file made from the committed sample),
# so that their outputs are the ones the README shows.
SST2_FIT = ("--train_file runs/fit/train.tsv --validation_file runs/fit/train.tsv --tokenizer_name "
            "data/sst2_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 --num_attention_heads 2 "
            "--intermediate_size 64 --num_train_epochs 30 --learning_rate 1e-2 --per_device_train_batch_size 16 "
            "--eval_steps 32 --save_steps 32 --dropout 0 --pooling mean --label_smoothing 0 --seed 3")
FIXTURES = {
    "runs/memorize": MAIN_JOB,
    "runs/soft-instruction": f"python examples/run_soft_instruction.py --output_dir runs/soft-instruction {SST2_FIT}",
    "runs/soft-imperative": f"python examples/run_soft_imperative.py --output_dir runs/soft-imperative {SST2_FIT} "
                            "--num_programs 4 --program_length 2",
}
FIT_SENTENCES = [("a gorgeous, witty film", 1), ("a dull, lifeless film", 0), ("a dull, lifeless mess", 0)]


def write_fit_file(sandbox) -> None:
    """The first 32 sample rows plus the README's sentences, 8 times each."""
    lines = (ROOT / "data" / "sst2_sample" / "train.tsv").read_text().splitlines()
    rows = lines[:33] + [f"{sentence} \t{label}" for sentence, label in FIT_SENTENCES for _ in range(8)]
    (sandbox / "runs" / "fit").mkdir(parents=True, exist_ok=True)
    (sandbox / "runs" / "fit" / "train.tsv").write_text("\n".join(rows) + "\n")


def build_fixtures(code: str, sandbox) -> None:
    for folder, command in FIXTURES.items():
        if f'"{folder}"' in code and not (sandbox / folder / "model.safetensors").exists():
            write_fit_file(sandbox)
            run_command(command, sandbox)


# Repo ids that Python blocks load by name: a tiny build (the README's example program, and a min_margin that refuses
# every unseen description) placed in the sandbox's Hugging Face cache, which the block then reads offline.
HUB_FIXTURES = {
    "org/synthesizer-bert-256": (
        "runs/release-tiny",
        "python examples/build_synthesizer_bert_256.py --output_dir runs/release-tiny --programs multiply,add "
        "--data_memory_size 8 --max_program_length 6 --hidden_size 64 --num_hidden_layers 2 --num_attention_heads 2 "
        "--intermediate_size 128 --label_smoothing 0 --instruction_repeats 1 --per_device_train_batch_size 8 "
        "--learning_rate 3e-3 --warmup_steps 0 --num_train_epochs 100 --eval_steps 20 --save_strategy no "
        "--num_inputs 20 --min_margin 1000 --hub_model_id org/synthesizer-bert-256 --seed 0",
    ),
}


def build_hub_fixtures(code: str, sandbox, monkeypatch) -> None:
    from huggingface_hub import constants
    from test_release_checkpoint import place_in_hub_cache

    for repo_id, (folder, command) in HUB_FIXTURES.items():
        if f'"{repo_id}"' in code:
            if not (sandbox / folder / "model.safetensors").exists():
                run_command(command, sandbox)
            place_in_hub_cache(sandbox / folder, sandbox / "hf_home", repo_id)
            monkeypatch.setattr(constants, "HF_HUB_CACHE", str(sandbox / "hf_home" / "hub"))


# ---------------------------------------------------------------------------------------------------- shell commands


def test_every_shell_command_has_a_rule_and_the_setup_commands_are_what_ci_runs():
    commands = [command for _, command in shell_commands()]
    assert len(commands) >= 10
    setups = [command for command in commands if rule_of(command) == "setup"]
    assert [setup_tail(command) for command in setups] == [MAIN_JOB, "python -m pytest -q"]
    for command in setups:  # .ci/run executes the second one on a fresh clone, and its install is the first's
        assert command.startswith("python -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && ")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^python -m venv .venv .*pytest' README.md" in ci


RUN_COMMANDS = [(where, command) for where, command in shell_commands()
                if rule_of(command) == "run" or (rule_of(command) == "setup" and setup_tail(command) == MAIN_JOB)]
PARSE_COMMANDS = [(where, command) for where, command in shell_commands() if rule_of(command) == "parse"]


@pytest.mark.parametrize("where, command", RUN_COMMANDS, ids=[w for w, _ in RUN_COMMANDS])
def test_command_runs_as_written(where, command, sandbox):
    if rule_of(command) == "setup":
        command = setup_tail(command)  # the install part is .ci/run's
    if (sandbox / "runs" / "memorize" / "memorization_results.json").exists() and command == MAIN_JOB:
        pytest.skip("already run as a fixture of a Python block")
    result = run_command(command, sandbox)
    check_outputs(command, result, sandbox)


def check_outputs(command: str, result, sandbox) -> None:
    """What the README says of these commands, beyond a zero exit status."""
    words = shlex.split(command)
    output_dir = sandbox / words[words.index("--output_dir") + 1] if "--output_dir" in words else None
    if "run_program_memorization.py" in command:
        results = json.loads((output_dir / "memorization_results.json").read_text())
        assert results["final_exact_match"] == 1.0
        lines = result.stdout.splitlines()
        assert lines[0].startswith("recipe "), lines[0]  # the settings, first
        assert "the same as the true program" in result.stdout and lines[-1].startswith("memorized all")
        if "--num_processes 2" in command or "--nproc_per_node 2" in command:
            assert results["world_size"] == 2
    if "--num_processes 2" in command and "run_soft" in command:
        assert json.loads((output_dir / "sst2_results.json").read_text())["world_size"] == 2


def script_module(path: Path):
    # Reuse a script another test already imported: a second module object would make its argument classes differ
    # from the ones the Trainer pickles into training_args.bin (`Can't pickle ...: it's not the same object`).
    loaded = sys.modules.get(path.stem)
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path.resolve():
        return loaded
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("where, command", PARSE_COMMANDS, ids=[w for w, _ in PARSE_COMMANDS])
def test_paper_scale_command_parses_as_written(where, command):
    words = shlex.split(command)
    script = next(i for i, word in enumerate(words) if word.endswith(".py"))
    if "--config_file" in words[:script]:
        from accelerate.commands.config.config_args import load_config_from_file

        load_config_from_file(str(ROOT / words[words.index("--config_file") + 1]))
    parsed = script_module(ROOT / words[script]).parse_args(words[script + 1:])
    assert parsed[-1].output_dir == words[words.index("--output_dir") + 1]


# ------------------------------------------------------------------------------------------------------ python blocks

PYTHON_BLOCKS = blocks("python")
VALUE_START = re.compile(r"^[\[{('\"\d-]|^(True|False|None|tensor)\b")


def expected_outputs(code: str) -> dict[int, tuple[str, str]]:
    """{last line of a statement: ("print" or "repr", expected text)} from the block's comments."""
    comments = {token.start[0]: (token.string[1:].strip(), token.line.strip().startswith("#"))
                for token in tokenize.generate_tokens(io.StringIO(code).readline) if token.type == tokenize.COMMENT}
    expected = {}
    for statement in ast.parse(code).body:
        if not isinstance(statement, ast.Expr):
            continue
        is_print = isinstance(statement.value, ast.Call) and getattr(statement.value.func, "id", "") == "print"
        trailing = comments.get(statement.end_lineno)
        following = comments.get(statement.end_lineno + 1)
        if trailing and not trailing[1] and (is_print or VALUE_START.match(trailing[0])):
            expected[statement.end_lineno] = ("print" if is_print else "repr", trailing[0])
        elif not is_print and following and following[1] and VALUE_START.match(following[0]):
            expected[statement.end_lineno] = ("repr", following[0])
    return expected


def matches(pattern: str, text: str) -> bool:
    """`...` in the README's pattern stands for anything."""
    regex = ".*?".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, text.strip(), re.S) is not None


def run_block(code: str, where: str) -> dict[int, str]:
    """Executes `code` statement by statement; returns {last line: what it printed, or the repr of its value}."""
    namespace, seen = {"__name__": "__readme__"}, {}
    for statement in ast.parse(code).body:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), where, "eval"), namespace)
            else:
                exec(compile(ast.Module([statement], []), where, "exec"), namespace)
                value = None
        is_print = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and getattr(
            statement.value.func, "id", "") == "print"
        seen[statement.end_lineno] = printed.getvalue() if is_print else repr(value)
    return seen


@pytest.mark.parametrize("where, code", PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block_runs_and_prints_what_it_says(where, code, sandbox, monkeypatch):
    build_fixtures(code, sandbox)
    build_hub_fixtures(code, sandbox, monkeypatch)
    monkeypatch.chdir(sandbox)
    seen = run_block(code, where)
    for line, (_, expected) in expected_outputs(code).items():
        assert matches(expected, seen[line]), f"{where}, line {line}: shows {expected!r}, gives {seen[line]!r}"


def test_output_comments_are_found():
    code = 'x = 1\nprint(x, 2)  # 1 2\nx  # 1\n[x]\n# [1]\nprint(x)  # ...\n{"a": 1}  # a dict, not a value\n'
    assert expected_outputs(code) == {2: ("print", "1 2"), 3: ("repr", "1"), 4: ("repr", "[1]"), 6: ("print", "...")}
    assert matches("{..., 'steps': 1, ..., 'label': 'negative'}", "{'memory': [0], 'steps': 1, 'a': 2, "
                   "'label': 'negative'}")
    assert not matches("12 4 halt", "12 5 halt")


# ------------------------------------------------------------------------------------------------ the whole checkout


def test_no_absolute_machine_paths_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"(?<![\w.])/(work|home|root|Users|mnt|tmp)/[\w.-]+/")
    for name in files:
        path = ROOT / name
        if path.is_file() and path.suffix in {".py", ".md", ".txt", ".json", ".yaml", ".yml", ".cfg", ".toml", ""}:
            found = pattern.search(path.read_text(errors="ignore"))
            assert found is None, f"{name}: {found.group(0)}"


def test_every_example_prints_its_help():
    """`--help` opens with the script's summary (argparse formats help strings with %: an unescaped "100%" in a
    field's help breaks it)."""
    examples = sorted((ROOT / "examples").glob("run_*.py"))
    assert len(examples) >= 5
    for script in examples:
        result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "--output_dir" in result.stdout, (script.name, result.stderr[-500:])
