"""The README's quick start runs verbatim, and its two set-up commands stay what CI runs."""

import contextlib
import io
import re
from pathlib import Path


README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_quick_start_runs():
    quick_start = README.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", quick_start, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[-1] == "12 4 halt"
    assert "torch.Size([1, 8]) torch.Size([1, 5])" in lines[0]


def test_two_setup_commands():
    commands = re.findall(r"```bash\n(python -m venv .venv[^\n]*)\n```", README)
    assert len(commands) == 2
    assert "examples/run_program_memorization.py" in commands[0]
    assert commands[1].endswith("python -m pytest -q")
