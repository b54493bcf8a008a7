#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Builds a Synthesizer checkpoint from any program library, or teaches an existing one new programs, and checks it
as a user runs it: a network memorizes each program under its natural-language descriptions and runs it exactly on
named inputs it has never seen.

`--programs` is a library: a folder of `.asm` files (each with its name, descriptions and test cases in its header;
README "Your own programs"), a local data file or a Hub dataset of the same (columns name / source / descriptions /
tests), `builtin` / `all` for the built-in library, or a comma list of built-in names (`add,sort`).

1. Check. Every program assembles into k = `--data_memory_size` cells and L = `--max_program_length` instructions,
   and every declared test passes on the reference machine, before any training step: a failing test stops the
   build (status 1) naming the program, the test and the actual outputs.
2. Memorize. Each program, padded with HALT (0, 0, 0) to L, is named by its phrasings but the last `--num_held_out`;
   the network learns (C_t, phrasing) -> (A, B, C) with word dropout
   (`--word_dropout`), each program's own instructions `--instruction_repeats` times per epoch, until every
   instruction of every trained phrasing is right.
3. Evaluate the saved folder as a user runs it (`pipeline("subleq-execution", model=<folder>,
   trust_remote_code=True)`), with one definition of a right run: it halted, it ran the program its description
   names, and its `outputs` equal the expected ones, which are the program's declared tests and, for a program with
   a Python reference (the built-ins), `--num_inputs` random named inputs. Held-out phrasings, paraphrases and
   `--unknown_descriptions` (no library program) measure the opt-in matching (`--min_margin`,
   `--min_match_confidence`).
4. Write a Hub-ready checkpoint: weights (safetensors), tokenizer, config.json whose `known_programs` carry each
   program's descriptions, instructions, memory and named input/output cells, the code files, a model card with the
   results, and the results file (`library_results.json`: the command, the machine, the settings and the report).
   A build in which a trained phrasing does not decode exactly or does not run right exits with status 1 and pushes
   nothing; `--push_to_hub --hub_model_id NAME` publishes one that does.

Teach a checkpoint new programs: `--model_name_or_path CHECKPOINT --programs my_programs/`. Its own programs come
from its `config.known_programs` and are rehearsed exactly (no other data is needed); new description words get new
vocabulary rows; k, L and the backbone are the checkpoint's (a program that does not fit them is refused, naming
it). The new checkpoint runs old and new programs, or the script exits 1 and pushes nothing.

Build from your programs (tiny CPU settings, seconds):

    python examples/run_program_library.py --programs examples/my_programs --output_dir runs/mine \\
        --data_memory_size 8 --max_program_length 8 --hidden_size 64 --num_hidden_layers 2 \\
        --num_attention_heads 2 --intermediate_size 128 --learning_rate 3e-3 --per_device_train_batch_size 8 \\
        --save_strategy no --no_baseline

Teach it more programs:

    python examples/run_program_library.py --model_name_or_path runs/mine --programs more_programs/ \\
        --output_dir runs/mine-plus --learning_rate 3e-3 --save_strategy no --no_baseline

The built-in library with the count-the-ones baseline (bench/results/program_library.*; about 7 minutes on a loaded
2-core CPU):

    OMP_NUM_THREADS=1 python examples/run_program_library.py --output_dir runs/library --disable_tqdm true
    python bench/program_library.py --run_dir runs/library

The release `synthesizer-bert-256` is this script on the built-in library with the release settings
(`examples/build_synthesizer_bert_256.py`).

The baselines (`--baselines`): networks with the backbone's sizes map a bit sequence as text ("1 0 1 1") to its
number of ones, trained end to end on every sequence of length <= 8 but a held-out quarter of the length-8 ones;
evaluated on those held out and on random sequences of lengths 16 and 32; the Synthesizer runs `count_ones_32` on
the same inputs, zero-padded to 32 bits.

Rerunning a command whose run was interrupted resumes from the last checkpoint in --output_dir; a finished run is
reported and left alone, and --overwrite_output_dir starts over.
"""

import itertools
import json
import logging
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from huggingface_hub import EvalResult
from tokenizers import normalizers, pre_tokenizers
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig
from modeling_synthesizer.modeling_synthesizer import SynthesizerForSubleq
from modeling_synthesizer.program_library import (
    PROGRAMS,
    LibraryError,
    LibraryProgram,
    ProgramTestError,
    check_fits,
    description_key,
    list_programs,
    load_program,
    read_library,
    read_records,
    run_program_tests,
)
from modeling_synthesizer.subleq import run_subleq
from modeling_synthesizer.tokenizer import SPECIAL_TOKENS, wrap_word_level_vocabulary
from synthesizer_examples.arguments import (
    DATA_MEMORY_SIZE,
    FRACTION,
    NON_NEGATIVE,
    NON_NEGATIVE_REAL,
    POSITIVE,
    POSITIVE_REAL,
    PROBABILITY,
    PROGRAM_LENGTH,
    STEP_BUDGET,
    Range,
    check_backbone,
    check_ranges,
    comma_separated,
)
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.memorization import build_memorization_dataset, rehearsal_records
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.model_card import ModelCardSpec, synthesizer_summary
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

SCRIPT = "examples/run_program_library.py"
RESULTS_FILE = "library_results.json"

# The program that runs the baseline's inputs: counts the ones of up to 32 bits (shorter inputs zero-padded).
LONG_COUNT_PROGRAM = "count_ones_32"
# The baseline trains on every bit sequence up to its longest training length, 2 ** (n + 1) of them: 16 is already
# 131,070 sequences.
MAX_BASELINE_TRAIN_LENGTH = 16


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "A library checkpoint (folder or Hub id) to teach --programs: its own "
                                        "known_programs are rehearsed exactly, and its k, L and backbone kept (the "
                                        "size flags are then not used)."}
    )
    hidden_size: int = field(default=128, metadata={"help": "Backbone hidden size (the paper: 256; small for CPU)."})
    num_hidden_layers: int = field(default=2, metadata={"help": "Backbone layers (the paper: 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper: 4)."})
    intermediate_size: int = field(default=512, metadata={"help": "Feed-forward size (the paper: 1024)."})
    backbone_type: str = field(
        default="bert", metadata={"help": "Any AutoConfig model_type with BERT-style size names, e.g. bert, roberta."}
    )
    max_position_embeddings: int = field(
        default=64, metadata={"help": "Backbone positions: the longest input is a 32-bit baseline sequence plus "
                                      "[CLS]/[SEP] (34 tokens), or [CLS] C_t, a description and [SEP]."}
    )
    dropout: float = field(default=0.1, metadata={"help": "Backbone hidden and attention dropout (BERT's 0.1)."})
    label_smoothing: float = field(
        default=0.05, metadata={"help": "Label smoothing of each head (the authors' 0.05)."}
    )
    word_dropout: float = field(
        default=0.1, metadata={"help": "Probability of replacing each description word by [UNK] in training, so that "
                                       "a program is named by any of its words, not one exact phrasing."}
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
                                       "instructions decoded with at least this probability."}
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        check_backbone(self)
        check_ranges(self, label_smoothing=FRACTION, word_dropout=FRACTION, min_margin=NON_NEGATIVE,
                     min_match_confidence=PROBABILITY)


@dataclass
class DataArguments:
    programs: str = field(
        default="all", metadata={"help": "The library: a folder of .asm programs, a data file (json, jsonl, csv, "
                                         "parquet) or Hub dataset of them, 'builtin'/'all', or comma-separated "
                                         "built-in names."}
    )
    num_held_out: int = field(default=2, metadata={"help": "The last N phrasings of each program are held out "
                                                           "(reported, never trained); every program must keep one."})
    data_memory_size: int = field(default=64, metadata={"help": "k: count_ones_32 needs 34 cells, reverse 24 (with "
                                                                "--model_name_or_path: the checkpoint's)."})
    max_program_length: int = field(default=48, metadata={"help": "L: count_ones_32 has 33 instructions (with "
                                                                  "--model_name_or_path: the checkpoint's)."})
    instruction_repeats: int = field(
        default=1, metadata={"help": "Each program's own instructions appear this many times per epoch, its HALT "
                                     "padding once (for large L, where padding is most of the rows)."}
    )
    new_program_repeats: int = field(
        default=0, metadata={"help": "With --model_name_or_path: the new programs' rows appear this many times per "
                                     "epoch, the rehearsed known programs' once; 0: balanced (the known phrasings "
                                     "per new phrasing, rounded), so that teaching spends its steps on the new."}
    )
    num_inputs: int = field(default=1000, metadata={"help": "Random named inputs per program with a Python "
                                                            "reference, checked besides its declared tests."})
    input_seed: int = field(default=1234, metadata={"help": "Seed of the random inputs."})
    max_steps_per_run: int = field(
        default=10_000, metadata={"help": "Step budget of each run (the library needs a few hundred at most)."}
    )
    stepwise_check_inputs: int = field(
        default=10, metadata={"help": "Runs per program also made with strategy='stepwise' (Algorithm 1, one "
                                      "forward pass per step) to check that it agrees with the default."}
    )
    unknown_descriptions: list[str] = field(
        default_factory=list,
        metadata={"help": "Descriptions of no library program, which the checkpoint must refuse."},
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
        check_ranges(self, new_program_repeats=NON_NEGATIVE,
                     data_memory_size=DATA_MEMORY_SIZE,
                     max_program_length=PROGRAM_LENGTH, instruction_repeats=POSITIVE, num_inputs=POSITIVE,
                     max_steps_per_run=STEP_BUDGET, stepwise_check_inputs=Range(0, self.num_inputs),
                     baseline_epochs=POSITIVE_REAL, baseline_learning_rate=NON_NEGATIVE_REAL,
                     baseline_batch_size=POSITIVE, baseline_train_max_length=Range(1, MAX_BASELINE_TRAIN_LENGTH),
                     baseline_held_out_fraction=Range(0, 1, low_open=True, high_open=True),
                     baseline_num_long=POSITIVE)
        if not all(isinstance(text, str) and text.strip() for text in self.unknown_descriptions):
            raise ValueError(f"--unknown_descriptions must be one or more non-empty texts (or none given), got "
                             f"{self.unknown_descriptions!r}")
        self.long_lengths()
        held_out = round(2**self.baseline_train_max_length * self.baseline_held_out_fraction)
        if not 0 < held_out < 2**self.baseline_train_max_length:
            raise ValueError(f"--baseline_held_out_fraction {self.baseline_held_out_fraction} holds out "
                             f"{held_out} of the {2**self.baseline_train_max_length} sequences of length "
                             f"{self.baseline_train_max_length}: some must be held out and some trained")
        baseline_names(self)

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
    """Defaults for memorizing a library on a CPU."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate (the authors': 1e-3)."})
    num_train_epochs: float = field(
        default=300, metadata={"help": "Epochs of the linear decay (a cap: training stops at 100%% exact match)."}
    )
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Batch per process."})


