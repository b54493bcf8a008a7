"""Training data for Experiments 2 and 3 of the paper: text classification (SST-2 sentiment by default) as a soft
program.

Each builder takes a `datasets.Dataset` of columns `sentence` (the text) and `label` (the class id, 0..N-1), as
`sst2.load_sst2` returns for any data, and returns one row per text: `description` (str), `instruction` (C_t,
1-based), `labels` ([A, B, C]), `sentiment` (the class id) and `sentence`.
"""

import random

from datasets import Dataset

from modeling_synthesizer.tokenizer import program_token

from .memorization import Program, check_positive


# The column `label` is renamed `sentiment`: next to `labels`, the Trainer's collator would copy it over the operands.
# The authors' input is `[CLS] 0 classify this input [SEP] <sentence> [SEP]`. Here the prompt ends with a colon
# instead of [SEP], so that a natural string ("Classify this input: a gorgeous, witty film") is a valid description
# for the pipeline, and C_t is 1, not "0" (this project numbers instructions from 1).
SOFT_INSTRUCTION_TEMPLATE = "Classify this input: {sentence}"
# The authors' layout for two classes: mem[0] = -1 (minus the positive class), mem[1] = 0 (minus the negative class),
# mem[2] = the output cell. Positive runs (0, 2, 0): output = 0 - (-1) = 1, halt. Negative runs (1, 2, 0): output
# stays 0, halt. For N classes the same holds (`soft_instruction_memory`): cell N - 1 - c holds -c, cell N is the
# output, and class c runs (N - 1 - c, N, 0), which writes c into the output cell and halts.
SOFT_INSTRUCTION_OUTPUT_CELL = 2  # with two classes; N with N classes

# The authors' Experiment 3 input, `[CLS] <C_t> as long as the input text is positive, run <program token> [SEP]
# <sentence> [SEP]`; the literal "[SEP]" is the tokenizer's separator token (BERT tokenizers match special tokens
# in text). Token type ids stay 0 on both sides of it (one text, not a pair). On other data "positive" is the name of
# the label that runs the program (`--run_label`).
SOFT_IMPERATIVE_PROMPT = "As long as the input text is {run_label}, run {program} [SEP] {sentence}"
SOFT_IMPERATIVE_TEMPLATE = SOFT_IMPERATIVE_PROMPT.replace("{run_label}", "positive")  # SST-2's
# Text of any other label must stop the machine at once: (0, 0, 0) = mem[0] -= mem[0], then HALT.
SOFT_IMPERATIVE_HALT = (0, 0, 0)
# Cell 0 is a verdict flag: it starts at 1 and only the HALT instruction (0, 0, 0) clears it, because the random
# programs' operands are never 0. So the output cell reads 1 after a positive run (whatever the program did to the
# other cells) and 0 after any other.
SOFT_IMPERATIVE_OUTPUT_CELL = 0


def soft_instruction_operands(num_classes: int = 2) -> dict[int, tuple[int, int, int]]:
    """The one instruction of each class: class c -> (N - 1 - c, N, 0) (two classes: the authors' (0, 2, 0) for 1 =
    positive and (1, 2, 0) for 0 = negative)."""
    return {label: (num_classes - 1 - label, num_classes, 0) for label in range(num_classes)}


def soft_instruction_memory(data_memory_size: int = 256, num_classes: int = 2) -> list[int]:
    """The soft-instruction program's data memory: cell N - 1 - c holds -c for each class c, then the output cell N
    and zeros (k cells; two classes: `[-1, 0, 0, ...]`, output cell 2).

    Raises:
        ValueError: if there are fewer than 2 classes or the k cells cannot hold N classes and the output cell.
    """
    if num_classes < 2:
        raise ValueError(f"soft-instruction needs at least 2 classes, got {num_classes}")
    if data_memory_size < num_classes + 1:
        raise ValueError(f"the soft-instruction layout needs {num_classes + 1} cells, got "
                         f"data_memory_size={data_memory_size}")
    return [-(num_classes - 1 - cell) for cell in range(num_classes)] + [0] * (data_memory_size - num_classes)


def soft_imperative_memory(data_memory_size: int = 256) -> list[int]:
    """The soft-imperative data memory: `[1, 0, 0, ...]`; cell 0 is the verdict flag (see SOFT_IMPERATIVE_HALT)."""
    if data_memory_size < 2:
        raise ValueError(f"the soft-imperative layout needs 2 cells, got data_memory_size={data_memory_size}")
    return [1] + [0] * (data_memory_size - 1)


