#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Experiment 1 of "Rethinking Neural Computation": a Synthesizer memorizes N random subleq programs.

The network reads `[C_t token, program token]` and must predict the operands (A, B, C) of instruction C_t of that
program. Memorization is the task, so evaluation is on the training set; training stops at 100% instruction exact
match, `memorization_results.json` records the step (`steps_to_100`), and the run ends by running one memorized
program through `pipeline("subleq-execution")`. A run that ends below 100% exits with status 1.

Recipes (`--recipe`; flags given on the command line override a recipe's values):

    quick   (default) 8 programs of 32 instructions, k = 256, BERT 2 x 128, lr 3e-3, 120 epochs and at least 480
            optimizer steps (a smaller problem gets more epochs): about 10 seconds on 2 CPU cores
    paper   the authors' settings for Table 1: BERT 4 x 256, k = L = 256, N = 16, lr 1e-3, batch floor(N L / 20),
            linear decay over 250 epochs, evaluation once per epoch (about 1,100 steps for N = 16)
    tiny    4 programs of 16 instructions, BERT 2 x 64: seconds (tests, multi-process smoke runs)
    authors `paper` plus the rest of the authors' Experiment 1 code: bert-base-uncased + program tokens with their
            new-row init, PyTorch's default head init, C labels over [0, L) (the script's "authors' choices" below).
            Not matched: our C head keeps L + 1 classes (0 = HALT, instructions 1..L; theirs has L and numbers
            from 0), so one class is never a label; their step count is ours + 1 (`authors_step_count`)

    python examples/run_program_memorization.py --output_dir runs/memorize
    python examples/run_program_memorization.py --recipe paper --output_dir runs/paper-n16 --num_programs 16 --seed 1
    python examples/run_program_memorization.py --recipe authors --tokenizer_name path/to/bert-base-uncased \\
        --output_dir runs/authors-n16 --num_programs 16 --seed 1

Two processes on CPU (gloo), or several GPUs (drop --use_cpu):

    accelerate launch --multi_gpu --num_processes 2 examples/run_program_memorization.py --recipe tiny \\
        --output_dir runs/ddp --use_cpu
    torchrun --nproc_per_node 2 examples/run_program_memorization.py --recipe tiny --output_dir runs/ddp --use_cpu

Teach a memorization checkpoint N new random programs (`--model_name_or_path`, a folder or Hub id): they get the
next program tokens (`[PROG_4]`... after the checkpoint's last), random programs of its own k and L (drawn with
`--program_seed`, none equal to one it knows); its own programs are rehearsed exactly from its
`config.known_programs` (no other data is needed); the tokenizer gets the new tokens and the embeddings new rows.
k, L, the backbone and its tokenizer are the checkpoint's: a flag that says otherwise is refused (status 2). The
run ends as any other, and exits 1 and pushes nothing unless every old and every new program decodes exactly:

    python examples/run_program_memorization.py --recipe tiny --model_name_or_path runs/tiny --num_programs 2 \
        --output_dir runs/tiny-plus-2

