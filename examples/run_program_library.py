#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1", "matplotlib"]
# ///
"""Thinking slow: a Synthesizer memorizes the program library under natural-language names and runs the programs
exactly on inputs it has never seen; the same backbone trained end to end on input -> output does not.

1. Memorize. Every library program (`modeling_synthesizer/program_library.py`, assembled for k data cells and L
   instructions, padded with HALT (0, 0, 0) to L) is named by its phrasings ("count the ones", "How many 1s are in
   the sequence?", ...); the last `--num_held_out` phrasings of each program are held out. The network learns
   (C_t, phrasing) -> (A, B, C) for the trained phrasings, with word dropout (`--word_dropout`), until every
   instruction is right.
2. Decode. `pipe.decode_program(phrasing)` must equal the assembled program, all L instructions, for trained and
   held-out phrasings (reported separately, per phrasing; which program a wrong decoding equals, if any).
3. Run. Every phrasing runs through the `"subleq-execution"` pipeline on `--num_inputs` random inputs per program
   (the network never saw any input: inputs live in data memory); outputs are checked against the program's
   Python reference.
4. Baseline. `AutoModelForSequenceClassification` with the same backbone config maps a bit sequence as text
   ("1 0 1 1") to its number of ones (33 classes), trained on every sequence of length <= 8 but a held-out quarter
   of the length-8 ones; evaluated on those held out and on random sequences of lengths 16 and 32. The Synthesizer
   runs `count_ones_32` on the same inputs, zero-padded to 32 bits.

Results: `<output_dir>/library_results.json`, and `program_library.{json,md,png}` in `--results_dir` when given.

Tiny CPU run (seconds; two programs, no baseline):

    python examples/run_program_library.py --output_dir runs/library-tiny --programs add,absolute \\
        --data_memory_size 4 --max_program_length 4 --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --learning_rate 3e-3 --per_device_train_batch_size 8 \\
        --save_strategy no --num_inputs 200 --no_baseline

The committed results (bench/results/program_library.*; about 7 minutes on a loaded 2-core CPU: 5.5 to memorize,
10 s to run every phrasing on 1,000 inputs per program, 1 for the baseline):

    OMP_NUM_THREADS=1 python examples/run_program_library.py --output_dir runs/library \\
        --results_dir bench/results --disable_tqdm true

Rerunning a command whose run was interrupted resumes the Synthesizer from the last checkpoint in --output_dir.
"""

import json
import logging
import os
import platform
import random
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field

import datasets
import numpy as np
import torch
import transformers
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)

from modeling_synthesizer import SubleqError, SynthesizerConfig, SynthesizerForSubleq
from modeling_synthesizer.program_library import list_programs, load_program
from synthesizer_examples.library import (
    WordDropoutDataset,
    bits_to_text,
    build_count_ones_dataset,
    build_description_tokenizer,
    count_ones_splits,
    library_records,
    padded_program,
    split_phrasings,
)
from synthesizer_examples.memorization import build_memorization_dataset
from synthesizer_examples.model_card import build_model_card
from synthesizer_examples.training import (
    MemorizationTrainingArguments,
    StopAtExactMatchCallback,
    argmax_operands,
    check_world_size,
    find_checkpoint_to_resume,
    first_step_reaching,
    make_compute_metrics,
    parse_example_args,
    tokenize_instructions,
)


logger = logging.getLogger(__name__)

# The program that runs the baseline's inputs: counts the ones of up to 32 bits (shorter inputs zero-padded).
LONG_COUNT_PROGRAM = "count_ones_32"