def _check_columns(dataset: Dataset):
    missing = {"sentence", "label"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"a text-classification dataset needs columns sentence and label; missing {sorted(missing)}")


def _check_label(label, num_classes: int):
    if label not in range(num_classes):
        choices = ", ".join(map(str, range(num_classes - 1))) + f" or {num_classes - 1}"
        raise ValueError(f"labels must be {choices} (class ids of {num_classes} classes), got {label!r}")


def build_soft_instruction_dataset(dataset: Dataset, num_classes: int = 2) -> Dataset:
    """
    Experiment 2 (soft-instruction): one instruction per text. Description "Classify this input: {sentence}",
    C_t = 1, class c -> (A, B, C) = `soft_instruction_operands(num_classes)[c]` (two classes: positive -> (0, 2, 0),
    negative -> (1, 2, 0)), run on `soft_instruction_memory(k, num_classes)`.

    Args:
        dataset (`Dataset`): columns `sentence` (str) and `label` (class id in 0..num_classes - 1), e.g. from
            `sst2.load_sst2`.
        num_classes (`int`): N, the number of classes.

    Returns:
        `Dataset` with columns `sentence`, `sentiment`, `description`, `instruction`, `labels`, in the input's order.

    Raises:
        ValueError: if a column is missing or a label is not a class id.
    """
    _check_columns(dataset)
    operands = soft_instruction_operands(num_classes)

    def build(batch):
        for label in batch["label"]:
            _check_label(label, num_classes)
        return {
            "sentiment": batch["label"],
            "description": [SOFT_INSTRUCTION_TEMPLATE.format(sentence=sentence) for sentence in batch["sentence"]],
            "instruction": [1] * len(batch["label"]),
            "labels": [list(operands[label]) for label in batch["label"]],
        }

    return dataset.map(build, batched=True, remove_columns=["label"], desc="Soft-instruction rows")


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


def build_soft_imperative_dataset(dataset: Dataset, programs: list[Program], seed: int, num_classes: int = 2,
                                  run_class: int = 1, run_label: str = "positive") -> Dataset:
    """
    Experiment 3 (soft-imperative): each text gets one random (program, instruction number) pair, drawn with `seed` (a
    pure function of the seed and the row order, so fixed across epochs). Description "As long as the input text is
    {run_label}, run [PROG_i] [SEP] {sentence}"; text of class `run_class` -> instruction C_t of program i, any other
    class -> (0, 0, 0) = HALT.

    Args:
        dataset (`Dataset`): columns `sentence` and `label` (class id in 0..num_classes - 1).
        programs (`list`): e.g. `make_soft_imperative_programs(...)`; program i is described by `program_token(i)`.
        seed (`int`): seed of the (program, instruction) draws; use different seeds for train and validation.
        num_classes (`int`): N, the number of classes.
        run_class (`int`), run_label (`str`): the class that runs the program, and its name in the description
            (SST-2's 1, "positive").

    Returns:
        `Dataset` with columns `sentence`, `sentiment`, `program`, `description`, `instruction`, `labels`.

    Raises:
        ValueError: if a column is missing, `programs` is empty, or a label or `run_class` is not a class id.
    """
    _check_columns(dataset)
    if not programs or not all(programs):
        raise ValueError("programs must be a non-empty list of non-empty programs")
    _check_label(run_class, num_classes)
    rng = random.Random(seed)
    draws = [(index, rng.randint(1, len(programs[index])))
             for index in (rng.randrange(len(programs)) for _ in range(len(dataset)))]

    def build(batch, indices):
        rows = {"sentiment": batch["label"], "program": [], "description": [], "instruction": [], "labels": []}
        for sentence, label, row in zip(batch["sentence"], batch["label"], indices):
            _check_label(label, num_classes)
            program, instruction = draws[row]
            rows["program"].append(program)
            rows["description"].append(SOFT_IMPERATIVE_PROMPT.format(run_label=run_label,
                                                                     program=program_token(program),
                                                                     sentence=sentence))
            rows["instruction"].append(instruction)
            rows["labels"].append(list(programs[program][instruction - 1] if label == run_class
                                       else SOFT_IMPERATIVE_HALT))
        return rows

    return dataset.map(build, batched=True, with_indices=True, remove_columns=["label"], desc="Soft-imperative rows")
