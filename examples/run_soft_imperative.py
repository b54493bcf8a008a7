#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Experiment 3 of "Rethinking Neural Computation" (soft-imperative): "as long as the input text is positive, run
program i".

Ten random programs of ten instructions (operands from 1..255, fixed by the seed) get one new token each
(`[PROG_0]`..`[PROG_9]`). Each SST-2 sentence is paired with one random (program, instruction number) pair, fixed by
the seed; the network reads `[CLS] <C_t> as long as the input text is positive, run [PROG_i] [SEP] <sentence> [SEP]`
and must predict instruction C_t of program i for positive text and (0, 0, 0) = HALT for negative text. The
programs are saved as `programs.json`.

The data memory `[1, 0, 0, ...]` (saved in the config) makes cell 0 a verdict flag: only HALT (0, 0, 0) clears it,
since the programs' operands are never 0. So the pipeline on negative text halts at once with output 0
("negative"); on positive text it runs the program and the output cell stays 1 ("positive").

On other data (`--text_column_names`, `--label_column_name`), `--run_label` names the label whose text runs the
program (the description reads "as long as the input text is <run_label>"); text of every other label halts at
once. The output cell then reads 1 for the run label and 0 for the others ("not <run_label>", or the other label's
name when there are two).

Tiny CPU run on the committed sample (seconds):

    python examples/run_soft_imperative.py --output_dir runs/sim-tiny \\
        --train_file data/sst2_sample/train.tsv --validation_file data/sst2_sample/dev.tsv \\
        --tokenizer_name data/sst2_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --max_train_samples 64 --num_train_epochs 1

On the committed three-class sample (negative, neutral, positive), running the program on positive text:

    python examples/run_soft_imperative.py --output_dir runs/sim-three-class \\
        --train_file data/three_class_sample/train.csv --validation_file data/three_class_sample/validation.csv \\
        --text_column_names title,review --label_column_name tone --run_label positive \\
        --tokenizer_name data/three_class_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --num_train_epochs 1

The paper's settings (the defaults: untrained BERT 4 x 256, k = L = 256, lr 1e-4, 2 epochs, batch 32, evaluation
every 64 steps, GLUE SST-2 from the Hub; offline, pass the local files and tokenizer as in run_soft_instruction.py):

    python examples/run_soft_imperative.py --output_dir runs/soft-imperative --seed 1

Two processes on CPU (gloo; the script fails if the launcher and the Trainer disagree on the world size), or
several GPUs (drop --use_cpu; see examples/README.md for DDP/FSDP/DeepSpeed configs):

    accelerate launch --multi_gpu --num_processes 2 examples/run_soft_imperative.py --use_cpu ...
    torchrun --nproc_per_node 2 examples/run_soft_imperative.py --use_cpu ...

Rerunning a command whose run was interrupted resumes from the last checkpoint in --output_dir.
"""

import logging
import os
import random
from dataclasses import dataclass, field

from transformers import set_seed

from modeling_synthesizer.configuration_synthesizer import DEFAULT_INPUT_TEMPLATE
from modeling_synthesizer.subleq import MAX_DATA_MEMORY_SIZE
from modeling_synthesizer.tokenizer import program_token
from synthesizer_examples.arguments import POSITIVE, Range, check_ranges
from synthesizer_examples.checkpoint import push_saved, save_unpushed
from synthesizer_examples.memorization import Program, check_positive, programs_to_records
from synthesizer_examples.run_info import write_json_atomic
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.soft_programs import SOFT_IMPERATIVE_PROMPT, build_soft_imperative_dataset
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

# Cell 0 is a verdict flag: it starts at 1 and only the HALT instruction (0, 0, 0) clears it, because the random
# programs' operands are never 0. So the output cell reads 1 after a positive run (whatever the program did to the
# other cells) and 0 after any other.
SOFT_IMPERATIVE_OUTPUT_CELL = 0


def soft_imperative_memory(data_memory_size: int = 256) -> list[int]:
    """The data memory `[1, 0, 0, ...]`, cell 0 the verdict flag; ValueError for fewer than 2 cells."""
    if data_memory_size < 2:
        raise ValueError(f"the soft-imperative layout needs 2 cells, got data_memory_size={data_memory_size}")
    return [1] + [0] * (data_memory_size - 1)


def make_soft_imperative_programs(
    num_programs: int = 10, program_length: int = 10, seed: int = 0, max_operand: int = 255
) -> list[Program]:
    """The authors' Experiment 3 programs: `num_programs` random programs of `program_length` instructions, every
    operand uniform in [1, max_operand] (never 0: 0 is the HALT label of negative text); ValueError for a size < 1."""
    check_positive(num_programs=num_programs, program_length=program_length, max_operand=max_operand)
    rng = random.Random(seed)
    return [
        [tuple(rng.randint(1, max_operand) for _ in range(3)) for _ in range(program_length)]
        for _ in range(num_programs)
    ]


@dataclass
class SoftImperativeArguments(SST2ProgramArguments):
    """k = L = 256 by default, as the authors' heads: branch targets reach 255."""

    num_programs: int = field(default=10, metadata={"help": "Random programs (the authors': 10)."})
    program_length: int = field(default=10, metadata={"help": "Instructions per program (the authors': 10)."})
    run_label: str = field(
        default="positive",
        metadata={"help": "The label whose text runs the program (a name of --label_column_name's classes, e.g. "
                          "SST-2's positive); text of every other label halts at once."},
    )
    program_seed: int | None = field(
        default=None,
        metadata={"help": "Seed of the programs and of the (program, instruction) draws (default: --seed); the "
                          "validation draws use program_seed + 1."},
    )

    def __post_init__(self):
        super().__post_init__()
        # Cell 0 is the verdict flag and the programs' operands start at 1.
        check_ranges(self, num_programs=POSITIVE, data_memory_size=Range(2, MAX_DATA_MEMORY_SIZE))
        if not self.run_label.strip():
            raise ValueError(f"--run_label must name a label, got {self.run_label!r}")
        if self.program_length not in Range(1, self.max_program_length):
            raise ValueError(f"--program_length must be in [1, {self.max_program_length}] (at most "
                             f"--max_program_length), got {self.program_length}")

    @property
    def max_operand(self) -> int:
        """Operands are drawn from 1..255 as the authors did, or from fewer values when k or L is smaller."""
        return min(255, self.data_memory_size - 1, self.max_program_length)


