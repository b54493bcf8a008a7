#!/usr/bin/env python
"""The default recipe (`quick`) on problems of every size from N x L = 2 x 8 to its own 8 x 32: each run with the
script's default settings but for the problem's size (and, in a second column, a smaller backbone), to show that
the recipe's step budget (120 epochs, at least 480 optimizer steps) memorizes them all. A problem of few rows has few
steps per epoch, so an epoch count alone would shrink the budget with the problem.

Each run is `python examples/run_program_memorization.py` in its own process, as a user runs it; the bench reports
its exit status, the step of the first 100% evaluation, the budget, the wall time and the CPU time of the process (the
machine may be shared: CPU time is what the run itself cost). Results: `<results_dir>/recipe_grid.{json,md}`.

    OMP_NUM_THREADS=1 python bench/recipe_grid.py --work_dir runs/recipe-grid
"""

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "run_program_memorization.py"
# N x L, from the smallest to the recipe's own problem.
SIZES = [(2, 8), (2, 16), (2, 32), (4, 8), (4, 16), (4, 32), (8, 8), (8, 16), (8, 32)]
BACKBONES = {
    "default (BERT 2 x 128, k = 256)": [],
    "small (BERT 2 x 64, k = 16)": ["--data_memory_size", "16", "--hidden_size", "64", "--num_hidden_layers", "2",
                                    "--num_attention_heads", "2", "--intermediate_size", "128"],
}


def machine() -> str:
    """The CPU model and core count, and the load when the bench started (a shared machine's runs are slower)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return f"{model}, {os.cpu_count()} cores, load average at start {load}; {platform.platform()}"


def run(argv: list[str], output_dir: Path) -> dict:
    """One run of the script in a fresh process (a finished run in `output_dir` is started over): its results, exit
    status, wall time and CPU time (user + system of the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, str(SCRIPT), *argv, "--output_dir", str(output_dir), "--overwrite_output_dir",
               "--disable_tqdm", "true", "--log_level", "warning"]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    results_path = output_dir / "memorization_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    budget = re.search(r"at most (\d+) steps", completed.stdout)  # the settings line the script prints first
    return {
        "exit_status": completed.returncode,
        "last_line": (completed.stdout.strip().splitlines() or [completed.stderr.strip()[-300:]])[-1],
        "steps_to_100": results.get("steps_to_100"),
        "global_step": results.get("global_step"),
        "budget_steps": int(budget.group(1)) if budget else None,
        "num_train_epochs": results.get("num_train_epochs"),
        "final_exact_match": results.get("final_exact_match"),
        "train_runtime_s": results.get("train_runtime_s"),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", default="runs/recipe-grid", help="Where the runs write their output folders.")
    parser.add_argument("--results_dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--seeds", default="42", help="Comma-separated seeds (42: the script's default).")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    work_dir = Path(args.work_dir)
    report = {
        "command": "OMP_NUM_THREADS=1 python bench/recipe_grid.py " + " ".join(argv if argv is not None
                                                                              else sys.argv[1:]),
        "machine": machine(),
        "runs": [],
    }
    start = time.perf_counter()
    for backbone, flags in BACKBONES.items():
        for num_programs, program_length in SIZES:
            for seed in seeds:
                size = ["--num_programs", str(num_programs), "--program_length", str(program_length)]
                seeded = [] if seed == 42 else ["--seed", str(seed)]
                folder = work_dir / f"{'small' if flags else 'default'}-{num_programs}x{program_length}-seed{seed}"
                entry = {"backbone": backbone, "num_programs": num_programs, "program_length": program_length,
                         "seed": seed, "flags": size + flags + seeded, **run(size + flags + seeded, folder)}
                report["runs"].append(entry)
                print(json.dumps(entry), flush=True)
    report["wall_seconds"] = round(time.perf_counter() - start, 1)
    report["all_reach_100"] = all(entry["exit_status"] == 0 and entry["final_exact_match"] == 1.0
                                  for entry in report["runs"])
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "recipe_grid.json").write_text(json.dumps(report, indent=2) + "\n")
    (results_dir / "recipe_grid.md").write_text(markdown(report))
    return report


def markdown(report: dict) -> str:
    """The report: one row per run."""
    reached = sum(entry["exit_status"] == 0 and entry["final_exact_match"] == 1.0 for entry in report["runs"])
    lines = [
        "# The default recipe on problems of every size",
        "",
        ("`examples/run_program_memorization.py` with its defaults (`--recipe quick`: batch 32, lr 3e-3, 120 epochs "
         "and at least 480 optimizer steps, stop at the first 100% instruction exact match) but for N x L and, in the "
         "second half, a smaller backbone. The budget is the step a run would stop at without reaching 100%."),
        "",
        f"{reached}/{len(report['runs'])} runs reached 100% instruction exact match (exit status 0).",
        "",
        "| backbone | N x L | seed | exit | steps to 100% | budget (steps) | epochs | wall s | CPU s | train s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in report["runs"]:
        lines.append(
            f"| {entry['backbone']} | {entry['num_programs']} x {entry['program_length']} | {entry['seed']} | "
            f"{entry['exit_status']} | {entry['steps_to_100']} | {entry['budget_steps']} | "
            f"{entry['num_train_epochs']} | "
            f"{entry['wall_s']:.1f} | {entry['cpu_s']:.1f} | {entry['train_runtime_s']} |")
    lines += ["", "Command:", "", f"    {report['command']}", "",
              (f"Machine: {report['machine']}. Total wall time {report['wall_seconds']:.0f} s. The machine is shared: "
               "wall times vary with its load; CPU time (user + system of each run's process) is the run's own cost."),
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    report = main()
    sys.exit(0 if report["all_reach_100"] else 1)
