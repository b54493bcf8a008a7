#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
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
4. Baselines. Networks with the backbone's sizes map a bit sequence as text ("1 0 1 1") to its number of ones,
   trained end to end on every sequence of length <= 8 but a held-out quarter of the length-8 ones; evaluated on
   those held out and on random sequences of lengths 16 and 32 (`--baselines`): `absolute`, the backbone as
   `AutoModelForSequenceClassification` (learned absolute positions, 33 classes); `rotary`, RoFormer (rotary
   positions, 33 classes); `no_positions`, the backbone with its position embeddings zeroed and frozen, summed over
   the tokens, regressing the count, which can in principle count at any length. A classifier's classes above 8
   never occur in training. The Synthesizer runs `count_ones_32` on the same inputs, zero-padded to 32 bits.

Steps 2 to 4 run the saved checkpoint (`--output_dir`) through the pipeline, as a user would. Results:
`<output_dir>/library_results.json` (with the command and the machine); `bench/program_library.py` turns them into
the tables, markdown and figure of `bench/results/program_library.*`.

Tiny CPU run (seconds; two programs, no baseline):

    python examples/run_program_library.py --output_dir runs/library-tiny --programs add,absolute \\
        --data_memory_size 4 --max_program_length 4 --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --learning_rate 3e-3 --per_device_train_batch_size 8 \\
        --save_strategy no --num_inputs 200 --no_baseline

The committed results (bench/results/program_library.*; about 7 minutes on a loaded 2-core CPU: 5.5 to memorize,
10 s to run every phrasing on 1,000 inputs per program, 1 for the baseline):

    OMP_NUM_THREADS=1 python examples/run_program_library.py --output_dir runs/library --disable_tqdm true
    python bench/program_library.py --run_dir runs/library

