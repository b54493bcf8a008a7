#!/usr/bin/env python
"""Teaching a checkpoint new programs against rebuilding the whole library: optimizer steps and time.

A checkpoint of the built-in library is built with `examples/run_program_library.py` (small CPU settings, below);
then 1 and 5 new programs (`examples/my_programs`) are taught to it (`--model_name_or_path`: its known programs
rehearsed from its config, the new programs' rows balanced against them), and the same libraries (built-in + 1,
built-in + 5) are rebuilt from scratch with the same settings. Every build stops at 100% instruction exact match;
each is then checked by the script's one evaluation (every trained phrasing decodes exactly and runs right, through
the pipeline of the saved folder). Results: `<results_dir>/library_extension.{json,md,png}`.

    OMP_NUM_THREADS=1 python bench/library_extension.py --work_dir runs/library-extension

A finished build in `--work_dir` is reused (the script reports it without training), so an interrupted bench
resumes where it stopped.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from modeling_synthesizer.program_library import PROGRAMS_DIR


ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "run_program_library.py"
RESULTS_FILE = "library_results.json"  # the script's results file


NEW_PROGRAMS = ROOT / "examples" / "my_programs"
# The programs taught in the 1-program case; the 5-program case teaches every file of NEW_PROGRAMS.
ONE_NEW = ("subtract",)
# The backbone and the library's k and L (count_ones_32 needs 34 cells and 33 instructions).
MODEL = ["--data_memory_size", "40", "--max_program_length", "36", "--hidden_size", "64", "--num_hidden_layers", "2",
         "--num_attention_heads", "2", "--intermediate_size", "128"]
# Training, the same for every build: the script's defaults but for these.
TRAINING = ["--learning_rate", "3e-3", "--per_device_train_batch_size", "64", "--num_train_epochs", "300",
            "--save_strategy", "no", "--logging_strategy", "epoch", "--no_baseline", "--num_inputs", "20",
            "--stepwise_check_inputs", "0", "--disable_tqdm", "true", "--log_level", "warning", "--seed", "0"]
# Teaching fine-tunes a trained network: the same but a lower learning rate, which keeps the known programs (at
# 3e-3 the first steps knock about 5% of their instructions out, and relearning them costs most of a rebuild).
TEACHING = [*TRAINING[:1], "5e-4", *TRAINING[2:]]


def program_folder(folder: Path, sources: list[Path]) -> Path:
    """A library folder holding copies of `sources`."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copy(source, folder / source.name)
    return folder


def build(argv: list[str], output_dir: Path) -> dict:
    """One run of the script (or its finished results, reported again); its results and whether it exited 1 (not
    exact: nothing would be pushed)."""
    run = subprocess.run([sys.executable, str(SCRIPT), *argv, "--output_dir", str(output_dir)],
                         stderr=subprocess.PIPE, text=True)
    sys.stderr.write(run.stderr)
    exit_message = run.stderr.strip().splitlines()[-1] if run.returncode else None
    if run.returncode not in (0, 1):  # 1: trained but not exact, reported; anything else is a failure
        raise SystemExit(f"{SCRIPT.name} failed (exit {run.returncode}): {exit_message}")
    results = json.loads((output_dir / RESULTS_FILE).read_text())
    return {"results": results, "exit": exit_message}


