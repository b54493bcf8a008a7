#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Experiment 2 of "Rethinking Neural Computation" (soft-instruction): SST-2, or any text classification, as a
one-instruction subleq program.

The network reads `[CLS] 1 classify this input: <sentence> [SEP]` and predicts one instruction: positive ->
(A, B, C) = (0, 2, 0), negative -> (1, 2, 0). On the data memory `[-1, 0, 0, ...]` (saved in the config) the
machine writes 1 (positive) or leaves 0 (negative) in the output cell 2, then halts, so that

    run = pipeline("subleq-execution", model=output_dir, trust_remote_code=True)
    run("Classify this input: a gorgeous, witty film")

returns `output` 1 and `label` "positive". With N classes (`--text_column_names`, `--label_column_name`: any
text-classification data), class c is the instruction (N - 1 - c, N, 0) on the memory
`[-(N - 1), ..., -1, 0, 0, ...]` (cell N - 1 - c holds -c): it writes c into the output cell N, and `label` names the
class. The best checkpoint (by validation accuracy of A, the operand that carries the class) is kept;
`sst2_results.json` holds the best accuracy and the curve.

Tiny CPU run on the committed sample (seconds):

    python examples/run_soft_instruction.py --output_dir runs/si-tiny \\
        --train_file data/sst2_sample/train.tsv --validation_file data/sst2_sample/dev.tsv \\
        --tokenizer_name data/sst2_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --max_train_samples 64 --num_train_epochs 1

Three classes (negative, neutral, positive) on the committed sample of other data, whose text is in two columns:

    python examples/run_soft_instruction.py --output_dir runs/si-three-class \\
        --train_file data/three_class_sample/train.csv --validation_file data/three_class_sample/validation.csv \\
        --text_column_names title,review --label_column_name tone \\
        --tokenizer_name data/three_class_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --num_train_epochs 1

The paper's settings (the defaults: untrained BERT 4 x 256, lr 1e-4, 2 epochs, batch 32, evaluation every 64 steps,
GLUE SST-2 from the Hub; about 20 minutes on 2 CPU cores):

    python examples/run_soft_instruction.py --output_dir runs/soft-instruction --seed 1
    python examples/run_soft_instruction.py --output_dir runs/soft-instruction --seed 1 \\
        --train_file path/to/SST-2/train.tsv --validation_file path/to/SST-2/dev.tsv \\
        --tokenizer_name path/to/bert-base-uncased   # offline

Several processes (CPU: gloo; on GPUs drop --use_cpu, or see examples/README.md for DDP/FSDP/DeepSpeed configs):

    accelerate launch --multi_gpu --num_processes 2 examples/run_soft_instruction.py --use_cpu ...
    torchrun --nproc_per_node 2 examples/run_soft_instruction.py --use_cpu ...