# The program library that --programs names: built-in names, a folder of .asm files, a data file or a Hub
# dataset (one program per row: name, source, descriptions, tests)

DATA_FILE_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
BUILTIN = ("builtin", "all")


def _builtin_names(spec: str) -> list[str] | None:
    """The built-in names `spec` lists, or None when it is no list of built-in names."""
    if spec in BUILTIN:
        return list_programs()
    names = [name.strip() for name in spec.split(",")]
    if not any(names):
        raise LibraryError("--programs: no library program given")
    if "," in spec and not all(names):
        raise LibraryError(f"--programs {spec}: an empty name between commas")
    if all(name in PROGRAMS for name in names):
        if len(set(names)) != len(names):
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise LibraryError(f"--programs: {', '.join(map(repr, repeated))} named twice")
        return names
    return None


def _text_list(value, row: int, column: str, spec: str):
    """A CSV cell of a list column: a JSON list, or one item per line."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise LibraryError(f"{spec} row {row}, column {column!r}: not a JSON list ({error.msg} at character "
                               f"{error.pos})") from None
    return [line for line in value.splitlines() if line.strip()]


def _load_rows(spec: str, data_files: str | None):
    import datasets  # examples-only dependency

    try:
        if data_files is not None:
            dataset = datasets.load_dataset(DATA_FILE_FORMATS[Path(data_files).suffix.lower()], data_files=data_files,
                                            split="train")
        else:
            dataset = datasets.load_dataset(spec, split="train")
    except (OSError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise LibraryError(f"{spec}: cannot be read as a dataset of programs: {error}") from None
    missing = [column for column in ("name", "source") if column not in dataset.column_names]
    if missing:
        raise LibraryError(f"{spec}: no column {', '.join(map(repr, missing))}; a dataset of programs has the columns "
                           f"name, source, descriptions and tests (it has {', '.join(dataset.column_names)})")
    return dataset


def load_program_library(spec: str) -> list[LibraryProgram]:
    """The programs `spec` (`--programs`) names:

    - `builtin`, `all` or a comma-separated list of built-in names (`add,sort`): the built-in programs
      (`modeling_synthesizer/programs`), in the package's order for `all` and in the given order for a list;
    - a folder: every `*.asm` file in it, each with its header (`modeling_synthesizer.program_library`);
    - a local data file (`.json`, `.jsonl`, `.csv` or `.parquet`) or a Hub dataset repo id (`org/my-programs`): one
      program per row, read with `datasets.load_dataset`, in the columns `name`, `source`, `descriptions` (a list of
      str) and `tests` (a list of `{"inputs": {...}, "outputs": {...}}` or of strings `"a=2 b=3 -> sum=5"`). In a CSV
      file, whose cells are text, `descriptions` and `tests` hold a JSON list, or one item per line.

    Built-in names come first: a folder named like a built-in program is read as `./add`.

    Args:
        spec: `builtin`, `all`, built-in names separated by commas, a folder, a `.json`/`.jsonl`/`.csv`/`.parquet`
            file or a Hub dataset repo id.

    Returns:
        The programs: built-ins in the order named (`builtin`/`all`: the package's order), any other library sorted
        by name.

    Raises:
        LibraryError: naming the file, line and column or the dataset row: an unknown name, a missing file or
            dataset, or any error of `read_library` / `read_records`.
    """
    spec = spec.strip()
    if not spec:
        raise LibraryError("--programs is empty: name built-in programs, a folder, a data file or a Hub dataset")
    names = _builtin_names(spec)
    if names is not None:
        return [PROGRAMS[name] for name in names]
    path = Path(spec)
    if path.is_dir():
        return read_library(path)
    if path.suffix.lower() in DATA_FILE_FORMATS:
        if not path.is_file():
            raise LibraryError(f"{spec}: no such file")
        rows = _load_rows(spec, str(path))
    elif spec.count("/") == 1 and not path.exists() and "," not in spec:
        rows = _load_rows(spec, None)
    else:
        unknown = [name.strip() for name in spec.split(",") if name.strip() not in PROGRAMS]
        raise LibraryError(f"--programs: no library program {', '.join(map(repr, unknown))}; the built-in programs "
                           f"are {', '.join(list_programs())} (or 'builtin'), and {spec!r} is no folder, "
                           f"{'/'.join(DATA_FILE_FORMATS)} file or Hub dataset id")
    records = []
    for row, record in enumerate(rows):
        record = dict(record)
        for column in ("descriptions", "tests"):
            record[column] = _text_list(record.get(column), row, column, spec)
        records.append(record)
    return read_records(records, spec)


# Checks made while parsing


def load_known_programs(model_name_or_path: str) -> tuple[SynthesizerConfig, list[dict]]:
    """The config of the checkpoint to teach and its `known_programs`.

    Raises:
        ValueError: naming the checkpoint when it cannot be read or declares no known programs (a memorization
            checkpoint, whose programs have no names to rehearse them by).
    """
    try:
        config = SynthesizerConfig.from_pretrained(model_name_or_path)
    except (OSError, ValueError) as error:
        raise ValueError(f"--model_name_or_path {model_name_or_path!r}: not a Synthesizer checkpoint "
                         f"({error})") from None
    if not config.known_programs:
        raise ValueError(f"--model_name_or_path {model_name_or_path!r} declares no known_programs: only a library "
                         "checkpoint (one built by this script) can be taught new programs by name")
    return config, [dict(entry) for entry in config.known_programs]


def check_new_programs(programs, known: list[dict]) -> None:
    """New programs must not reuse a known program's name or description (compared as the tokenizer reads them).

    Raises:
        ValueError: naming the program and the known one it collides with.
    """
    names = {entry["name"] for entry in known}
    owners = {description_key(d): entry["name"] for entry in known for d in entry["descriptions"]}
    for program in programs:
        if program.name in names:
            raise ValueError(f"program {program.name!r} ({program.origin}): the checkpoint already knows a program "
                             "of that name; give the new one another name")
        for description in program.descriptions:
            owner = owners.get(description_key(description))
            if owner is not None:
                raise ValueError(f"program {program.name!r} ({program.origin}): its description {description!r} is "
                                 f"one of the known program {owner!r}")


def check_unknown_descriptions(unknown_descriptions: list[str], programs, known: list[dict]) -> None:
    """`--unknown_descriptions` must describe none of the programs: a phrasing of one (as the tokenizer reads it,
    lower-cased and with punctuation split off) would run, and the build would fail its check.

    Raises:
        ValueError: naming the description and the program it is a phrasing of.
    """
    owners = {description_key(d): program.name for program in programs for d in program.descriptions}
    owners.update({description_key(d): entry["name"] for entry in known for d in entry["descriptions"]})
    for text in unknown_descriptions:
        name = owners.get(description_key(text))
        if name is not None:
            raise ValueError(f"--unknown_descriptions: {text!r} is a phrasing of the library program {name!r}, not "
                             "an unknown description")


def library_input_lengths(descriptions: list[str], max_program_length: int) -> dict[str, int]:
    """The length in tokens of the longest input of each description, `[CLS] L description [SEP]`, under the
    word-level tokenizer of the library scripts (`build_description_tokenizer`: a word it lacks is one
    `[UNK]`), keyed by what it is for `check_max_position_embeddings`."""
    tokenizer = build_description_tokenizer(descriptions, 0)
    return {f"the input of {description!r}": len(tokenizer(f"{max_program_length} {description}")["input_ids"])
            for description in descriptions}


def check_max_position_embeddings(max_position_embeddings: int, lengths: dict[str, int]) -> None:
    """
    The backbone's positions must hold the longest input a script builds.

    Args:
        max_position_embeddings (`int`): `--max_position_embeddings`.
        lengths (`dict`): what each input is (for the message) -> its length in tokens.

    Raises:
        ValueError: naming the longest input that does not fit.
    """
    if not lengths:
        return
    what, longest = max(lengths.items(), key=lambda item: item[1])
    if longest > max_position_embeddings:
        raise ValueError(f"--max_position_embeddings must be >= {longest} for {what} ({longest} tokens), got "
                         f"{max_position_embeddings}")


def check_arguments(model_args: ModelArguments, data_args: DataArguments, training_args) -> None:
    """The checks between flags, made while parsing (status 2): the library loads and fits k and L (the checkpoint's
    with `--model_name_or_path`), new programs do not collide with known ones, the baseline has its program, and the
    backbone's positions hold the longest input the script builds.

    Raises:
        ValueError: naming the flag, the file and line or dataset row, or the program.
    """
    data_args.known = []
    if model_args.model_name_or_path is not None:
        config, data_args.known = load_known_programs(model_args.model_name_or_path)
        data_args.data_memory_size, data_args.max_program_length = config.data_memory_size, config.max_program_length
        model_args.max_position_embeddings = config.get_text_config().max_position_embeddings
        if data_args.baseline:
            raise ValueError("--model_name_or_path teaches a checkpoint new programs: pass --no_baseline")
    data_args.library = load_program_library(data_args.programs)
    check_fits(data_args.library, data_args.data_memory_size, data_args.max_program_length)
    check_new_programs(data_args.library, data_args.known)
    fewest = min(data_args.library, key=lambda program: len(program.descriptions))
    if data_args.num_held_out not in Range(0, len(fewest.descriptions), high_open=True):
        raise ValueError(f"--num_held_out must be in [0, {len(fewest.descriptions)}) so that {fewest.name!r} (with "
                         f"{len(fewest.descriptions)} phrasings; {fewest.origin}) keeps one to train on, got "
                         f"{data_args.num_held_out!r}")
    names = [program.name for program in data_args.library]
    if data_args.baseline and LONG_COUNT_PROGRAM not in names:
        raise ValueError(f"the baseline comparison runs {LONG_COUNT_PROGRAM}: add it to --programs or pass "
                         "--no_baseline")
    descriptions = [d for program in data_args.library for d in program.descriptions]
    descriptions += [d for entry in data_args.known for d in entry["descriptions"]]
    check_unknown_descriptions(data_args.unknown_descriptions, data_args.library, data_args.known)
    lengths = library_input_lengths(descriptions + list(data_args.unknown_descriptions),
                                    data_args.max_program_length)
    if {"absolute", "rotary"} & set(baseline_names(data_args)):
        longest = max(data_args.long_lengths())
        lengths[f"a baseline's {longest}-bit sequence"] = longest + 2
    check_max_position_embeddings(model_args.max_position_embeddings, lengths)


def parse_args(argv=None, argument_types=(ModelArguments, DataArguments, LibraryTrainingArguments), description=None):
    return parse_example_args(argument_types, argv, description=description or __doc__, check=check_arguments)


# Data and model

# Instructions past a program's end are (0, 0, 0): HALT. Library programs always halt on their own (the assembler
# encodes the last instruction's fall-through as C = 0), so the padding is never executed; training it too makes
# the decoded L-instruction program comparable, exactly, with the assembled one.
PADDING_INSTRUCTION = (0, 0, 0)


def _normalizer():
    return normalizers.Lowercase()


def _pre_tokenizer():
    # Whitespace and punctuation: "what is |x|?" -> what, is, |, x, |, ?
    return pre_tokenizers.BertPreTokenizer()


def description_words(descriptions: Sequence[str]) -> list[str]:
    """The distinct words of `descriptions` as `build_description_tokenizer` splits them, sorted."""
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    words = set()
    for description in descriptions:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(description)))
    return sorted(words)


def build_description_tokenizer(
    descriptions: Sequence[str], max_number: int, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """
    A word-level tokenizer for `"{C_t} {description}"` inputs: the special tokens, every integer `0..max_number` as
    one token (instruction numbers), then the words of `descriptions`. Text is lower-cased and punctuation is split
    off, so "What is |x|?" and "what is | x | ?" are the same tokens. Any other word is `[UNK]`.

    Args:
        descriptions (`Sequence[str]`): the phrasings whose words make the vocabulary (the trained ones only, so
            that held-out phrasings are read as a user's unseen text would be).
        max_number (`int`): the largest integer with a token of its own; use `max(k, L)`.
        model_max_length (`int`): the longest input, in tokens.

    Returns:
        `PreTrainedTokenizerFast` with `[CLS] ... [SEP]` framing when called with `add_special_tokens=True`; it
        saves and loads with `save_pretrained` / `AutoTokenizer.from_pretrained`.

    Raises:
        ValueError: if `max_number` is negative.
    """
    if max_number < 0:
        raise ValueError(f"max_number must be >= 0, got {max_number}")
    tokens = list(SPECIAL_TOKENS.values()) + [str(i) for i in range(max_number + 1)]
    known = set(tokens)
    tokens += [word for word in description_words(descriptions) if word not in known]
    return wrap_word_level_vocabulary(tokens, _pre_tokenizer(), _normalizer(), model_max_length=model_max_length)


def split_phrasings(program: LibraryProgram, num_held_out: int) -> tuple[list[str], list[str]]:
    """`(trained, held_out)`: the last `num_held_out` descriptions of `program` are held out (a fixed choice).

    Raises:
        ValueError: unless at least one description is left to train on.
    """
    descriptions = list(program.descriptions)
    if not 0 <= num_held_out < len(descriptions):
        raise ValueError(
            f"num_held_out must be in [0, {len(descriptions)}) for {program.name!r}, which has {len(descriptions)} "
            f"descriptions; got {num_held_out}"
        )
    cut = len(descriptions) - num_held_out
    return descriptions[:cut], descriptions[cut:]


def padded_program(program: LibraryProgram, data_memory_size: int, max_program_length: int) -> list[tuple]:
    """The assembled program (k = `data_memory_size`) padded with HALT (0, 0, 0) to `max_program_length` instructions.

    Raises:
        AssemblyError: if the program does not fit k cells or L instructions.
    """
    return pad_instructions(program.assemble(data_memory_size, max_program_length).program, max_program_length)


def pad_instructions(instructions: Sequence[tuple], max_program_length: int) -> list[tuple]:
    """`instructions` padded with HALT (0, 0, 0) to `max_program_length` instructions."""
    return list(instructions) + [PADDING_INSTRUCTION] * (max_program_length - len(instructions))


def library_records(
    programs: Sequence[LibraryProgram],
    phrasings: dict[str, Sequence[str]],
    data_memory_size: int,
    max_program_length: int,
) -> list[dict]:
    """
    `build_memorization_dataset` records: one per (program, phrasing), the phrasing as `description` and the padded
    program (`padded_program`) as `program`, in program-major order.

    Raises:
        ValueError: if two programs share a phrasing (the network could not tell them apart).
    """
    owner: dict[str, str] = {}
    records = []
    for program in programs:
        instructions = [list(instruction) for instruction in padded_program(program, data_memory_size,
                                                                            max_program_length)]
        for description in phrasings[program.name]:
            if owner.setdefault(description, program.name) != program.name:
                raise ValueError(f"{description!r} describes both {owner[description]!r} and {program.name!r}")
            records.append({"description": description, "program": instructions})
    return records


def known_program_entries(
    programs: Sequence[LibraryProgram],
    phrasings: dict[str, Sequence[str]],
    data_memory_size: int,
    max_program_length: int,
) -> list[dict]:
    """
    `SynthesizerConfig.known_programs` of a checkpoint that memorized `programs` under `phrasings` (program name ->
    its trained phrasings, the first one canonical): each program's name, phrasings, padded instructions, initial
    data memory and the `[address, length]` of its named inputs and outputs.
    """
    entries = []
    for program in programs:
        assembled = program.assemble(data_memory_size, max_program_length)
        entries.append({
            "name": program.name,
            "descriptions": list(phrasings[program.name]),
            "instructions": [list(instruction) for instruction in pad_instructions(assembled.program,
                                                                                   max_program_length)],
            "memory": [int(cell) for cell in assembled.memory],
            "inputs": {name: list(cells) for name, cells in assembled.inputs.items()},
            "outputs": {name: list(cells) for name, cells in assembled.outputs.items()},
        })
    return entries


class WordDropoutDataset(torch.utils.data.Dataset):
    """
    A tokenized dataset whose description words are replaced by `[UNK]` with probability `p`, drawn anew at every
    access (so every epoch sees other gaps). The first `keep_prefix` tokens ([CLS] and the instruction number C_t)
    and special tokens are never replaced. Use it for the training set only; evaluate on the clean rows.

    Args:
        dataset (`Dataset`): tokenized rows with `input_ids` and `labels` (other model inputs are passed through).
        tokenizer: supplies `unk_token_id` and the special tokens' ids.
        p (`float`): the probability of replacing each description word.
        keep_prefix (`int`): leading tokens never replaced: 2 with `[CLS]`, 1 without.
        seed (`int`): seed of the replacement draws.
    """

    MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "labels")

    def __init__(self, dataset: Dataset, tokenizer: PreTrainedTokenizerBase, p: float, keep_prefix: int,
                 seed: int = 0):
        if not 0 <= p < 1:
            raise ValueError(f"word dropout must be in [0, 1), got {p}")
        columns = [name for name in self.MODEL_INPUTS if name in dataset.column_names]
        self.rows = dataset.select_columns(columns)
        self.p = p
        self.keep_prefix = keep_prefix
        self.unk = tokenizer.unk_token_id
        self.special = set(tokenizer.all_special_ids)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = dict(self.rows[index])
        if self.p > 0:
            row["input_ids"] = [
                self.unk if position >= self.keep_prefix and token not in self.special and self.rng.random() < self.p
                else token
                for position, token in enumerate(row["input_ids"])
            ]
        return row


def split_library(programs, num_held_out: int) -> dict:
    """Program name -> {"trained": [...], "held_out": [...]}: the last `num_held_out` phrasings held out (fewer than
    every program has: checked while parsing)."""
    phrasings = {}
    for program in programs:
        descriptions = list(program.descriptions)
        cut = len(descriptions) - num_held_out
        phrasings[program.name] = {"trained": descriptions[:cut], "held_out": descriptions[cut:]}
    return phrasings


def training_records(known: list[dict], programs, phrasings: dict, k: int, length: int) -> tuple[list, list]:
    """`(records, lengths)`: one `build_memorization_dataset` record per trained phrasing, the known programs' first
    with their declared instructions (rehearsed exactly), then the new programs' assembled ones; `lengths`: each
    record's own instructions (`oversampled_rows`)."""
    records = rehearsal_records(known)
    lengths = [_own_length(record["program"]) for record in records]
    for program in programs:
        assembled = program.assemble(k, length).program
        instructions = [list(instruction) for instruction in pad_instructions(assembled, length)]
        for description in phrasings[program.name]["trained"]:
            records.append({"description": description, "program": instructions})
            lengths.append(len(assembled))
    return records, lengths


def _own_length(instructions: list) -> int:
    # A known program's instructions are padded with HALT (0, 0, 0) to L: its own end where the padding starts.
    length = len(instructions)
    while length and tuple(instructions[length - 1]) == (0, 0, 0):
        length -= 1
    return length


def extended_tokenizer(tokenizer, descriptions: list[str], model_max_length: int):
    """The checkpoint's word-level tokenizer with every word of `descriptions` it lacks appended: the old words keep
    their ids (so the checkpoint's embedding rows stay theirs), the new ones get the next ids, and text is split
    and normalized as the checkpoint's tokenizer does (a memorization checkpoint's splits on whitespace only).

    Raises:
        ValueError: if the checkpoint's tokenizer is not word-level (a subword vocabulary cannot take new words).
    """
    backend = tokenizer.backend_tokenizer
    if type(backend.model).__name__ != "WordLevel":
        raise ValueError(f"--model_name_or_path: its tokenizer is {type(backend.model).__name__}, not word-level: new "
                         "description words cannot be added to it")
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.get)
    known = set(tokens)
    pre_tokenizer, normalizer = backend.pre_tokenizer or _pre_tokenizer(), backend.normalizer
    words = []
    for description in descriptions:
        text = normalizer.normalize_str(description) if normalizer is not None else description
        words += [word for word, _ in pre_tokenizer.pre_tokenize_str(text)]
    tokens += [word for word in dict.fromkeys(words) if word not in known]
    return wrap_word_level_vocabulary(tokens, pre_tokenizer, normalizer, model_max_length=model_max_length)


def build_model(model_args, data_args, programs, phrasings):
    """`(model, tokenizer, new_words)`: a new Synthesizer for the library, or the checkpoint of
    `--model_name_or_path` with the new programs appended to its `known_programs` and a vocabulary row for each new
    description word."""
    k, length = data_args.data_memory_size, data_args.max_program_length
    trained = {name: p["trained"] for name, p in phrasings.items()}
    new_entries = known_program_entries(programs, trained, k, length)
    if model_args.model_name_or_path is None:
        descriptions = [d for p in phrasings.values() for d in p["trained"]]
        tokenizer = build_description_tokenizer(descriptions, max(k, length), model_args.max_position_embeddings)
        config = SynthesizerConfig(text_config=backbone_config(model_args, tokenizer), data_memory_size=k,
                                   max_program_length=length, label_smoothing=model_args.label_smoothing,
                                   input_template="{instruction} {description}", add_special_tokens=True,
                                   known_programs=new_entries)
        return SynthesizerForSubleq(config), tokenizer, len(tokenizer)
    old = AutoTokenizer.from_pretrained(model_args.model_name_or_path)
    descriptions = [d for p in phrasings.values() for d in p["trained"]]
    tokenizer = extended_tokenizer(old, descriptions, old.model_max_length)
    model = SynthesizerForSubleq.from_pretrained(model_args.model_name_or_path)
    if len(tokenizer) > len(old):
        model.resize_token_embeddings(len(tokenizer))
    model.config.known_programs = data_args.known + new_entries
    return model, tokenizer, len(tokenizer) - len(old)


def new_program_repeats(data_args, known_records: int, new_records: int) -> int:
    """How many times per epoch a new program's rows appear when teaching (`--new_program_repeats`, 0: balanced)."""
    if not known_records or not new_records:
        return 1
    return data_args.new_program_repeats or max(1, round(known_records / new_records))


def oversampled_rows(program_lengths: Sequence[int], max_program_length: int, repeats: int) -> list[int]:
    """
    Row indices of one training epoch over program-major rows (L rows per phrasing): every row once, and each of a
    program's own instructions `repeats - 1` more times. At L = 256 the library's programs have 3 to 33 instructions,
    so without this about 94% of the rows would be the same HALT padding.

    Args:
        program_lengths: the number of real (assembled) instructions of each phrasing's program, in row order.
        max_program_length: L, the rows per phrasing.
        repeats: how often each real instruction appears per epoch (1: every row once).

    Raises:
        ValueError: if `repeats` < 1 or a program is longer than L.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if any(not 0 <= n <= max_program_length for n in program_lengths):
        raise ValueError(f"program lengths {list(program_lengths)} must be within 0..{max_program_length}")
    rows = list(range(len(program_lengths) * max_program_length))
    for phrasing, length in enumerate(program_lengths):
        start = phrasing * max_program_length
        rows += list(range(start, start + length)) * (repeats - 1)
    return rows


def training_rows(lengths: list[int], data_args, known_records: int) -> list[int] | None:
    """The eval rows one training epoch takes (None: each once): each program's own instructions
    `--instruction_repeats` times (`oversampled_rows`), and when teaching, the new programs' rows
    `new_program_repeats` times, the rehearsed known programs' once. Records are known first, then new."""
    length = data_args.max_program_length
    repeats = new_program_repeats(data_args, known_records, len(lengths) - known_records)
    if data_args.instruction_repeats == 1 and repeats == 1:
        return None
    rows = oversampled_rows(lengths, length, data_args.instruction_repeats)
    new = [row for row in rows if row // length >= known_records]
    return rows + new * (repeats - 1)


def build_datasets(records: list[dict], lengths: list[int], tokenizer, config, data_args, word_dropout: float,
                   seed: int, known_records: int = 0):
    """`(train, eval)`: every (trained phrasing, C_t) row once, clean, for evaluation; for training, the rows of
    `training_rows` with word dropout. `known_records`: the leading records that rehearse a checkpoint's programs."""
    eval_dataset = tokenize_instructions(build_memorization_dataset(records), tokenizer, config)
    rows = training_rows(lengths, data_args, known_records)
    rows = eval_dataset if rows is None else eval_dataset.select(rows)
    # [CLS] and C_t are never dropped; only description words.
    train_dataset = WordDropoutDataset(rows, tokenizer, word_dropout,
                                       keep_prefix=2 if config.add_special_tokens else 1, seed=seed)
    return train_dataset, eval_dataset


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


def bits_to_text(bits: Sequence[int]) -> str:
    """The baseline's input text: `[1, 0, 1]` -> `"1 0 1"`."""
    return " ".join(str(bit) for bit in bits)


def count_ones_splits(
    train_max_length: int = 8,
    held_out_fraction: float = 0.25,
    long_lengths: Sequence[int] = (16, 32),
    num_long: int = 1000,
    seed: int = 0,
) -> dict[str, list[list[int]]]:
    """
    Bit sequences for the count-the-ones comparison.

    - `"train"`: every sequence of length 1..`train_max_length`, except the held-out ones (the baseline learns from
      all the short sequences there are).
    - `"held_out_<train_max_length>"`: `held_out_fraction` of the sequences of length `train_max_length`, drawn
      with `seed`: same length as training, never seen.
    - `"length_<n>"` for each of `long_lengths`: `num_long` uniformly random sequences of length n (longer than any
      training sequence).

    Raises:
        ValueError: for a fraction outside (0, 1) or a long length not above `train_max_length`.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    if any(length <= train_max_length for length in long_lengths):
        raise ValueError(f"long_lengths {list(long_lengths)} must all exceed train_max_length {train_max_length}")
    rng = random.Random(seed)
    longest = [list(bits) for bits in itertools.product((0, 1), repeat=train_max_length)]
    rng.shuffle(longest)
    cut = round(len(longest) * held_out_fraction)
    held_out, kept = longest[:cut], longest[cut:]
    shorter = [list(bits) for length in range(1, train_max_length)
               for bits in itertools.product((0, 1), repeat=length)]
    splits = {"train": shorter + kept, f"held_out_{train_max_length}": held_out}
    for length in long_lengths:
        splits[f"length_{length}"] = [[rng.randint(0, 1) for _ in range(length)] for _ in range(num_long)]
    return splits


def build_count_ones_dataset(sequences: Sequence[Sequence[int]]) -> Dataset:
    """Rows `text` ("1 0 1 1") and `label` (the number of ones) for `AutoModelForSequenceClassification`."""
    return Dataset.from_dict({"text": [bits_to_text(bits) for bits in sequences],
                              "label": [int(sum(bits)) for bits in sequences]})


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
    inputs = [{"bits": list(bits) + [0] * (width - len(bits))} for bits in sequences]
    try:
        results = run_named(pipe, description, inputs, max_steps)
    except ValueError as error:  # a checkpoint that does not hold the program refuses it: no run is right
        if not is_refusal(error):
            raise
        results = [None] * len(inputs)
    synthesizer = [r["outputs"]["count"] if runs_right(r, LONG_COUNT_PROGRAM, {}) else None for r in results]
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


# Evaluation as a user runs it (by description, on named inputs), and the card

# Descriptions of tasks no library program does: a release must refuse every one rather than run its nearest program.
# Some are far from every program (the weather, a joke); most are near misses, a library task's words around another
# task (the minimum of the list, the zeros in the bits, descending order).
UNKNOWN_DESCRIPTIONS = (
    "translate this sentence into French",
    "what is the weather like today?",
    "what time is it?",
    "draw a picture of a cat",
    "tell me a joke",
    "divide a by b",
    "find the minimum of the list",
    "subtract b from a",
    "sort the list in descending order",
    "count the zeros in the bits",
    "what is the median of these numbers?",
    "compute the average of the list",
    "is n a prime number?",
    "compute the factorial of n",
    "what is a to the power of b?",
    "square the number",
    "find the greatest common divisor of a and b",
    "remove the duplicates from the list",
    "how many numbers in the list are negative?",
    "what is the remainder when a is divided by b?",
    "round x to the nearest ten",
    "check whether the list is sorted",
    "what day of the week is it?",
    "spell out the number in words",
)

# Paraphrases of the library's programs, four each, written as a user might ask for the task (none is one of the
# library's own descriptions, trained or held out): matching must run each as its program or refuse it, never run it
# as another program.
PARAPHRASES = {
    "count_ones": (
        "how many ones are there in the bits?",
        "count the 1s in this sequence",
        "give me the number of set bits",
        "how many of these bits are ones?",
    ),
    "add": (
        "what is the sum of a and b?",
        "add b to a",
        "a plus b",
        "calculate a + b",
    ),
    "multiply": (
        "what is the product of a and b?",
        "multiply b by a",
        "a times b",
        "calculate a * b",
    ),
    "maximum": (
        "what is the biggest number in the list?",
        "find the largest value",
        "return the max of the list",
        "which value in the list is highest?",
    ),
    "sum": (
        "add all the numbers in the list together",
        "what is the sum of the list?",
        "total up the numbers",
        "compute the sum of all the values",
    ),
    "reverse": (
        "reverse the order of the list",
        "write the list backwards",
        "put the numbers in reverse order",
        "flip the list",
    ),
    "absolute": (
        "what is the absolute value of x?",
        "compute |x|",
        "remove the sign of x",
        "give the magnitude of the number",
    ),
    "sort": (
        "sort the numbers in ascending order",
        "arrange the list from lowest to highest",
        "put the values in increasing order",
        "order these numbers from smallest to largest",
    ),
    "fibonacci": (
        "what is the nth Fibonacci number?",
        "compute fibonacci(n)",
        "give the Fibonacci number for n",
        "find the n-th number in the Fibonacci sequence",
    ),
    "count_ones_32": (
        "how many ones are in the 32 bits?",
        "count the 1s in a 32-bit sequence",
        "what is the number of set bits in the 32 bits?",
        "count how many of the thirty-two bits are set",
    ),
}

TASK_TYPE = "subleq-execution"
DATASET_TYPE = "program-library"


def program_inputs(program: LibraryProgram, seed: int, count: int) -> list[dict]:
    """`count` random inputs of `program` (the same for every phrasing, and for the card), drawn with `seed`; none for
    a program without a Python reference or input ranges (it is checked by its declared tests only)."""
    if getattr(program, "reference", None) is None or not program.inputs:
        return []
    rng = random.Random(f"{seed}-{program.name}")
    return [program.random_inputs(rng) for _ in range(count)]


@dataclass(frozen=True)
class ExpectedProgram:
    """What the evaluation checks a program against.

    Attributes:
        name: the program's name, which its descriptions must run as.
        instructions: its L instructions, padded with HALT, as the network must decode them.
        length: its own instructions (the rest is padding).
        runs: `(named inputs, expected outputs)` pairs; a run is right when its `outputs` hold every expected one.
    """

    name: str
    instructions: list[tuple[int, int, int]]
    length: int
    runs: list[tuple[dict, dict]]


def expected_program(program: LibraryProgram, data_memory_size: int, max_program_length: int, input_seed: int,
                     num_inputs: int) -> ExpectedProgram:
    """A library program's checks: each declared test (`program.tests`), then `num_inputs` random inputs against its
    Python reference where it has one (`program_inputs`)."""
    runs = [(dict(test.inputs), dict(test.outputs)) for test in getattr(program, "tests", ())]
    runs += [(values, program.reference(**values)) for values in program_inputs(program, input_seed, num_inputs)]
    assembled = program.assemble(data_memory_size, max_program_length)
    return ExpectedProgram(program.name, padded_program(program, data_memory_size, max_program_length),
                           len(assembled.program), runs)


def known_expected_program(entry: dict, max_steps: int) -> ExpectedProgram:
    """A checkpoint's `known_programs` entry as an `ExpectedProgram`: its declared instructions, and one run, on the
    inputs its stored memory holds, whose outputs are those of the declared instructions on the reference machine.
    An entry without named outputs (a memorization checkpoint's program) has no run: it is checked by its exact
    decoding alone.

    Raises:
        SubleqError: if the declared instructions do not run on the stored memory (a damaged entry).
    """
    instructions = [tuple(int(operand) for operand in instruction) for instruction in entry["instructions"]]
    if not entry.get("outputs") or entry.get("memory") is None:
        return ExpectedProgram(entry["name"], instructions, len(instructions), [])
    memory = [int(cell) for cell in entry["memory"]]
    final = run_subleq(instructions, memory, max_steps=max_steps).memory

    def cells(named: dict, values: list[int]) -> dict:
        read = {}
        for name, (address, length) in named.items():
            read[name] = values[address] if length == 1 else [int(v) for v in values[address:address + length]]
        return read

    length = len(instructions)
    while length and instructions[length - 1] == PADDING_INSTRUCTION:
        length -= 1
    return ExpectedProgram(entry["name"], instructions, length,
                           [(cells(entry.get("inputs") or {}, memory), cells(entry.get("outputs") or {}, final))])


def _is_machine_error(error: Exception) -> bool:
    # The pipeline loaded with trust_remote_code raises its own copy of SubleqError: compare by name.
    return any(cls.__name__ == "SubleqError" for cls in type(error).__mro__)


def is_refusal(error: Exception) -> bool:
    # The pipeline's RunRefused, of the package or of the folder's own code (compared by name, as above).
    return any(cls.__name__ == "RunRefused" for cls in type(error).__mro__)


def run_named(pipe, description: str, inputs: list[dict], max_steps: int, strategy: str = "lazy",
              **matching) -> list[dict | None]:
    """The pipeline's results for `description` on each of `inputs` (named input values), in one batch; a run that
    overflows int64 (only a wrongly decoded program can) is None. `matching`: the pipeline's opt-in `min_margin`
    and `min_match_confidence`.

    Raises:
        ValueError: any other error of the pipeline (a refusal, a bad input).
    """
    items = [{"description": description, "inputs": values} for values in inputs]
    if not items:
        return []
    try:
        return pipe(items, max_steps=max_steps, strategy=strategy, batch_size=len(items), **matching)
    except ValueError as error:
        if not _is_machine_error(error):
            raise
    results = []  # one overflow fails the whole batch: run one by one
    for item in items:
        try:
            results.append(pipe(item, max_steps=max_steps, strategy=strategy, **matching))
        except ValueError as error:
            if not _is_machine_error(error):
                raise
            results.append(None)
    return results


def runs_right(result: dict | None, name: str, expected: dict) -> bool:
    """The one definition of a right run: it halted (not out of steps), it ran the program `name` its description
    names, and its `outputs` hold every expected output."""
    if result is None or result["halt_reason"] != "halt" or result.get("program") != name:
        return False
    outputs = result.get("outputs") or {}
    return all(key in outputs and outputs[key] == value for key, value in expected.items())


def _most_likely(match: dict) -> str | None:
    # Scores (best first) exist for descriptions matched or refused by likelihood, not for trained ones.
    return next(iter(match["scores"]), None) if match["scores"] else match["program"]


def evaluate_phrasing(pipe, program: ExpectedProgram, description: str, max_steps: int, matching: dict,
                      library: dict | None = None) -> dict:
    """
    One phrasing as a user runs it: what the network decodes from it as given, which known program the pipeline
    matches it to with the opt-in `matching` thresholds (or whether it refuses it), and how many runs on the named
    inputs of `program.runs` are right (`runs_right`). `library`: name -> padded instructions of every program, to
    say which one a wrong decoding equals.
    A phrasing "runs right" when the pipeline runs it as `program` and every run is right; it "runs wrong" when the
    pipeline runs it (not refused) and any run is not right, or it runs as another program: the silent wrong answers
    that matching must prevent. `failures` shows up to three runs that were not right, with their actual outputs.
    """
    padded = program.instructions
    decoded = [tuple(instruction) for instruction in pipe.decode_program(description, allow_unknown=True)]
    match = pipe.match_program(description, **matching)
    refused, refusal, results = match["how"] == "refused", None, []
    if not refused:
        try:
            results = run_named(pipe, description, [values for values, _ in program.runs], max_steps, **matching)
        except ValueError as error:
            # A checkpoint refuses a known program its network no longer decodes as declared: refused, not run.
            if not is_refusal(error):
                raise
            refused, refusal = True, str(error)
    failures = [{"inputs": values, "expected": expected,
                 "actual": None if result is None else result.get("outputs"),
                 "halt_reason": None if result is None else result["halt_reason"],
                 "ran": None if result is None else result.get("program")}
                for result, (values, expected) in zip(results, program.runs)
                if not runs_right(result, program.name, expected)]
    correct = len(results) - len(failures)
    right = not refused and match["program"] == program.name and correct == len(program.runs)
    scores = list(match["scores"] or ())
    return {
        "description": description,
        "decoded_exactly": decoded == padded,
        "wrong_instructions": sum(d != t for d, t in zip(decoded, padded)),
        "program_instructions_right": decoded[: program.length] == padded[: program.length],
        "decodes_as": next((name for name, other in (library or {}).items() if decoded == other), None),
        "decision": "refused" if refused else match["how"],  # "exact" (a trained phrasing), "likely" or "refused"
        "runs_as": None if refusal else match["program"],
        "most_likely": _most_likely(match),
        "margin": match["margin"],
        "runner_up": scores[1] if len(scores) > 1 else None,
        "runs_right": right,
        "runs_wrong": not refused and not right,
        "correct_outputs": int(correct),
        "inputs": len(program.runs),
        "failures": failures[:3],
        "refusal": refusal,
    }


def evaluate_library(pipe, programs: Sequence[ExpectedProgram], phrasings: dict, max_steps: int, matching: dict,
                     unknown_descriptions: Sequence[str] = (), paraphrases: dict | None = None,
                     stepwise_check_inputs: int = 0) -> dict:
    """
    The one evaluation of a library checkpoint: per program, every trained and held-out phrasing
    (`evaluate_phrasing`) on the same runs; every paraphrase; and whether each of `unknown_descriptions` is refused.

    Args:
        pipe: a `subleq-execution` pipeline of the saved checkpoint, as a user loads it.
        programs: the programs to check (`expected_program`, `known_expected_program`).
        phrasings: program name -> `{"trained": [...], "held_out": [...]}`.
        matching: the opt-in `min_margin` and `min_match_confidence` the unseen descriptions are matched with (the
            checkpoint's default refuses every one of them).
        paraphrases: program name -> paraphrases of it (`PARAPHRASES` for the built-in library).
        stepwise_check_inputs: runs per program also made with `strategy="stepwise"` (one forward pass per step),
            whose results must equal those of the default strategy (`stepwise_agrees`).
    """
    library = {program.name: program.instructions for program in programs}
    report = {"programs": {}, "paraphrases": [], "unknown": []}
    for program in programs:
        entry = {"instructions": program.length, "runs": len(program.runs)}
        for split in ("trained", "held_out"):
            entry[split] = [evaluate_phrasing(pipe, program, description, max_steps, matching, library)
                            for description in phrasings[program.name].get(split, ())]
        # Only a phrasing that runs (not refused) can be compared run for run.
        if stepwise_check_inputs and program.runs and entry["trained"] and entry["trained"][0]["runs_right"]:
            first = phrasings[program.name]["trained"][0]
            few = [values for values, _ in program.runs[:stepwise_check_inputs]]
            entry["stepwise_agrees"] = (run_named(pipe, first, few, max_steps)
                                        == run_named(pipe, first, few, max_steps, strategy="stepwise"))
        report["programs"][program.name] = entry
        report["paraphrases"] += [
            {"program": program.name, **evaluate_phrasing(pipe, program, description, max_steps, matching, library)}
            for description in (paraphrases or {}).get(program.name, ())
        ]
    for description in unknown_descriptions:
        match = pipe.match_program(description, **matching)
        report["unknown"].append({"description": description, "refused": match["how"] == "refused",
                                  "runs_as": match["program"], "most_likely": _most_likely(match),
                                  "margin": match["margin"]})
    return report


def release_metrics(report: dict) -> dict:
    """The report's counts: `{name: [count, out of]}` for exact decoding, runs right and right outputs of the
    trained phrasings, the held-out phrasings and the paraphrases run right / refused / run wrong, and the
    descriptions of unknown tasks refused / run (a report without paraphrases counts none)."""
    entries = report["programs"].values()
    trained = [p for entry in entries for p in entry["trained"]]
    held_out = [p for entry in entries for p in entry["held_out"]]
    paraphrases = report.get("paraphrases", [])
    unknown = report["unknown"]
    counts = {
        "trained phrasings decoded exactly": [sum(p["decoded_exactly"] for p in trained), len(trained)],
        "trained phrasings run right": [sum(p["runs_right"] for p in trained), len(trained)],
        "right outputs, trained phrasings": [sum(p["correct_outputs"] for p in trained),
                                             sum(p["inputs"] for p in trained)],
    }
    for label, phrasings in (("held-out phrasings", held_out), ("paraphrases", paraphrases)):
        counts[f"{label} run right"] = [sum(p["runs_right"] for p in phrasings), len(phrasings)]
        counts[f"{label} refused"] = [sum(p["decision"] == "refused" for p in phrasings), len(phrasings)]
        counts[f"{label} run wrong"] = [sum(p["runs_wrong"] for p in phrasings), len(phrasings)]
    counts["unknown descriptions refused"] = [sum(u["refused"] for u in unknown), len(unknown)]
    counts["unknown descriptions run"] = [sum(not u["refused"] for u in unknown), len(unknown)]
    return counts


def release_is_exact(metrics: dict) -> bool:
    """Whether every trained phrasing decodes exactly and runs right (halted, as its program, every output right),
    and every unknown description is refused."""
    keys = ("trained phrasings decoded exactly", "trained phrasings run right", "right outputs, trained phrasings",
            "unknown descriptions refused")
    return all(metrics[key][0] == metrics[key][1] for key in keys if key in metrics)


# model-index metric type of each count (https://hf.co/metrics names where one fits).
_METRIC_TYPES = {
    "trained phrasings decoded exactly": "exact_match",
    "trained phrasings run right": "accuracy",
    "right outputs, trained phrasings": "accuracy",
    "right outputs on random inputs, trained phrasings": "accuracy",  # reports written before declared tests
    "held-out phrasings run right": "accuracy",
    "held-out phrasings refused": "refusal_rate",
    "held-out phrasings run wrong": "error_rate",
    "paraphrases run right": "accuracy",
    "paraphrases refused": "refusal_rate",
    "paraphrases run wrong": "error_rate",
    "unknown descriptions refused": "refusal_rate",
    "unknown descriptions run": "error_rate",
}


def eval_results(metrics: dict, num_programs: int) -> list[EvalResult]:
    """`release_metrics` as `model-index` results (fractions), for `ModelCardData(eval_results=...)`."""
    return [
        EvalResult(task_type=TASK_TYPE, task_name="Running memorized subleq programs", dataset_type=DATASET_TYPE,
                   dataset_name=f"Synthesizer program library ({num_programs} programs)",
                   metric_type=_METRIC_TYPES[name], metric_name=name,
                   metric_value=round(count / total, 4) if total else 0.0)
        for name, (count, total) in metrics.items()
    ]


def program_table(known_programs: Sequence[dict]) -> str:
    """Markdown: each of a checkpoint's `known_programs` with its first description, its inputs and outputs (name:
    cells), and its own instructions (without the HALT padding)."""
    lines = ["| program | run it as | inputs (cells) | outputs (cells) | instructions |",
             "| --- | --- | --- | --- | ---: |"]

    def cells(named):
        return ", ".join(f"`{name}` ({length})" for name, (_, length) in (named or {}).items())

    for entry in known_programs:
        instructions = [tuple(instruction) for instruction in entry["instructions"]]
        while instructions and instructions[-1] == PADDING_INSTRUCTION:
            instructions.pop()
        lines.append(f"| {entry['name']} | \"{entry['descriptions'][0]}\" | {cells(entry.get('inputs'))} | "
                     f"{cells(entry.get('outputs'))} | {len(instructions)} |")
    return "\n".join(lines)


def release_usage(examples: list[tuple[str, dict, dict]], refused: str | None):
    """
    The card's usage code: load the checkpoint by name, run each `(description, inputs, expected outputs)` of
    `examples` on its named inputs and print `description inputs -> outputs`; then, given `refused` (an unknown
    description this checkpoint refuses), show the refusal (`refused: ...`).
    """

    def usage(repo_id: str) -> str:
        lines = [
            "from transformers import AutoModel, pipeline",
            "",
            f'model = AutoModel.from_pretrained("{repo_id}", trust_remote_code=True)',
            f'run = pipeline("subleq-execution", model="{repo_id}", trust_remote_code=True)',
            'print(len(model.config.known_programs), "programs:", '
            '", ".join(program["name"] for program in model.config.known_programs))',
            "",
            "examples = [",
        ]
        for description, inputs, expected in examples:
            lines.append(f"    ({description!r}, {inputs!r}),  # -> {expected}")
        lines += [
            "]",
            "for description, inputs in examples:",
            "    result = run(description, inputs=inputs)  # also: result['memory'], result['steps']",
            '    print(description, inputs, "->", result["outputs"])',
        ]
        if refused is not None:
            lines += [
                "",
                "try:  # a description it was not trained on, and close to none of its programs",
                f"    run({refused!r})",
                "except ValueError as refusal:  # RunRefused",
                '    print("refused:", refusal)',
            ]
        return "\n".join(lines)

    return usage


def card_examples(programs: Sequence[LibraryProgram], phrasings: dict, input_seed: int) -> list[tuple]:
    """`(first trained description, inputs, expected outputs)` of each program that has a run to show: its first
    declared test, or else its first random input of `program_inputs`; both are among the runs the evaluation
    checks."""
    examples = []
    for program in programs:
        tests = getattr(program, "tests", ())
        if tests:
            examples.append((phrasings[program.name]["trained"][0], dict(tests[0].inputs), dict(tests[0].outputs)))
            continue
        for values in program_inputs(program, input_seed, 1):
            examples.append((phrasings[program.name]["trained"][0], values, program.reference(**values)))
    return examples


def release_card(config, programs: Sequence[LibraryProgram], phrasings: dict, data_memory_size: int,
                 max_program_length: int, input_seed: int, training_settings: dict,
                 script: str = "examples/build_synthesizer_bert_256.py") -> ModelCardSpec:
    """A library checkpoint's card: a table of every program it knows (`config.known_programs`), its usage running
    `card_examples` of `programs` (the ones just taught); once the evaluation is done, set its usage again with a
    refused description (`release_usage`) and fill `results` and `eval_results`. `data_memory_size` and
    `max_program_length` are kept for callers; the table reads k and L's programs from the config."""
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=(
            f"Runs {len(config.known_programs)} programs, each named by a few natural-language "
            "descriptions, on named inputs: `run(description, inputs={...})` writes the inputs into the program's "
            "data memory, runs the program the network decodes, and returns `outputs` (read from the program's "
            "output cells) beside `memory`, `steps` and `halt_reason`. A description runs only when it is one of "
            "the trained descriptions below (`config.known_programs`); anything else raises `RunRefused` (a "
            "`ValueError`). Passing `min_margin=10, min_match_confidence=0.1` opts in to matching an unseen phrasing "
            "to the known program most likely under the network; the Results show how often that goes wrong. "
            "Every input a program declares must be given: a run with none of them (and no `memory`) is refused, "
            "naming them.\n\n"
            + program_table(config.known_programs)
        ),
        usage=release_usage(card_examples(programs, phrasings, input_seed), None),
        script=script,
        training_settings=training_settings,
    )


# Results


def summarize(trainer, model_args, data_args, metrics: dict, seconds: dict, vocabulary: int) -> dict:
    """The `training` of the results: steps, time, the final exact match (also merged into `settings`)."""
    state = trainer.state
    return {
        "backbone": f"{model_args.backbone_type} {model_args.num_hidden_layers} x {model_args.hidden_size}, "
                    f"{model_args.num_attention_heads} heads, intermediate {model_args.intermediate_size}",
        "vocabulary": vocabulary,
        "train_rows": len(trainer.eval_dataset),
        "train_rows_per_epoch": len(trainer.train_dataset),
        "steps_to_100": first_step_reaching(state.log_history),
        "global_step": state.global_step,
        "train_seconds": round(seconds["train"], 1),
        "seconds_per_step": round(seconds["train"] / max(state.global_step, 1), 3),
        "evaluation_seconds": round(seconds["evaluate"], 1),
        "pipeline_eval_seconds": round(seconds["evaluate"], 1),
        "final_exact_match": metrics["eval_exact_match"],
        "final_program_exact_match": metrics["eval_program_exact_match"],
    }


def print_summary(results: dict) -> None:
    for name, entry in results["report"]["programs"].items():
        cells = [f"{split} {sum(p['decoded_exactly'] for p in entry[split])}/{len(entry[split])} decoded exactly, "
                 f"{sum(p['runs_right'] for p in entry[split])}/{len(entry[split])} run right"
                 for split in ("trained", "held_out")]
        print(f"{name}: " + "; ".join(cells))
    for name, (count, total) in results["metrics"].items():
        print(f"{name}: {count}/{total}")
    for row in (results.get("baseline") or {}).get("rows", []):
        baselines = ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in row["baseline_accuracies"].items())
        print(f"count ones, {row['inputs']}: baselines {baselines}; Synthesizer {row['synthesizer_accuracy']:.3f}")


def build_failure(results: dict, output_dir: str, results_file: str) -> str | None:
    """The error line of a build that is not exact, or None: an instruction exact match below 100%, or a trained
    phrasing (of an old or a new program) that does not decode exactly or does not run right."""
    training, counts = results["training"], results["metrics"]
    if training["final_exact_match"] == 1.0 and release_is_exact(counts):
        return None
    wrong = [f"{name}: {p['description']!r}" + (f" (refused: {p['refusal']})" if p.get("refusal") else
                                                 f" (first wrong run: {p['failures'][0]})" if p["failures"] else "")
             for name, entry in results["report"]["programs"].items() for p in entry["trained"]
             if not (p["decoded_exactly"] and p["runs_right"])]
    return (f"error: the build did not memorize every trained phrasing exactly ({counts}; instruction exact match "
            f"{training['final_exact_match']:.4f} after {training['global_step']} steps; not right: "
            f"{'; '.join(wrong[:3]) or 'none'}): nothing was pushed. Train longer (--num_train_epochs) or see "
            f"{results_file} in {output_dir}")


def report_finished(training_args, results: dict, results_file: str) -> dict:
    """A rerun of a finished build: says so and returns its results without training, evaluating or pushing; a build
    that was not exact exits with its error again (status 1)."""
    say(training_args, f"{training_args.output_dir} holds a finished build ({results_file}): nothing to do. "
                       "--overwrite_output_dir starts over.")
    failure = build_failure(results, training_args.output_dir, results_file)
    if failure is not None:
        sys.exit(failure)
    print_summary(results)
    return results


def check_declared_tests(programs, data_args) -> None:
    """Every declared test on the reference machine, before any training step.

    Raises:
        SystemExit: status 1, naming the program, the test and the actual outputs, when one fails: the program (or
            its test) is wrong, and no training run should be spent on it.
    """
    try:
        run_program_tests(programs, data_args.data_memory_size, data_args.max_program_length)
    except ProgramTestError as error:
        sys.exit(f"error: {error}")


def evaluate_saved(output_dir: str, model_args, data_args, training_args, tokenizer, programs, phrasings,
                   seconds: dict) -> tuple[dict, dict | None]:
    """`(report, baseline)`: the report of the one evaluation (`evaluate_library`) of the checkpoint saved in
    `output_dir`, loaded with its own code as a user loads it (the known programs it was taught from, then the
    library's), and the end-to-end baselines' comparison (or None)."""
    # The folder's own code, as a user loads it (config.json names the pipeline in custom_pipelines).
    pipe = pipeline("subleq-execution", model=output_dir, trust_remote_code=True, device=-1)
    start = time.time()
    k, length = data_args.data_memory_size, data_args.max_program_length
    targets = [known_expected_program(entry, data_args.max_steps_per_run) for entry in data_args.known]
    targets += [expected_program(program, k, length, data_args.input_seed, data_args.num_inputs)
                for program in programs]
    all_phrasings = {entry["name"]: {"trained": list(entry["descriptions"]), "held_out": []}
                     for entry in data_args.known}
    all_phrasings.update(phrasings)
    paraphrases = {program.name: PARAPHRASES[program.name] for program in programs
                   if program.name in PARAPHRASES and _is_builtin(program)}
    report = evaluate_library(pipe, targets, all_phrasings, data_args.max_steps_per_run,
                              {"min_margin": model_args.min_margin,
                               "min_match_confidence": model_args.min_match_confidence},
                              data_args.unknown_descriptions, paraphrases, data_args.stepwise_check_inputs)
    seconds["evaluate"] = time.time() - start
    baseline = None
    if data_args.baseline:
        baseline = run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings)
    return report, baseline


