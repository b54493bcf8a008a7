#!/usr/bin/env python
"""Sentences per second through the "subleq-execution" pipeline of trained SST-2 Synthesizers, against
`pipeline("text-classification")` of the baseline trained the same way, in one process.

Pipelines (the same backbone, BERT 4 x 256 as the paper and the scripts' defaults; the same `--batch_size`; the
same `--threads`):
  (a) soft-instruction: the SST-2 dev sentences as `"Classify this input: " + sentence`;
  (b) soft-imperative: the same sentences as `"As long as the input text is positive, run [PROG_i] [SEP] " +
      sentence`, i drawn as the script's dataset builder draws the validation rows (`build_soft_imperative_dataset`
      with the program seed + 1), `--max_steps` per input;
  (c) the baseline: the same sentences through `pipeline("text-classification")`;
  (d) the memorized multiply program of `bench/execution.py` (its helper trains it) on `--multiply_inputs` random
      memories, as that benchmark's workload (c).
Every strategy that `modeling_synthesizer.pipeline_synthesizer.STRATEGIES` lists is timed ("lazy", the new default,
when it exists; "decoded", the old default; "stepwise", the paper's loop), and every output of (a), (b) and (d)
is asserted equal to the stepwise output on the same inputs (memory, steps, halt reason, output). On (b),
"decoded" (all L = 256 instructions of each description) is timed on the first `--decoded_subset` inputs only, and
"stepwise" on the first `--stepwise_subset` (default all); the results state it.

Peak memory: a fresh subprocess loads the soft-instruction checkpoint and streams `--rss_inputs` short
descriptions (the first `--rss_words` words of the dev sentences, repeated) from a generator through the pipeline,
consuming the outputs one by one; it reports its peak RSS (VmHWM) before and after the call.

The checkpoints are trained first, by the example scripts run as subprocesses, into `--work_dir` (`--reuse` skips
a folder that already holds a checkpoint): a subset of SST-2 train, one epoch, no evaluation during training, the
final model saved. Their training settings and validation accuracies are recorded.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python bench/pipeline_speed.py \\
        --train_file path/to/SST-2/train.tsv --validation_file path/to/SST-2/dev.tsv \\
        --tokenizer_name path/to/bert-base-uncased --work_dir runs/pipeline-speed --reuse

Writes `pipeline_speed.json`, `pipeline_speed.md` and `pipeline_speed.png` to `bench/results/`.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import execution  # bench/execution.py, next to this script
import torch
from datasets import Dataset
from transformers import pipeline

from modeling_synthesizer import SynthesizerForSubleq, pipeline_synthesizer
from synthesizer_examples.soft_programs import SOFT_INSTRUCTION_TEMPLATE, build_soft_imperative_dataset
from synthesizer_examples.text_classification import load_sst2


ROOT = Path(__file__).resolve().parent.parent


SCRIPTS = {
    "soft-instruction": "run_soft_instruction.py",
    "baseline": "run_sequence_classification.py",
    "soft-imperative": "run_soft_imperative.py",
}
STRATEGY_ORDER = ("lazy", "decoded", "stepwise")
TARGETS = {"a_over_c": 0.8, "b_over_c": 0.5, "d_default_over_decoded": 1.0}


# data


def read_sst2_tsv(path) -> tuple[list[str], list[int]]:
    """Sentences (stripped of the GLUE files' trailing space) and labels of a GLUE SST-2 `.tsv` file, read as the
    SST-2 scripts read it (`load_sst2`; the one file serves as both of its splits)."""
    split = load_sst2(None, None, str(path), str(path))["validation"]
    return list(split["sentence"]), list(split["label"])


def soft_instruction_descriptions(sentences) -> list[str]:
    return [SOFT_INSTRUCTION_TEMPLATE.format(sentence=s) for s in sentences]


def soft_imperative_descriptions(sentences, labels, folder) -> list[str]:
    """The validation descriptions `run_soft_imperative.py` builds: program i drawn with the program seed + 1."""
    folder = Path(folder)
    programs = [[tuple(x) for x in r["program"]] for r in json.loads((folder / "programs.json").read_text())]
    settings = json.loads((folder / "pipeline_speed_training.json").read_text())
    seed = settings["seed"]
    rows = build_soft_imperative_dataset(Dataset.from_dict({"sentence": sentences, "label": labels}), programs,
                                         seed + 1)
    return list(rows["description"])


def short_descriptions(sentences, n, words):
    """A generator of n soft-instruction descriptions: the first `words` words of the sentences, repeated."""
    for i in range(n):
        yield SOFT_INSTRUCTION_TEMPLATE.format(sentence=" ".join(sentences[i % len(sentences)].split()[:words]))


# training


def training_command(name, folder, args) -> list[str]:
    command = [
        sys.executable, str(ROOT / "examples" / SCRIPTS[name]), "--output_dir", str(folder),
        "--train_file", args.train_file, "--validation_file", args.validation_file,
        "--tokenizer_name", args.tokenizer_name, "--max_train_samples", str(args.max_train_samples),
        "--num_train_epochs", str(args.num_train_epochs), "--learning_rate", str(args.learning_rate),
        "--warmup_steps", str(args.warmup_steps),
        # no evaluation while training (so no best checkpoint to keep): the final model is saved and evaluated once
        "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
        "--logging_strategy", "no", "--report_to", "none", "--disable_tqdm", "true", "--seed", str(args.seed),
    ]
    if name != "baseline":
        command += ["--pooling", args.pooling]
    return command


def train_checkpoints(args, work_dir: Path) -> dict:
    """Train (or with --reuse, find) the three checkpoints; returns each one's training record."""
    records = {}
    for name in SCRIPTS:
        folder = work_dir / name
        record_path = folder / "pipeline_speed_training.json"
        if not (args.reuse and record_path.exists()):
            command = training_command(name, folder, args)
            env = {**os.environ, "OMP_NUM_THREADS": str(args.train_threads), "HF_HUB_OFFLINE": "1"}
            print(f"training {name}: {' '.join(command)}", flush=True)
            started = time.perf_counter()
            with open(work_dir / f"{name}.log", "w") as log:
                subprocess.run(command, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
            record = {"wall_s": round(time.perf_counter() - started, 1), "seed": args.seed,
                      "threads": args.train_threads,
                      "command": " ".join(["python", os.path.relpath(command[1], ROOT), *command[2:]])}
            record_path.write_text(json.dumps(record, indent=2) + "\n")
        records[name] = checkpoint_record(folder)
    return records


def checkpoint_record(folder: Path) -> dict:
    """The training record and the final model's validation metrics, read from a trained folder."""
    record = json.loads((folder / "pipeline_speed_training.json").read_text())
    evaluation = json.loads((folder / "eval_results.json").read_text())
    metric = "eval_accuracy" if "eval_accuracy" in evaluation else "eval_a_accuracy"
    train = json.loads((folder / "train_results.json").read_text())
    return {**record, "validation_metric": metric, "validation_accuracy": evaluation[metric],
            "train_runtime_s": train.get("train_runtime"), "train_samples": train.get("train_samples")}


# timing


def strategies() -> list[str]:
    """The strategies the installed pipeline has, in STRATEGY_ORDER; the first is the default that is compared."""
    return [s for s in STRATEGY_ORDER if s in pipeline_synthesizer.STRATEGIES]


def as_runs(outputs) -> list[tuple]:
    return [(r["memory"], r["steps"], r["halt_reason"], r["output"]) for r in outputs]


def synthesizer_pipe(folder, batch_size):
    return pipeline("subleq-execution", model=SynthesizerForSubleq.from_pretrained(folder), tokenizer=str(folder),
                    batch_size=batch_size, device=-1)


def row(pipeline_name, strategy, seconds, inputs, note="", **extra) -> dict:
    return {"pipeline": pipeline_name, "strategy": strategy, "inputs": inputs, "seconds": seconds,
            "inputs_per_s": inputs / seconds, "note": note, **extra}


def time_synthesizer(pipe, name, descriptions, labels, args, subsets=None) -> dict:
    """Time every strategy on `descriptions` (strategy s on the first `subsets[s]` only, when given and > 0), check
    each one's outputs equal the stepwise outputs on the same inputs, and score the outputs against `labels`."""
    pipe(descriptions[:4], max_steps=args.max_steps)  # warm-up: first-call costs (kernel compile, allocations)
    rows, outputs = [], {}
    for strategy in strategies():
        subset = descriptions[: (subsets or {}).get(strategy) or len(descriptions)]
        seconds, outputs[strategy] = execution.best_of(
            args.repeats, lambda: pipe(subset, max_steps=args.max_steps, strategy=strategy))
        note = f"first {len(subset)} of {len(descriptions)} inputs" if len(subset) < len(descriptions) else ""
        runs = outputs[strategy]
        rows.append(row(name, strategy, seconds, len(subset), note, executed_steps=sum(r["steps"] for r in runs),
                        halt_reasons=count(r["halt_reason"] for r in runs)))
        print(f"{name} {strategy}: {len(subset) / seconds:,.1f} inputs/s ({seconds:.2f} s)", flush=True)
    reference = as_runs(outputs["stepwise"])
    checked = {}
    for strategy, result in outputs.items():
        n = min(len(result), len(reference))
        if as_runs(result[:n]) != reference[:n]:
            raise AssertionError(f"{name}: strategy {strategy!r} differs from stepwise")
        checked[strategy] = n
    full = outputs[strategies()[0]]
    accuracy = sum(r["output"] == label for r, label in zip(full, labels)) / len(labels)
    return {"rows": rows, "checked_against_stepwise": checked, "pipeline_accuracy": accuracy}


def count(values) -> dict:
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def time_baseline(folder, sentences, labels, args) -> dict:
    pipe = pipeline("text-classification", model=str(folder), batch_size=args.batch_size, device=-1)
    pipe(sentences[:4])
    seconds, outputs = execution.best_of(args.repeats, lambda: pipe(sentences))
    label2id = pipe.model.config.label2id
    accuracy = sum(label2id[o["label"]] == label for o, label in zip(outputs, labels)) / len(labels)
    print(f"baseline: {len(sentences) / seconds:,.1f} sentences/s ({seconds:.2f} s)", flush=True)
    return {"rows": [row("(c) baseline", "text-classification", seconds, len(sentences))],
            "pipeline_accuracy": accuracy}


def time_multiply(args, work_dir: Path) -> dict:
    """(d): bench/execution.py's memorized multiply program on random memories, every strategy."""
    import random

    assembled, program, pipe, training = execution.memorize_multiply(work_dir / "multiply", args.seed)
    pipe = pipeline("subleq-execution", model=pipe.model, tokenizer=pipe.tokenizer, batch_size=args.batch_size,
                    device=-1)
    rng = random.Random(args.seed + 2)
    memories = [assembled.with_inputs(a=rng.randint(0, 20), b=rng.randint(0, 200))
                for _ in range(args.multiply_inputs)]
    inputs = [{"description": execution.DESCRIPTION, "memory": m} for m in memories]
    expected = [execution.run_subleq(program, item["memory"], execution.BIG_BUDGET) for item in inputs]
    pipe(inputs[:4], max_steps=execution.BIG_BUDGET)
    rows = []
    for strategy in strategies():
        n = args.multiply_stepwise_inputs if strategy == "stepwise" else len(inputs)
        repeats = args.repeats if strategy == "stepwise" else max(args.repeats, args.multiply_repeats)
        seconds, result = execution.best_of(
            repeats, lambda: pipe(inputs[:n], max_steps=execution.BIG_BUDGET, strategy=strategy))
        if execution.as_runs(result) != execution.as_runs(expected[:n]):
            raise AssertionError(f"(d): strategy {strategy!r} differs from the reference machine")
        note = (f"first {n} of {len(inputs)} inputs; " if n < len(inputs) else "") + f"best of {repeats}"
        rows.append(row("(d) multiply", strategy, seconds, n, note, executed_steps=sum(r.steps for r in expected[:n])))
        print(f"multiply {strategy}: {n / seconds:,.1f} inputs/s ({seconds:.3f} s)", flush=True)
    return {"rows": rows, "training": training}


# peak memory, in a fresh process


def measure_rss(folder, sentences, args) -> dict:
    """Run this script's --rss_child mode in a fresh process (so the number is the pipeline's own)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(sentences, f)
    command = [sys.executable, __file__, "--rss_child", str(folder), "--rss_sentences", f.name,
               "--rss_inputs", str(args.rss_inputs), "--rss_words", str(args.rss_words),
               "--batch_size", str(args.batch_size), "--threads", str(args.threads),
               "--max_steps", str(args.max_steps)]
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=args.rss_timeout)
    finally:
        os.unlink(f.name)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """Peak resident memory of this process: VmHWM, the high-water mark of its own address space, which exec starts
    afresh. (ru_maxrss is not: a child started by fork + exec inherits its parent's peak, here the benchmark's.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:  # not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; bytes on macOS


def rss_child(args):
    """Stream --rss_inputs descriptions through the soft-instruction pipeline; print one JSON line."""
    torch.set_num_threads(args.threads)
    sentences = json.loads(Path(args.rss_sentences).read_text())
    pipe = synthesizer_pipe(args.rss_child, args.batch_size)
    pipe(list(short_descriptions(sentences, 4, args.rss_words)), max_steps=args.max_steps)
    before = peak_rss_mib()
    started = time.perf_counter()
    result = pipe(short_descriptions(sentences, args.rss_inputs, args.rss_words), max_steps=args.max_steps)
    returned = type(result).__name__
    outputs = positives = 0
    for record in result:
        outputs += 1
        positives += record["output"] == 1
    seconds = time.perf_counter() - started
    after = peak_rss_mib()
    print(json.dumps({"inputs": args.rss_inputs, "outputs": outputs, "positive_outputs": positives,
                      "returned": returned, "seconds": round(seconds, 2), "inputs_per_s": args.rss_inputs / seconds,
                      "peak_rss_before_call_mib": round(before, 1), "peak_rss_mib": round(after, 1),
                      "words_per_sentence": args.rss_words}))


# report


def default_rate(section) -> float:
    """Inputs/s of the pipeline's default strategy (the first that exists) in a section's rows."""
    default = (strategies()[0], "text-classification")
    return next(r["inputs_per_s"] for r in section["rows"] if r["strategy"] in default)


def measure_targets(sections) -> dict:
    a, b, c, d = (default_rate(sections[key]) for key in "abcd")
    default = strategies()[0]
    decoded_d = next(r["inputs_per_s"] for r in sections["d"]["rows"] if r["strategy"] == "decoded")
    targets = {
        "a_over_c": {"what": f"(a) soft-instruction ({default}) / (c) text-classification, sentences/s",
                     "measured": a / c, "goal": ">= 0.8x"},
        "b_over_c": {"what": f"(b) soft-imperative ({default}) / (c) text-classification, sentences/s",
                     "measured": b / c, "goal": ">= 0.5x"},
        "d_default_over_decoded": {"what": f"(d) multiply, {default} / decoded, inputs/s", "measured": d / decoded_d,
                                   "goal": ">= 1x"},
    }
    for name, target in targets.items():
        target["met"] = target["measured"] >= TARGETS[name]
    if default == "decoded":
        targets["d_default_over_decoded"]["note"] = "no 'lazy' strategy yet: decoded is compared with itself"
    return targets


def write_markdown(report, path: Path):
    s = report["settings"]
    lines = ["# Pipeline speed: trained SST-2 Synthesizers against text-classification", "",
             f"Inputs per second (higher is better), best of {s['repeats']}, batch_size {s['batch_size']} for every "
             f"pipeline, torch threads {s['threads']}, one process. Strategies of the installed pipeline: "
             f"{report['strategies']} (default compared: `{report['strategies'][0]}`). Every (a), (b) and (d) output "
             "was checked equal to the stepwise output on the same inputs (memory, steps, halt reason, output).", ""]
    lines += ["## Targets", "", "| target | measured | goal | met |", "| --- | ---: | --- | --- |"]
    for t in report["targets"].values():
        lines.append(f"| {t['what']} | {t['measured']:.3g}x | {t['goal']} | {'yes' if t['met'] else '**no**'} |")
    lines += ["", "## Rates", "", "| pipeline | strategy | inputs | seconds | inputs/s | executed steps | note |",
              "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for key in "abcd":
        for r in report["sections"][key]["rows"]:
            steps = f"{r['executed_steps']:,}" if "executed_steps" in r else ""
            lines.append(f"| {r['pipeline']} | {r['strategy']} | {r['inputs']:,} | {r['seconds']:.3f} | "
                         f"{r['inputs_per_s']:,.1f} | {steps} | {r['note']} |")
    rss = report["rss"]
    lines += ["", "## Peak memory of a streaming call", "",
              f"A fresh process streamed {rss['inputs']:,} soft-instruction descriptions (the first "
              f"{rss['words_per_sentence']} words of the dev sentences, repeated) from a generator through the "
              f"pipeline and consumed {rss['outputs']:,} outputs one by one (the call returned a `{rss['returned']}`):"
              f" peak RSS {rss['peak_rss_mib']:,} MiB, against {rss['peak_rss_before_call_mib']:,} MiB after loading "
              f"the model and a warm-up call; {rss['seconds']} s ({rss['inputs_per_s']:,.0f} inputs/s).", ""]
    lines += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    lines += ["## Checkpoints", "", "| checkpoint | validation accuracy | metric | training wall s | command |",
              "| --- | ---: | --- | ---: | --- |"]
    for name, t in report["training"].items():
        note = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"| {name} | {t['validation_accuracy']:.4f} | {t['validation_metric']} | {t['wall_s']} | "
                     f"`{t['command']}`{note} |")
    lines += ["", f"(d)'s multiply model: {report['sections']['d']['training']}.", "", "## How it was run", "",
              "```bash", report["command"], "```", "", f"Wall time of the whole run: {report['wall_s']:.0f} s.", "",
              "Machine:", ""] + [f"- {k}: {v}" for k, v in report["machine"].items()] + [""]
    path.write_text("\n".join(lines))


def write_png(report, path: Path):
    from matplotlib.figure import Figure

    rows = [r for key in "abcd" for r in report["sections"][key]["rows"]]
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    colors = {"lazy": "#2ca02c", "decoded": "#1f77b4", "stepwise": "#d62728", "text-classification": "#7f7f7f"}
    bars = ax.bar(range(len(rows)), [r["inputs_per_s"] for r in rows],
                  color=[colors.get(r["strategy"], "#9467bd") for r in rows])
    ax.bar_label(bars, labels=[f"{r['inputs_per_s']:.3g}" for r in rows], fontsize=8, padding=2)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r['pipeline'].replace(') ', ')' + chr(10))}\n{r['strategy']}" for r in rows], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("inputs / s (log)")
    ax.set_title(f"pipelines on SST-2 dev, batch_size {report['settings']['batch_size']}, "
                 f"{report['settings']['threads']} thread(s)")
    fig.savefig(path, dpi=120)


def make_notes(report) -> list[str]:
    sections, default = report["sections"], report["strategies"][0]
    notes = [
        "The machine is a shared 2-core VM on which other jobs ran at the same time (load averages before and "
        f"after: {report['machine']['load_average_1_5_15']} and {report['load_average_after']}); all pipelines ran "
        "in one process, one after the other, so ratios are more trustworthy than absolute rates.",
        f"(b) ran with max_steps = {report['settings']['max_steps']}; its descriptions use the program the script's "
        "dataset builder draws for each validation row (`build_soft_imperative_dataset`, program seed + 1).",
        "Accuracy of the pipelines' outputs on the dev set (output cell or label against the SST-2 label): "
        + ", ".join(f"({k}) {sections[k]['pipeline_accuracy']:.4f}" for k in "abc") + ".",
        f"(b) halt reasons under `{default}`: {sections['b']['rows'][0]['halt_reasons']}: a soft-imperative model "
        "that halts every input measures one decoded instruction per input; one that runs the programs on positive "
        "text costs a decoded row per distinct instruction executed.",
        "Outputs checked equal to stepwise (inputs per strategy): "
        + "; ".join(f"({k}) {sections[k]['checked_against_stepwise']}" for k in "ab") + "; (d) all strategies "
        "equal the reference machine on every input.",
    ]
    s = report["settings"]
    notes.append(
        f"Checkpoints: trained by the example scripts on the first {s['max_train_samples']:,} SST-2 training "
        f"sentences, {s['num_train_epochs']:g} epoch(s), batch 32, lr {s['learning_rate']:g} with "
        f"{s['warmup_steps']:g} warm-up, heads on [CLS] (`--pooling {s['pooling']}`) for the Synthesizers, no "
        "evaluation while training (the final model is kept), the paper's backbone. That is far fewer steps than "
        "the paper's 4,210, so the validation accuracies (below) are far below Figure 3's. Speed does not depend on "
        "accuracy except on (b), where a positive verdict runs the program: see its halt reasons and executed "
        "steps.")
    if default != "lazy":
        notes.append("The 'lazy' strategy did not exist in the installed pipeline when this ran "
                     f"(STRATEGIES = {report['strategies']}): the rows and targets use 'decoded', the old default.")
    return notes


# main


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_file", help="SST-2 train.tsv (GLUE format)")
    p.add_argument("--validation_file", help="SST-2 dev.tsv: the 872 sentences every pipeline runs")
    p.add_argument("--tokenizer_name", help="a folder holding bert-base-uncased's vocab.txt")
    p.add_argument("--work_dir", default=None, help="where the checkpoints are trained (default: a temporary folder)")
    p.add_argument("--reuse", action="store_true", help="skip training a checkpoint whose folder is already trained")
    p.add_argument("--max_train_samples", type=int, default=4000,
                   help="first N training sentences (125 steps, 3-10 minutes per checkpoint on 2 shared cores)")
    p.add_argument("--num_train_epochs", type=float, default=1)
    p.add_argument("--learning_rate", type=float, default=1e-3,
                   help="10x the authors' 1e-4: at 1e-4 or 5e-4, 63 steps left every model at chance")
    p.add_argument("--warmup_steps", type=float, default=0.1, help="warm-up: a fraction of the steps when < 1")
    p.add_argument("--pooling", default="first", help="the Synthesizers' heads read [CLS] (see examples/README.md)")
    p.add_argument("--train_threads", type=int, default=2, help="OMP_NUM_THREADS of the training subprocesses")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=32, help="inputs per batch, for every pipeline")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for the timed pipelines")
    p.add_argument("--max_steps", type=int, default=1000, help="step budget per input of the Synthesizer pipelines")
    p.add_argument("--decoded_subset", type=int, default=8,
                   help="(b): inputs on which 'decoded' is timed (it decodes all L = 256 instructions of each)")
    p.add_argument("--stepwise_subset", type=int, default=0,
                   help="(b): inputs on which 'stepwise' runs (0 = all: every output is checked against it)")
    p.add_argument("--multiply_inputs", type=int, default=1000, help="(d): memories")
    p.add_argument("--multiply_stepwise_inputs", type=int, default=200,
                   help="(d): the first N memories run stepwise (one forward pass per step, ~200 steps per input)")
    p.add_argument("--repeats", type=int, default=1, help="timings per row (best kept)")
    p.add_argument("--multiply_repeats", type=int, default=5,
                   help="(d): timings of lazy and decoded (about 0.1 s each, so best of several)")
    p.add_argument("--rss_inputs", type=int, default=100_000)
    p.add_argument("--rss_words", type=int, default=4, help="words kept of each dev sentence in the RSS stream")
    p.add_argument("--rss_timeout", type=int, default=1800)
    p.add_argument("--output_dir", default=str(ROOT / "bench" / "results"))
    p.add_argument("--rss_child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--rss_sentences", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rss_child is None and not (args.train_file and args.validation_file and args.tokenizer_name):
        p.error("--train_file, --validation_file and --tokenizer_name are required")
    return args


def run_sections(args, work_dir: Path) -> tuple[dict, dict, dict]:
    training = train_checkpoints(args, work_dir)
    torch.set_num_threads(args.threads)
    sentences, labels = read_sst2_tsv(args.validation_file)
    execution.compile_fast_kernel()
    subsets = {"decoded": args.decoded_subset, "stepwise": args.stepwise_subset}
    sections = {
        "a": time_synthesizer(synthesizer_pipe(work_dir / "soft-instruction", args.batch_size),
                              "(a) soft-instruction", soft_instruction_descriptions(sentences), labels, args),
        "b": time_synthesizer(synthesizer_pipe(work_dir / "soft-imperative", args.batch_size),
                              "(b) soft-imperative", soft_imperative_descriptions(sentences, labels,
                                                                                  work_dir / "soft-imperative"),
                              labels, args, subsets),
        "c": time_baseline(work_dir / "baseline", sentences, labels, args),
        "d": time_multiply(args, work_dir),
    }
    rss = measure_rss(work_dir / "soft-instruction", sentences, args)
    print(f"streaming {rss['inputs']:,} inputs: peak RSS {rss['peak_rss_mib']} MiB", flush=True)
    return training, sections, rss


def main(argv=None):
    args = parse_args(argv)
    if args.rss_child is not None:
        return rss_child(args)
    started, machine = time.perf_counter(), execution.machine_info()
    machine["torch.set_num_threads (timed pipelines)"] = args.threads
    with tempfile.TemporaryDirectory() as temporary:
        work_dir = Path(args.work_dir or temporary)
        work_dir.mkdir(parents=True, exist_ok=True)
        training, sections, rss = run_sections(args, work_dir)
    targets = measure_targets(sections)
    report = {"targets": targets, "strategies": strategies(), "sections": sections, "rss": rss,
              "training": training, "machine": machine,
              # The results folder as the command gives it, relative to the checkout: no path of this machine.
              "settings": {**vars(args), "output_dir": os.path.relpath(args.output_dir, ROOT)},
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "command": " ".join(["OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python bench/pipeline_speed.py",
                                   *(argv if argv is not None else sys.argv[1:])]),
              "wall_s": time.perf_counter() - started}
    report["notes"] = make_notes(report)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "pipeline_speed.md")
    write_png(report, out / "pipeline_speed.png")
    for t in targets.values():
        print(f"{t['what']}: {t['measured']:.3g}x (goal {t['goal']}): {'met' if t['met'] else 'MISSED'}")
    return report


if __name__ == "__main__":
    main()