Rerunning a command whose run was interrupted resumes from the last checkpoint in --output_dir.
"""

import logging
from dataclasses import dataclass, field

from datasets import Dataset
from transformers import set_seed

from modeling_synthesizer.configuration_synthesizer import DEFAULT_INPUT_TEMPLATE
from synthesizer_examples.checkpoint import push_saved, save_unpushed
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.soft_programs import SOFT_INSTRUCTION_TEMPLATE, check_rows
from synthesizer_examples.text_classification import (
    RESULTS_FILE,
    SoftProgram,
    SST2DataArguments,
    SST2ModelArguments,
    SST2ProgramArguments,
    SST2TrainingArguments,
    card_sentences,
    check_prompt_fits,
    check_sst2_arguments,
    describe_classes,
    finished_sst2_run,
    label_names,
    load_sst2_splits,
    load_sst2_tokenizer,
    setup_sst2_run,
    synthesizer_results,
    synthesizer_trainer,
    train_and_evaluate,
)
from synthesizer_examples.training import argument_error, parse_example_args, write_results


logger = logging.getLogger(__name__)

# The authors' layout for two classes: mem[0] = -1 (minus the positive class), mem[1] = 0 (minus the negative class),
# mem[2] = the output cell. Positive runs (0, 2, 0): output = 0 - (-1) = 1, halt. Negative runs (1, 2, 0): output
# stays 0, halt. For N classes the same holds (`soft_instruction_memory`): cell N - 1 - c holds -c, cell N is the
# output, and class c runs (N - 1 - c, N, 0), which writes c into the output cell and halts.
SOFT_INSTRUCTION_OUTPUT_CELL = 2  # with two classes; N with N classes


def soft_instruction_operands(num_classes: int = 2) -> dict[int, tuple[int, int, int]]:
    """The one instruction of each class: class c -> (N - 1 - c, N, 0) (two classes: the authors' (0, 2, 0) for 1 =
    positive and (1, 2, 0) for 0 = negative)."""
    return {label: (num_classes - 1 - label, num_classes, 0) for label in range(num_classes)}


def soft_instruction_memory(data_memory_size: int = 256, num_classes: int = 2) -> list[int]:
    """The program's data memory: cell N - 1 - c holds -c for each class c, then the output cell N and zeros (k cells;
    two classes: `[-1, 0, 0, ...]`); ValueError for fewer than 2 classes, or k < N + 1."""
    if num_classes < 2:
        raise ValueError(f"soft-instruction needs at least 2 classes, got {num_classes}")
    if data_memory_size < num_classes + 1:
        raise ValueError(f"the soft-instruction layout needs {num_classes + 1} cells, got "
                         f"data_memory_size={data_memory_size}")
    return [-(num_classes - 1 - cell) for cell in range(num_classes)] + [0] * (data_memory_size - num_classes)


def build_soft_instruction_dataset(dataset: Dataset, num_classes: int = 2) -> Dataset:
    """The rows of `dataset` (columns `sentence` and `label`, a class id of `num_classes`), one instruction each:
    description "Classify this input: {sentence}", C_t = 1, class c -> (A, B, C) =
    `soft_instruction_operands(num_classes)[c]`. ValueError if a column is missing or a label is not a class id."""
    check_rows(dataset, num_classes)
    operands = soft_instruction_operands(num_classes)

    def build(batch):
        return {
            "sentiment": batch["label"],
            "description": [SOFT_INSTRUCTION_TEMPLATE.format(sentence=sentence) for sentence in batch["sentence"]],
            "instruction": [1] * len(batch["label"]),
            "labels": [list(operands[label]) for label in batch["label"]],
        }

    return dataset.map(build, batched=True, remove_columns=["label"], desc="Soft-instruction rows")


@dataclass
class SoftInstructionArguments(SST2ProgramArguments):
    max_program_length: int = field(
        default=1,
        metadata={"help": "L: the program is one instruction whose C is 0 (HALT), so the C head needs only "
                          "classes 0..1 and the pipeline decodes one instruction."},
    )

    def __post_init__(self):
        super().__post_init__()
        # The program reads cells 0 and 1 and writes the output cell, 2 (with two classes; N classes need N + 1
        # cells, checked once the data is read).
        if self.data_memory_size <= SOFT_INSTRUCTION_OUTPUT_CELL:
            raise ValueError(f"--data_memory_size must be >= {SOFT_INSTRUCTION_OUTPUT_CELL + 1} (the program's cells "
                             f"0..{SOFT_INSTRUCTION_OUTPUT_CELL}), got {self.data_memory_size}")


def parse_args(argv=None) -> tuple:
    return parse_example_args(
        (SST2ModelArguments, SST2DataArguments, SoftInstructionArguments, SST2TrainingArguments), argv,
        description=__doc__, default_output_dir="runs/soft-instruction", check=check_sst2_arguments,
    )


def main(argv=None):
    """Runs the script on `argv`; returns the `sst2_results.json` payload (the earlier one when the run in
    `--output_dir` had already finished)."""
    args = parse_args(argv)
    settings = settings_of(args)  # as parsed: what a rerun is compared with
    model_args, data_args, program_args, training_args = args
    setup_sst2_run(training_args, logger)
    finished = finished_sst2_run(training_args)
    if finished is not None:
        return finished

    # The tokenizer, before the data: one that cannot be loaded, or a prompt longer than --max_seq_length, is a bad
    # argument.
    tokenizer = load_sst2_tokenizer(model_args, [])
    check_prompt_fits(tokenizer, DEFAULT_INPUT_TEMPLATE.format(
        instruction=1, description=SOFT_INSTRUCTION_TEMPLATE.format(sentence="")), data_args.max_seq_length)

    # Data: one instruction per text; the data memory holds one cell per class, then the output cell.
    train_data, eval_data = load_sst2_splits(data_args)
    names = label_names(train_data)
    if len(names) >= program_args.data_memory_size:
        argument_error(f"--data_memory_size {program_args.data_memory_size} holds at most "
                       f"{program_args.data_memory_size - 1} classes and the output cell; --label_column_name "
                       f"{data_args.label_column_name} has {len(names)} classes: pass --data_memory_size >= "
                       f"{len(names) + 1}")
    splits = tuple(build_soft_instruction_dataset(split, len(names)) for split in (train_data, eval_data))
    logger.info("soft-instruction: %d classes, %d training, %d validation rows", len(names), *map(len, splits))

    # Config, model and Trainer: the Synthesizer with this program's memory and classes (shared with
    # run_soft_imperative.py, which builds the same Synthesizer for another program).
    set_seed(training_args.seed)
    operands = soft_instruction_operands(len(names))
    memory_image = soft_instruction_memory(program_args.data_memory_size, len(names))
    program = SoftProgram(
        method="soft-instruction", memory_image=memory_image, output_cell=len(names), id2label=dict(enumerate(names)),
        task_description=f"Soft-instruction {describe_classes(names)} (Experiment 2 of the paper): the description "
        "`Classify this input: <sentence>` is a one-instruction program, "
        f"{', '.join(f'{operands[c]} for {names[c]} text' for c in reversed(range(len(names))))}, run on the data "
        f"memory `[{', '.join(map(str, memory_image[:len(names) + 1]))}, ...]`; the output cell {len(names)} holds "
        f"the class ({', '.join(f'{c} = {name}' for c, name in enumerate(names))}), and `label` names it.",
        card_examples=[SOFT_INSTRUCTION_TEMPLATE.format(sentence=text) for text in card_sentences(eval_data)],
    )
    trainer = synthesizer_trainer(args, tokenizer, splits, program)

    # Training (resuming from the last intact checkpoint in --output_dir), then evaluation.
    write_run_settings(settings, training_args)
    train_metrics, eval_metrics = train_and_evaluate(trainer)

    # Results and card, save, then the results file (last: it marks the run as finished), then push.
    results = synthesizer_results(trainer, program.method, train_metrics, eval_metrics)
    save_unpushed(trainer)
    results = write_results(trainer, RESULTS_FILE, results)
    push_saved(trainer, f"Synthesizer: soft-instruction on {describe_classes(names)}")
    return results


if __name__ == "__main__":
    main()