def _is_builtin(program) -> bool:
    # The paraphrases are written for the built-in programs: a user's program of the same name is another task.
    try:
        return load_program(program.name).source == program.source
    except KeyError:
        return False


def main(argv=None, callbacks=None, argument_types=None, script=SCRIPT, results_file=RESULTS_FILE,
         commit_message="Synthesizer: a program library, named in natural language", description=None):
    """Builds (or teaches) and checks a library checkpoint; returns the results written to `results_file`.
    `argument_types`, `script`, `results_file`, `commit_message` and `description`: another script's defaults
    (`examples/build_synthesizer_bert_256.py`).

    Raises:
        SystemExit: status 2 for a bad argument or library; status 1 for a failing declared test, or a build that is
            not exact (after writing its results; nothing is pushed).
    """
    wall_start = time.time()
    argument_types = argument_types or (ModelArguments, DataArguments, LibraryTrainingArguments)
    model_args, data_args, training_args = parse_args(argv, argument_types, description)
    settings = settings_of((model_args, data_args, training_args))  # as parsed: what a rerun is compared with
    setup_run(training_args, logger)
    finished = finished_results(training_args, results_file, required=("settings", "training", "metrics", "report"))
    if finished is not None:
        return report_finished(training_args, finished, results_file)
    programs = data_args.library
    check_declared_tests(programs, data_args)
    command, machine = launch_command(script, argv), machine_description()
    phrasings = split_library(programs, data_args.num_held_out)
    k, length = data_args.data_memory_size, data_args.max_program_length
    records, lengths = training_records(data_args.known, programs, phrasings, k, length)
    set_seed(training_args.seed)
    model, tokenizer, new_words = build_model(model_args, data_args, programs, phrasings)
    known_records = sum(len(entry["descriptions"]) for entry in data_args.known)
    train_dataset, eval_dataset = build_datasets(records, lengths, tokenizer, model.config, data_args,
                                                 model_args.word_dropout, training_args.seed, known_records)
    say(training_args, f"{len(data_args.known)} known and {len(programs)} new programs, {len(records)} trained "
                       f"phrasings, {len(eval_dataset)} rows ({len(train_dataset)} per epoch), k={k}, L={length}, "
                       f"vocabulary {len(tokenizer)} ({new_words} new)")
    flat = {key: value for key, value in {**asdict(model_args), **asdict(data_args)}.items()
            if key not in ("library", "known")}
    training_settings = redact_settings({
        **flat, "programs": [entry["name"] for entry in model.config.known_programs],
        "learning_rate": training_args.learning_rate,
        "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
        "num_train_epochs": training_args.num_train_epochs, "seed": training_args.seed})
    trainer = HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_compute_metrics(program_length=length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
        card=release_card(model.config, programs, phrasings, k, length, data_args.input_seed, training_settings,
                          script=script),
    )
    write_run_settings(settings, training_args)
    start = time.time()
    trainer.train(resume_from_checkpoint=find_checkpoint_to_resume(training_args))
    seconds = {"train": time.time() - start}
    save_unpushed(trainer)  # the evaluation loads this folder, as a user would
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.save_metrics("eval", metrics)
    if not trainer.is_world_process_zero():
        return None
    report, baseline = evaluate_saved(training_args.output_dir, model_args, data_args, training_args, tokenizer,
                                      programs, phrasings, seconds)
    counts = release_metrics(report)
    training = summarize(trainer, model_args, data_args, metrics, seconds, len(tokenizer))
    results = {"command": command, "machine": machine, "settings": {**training_settings, **training},
               "training": training, "metrics": counts, "report": report, "programs": report["programs"],
               "baseline": baseline, "wall_seconds": round(time.time() - wall_start, 1),
               # On a shared machine the wall time depends on the other load; the CPU time much less.
               "cpu_seconds": round(time.process_time(), 1)}
    refused = next((u["description"] for u in report["unknown"] if u["refused"]), None)
    trainer.card.usage = release_usage(card_examples(programs, phrasings, data_args.input_seed), refused)
    trainer.card.results.update({name: f"{count}/{total}" for name, (count, total) in counts.items()})
    trainer.card.results["steps to 100% exact match"] = training["steps_to_100"]
    trainer.card.eval_results = eval_results(counts, len(model.config.known_programs))
    save_unpushed(trainer)  # the card with the results (the weights are those evaluated)
    # Last, over the saved model: the results file marks the build as finished, and a rerun then does nothing.
    results = write_results(trainer, results_file, results, stopped_short=metrics["eval_exact_match"] < 1.0)
    failure = build_failure(results, training_args.output_dir, results_file)
    if failure is not None:
        sys.exit(failure)
    push_saved(trainer, commit_message)
    print_summary(results)
    say(training_args, f"built in {results['wall_seconds']:.0f} s ({trainer.state.global_step} steps)")
    return results


if __name__ == "__main__":
    main()