Rerunning a command whose run was interrupted resumes the Synthesizer from the last checkpoint in --output_dir; a
finished run is reported and left alone (one that stopped below 100%, rerun with more epochs, trains further), and
--overwrite_output_dir starts over.
"""

import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from modeling_synthesizer import SubleqError
from modeling_synthesizer.program_library import load_program
from synthesizer_examples.arguments import (
    FRACTION,
    NON_NEGATIVE,
    NON_NEGATIVE_REAL,
    POSITIVE,
    POSITIVE_REAL,
    PROBABILITY,
    STEP_BUDGET,
    Range,
    check_backbone,
    check_library_arguments,
    check_max_position_embeddings,
    check_ranges,
    comma_separated,
    library_input_lengths,
)
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.library import (
    WordDropoutDataset,
    bits_to_text,
    build_count_ones_dataset,
    build_description_tokenizer,
    count_ones_splits,
    library_records,
    library_synthesizer,
    padded_program,
    split_phrasings,
)
from synthesizer_examples.memorization import build_memorization_dataset
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.model_card import ModelCardSpec, subleq_usage, synthesizer_summary
from synthesizer_examples.run_info import launch_command, machine_description, redact_settings
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.training import (
    MemorizationTrainingArguments,
    StopAtExactMatchCallback,
    find_checkpoint_to_resume,
    finished_results,
    first_step_reaching,
    parse_example_args,
    say,
    setup_run,
    tokenize_instructions,
    write_results,
)


logger = logging.getLogger(__name__)

RESULTS_FILE = "library_results.json"

# The program that runs the baseline's inputs: counts the ones of up to 32 bits (shorter inputs zero-padded).
LONG_COUNT_PROGRAM = "count_ones_32"
# The baseline trains on every bit sequence up to its longest training length, 2 ** (n + 1) of them: 16 is already
# 131,070 sequences.
MAX_BASELINE_TRAIN_LENGTH = 16


@dataclass
class ModelArguments:
    hidden_size: int = field(default=128, metadata={"help": "Backbone hidden size (the paper: 256; small for CPU)."})
    num_hidden_layers: int = field(default=2, metadata={"help": "Backbone layers (the paper: 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper: 4)."})
    intermediate_size: int = field(default=512, metadata={"help": "Feed-forward size (the paper: 1024)."})
    backbone_type: str = field(
        default="bert", metadata={"help": "Any AutoConfig model_type with BERT-style size names, e.g. bert, roberta."}
    )
    max_position_embeddings: int = field(
        default=64, metadata={"help": "Backbone positions: the longest input is a 32-bit baseline sequence plus "
                                      "[CLS]/[SEP] (34 tokens)."}
    )
    dropout: float = field(default=0.1, metadata={"help": "Backbone hidden and attention dropout (BERT's 0.1)."})
    label_smoothing: float = field(
        default=0.05, metadata={"help": "Label smoothing of each head (the authors' 0.05)."}
    )
    word_dropout: float = field(
        default=0.1, metadata={"help": "Probability of replacing each description word by [UNK] in training, so that "
                                       "a program is named by any of its words, not one exact phrasing."}
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        check_backbone(self)
        check_ranges(self, label_smoothing=FRACTION, word_dropout=FRACTION)


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
    min_margin: float = field(
        default=10.0, metadata={"help": "Opt-in matching of unseen phrasings, as measured here (the checkpoint's own "
                                        "default runs only trained phrasings): a held-out phrasing runs as the "
                                        "library program most likely under the network when it leads every program "
                                        "with other instructions by at least this many nats (10: over 20,000 times "
                                        "likelier); otherwise the pipeline refuses it."}
    )
    min_match_confidence: float = field(
        default=0.1, metadata={"help": "Opt-in matching, as measured here: that program also needs every one of its "
                                       "instructions decoded with at least this probability (the network is not "
                                       "sure of a program it gives an instruction under 10%%)."}
    )
    baseline: bool = field(default=True, metadata={"help": "Train and compare the end-to-end baselines."})
    baselines: str = field(
        default="absolute,rotary,no_positions",
        metadata={"help": "Comma-separated end-to-end baselines, each the backbone's sizes trained on bits -> count: "
                          "'absolute' (AutoModelForSequenceClassification of --backbone_type: learned absolute "
                          "positions, [CLS] pooler, 33 classes), 'rotary' (RoFormerForSequenceClassification: rotary "
                          "positions, 33 classes), 'no_positions' (AutoModel of --backbone_type with its position "
                          "embeddings zeroed and frozen, summed over the tokens, linear regression on the count, "
                          "rounded: can count at any length in principle)."},
    )
    baseline_epochs: float = field(default=100, metadata={"help": "Epochs of each baseline."})
    baseline_learning_rate: float = field(default=5e-4, metadata={"help": "Learning rate of each baseline."})
    baseline_batch_size: int = field(default=32, metadata={"help": "Batch size of each baseline."})
    baseline_train_max_length: int = field(default=8, metadata={"help": "Longest training sequence (count_ones: 8)."})
    baseline_held_out_fraction: float = field(
        default=0.25, metadata={"help": "Share of the longest training-length sequences held out."}
    )
    baseline_long_lengths: str = field(default="16,32", metadata={"help": "Longer test lengths (at most 32)."})
    baseline_num_long: int = field(default=1000, metadata={"help": "Random test sequences per longer length."})

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        self.program_names = check_library_arguments(self)
        check_ranges(self, num_inputs=POSITIVE, max_steps_per_run=STEP_BUDGET,
                     stepwise_check_inputs=Range(0, self.num_inputs), min_margin=NON_NEGATIVE,
                     min_match_confidence=PROBABILITY, baseline_epochs=POSITIVE_REAL,
                     baseline_learning_rate=NON_NEGATIVE_REAL, baseline_batch_size=POSITIVE,
                     baseline_train_max_length=Range(1, MAX_BASELINE_TRAIN_LENGTH),
                     baseline_held_out_fraction=Range(0, 1, low_open=True, high_open=True),
                     baseline_num_long=POSITIVE)
        self.long_lengths()
        held_out = round(2**self.baseline_train_max_length * self.baseline_held_out_fraction)
        if not 0 < held_out < 2**self.baseline_train_max_length:
            raise ValueError(f"--baseline_held_out_fraction {self.baseline_held_out_fraction} holds out {held_out} of "
                             f"the {2**self.baseline_train_max_length} sequences of length "
                             f"{self.baseline_train_max_length}: some must be held out and some trained")
        baseline_names(self)
        if self.baseline and LONG_COUNT_PROGRAM not in self.program_names:
            raise ValueError(f"the baseline comparison runs {LONG_COUNT_PROGRAM}: add it to --programs or pass "
                             "--no_baseline")

    def long_lengths(self) -> list[int]:
        """`--baseline_long_lengths` as numbers, each above `--baseline_train_max_length` and at most the bits that
        `count_ones_32` takes.

        Raises:
            ValueError: naming the flag and its range.
        """
        width = load_program(LONG_COUNT_PROGRAM).inputs["bits"].length
        allowed = Range(self.baseline_train_max_length + 1, width)
        items = comma_separated("baseline_long_lengths", self.baseline_long_lengths)
        lengths = [int(item) if item.isdigit() else None for item in items]
        if not lengths or not all(length in allowed for length in lengths):
            raise ValueError(f"--baseline_long_lengths must be comma-separated lengths {allowed} (above "
                             f"--baseline_train_max_length, at most the {width} bits of {LONG_COUNT_PROGRAM}), got "
                             f"{self.baseline_long_lengths!r}")
        return lengths


@dataclass
class LibraryTrainingArguments(MemorizationTrainingArguments):
    """Defaults for memorizing the library on a CPU."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate (the authors': 1e-3)."})
    num_train_epochs: float = field(
        default=300, metadata={"help": "Epochs of the linear decay (a cap: training stops at 100%% exact match)."}
    )
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Batch per process."})


