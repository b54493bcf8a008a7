"""bench/compat.py's comparison and arguments, and the rule that lets transformers 4.x copy a checkpoint's code. The
version table itself (clean virtual environments) is `python bench/compat.py`; CI runs its oldest and newest rows."""

import re
import subprocess
import sys
from pathlib import Path

import compat  # bench/ is on pytest's pythonpath (pyproject.toml)
import pytest


ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "modeling_synthesizer"
# How transformers finds the files a code file needs: `from .x import` lines, indented or not.
RELATIVE_IMPORT = re.compile(r"^\s*from\s+\.(\S+)\s+import", re.MULTILINE)


def relative_imports(name: str) -> set[str]:
    return set(RELATIVE_IMPORT.findall((PACKAGE / f"{name}.py").read_text()))


def test_every_code_file_is_imported_directly_by_the_model_or_config_file():
    # transformers 4.x copies the code files of a local folder only one relative import deep from the file it loads
    # (configuration_synthesizer.py, then modeling_synthesizer.py), and then imports them all: a file that only the
    # pipeline imports would be missing (FileNotFoundError at AutoModel.from_pretrained).
    needed, queue = set(), ["modeling_synthesizer", "pipeline_synthesizer"]
    while queue:
        for name in relative_imports(queue.pop()) - needed:
            needed.add(name)
            queue.append(name)
    copied = relative_imports("modeling_synthesizer") | relative_imports("configuration_synthesizer")
    assert needed <= copied | {"modeling_synthesizer"}, f"import {sorted(needed - copied)} in modeling_synthesizer.py"


def test_floats_are_compared_to_a_tolerance_and_everything_else_exactly():
    expected = {"logits": [[0.5, -1.25]], "steps": 3, "reason": "halt", "error": None}
    assert compat.first_difference(expected, {"logits": [[0.50001, -1.25]], "steps": 3, "reason": "halt",
                                              "error": None}) is None
    assert compat.first_difference(expected, {**expected, "logits": [[0.51, -1.25]]}) == (
        "logits[0][0]: expected 0.5, got 0.51")
    assert compat.first_difference(expected, {**expected, "steps": 4}) == "steps: expected 3, got 4"
    assert "keys" in compat.first_difference(expected, {"steps": 3})
    assert "2 items expected, got 1" in compat.first_difference(expected, {**expected, "logits": [[0.5]]})
    assert compat.first_difference(expected, {**expected, "steps": 3.0}) is None  # an int that JSON made a float
    assert compat.first_difference(expected, {**expected, "steps": True}) is not None


def test_compare_names_the_check_that_failed_and_why():
    value = {"ok": True, "value": {"x": 1}}
    expected = {"checks": {name: value for name in compat.CHECKS}}
    got = {"checks": {**expected["checks"], "model": {"ok": False, "error": "ImportError: old"},
                      "traces": {"ok": True, "value": {"x": 2}}}}
    verdicts = compat.compare(expected, got)
    assert {name for name, verdict in verdicts.items() if not verdict["pass"]} == {"model", "traces"}
    assert verdicts["model"]["detail"] == "ImportError: old" and verdicts["traces"]["detail"] == "x: expected 1, got 2"
    assert all(not verdict["pass"] for verdict in compat.compare(expected, {"error": "exit 1"}).values())


@pytest.mark.parametrize("argv, match", [
    (["--versions", "latest"], "--versions: 'latest' is not a release number"),
    (["--checkpoints", "no/such/folder"], "--checkpoints: no/such/folder must hold release/ and memorized/"),
])
def test_bad_arguments_fail_before_anything_is_built(argv, match, tmp_path):
    ran = subprocess.run([sys.executable, str(ROOT / "bench" / "compat.py"), *argv, "--cache_dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2 and match in ran.stderr.splitlines()[-1]
    assert not any(tmp_path.iterdir())