@dataclass
class ModelArguments:
    hidden_size: int = field(default=128, metadata={"help": "Backbone hidden size (the paper: 256; small for CPU)."})
    num_hidden_layers: int = field(default=2, metadata={"help": "Backbone layers (the paper: 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper: 4)."})
    intermediate_size: int = field(default=512, metadata={"help": "Feed-forward size (the paper: 1024)."})
    backbone_type: str = field(default="bert", metadata={"help": "Any AutoConfig model_type with BERT-style size "
                                                                  "names, e.g. bert, roberta."})
    max_position_embeddings: int = field(
        default=64, metadata={"help": "Backbone positions: the longest input is a 32-bit baseline sequence plus "
                                      "[CLS]/[SEP] (34 tokens)."}
    )
    dropout: float = field(default=0.1, metadata={"help": "Backbone hidden and attention dropout (BERT's 0.1)."})
    label_smoothing: float = field(default=0.05, metadata={"help": "Label smoothing of each head (the authors' 0.05)."})
    word_dropout: float = field(
        default=0.1, metadata={"help": "Probability of replacing each description word by [UNK] in training, so that "
                                       "a program is named by any of its words, not one exact phrasing."}
    )


@dataclass
class DataArguments:
    programs: str = field(default="all", metadata={"help": "Comma-separated library programs, or 'all'."})
    num_held_out: int = field(default=2, metadata={"help": "The last N phrasings of each program are held out."})
    data_memory_size: int = field(default=64, metadata={"help": "k: count_ones_32 needs 34 cells, reverse 24."})
    max_program_length: int = field(default=48, metadata={"help": "L: count_ones_32 has 33 instructions."})
    num_inputs: int = field(default=1000, metadata={"help": "Random inputs per program and phrasing."})
    input_seed: int = field(default=1234, metadata={"help": "Seed of the random inputs."})
    max_steps_per_run: int = field(
        default=10_000, metadata={"help": "Step budget of each run (the library needs a few hundred at most)."}
    )
    stepwise_check_inputs: int = field(
        default=10, metadata={"help": "Inputs per program also run with strategy='stepwise' (Algorithm 1, one "
                                      "forward pass per step) to check that it agrees with 'decoded'."}
    )
    baseline: bool = field(default=True, metadata={"help": "Train and compare the end-to-end baseline."})
    baseline_epochs: float = field(default=100, metadata={"help": "Epochs of the baseline classifier."})
    baseline_learning_rate: float = field(default=5e-4, metadata={"help": "Learning rate of the baseline."})
    baseline_batch_size: int = field(default=32, metadata={"help": "Batch size of the baseline."})
    baseline_train_max_length: int = field(default=8, metadata={"help": "Longest training sequence (count_ones: 8)."})
    baseline_held_out_fraction: float = field(
        default=0.25, metadata={"help": "Share of the longest training-length sequences held out."}
    )
    baseline_long_lengths: str = field(default="16,32", metadata={"help": "Longer test lengths (at most 32)."})
    baseline_num_long: int = field(default=1000, metadata={"help": "Random test sequences per longer length."})
    results_dir: str | None = field(
        default=None, metadata={"help": "Also write program_library.{json,md,png} here (e.g. bench/results)."}
    )