def check_arguments(model_args: ModelArguments, data_args: DataArguments, training_args) -> None:
    """The checks between flags of two dataclasses: the backbone's positions hold the longest input the script
    builds, the Synthesizer's (every phrasing, trained or held out) and, with the `absolute` or `rotary` baseline,
    the longest bit sequence with [CLS] and [SEP].

    Raises:
        ValueError: naming `--max_position_embeddings` and the input that does not fit.
    """
    descriptions = [description for name in data_args.program_names for description in load_program(name).descriptions]
    lengths = library_input_lengths(descriptions, data_args.max_program_length)
    if {"absolute", "rotary"} & set(baseline_names(data_args)):
        longest = max(data_args.long_lengths())
        lengths[f"a baseline's {longest}-bit sequence"] = longest + 2
    check_max_position_embeddings(model_args.max_position_embeddings, lengths)


def parse_args(argv=None):
    return parse_example_args((ModelArguments, DataArguments, LibraryTrainingArguments), argv, check=check_arguments)


# Data, model and card


def select_programs(data_args: DataArguments):
    """The library programs of `--programs` (checked while parsing)."""
    return [load_program(name) for name in data_args.program_names]


def split_library(programs, num_held_out: int) -> dict:
    """Program name -> {"trained": [...], "held_out": [...]} phrasings."""
    phrasings = {}
    for program in programs:
        trained, held_out = split_phrasings(program, num_held_out)
        phrasings[program.name] = {"trained": trained, "held_out": held_out}
    return phrasings


def program_inputs(program, input_seed: int, count: int) -> list[dict]:
    """The first `count` random inputs of `program`: the same ones for every phrasing, and for the card."""
    rng = random.Random(f"{input_seed}-{program.name}")
    return [program.random_inputs(rng) for _ in range(count)]


def build_datasets(records: list[dict], tokenizer, config, word_dropout: float, seed: int):
    """`(train, eval)`: the trained phrasings' rows, with word dropout for training and clean for evaluation."""
    eval_dataset = tokenize_instructions(build_memorization_dataset(records), tokenizer, config)
    # [CLS] and C_t are never dropped; only description words.
    train_dataset = WordDropoutDataset(eval_dataset, tokenizer, word_dropout,
                                       keep_prefix=2 if config.add_special_tokens else 1, seed=seed)
    return train_dataset, eval_dataset


