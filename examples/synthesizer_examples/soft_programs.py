"""Training data for Experiments 2 and 3 of the paper: SST-2 sentiment as a soft program.

Each builder returns a `datasets.Dataset` with one row per sentence: `description` (str), `instruction` (C_t,
1-based), `labels` ([A, B, C]), `sentiment` (the SST-2 class) and `sentence`.
"""

import random

from datasets import Dataset

from modeling_synthesizer.tokenizer import program_token

from .memorization import Program, check_positive


# Experiments 2 and 3 of the paper: SST-2 sentiment as a program. Rows carry `description`, `instruction` (C_t),
# `labels` ([A, B, C]) as above, plus `sentiment` (the SST-2 class, 0 = negative, 1 = positive) and `sentence`.
# The SST-2 column `label` is renamed: next to `labels`, the Trainer's collator would copy it over the operands.

SST2_ID2LABEL = {0: "negative", 1: "positive"}

# The authors' input is `[CLS] 0 classify this input [SEP] <sentence> [SEP]`. Here the prompt ends with a colon
# instead of [SEP], so that a natural string ("Classify this input: a gorgeous, witty film") is a valid description
# for the pipeline, and C_t is 1, not "0" (this project numbers instructions from 1).
SOFT_INSTRUCTION_TEMPLATE = "Classify this input: {sentence}"
# The authors' layout: mem[0] = -1 (minus the positive class), mem[1] = 0 (minus the negative class), mem[2] = the
# output cell. Positive runs (0, 2, 0): output = 0 - (-1) = 1, halt. Negative runs (1, 2, 0): output stays 0, halt.
SOFT_INSTRUCTION_OUTPUT_CELL = 2
SOFT_INSTRUCTION_OPERANDS = {1: (0, 2, 0), 0: (1, 2, 0)}

# The authors' Experiment 3 input, `[CLS] <C_t> as long as the input text is positive, run <program token> [SEP]
# <sentence> [SEP]`; the literal "[SEP]" is the tokenizer's separator token (BERT tokenizers match special tokens
# in text). Token type ids stay 0 on both sides of it (one text, not a pair).
SOFT_IMPERATIVE_TEMPLATE = "As long as the input text is positive, run {program} [SEP] {sentence}"
# Negative text must stop the machine at once: (0, 0, 0) = mem[0] -= mem[0], then HALT.
SOFT_IMPERATIVE_HALT = (0, 0, 0)
# Cell 0 is a verdict flag: it starts at 1 and only the HALT instruction (0, 0, 0) clears it, because the random
# programs' operands are never 0. So the output cell reads 1 after a positive run (whatever the program did to the
# other cells) and 0 after a negative one.
SOFT_IMPERATIVE_OUTPUT_CELL = 0


def soft_instruction_memory(data_memory_size: int = 256) -> list[int]:
    """The soft-instruction program's data memory: `[-1, 0, 0, ...]` (k cells, output cell 2)."""
    if data_memory_size < 3:
        raise ValueError(f"the soft-instruction layout needs 3 cells, got data_memory_size={data_memory_size}")
    return [-1] + [0] * (data_memory_size - 1)


def soft_imperative_memory(data_memory_size: int = 256) -> list[int]:
    """The soft-imperative data memory: `[1, 0, 0, ...]`; cell 0 is the verdict flag (see SOFT_IMPERATIVE_HALT)."""
    if data_memory_size < 2:
        raise ValueError(f"the soft-imperative layout needs 2 cells, got data_memory_size={data_memory_size}")
    return [1] + [0] * (data_memory_size - 1)


def _check_sst2_columns(dataset: Dataset):
    missing = {"sentence", "label"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"an SST-2 dataset needs columns sentence and label; missing {sorted(missing)}")


