#!/usr/bin/env python
"""Table 1 with the authors' settings, and which of their differences from our defaults moves the steps to 100%.

Each (setting, N, seed) is one run of `examples/run_program_memorization.py` in a subprocess, at the paper's
settings (BERT 4 x 256, k = L = 256, lr 1e-3, batch floor(N L / 20), 250-epoch linear decay, evaluation once per
epoch), given as explicit flags so that the script's default recipe does not matter. The settings:

- `ours`: the package's defaults (word-level vocabulary, heads normal(0, 0.02) with zero bias, C over [0, L]);
- `vocabulary`, `head_init`, `c_range`: one of the authors' differences switched on alone
  (`examples/run_program_memorization.py` says what each is, before its `init_new_embedding_rows_authors`);
- `authors`: all three (the script's `--recipe authors`).

Results merge into `bench/results/table1_ablation.json` (runs already there are kept; a rerun of the same
(setting, N, seed) replaces it), then `table1_ablation.md` and `.png` are redrawn. The whole issue in one command
(many CPU hours; `--jobs 2` runs two at a time):

    python bench/table1_ablation.py --tokenizer_name path/to/bert-base-uncased --settings ours vocabulary head_init \\
        c_range authors --rows 16 --seeds 1 2 && \\
    python bench/table1_ablation.py --tokenizer_name path/to/bert-base-uncased --settings authors --rows 16 32 \\
        --seeds 1 2 3 4 5 && \\
    python bench/table1_ablation.py --tokenizer_name path/to/bert-base-uncased --settings authors --rows 64 \\
        --seeds 1 2 3
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import table1  # bench/, this script's folder
from table1 import fmt


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAPER = table1.PAPER
# The authors' Experiment 1 optimization and model, spelled out: the script's `paper` recipe, whatever its defaults.
PAPER_FLAGS = [
    "--hidden_size", "256", "--num_hidden_layers", "4", "--num_attention_heads", "4", "--intermediate_size", "1024",
    "--program_length", "256", "--data_memory_size", "256", "--dropout", "0.1", "--label_smoothing", "0.05",
    "--learning_rate", "1e-3", "--num_train_epochs", "250", "--warmup_steps", "0", "--adam_beta2", "0.999",
    "--weight_decay", "0", "--per_device_train_batch_size", "0",
]
TOKENIZER = "TOKENIZER"  # replaced by --tokenizer_name
SETTINGS = {
    "ours": [],
    "vocabulary": ["--tokenizer_name", TOKENIZER, "--embedding_init", "authors"],
    "head_init": ["--head_init", "torch_default"],
    "c_range": ["--c_label_range", "0..L-1"],
}
SETTINGS["authors"] = SETTINGS["vocabulary"] + SETTINGS["head_init"] + SETTINGS["c_range"]
DESCRIPTIONS = {
    "ours": "the package's defaults at the paper's settings",
    "vocabulary": "bert-base-uncased + N program tokens, new rows by the authors' resize_embedding",
    "head_init": "heads drawn as PyTorch's nn.Linear (uniform +-1/sqrt(H), bias included)",
    "c_range": "C labels over [0, L) instead of [0, L]",
    "authors": "all three",
}
LOCK = threading.Lock()


def command_for(args, setting: str, num_programs: int, seed: int, output_dir: str) -> list[str]:
    flags = [args.tokenizer_name if flag == TOKENIZER else flag for flag in SETTINGS[setting]]
    return [
        sys.executable, str(args.script), "--recipe", "paper", "--output_dir", output_dir,
        "--num_programs", str(num_programs), "--seed", str(seed), *PAPER_FLAGS, *flags,
        "--save_strategy", "no", "--logging_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning",
    ]


def run_one(args, setting: str, num_programs: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as output_dir:
        command = command_for(args, setting, num_programs, seed, output_dir)
        env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(args.threads))
        load = os.getloadavg()[0]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        results_file = Path(output_dir) / "memorization_results.json"
        if not results_file.exists():
            raise RuntimeError(f"run failed ({' '.join(command)}):\n{completed.stderr[-4000:]}")
        results = json.loads(results_file.read_text())
    steps = results["steps_to_100"]
    return {
        "setting": setting, "num_programs": num_programs, "seed": seed, "steps_to_100": steps,
        # Their stop callback takes one more optimizer step after the epoch that reached 100%.
        "authors_step_count": None if steps is None else steps + 1,
        "global_step": results["global_step"], "batch_size": results["batch_size"],
        "final_exact_match": results["final_exact_match"], "wall_time_s": round(wall, 1),
        "load_average_at_start": round(load, 2), "returncode": completed.returncode,
    }


def summarize(runs: list[dict]) -> list[dict]:
    groups = {}
    for run in runs:
        groups.setdefault((run["setting"], run["num_programs"]), []).append(run)
    order = list(SETTINGS)
    rows = []
    for (setting, num_programs), group in sorted(groups.items(), key=lambda kv: (kv[0][1], order.index(kv[0][0]))):
        group.sort(key=lambda run: run["seed"])
        steps = [run["steps_to_100"] for run in group]
        reached = [s for s in steps if s is not None]
        mean = statistics.mean(reached) if reached and len(reached) == len(steps) else None
        paper_mean, paper_std = PAPER.get(num_programs, (None, None))
        rows.append({
            "setting": setting, "description": DESCRIPTIONS[setting], "num_programs": num_programs,
            "batch_size": group[0]["batch_size"],
            "seeds": [run["seed"] for run in group], "steps_to_100": steps, "mean": mean,
            "std": statistics.stdev(reached) if mean is not None and len(reached) > 1 else None,
            "authors_count_mean": None if mean is None else mean + 1,
            "paper_mean": paper_mean, "paper_std": paper_std,
            "ratio_to_paper": round((mean + 1) / paper_mean, 3) if mean is not None and paper_mean else None,
            "wall_time_s": [run["wall_time_s"] for run in group],
            "source": sorted({run.get("source", "measured here") for run in group}),
        })
    return rows


def write_markdown(report: dict):
    lines = [
        "# Table 1 ablation: the authors' settings, one difference at a time",
        "",
        *([f"**Partial:** {report['partial']}", ""] if report.get("partial") else []),
        "Commands (runs of examples/run_program_memorization.py at the paper's settings; invocations merge):",
        "",
        *[f"    {command}" for command in report["commands"]],
        "",
        f"Machine: {report['machine']}",
        "",
        "Steps to 100% instruction exact match, evaluated once per epoch on the training set (21 steps per epoch "
        "at N = 16). `authors' count` adds the one step the authors' stop callback takes after the epoch that "
        "reached 100%; `/ paper` compares it with Table 1.",
        "",
        "| setting | what differs from ours | N | seeds | steps per seed | steps to 100% | authors' count | paper "
        "| / paper | wall time per run (min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        per_seed = ", ".join("not reached" if s is None else str(s) for s in row["steps_to_100"])
        lines.append(
            f"| {row['setting']}{' (from table1.json)' if 'measured here' not in row['source'] else ''} | "
            f"{DESCRIPTIONS[row['setting']]} | {row['num_programs']} | "
            f"{' '.join(map(str, row['seeds']))} | {per_seed} | {fmt(row['mean'], row['std'])} | "
            f"{fmt(row['authors_count_mean'], None)} | {fmt(row['paper_mean'], row['paper_std'])} | "
            f"{row['ratio_to_paper'] if row['ratio_to_paper'] is not None else '-'} | "
            f"{', '.join(f'{w / 60:.0f}' for w in row['wall_time_s'])} |"
        )
    lines += ["", "Settings (flags added to the paper's):", ""]
    lines += [f"- `{name}`: {' '.join(flags) or '(none)'}" for name, flags in SETTINGS.items()]
    if report.get("notes"):
        lines += ["", "Notes:", "", *[f"- {note}" for note in report["notes"]]]
    (RESULTS / "table1_ablation.md").write_text("\n".join(lines).replace(TOKENIZER, "path/to/bert-base-uncased")
                                                + "\n")


def plot(report: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in report["rows"] if row["num_programs"] == 16]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for index, row in enumerate(rows):
        reached = [s + 1 for s in row["steps_to_100"] if s is not None]
        ax.scatter([index] * len(reached), reached, color="tab:blue", zorder=3)
        if row["authors_count_mean"] is not None:
            ax.hlines(row["authors_count_mean"], index - 0.3, index + 0.3, color="tab:blue")
    mean, std = PAPER[16]
    ax.axhspan(mean - std, mean + std, color="gray", alpha=0.2, label="paper, N = 16: 1030 ± 74")
    ax.axhline(mean, color="gray")
    ax.set_xticks(range(len(rows)), [row["setting"] for row in rows])
    ax.set_ylabel("steps to 100% (authors' count)")
    ax.set_title("Table 1, N = 16: each of the authors' differences alone")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "table1_ablation.png", dpi=120)


def record(args, result: dict, command: str):
    path = RESULTS / "table1_ablation.json"
    with LOCK:
        # Read again before writing: other invocations may fill other rows at the same time.
        report = json.loads(path.read_text()) if path.exists() else {"runs": []}
        key = (result["setting"], result["num_programs"], result["seed"])
        report["runs"] = [
            run for run in report["runs"] if (run["setting"], run["num_programs"], run["seed"]) != key
        ] + [result]
        report["commands"] = sorted(set(report.get("commands", [])) | {command})
        report["machine"] = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
                             f"{platform.system()}, Python {platform.python_version()}")
        report["rows"] = summarize(report["runs"])
        path.write_text(json.dumps(report, indent=2) + "\n")
        write_markdown(report)
        plot(report)
        redraw_table1()


def redraw_table1():
    """table1.md shows these rows too (its section on the authors' settings)."""
    if (RESULTS / "table1.json").exists():
        table1.write_markdown(json.loads((RESULTS / "table1.json").read_text()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--rows", type=int, nargs="+", default=[16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tokenizer_name", default="bert-base-uncased",
                        help="bert-base-uncased, or a local folder with its vocab.txt and tokenizer_config.json.")
    parser.add_argument("--jobs", type=int, default=1, help="Runs at a time.")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each run.")
    parser.add_argument("--script", type=Path, default=ROOT / "examples" / "run_program_memorization.py")
    parser.add_argument("--report_only", action="store_true", help="Redraw the .md and .png from the .json.")
    parser.add_argument("--note", action="append", default=[], help="With --report_only: add a note.")
    parser.add_argument("--partial", default=None, help="With --report_only: mark the report partial (text).")
    parser.add_argument("--import_table1", action="store_true",
                        help="With --report_only: take the `ours` rows from table1.json's `paper` runs (evaluated "
                             "per epoch), where they are not measured here.")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        path = RESULTS / "table1_ablation.json"
        report = json.loads(path.read_text())
        report["notes"] = report.get("notes", []) + args.note
        if args.import_table1:
            measured = {(run["setting"], run["num_programs"], run["seed"]) for run in report["runs"]}
            for run in json.loads((RESULTS / "table1.json").read_text())["runs"]:
                key = ("ours", run["num_programs"], run["seed"])
                if run["setting"] == "paper" and run["eval_mode"] == "epoch" and key not in measured:
                    steps = run["steps_to_100"]
                    report["runs"].append({
                        "setting": "ours", "num_programs": run["num_programs"], "seed": run["seed"],
                        "steps_to_100": steps, "authors_step_count": None if steps is None else steps + 1,
                        "global_step": run["global_step"], "batch_size": run["batch_size"],
                        "final_exact_match": run["final_exact_match"], "wall_time_s": run["wall_time_s"],
                        "source": "bench/results/table1.json",
                    })
        if args.partial is not None:
            report["partial"] = args.partial or None
        report["rows"] = summarize(report["runs"])
        path.write_text(json.dumps(report, indent=2) + "\n")
        write_markdown(report)
        plot(report)
        redraw_table1()
        return

    shown, skip = [], False
    for arg in sys.argv[1:]:
        # The recorded command names no machine paths: the tokenizer folder is path/to/..., --script is left out.
        if skip or arg == "--script":
            skip = not skip
            continue
        shown.append("path/to/bert-base-uncased" if arg == args.tokenizer_name else arg)
    command = "python bench/table1_ablation.py " + " ".join(shown)
    jobs = [(setting, n, seed) for n in args.rows for seed in args.seeds for setting in args.settings]

    def work(job):
        result = run_one(args, *job)
        record(args, result, command)
        print(json.dumps({k: result[k] for k in ("setting", "num_programs", "seed", "steps_to_100",
                                                 "wall_time_s")}), flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(work, job) for job in jobs]:
            future.result()


if __name__ == "__main__":
    main()