def build_card(config, model_args, data_args, training_args, programs, phrasings) -> ModelCardSpec:
    """The checkpoint's card: its usage runs two trained phrasings of the first program on one of the evaluation
    inputs, and the task description says which outputs a right run ends with."""
    program = programs[0]
    assembled = program.assemble(data_args.data_memory_size, data_args.max_program_length)
    values = program_inputs(program, data_args.input_seed, 1)[0]
    memory = [int(cell) for cell in assembled.with_inputs(**values)]
    names = ", ".join(p.name for p in programs)
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=f"Memorizes {len(programs)} library programs ({names}), each named by several "
        "natural-language phrasings. `library.json` holds each program's phrasings, instructions, data-memory "
        "layout and initial memory: pass `memory=` (the initial memory with the inputs written in) to the pipeline "
        f"and read the outputs from the returned memory. The usage runs `{program.name}` on the inputs {values}; "
        f"a right run ends with {program.reference(**values)} in the cells (first, count) {assembled.outputs}.",
        usage=subleq_usage(phrasings[program.name]["trained"][:2], memory=repr(memory),
                           max_steps=data_args.max_steps_per_run),
        script="examples/run_program_library.py",
        training_settings=redact_settings({
            **asdict(model_args), "programs": [p.name for p in programs],
            "data_memory_size": data_args.data_memory_size, "max_program_length": data_args.max_program_length,
            "learning_rate": training_args.learning_rate,
            "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
            "seed": training_args.seed}),
    )


def write_library(output_dir: str, programs, phrasings, data_args: DataArguments) -> None:
    """`library.json`: per program, its phrasings, instructions, data-memory layout and initial memory."""
    library = {}
    for program in programs:
        assembled = program.assemble(data_args.data_memory_size, data_args.max_program_length)
        library[program.name] = {**phrasings[program.name], "program": [list(i) for i in assembled.program],
                                 "inputs": assembled.inputs, "outputs": assembled.outputs, "memory": assembled.memory}
    with open(os.path.join(output_dir, "library.json"), "w") as f:
        json.dump(library, f)


# Evaluation through the pipeline


def subleq_error_of(pipe) -> type:
    """The `SubleqError` that `pipe` raises: a pipeline loaded from a folder with `trust_remote_code` runs the
    folder's own code, with its own copy of the class (not `modeling_synthesizer`'s)."""
    return getattr(sys.modules[type(pipe).__module__], "SubleqError", SubleqError)


def run_inputs(pipe, description: str, memories: list[list[int]], max_steps: int, strategy: str = "lazy",
               **matching):
    """The pipeline's results for `description` on each memory, all in one batch; a run that overflows int64 is
    None. `matching`: the pipeline's `min_margin` and `min_match_confidence`."""
    items = [{"description": description, "memory": memory} for memory in memories]
    error = subleq_error_of(pipe)
    try:
        return pipe(items, max_steps=max_steps, strategy=strategy, batch_size=len(items), **matching)
    except error:
        # One overflowing input fails the whole batch (only a wrongly decoded program can overflow): run one by one.
        results = []
        for item in items:
            try:
                results.append(pipe(item, max_steps=max_steps, strategy=strategy, **matching))
            except error:
                results.append(None)
        return results


def evaluate_phrasing(pipe, program, assembled, description, padded, library_padded, inputs, memories, max_steps,
                      matching: dict):
    """
    One phrasing: what the network decodes from it as given, which known program the pipeline matches it to with
    the opt-in `matching` thresholds (or whether it refuses it), and how many of the inputs the run gets right. A
    phrasing "runs wrong" when the pipeline runs it (not refused) and any output is wrong: a silent wrong answer.
    """
    decoded = [tuple(instruction) for instruction in pipe.decode_program(description, allow_unknown=True)]
    wrong = sum(d != t for d, t in zip(decoded, padded))
    match = pipe.match_program(description, **matching)
    refused = match["how"] == "refused"
    results = [] if refused else run_inputs(pipe, description, memories, max_steps, **matching)
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
        "decision": match["how"],  # "exact" (a trained phrasing), "likely" or "refused"
        "runs_as": match["program"],
        "margin": match["margin"],
        "runner_up": list(match["scores"])[1] if match["scores"] and len(match["scores"]) > 1 else None,
        "runs_right": not refused and correct == len(inputs),
        "runs_wrong": not refused and correct < len(inputs),
        "correct_outputs": int(correct),
        "inputs": len(inputs),
    }


