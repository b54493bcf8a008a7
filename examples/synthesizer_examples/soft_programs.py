"""What the soft programs of Experiments 2 and 3 share with the benchmarks: their prompts, and the soft-imperative
rows (`bench/pipeline_speed.py` rebuilds the validation descriptions of a trained run).

The builders (here and in `run_soft_instruction.py`) take a `datasets.Dataset` of columns `sentence` (the text) and
`label` (the class id, 0..N-1), as `text_classification.load_sst2` returns for any data, and return one row per text:
`description` (str), `instruction` (C_t, 1-based), `labels` ([A, B, C]), `sentiment` (the class id) and `sentence`.
"""

import random

from datasets import Dataset

from modeling_synthesizer.tokenizer import program_token

from .memorization import Program


# The column `label` is renamed `sentiment`: next to `labels`, the Trainer's collator would copy it over the operands.
# The authors' input is `[CLS] 0 classify this input [SEP] <sentence> [SEP]`. Here the prompt ends with a colon
# instead of [SEP], so that a natural string ("Classify this input: a gorgeous, witty film") is a valid description
# for the pipeline, and C_t is 1, not "0" (this project numbers instructions from 1).
SOFT_INSTRUCTION_TEMPLATE = "Classify this input: {sentence}"

# The authors' Experiment 3 input, `[CLS] <C_t> as long as the input text is positive, run <program token> [SEP]
# <sentence> [SEP]`; the literal "[SEP]" is the tokenizer's separator token (BERT tokenizers match special tokens
# in text). Token type ids stay 0 on both sides of it (one text, not a pair). On other data "positive" is the name of
# the label that runs the program (`--run_label`).
SOFT_IMPERATIVE_PROMPT = "As long as the input text is {run_label}, run {program} [SEP] {sentence}"
# Text of any other label must stop the machine at once: (0, 0, 0) = mem[0] -= mem[0], then HALT.
SOFT_IMPERATIVE_HALT = (0, 0, 0)


def check_rows(dataset: Dataset, num_classes: int) -> None:
    """Raises ValueError unless `dataset` has the columns `sentence` and `label`, every label a class id of
    `num_classes` classes."""
    missing = {"sentence", "label"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"a text-classification dataset needs columns sentence and label; missing {sorted(missing)}")
    bad = [label for label in dataset.unique("label") if label not in range(num_classes)]
    if bad:
        choices = ", ".join(map(str, range(num_classes - 1))) + f" or {num_classes - 1}"
        raise ValueError(f"labels must be {choices} (class ids of {num_classes} classes), got {bad[0]!r}")


def build_soft_imperative_dataset(dataset: Dataset, programs: list[Program], seed: int, num_classes: int = 2,
                                  run_class: int = 1, run_label: str = "positive") -> Dataset:
    """
    Experiment 3 (soft-imperative): each text gets one random (program, instruction number) pair, drawn with `seed` (a
    pure function of the seed and the row order, so fixed across epochs; use different seeds for train and
    validation). Description "As long as the input text is {run_label}, run [PROG_i] [SEP] {sentence}"; text of class
    `run_class` (SST-2's 1, "positive") -> instruction C_t of program i, any other class -> (0, 0, 0) = HALT. Returns
    the rows with the columns `program` (i) and those of the module docstring.

    Raises:
        ValueError: if a column is missing, `programs` is empty, or a label or `run_class` is not a class id.
    """
    check_rows(dataset, num_classes)
    if not programs or not all(programs):
        raise ValueError("programs must be a non-empty list of non-empty programs")
    if run_class not in range(num_classes):
        raise ValueError(f"run_class must be a class id of {num_classes} classes, got {run_class!r}")
    rng = random.Random(seed)
    draws = [(index, rng.randint(1, len(programs[index])))
             for index in (rng.randrange(len(programs)) for _ in range(len(dataset)))]

    def build(batch, indices):
        rows = {"sentiment": batch["label"], "program": [], "description": [], "instruction": [], "labels": []}
        for sentence, label, row in zip(batch["sentence"], batch["label"], indices):
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