Rerunning a command resumes an interrupted run from its last intact checkpoint, and reports a finished one without
touching it; a run that stopped below 100%, rerun with more epochs (or steps), trains further from its last
checkpoint. --overwrite_output_dir starts over. A rerun with other model, data or seed settings in the same
--output_dir is refused (run_settings.json records them).
"""

import argparse
import itertools
import logging
import math
import os
import re
import sys
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import datasets
import torch
from transformers import pipeline, set_seed

from modeling_synthesizer import SubleqError, SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.tokenizer import build_word_level_tokenizer, load_tokenizer_with_programs, program_token
from synthesizer_examples.arguments import (
    DATA_MEMORY_SIZE,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    PROGRAM_LENGTH,
    check_backbone,
    check_ranges,
    check_tokenizer_name,
)
from synthesizer_examples.authors import HEAD_INITS, init_heads_torch_default
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.memorization import (
    C_LABEL_RANGES,
    build_memorization_dataset,
    build_random_program_dataset,
    check_positive,
    programs_to_records,
    random_program_stream,
    rehearsal_records,
)
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.model_card import ModelCardSpec, card_training_settings, subleq_usage, synthesizer_summary
from synthesizer_examples.run_info import write_json_atomic
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.training import (
    MemorizationTrainingArguments,
    StopAtExactMatchCallback,
    argument_error,
    eval_curve,
    finished_results,
    first_step_reaching,
    parse_example_args,
    read_arguments_file,
    say,
    setup_run,
    tokenize_instructions,
    train_resuming,
    use_progress_callback,
    write_results,
)


logger = logging.getLogger(__name__)

RESULTS_FILE = "memorization_results.json"
# What a rerun of a finished run reports from its results (`outcome`).
REPORTED = ("num_programs", "final_exact_match", "final_program_exact_match", "steps_to_100", "global_step")
# Values a recipe sets over the dataclass defaults below, which are the authors' settings (the `paper` recipe). To add
# a recipe, add an entry: `--recipe NAME` then sets these defaults, and flags on the command line still win.
RECIPES = {
    # About 250-300 optimizer steps to 100%, measured over seeds: a smaller backbone, the tuned optimization of
    # bench/table1.py (higher peak lr behind a 10% warm-up, Adam beta2 0.98, no dropout, label smoothing 0.1) and
    # k = 256 cells, as the paper, so that the README's pipeline examples run on it. The budget grows with the rows
    # (epochs) but not below a floor of steps: a smaller problem has fewer steps per epoch, and 60 of 4 x 16's were
    # too few; 60 of 8 x 32's too few for a 2 x 64 backbone (bench/results/recipe_grid.md: N x L from 2 x 8 to
    # 8 x 32, on both backbones, with these defaults).
    "quick": {
        "num_programs": 8, "program_length": 32, "data_memory_size": 256,
        "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512,
        "dropout": 0.0, "label_smoothing": 0.1, "learning_rate": 3e-3, "warmup_steps": 0.1, "adam_beta2": 0.98,
        "per_device_train_batch_size": 32, "num_train_epochs": 120, "min_train_steps": 480,
    },
    "paper": {},
    # Seconds: for tests and for trying a launcher; k = 256 still, so that the pipeline examples run on it too.
    "tiny": {
        "num_programs": 4, "program_length": 16, "data_memory_size": 256,
        "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
        "dropout": 0.0, "label_smoothing": 0.0, "learning_rate": 1e-2, "warmup_steps": 0.1, "adam_beta2": 0.98,
        "per_device_train_batch_size": 16, "num_train_epochs": 100,
    },
    # `paper` plus what the authors' code does differently from our defaults; each is also a flag of its own
    # (bench/table1_ablation.py switches them on one at a time). Offline, point --tokenizer_name at a local copy.
    "authors": {
        "tokenizer_name": "bert-base-uncased", "embedding_init": "authors", "head_init": "torch_default",
        "c_label_range": "0..L-1",
    },
}
DEFAULT_RECIPE = "quick"
# The paper's backbone stops learning when a step sees only a few rows: N = 4, L = 16 at batch floor(N L / 20) = 3
# memorized 0 of 4 programs in 8,000 steps, in one process and in two.
SMALL_BATCH_FOR_PAPER_MODEL = 16
# `--embedding_init`: the backbone's own init, or the authors' (`init_new_embedding_rows_authors`).
EMBEDDING_INITS = ("normal", "authors")
# The input form of the checkpoints this script writes: a library checkpoint reads [CLS] C_t description [SEP].
MEMORIZATION_TEMPLATE = "{instruction} {description}"


# Arguments

@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "A memorization checkpoint (folder or Hub id) to teach --num_programs new random programs: "
                          "its own programs are rehearsed exactly from its known_programs, and its k, L, backbone "
                          "and tokenizer kept (the flags that set them default to the checkpoint's)."},
    )
    hidden_size: int = field(default=256, metadata={"help": "Backbone hidden size (the paper: 256)."})
    num_hidden_layers: int = field(default=4, metadata={"help": "Backbone layers (the paper: 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper: 4)."})
    intermediate_size: int = field(default=1024, metadata={"help": "Feed-forward size (the paper: 1024)."})
    backbone_type: str = field(
        default="bert", metadata={"help": "Any AutoConfig model_type with BERT-style size names, e.g. bert, roberta."}
    )
    dropout: float = field(
        default=0.1, metadata={"help": "Backbone hidden and attention dropout (BERT's default 0.1, as the authors)."}
    )
    label_smoothing: float = field(
        default=0.05, metadata={"help": "Label smoothing of each head (the authors': 0.05)."}
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "A tokenizer to use instead of the embedded word-level one, e.g. bert-base-uncased "
                          "(offline: a local folder). Program tokens are added and the embeddings resized."},
    )
    embedding_init: str = field(
        default="normal",
        metadata={"help": "Embedding rows of the program tokens: normal (the backbone's init) or authors (their "
                          "resize_embedding: a standard-normal draw rescaled to the other rows' mean row spread).",
                  "choices": list(EMBEDDING_INITS)},
    )
    head_init: str = field(
        default="normal",
        metadata={"help": "A, B and C heads: normal (normal(0, 0.02), zero bias) or torch_default (nn.Linear's "
                          "uniform +-1/sqrt(H), bias included: the authors' head, never re-initialized).",
                  "choices": list(HEAD_INITS)},
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        check_backbone(self)
        check_ranges(self, label_smoothing=FRACTION)
        if self.tokenizer_name is not None:
            check_tokenizer_name(self.tokenizer_name)


@dataclass
class DataArguments:
    recipe: str = field(
        default=DEFAULT_RECIPE,
        metadata={"help": "Named defaults for the other flags (see the top of this help).", "choices": list(RECIPES)},
    )
    num_programs: int = field(default=16, metadata={"help": "N, the number of programs (the paper: 16..128)."})
    program_length: int = field(default=256, metadata={"help": "L, instructions per program (the paper: 256)."})
    data_memory_size: int = field(default=256, metadata={"help": "k, data-memory cells (the paper: 256)."})
    c_label_range: str = field(
        default="0..L",
        metadata={"help": "Random programs' C: 0..L (every class of the C head) or 0..L-1 (the authors' range; "
                          "C = L, a jump to the last instruction, never occurs).", "choices": list(C_LABEL_RANGES)},
    )
    program_seed: int | None = field(
        default=None, metadata={"help": "Seed of the random programs (default: --seed)."}
    )
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "A dataset of programs made by data/make_random_programs.py: a Hub id, a local folder or a "
                          ".jsonl file (columns description, instruction, labels). Overrides the random-program "
                          "flags."},
    )

    def __post_init__(self):
        check_ranges(self, num_programs=POSITIVE, program_length=PROGRAM_LENGTH, data_memory_size=DATA_MEMORY_SIZE)
        if (self.dataset_name or "").endswith((".json", ".jsonl")) and not os.path.isfile(self.dataset_name):
            raise ValueError(f"--dataset_name {self.dataset_name}: no such file")


@dataclass
class PaperTrainingArguments(MemorizationTrainingArguments):
    """The authors' Experiment 1 optimization as defaults."""

    zero_batch_size_allowed: ClassVar[bool] = True  # the paper's batch

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate (the authors': 1e-3)."})
    num_train_epochs: float = field(default=250, metadata={"help": "Epochs of the linear decay (the authors': 250)."})
    per_device_train_batch_size: int = field(
        default=0, metadata={"help": "Batch per process; 0 = the paper's floor(N * L / 20) split over processes."}
    )
    # The heads read BERT's pooler, so every parameter gets a gradient: DDP need not search for unused ones.
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "DDP: look for parameters without gradients (not needed here)."}
    )
    min_train_steps: int = field(
        default=0,
        metadata={"help": "Train at least this many optimizer steps: when --num_train_epochs come to fewer steps (a "
                          "problem of few rows), the epochs are raised to reach it. 0: the epochs as given. "
                          "--max_steps overrides both."},
    )

    def __post_init__(self):
        check_ranges(self, min_train_steps=NON_NEGATIVE)
        super().__post_init__()