def evaluate_program(pipe, program, phrasings: dict, library_padded: dict, data_args: DataArguments) -> dict:
    """Every phrasing of `program` decoded and run on the same random inputs; stepwise checked against decoded."""
    assembled = program.assemble(data_args.data_memory_size, data_args.max_program_length)
    inputs = program_inputs(program, data_args.input_seed, data_args.num_inputs)
    memories = [assembled.with_inputs(**values) for values in inputs]
    entry = {
        "instructions": len(assembled.program),
        "distinct_inputs": len({json.dumps(values, sort_keys=True) for values in inputs}),
    }
    for split in ("trained", "held_out"):
        entry[split] = [
            evaluate_phrasing(pipe, program, assembled, description, library_padded[program.name],
                              library_padded, inputs, memories, data_args.max_steps_per_run,
                              {"min_margin": data_args.min_margin,
                               "min_match_confidence": data_args.min_match_confidence})
            for description in phrasings[split]
        ]
    if data_args.stepwise_check_inputs:
        first, few = phrasings["trained"][0], memories[: data_args.stepwise_check_inputs]
        decoded_runs = run_inputs(pipe, first, few, data_args.max_steps_per_run)
        stepwise_runs = run_inputs(pipe, first, few, data_args.max_steps_per_run, strategy="stepwise")
        entry["stepwise_agrees"] = decoded_runs == stepwise_runs
    return entry


def evaluate_library(pipe, programs, phrasings, data_args: DataArguments) -> dict:
    k, length = data_args.data_memory_size, data_args.max_program_length
    library_padded = {program.name: padded_program(program, k, length) for program in programs}
    report = {}
    for program in programs:
        entry = evaluate_program(pipe, program, phrasings[program.name], library_padded, data_args)
        report[program.name] = entry
        decoded_and_right = {split: [(p["decoded_exactly"], p["correct_outputs"]) for p in entry[split]]
                             for split in ("trained", "held_out")}
        logger.info("%s: %s", program.name, decoded_and_right)
    return report


# The baselines: the backbone's sizes, trained end to end on bits -> count

# name -> (column label, model); the counts go up to 32 (LONG_COUNT_PROGRAM's width).
BASELINES = {
    "absolute": ("{backbone}, learned absolute positions",
                 "AutoModelForSequenceClassification of the Synthesizer's backbone config: learned absolute "
                 "positions, the [CLS] pooler, 33 classes"),
    "rotary": ("RoFormer, rotary positions",
               "RoFormerForSequenceClassification with the backbone's sizes: rotary positions, the [CLS] token, "
               "33 classes"),
    "no_positions": ("{backbone}, no positions, sum pooling",
                     "AutoModel of the Synthesizer's backbone config with its position embeddings zeroed and frozen "
                     "(a bag of tokens), its outputs summed over the tokens, and a linear regression on the count, "
                     "rounded"),
}


def baseline_names(data_args: DataArguments) -> list[str]:
    """The `--baselines` to train (none with `--no_baseline`); raises ValueError on an unknown name."""
    if not data_args.baseline:
        return []
    names = [name.strip() for name in data_args.baselines.split(",") if name.strip()]
    unknown = [name for name in names if name not in BASELINES]
    if unknown or not names:
        raise ValueError(f"--baselines takes a comma-separated list of {', '.join(BASELINES)}, got "
                         f"{data_args.baselines!r} (--no_baseline for none)")
    return list(dict.fromkeys(names))


class NoPositionCounter(nn.Module):
    """The `no_positions` baseline: `AutoModel.from_config(config)` with its position embeddings zeroed and frozen,
    so that each token's output depends on the multiset of tokens only, summed over the non-padding tokens, and a
    linear regression on the count (mean squared error). Its `logits` are the predicted counts, shape `(batch,)`:
    unlike a classifier's, they are not bounded by the counts seen in training."""

    def __init__(self, config):
        super().__init__()
        self.backbone = AutoModel.from_config(config)
        positions = getattr(getattr(self.backbone, "embeddings", None), "position_embeddings", None)
        if not isinstance(positions, nn.Embedding):
            raise ValueError(f"the no_positions baseline needs learned position embeddings to zero "
                             f"(embeddings.position_embeddings); {config.model_type} has none")
        nn.init.zeros_(positions.weight)
        positions.weight.requires_grad_(False)
        self.head = nn.Linear(config.hidden_size, 1)

    def forward(self, input_ids, attention_mask=None, labels=None):
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        # Every token at position 0 (a zero vector): no length limit from the position table either.
        hidden = self.backbone(input_ids=input_ids, attention_mask=mask,
                               position_ids=torch.zeros_like(input_ids)).last_hidden_state
        counts = self.head((hidden * mask.unsqueeze(-1).to(hidden.dtype)).sum(1)).squeeze(-1)
        loss = None if labels is None else nn.functional.mse_loss(counts, labels.to(counts.dtype))
        return SequenceClassifierOutput(loss=loss, logits=counts)


