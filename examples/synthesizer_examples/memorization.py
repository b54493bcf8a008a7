"""Training data for Experiment 1 of the paper: random programs to memorize.

Each builder returns a `datasets.Dataset` with one row per (program description, instruction number):
`description` (str), `instruction` (C_t, 1-based) and `labels` ([A, B, C], the instruction's operands).
"""

import itertools
import random
from collections.abc import Iterator

from datasets import Dataset

from modeling_synthesizer.tokenizer import program_token


Program = list[tuple[int, int, int]]
# "0..L": C in [0, L], every class of the C head (ours); "0..L-1": C in [0, L), the authors' range.
C_LABEL_RANGES = ("0..L", "0..L-1")


def check_positive(**sizes: int):
    """Raises `ValueError` naming the first size below 1."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def make_random_programs(
    num_programs: int, program_length: int, data_memory_size: int, seed: int, c_label_range: str = "0..L"
) -> list[Program]:
    """
    `num_programs` random subleq programs of `program_length` instructions.

    A and B are uniform in [0, k). With `c_label_range="0..L"` C is uniform in [0, L], every valid value of the C
    head: 0 = HALT, and 1..L jump to that instruction (C = L jumps to the last instruction; a program falls off its
    end only by falling through from instruction L). The authors drew C from [0, L) with 0-based instruction
    numbers; here instructions are numbered 1..L as in the paper, so [0, L] is the same L + 1 classes with 0 = HALT.
    `c_label_range="0..L-1"` draws the authors' range as it is (never C = L), for `--recipe authors`.

    Args:
        num_programs (`int`): N.
        program_length (`int`): L.
        data_memory_size (`int`): k.
        seed (`int`): the programs are a pure function of the arguments; A, B and C are drawn in that order for
            either range, so the two ranges differ only where C is drawn from a different number of classes.
        c_label_range (`str`, *optional*, defaults to `"0..L"`): one of `C_LABEL_RANGES`.

    Raises:
        ValueError: if a size is not positive or `c_label_range` is not one of `C_LABEL_RANGES`.
    """
    check_positive(num_programs=num_programs)
    return list(itertools.islice(random_program_stream(program_length, data_memory_size, seed, c_label_range),
                                 num_programs))


def random_program_stream(
    program_length: int, data_memory_size: int, seed: int, c_label_range: str = "0..L"
) -> Iterator[Program]:
    """The endless stream of random programs whose first N are `make_random_programs(N, ...)` (same arguments).

    Raises:
        ValueError: if a size is not positive or `c_label_range` is not one of `C_LABEL_RANGES`.
    """
    check_positive(program_length=program_length, data_memory_size=data_memory_size)
    if c_label_range not in C_LABEL_RANGES:
        raise ValueError(f"c_label_range must be one of {C_LABEL_RANGES}, got {c_label_range!r}")
    return _random_programs(program_length, data_memory_size, seed, c_label_range)


def _random_programs(program_length: int, data_memory_size: int, seed: int, c_label_range: str) -> Iterator[Program]:
    c_classes = program_length + 1 if c_label_range == "0..L" else program_length
    rng = random.Random(seed)
    while True:
        yield [(rng.randrange(data_memory_size), rng.randrange(data_memory_size), rng.randrange(c_classes))
               for _ in range(program_length)]


def rehearsal_records(known_programs: list[dict]) -> list[dict]:
    """
    The `build_memorization_dataset` records that rehearse a checkpoint's `config.known_programs` exactly, in their
    order: one per description of each entry, with the entry's declared instructions (no other data is needed).
    The one way the example scripts rehearse what a checkpoint knows while teaching it new programs.
    """
    return [
        {"description": description, "program": [list(instruction) for instruction in entry["instructions"]]}
        for entry in known_programs
        for description in entry["descriptions"]
    ]


def programs_to_records(programs: list[Program], descriptions: list[str] | None = None) -> list[dict]:
    """The `programs.json` form: `[{"description": "[PROG_0]", "program": [[A, B, C], ...]}, ...]`."""
    descriptions = descriptions or [program_token(i) for i in range(len(programs))]
    if len(descriptions) != len(programs):
        raise ValueError(f"{len(descriptions)} descriptions for {len(programs)} programs")
    return [
        {"description": description, "program": [list(instruction) for instruction in program]}
        for description, program in zip(descriptions, programs)
    ]


def build_memorization_dataset(records: list[dict]) -> Dataset:
    """
    One row per (description, instruction number) of the records of `programs_to_records`, in program-major order
    (all instructions of the first program, then the second's...), which the program-level metrics rely on.
    """
    rows = {"description": [], "instruction": [], "labels": []}
    for record in records:
        for instruction, operands in enumerate(record["program"], start=1):
            rows["description"].append(record["description"])
            rows["instruction"].append(instruction)
            rows["labels"].append(list(operands))
    return Dataset.from_dict(rows)


def build_random_program_dataset(
    num_programs: int, program_length: int, data_memory_size: int, seed: int, c_label_range: str = "0..L"
) -> tuple[Dataset, list[dict]]:
    """
    Random programs (`make_random_programs`, same arguments) as a memorization dataset, with their `programs.json`
    records.

    Raises:
        ValueError: if a size is not positive or `c_label_range` is unknown.
    """
    programs = make_random_programs(num_programs, program_length, data_memory_size, seed, c_label_range)
    records = programs_to_records(programs)
    return build_memorization_dataset(records), records
