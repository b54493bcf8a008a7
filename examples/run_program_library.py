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
3. Evaluate the saved folder as a user runs it (`utils_program_library.py`): a run is right when it halted, ran the
   program its description names and gave the expected `outputs` (the declared tests and, for a program with a
   Python reference, `--num_inputs` random named inputs). Held-out phrasings, paraphrases and
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

The baselines (`--baselines`): networks with the backbone's sizes trained end to end on a bit sequence as text
("1 0 1 1") -> its number of ones, compared on held-out and longer sequences with the Synthesizer running
`count_ones_32` (`utils_program_library.run_baseline`).

Rerunning a command whose run was interrupted resumes from the last checkpoint in --output_dir; a finished run is
reported and left alone, and --overwrite_output_dir starts over.
"""

import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets
import torch
from tokenizers import normalizers, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast, set_seed
from utils_program_library import (
    LONG_COUNT_PROGRAM,
    PADDING_INSTRUCTION,
    baseline_names,
    build_failure,
    evaluate_saved,
    fill_card,
    padded_program,
    print_summary,
    release_card,
    release_metrics,
)

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
from modeling_synthesizer.tokenizer import SPECIAL_TOKENS, wrap_word_level_vocabulary
from synthesizer_examples.arguments import (
    DATA_MEMORY_SIZE,
    FRACTION,
    NON_NEGATIVE,
    NON_NEGATIVE_REAL,
    POSITIVE,
    POSITIVE_REAL,
    PROGRAM_LENGTH,
    Range,
    check_backbone,
    check_ranges,
)
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.memorization import build_memorization_dataset, rehearsal_records
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.model_card import card_training_settings
from synthesizer_examples.run_info import launch_command, machine_description
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
# The baseline trains on every bit sequence up to its longest training length, 2 ** (n + 1) of them: 16 is already
# 131,070 sequences.
MAX_BASELINE_TRAIN_LENGTH = 16
# The run loop's step budgets are int64.
STEP_BUDGET = Range(1, (1 << 63) - 1)


# Arguments

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
                     min_match_confidence=Range(0, 1))


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
        items = [item.strip() for item in self.baseline_long_lengths.split(",") if item.strip()]
        repeated = sorted({item for item in items if items.count(item) > 1})
        if repeated:
            raise ValueError(f"--baseline_long_lengths names {', '.join(repeated)} more than once, got "
                             f"{self.baseline_long_lengths!r}")
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


# Checks between flags, made while parsing (status 2), and the parser

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


def check_max_position_embeddings(model_args, data_args, descriptions: list[str]) -> None:
    """The backbone's positions must hold the longest input the script builds: `[CLS] L description [SEP]` under the
    word-level tokenizer (`build_description_tokenizer`: a word it lacks is one `[UNK]`), and a baseline's longest
    bit sequence with `[CLS]`/`[SEP]`.

    Raises:
        ValueError: naming the longest input that does not fit.
    """
    tokenizer = build_description_tokenizer(descriptions, 0)
    length = data_args.max_program_length
    lengths = {f"the input of {d!r}": len(tokenizer(f"{length} {d}")["input_ids"]) for d in descriptions}
    if {"absolute", "rotary"} & set(baseline_names(data_args)):
        longest = max(data_args.long_lengths())
        lengths[f"a baseline's {longest}-bit sequence"] = longest + 2
    what, longest = max(lengths.items(), key=lambda item: item[1])
    if longest > model_args.max_position_embeddings:
        raise ValueError(f"--max_position_embeddings must be >= {longest} for {what} ({longest} tokens), got "
                         f"{model_args.max_position_embeddings}")


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
    check_max_position_embeddings(model_args, data_args, descriptions + list(data_args.unknown_descriptions))


def parse_args(argv=None, argument_types=(ModelArguments, DataArguments, LibraryTrainingArguments), description=None):
    return parse_example_args(argument_types, argv, description=description or __doc__, check=check_arguments)


# Reading the library that --programs names (while parsing)

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


# The tokenizer: a word-level vocabulary of the trained phrasings

def _normalizer():
    return normalizers.Lowercase()


def _pre_tokenizer():
    # Whitespace and punctuation: "what is |x|?" -> what, is, |, x, |, ?
    return pre_tokenizers.BertPreTokenizer()


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
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    words = {word for description in descriptions
             for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(description))}
    tokens = list(SPECIAL_TOKENS.values()) + [str(i) for i in range(max_number + 1)]
    known = set(tokens)
    tokens += [word for word in sorted(words) if word not in known]
    return wrap_word_level_vocabulary(tokens, pre_tokenizer, normalizer, model_max_length=model_max_length)


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


# The datasets: (C_t, phrasing) -> (A, B, C) rows, word dropout, oversampling

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
    record's own instructions (`training_rows`)."""
    records = rehearsal_records(known)
    lengths = [_own_length(record["program"]) for record in records]
    for program in programs:
        instructions = [list(instruction) for instruction in padded_program(program, k, length)]
        own = len(program.assemble(k, length).program)
        for description in phrasings[program.name]["trained"]:
            records.append({"description": description, "program": instructions})
            lengths.append(own)
    return records, lengths


