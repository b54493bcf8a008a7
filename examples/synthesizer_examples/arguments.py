"""Checks of the example scripts' argument values.

Each check raises a `ValueError` that names the flag and the values it allows. The scripts call them from their
argument dataclasses' `__post_init__` (or from the `check` they give `parse_example_args`, for checks that compare
flags of two dataclasses), so that `ExampleArgumentParser` reports a bad value as one `error:` line with exit status
2 while it parses the command line: before any data is read or any model is built, not after a long training.
"""

import math
import os
import tempfile
from dataclasses import dataclass, replace

from huggingface_hub.utils import validate_repo_id
from transformers import CONFIG_MAPPING

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig
from modeling_synthesizer.subleq import MAX_DATA_MEMORY_SIZE, MAX_PROGRAM_LENGTH


@dataclass(frozen=True)
class Range:
    """
    The values a numeric flag allows: from `low` to `high` (`None`: unbounded), each end included unless it is open.
    NaN and booleans are never in a range; `None` is when `optional`.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def __contains__(self, value) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"{'<' if self.high_open else '<='} {self.high}"


POSITIVE = Range(1)  # sizes and counts
NON_NEGATIVE = Range(0)
FRACTION = Range(0, 1, high_open=True)  # dropout, label smoothing: 1 would leave nothing to learn
POSITIVE_REAL = Range(0, math.inf, low_open=True, high_open=True)
NON_NEGATIVE_REAL = Range(0, math.inf, high_open=True)
# The Trainer seeds numpy too, whose seeds are 32-bit.
SEED = Range(0, 2**32 - 1)
DATA_MEMORY_SIZE = Range(1, MAX_DATA_MEMORY_SIZE)
PROGRAM_LENGTH = Range(1, MAX_PROGRAM_LENGTH)


def optional(allowed: Range) -> Range:
    """`allowed`, or None (the flag's "not set")."""
    return replace(allowed, optional=True)


def check_ranges(args, **ranges: Range) -> None:
    """
    Checks each named field of `args` against its `Range`.

    Raises:
        ValueError: naming the first field outside its range, e.g. `--hidden_size must be >= 1, got 0`.
    """
    for name, allowed in ranges.items():
        value = getattr(args, name)
        if value not in allowed:
            raise ValueError(f"--{name} must be {allowed}, got {value!r}")


def check_backbone(args) -> None:
    """
    The backbone flags of a script's model arguments: `hidden_size`, `num_hidden_layers`, `num_attention_heads`,
    `intermediate_size` and, where the script has them, `max_position_embeddings` at least 1; `dropout` in [0, 1);
    the hidden size a multiple of the number of heads; `backbone_type` a model type transformers knows.

    Raises:
        ValueError: naming the first flag that is wrong.
    """
    check_ranges(args, hidden_size=POSITIVE, num_hidden_layers=POSITIVE, num_attention_heads=POSITIVE,
                 intermediate_size=POSITIVE, dropout=FRACTION)
    if hasattr(args, "max_position_embeddings"):
        check_ranges(args, max_position_embeddings=POSITIVE)
    # Attention splits the hidden size evenly over the heads; BERT raises only when the model is built.
    if args.hidden_size % args.num_attention_heads:
        raise ValueError(f"--hidden_size {args.hidden_size} must be a multiple of --num_attention_heads "
                         f"{args.num_attention_heads}")
    backbone_type = getattr(args, "backbone_type", "bert")
    if backbone_type not in CONFIG_MAPPING or backbone_type == SynthesizerConfig.model_type:
        raise ValueError(f"--backbone_type must be a transformers model type with BERT's size names (e.g. bert, "
                         f"roberta), got {backbone_type!r}")


def check_output_dir(output_dir) -> None:
    """
    `--output_dir` must be a folder this process can write in, or a path it can create one at (nothing is created
    here: the nearest existing folder above it is tried with a temporary file).

    Raises:
        ValueError: if it is empty, a file, under a file, or not writable.
    """
    if not output_dir:
        raise ValueError(f"--output_dir must name a folder, got {output_dir!r}")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ValueError(f"--output_dir {output_dir} is a file, not a folder")
    existing = os.path.abspath(output_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"--output_dir {output_dir} cannot be created: {existing} is a file")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ValueError(f"--output_dir {output_dir} cannot be written: {existing} refuses new files "
                         f"({error.strerror})") from None


def check_tokenizer_name(name: str) -> None:
    """
    `--tokenizer_name` must be a local folder or could be a Hub model id (whether the Hub has it is known only when
    it is loaded).

    Raises:
        ValueError: if it is a file, or neither a folder nor a possible Hub id (e.g. a mistyped local path).
    """
    if os.path.isdir(name):
        return
    if os.path.exists(name):
        raise ValueError(f"--tokenizer_name {name} is a file, not a tokenizer folder or a Hub model id")
    try:
        validate_repo_id(name)
    except ValueError:
        raise ValueError(f"--tokenizer_name {name}: no such folder, and not a Hub model id") from None