def build_baseline(name: str, model_args, tokenizer, num_labels: int) -> nn.Module:
    """The untrained `name` baseline (see BASELINES) with the Synthesizer's backbone sizes."""
    backbone = backbone_config(model_args, tokenizer)
    if name == "absolute":
        return AutoModelForSequenceClassification.from_config(AutoConfig.for_model(**backbone, num_labels=num_labels))
    if name == "rotary":
        config = AutoConfig.for_model(**{**backbone, "model_type": "roformer"}, num_labels=num_labels)
        return AutoModelForSequenceClassification.from_config(config)
    return NoPositionCounter(AutoConfig.for_model(**backbone))


def train_baseline(name, model_args, data_args, training_args, tokenizer, train_dataset, num_labels: int):
    """`(trainer, final training loss)` of the `name` baseline, on one process."""
    set_seed(training_args.seed)
    model = build_baseline(name, model_args, tokenizer, num_labels)
    args = TrainingArguments(
        output_dir=os.path.join(training_args.output_dir, "baseline", name),
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
    trainer = Trainer(model=model, args=args, train_dataset=train_dataset, processing_class=tokenizer)
    return trainer, trainer.train().training_loss


def predicted_counts(trainer, dataset) -> np.ndarray:
    """A baseline's counts on `dataset`: a classifier's most likely class, or a regression's rounded output."""
    predictions = np.asarray(trainer.predict(dataset).predictions)
    return predictions.argmax(-1) if predictions.ndim == 2 else np.rint(predictions).astype(int)


def compare_on(name, sequences, dataset, trainers: dict, pipe, description, assembled, width, max_steps) -> dict:
    """One row of the comparison: each baseline and the Synthesizer (zero-padded to `width` bits) on `sequences`."""
    truth = np.asarray([sum(bits) for bits in sequences])
    predicted = {baseline: predicted_counts(trainer, dataset) for baseline, trainer in trainers.items()}
    memories = [assembled.with_inputs(bits=list(bits) + [0] * (width - len(bits))) for bits in sequences]
    results = run_inputs(pipe, description, memories, max_steps)
    synthesizer = [None if r is None else assembled.read_outputs(r["memory"])["count"] for r in results]
    return {
        "inputs": name,
        "sequences": len(sequences),
        "lengths": sorted({len(bits) for bits in sequences}),
        "baseline_accuracies": {baseline: float((counts == truth).mean()) for baseline, counts in predicted.items()},
        "baseline_largest_counts": {baseline: int(counts.max()) for baseline, counts in predicted.items()},
        "synthesizer_accuracy": float(np.mean([s == t for s, t in zip(synthesizer, truth)])),
        "true_counts_range": [int(truth.min()), int(truth.max())],
    }


def run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings) -> dict:
    lengths = data_args.long_lengths()
    program = load_program(LONG_COUNT_PROGRAM)
    width = program.inputs["bits"].length
    if max(lengths) > width:
        raise ValueError(f"--baseline_long_lengths must be at most {width} ({LONG_COUNT_PROGRAM} takes {width} bits)")
    splits = count_ones_splits(data_args.baseline_train_max_length, data_args.baseline_held_out_fraction, lengths,
                               data_args.baseline_num_long, seed=data_args.input_seed)
    tokenized = {name: build_count_ones_dataset(seqs).map(lambda batch: tokenizer(batch["text"]), batched=True,
                                                          remove_columns=["text"])
                 for name, seqs in splits.items()}
    trainers, models = {}, {}
    for name in baseline_names(data_args):
        start = time.time()
        trainers[name], train_loss = train_baseline(name, model_args, data_args, training_args, tokenizer,
                                                    tokenized["train"], width + 1)  # counts 0..32
        label, model = BASELINES[name]
        models[name] = {"label": label.format(backbone=model_args.backbone_type.upper()), "model": model,
                        "global_step": trainers[name].state.global_step, "final_train_loss": train_loss,
                        "train_seconds": round(time.time() - start, 1)}
    description = phrasings[LONG_COUNT_PROGRAM]["trained"][0]
    assembled = program.assemble(data_args.data_memory_size, data_args.max_program_length)
    rows = [compare_on(name, sequences, tokenized[name], trainers, pipe, description, assembled, width,
                       data_args.max_steps_per_run) for name, sequences in splits.items()]
    logger.info("baselines vs synthesizer: %s", rows)
    return {
        "task": "bit sequence as text ('1 0 1 1 ...') -> number of ones (0 to 32)",
        "models": models,
        "synthesizer_program": LONG_COUNT_PROGRAM,
        "synthesizer_description": description,
        "example_input": bits_to_text(splits["train"][-1]),
        "train_sequences": len(splits["train"]),
        "train_max_length": data_args.baseline_train_max_length,
        "epochs": data_args.baseline_epochs,
        "learning_rate": data_args.baseline_learning_rate,
        "batch_size": data_args.baseline_batch_size,
        "rows": rows,
    }


