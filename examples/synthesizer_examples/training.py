"""Pieces shared by the `Trainer` example scripts: tokenizing instructions, numpy metrics, stopping at 100%,
launch checks and resuming. Not part of the remote code (it needs `datasets`)."""

import logging
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset
from transformers import EvalPrediction, HfArgumentParser, PreTrainedTokenizerBase, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig


logger = logging.getLogger(__name__)

OPERANDS = ("a", "b", "c")


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


def argmax_operands(logits, labels):
    """`preprocess_logits_for_metrics`: keep the arg-max operands [B, 3], not three logit matrices."""
    a_logits, b_logits, c_logits = logits[:3]
    return torch.stack([a_logits.argmax(-1), b_logits.argmax(-1), c_logits.argmax(-1)], dim=-1)


def instruction_metrics(predicted: np.ndarray, labels: np.ndarray, program_length: int | None = None) -> dict:
    """
    Per-operand accuracy, instruction exact match (A, B and C all right), halt accuracy (the predicted instruction
    halts, C = 0, exactly when the true one does: for soft-imperative, whether the text's sentiment was read right
    whatever the operands) and, given `program_length` and rows in program-major order, program exact match (all
    instructions of a program right).

    Args:
        predicted (`np.ndarray` of shape `(rows, 3)`): predicted (A, B, C).
        labels (`np.ndarray` of shape `(rows, 3)`): true (A, B, C).

    Raises:
        ValueError: if the shapes differ, or the rows are not a whole number of programs.
    """
    if predicted.shape != labels.shape or labels.ndim != 2 or labels.shape[1] != 3:
        raise ValueError(f"predictions {predicted.shape} and labels {labels.shape} must both be (rows, 3)")
    hits = predicted == labels  # [rows, 3]
    metrics = {f"{name}_accuracy": float(hits[:, i].mean()) for i, name in enumerate(OPERANDS)}
    instruction_hits = hits.all(axis=1)  # [rows]
    metrics["exact_match"] = float(instruction_hits.mean())
    metrics["halt_accuracy"] = float(((predicted[:, 2] == 0) == (labels[:, 2] == 0)).mean())
    if program_length is not None:
        if len(instruction_hits) % program_length:
            raise ValueError(f"{len(instruction_hits)} rows are not whole programs of {program_length} instructions")
        metrics["program_exact_match"] = float(instruction_hits.reshape(-1, program_length).all(axis=1).mean())
    return metrics


def make_compute_metrics(program_length: int | None = None):
    """`compute_metrics` for `Trainer`, used with `preprocess_logits_for_metrics=argmax_operands`."""

    def compute_metrics(eval_pred: EvalPrediction) -> dict:
        return instruction_metrics(np.asarray(eval_pred.predictions), np.asarray(eval_pred.label_ids), program_length)

    return compute_metrics


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
    "argmax_operands",
    "check_can_push",
    "check_world_size",
    "find_checkpoint_to_resume",
    "first_step_reaching",
    "instruction_metrics",
    "make_compute_metrics",
    "parse_example_args",
    "tokenize_instructions",
]
