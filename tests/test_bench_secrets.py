"""The bench scripts that copy a run's command and settings into `bench/results/` never commit a secret (a flag
such as `--hub_token` that a driver passes on to the example scripts, or a results file of an older run written
before the scripts redacted their own, is redacted again) or a path of the machine they ran on."""

import json
import sys
from pathlib import Path

import figure3  # bench/ is on pytest's pythonpath (pyproject.toml)
import program_library as bench_program_library
import pytest


ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "bench" / "results"
SECRET = "hf_bench_secret_1234"


def files_holding(folder: Path, text: str) -> list[str]:
    return [path.name for path in folder.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


def test_program_library_report_redacts_an_older_runs_secrets(tmp_path):
    results = json.loads((COMMITTED / "program_library.json").read_text())
    results["settings"]["hub_token"] = SECRET
    results["command"] += f" --hub_token {SECRET}"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / bench_program_library.RUN_FILE).write_text(json.dumps(results))

    bench_program_library.main(["--run_dir", str(run_dir), "--results_dir", str(tmp_path / "out")])

    assert files_holding(tmp_path / "out", SECRET) == []
    written = json.loads((tmp_path / "out" / "program_library.json").read_text())
    assert written["settings"]["hub_token"] == "<redacted>"
    assert written["command"].endswith("--hub_token '<redacted>'")
    assert written["programs"] == results["programs"]  # the rest is copied as it was


def test_program_library_report_without_a_run_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_program_library.main(["--run_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{tmp_path / bench_program_library.RUN_FILE} does not exist" in error


def test_figure3_records_its_commands_without_the_secrets_it_passes_on(tmp_path, monkeypatch):
    assert figure3.recorded(["examples/run_soft_instruction.py", "--hub_token", SECRET, "--seed", "1"]) == (
        "examples/run_soft_instruction.py --hub_token <redacted> --seed 1")
    assert figure3.recorded(["python", "bench/figure3.py", f"--hub_token={SECRET}"]) == (
        "python bench/figure3.py --hub_token=<redacted>")
    # Nor a path of this machine: the scripts' paths are recorded relative to the repository.
    assert figure3.recorded([str(ROOT / "examples" / "run_soft_instruction.py"), "--seed", "1"]) == (
        "examples/run_soft_instruction.py --seed 1")
    monkeypatch.setattr(sys, "argv", ["bench/figure3.py", "--seeds", "1", "--hub_token", SECRET])
    report = json.loads((COMMITTED / "figure3.json").read_text())
    figure3.save_report(report, tmp_path / "figure3.json", tmp_path)
    assert files_holding(tmp_path, SECRET) == []
    assert json.loads((tmp_path / "figure3.json").read_text())["command"].endswith("--hub_token <redacted>")