def parse_args(argv=None) -> tuple:
    return parse_example_args(
        (SST2ModelArguments, SST2DataArguments, SoftImperativeArguments, SST2TrainingArguments), argv,
        description=__doc__, default_output_dir="runs/soft-imperative", check=check_sst2_arguments,
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

    # The programs, and the tokenizer with one token each; before the data: a tokenizer that cannot be loaded, or a
    # prompt longer than --max_seq_length, is a bad argument.
    seed = training_args.seed if program_args.program_seed is None else program_args.program_seed
    program_args.program_seed = seed  # recorded in the model card
    programs = make_soft_imperative_programs(program_args.num_programs, program_args.program_length, seed,
                                             program_args.max_operand)
    tokens = [program_token(index) for index in range(len(programs))]
    tokenizer = load_sst2_tokenizer(model_args, tokens)
    prompt = SOFT_IMPERATIVE_PROMPT.format(run_label=program_args.run_label, program=tokens[-1], sentence="")
    check_prompt_fits(tokenizer, DEFAULT_INPUT_TEMPLATE.format(instruction=program_args.program_length,
                                                               description=prompt), data_args.max_seq_length)

    # Data: text of --run_label runs instruction C_t of a random program, any other halts at once.
    train_data, eval_data = load_sst2_splits(data_args)
    names = label_names(train_data)
    if program_args.run_label not in names:
        argument_error(f"--run_label {program_args.run_label} is not among the labels of --label_column_name "
                       f"{data_args.label_column_name}: {', '.join(names)}")
    run_class = names.index(program_args.run_label)
    splits = tuple(
        build_soft_imperative_dataset(split, programs, split_seed, len(names), run_class, program_args.run_label)
        for split, split_seed in ((train_data, seed), (eval_data, seed + 1))
    )
    logger.info("soft-imperative: %d programs, %d training, %d validation rows", len(programs), *map(len, splits))

    # Config, model and Trainer: the Synthesizer with this program's memory and classes (shared with
    # run_soft_instruction.py, which builds the same Synthesizer for another program). The output cell reads 1 when
    # the program ran and 0 when it halted at once.
    set_seed(training_args.seed)
    others = [name for name in names if name != program_args.run_label]
    program = SoftProgram(
        method="soft-imperative", memory_image=soft_imperative_memory(program_args.data_memory_size),
        output_cell=SOFT_IMPERATIVE_OUTPUT_CELL,
        id2label={0: others[0] if len(others) == 1 else f"not {program_args.run_label}", 1: program_args.run_label},
        task_description=f"Soft-imperative {describe_classes(names)} (Experiment 3 of the paper): "
        f"`{prompt.replace(tokens[-1], '[PROG_i]')}<sentence>` runs one of {len(programs)} random "
        f"{program_args.program_length}-instruction programs (in `programs.json`) on {program_args.run_label} text "
        f"and halts at once on {others[0] if len(others) == 1 else 'any other'} text. The data memory "
        "`[1, 0, 0, ...]` makes cell 0 the verdict: only HALT (0, 0, 0) clears it.",
        card_examples=[SOFT_IMPERATIVE_PROMPT.format(run_label=program_args.run_label, program=tokens[0],
                                                     sentence=text) for text in card_sentences(eval_data)],
    )
    trainer = synthesizer_trainer(args, tokenizer, splits, program)

    # Training (resuming from the last intact checkpoint in --output_dir), then evaluation.
    write_run_settings(settings, training_args)
    train_metrics, eval_metrics = train_and_evaluate(trainer)

    # Results and card, save with the programs, then the results file (last: it marks the run as finished), then push.
    results = synthesizer_results(trainer, program.method, train_metrics, eval_metrics)
    save_unpushed(trainer)
    if trainer.is_world_process_zero():
        write_json_atomic(os.path.join(training_args.output_dir, "programs.json"),
                          programs_to_records(programs, tokens), indent=2)
    results = write_results(trainer, RESULTS_FILE, results)
    push_saved(trainer, f"Synthesizer: soft-imperative on {describe_classes(names)}")
    return results


if __name__ == "__main__":
    main()