def build_soft_instruction_dataset(sst2: Dataset) -> Dataset:
    """
    Experiment 2 (soft-instruction): one instruction per sentence. Description "Classify this input: {sentence}",
    C_t = 1, positive -> (A, B, C) = (0, 2, 0), negative -> (1, 2, 0), run on `soft_instruction_memory()`.

    Args:
        sst2 (`Dataset`): columns `sentence` (str) and `label` (0 or 1), e.g. from `sst2.load_sst2`.

    Returns:
        `Dataset` with columns `sentence`, `sentiment`, `description`, `instruction`, `labels`, in the input's order.

    Raises:
        ValueError: if a column is missing or a label is not 0 or 1.
    """
    _check_sst2_columns(sst2)

    def build(batch):
        for label in batch["label"]:
            if label not in SOFT_INSTRUCTION_OPERANDS:
                raise ValueError(f"SST-2 labels must be 0 or 1, got {label!r}")
        return {
            "sentiment": batch["label"],
            "description": [SOFT_INSTRUCTION_TEMPLATE.format(sentence=sentence) for sentence in batch["sentence"]],
            "instruction": [1] * len(batch["label"]),
            "labels": [list(SOFT_INSTRUCTION_OPERANDS[label]) for label in batch["label"]],
        }

    return sst2.map(build, batched=True, remove_columns=["label"], desc="Soft-instruction rows")


def make_soft_imperative_programs(
    num_programs: int = 10, program_length: int = 10, seed: int = 0, max_operand: int = 255
) -> list[Program]:
    """
    The authors' Experiment 3 programs: `num_programs` random programs of `program_length` instructions, every
    operand (A, B and C) uniform in [1, max_operand] (never 0: 0 is the HALT label of negative text).

    Raises:
        ValueError: if a size is not positive.
    """
    check_positive(num_programs=num_programs, program_length=program_length, max_operand=max_operand)
    rng = random.Random(seed)
    return [
        [tuple(rng.randint(1, max_operand) for _ in range(3)) for _ in range(program_length)]
        for _ in range(num_programs)
    ]


def build_soft_imperative_dataset(sst2: Dataset, programs: list[Program], seed: int) -> Dataset:
    """
    Experiment 3 (soft-imperative): each sentence gets one random (program, instruction number) pair, drawn with
    `seed` (a pure function of the seed and the row order, so fixed across epochs). Description "As long as the input
    text is positive, run [PROG_i] [SEP] {sentence}"; positive -> instruction C_t of program i, negative -> (0, 0, 0)
    = HALT.

    Args:
        sst2 (`Dataset`): columns `sentence` and `label` (0 or 1).
        programs (`list`): e.g. `make_soft_imperative_programs(...)`; program i is described by `program_token(i)`.
        seed (`int`): seed of the (program, instruction) draws; use different seeds for train and validation.

    Returns:
        `Dataset` with columns `sentence`, `sentiment`, `program`, `description`, `instruction`, `labels`.

    Raises:
        ValueError: if a column is missing, `programs` is empty, or a label is not 0 or 1.
    """
    _check_sst2_columns(sst2)
    if not programs or not all(programs):
        raise ValueError("programs must be a non-empty list of non-empty programs")
    rng = random.Random(seed)
    draws = [(index, rng.randint(1, len(programs[index])))
             for index in (rng.randrange(len(programs)) for _ in range(len(sst2)))]

    def build(batch, indices):
        rows = {"sentiment": batch["label"], "program": [], "description": [], "instruction": [], "labels": []}
        for sentence, label, row in zip(batch["sentence"], batch["label"], indices):
            if label not in (0, 1):
                raise ValueError(f"SST-2 labels must be 0 or 1, got {label!r}")
            program, instruction = draws[row]
            rows["program"].append(program)
            rows["description"].append(SOFT_IMPERATIVE_TEMPLATE.format(program=program_token(program),
                                                                       sentence=sentence))
            rows["instruction"].append(instruction)
            rows["labels"].append(list(programs[program][instruction - 1] if label else SOFT_IMPERATIVE_HALT))
        return rows

    return sst2.map(build, batched=True, with_indices=True, remove_columns=["label"], desc="Soft-imperative rows")


__all__ = [
    "SOFT_IMPERATIVE_HALT",
    "SOFT_IMPERATIVE_OUTPUT_CELL",
    "SOFT_IMPERATIVE_TEMPLATE",
    "SOFT_INSTRUCTION_OPERANDS",
    "SOFT_INSTRUCTION_OUTPUT_CELL",
    "SOFT_INSTRUCTION_TEMPLATE",
    "SST2_ID2LABEL",
    "build_soft_imperative_dataset",
    "build_soft_instruction_dataset",
    "make_soft_imperative_programs",
    "soft_imperative_memory",
    "soft_instruction_memory",
]
