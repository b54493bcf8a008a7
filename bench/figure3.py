#!/usr/bin/env python
"""Figure 3 of the paper: SST-2 validation accuracy of the BERT baseline, soft-instruction and soft-imperative.

Each (method, seed) is one run of its example script in a subprocess with the paper's settings (the scripts'
defaults: untrained BERT 4 x 256, lr 1e-4, 2 epochs, batch 32, validation every 64 steps) and no checkpoints
(`--save_strategy no`): the best accuracy is read from the logged curve (accuracy of A for the Synthesizer runs, as
the authors' "best checkpoint by accuracy of A"). Results merge into `bench/results/figure3.json` after every run
(runs already there are kept), and `figure3.md` / `figure3.png` are redrawn from all of it.

    OMP_NUM_THREADS=1 python bench/figure3.py --seeds 1 2 3 4 5 \\
        --train_file path/to/SST-2/train.tsv --validation_file path/to/SST-2/dev.tsv \\
        --tokenizer_name path/to/bert-base-uncased

Each run logs to $TMPDIR/figure3-logs/<results folder, "/" as "_">/<method>-seed<seed>.log (its evaluations can
be followed there). Any other flag is passed to the scripts unchanged (e.g. `--max_train_samples 512` for a smoke
test, which then writes to `--results_dir`, not over the committed results). Drivers can run in parallel, one method
each, with their own `--results_dir`; `--merge` then combines their `figure3.json` files into the committed results.
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

from synthesizer_examples.run_info import redact_argv


ROOT = Path(__file__).resolve().parent.parent
# method -> (example script, extra flags): the paper's three (the scripts' defaults: the authors' settings, the
# Synthesizer heads on BERT's tanh pooler).
METHODS = {
    "bert": ("run_sequence_classification.py", []),
    "soft-instruction": ("run_soft_instruction.py", []),
    "soft-imperative": ("run_soft_imperative.py", []),
}
PAPER_METHODS = list(METHODS)
LABELS = {"bert": "BERT sequence classification", "soft-instruction": "soft-instruction",
          "soft-imperative": "soft-imperative"}
# Figure 3 of the paper: best validation accuracy (%), mean ± std over 5 seeds.
PAPER = {"bert": (81.9, 0.5), "soft-instruction": (81.9, 0.5), "soft-imperative": (80.7, 1.3)}
# The targets, in accuracy points: (method, reference, tolerance).
TARGETS = [("soft-instruction", "bert", 0.5), ("soft-imperative", "bert", 1.5)]
# The "-first" variants of the Synthesizer methods read the [CLS] token's last hidden state instead (`--pooling
# first`, no pooler layer): with the pooler, soft-imperative stays at the majority class ("HALT for everything") for
# its first ~1,700 of 4,210 steps. Each is held to its method's paper number and target.
for method, reference, tolerance in list(TARGETS):
    METHODS[f"{method}-first"] = (METHODS[method][0], ["--pooling", "first"])
    LABELS[f"{method}-first"] = f"{LABELS[method]}, [CLS] pooling"
    PAPER[f"{method}-first"] = PAPER[method]
    TARGETS.append((f"{method}-first", reference, tolerance))
# Soft-imperative with the authors' head: their single `Linear(H, 2k + L)` keeps PyTorch's default init (uniform
# +-1/sqrt(H), bias included), ours is normal(0, 0.02) with zero bias. With BERT's pooler, as theirs: does the stall
# at the majority class come from our head's init or from the pooler?
METHODS["soft-imperative-authors-head"] = (METHODS["soft-imperative"][0], ["--head_init", "torch_default"])
LABELS["soft-imperative-authors-head"] = "soft-imperative, authors' head init"
PAPER["soft-imperative-authors-head"] = PAPER["soft-imperative"]
TARGETS.append(("soft-imperative-authors-head", "bert", 1.5))
PAPER_TOLERANCE = 1.5
LOG_DIR = Path(tempfile.gettempdir()) / "figure3-logs"


def recorded(words: list[str]) -> str:
    """A command line as the results record it, with nothing of this machine's: the flags the driver passes on to the
    scripts may hold a secret (`--hub_token`), redacted, and paths in the repository are relative to it."""
    root = str(ROOT) + os.sep
    return " ".join(word.replace(root, "") for word in redact_argv(words))


def run_one(method: str, seed: int, script_args: list[str], log_dir: Path, keep_models: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        output_dir = scratch if keep_models is None else os.path.join(keep_models, f"{method}-seed{seed}")
        script, method_args = METHODS[method]
        command = [
            sys.executable, str(ROOT / "examples" / script), "--output_dir", output_dir, "--seed", str(seed),
            "--save_strategy", "no", "--load_best_model_at_end", "false", "--disable_tqdm", "true",
            "--log_level", "warning", *method_args, *script_args,
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        # The run's output goes to a file, not a pipe: its evaluations can be followed while it runs, and the run
        # survives its driver (a child writing to the pipe of a killed driver dies of SIGPIPE).
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{method}-seed{seed}.log"
        started = time.perf_counter()
        with open(log_path, "w") as log:
            completed = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            raise RuntimeError(f"run failed ({' '.join(command)}):\n{log_path.read_text()[-4000:]}")
        results = json.loads((Path(output_dir) / "sst2_results.json").read_text())
    # A scratch folder's name is of this run only.
    shown = [word if word != output_dir or keep_models else "SCRATCH_DIR" for word in command[1:]]
    results.update(key=method, wall_time_s=round(wall, 1), command=recorded(shown))
    return results


def log_dir_for(results_dir: Path) -> Path:
    """One log folder per results folder, so that drivers writing to different results never share a log."""
    return LOG_DIR / str(results_dir.resolve()).strip(os.sep).replace(os.sep, "_")


def mean_std(values: list[float]):
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def summarize(runs: list[dict]) -> dict:
    methods = {}
    for method in METHODS:
        group = sorted((run for run in runs if run["key"] == method), key=lambda run: run["seed"])
        if not group:
            continue
        best = [round(100 * run["best_accuracy"], 2) for run in group]
        mean, std = mean_std(best)
        methods[method] = {
            "label": LABELS[method], "metric": group[0]["metric"], "seeds": [run["seed"] for run in group],
            "best_accuracy": best, "best_step": [run["best_step"] for run in group], "mean": mean, "std": std,
            "paper_mean": PAPER[method][0], "paper_std": PAPER[method][1],
            "curves": [[[step, round(100 * value, 2)] for step, value in run["curve"]] for run in group],
            # Synthesizer runs: whether the predicted instruction halts exactly when the true one does (for
            # soft-imperative: was the sentiment read right, whatever the operands). Older runs lack it.
            "halt_curves": [[[step, round(100 * value, 2)] for step, value in run.get("halt_curve") or []]
                            for run in group],
            "wall_time_s": [run["wall_time_s"] for run in group],
        }
    return methods


def check_targets(methods: dict) -> list[dict]:
    checks = []
    for method, reference, tolerance in TARGETS:
        if method not in PAPER_METHODS and method not in methods:
            continue
        check = {"check": f"{method} vs {reference} (same run)", "gap": None, "tolerance": tolerance, "met": None}
        if method in methods and reference in methods:
            check["gap"] = round(methods[method]["mean"] - methods[reference]["mean"], 2)
            check["met"] = abs(check["gap"]) <= tolerance
        checks.append(check)
    for method, row in methods.items():
        gap = row["mean"] - row["paper_mean"]
        checks.append({"check": f"{method} vs paper", "gap": round(gap, 2), "tolerance": PAPER_TOLERANCE,
                       "met": abs(gap) <= PAPER_TOLERANCE})
    return checks


def fmt(mean, std):
    if mean is None:
        return "-"
    return f"{mean:.1f} ± {std:.1f}" if std is not None else f"{mean:.1f} (1 seed)"


def write_markdown(report: dict, results_dir: Path):
    lines = [
        "# Figure 3: SST-2 validation accuracy",
        "",
        "Commands (one per driver):",
        "",
        *[f"- `{command}`" for command in sorted({run.get("driver") or report["command"] for run in report["runs"]})],
        "",
        f"Machine: {report['machine']}",
        *(["", report["note"]] if report.get("note") else []),
        "",
        "Best validation accuracy (%) over the run, evaluated every 64 steps (for the Synthesizer runs: accuracy of "
        "A, the operand that carries the sentiment). Untrained BERT 4 x 256, lr 1e-4, 2 epochs, batch 32, full "
        "SST-2 (67,349 training sentences, 872 validation sentences).",
        "",
        "| method | seeds | best accuracy per seed | ours (mean ± std) | paper (5 seeds) | ours - paper |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["methods"].values():
        lines.append(
            f"| {row['label']} | {len(row['seeds'])} ({', '.join(map(str, row['seeds']))}) | "
            f"{', '.join(f'{value:.2f}' for value in row['best_accuracy'])} | {fmt(row['mean'], row['std'])} | "
            f"{fmt(row['paper_mean'], row['paper_std'])} | {row['mean'] - row['paper_mean']:+.1f} |"
        )
    for method in PAPER_METHODS:
        if method not in report["methods"]:
            paper_mean, paper_std = PAPER[method]
            lines.append(f"| {LABELS[method]} | 0 | not run | - | {fmt(paper_mean, paper_std)} | - |")
    lines += ["", "Targets (differences of means, in points):", "", "| check | difference | tolerance | met |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {check['check']} | {check['gap']:+.2f} | ±{check['tolerance']} | {'yes' if check['met'] else 'no'} |"  # noqa: E501
              if check["gap"] is not None else f"| {check['check']} | not run | ±{check['tolerance']} | - |"
              for check in report["checks"]]
    walls = {row["label"]: row["wall_time_s"] for row in report["methods"].values()}
    per_method = "; ".join(f"{name}: {', '.join(map(str, times))}" for name, times in walls.items())
    lines += ["", f"Wall time per run (s): {per_method}"]
    (results_dir / "figure3.md").write_text("\n".join(lines) + "\n")


def mean_curve(curves: list[list]) -> tuple[list, list]:
    """(steps, mean value over the seeds) at the steps every curve has."""
    steps = sorted(set.intersection(*(set(point[0] for point in curve) for curve in curves)))
    return steps, [statistics.mean(dict(map(tuple, curve))[step] for curve in curves) for step in steps]


def plot(report: dict, results_dir: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    for index, (method, row) in enumerate(report["methods"].items()):
        color = f"C{index}"
        for curve in row["curves"]:
            ax.plot([p[0] for p in curve], [p[1] for p in curve], color=color, alpha=0.25, linewidth=0.8)
        ax.plot(*mean_curve(row["curves"]), color=color, linewidth=1.8,
                label=f"{row['label']}: best {fmt(row['mean'], row['std'])}")
        ax.axhline(row["paper_mean"], color=color, linestyle=":", linewidth=1)
        halt_curves = [curve for curve in row.get("halt_curves", []) if curve]
        if "imperative" in method and halt_curves:
            # Soft-instruction always halts (C = 0 either way), so only soft-imperative's halt accuracy says
            # anything: how well the sentiment is read, whatever the operands.
            ax.plot(*mean_curve(halt_curves), color=color, linewidth=1, linestyle="--",
                    label=f"{row['label']}: halt accuracy ({len(halt_curves)} seeds)")
    ax.set_ylim(45, 90)
    ax.set_xlabel("optimizer step (batch 32)")
    ax.set_ylabel("SST-2 validation accuracy (%)")
    ax.set_title("Figure 3: SST-2 (dotted: the paper's best accuracies)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(results_dir / "figure3.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--methods", nargs="+", default=PAPER_METHODS, choices=list(METHODS),
                        help="Default: the paper's three. The -first variants use --pooling first; "
                             "soft-imperative-authors-head uses --head_init torch_default.")
    parser.add_argument("--results_dir", default=None, help="Default: bench/results (only for full-data runs).")
    parser.add_argument("--merge", nargs="+", default=None,
                        help="figure3.json files of other drivers (e.g. run in parallel, one method each): merge "
                             "their runs into the results and redraw; nothing is run.")
    parser.add_argument("--note", default=None, help="A line for figure3.md about how the runs were made.")
    parser.add_argument("--keep_models", default=None,
                        help="Keep each run's final model (for the pipeline) in KEEP_MODELS/<method>-seed<seed>.")
    args, script_args = parser.parse_known_args()
    smoke = any(flag.startswith(("--max_train_samples", "--max_eval_samples", "--num_train_epochs", "--hidden_size"))
                for flag in script_args)
    if args.results_dir is None and smoke:
        parser.error("a run with reduced settings needs --results_dir (bench/results holds the paper's settings)")
    results_dir = Path(args.results_dir or ROOT / "bench" / "results")
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "figure3.json"
    report = json.loads(path.read_text()) if path.exists() else {"runs": []}
    for run in report["runs"]:
        run.setdefault("driver", report.get("command"))
    if args.note:
        report["note"] = args.note
    if args.merge:
        for other_path in args.merge:
            other = json.loads(Path(other_path).read_text())
            for run in other["runs"]:
                run.setdefault("driver", other.get("command"))
                report["runs"] = [kept for kept in report["runs"]
                                  if (kept["key"], kept["seed"]) != (run["key"], run["seed"])] + [run]
        save_report(report, path, results_dir)
        return
    for seed in args.seeds:
        for method in args.methods:
            result = run_one(method, seed, script_args, log_dir_for(results_dir), args.keep_models)
            result["driver"] = recorded(["python", "bench/figure3.py", *sys.argv[1:]])
            report["runs"] = [run for run in report["runs"] if (run["key"], run["seed"]) != (method, seed)] + [result]
            print(json.dumps({k: result[k] for k in ("key", "seed", "best_accuracy", "best_step", "wall_time_s")}),
                  flush=True)
            # Written after every run, so that an interrupted benchmark keeps what it finished.
            save_report(report, path, results_dir)


def save_report(report: dict, path: Path, results_dir: Path):
    report.update(
        command=recorded(["python", "bench/figure3.py", *sys.argv[1:]]),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {platform.system()}, "
        f"Python {platform.python_version()}",
        methods=summarize(report["runs"]),
    )
    report["checks"] = check_targets(report["methods"])
    path.write_text(json.dumps(report, indent=2))
    write_markdown(report, results_dir)
    plot(report, results_dir)


if __name__ == "__main__":
    main()