@dataclass
class LibraryTrainingArguments(MemorizationTrainingArguments):
    """Defaults for memorizing the library on a CPU."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate (the authors': 1e-3)."})
    num_train_epochs: float = field(default=300, metadata={"help": "Epochs of the linear decay (a cap: training "
                                                                    "stops at 100%% exact match)."})
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Batch per process."})


def parse_args(argv=None):
    return parse_example_args((ModelArguments, DataArguments, LibraryTrainingArguments), argv)


def select_programs(data_args: DataArguments):
    names = list_programs() if data_args.programs == "all" else [n.strip() for n in data_args.programs.split(",")]
    programs = [load_program(name) for name in names]
    if data_args.baseline and LONG_COUNT_PROGRAM not in names:
        raise ValueError(f"the baseline comparison runs {LONG_COUNT_PROGRAM}: add it to --programs or pass "
                         "--no_baseline")
    return programs


def backbone_dict(model_args: ModelArguments, tokenizer) -> dict:
    return {
        "model_type": model_args.backbone_type,
        "vocab_size": len(tokenizer),
        "hidden_size": model_args.hidden_size,
        "num_hidden_layers": model_args.num_hidden_layers,
        "num_attention_heads": model_args.num_attention_heads,
        "intermediate_size": model_args.intermediate_size,
        "max_position_embeddings": model_args.max_position_embeddings,
        "pad_token_id": tokenizer.pad_token_id,
        "hidden_dropout_prob": model_args.dropout,
        "attention_probs_dropout_prob": model_args.dropout,
    }


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, load average {load:.1f} at start, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, Python "
            f"{platform.python_version()}")


# Evaluation through the pipeline


def run_inputs(pipe, description: str, memories: list[list[int]], max_steps: int, strategy: str = "decoded"):
    """The pipeline's results for `description` on each memory; a run that overflows int64 is None."""
    items = [{"description": description, "memory": memory} for memory in memories]
    try:
        return pipe(items, max_steps=max_steps, strategy=strategy)
    except SubleqError:
        # One overflowing input fails the whole batch (only a wrongly decoded program can overflow): run one by one.
        results = []
        for item in items:
            try:
                results.append(pipe(item, max_steps=max_steps, strategy=strategy))
            except SubleqError:
                results.append(None)
        return results


def evaluate_phrasing(pipe, program, assembled, description, padded, library_padded, inputs, memories, max_steps):
    decoded = [tuple(instruction) for instruction in pipe.decode_program(description)]
    wrong = sum(d != t for d, t in zip(decoded, padded))
    results = run_inputs(pipe, description, memories, max_steps)
    correct = sum(
        result is not None and result["halted"]
        and assembled.read_outputs(result["memory"]) == program.reference(**values)
        for result, values in zip(results, inputs)
    )
    return {
        "description": description,
        "decoded_exactly": wrong == 0,
        "wrong_instructions": wrong,
        "program_instructions_right": decoded[: len(assembled.program)] == padded[: len(assembled.program)],
        "decodes_as": next((name for name, other in library_padded.items() if decoded == other), None),
        "correct_outputs": int(correct),
        "inputs": len(inputs),
    }


def evaluate_library(pipe, programs, phrasings, data_args) -> dict:
    k, length = data_args.data_memory_size, data_args.max_program_length
    library_padded = {program.name: padded_program(program, k, length) for program in programs}
    report = {}
    for program in programs:
        assembled = program.assemble(k, length)
        rng = random.Random(f"{data_args.input_seed}-{program.name}")
        inputs = [program.random_inputs(rng) for _ in range(data_args.num_inputs)]
        memories = [assembled.with_inputs(**values) for values in inputs]
        entry = {
            "instructions": len(assembled.program),
            "distinct_inputs": len({json.dumps(values, sort_keys=True) for values in inputs}),
        }
        for split in ("trained", "held_out"):
            entry[split] = [
                evaluate_phrasing(pipe, program, assembled, description, library_padded[program.name],
                                  library_padded, inputs, memories, data_args.max_steps_per_run)
                for description in phrasings[program.name][split]
            ]
        if data_args.stepwise_check_inputs:
            first = phrasings[program.name]["trained"][0]
            few = memories[: data_args.stepwise_check_inputs]
            decoded_runs = run_inputs(pipe, first, few, data_args.max_steps_per_run)
            stepwise_runs = run_inputs(pipe, first, few, data_args.max_steps_per_run, strategy="stepwise")
            entry["stepwise_agrees"] = decoded_runs == stepwise_runs
        report[program.name] = entry
        logger.info("%s: %s", program.name, {split: [(p["decoded_exactly"], p["correct_outputs"])
                                                      for p in entry[split]] for split in ("trained", "held_out")})
    return report


# The baseline: the same backbone, trained end to end on bits -> count


