"""Training data for Experiment 1 of the paper: random programs to memorize.

Each builder returns a `datasets.Dataset` with one row per (program description, instruction number):
`description` (str), `instruction` (C_t, 1-based) and `labels` ([A, B, C], the instruction's operands).
"""

import random

from datasets import Dataset

from modeling_synthesizer.tokenizer import program_token


Program = list[tuple[int, int, int]]


def check_positive(**sizes: int):
    """Raises `ValueError` naming the first size below 1."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def make_random_programs(
    num_programs: int, program_length: int, data_memory_size: int, seed: int
) -> list[Program]:
    """
    `num_programs` random subleq programs of `program_length` instructions.

    A and B are uniform in [0, k). C is uniform in [0, L], every valid value of the C head: 0 = HALT, and 1..L
    jump to that instruction (C = L jumps to the last instruction; a program falls off its end only by falling
    through from instruction L). The authors drew C from [0, L) with 0-based instruction numbers; here instructions
    are numbered 1..L as in the paper, so [0, L] is the same L + 1 classes with 0 = HALT.

    Args:
        num_programs (`int`): N.
        program_length (`int`): L.
        data_memory_size (`int`): k.
        seed (`int`): the programs are a pure function of the four arguments.

    Raises:
        ValueError: if a size is not positive.
    """
    check_positive(num_programs=num_programs, program_length=program_length, data_memory_size=data_memory_size)
    rng = random.Random(seed)
    return [
        [(rng.randrange(data_memory_size), rng.randrange(data_memory_size), rng.randrange(program_length + 1))
         for _ in range(program_length)]
        for _ in range(num_programs)
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
    num_programs: int, program_length: int, data_memory_size: int, seed: int
) -> tuple[Dataset, list[dict]]:
    """Random programs (`make_random_programs`) as a memorization dataset, with their `programs.json` records."""
    records = programs_to_records(make_random_programs(num_programs, program_length, data_memory_size, seed))
    return build_memorization_dataset(records), records


__all__ = [
    "Program",
    "build_memorization_dataset",
    "build_random_program_dataset",
    "check_positive",
    "make_random_programs",
    "programs_to_records",
]
