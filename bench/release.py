#!/usr/bin/env python
"""The release checkpoint's report: bench/results/release.{json,md} from a build of
`examples/build_synthesizer_bert_256.py`.

The build writes `<output_dir>/release_results.json` (its command, machine, time, steps and the evaluation of every
phrasing through the pipeline); this script copies it to `release.json` and writes `release.md` in `--results_dir`.
The committed results:

    OMP_NUM_THREADS=1 python examples/build_synthesizer_bert_256.py --output_dir runs/synthesizer-bert-256 \\
        --hub_model_id org/synthesizer-bert-256 --disable_tqdm true
    python bench/release.py --run_dir runs/synthesizer-bert-256
"""

import argparse
import json
import sys
from pathlib import Path

from synthesizer_examples.run_info import redact_results


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


RUN_FILE = "release_results.json"


def fraction(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / total:.1f}%)" if total else "-"


def headline(results: dict) -> list[str]:
    lines = ["| metric | result |", "| --- | ---: |"]
    lines += [f"| {name} | {fraction(count, total)} |" for name, (count, total) in results["metrics"].items()]
    return lines


def program_table(report: dict) -> list[str]:
    lines = ["| program | instructions | trained phrasings decoded exactly | right outputs, trained phrasings | "
             "held-out phrasings: run right / refused / run wrong |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, entry in report["programs"].items():
        trained, held_out = entry["trained"], entry["held_out"]
        right = sum(p["correct_outputs"] for p in trained)
        decisions = (sum(p["runs_right"] for p in held_out), sum(p["decision"] == "refused" for p in held_out),
                     sum(p["runs_wrong"] for p in held_out))
        lines.append(f"| {name} | {entry['instructions']} | {sum(p['decoded_exactly'] for p in trained)}/"
                     f"{len(trained)} | {right}/{sum(p['inputs'] for p in trained)} | "
                     f"{' / '.join(str(n) for n in decisions)} |")
    return lines


def margin(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def held_out_table(report: dict) -> list[str]:
    lines = ["| program | held-out phrasing | decision | most likely program | margin (nats) | right outputs |",
             "| --- | --- | --- | --- | ---: | ---: |"]
    for name, entry in report["programs"].items():
        for p in entry["held_out"]:
            right = "-" if p["decision"] == "refused" else f"{p['correct_outputs']}/{p['inputs']}"
            lines.append(f"| {name} | {p['description']} | {p['decision']} | {p['most_likely'] or '-'} | "
                         f"{margin(p['margin'])} | {right} |")
    return lines


def paraphrase_table(report: dict) -> list[str]:
    """One row per paraphrase of a library program (a report of an earlier build has none: no rows)."""
    lines = ["| program | paraphrase | decision | runs as | most likely program | margin (nats) | right outputs |",
             "| --- | --- | --- | --- | --- | ---: | ---: |"]
    for p in report.get("paraphrases", []):
        right = "-" if p["decision"] == "refused" else f"{p['correct_outputs']}/{p['inputs']}"
        lines.append(f"| {p['program']} | {p['description']} | {p['decision']} | {p['runs_as'] or '-'} | "
                     f"{p['most_likely'] or '-'} | {margin(p['margin'])} | {right} |")
    return lines


def unknown_table(report: dict) -> list[str]:
    lines = ["| description | refused | most likely program | margin (nats) |", "| --- | :---: | --- | ---: |"]
    for u in report["unknown"]:
        lines.append(f"| {u['description']} | {'yes' if u['refused'] else 'no'} | {u['most_likely'] or '-'} | "
                     f"{margin(u['margin'])} |")
    return lines


def markdown(results: dict) -> str:
    settings, training = results["settings"], results["training"]
    backbone = (f"BERT {settings['num_hidden_layers']} x {settings['hidden_size']}, {settings['num_attention_heads']} "
                f"heads, intermediate {settings['intermediate_size']}")
    programs = results["report"]["programs"]
    parts = [
        "# synthesizer-bert-256: the release checkpoint",
        "",
        f"A Synthesizer ({backbone}; k = {settings['data_memory_size']} data cells, L = "
        f"{settings['max_program_length']} instructions) memorized {len(programs)} library programs, each under its "
        f"phrasings but the last {settings['num_held_out']}, and was written as a complete Hub repository. Every "
        "phrasing then ran through `pipeline(\"subleq-execution\", model=<the saved folder>, trust_remote_code=True)` "
        f"on the same {settings['num_inputs']} random named inputs per program (`run(description, inputs={{...}})`), "
        "its `outputs` compared with the program's Python reference. By default the checkpoint refuses every "
        "description it was not trained on. The held-out, paraphrase and unknown rows measure the opt-in matching: a "
        "description runs as the known program most likely under the network only when "
        + ("every word of it occurs in a trained description, the words it shares with that program's descriptions "
           "do not all occur in another program's, " if results["report"].get("paraphrases") else "")
        + "it leads the next by "
        f"`min_margin` = {settings['min_margin']:g} "
        + ("nats" if settings.get("min_match_confidence") is None else
           f"nats and the network gives each of its instructions at least `min_match_confidence` = "
           f"{settings['min_match_confidence']:g}")
        + "; otherwise it is refused.",
        "",
        "## Headline",
        "",
        *headline(results),
        "",
        f"Steps to 100% instruction exact match: {training['steps_to_100']}.",
        "",
        "## Per program",
        "",
        *program_table(results["report"]),
        "",
        "## Held-out phrasings, one by one",
        "",
        *held_out_table(results["report"]),
        "",
        *(["## Paraphrases of library programs", "", *paraphrase_table(results["report"]), ""]
          if results["report"].get("paraphrases") else []),
        "## Descriptions of no library program",
        "",
        *unknown_table(results["report"]),
        "",
        "## Build",
        "",
        f"    {results['command']}",
        "",
        f"Machine: {results['machine']}.",
        "",
        f"Wall time {results['wall_seconds'] / 60:.1f} min ({results['wall_seconds']:.0f} s; process CPU time "
        f"{results['cpu_seconds']:.0f} s): training {training['train_seconds']:.0f} s for {training['global_step']} "
        f"steps of {settings['batch_size']} rows ({training['seconds_per_step']:.2f} s per step, evaluations "
        f"included; {training['train_rows_per_epoch']} rows per epoch), then {training['evaluation_seconds']:.0f} s "
        "to evaluate every phrasing through the pipeline.",
        "",
    ]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--run_dir", required=True, help=f"The build's --output_dir (holds {RUN_FILE}).")
    parser.add_argument("--results_dir", default=str(RESULTS), help="Where release.json and release.md go.")
    parser.add_argument("--note", default=None,
                        help="A paragraph on how the build was run (e.g. the earlier sessions of a resumed build).")
    args = parser.parse_args(argv)
    path = Path(args.run_dir) / RUN_FILE
    if not path.is_file():
        parser.error(f"{path} does not exist: run examples/build_synthesizer_bert_256.py with --output_dir "
                     f"{args.run_dir} first")
    results = redact_results(json.loads(path.read_text()))
    if args.note:
        results["note"] = args.note
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "release.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "release.md").write_text(markdown(results))
    print(f"wrote {out / 'release.json'} and {out / 'release.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