# Parsing, and what a checkpoint to teach keeps (status 2 for a flag that says otherwise)

# What a taught checkpoint keeps, as the flags that would set it: flag -> what it is, for the error message.
KEPT_BY_CHECKPOINT = {
    "data_memory_size": "k", "program_length": "L", "backbone_type": "backbone type",
    "hidden_size": "backbone hidden size", "num_hidden_layers": "backbone layers",
    "num_attention_heads": "backbone attention heads", "intermediate_size": "backbone feed-forward size",
    "dropout": "backbone dropout", "label_smoothing": "label smoothing",
    "tokenizer_name": "tokenizer", "head_init": "trained heads",
}


def parse_args(argv=None):
    """The arguments; with `--model_name_or_path`, the flags of `KEPT_BY_CHECKPOINT` default to the checkpoint's
    values (over any recipe's), and a flag given with another value is refused (status 2, naming it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    checkpoint = checkpoint_in(argv)
    recipes, kept = RECIPES, None
    if checkpoint is not None:
        try:
            kept = kept_settings(load_memorization_config(checkpoint))
        except ValueError as error:
            argument_error(str(error))
        recipes = {name: {**values, **kept} for name, values in RECIPES.items()}

    def check(model_args, data_args, training_args):
        if kept is not None:
            check_kept(model_args, data_args, kept)

    return parse_example_args(
        (ModelArguments, DataArguments, PaperTrainingArguments), argv, description=__doc__, recipes=recipes,
        default_recipe=DEFAULT_RECIPE, default_output_dir="runs/memorize", check=check,
    )


def checkpoint_in(argv: list[str]) -> str | None:
    """The `--model_name_or_path` of `argv` (or of its single `.json` file of arguments), else None: it sets the
    defaults of the other flags, so it is read before them. An unreadable file is left to the parser's error."""
    if len(argv) == 1 and argv[0].endswith(".json"):
        try:
            value = read_arguments_file(argv[0]).get("model_name_or_path")
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    finder = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    finder.add_argument("--model_name_or_path")
    return finder.parse_known_args(argv)[0].model_name_or_path