def summary(run: dict, known: set[str]) -> dict:
    """The figures of one build: steps, time, and whether the known and the new programs are exact."""
    results, training = run["results"], run["results"]["training"]
    programs = results["report"]["programs"]

    def exact(names) -> str:
        phrasings = [p for name in names for p in programs[name]["trained"]]
        return f"{sum(p['decoded_exactly'] and p['runs_right'] for p in phrasings)}/{len(phrasings)}"

    return {
        "programs": len(programs),
        "steps": training["global_step"],
        "steps_to_100": training["steps_to_100"],
        "train_rows_per_epoch": training["train_rows_per_epoch"],
        "train_seconds": training["train_seconds"],
        "wall_seconds": results["wall_seconds"],
        "reached_100": training["final_exact_match"] == 1.0,
        "old_exact": exact(sorted(set(programs) & known)),
        "new_exact": exact(sorted(set(programs) - known)),
        "exit": run["exit"],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", default="runs/library-extension", help="Where the builds are written.")
    parser.add_argument("--results_dir", default=str(ROOT / "bench" / "results"), help="Where the results go.")
    args = parser.parse_args(argv)
    work = Path(args.work_dir)
    base = build(["--programs", "builtin"] + MODEL + TRAINING, work / "base")
    known = set(base["results"]["report"]["programs"])
    rows = {"built-in library, from scratch": summary(base, known)}
    comparisons = []
    for count, names in ((1, ONE_NEW), (5, tuple(sorted(p.stem for p in NEW_PROGRAMS.glob("*.asm"))))):
        new = [NEW_PROGRAMS / f"{name}.asm" for name in names]
        taught = build(["--model_name_or_path", str(work / "base"),
                        "--programs", str(program_folder(work / f"new_{count}", new))] + TEACHING,
                       work / f"taught_{count}")
        rebuilt = build(["--programs", str(program_folder(work / f"all_{count}", sorted(PROGRAMS_DIR.glob("*.asm"))
                                                          + new))] + MODEL + TRAINING,
                        work / f"rebuilt_{count}")
        teach, rebuild = summary(taught, known), summary(rebuilt, known)
        rows[f"teach {count} new ({', '.join(names)})"] = teach
        rows[f"rebuild built-in + {count}, from scratch"] = rebuild
        # A rebuild that stopped at its epoch cap below 100% needed more steps than it took: its steps are a lower
        # bound, and so the ratio is an upper bound.
        comparisons.append({"new_programs": count, "teach_steps": teach["steps"], "rebuild_steps": rebuild["steps"],
                            "teach_reached_100": teach["reached_100"], "rebuild_reached_100": rebuild["reached_100"],
                            "step_ratio": round(teach["steps"] / rebuild["steps"], 3),
                            "train_seconds_ratio": round(teach["train_seconds"] / rebuild["train_seconds"], 3),
                            # None: not shown either way (the rebuild's true steps are unknown, and above this bound).
                            "goal_met": (teach["reached_100"] and teach["steps"] <= rebuild["steps"] / 4)
                            or (None if not rebuild["reached_100"] else False)})
    runs = [base["results"]] + [json.loads((work / name / RESULTS_FILE).read_text())
                                for name in ("taught_1", "rebuilt_1", "taught_5", "rebuilt_5")]
    report = {
        "command": "OMP_NUM_THREADS=1 python bench/library_extension.py " + " ".join(argv or sys.argv[1:]),
        "machine": base["results"]["machine"],  # where the builds ran (a rerun reports them again)
        "settings": {"model": " ".join(MODEL), "training": " ".join(TRAINING), "teaching": " ".join(TEACHING)},
        "rows": rows,
        "comparisons": comparisons,
        # The builds' own wall times (a rerun of a finished bench reports them without training again).
        "wall_seconds": round(sum(results["wall_seconds"] for results in runs), 1),
    }
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "library_extension.json").write_text(json.dumps(report, indent=2) + "\n")
    (results_dir / "library_extension.md").write_text(markdown(report))
    plot(report, results_dir / "library_extension.png")
    print(markdown(report))
    return report


def markdown(report: dict) -> str:
    lines = [
        "# Teaching a checkpoint new programs vs. rebuilding the library",
        "",
        "A checkpoint of the built-in library (10 programs) is taught 1 and 5 new programs (`examples/my_programs`) "
        "with `examples/run_program_library.py --model_name_or_path`: its known programs are rehearsed from its "
        "own `config.known_programs`, the new programs' rows balanced against them, at a fine-tuning learning rate. "
        "The same libraries are rebuilt from scratch with the settings of the built-in checkpoint. Every build stops "
        "at 100% instruction exact match or at its epoch cap (300); \"exact\" counts "
        "the trained phrasings that decode exactly and run right through the pipeline of the saved folder (old: "
        "the built-in programs; new: the taught ones).",
        "",
        "| build | programs | optimizer steps | reached 100% | rows per epoch | train time (s) | old exact | "
        "new exact |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | {row['programs']} | {row['steps']} | {'yes' if row['reached_100'] else 'no'} | "
                     f"{row['train_rows_per_epoch']} | {row['train_seconds']:.0f} | {row['old_exact']} | "
                     f"{row['new_exact']} |")
    lines += ["", "| new programs | teach steps | rebuild steps | steps, teach / rebuild | time, teach / rebuild | "
              "at most 1/4 of a rebuild's steps |", "| ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in report["comparisons"]:
        bound = "" if c["rebuild_reached_100"] else " (rebuild stopped below 100%: at most)"
        lines.append(f"| {c['new_programs']} | {c['teach_steps']} | {c['rebuild_steps']} | "
                     f"{c['step_ratio']:.2f}{bound} | {c['train_seconds_ratio']:.2f} | "
                     f"{ {True: 'yes', False: 'no', None: 'not shown: the rebuild did not finish'}[c['goal_met']]} |")
    lines += ["", f"Settings: `{report['settings']['model']}`; builds from scratch "
              f"`{report['settings']['training']}`; teaching `{report['settings']['teaching']}` (a fine-tuning "
              "learning rate).", "",
              "Command:", "", f"    {report['command']}", "",
              f"Machine: {report['machine']}. Wall time {report['wall_seconds']:.0f} s (a shared CPU: the train times "
              "vary with the other load; the steps do not).", ""]
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.2))
    counts = [c["new_programs"] for c in report["comparisons"]]
    width = 0.38
    axis.bar([i - width / 2 for i in range(len(counts))], [c["teach_steps"] for c in report["comparisons"]], width,
             label="teach the checkpoint")
    bars = axis.bar([i + width / 2 for i in range(len(counts))], [c["rebuild_steps"] for c in report["comparisons"]],
                    width, label="rebuild from scratch")
    for bar, comparison in zip(bars, report["comparisons"]):
        if not comparison["rebuild_reached_100"]:
            bar.set_hatch("//")  # stopped at the epoch cap below 100%: its steps are a lower bound
    axis.set_xticks(range(len(counts)), [f"built-in + {n}" for n in counts])
    axis.set_ylabel("optimizer steps")
    axis.set_title("hatched: stopped at the epoch cap below 100%", fontsize=9)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
