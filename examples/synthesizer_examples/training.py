"""Pieces shared by the `Trainer` example scripts: arguments, logging and launch checks, tokenizing instructions,
stopping at 100%, and resuming."""

import logging
import os
import sys
from dataclasses import dataclass, field

import datasets
import transformers
from datasets import Dataset
from transformers import HfArgumentParser, PreTrainedTokenizerBase, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig


logger = logging.getLogger(__name__)


@dataclass
class MemorizationTrainingArguments(TrainingArguments):
    """`TrainingArguments` for memorization runs: memorization is the task, so the training set is evaluated once per
    epoch, a checkpoint is kept per epoch (to resume), and training stops at 100% instruction exact match."""

    per_device_eval_batch_size: int = field(default=1024, metadata={"help": "Batch per process for evaluation."})
    eval_strategy: str = field(default="epoch", metadata={"help": "Evaluate once per epoch, as the authors did."})
    save_strategy: str = field(default="epoch", metadata={"help": "Checkpoint once per epoch (to resume)."})
    logging_strategy: str = field(default="epoch", metadata={"help": "Log once per epoch."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Keep only the last checkpoint."})
    # argparse formats help strings with %: "100%%" prints as "100%".
    stop_at_exact_match: bool = field(
        default=True, metadata={"help": "Stop at the first evaluation with 100%% instruction exact match."}
    )


def parse_example_args(dataclass_types, argv: list[str] | None = None) -> tuple:
    """`HfArgumentParser` over `dataclass_types` (the `run_*.py` shape); a single `.json` argument is a file of
    arguments."""
    parser = HfArgumentParser(dataclass_types)
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
    return parser.parse_args_into_dataclasses(args=argv)


def setup_run(training_args: TrainingArguments, *script_loggers: logging.Logger) -> None:
    """Logging at the Trainer's level for this process (main process: info), then the launch checks: the processes
    joined one run, and `--push_to_hub` can work."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    for each in (*script_loggers, logging.getLogger("synthesizer_examples")):
        each.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    check_world_size(training_args)
    check_can_push(training_args)


def tokenize_instructions(
    dataset: Dataset, tokenizer: PreTrainedTokenizerBase, config: SynthesizerConfig, max_length: int | None = None
) -> Dataset:
    """Adds the model inputs of each `(instruction, description)` row, framed by `config.input_template`."""

    def tokenize(batch):
        texts = [
            config.format_input(instruction, description)
            for instruction, description in zip(batch["instruction"], batch["description"])
        ]
        return tokenizer(
            texts, add_special_tokens=config.add_special_tokens, truncation=max_length is not None,
            max_length=max_length,
        )

    return dataset.map(tokenize, batched=True, desc="Tokenizing instructions")


class StopAtExactMatchCallback(TrainerCallback):
    """Stops training at the first evaluation whose instruction exact match reaches `threshold` (100%)."""

    def __init__(self, metric: str = "eval_exact_match", threshold: float = 1.0):
        self.metric = metric
        self.threshold = threshold

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and metrics.get(self.metric, 0.0) >= self.threshold:
            logger.info("%s reached %s at step %d: stopping", self.metric, self.threshold, state.global_step)
            control.should_training_stop = True
        return control


def first_step_reaching(log_history: list[dict], metric: str = "eval_exact_match", threshold: float = 1.0):
    """The global step of the first logged evaluation with `metric >= threshold`, or None. Reading it from
    `TrainerState.log_history` keeps it right across a resumed run."""
    for entry in log_history:
        if entry.get(metric, -1.0) >= threshold:
            return int(entry["step"])
    return None


def eval_curve(log_history: list[dict], metric: str) -> list[list]:
    """`[[step, value], ...]` of the evaluations during training, in order. Only the first evaluation logged at a
    step counts: the one after training, at the last step again, may be of the best checkpoint reloaded."""
    curve, seen = [], set()
    for entry in log_history:
        if f"eval_{metric}" in entry and entry["step"] not in seen:
            seen.add(entry["step"])
            curve.append([int(entry["step"]), float(entry[f"eval_{metric}"])])
    return curve


def check_world_size(training_args: TrainingArguments):
    """
    Raises `RuntimeError` if the launcher started more processes than the Trainer joined, e.g. `accelerate launch
    --multi_gpu --num_processes 2` on CPU without `--use_cpu`, which silently runs two independent copies.
    """
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if training_args.world_size != launched:
        raise RuntimeError(
            f"launched as {launched} processes (WORLD_SIZE) but the Trainer sees world_size "
            f"{training_args.world_size}: on CPU add --use_cpu (gloo) so that the processes train together"
        )


def check_can_push(training_args: TrainingArguments):
    """Fails before training, not after it, when `--push_to_hub` cannot work."""
    if not training_args.push_to_hub:
        return
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise RuntimeError(
            "--push_to_hub was given but the Hub is unreachable (HF_HUB_OFFLINE is set): unset it, log in with "
            "`hf auth login`, or drop --push_to_hub and upload the output_dir later"
        )
    if training_args.hub_model_id is None:
        raise ValueError("--push_to_hub needs --hub_model_id org/name")


def find_checkpoint_to_resume(training_args: TrainingArguments) -> str | None:
    """`--resume_from_checkpoint` when given, otherwise the last `checkpoint-*` in `output_dir` (so a rerun of an
    interrupted command continues it instead of starting over)."""
    if training_args.resume_from_checkpoint is not None:
        return training_args.resume_from_checkpoint
    if os.path.isdir(training_args.output_dir):
        last = get_last_checkpoint(training_args.output_dir)
        if last is not None:
            logger.info("Resuming from %s", last)
        return last
    return None


__all__ = [
    "MemorizationTrainingArguments",
    "StopAtExactMatchCallback",
    "check_can_push",
    "check_world_size",
    "eval_curve",
    "find_checkpoint_to_resume",
    "first_step_reaching",
    "parse_example_args",
    "setup_run",
    "tokenize_instructions",
]