def run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings) -> dict:
    lengths = [int(n) for n in data_args.baseline_long_lengths.split(",") if n.strip()]
    program = load_program(LONG_COUNT_PROGRAM)
    width = program.inputs["bits"].length
    if max(lengths) > width:
        raise ValueError(f"--baseline_long_lengths must be at most {width} ({LONG_COUNT_PROGRAM} takes {width} bits)")
    splits = count_ones_splits(data_args.baseline_train_max_length, data_args.baseline_held_out_fraction, lengths,
                               data_args.baseline_num_long, seed=data_args.input_seed)
    num_labels = width + 1  # counts 0..32
    config = AutoConfig.for_model(**backbone_dict(model_args, tokenizer), num_labels=num_labels)
    set_seed(training_args.seed)
    model = AutoModelForSequenceClassification.from_config(config)

    def tokenize(batch):
        return tokenizer(batch["text"])

    tokenized = {name: build_count_ones_dataset(seqs).map(tokenize, batched=True, remove_columns=["text"])
                 for name, seqs in splits.items()}
    args = TrainingArguments(
        output_dir=os.path.join(training_args.output_dir, "baseline"),
        learning_rate=data_args.baseline_learning_rate,
        num_train_epochs=data_args.baseline_epochs,
        per_device_train_batch_size=data_args.baseline_batch_size,
        per_device_eval_batch_size=training_args.per_device_eval_batch_size,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="epoch",
        seed=training_args.seed,
        use_cpu=training_args.use_cpu,
        disable_tqdm=training_args.disable_tqdm,
        log_level=training_args.log_level,
        report_to=[],
    )
    trainer = Trainer(model=model, args=args, train_dataset=tokenized["train"], processing_class=tokenizer)
    start = time.time()
    train_result = trainer.train()
    train_seconds = time.time() - start

    description = phrasings[LONG_COUNT_PROGRAM]["trained"][0]
    assembled = program.assemble(data_args.data_memory_size, data_args.max_program_length)
    rows = []
    for name, sequences in splits.items():
        predicted = np.asarray(trainer.predict(tokenized[name]).predictions).argmax(-1)
        truth = np.asarray([sum(bits) for bits in sequences])
        memories = [assembled.with_inputs(bits=list(bits) + [0] * (width - len(bits))) for bits in sequences]
        results = run_inputs(pipe, description, memories, data_args.max_steps_per_run)
        synthesizer = [None if r is None else assembled.read_outputs(r["memory"])["count"] for r in results]
        rows.append({
            "inputs": name,
            "sequences": len(sequences),
            "lengths": sorted({len(bits) for bits in sequences}),
            "baseline_accuracy": float((predicted == truth).mean()),
            "synthesizer_accuracy": float(np.mean([s == t for s, t in zip(synthesizer, truth)])),
            "true_counts_range": [int(truth.min()), int(truth.max())],
        })
        logger.info("baseline vs synthesizer on %s: %s", name, rows[-1])
    return {
        "task": "bit sequence as text ('1 0 1 1 ...') -> number of ones, 33 classes",
        "baseline_model": f"AutoModelForSequenceClassification ({model_args.backbone_type}, the Synthesizer's "
                          "backbone config)",
        "synthesizer_program": LONG_COUNT_PROGRAM,
        "synthesizer_description": description,
        "example_input": bits_to_text(splits["train"][-1]),
        "train_sequences": len(splits["train"]),
        "epochs": data_args.baseline_epochs,
        "learning_rate": data_args.baseline_learning_rate,
        "global_step": trainer.state.global_step,
        "final_train_loss": train_result.training_loss,
        "train_seconds": round(train_seconds, 1),
        "rows": rows,
    }