# Results


def summarize(trainer, model_args, data_args, metrics: dict, seconds: dict, vocabulary: int) -> dict:
    """The `settings` of `library_results.json`."""
    args = trainer.args
    return {
        "backbone": f"{model_args.backbone_type} {model_args.num_hidden_layers} x {model_args.hidden_size}, "
                    f"{model_args.num_attention_heads} heads, intermediate {model_args.intermediate_size}",
        "data_memory_size": data_args.data_memory_size,
        "max_program_length": data_args.max_program_length,
        "num_held_out": data_args.num_held_out,
        "min_margin": data_args.min_margin,
        "min_match_confidence": data_args.min_match_confidence,
        "num_inputs": data_args.num_inputs,
        "vocabulary": vocabulary,
        "train_rows": len(trainer.eval_dataset),
        "steps_to_100": first_step_reaching(trainer.state.log_history),
        "global_step": trainer.state.global_step,
        "train_seconds": round(seconds["train"], 1),
        "pipeline_eval_seconds": round(seconds["pipeline_eval"], 1),
        "final_exact_match": metrics["eval_exact_match"],
        "final_program_exact_match": metrics["eval_program_exact_match"],
        "model_args": asdict(model_args),
        "data_args": asdict(data_args),
        "learning_rate": args.learning_rate,
        "batch_size": args.per_device_train_batch_size * args.world_size,
        "num_train_epochs": args.num_train_epochs,
        "seed": args.seed,
    }


def card_results(report: dict, steps_to_100) -> dict:
    """The card's Results: trained and held-out phrasings decoded exactly, right outputs, steps to 100%."""
    results = {}
    for split, label in (("trained", "trained phrasings"), ("held_out", "held-out phrasings")):
        phrasings = [p for entry in report.values() for p in entry[split]]
        results[f"{label} decoded exactly"] = f"{sum(p['decoded_exactly'] for p in phrasings)}/{len(phrasings)}"
        results[f"right outputs, {label}"] = (f"{sum(p['correct_outputs'] for p in phrasings)}/"
                                              f"{sum(p['inputs'] for p in phrasings)}")
        results.update(decision_counts(phrasings, label))
    results["steps to 100% exact match"] = steps_to_100
    return results


def decision_counts(phrasings: list[dict], label: str) -> dict:
    """How many of `phrasings` the pipeline ran right, refused, and ran wrong (silently)."""
    return {f"{label} run right": f"{sum(p['runs_right'] for p in phrasings)}/{len(phrasings)}",
            f"{label} refused": f"{sum(p['decision'] == 'refused' for p in phrasings)}/{len(phrasings)}",
            f"{label} run wrong": f"{sum(p['runs_wrong'] for p in phrasings)}/{len(phrasings)}"}