def load_memorization_config(model_name_or_path: str) -> SynthesizerConfig:
    """The config of the memorization checkpoint to teach.

    Raises:
        ValueError: naming the checkpoint when it cannot be read, is no Synthesizer, declares no known programs to
            rehearse, or is a library checkpoint (whose programs are taught by name with run_program_library.py).
    """
    where = f"--model_name_or_path {model_name_or_path}"
    try:
        config_dict, _ = SynthesizerConfig.get_config_dict(model_name_or_path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{where}: not a Synthesizer checkpoint ({error})") from None
    if config_dict.get("model_type") != SynthesizerConfig.model_type:
        raise ValueError(f"{where}: a {config_dict.get('model_type')!r} model, not a Synthesizer checkpoint")
    config = SynthesizerConfig.from_dict(config_dict)
    if not config.known_programs:
        raise ValueError(f"{where} declares no known_programs: its programs cannot be rehearsed")
    if config.add_special_tokens or config.input_template != MEMORIZATION_TEMPLATE:
        raise ValueError(f"{where} is not a memorization checkpoint (its input is {config.input_template!r} with "
                         "[CLS]/[SEP]): teach a library checkpoint programs by name with "
                         "examples/run_program_library.py --model_name_or_path CHECKPOINT --programs FOLDER")
    return config


def kept_settings(config: SynthesizerConfig) -> dict:
    """The values of the `KEPT_BY_CHECKPOINT` flags that build `config`'s model (sizes it does not record are
    left out)."""
    text = config.get_text_config()
    kept = {"data_memory_size": config.data_memory_size, "program_length": config.max_program_length,
            "backbone_type": text.model_type, "dropout": getattr(text, "hidden_dropout_prob", None),
            "label_smoothing": config.label_smoothing, "tokenizer_name": None, "head_init": "normal"}
    kept.update({name: getattr(text, name, None) for name in
                 ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")})
    return {name: value for name, value in kept.items() if value is not None or name == "tokenizer_name"}


def check_kept(model_args: ModelArguments, data_args: DataArguments, kept: dict) -> None:
    """
    A taught checkpoint keeps what its config records; only new random programs are taught.

    Raises:
        ValueError: naming the first flag given with another value than the checkpoint's, or `--dataset_name`.
    """
    if data_args.dataset_name is not None:
        raise ValueError("--dataset_name: with --model_name_or_path the new programs are --num_programs random ones")
    for name, value in kept.items():
        given = getattr(model_args, name) if hasattr(model_args, name) else getattr(data_args, name)
        if given != value:
            checkpoint = f"--model_name_or_path {model_args.model_name_or_path}"
            if name in ("tokenizer_name", "head_init"):
                raise ValueError(f"--{name} {given}: {checkpoint} keeps its own {KEPT_BY_CHECKPOINT[name]}; leave "
                                 "the flag out")
            raise ValueError(f"--{name} {given} contradicts {checkpoint}, whose {KEPT_BY_CHECKPOINT[name]} is "
                             f"{value}: a taught checkpoint keeps its own; leave the flag out")


# The programs: random ones, a dataset of them, or a checkpoint's own plus new random ones

def load_program_dataset(name: str) -> datasets.Dataset:
    """The rows of `--dataset_name` (a saved dataset's folder, a .json/.jsonl file or a Hub id; its train split).
    Without progress bars: a program dataset is small, and a bar's lines would come before an error about it."""
    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        if os.path.isdir(name):
            dataset = datasets.load_from_disk(name)
        elif name.endswith((".json", ".jsonl")):
            dataset = datasets.load_dataset("json", data_files=name)
        else:
            dataset = datasets.load_dataset(name)
    finally:
        if enabled:
            datasets.enable_progress_bars()
    return dataset["train"] if isinstance(dataset, datasets.DatasetDict) else dataset


def check_dataset_operands(records: list[dict], data_memory_size: int, program_length: int) -> None:
    """The programs of a `--dataset_name` must fit the heads: L within the package's limit, each instruction
    `[A, B, C]` with A, B in [0, k) and C in [0, L].

    Raises:
        ValueError: naming the program and the instruction.
    """
    if program_length not in PROGRAM_LENGTH:
        raise ValueError(f"its programs have {program_length} instructions; L must be {PROGRAM_LENGTH}")
    for record in records:
        for number, operands in enumerate(record["program"], start=1):
            fits = isinstance(operands, list) and len(operands) == 3 and all(
                isinstance(x, int) and not isinstance(x, bool) for x in operands)
            if not (fits and 0 <= operands[0] < data_memory_size and 0 <= operands[1] < data_memory_size
                    and 0 <= operands[2] <= program_length):
                raise ValueError(f"program {record['description']!r}, instruction {number}: labels {operands!r} must "
                                 f"be [A, B, C] with A, B in [0, {data_memory_size}) (--data_memory_size) and C in "
                                 f"[0, {program_length}]")


def load_programs(data_args: DataArguments, seed: int):
    """The memorization dataset and its `programs.json` records."""
    if data_args.dataset_name is None:
        return build_random_program_dataset(
            data_args.num_programs, data_args.program_length, data_args.data_memory_size, seed,
            c_label_range=data_args.c_label_range,
        )
    dataset = load_program_dataset(data_args.dataset_name)
    programs = OrderedDict()  # description -> {instruction: [A, B, C]}, programs in the order they first appear
    for row in dataset:
        programs.setdefault(row["description"], {})[row["instruction"]] = row["labels"]
    records = [
        {"description": name, "program": [rows[i] for i in sorted(rows)]} for name, rows in programs.items()
    ]
    for name, rows in programs.items():
        if sorted(rows) != list(range(1, len(rows) + 1)):
            raise ValueError(f"program {name!r} of {data_args.dataset_name} lacks instructions: has {sorted(rows)}")
    lengths = {len(record["program"]) for record in records}
    if len(lengths) != 1:
        raise ValueError(f"all programs of {data_args.dataset_name} must have one length, got {sorted(lengths)}")
    data_args.num_programs, data_args.program_length = len(records), lengths.pop()
    check_dataset_operands(records, data_args.data_memory_size, data_args.program_length)
    return build_memorization_dataset(records), records


def next_program_tokens(known_programs: list[dict], count: int) -> list[str]:
    """`count` program tokens for new programs: `[PROG_i]` numbered on from the highest one among the names of
    `known_programs` (`[PROG_0]` when it has none), so that the old programs keep their tokens."""
    numbers = [int(match.group(1)) for entry in known_programs
               if (match := re.fullmatch(r"\[PROG_(\d+)\]", entry["name"]))]
    first = max(numbers, default=-1) + 1
    return [program_token(i) for i in range(first, first + count)]


def make_new_random_programs(
    num_programs: int, program_length: int, data_memory_size: int, seed: int, known: list,
    c_label_range: str = "0..L", max_draws: int = 100_000,
) -> list:
    """
    `num_programs` random programs to teach a checkpoint that knows the programs `known`: the first ones of
    `random_program_stream` (same arguments) that are none of `known` and none of each other. Taught with the seed
    its programs were drawn with, a checkpoint of N programs gets the programs N, N + 1... of a larger run.

    Raises:
        ValueError: if a size is not positive, `c_label_range` is unknown, or `max_draws` programs give fewer than
            `num_programs` new ones (a tiny k and L have few programs).
    """
    check_positive(num_programs=num_programs)
    seen = {tuple(map(tuple, program)) for program in known}
    programs = []
    stream = random_program_stream(program_length, data_memory_size, seed, c_label_range)
    for program in itertools.islice(stream, max_draws):
        if tuple(program) not in seen:
            seen.add(tuple(program))
            programs.append(program)
            if len(programs) == num_programs:
                return programs
    raise ValueError(f"{max_draws} random programs of L = {program_length} instructions over k = {data_memory_size} "
                     f"cells gave {len(programs)} new ones, not {num_programs}")


def teach_programs(model_args: ModelArguments, data_args: DataArguments, seed: int):
    """`(known, new records, dataset, records)` of a taught run: the checkpoint's `known_programs`, the new random
    programs' `programs.json` records (the next program tokens), and the memorization dataset of every record,
    the rehearsed known programs' first (`rehearsal_records`).

    Raises:
        ValueError: if a new program token is already a description of the checkpoint, or too few new programs
            exist at its k and L.
    """
    config = load_memorization_config(model_args.model_name_or_path)
    known = [dict(entry) for entry in config.known_programs]
    tokens = next_program_tokens(known, data_args.num_programs)
    taken = {description for entry in known for description in entry["descriptions"]} & set(tokens)
    if taken:
        raise ValueError(f"its known_programs already use the description(s) {sorted(taken)}")
    programs = make_new_random_programs(
        data_args.num_programs, data_args.program_length, data_args.data_memory_size, seed,
        [entry["instructions"] for entry in known], c_label_range=data_args.c_label_range,
    )
    new_records = programs_to_records(programs, tokens)
    records = rehearsal_records(known) + new_records
    return known, new_records, build_memorization_dataset(records), records


def load_run_programs(model_args, data_args, seed: int):
    """`(known, trained, dataset, records)`: the `known_programs` a taught checkpoint rehearses (none otherwise), the
    records new to the model, and the memorization dataset of all the records (`teach_programs`, `load_programs`).

    Raises:
        SystemExit: status 2, one line naming `--model_name_or_path` or `--dataset_name` when it cannot be used
            (random programs always load).
    """
    try:
        if model_args.model_name_or_path is not None:
            return teach_programs(model_args, data_args, seed)
        dataset, records = load_programs(data_args, seed)
        return [], records, dataset, records
    except (ValueError, OSError) as error:
        if model_args.model_name_or_path is not None:
            argument_error(f"--model_name_or_path {model_args.model_name_or_path}: {error}")
        argument_error(f"--dataset_name {data_args.dataset_name}: {error}")


# The batch and the step budget

def set_paper_batch_size(training_args: PaperTrainingArguments, rows: int) -> None:
    """The authors' batch: floor(N * L / 20) examples per optimizer step (`rows` = N * L, the programs trained on),
    shared by the processes (when the flag is left at 0)."""
    if training_args.per_device_train_batch_size == 0:
        total_batch = max(1, math.floor(rows / 20))
        training_args.per_device_train_batch_size = max(1, total_batch // training_args.world_size)


def steps_per_epoch(training_args: PaperTrainingArguments, rows: int) -> int:
    """Optimizer steps per epoch of `rows` examples, as the Trainer counts them."""
    batches = rows / (training_args.per_device_train_batch_size * training_args.world_size)
    batches = math.floor(batches) if training_args.dataloader_drop_last else math.ceil(batches)
    return max(batches // training_args.gradient_accumulation_steps, 1)


def apply_min_train_steps(training_args: PaperTrainingArguments, rows: int) -> None:
    """Raises `num_train_epochs` to the whole number of epochs that gives at least `min_train_steps` optimizer steps
    (without `--max_steps`). A step budget, not an epoch count, is what a problem needs to be memorized: N x L rows
    fewer than the recipe was tuned for means fewer steps per epoch. Deterministic in the settings, so that a rerun
    (resume, or a finished run's report) computes the same budget."""
    if training_args.max_steps > 0 or training_args.min_train_steps == 0:
        return
    needed = math.ceil(training_args.min_train_steps / steps_per_epoch(training_args, rows))
    training_args.num_train_epochs = max(training_args.num_train_epochs, needed)


def settings_line(model_args, data_args, training_args, rows: int) -> str:
    """The one-line summary printed before training."""
    args = training_args
    budget = f"{args.max_steps} steps"
    if args.max_steps <= 0:
        steps = math.ceil(args.num_train_epochs * steps_per_epoch(args, rows))
        budget = f"{steps} steps ({args.num_train_epochs:g} epochs)"
    stop = "until 100% exact match, " if args.stop_at_exact_match else ""
    return (
        f"recipe {data_args.recipe}: N={rows // data_args.program_length} programs x L={data_args.program_length} "
        f"instructions, k={data_args.data_memory_size} | {model_args.backbone_type} {model_args.num_hidden_layers} "
        f"x {model_args.hidden_size} | batch {args.per_device_train_batch_size} x {args.world_size} process(es), "
        f"lr {args.learning_rate:g}, seed {args.seed} | {stop}at most {budget} | output {args.output_dir}"
    )


def warn_known_failures(model_args, training_args) -> None:
    """Warns before training about settings known not to memorize."""
    batch = training_args.per_device_train_batch_size * training_args.world_size
    if model_args.hidden_size >= 256 and batch < SMALL_BATCH_FOR_PAPER_MODEL:
        size = f"{model_args.num_hidden_layers} x {model_args.hidden_size}"
        say(training_args, f"warning: a batch of {batch} rows with the paper's backbone ({size}) is known not to "
                           "memorize (N=4, L=16, batch 3: 0 of 4 programs after 8,000 steps); use more programs or "
                           "rows per step (--num_programs, --per_device_train_batch_size), a smaller backbone, or "
                           "--recipe quick / tiny")


# The tokenizer and the model

def build_tokenizer(model_args: ModelArguments, data_args: DataArguments, descriptions: list[str]):
    """The embedded word-level tokenizer (numbers and program tokens), or `--tokenizer_name` with program tokens."""
    if model_args.tokenizer_name is None:
        return build_word_level_tokenizer(max(data_args.data_memory_size, data_args.program_length), descriptions)
    return load_tokenizer_with_programs(model_args.tokenizer_name, descriptions)


def known_program_entries(records: list[dict]) -> list[dict]:
    """The `config.known_programs` of memorized records: each named by its description, with no named cells."""
    return [{"name": record["description"], "descriptions": [record["description"]],
             "instructions": record["program"]} for record in records]


def build_model(model_args, data_args, tokenizer, records: list[dict]):
    config = SynthesizerConfig(
        text_config=backbone_config(model_args, tokenizer),
        data_memory_size=data_args.data_memory_size,
        max_program_length=data_args.program_length,
        label_smoothing=model_args.label_smoothing,
        # The authors' input is just [C_t token, program token]: no [CLS]/[SEP].
        input_template=MEMORIZATION_TEMPLATE,
        add_special_tokens=False,
        # The checkpoint names the programs it knows, so that the pipeline can refuse any other description.
        known_programs=known_program_entries(records),
    )
    return SynthesizerForSubleq(config)


def build_taught_model(model_args, known: list[dict], new_records: list[dict]):
    """`(model, tokenizer)`: the checkpoint of `--model_name_or_path`, its tokenizer with the new program tokens added
    (never split, as `--tokenizer_name`'s are) and an embedding row for each, and the new programs appended to its
    `known_programs`.

    Raises:
        ValueError: if a new token is already in the checkpoint's vocabulary (it would not get a row of its own).
    """
    tokens = [record["description"] for record in new_records]
    tokenizer = load_tokenizer_with_programs(model_args.model_name_or_path, tokens)
    rows = SynthesizerConfig.from_pretrained(model_args.model_name_or_path).get_text_config().vocab_size
    taken = [token for token, index in zip(tokens, tokenizer.convert_tokens_to_ids(tokens)) if index < rows]
    if taken:
        raise ValueError(f"its tokenizer already has {', '.join(taken)}, which would not get a row of its own")
    model = SynthesizerForSubleq.from_pretrained(model_args.model_name_or_path)
    model.resize_token_embeddings(len(tokenizer))
    model.config.known_programs = known + known_program_entries(new_records)
    return model, tokenizer


# The authors' Experiment 1 choices that differ from this package's defaults, one flag each (`--recipe authors` sets
# all; `bench/table1_ablation.py` switches each on alone), read from their `Synthesizer.py` and the Experiment 1 cells
# of `Experiments.ipynb` (mtanghu/Rethinking-Neural-Computation):
# - vocabulary: bert-base-uncased plus one new token per program, whose embedding rows are drawn from a fresh
#   standard-normal table rescaled to the existing rows' mean spread (their `resize_embedding`; `--embedding_init`);
# - head: one `Linear(H, 2k + L)` never re-initialized, i.e. PyTorch's default init, of which our three heads are the
#   slices (`--head_init torch_default`, `synthesizer_examples.authors`, shared with the SST-2 scripts);
# - C labels uniform over [0, L) with 0-based instructions (`--c_label_range 0..L-1`): our C head keeps L + 1 classes
#   (0 = HALT, 1..L), so under their range C = L is never a label;
# - stopping: their callback stops after one more optimizer step than ours, so their count is ours + 1.
# Everything else of Experiment 1 is the `paper` recipe.
@torch.no_grad()
def init_new_embedding_rows_authors(model, num_new_tokens: int) -> None:
    """
    The authors' `resize_embedding` init of the last `num_new_tokens` rows of the input embeddings (the program
    tokens): a fresh standard-normal table of the full size, scaled by (mean row std of the existing rows) / (mean
    row std of the fresh table); its last rows replace the model's. The existing rows are left as they are.

    Raises:
        ValueError: if `num_new_tokens` is not in [1, vocabulary size).
    """
    weight = model.get_input_embeddings().weight  # [V, H]
    old_size = weight.shape[0] - num_new_tokens
    if not 0 < old_size < weight.shape[0]:
        raise ValueError(f"num_new_tokens must be in [1, {weight.shape[0]}), got {num_new_tokens}")
    fresh = torch.randn(weight.shape, dtype=weight.dtype, device=weight.device)  # [V, H], nn.Embedding's init
    scale = weight[:old_size].std(dim=-1).mean() / fresh.std(dim=-1).mean()
    weight[old_size:] = fresh[old_size:] * scale
def check_program_tokens_last(tokenizer, descriptions: list[str]) -> int:
    """The number of program tokens, after checking they are the tokenizer's last ids (the rows the authors' init
    draws).

    Raises:
        ValueError: if they are not the last ids.
    """
    ids = tokenizer.convert_tokens_to_ids(list(descriptions))
    expected = list(range(len(tokenizer) - len(descriptions), len(tokenizer)))
    if ids != expected:
        raise ValueError(f"the program tokens must be the tokenizer's last {len(descriptions)} ids, got {ids[:5]}...")
    return len(descriptions)


def apply_init_choices(model, model_args: ModelArguments, tokenizer, descriptions: list[str]) -> None:
    """`--head_init torch_default` and `--embedding_init authors`, after the model's own init."""
    if model_args.head_init == "torch_default":
        init_heads_torch_default(model)
    if model_args.embedding_init == "authors":
        init_new_embedding_rows_authors(model, check_program_tokens_last(tokenizer, descriptions))


def build_run_model(model_args, data_args, training_args, known: list[dict], trained: list[dict], records):
    """`(model, tokenizer)`: a new Synthesizer for `records`, or the taught checkpoint with `trained` (the new records)
    added (`build_taught_model`); then the init choices for what is new (`apply_init_choices`).

    Raises:
        SystemExit: status 2, one line, when `--tokenizer_name` cannot be loaded or the taught checkpoint's tokenizer
            cannot take the new program tokens.
    """
    descriptions = [record["description"] for record in trained]
    if model_args.model_name_or_path is not None:
        set_seed(training_args.seed)  # the new embedding rows are drawn
        try:
            model, tokenizer = build_taught_model(model_args, known, trained)
        except ValueError as error:
            argument_error(f"--model_name_or_path {model_args.model_name_or_path}: {error}")
    else:
        try:
            tokenizer = build_tokenizer(model_args, data_args, descriptions)
        except OSError as error:  # the embedded tokenizer is always built: a --tokenizer_name that cannot be loaded
            argument_error(f"--tokenizer_name {model_args.tokenizer_name}: {error}")
        set_seed(training_args.seed)
        model = build_model(model_args, data_args, tokenizer, records)
    apply_init_choices(model, model_args, tokenizer, descriptions)
    return model, tokenizer


def build_card(config, model_args, data_args, training_args, descriptions: list[str], known=()) -> ModelCardSpec:
    """The checkpoint's card: its usage runs the first programs of `descriptions` (those trained anew) on a fixed
    memory, to compare with programs.json; `known`: the rehearsed programs of a taught checkpoint."""
    task = (f"Memorizes {data_args.num_programs} random subleq programs of {data_args.program_length} instructions "
            "(Experiment 1 of the paper).")
    if known:
        task = (f"Memorizes {len(known) + data_args.num_programs} subleq programs of {data_args.program_length} "
                f"instructions: the {len(known)} of `{model_args.model_name_or_path}`, rehearsed exactly from its "
                f"`known_programs`, and {data_args.num_programs} new random ones ({', '.join(descriptions)}) taught "
                "here (Experiment 1 of the paper).")
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=task + " Their true instructions are in `programs.json`, the run's results in "
        "`memorization_results.json`.",
        usage=subleq_usage(descriptions[:2], memory=f"[(7 * i) % 13 - 6 for i in range({config.data_memory_size})]"),
        script="examples/run_program_memorization.py",
        training_settings=card_training_settings({**asdict(model_args), **asdict(data_args)}, training_args),
    )


# Results: the numbers, the programs' files, and what the run prints

def authors_step_count(steps_to_100: int | None) -> int | None:
    """The authors' count for a run that reached 100% at optimizer step `steps_to_100` (ours + 1)."""
    return None if steps_to_100 is None else steps_to_100 + 1


def summarize(trainer, data_args, metrics: dict, train_runtime: float, program_seed: int, num_programs: int) -> dict:
    """`memorization_results.json`: the settings, the step of the first 100% evaluation and the exact-match curve;
    `num_programs`: all the programs trained on (a taught checkpoint's old ones included)."""
    args = trainer.args
    return {
        "num_programs": num_programs,
        "program_length": data_args.program_length,
        "data_memory_size": data_args.data_memory_size,
        "seed": args.seed,
        "program_seed": program_seed,
        "batch_size": args.per_device_train_batch_size * args.world_size,
        "world_size": args.world_size,
        "learning_rate": args.learning_rate,
        "eval_strategy": getattr(args.eval_strategy, "value", args.eval_strategy),
        "steps_to_100": first_step_reaching(trainer.state.log_history),
        "authors_step_count": authors_step_count(first_step_reaching(trainer.state.log_history)),
        "global_step": trainer.state.global_step,
        # The epochs trained for (--min_train_steps may have raised --num_train_epochs): more trains it further.
        "num_train_epochs": args.num_train_epochs,
        "final_exact_match": metrics["eval_exact_match"],
        "final_program_exact_match": metrics["eval_program_exact_match"],
        # Every session's training time: a resumed run adds its own to the earlier ones'.
        "train_runtime_s": round(train_runtime, 3),
        # Every evaluation during training, (step, instruction exact match): how close a run that stopped short came.
        "exact_match_curve": eval_curve(trainer.state.log_history, "exact_match"),
    }


def describe_memorized(trainer, eval_dataset, records, program_length) -> list[dict]:
    """Per program: how many of its instructions the trained model predicts exactly."""
    predicted = trainer.predict(eval_dataset).predictions  # [rows, 3], program-major
    true = [instruction for record in records for instruction in record["program"]]
    summary = []
    for index, record in enumerate(records):
        rows = range(index * program_length, (index + 1) * program_length)
        correct = sum(list(predicted[row]) == list(true[row]) for row in rows)
        summary.append({"description": record["description"], "correct_instructions": int(correct),
                        "instructions": program_length})
    return summary


def write_run_files(trainer, records: list[dict], results: dict) -> dict:
    """`programs.json`, then `RESULTS_FILE` (last, with the saved model's sha256: `write_results`), once the model is
    saved in `output_dir`. Returns the results as written."""
    if trainer.is_world_process_zero():
        write_json_atomic(os.path.join(trainer.args.output_dir, "programs.json"), records)
    return write_results(trainer, RESULTS_FILE, results, stopped_short=results["final_exact_match"] < 1.0)


def print_memorized(summary: list[dict], steps_to_100) -> None:
    memorized = sum(entry["correct_instructions"] == entry["instructions"] for entry in summary)
    print(f"Memorized {memorized}/{len(summary)} programs exactly; steps to 100%: {steps_to_100}")
    for entry in summary:
        print(f"  {entry['description']}: {entry['correct_instructions']}/{entry['instructions']} instructions")


def demo_memory(data_memory_size: int) -> list[int]:
    """A fixed, varied data memory to run a memorized program on (also the model card's)."""
    return [(7 * i) % 13 - 6 for i in range(data_memory_size)]


def run_one_program(model, tokenizer, record: dict, max_steps: int = 1000) -> str:
    """Runs one memorized program through `pipeline("subleq-execution")` and says how that compares with the true
    program on the reference machine. A random program can overflow int64 on this memory (a small k leaves it few
    cells to grow): the machine refuses it, and the line says whether the reference machine refuses it too."""
    memory = demo_memory(model.config.data_memory_size)
    run = pipeline("subleq-execution", model=model, tokenizer=tokenizer, device=model.device)
    called = f"pipeline(\"subleq-execution\")({record['description']!r}, memory=[(7 * i) % 13 - 6 ...])"
    try:
        expected = run_subleq([tuple(x) for x in record["program"]], memory, max_steps=max_steps)
    except SubleqError as error:
        expected = error
    try:
        result = run(record["description"], memory=memory, max_steps=max_steps)
    except SubleqError as error:
        same = isinstance(expected, SubleqError) and (error.instruction, error.detail) == (
            expected.instruction, expected.detail)
        return (f"{called}: refused (instruction {error.instruction}: {error.detail}); "
                f"{'the same as' if same else 'DIFFERENT from'} the true program on the reference machine")
    if isinstance(expected, SubleqError):
        return f"{called}: ran, but the true program on the reference machine is refused ({expected})"
    changed = {i: value for i, (value, before) in enumerate(zip(result["memory"], memory)) if value != before}
    shown = dict(list(changed.items())[:6])
    more = f" and {len(changed) - len(shown)} more" if len(changed) > len(shown) else ""
    same = (result["memory"], result["steps"], result["halt_reason"]) == (
        expected.memory, expected.steps, expected.halt_reason)
    return (
        f"{called}: {result['halt_reason']} after {result['steps']} steps, changed cells {shown}{more}; "
        f"{'the same as' if same else 'DIFFERENT from'} the true program on the reference machine"
    )


def epochs_above(results: dict) -> str:
    """` above E`, the epochs a run trained for, when its results record them (a further run needs more)."""
    epochs = results.get("num_train_epochs")
    return f" above {epochs:g}" if isinstance(epochs, (int, float)) and not isinstance(epochs, bool) else ""


def outcome(results: dict) -> tuple[int, str]:
    """The exit status and last line of a run: 0 at 100% exact match, else 1 with how far it got and what to try."""
    memorized = round(results["final_program_exact_match"] * results["num_programs"])
    if results["final_exact_match"] == 1.0:
        return 0, f"memorized all {results['num_programs']} programs in {results['steps_to_100']} steps"
    return 1, (
        f"stopped at step {results['global_step']} below 100%: instruction exact match "
        f"{100 * results['final_exact_match']:.2f}%, {memorized}/{results['num_programs']} programs memorized. "
        f"Try more epochs (--num_train_epochs{epochs_above(results)}), --recipe quick, a higher --learning_rate with "
        "--warmup_steps 0.1, or more rows per step; bench/results/table1.md lists settings that reach 100%"
    )


def main(argv=None, callbacks=None):
    """Runs the script on `argv`; returns the `memorization_results.json` payload (the earlier one when the run in
    `--output_dir` had already finished)."""
    model_args, data_args, training_args = parse_args(argv)
    settings = settings_of((model_args, data_args, training_args))  # as parsed: what a rerun is compared with
    setup_run(training_args, logger)
    program_seed = training_args.seed if data_args.program_seed is None else data_args.program_seed
    teaching = model_args.model_name_or_path is not None
    known, trained, train_dataset, records = load_run_programs(model_args, data_args, program_seed)
    set_paper_batch_size(training_args, len(train_dataset))
    # Before a finished run is looked for: whether a run that stopped short trains further depends on this budget.
    apply_min_train_steps(training_args, len(train_dataset))
    finished = finished_results(training_args, RESULTS_FILE, required=REPORTED)
    if finished is not None:
        status, line = outcome(finished)
        further = f"More epochs (--num_train_epochs{epochs_above(finished)}) train it further; " if status else ""
        say(training_args, f"{training_args.output_dir} holds a finished run ({RESULTS_FILE}): nothing to do; {line}. "
                           f"{further}--overwrite_output_dir starts over.")
        return finished
    say(training_args, settings_line(model_args, data_args, training_args, len(train_dataset)))
    if teaching:
        say(training_args, f"teaching {model_args.model_name_or_path} {len(trained)} new random programs "
                           f"({trained[0]['description']}...{trained[-1]['description']}), rehearsing the "
                           f"{len(known)} it knows")
    warn_known_failures(model_args, training_args)
    descriptions = [record["description"] for record in trained]  # those new to the model
    model, tokenizer = build_run_model(model_args, data_args, training_args, known, trained, records)
    # Memorization is the task: the training set is the evaluation set.
    train_dataset = tokenize_instructions(train_dataset, tokenizer, model.config)
    trainer = HubReadyTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=train_dataset,
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(program_length=data_args.program_length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
        card=build_card(model.config, model_args, data_args, training_args, descriptions, known),
    )
    use_progress_callback(trainer, stops_early=training_args.stop_at_exact_match)
    write_run_settings(settings, training_args)
    _, train_runtime = train_resuming(trainer)
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_metrics("eval", metrics)
    results = summarize(trainer, data_args, metrics, train_runtime, program_seed, len(records))
    if teaching:
        results.update(taught_from=model_args.model_name_or_path, rehearsed_programs=len(records) - len(trained),
                       new_programs=descriptions)
    trainer.card.results.update({"steps to 100% exact match": results["steps_to_100"],
                                 "instruction exact match": results["final_exact_match"],
                                 "program exact match": results["final_program_exact_match"]})
    summary = describe_memorized(trainer, train_dataset, records, data_args.program_length)
    save_unpushed(trainer)
    # Last, over the saved model: RESULTS_FILE marks the run as finished, and a rerun then does nothing.
    results = write_run_files(trainer, records, results)
    # A taught checkpoint stands in for one that ran its programs exactly: pushed only when it does too.
    if not teaching or results["final_exact_match"] == 1.0:
        push_saved(trainer, "Synthesizer: program memorization")
    if trainer.is_world_process_zero():
        print_memorized(summary, results["steps_to_100"])
        # The line runs a program trained here (a new one when teaching: the records end with them).
        new = len(records) - len(trained)
        memorized = [record for record, entry in zip(records[new:], summary[new:])
                     if entry["correct_instructions"] == entry["instructions"]]
        if memorized:
            print(run_one_program(trainer.model, tokenizer, memorized[0]))
        print(outcome(results)[1])
    return results


if __name__ == "__main__":
    sys.exit(outcome(main())[0])
