#!/usr/bin/env python
"""Table 1 of the paper: optimizer steps until a Synthesizer has memorized N random programs (100% exact match).

Each (row, seed, setting) is one run of `examples/run_program_memorization.py` in a subprocess; its
`memorization_results.json` gives `steps_to_100`. Two evaluation schedules are reported separately:

- `epoch`: evaluate on the training set once per epoch, as the authors did (the number comparable to Table 1);
- `steps`: evaluate every `--eval_every` optimizer steps, which finds the first 100% step more precisely.

Settings: `paper` (the authors': lr 1e-3, linear decay over 250 epochs, no warm-up, label smoothing 0.05, dropout
0.1), `tuned` and `tuned-smooth0.1` (ours, see SETTINGS below; the latter meets the half-the-paper target on every
row). Results merge into `bench/results/table1.json` (runs already there are kept), then `table1.md` and
`table1.png` are redrawn from all of it.

    python bench/table1.py --rows 16 32 64 128 --seeds 1 2 3 4 5 --settings paper tuned-smooth0.1 --eval_modes epoch
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAPER = {16: (1030.0, 74.0), 32: (1366.0, 95.0), 64: (1907.8, 153.0), 128: (2991.4, 72.0)}

SETTINGS = {
    "paper": [],
    # Same model, data and batch size; only optimization changes: a higher peak learning rate behind a 10% warm-up,
    # Adam's beta2 0.98 (steadier at that rate: with 0.999 the run collapsed to uniform outputs once), no dropout
    # (memorization needs no regularizer), and a linear decay that reaches zero within the step budget we aim for
    # (half the paper's steps, see TUNED_EPOCHS) instead of after 250 epochs: the last errors go away as it anneals.
    "tuned": ["--learning_rate", "3e-3", "--warmup_steps", "0.1", "--adam_beta2", "0.98", "--dropout", "0.0"],
}
# `tuned` with label smoothing 0.1 instead of the authors' 0.05: `tuned` left one N = 64 seed 1 instruction short of
# 100% when its rate reached zero; this variant meets the target on every row and seed measured.
SETTINGS["tuned-smooth0.1"] = SETTINGS["tuned"] + ["--label_smoothing", "0.1"]
# Epochs of the tuned linear decay per row (every row has ~21 steps per epoch). N = 16 and 32: about 90% of half the
# paper's steps. N = 64 and 128: just under half the paper's steps, because 90% left N = 64 at 99.99% (2 of 16,384
# instructions wrong) when the rate reached zero; the larger rows need their last epochs at a small rate.
TUNED_EPOCHS = {16: 22, 32: 29, 64: 45, 128: 71}


def run_one(num_programs: int, seed: int, setting: str, eval_mode: str, eval_every: int) -> dict:
    with tempfile.TemporaryDirectory() as output_dir:
        command = [
            sys.executable, str(ROOT / "examples" / "run_program_memorization.py"),
            "--recipe", "paper", "--output_dir", output_dir, "--num_programs", str(num_programs), "--seed", str(seed),
            "--save_strategy", "no", "--logging_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning",
        ]
        if eval_mode == "steps":
            command += ["--eval_strategy", "steps", "--eval_steps", str(eval_every)]
        command += SETTINGS[setting]
        if setting.startswith("tuned"):
            command += ["--num_train_epochs", str(TUNED_EPOCHS[num_programs])]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            raise RuntimeError(f"run failed ({' '.join(command)}):\n{completed.stderr[-4000:]}")
        results = json.loads((Path(output_dir) / "memorization_results.json").read_text())
    results["wall_time_s"] = round(wall, 1)
    if setting.startswith("tuned"):
        results["num_train_epochs"] = TUNED_EPOCHS[num_programs]
    return results


def summarize(runs: list[dict]) -> list[dict]:
    groups = {}
    for run in runs:
        groups.setdefault((run["setting"], run["eval_mode"], run["num_programs"]), []).append(run)
    rows = []
    for (setting, eval_mode, num_programs), group in sorted(groups.items()):
        group.sort(key=lambda run: run["seed"])
        steps = [run["steps_to_100"] for run in group]
        reached = [s for s in steps if s is not None]
        paper_mean, paper_std = PAPER.get(num_programs, (None, None))
        mean = statistics.mean(reached) if reached else None
        rows.append({
            "setting": setting, "eval_mode": eval_mode, "num_programs": num_programs,
            "program_length": group[0]["program_length"], "data_memory_size": group[0]["data_memory_size"],
            "batch_size": group[0]["batch_size"], "seeds": [run["seed"] for run in group],
            "steps_to_100": steps, "mean": mean, "std": statistics.stdev(reached) if len(reached) > 1 else None,
            "paper_mean": paper_mean, "paper_std": paper_std,
            "ratio_to_paper": round(mean / paper_mean, 3) if mean and paper_mean else None,
            "wall_time_s": [run["wall_time_s"] for run in group],
            "final_exact_match": [run["final_exact_match"] for run in group],
        })
    return rows


def fmt(mean, std):
    if mean is None:
        return "not reached"
    return f"{mean:.1f} ± {std:.1f}" if std is not None else f"{mean:.1f}"


EVAL_LABELS = {"epoch": "eval per epoch", "steps": "eval every few steps"}


def worst(row: dict) -> str:
    if None in row["steps_to_100"]:
        return f"not reached (ended at {100 * min(row['final_exact_match']):.3f}%)"
    return str(max(row["steps_to_100"]))


def write_markdown(report: dict):
    lines = [
        "# Table 1: optimizer steps to 100% instruction exact match",
        "",
        "Commands (each run is one call of examples/run_program_memorization.py; invocations merge into one table):",
        "",
        *[f"    {command}" for command in report["commands"]],
        "",
        f"Machine: {report['machine']}",
        "",
        "`epoch` = evaluated once per epoch on the training set, as the authors did (comparable to Table 1); "
        "`steps` = evaluated every few steps (finer). L = k = 256, BERT 4 x 256, batch floor(N * 256 / 20).",
        "",
        "| setting | eval | N | batch | seeds | steps to 100% (ours) | worst seed | paper | ours / paper |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['setting']} | {row['eval_mode']} | {row['num_programs']} | {row['batch_size']} | "
            f"{len(row['seeds'])} | {fmt(row['mean'], row['std'])} | {worst(row)} | "
            f"{fmt(row['paper_mean'], row['paper_std'])} | "
            f"{row['ratio_to_paper'] if row['ratio_to_paper'] is not None else '-'} |"
        )
    lines += ["", "Settings:", ""]
    lines += [f"- `{name}`: {' '.join(args) or 'the authors’ (script defaults)'}" for name, args in SETTINGS.items()]
    horizons = ", ".join(f"{epochs} epochs for N = {n}" for n, epochs in TUNED_EPOCHS.items())
    lines += [f"- `tuned` and its variants decay linearly to zero over {horizons}."]
    if report.get("notes"):
        lines += ["", "Notes:", "", *[f"- {note}" for note in report["notes"]]]
    lines += authors_section()
    (RESULTS / "table1.md").write_text("\n".join(lines) + "\n")


def authors_section() -> list[str]:
    """
    The `--recipe authors` reproduction and its ablation, from `table1_ablation.json` (written by
    `bench/table1_ablation.py`, whose own report adds commands, wall times and notes): the rows that say which
    recipe reproduces Table 1 belong next to it.
    """
    path = RESULTS / "table1_ablation.json"
    if not path.exists():
        return []
    ablation = json.loads(path.read_text())
    lines = [
        "",
        "## The authors' settings, and each of their differences alone",
        "",
        "`python bench/table1_ablation.py` (commands, wall times and notes: table1_ablation.md). The same "
        "`paper` settings, evaluated per epoch; the steps are in the authors' count (ours + 1: their stop callback "
        "takes one more optimizer step after the epoch that reached 100%).",
        *(["", f"**Partial:** {ablation['partial']}"] if ablation.get("partial") else []),
        "",
        "| setting | what differs from `paper` | N | seeds | steps per seed (authors' count) | mean ± std | paper "
        "| / paper |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in ablation["rows"]:
        per_seed = ", ".join("not reached" if s is None else str(s + 1) for s in row["steps_to_100"])
        mean = None if row["mean"] is None else row["mean"] + 1
        lines.append(
            f"| {row['setting']} | {row.get('description', '')} | {row['num_programs']} | {len(row['seeds'])} | "
            f"{per_seed} | {fmt(mean, row['std'])} | {fmt(row['paper_mean'], row['paper_std'])} | "
            f"{row['ratio_to_paper'] if row['ratio_to_paper'] is not None else '-'} |"
        )
    return lines


def plot(report: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = sorted(PAPER)
    ax.errorbar(sizes, [PAPER[n][0] for n in sizes], yerr=[PAPER[n][1] for n in sizes], marker="s", capsize=4,
                color="black", label="paper (per epoch)")
    ax.plot(sizes, [PAPER[n][0] / 2 for n in sizes], linestyle="--", color="gray", label="target: half the paper's")
    for row_key in sorted({(row["setting"], row["eval_mode"]) for row in report["rows"]}):
        # A row where some seed never reached 100% has no honest mean: it is left out of the plot.
        rows = [row for row in report["rows"] if (row["setting"], row["eval_mode"]) == row_key
                and None not in row["steps_to_100"]]
        ax.errorbar([row["num_programs"] for row in rows], [row["mean"] for row in rows],
                    yerr=[row["std"] or 0 for row in rows], marker="o", capsize=4,
                    label=f"ours: {row_key[0]} ({EVAL_LABELS[row_key[1]]})")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel("programs memorized (N), L = k = 256")
    ax.set_ylabel("optimizer steps to 100% exact match")
    ax.set_title("Table 1: memorization speed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "table1.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--settings", nargs="+", default=["paper", "tuned"], choices=sorted(SETTINGS))
    parser.add_argument("--eval_modes", nargs="+", default=["epoch"], choices=["epoch", "steps"])
    parser.add_argument("--eval_every", type=int, default=5)
    parser.add_argument("--report_only", action="store_true", help="Redraw table1.md and .png from table1.json.")
    parser.add_argument("--note", action="append", default=[], help="With --report_only: add a note to the report.")
    args = parser.parse_args()
    if args.report_only:
        report = json.loads((RESULTS / "table1.json").read_text())
        report["notes"] = report.get("notes", []) + args.note
        report["rows"] = summarize(report["runs"])
        (RESULTS / "table1.json").write_text(json.dumps(report, indent=2))
        write_markdown(report)
        plot(report)
        return

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "table1.json"
    for num_programs in args.rows:
        for setting in args.settings:
            for eval_mode in args.eval_modes:
                for seed in args.seeds:
                    result = run_one(num_programs, seed, setting, eval_mode, args.eval_every)
                    result.update(setting=setting, eval_mode=eval_mode)
                    key = (num_programs, seed, setting, eval_mode)
                    # Read again before writing: several invocations may fill different rows at the same time.
                    report = json.loads(path.read_text()) if path.exists() else {"runs": []}
                    report["runs"] = [
                        run for run in report["runs"]
                        if (run["num_programs"], run["seed"], run["setting"], run["eval_mode"]) != key
                    ] + [result]
                    print(json.dumps({k: result[k] for k in ("setting", "eval_mode", "num_programs", "seed",
                                                             "steps_to_100", "wall_time_s")}), flush=True)
                    command = "python bench/table1.py " + " ".join(sys.argv[1:])
                    report["commands"] = sorted(set(report.get("commands", [])) | {command})
                    report.update(
                        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
                        f"{platform.system()}, Python {platform.python_version()}",
                        rows=summarize(report["runs"]),
                    )
                    path.write_text(json.dumps(report, indent=2))
                    write_markdown(report)
                    plot(report)


if __name__ == "__main__":
    main()
