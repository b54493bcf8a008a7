"""The README's quick start runs verbatim, and its two set-up commands stay what CI runs."""

import contextlib
import io
import re
from pathlib import Path


README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def run_first_python_block(section: str) -> list[str]:
    code = re.search(r"```python\n(.*?)```", README.split(section, 1)[1], re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    return printed.getvalue().splitlines()


def test_quick_start_runs():
    lines = run_first_python_block("## Quick start")
    assert lines[-1] == "12 4 halt"
    assert "torch.Size([1, 8]) torch.Size([1, 5])" in lines[0]


def test_assembler_example_runs():
    assert run_first_python_block("## Writing programs") == ["{'product': 42}"]


def test_two_setup_commands():
    commands = re.findall(r"```bash\n(python -m venv .venv[^\n]*)\n```", README)
    assert len(commands) == 2
    assert "examples/run_program_memorization.py" in commands[0]
    assert commands[1].endswith("python -m pytest -q")


def test_every_example_prints_its_help():
    """argparse formats help strings with %: an unescaped "100%" in a field's help breaks `--help`."""
    import subprocess
    import sys

    examples = sorted((Path(__file__).resolve().parent.parent / "examples").glob("run_*.py"))
    assert len(examples) >= 5
    for script in examples:
        result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "--output_dir" in result.stdout, (script.name, result.stderr[-500:])