def print_summary(results: dict) -> None:
    for name, entry in results["programs"].items():
        cells = [f"{split} {sum(p['decoded_exactly'] for p in entry[split])}/{len(entry[split])} decoded exactly, "
                 f"{sum(p['correct_outputs'] for p in entry[split])}/{sum(p['inputs'] for p in entry[split])} right"
                 for split in ("trained", "held_out")]
        print(f"{name}: " + "; ".join(cells))
    for split, label in (("trained", "trained phrasings"), ("held_out", "held-out phrasings")):
        counts = decision_counts([p for entry in results["programs"].values() for p in entry[split]], label)
        print(", ".join(f"{name}: {value}" for name, value in counts.items()))
    for row in (results["baseline"] or {}).get("rows", []):
        baselines = ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in row["baseline_accuracies"].items())
        print(f"count ones, {row['inputs']}: baselines {baselines}; Synthesizer {row['synthesizer_accuracy']:.3f}")


def evaluate_saved(output_dir: str, model_args, data_args, training_args, tokenizer, programs, phrasings):
    """`(report, baseline, seconds)`: the checkpoint saved in `output_dir` run through the pipeline, as a user would,
    and compared with the end-to-end baseline; `seconds` is the time of the library evaluation."""
    write_library(output_dir, programs, phrasings, data_args)
    # The folder's own code, as a user loads it (config.json names the pipeline in custom_pipelines).
    pipe = pipeline("subleq-execution", model=output_dir, trust_remote_code=True, device=-1)
    start = time.time()
    report = evaluate_library(pipe, programs, phrasings, data_args)
    seconds = time.time() - start
    baseline = None
    if data_args.baseline:
        baseline = run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings)
    return report, baseline, seconds


def main(argv=None, callbacks=None):
    wall_start = time.time()
    model_args, data_args, training_args = parse_args(argv)
    settings = settings_of((model_args, data_args, training_args))  # as parsed: what a rerun is compared with
    setup_run(training_args, logger)
    finished = finished_results(training_args, RESULTS_FILE, required=("settings", "programs", "baseline"))
    if finished is not None:
        say(training_args, f"{training_args.output_dir} holds a finished run ({RESULTS_FILE}): nothing to do. "
                           "--overwrite_output_dir starts over.")
        print_summary(finished)
        return finished
    command, machine = launch_command("examples/run_program_library.py", argv), machine_description()
    programs = select_programs(data_args)
    phrasings = split_library(programs, data_args.num_held_out)
    k, length = data_args.data_memory_size, data_args.max_program_length
    trained = {name: p["trained"] for name, p in phrasings.items()}
    records = library_records(programs, trained, k, length)
    tokenizer = build_description_tokenizer([r["description"] for r in records], max(k, length),
                                            model_args.max_position_embeddings)
    set_seed(training_args.seed)
    model = library_synthesizer(backbone_config(model_args, tokenizer), programs, trained, k, length,
                                model_args.label_smoothing)
    train_dataset, eval_dataset = build_datasets(records, tokenizer, model.config, model_args.word_dropout,
                                                 training_args.seed)
    logger.info("%d programs, %d trained phrasings, %d rows, k=%d, L=%d, vocabulary %d", len(programs),
                len(records), len(eval_dataset), k, length, len(tokenizer))
    trainer = HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_compute_metrics(program_length=length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
        card=build_card(model.config, model_args, data_args, training_args, programs, phrasings),
    )
    write_run_settings(settings, training_args)
    train_start = time.time()
    trainer.train(resume_from_checkpoint=find_checkpoint_to_resume(training_args))
    seconds = {"train": time.time() - train_start}
    save_unpushed(trainer)  # the pipeline loads this folder; it is saved again below with its card, evaluated
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_metrics("eval", metrics)
    if not trainer.is_world_process_zero():
        return None
    report, baseline, seconds["pipeline_eval"] = evaluate_saved(
        training_args.output_dir, model_args, data_args, training_args, tokenizer, programs, phrasings)
    results = {"command": command, "machine": machine,
               "settings": summarize(trainer, model_args, data_args, metrics, seconds, len(tokenizer)),
               "programs": report, "baseline": baseline, "wall_seconds": round(time.time() - wall_start, 1)}
    trainer.card.results.update(card_results(report, results["settings"]["steps_to_100"]))
    save_unpushed(trainer)
    # Last, over the saved model: RESULTS_FILE marks the run as finished, and a rerun then does nothing.
    results = write_results(trainer, RESULTS_FILE, results, stopped_short=metrics["eval_exact_match"] < 1.0)
    push_saved(trainer, "Synthesizer: the program library, named in natural language")
    print_summary(results)
    return results


if __name__ == "__main__":
    main()