def _own_length(instructions: list) -> int:
    # A known program's instructions are padded with HALT (0, 0, 0) to L: its own end where the padding starts.
    length = len(instructions)
    while length and tuple(instructions[length - 1]) == PADDING_INSTRUCTION:
        length -= 1
    return length


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

    def __init__(self, dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, p: float, keep_prefix: int,
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


def training_rows(lengths: list[int], data_args, known_records: int) -> list[int] | None:
    """The eval rows one training epoch takes (None: each once), over program-major rows (L per phrasing): every row
    once, and each program's own instructions `--instruction_repeats - 1` more times (at L = 256 the library's
    programs have 3 to 33 instructions, so without this about 94% of the rows would be the same HALT padding). When
    teaching, the new programs' rows then appear `--new_program_repeats` times (0: the known phrasings per new
    phrasing, rounded), the rehearsed known programs' once, so that teaching spends its steps on the new.
    `lengths`: each phrasing's own instructions, the `known_records` known programs' first."""
    length, new_records = data_args.max_program_length, len(lengths) - known_records
    repeats = 1
    if known_records and new_records:
        repeats = data_args.new_program_repeats or max(1, round(known_records / new_records))
    if data_args.instruction_repeats == 1 and repeats == 1:
        return None
    rows = list(range(len(lengths) * length))
    for phrasing, own in enumerate(lengths):
        rows += list(range(phrasing * length, phrasing * length + own)) * (data_args.instruction_repeats - 1)
    new = [row for row in rows if row // length >= known_records]
    return rows + new * (repeats - 1)


def build_datasets(data_args, programs, phrasings: dict, tokenizer, config, word_dropout: float, seed: int):
    """`(train, eval)`: every (trained phrasing, C_t) row once, clean, for evaluation (`training_records`: a
    checkpoint's known programs first); for training, the rows of `training_rows` with word dropout."""
    records, lengths = training_records(data_args.known, programs, phrasings, data_args.data_memory_size,
                                        data_args.max_program_length)
    eval_dataset = tokenize_instructions(build_memorization_dataset(records), tokenizer, config)
    rows = training_rows(lengths, data_args, sum(len(entry["descriptions"]) for entry in data_args.known))
    rows = eval_dataset if rows is None else eval_dataset.select(rows)
    # [CLS] and C_t are never dropped; only description words.
    train_dataset = WordDropoutDataset(rows, tokenizer, word_dropout,
                                       keep_prefix=2 if config.add_special_tokens else 1, seed=seed)
    return train_dataset, eval_dataset


# The model: a new Synthesizer, or the checkpoint to teach

def known_program_entries(programs: Sequence[LibraryProgram], phrasings: dict, k: int, length: int) -> list[dict]:
    """`SynthesizerConfig.known_programs` of a checkpoint that memorized `programs` under their trained `phrasings`
    (the first one canonical): each program's name, phrasings, padded instructions, initial data memory and the
    `[address, length]` of its named inputs and outputs."""
    entries = []
    for program in programs:
        assembled = program.assemble(k, length)
        entries.append({
            "name": program.name,
            "descriptions": list(phrasings[program.name]["trained"]),
            "instructions": [list(instruction) for instruction in padded_program(program, k, length)],
            "memory": [int(cell) for cell in assembled.memory],
            "inputs": {name: list(cells) for name, cells in assembled.inputs.items()},
            "outputs": {name: list(cells) for name, cells in assembled.outputs.items()},
        })
    return entries


def build_model(model_args, data_args, programs, phrasings):
    """`(model, tokenizer, new_words)`: a new Synthesizer for the library, or the checkpoint of
    `--model_name_or_path` with the new programs appended to its `known_programs` and a vocabulary row for each new
    description word."""
    k, length = data_args.data_memory_size, data_args.max_program_length
    new_entries = known_program_entries(programs, phrasings, k, length)
    descriptions = [d for p in phrasings.values() for d in p["trained"]]
    if model_args.model_name_or_path is None:
        tokenizer = build_description_tokenizer(descriptions, max(k, length), model_args.max_position_embeddings)
        config = SynthesizerConfig(text_config=backbone_config(model_args, tokenizer), data_memory_size=k,
                                   max_program_length=length, label_smoothing=model_args.label_smoothing,
                                   input_template="{instruction} {description}", add_special_tokens=True,
                                   known_programs=new_entries)
        return SynthesizerForSubleq(config), tokenizer, len(tokenizer)
    old = AutoTokenizer.from_pretrained(model_args.model_name_or_path)
    tokenizer = extended_tokenizer(old, descriptions, old.model_max_length)
    model = SynthesizerForSubleq.from_pretrained(model_args.model_name_or_path)
    if len(tokenizer) > len(old):
        model.resize_token_embeddings(len(tokenizer))
    model.config.known_programs = data_args.known + new_entries
    return model, tokenizer, len(tokenizer) - len(old)


# The Trainer's card

def card_settings(model_args, data_args, training_args, config) -> dict:
    """The settings the card records: every flag but the library and the known programs themselves (their names
    instead), and the training's; tokens redacted."""
    flat = {key: value for key, value in {**asdict(model_args), **asdict(data_args)}.items()
            if key not in ("library", "known")}
    return card_training_settings({**flat, "programs": [entry["name"] for entry in config.known_programs]},
                                  training_args)


# Results

def summarize(trainer, model_args, metrics: dict, seconds: dict, vocabulary: int) -> dict:
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
    # Arguments, with the library they name read and checked (status 2 for any error)
    argument_types = argument_types or (ModelArguments, DataArguments, LibraryTrainingArguments)
    model_args, data_args, training_args = parse_args(argv, argument_types, description)
    settings = settings_of((model_args, data_args, training_args))  # as parsed: what a rerun is compared with
    setup_run(training_args, logger)
    finished = finished_results(training_args, results_file, required=("settings", "training", "metrics", "report"))
    if finished is not None:
        return report_finished(training_args, finished, results_file)
    programs, k, length = data_args.library, data_args.data_memory_size, data_args.max_program_length
    try:  # every declared test on the reference machine: a wrong program (or test) gets no training run
        run_program_tests(programs, k, length)
    except ProgramTestError as error:
        sys.exit(f"error: {error}")
    command, machine = launch_command(script, argv), machine_description()

    # Model, tokenizer and datasets
    phrasings = split_library(programs, data_args.num_held_out)
    set_seed(training_args.seed)
    model, tokenizer, new_words = build_model(model_args, data_args, programs, phrasings)
    train_dataset, eval_dataset = build_datasets(data_args, programs, phrasings, tokenizer, model.config,
                                                 model_args.word_dropout, training_args.seed)
    say(training_args, f"{len(data_args.known)} known and {len(programs)} new programs, {len(eval_dataset) // length} "
                       f"trained phrasings, {len(eval_dataset)} rows ({len(train_dataset)} per epoch), k={k}, "
                       f"L={length}, vocabulary {len(tokenizer)} ({new_words} new)")

    # Trainer, train, save
    training_settings = card_settings(model_args, data_args, training_args, model.config)
    trainer = HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_compute_metrics(program_length=length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
        card=release_card(model.config, programs, phrasings, data_args.input_seed, training_settings, script),
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

    # Results: the saved folder evaluated as a user runs it, written with the card; pushed only when exact
    report, baseline = evaluate_saved(training_args.output_dir, model_args, data_args, training_args, tokenizer,
                                      programs, phrasings, seconds)
    counts = release_metrics(report)
    training = summarize(trainer, model_args, metrics, seconds, len(tokenizer))
    results = {"command": command, "machine": machine, "settings": {**training_settings, **training},
               "training": training, "metrics": counts, "report": report, "programs": report["programs"],
               "baseline": baseline, "wall_seconds": round(time.time() - wall_start, 1),
               # On a shared machine the wall time depends on the other load; the CPU time much less.
               "cpu_seconds": round(time.process_time(), 1)}
    fill_card(trainer.card, model.config, programs, phrasings, data_args.input_seed, report, counts,
              training["steps_to_100"])
    trainer.write_card(training_args.output_dir)  # the card with the results, next to the weights evaluated
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