# Reports


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def headline_table(report: dict) -> list[str]:
    lines = ["| program | instructions | trained phrasings decoded exactly | held-out phrasings decoded exactly | "
             "right outputs, trained phrasings | right outputs, held-out phrasings |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, entry in report.items():
        cells = [name, str(entry["instructions"])]
        for split in ("trained", "held_out"):
            cells.append(f"{sum(p['decoded_exactly'] for p in entry[split])}/{len(entry[split])}")
        for split in ("trained", "held_out"):
            right = sum(p["correct_outputs"] for p in entry[split])
            total = sum(p["inputs"] for p in entry[split])
            cells.append(f"{right}/{total}" if total else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def baseline_table(baseline: dict) -> list[str]:
    names = {"train": "training sequences (length 1-8)"}
    lines = ["| inputs | sequences | end-to-end BERT classifier | Synthesizer running count_ones_32 |",
             "| --- | ---: | ---: | ---: |"]
    for row in baseline["rows"]:
        name = names.get(row["inputs"], row["inputs"].replace("held_out_", "held-out, length ")
                         .replace("length_", "unseen, length "))
        lines.append(f"| {name} | {row['sequences']} | {percent(row['baseline_accuracy'])} | "
                     f"{percent(row['synthesizer_accuracy'])} |")
    return lines


def held_out_table(report: dict) -> list[str]:
    lines = ["| program | held-out phrasing | decoded exactly | wrong instructions | decodes as | right outputs |",
             "| --- | --- | :---: | ---: | --- | ---: |"]
    for name, entry in report.items():
        for p in entry["held_out"]:
            lines.append(f"| {name} | {p['description'].replace('|', chr(92) + '|')} | "
                         f"{'yes' if p['decoded_exactly'] else 'no'} | {p['wrong_instructions']} | "
                         f"{p['decodes_as'] or '(no library program)'} | {p['correct_outputs']}/{p['inputs']} |")
    return lines


def write_markdown(path: str, results: dict):
    report, baseline, s = results["programs"], results.get("baseline"), results["settings"]
    trained = [p for entry in report.values() for p in entry["trained"]]
    held = [p for entry in report.values() for p in entry["held_out"]]
    lines = [
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
        f"Trained phrasings: {sum(p['decoded_exactly'] for p in trained)}/{len(trained)} decoded exactly, "
        f"{sum(p['correct_outputs'] for p in trained)}/{sum(p['inputs'] for p in trained)} right outputs. "
        f"Held-out phrasings: {sum(p['decoded_exactly'] for p in held)}/{len(held)} decoded exactly, "
        f"{sum(p['correct_outputs'] for p in held)}/{sum(p['inputs'] for p in held)} right outputs.",
        "",
    ]
    if baseline:
        lines += [
            "## Counting ones: running a program vs. learning the function",
            "",
            f"The baseline is `AutoModelForSequenceClassification` with the same backbone config, trained end to "
            f"end (learning rate {baseline['learning_rate']:g}, {baseline['epochs']:g} epochs, final training loss "
            f"{baseline['final_train_loss']:.3f}) on {baseline['train_sequences']} bit sequences of length 1-8 "
            f"as text (\"{baseline['example_input']}\") -> the number of ones (33 classes). The Synthesizer runs "
            f"`{baseline['synthesizer_program']}` (\"{baseline['synthesizer_description']}\") on the same "
            "sequences, zero-padded to 32 bits.",
            "",
            *baseline_table(baseline),
            "",
        ]
    lines += [
        "## Held-out phrasings, one by one",
        "",
        "Decoded with a vocabulary of the trained phrasings' words only (unknown words read as `[UNK]`); "
        "\"decodes as\" names the library program the decoded instructions equal, if any.",
        "",
        *held_out_table(report),
        "",
        "## Run",
        "",
        f"    {results['command']}",
        "",
        f"Machine: {results['machine']}. Wall time {results['wall_seconds']:.0f} s. "
        f"Stepwise (Algorithm 1) and decoded execution agree on the checked inputs: "
        f"{all(entry.get('stepwise_agrees', True) for entry in report.values())}.",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_figure(path: str, results: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report, baseline = results["programs"], results.get("baseline")
    fig, axes = plt.subplots(1, 2 if baseline else 1, figsize=(14 if baseline else 8, 5), squeeze=False)
    ax = axes[0, 0]
    names = list(report)
    x = np.arange(len(names))
    series = [
        ("trained: decoded exactly", lambda e: np.mean([p["decoded_exactly"] for p in e["trained"]])),
        ("trained: right outputs", lambda e: sum(p["correct_outputs"] for p in e["trained"])
         / max(1, sum(p["inputs"] for p in e["trained"]))),
        ("held-out: decoded exactly", lambda e: np.mean([p["decoded_exactly"] for p in e["held_out"]])
         if e["held_out"] else 0),
        ("held-out: right outputs", lambda e: sum(p["correct_outputs"] for p in e["held_out"])
         / max(1, sum(p["inputs"] for p in e["held_out"]))),
    ]
    width = 0.2
    for i, (label, value) in enumerate(series):
        ax.bar(x + (i - 1.5) * width, [value(report[n]) for n in names], width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.set_title("Synthesizer on the program library")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4)
    if baseline:
        ax = axes[0, 1]
        rows = [row for row in baseline["rows"] if row["inputs"] != "train"]
        x = np.arange(len(rows))
        for offset, key, label in ((-0.2, "baseline_accuracy", "end-to-end BERT classifier"),
                                   (0.2, "synthesizer_accuracy", "Synthesizer running count_ones_32")):
            values = [r[key] for r in rows]
            ax.bar(x + offset, values, 0.4, label=label)
            for xi, value in zip(x + offset, values):
                ax.text(xi, value + 0.01, percent(value), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [r["inputs"].replace("held_out_", "held-out, length ").replace("length_", "length ")
                          for r in rows])
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("accuracy")
        ax.set_title("Counting ones (the classifier trained on lengths 1-8)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None, callbacks=None):
    wall_start = time.time()
    model_args, data_args, training_args = parse_args(argv)
    command = "python examples/run_program_library.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if os.environ.get("OMP_NUM_THREADS"):
        command = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " + command

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    check_world_size(training_args)
    machine = machine_description()

    k, length = data_args.data_memory_size, data_args.max_program_length
    programs = select_programs(data_args)
    phrasings = {}
    for program in programs:
        trained, held_out = split_phrasings(program, data_args.num_held_out)
        phrasings[program.name] = {"trained": trained, "held_out": held_out}
    records = library_records(programs, {name: p["trained"] for name, p in phrasings.items()}, k, length)
    train_rows = build_memorization_dataset(records)
    trained_phrasings = [record["description"] for record in records]
    tokenizer = build_description_tokenizer(trained_phrasings, max(k, length), model_args.max_position_embeddings)
    logger.info("%d programs, %d trained phrasings, %d rows, k=%d, L=%d, vocabulary %d", len(programs),
                len(trained_phrasings), len(train_rows), k, length, len(tokenizer))

    set_seed(training_args.seed)
    config = SynthesizerConfig(
        text_config=backbone_dict(model_args, tokenizer),
        data_memory_size=k,
        max_program_length=length,
        label_smoothing=model_args.label_smoothing,
        input_template="{instruction} {description}",
        add_special_tokens=True,
    )
    model = SynthesizerForSubleq(config)
    eval_dataset = tokenize_instructions(train_rows, tokenizer, config)
    # [CLS] and C_t are never dropped; only description words.
    train_dataset = WordDropoutDataset(eval_dataset, tokenizer, model_args.word_dropout,
                                       keep_prefix=2 if config.add_special_tokens else 1, seed=training_args.seed)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(program_length=length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
    )
    train_start = time.time()
    trainer.train(resume_from_checkpoint=find_checkpoint_to_resume(training_args))
    train_seconds = time.time() - train_start
    trainer.save_model()
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_metrics("eval", metrics)
    if not trainer.is_world_process_zero():
        return None

    library = {}
    for program in programs:
        assembled = program.assemble(k, length)
        library[program.name] = {**phrasings[program.name], "program": [list(i) for i in assembled.program],
                                 "inputs": assembled.inputs, "outputs": assembled.outputs, "memory": assembled.memory}
    with open(os.path.join(training_args.output_dir, "library.json"), "w") as f:
        json.dump(library, f)

    # Everything below runs the saved checkpoint through the pipeline, as a user would.
    pipe = pipeline("subleq-execution", model=training_args.output_dir, device=-1)
    eval_start = time.time()
    report = evaluate_library(pipe, programs, phrasings, data_args)
    eval_seconds = time.time() - eval_start
    baseline = None
    if data_args.baseline:
        baseline = run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings)

    results = {
        "command": command,
        "machine": machine,
        "settings": {
            "backbone": f"{model_args.backbone_type} {model_args.num_hidden_layers} x {model_args.hidden_size}, "
                        f"{model_args.num_attention_heads} heads, intermediate {model_args.intermediate_size}",
            "data_memory_size": k,
            "max_program_length": length,
            "num_held_out": data_args.num_held_out,
            "num_inputs": data_args.num_inputs,
            "vocabulary": len(tokenizer),
            "train_rows": len(train_rows),
            "steps_to_100": first_step_reaching(trainer.state.log_history),
            "global_step": trainer.state.global_step,
            "train_seconds": round(train_seconds, 1),
            "pipeline_eval_seconds": round(eval_seconds, 1),
            "final_exact_match": metrics["eval_exact_match"],
            "final_program_exact_match": metrics["eval_program_exact_match"],
            "model_args": asdict(model_args),
            "data_args": asdict(data_args),
            "learning_rate": training_args.learning_rate,
            "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
            "num_train_epochs": training_args.num_train_epochs,
            "seed": training_args.seed,
        },
        "programs": report,
        "baseline": baseline,
        "wall_seconds": round(time.time() - wall_start, 1),
    }
    with open(os.path.join(training_args.output_dir, "library_results.json"), "w") as f:
        json.dump(results, f, indent=2)
    if data_args.results_dir:
        os.makedirs(data_args.results_dir, exist_ok=True)
        with open(os.path.join(data_args.results_dir, "program_library.json"), "w") as f:
            json.dump(results, f, indent=2)
        write_markdown(os.path.join(data_args.results_dir, "program_library.md"), results)
        write_figure(os.path.join(data_args.results_dir, "program_library.png"), results)

    trained = [p for entry in report.values() for p in entry["trained"]]
    card = build_model_card(
        model.config,
        repo_id=training_args.hub_model_id or os.path.basename(os.path.abspath(training_args.output_dir)),
        script="examples/run_program_library.py",
        task_description=f"Memorizes {len(programs)} library programs ({', '.join(library)}), each named by several "
        "natural-language phrasings. `library.json` holds each program's phrasings, instructions, data-memory "
        "layout and initial memory: pass `memory=` (the initial memory with the inputs written in) to the pipeline "
        "and read the outputs from the returned memory.",
        example_description=trained[0]["description"],
        results={"trained phrasings decoded exactly": f"{sum(p['decoded_exactly'] for p in trained)}/{len(trained)}",
                 "right outputs, trained phrasings": f"{sum(p['correct_outputs'] for p in trained)}/"
                                                     f"{sum(p['inputs'] for p in trained)}",
                 "steps to 100% exact match": results["settings"]["steps_to_100"]},
        training_settings={**asdict(model_args), "programs": list(library), "data_memory_size": k,
                           "max_program_length": length, "learning_rate": training_args.learning_rate,
                           "batch_size": results["settings"]["batch_size"], "seed": training_args.seed},
    )
    card.save(os.path.join(training_args.output_dir, "README.md"))
    print("\n".join(headline_table(report)))
    if baseline:
        print("\n".join(baseline_table(baseline)))
    return results


if __name__ == "__main__":
    main()
