#!/usr/bin/env python
"""The program-library benchmark's report: tables, markdown and figure from a run of
`examples/run_program_library.py`.

The example memorizes the library, runs every phrasing through the `subleq-execution` pipeline and trains the
end-to-end baseline; it writes `<output_dir>/library_results.json` (with the command and machine of the run). This
script reads that file and writes `program_library.json` (the same results), `program_library.md` and
`program_library.png` to `--results_dir`. The committed results (bench/results/program_library.*; the run takes about
7 minutes on a loaded 2-core CPU):

    OMP_NUM_THREADS=1 python examples/run_program_library.py --output_dir runs/library --disable_tqdm true
    python bench/program_library.py --run_dir runs/library
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from synthesizer_examples.run_info import redact_command, redact_results


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUN_FILE = "library_results.json"


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def right_outputs(phrasings: list[dict]) -> tuple[int, int]:
    """(right outputs, inputs run) over `phrasings`."""
    return sum(p["correct_outputs"] for p in phrasings), sum(p["inputs"] for p in phrasings)


def headline_table(report: dict) -> list[str]:
    lines = ["| program | instructions | trained phrasings decoded exactly | held-out phrasings decoded exactly | "
             "right outputs, trained phrasings | right outputs, held-out phrasings |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, entry in report.items():
        cells = [name, str(entry["instructions"])]
        for split in ("trained", "held_out"):
            cells.append(f"{sum(p['decoded_exactly'] for p in entry[split])}/{len(entry[split])}")
        for split in ("trained", "held_out"):
            right, total = right_outputs(entry[split])
            cells.append(f"{right}/{total}" if total else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def baseline_input_name(inputs: str, train_max_length: int = 8) -> str:
    if inputs == "train":
        return f"training sequences (length 1-{train_max_length})"
    return inputs.replace("held_out_", "held-out, length ").replace("length_", "unseen, length ")


def baselines_table(baseline: dict) -> list[str]:
    """The comparison of a run with several baselines (`baseline["models"]`): one column per baseline."""
    models = baseline["models"]
    lines = ["| inputs | sequences | true counts | " + " | ".join(m["label"] for m in models.values())
             + f" | Synthesizer running {baseline['synthesizer_program']} |",
             "| --- | ---: | ---: | " + "---: | " * len(models) + "---: |"]
    for row in baseline["rows"]:
        low, high = row["true_counts_range"]
        cells = [baseline_input_name(row["inputs"], baseline["train_max_length"]), str(row["sequences"]),
                 f"{low}-{high}", *(percent(row["baseline_accuracies"][name]) for name in models),
                 percent(row["synthesizer_accuracy"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def decision(p: dict) -> str:
    """What the pipeline did with a phrasing: ran it as a known program (and whether that was right), or refused."""
    if p["decision"] == "refused":
        return "refused"
    return f"runs {p['runs_as']} ({'right' if p['runs_right'] else 'WRONG'})"


def held_out_table(report: dict) -> list[str]:
    lines = ["| program | held-out phrasing | as given: decoded exactly | wrong instructions | decodes as | pipeline "
             "decision | margin (nats) | runner-up | right outputs |",
             "| --- | --- | :---: | ---: | --- | --- | ---: | --- | ---: |"]
    for name, entry in report.items():
        for p in entry["held_out"]:
            margin = "" if p["margin"] is None else f"{p['margin']:.1f}"
            lines.append(f"| {name} | {p['description'].replace('|', chr(92) + '|')} | "
                         f"{'yes' if p['decoded_exactly'] else 'no'} | {p['wrong_instructions']} | "
                         f"{p['decodes_as'] or '(no library program)'} | {decision(p)} | {margin} | "
                         f"{p['runner_up'] or ''} | {p['correct_outputs']}/{p['inputs']} |")
    return lines


def decision_summary(phrasings: list[dict]) -> str:
    return (f"{sum(p['runs_right'] for p in phrasings)}/{len(phrasings)} run right, "
            f"{sum(p['decision'] == 'refused' for p in phrasings)} refused, "
            f"{sum(p['runs_wrong'] for p in phrasings)} run wrong")


def split_summary(phrasings: list[dict]) -> str:
    right, total = right_outputs(phrasings)
    return (f"{sum(p['decoded_exactly'] for p in phrasings)}/{len(phrasings)} decoded exactly, "
            f"{right}/{total} right outputs")


def headline_section(results: dict) -> list[str]:
    report, s = results["programs"], results["settings"]
    trained = [p for entry in report.values() for p in entry["trained"]]
    held = [p for entry in report.values() for p in entry["held_out"]]
    return [
        "# Program library: memorized programs, named in natural language, run exactly",
        "",
        f"A Synthesizer ({s['backbone']}) memorized {len(report)} library programs, each named by "
        f"{len(trained) // max(1, len(report))} trained phrasings ({len(held)} phrasings held out), for k = "
        f"{s['data_memory_size']} data cells and L = {s['max_program_length']} instructions. "
        f"Training stopped at step {s['steps_to_100']} ({s['train_seconds']:.0f} s). A phrasing decodes exactly "
        "when all L decoded instructions equal the assembled program padded with HALT (0, 0, 0). Each phrasing ran "
        f"through the `subleq-execution` pipeline on the same {s['num_inputs']} random inputs per program (no "
        "input was seen in training: the network never sees data memory).",
        "",
        "## Headline",
        "",
        *headline_table(report),
        "",
        f"Trained phrasings: {split_summary(trained)}. Held-out phrasings: {split_summary(held)}.",
        "",
        "By default the checkpoint runs only its trained phrasings and refuses every other description. With the "
        f"pipeline's opt-in matching of unseen phrasings (`min_margin={s['min_margin']:g}, "
        f"min_match_confidence={s['min_match_confidence']:g}`): trained phrasings {decision_summary(trained)}; "
        f"held-out phrasings {decision_summary(held)}. A phrasing runs wrong when the pipeline runs it and any of "
        "its outputs is wrong: a silent wrong answer.",
        "",
    ]


def baselines_section(baseline: dict) -> list[str]:
    longest = baseline["train_max_length"]
    models = [
        f"- **{m['label']}**: {m['model']}. Final training loss {m['final_train_loss']:.3f} ({m['global_step']} "
        f"steps, {m['train_seconds']:.0f} s); the largest count it predicted on any input: "
        f"{max(row['baseline_largest_counts'][name] for row in baseline['rows'])}."
        for name, m in baseline["models"].items()
    ]
    return [
        "## Counting ones: running a program vs. learning the function",
        "",
        f"Each baseline has the Synthesizer's backbone sizes and is trained end to end (learning rate "
        f"{baseline['learning_rate']:g}, {baseline['epochs']:g} epochs, batch {baseline['batch_size']}) on "
        f"{baseline['train_sequences']} bit sequences of length 1-{longest} as text "
        f"(\"{baseline['example_input']}\") -> the number of ones. The longer sequences put tokens at positions "
        f"never seen in training, and their counts above {longest} are classes a classifier never saw as a label. "
        f"The Synthesizer runs "
        f"`{baseline['synthesizer_program']}` (\"{baseline['synthesizer_description']}\") on the same sequences, "
        "zero-padded to 32 bits.",
        "",
        *models,
        "",
        *baselines_table(baseline),
        "",
    ]


def run_section(results: dict, report_command: str) -> list[str]:
    agrees = all(entry.get("stepwise_agrees", True) for entry in results["programs"].values())
    return [
        "## Run",
        "",
        f"    {results['command']}",
        f"    {report_command}",
        "",
        f"Machine: {results['machine']}. Wall time {results['wall_seconds']:.0f} s. "
        f"Stepwise (Algorithm 1) and decoded execution agree on the checked inputs: {agrees}.",
        "",
    ]


def write_markdown(path: Path, results: dict, report_command: str):
    """`program_library.md`; `report_command` is the line that wrote it (this script's), shown after the run's."""
    lines = headline_section(results)
    if results.get("baseline"):
        lines += baselines_section(results["baseline"])
    lines += [
        "## Held-out phrasings, one by one",
        "",
        "Decoded as given with a vocabulary of the trained phrasings' words only (unknown words read as `[UNK]`); "
        "\"decodes as\" names the library program the decoded instructions equal, if any. The pipeline does not run "
        "that decoding: it scores every library program by its log-likelihood under the network for the phrasing, "
        "runs the best one when it leads the best program with other instructions by at least `min_margin` nats "
        "(the margin column) and the network gives each of its instructions at least `min_match_confidence`, and "
        "refuses the phrasing otherwise. Right outputs count the pipeline's runs (0 when refused).",
        "",
        *held_out_table(results["programs"]),
        "",
        *run_section(results, report_command),
    ]
    path.write_text("\n".join(lines))


def plot_library(ax, report: dict):
    names = list(report)
    x = np.arange(len(names))

    def fraction_decoded(phrasings):
        return np.mean([p["decoded_exactly"] for p in phrasings]) if phrasings else 0

    def fraction_right(phrasings):
        right, total = right_outputs(phrasings)
        return right / max(1, total)

    series = [
        ("trained: decoded exactly", "trained", fraction_decoded),
        ("trained: right outputs", "trained", fraction_right),
        ("held-out: decoded exactly", "held_out", fraction_decoded),
        ("held-out: right outputs", "held_out", fraction_right),
    ]
    width = 0.2
    for i, (label, split, value) in enumerate(series):
        ax.bar(x + (i - 1.5) * width, [value(report[n][split]) for n in names], width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.set_title("Synthesizer on the program library")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4)


def plot_baseline(ax, baseline: dict):
    rows = [row for row in baseline["rows"] if row["inputs"] != "train"]
    x = np.arange(len(rows))
    series = [(m["label"], [r["baseline_accuracies"][name] for r in rows]) for name, m in baseline["models"].items()]
    series.append((f"Synthesizer running {baseline['synthesizer_program']}",
                   [r["synthesizer_accuracy"] for r in rows]))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, values, width, label=label)
        for xi, value in zip(x + offset, values):
            ax.text(xi, value + 0.01, percent(value), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [r["inputs"].replace("held_out_", "held-out, length ").replace("length_", "length ")
                      for r in rows])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"Counting ones (the baselines trained on lengths 1-{baseline.get('train_max_length', 8)})")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)


def write_figure(path: Path, results: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    baseline = results.get("baseline")
    fig, axes = plt.subplots(1, 2 if baseline else 1, figsize=(14 if baseline else 8, 5), squeeze=False)
    plot_library(axes[0, 0], results["programs"])
    if baseline:
        plot_baseline(axes[0, 1], baseline)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run_dir", required=True, help=f"The --output_dir of the run (holds {RUN_FILE}).")
    parser.add_argument("--results_dir", default=str(RESULTS), help="Where to write program_library.{json,md,png}.")
    args = parser.parse_args(argv)
    path = Path(args.run_dir) / RUN_FILE
    if not path.is_file():
        parser.error(f"{path} does not exist: run examples/run_program_library.py with --output_dir {args.run_dir} "
                     "first")
    results = redact_results(json.loads(path.read_text()))
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    command = redact_command("python bench/program_library.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    (results_dir / "program_library.json").write_text(json.dumps(results, indent=2))
    write_markdown(results_dir / "program_library.md", results, command)
    write_figure(results_dir / "program_library.png", results)
    return results


if __name__ == "__main__":
    main()
