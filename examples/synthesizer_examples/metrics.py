"""The example scripts' `compute_metrics`, computed by the `evaluate` module committed in
`examples/metrics/synthesizer/` (loaded from its folder, so offline: `evaluate.load("accuracy")` would need the Hub).

The keys are the ones `Trainer` logs with an `eval_` prefix and that the scripts and benchmarks read:
`a_accuracy`, `b_accuracy`, `c_accuracy`, `exact_match`, `halt_accuracy`, `program_exact_match` (given a program
length) for the Synthesizer, and `accuracy` for the SST-2 baseline.
"""

from pathlib import Path

import evaluate
import numpy as np
from transformers import EvalPrediction

from modeling_synthesizer.modeling_synthesizer import argmax_operands as argmax_head_operands


METRICS_DIR = Path(__file__).resolve().parent.parent / "metrics"


def load_metric(config_name: str | None = None, **kwargs) -> evaluate.EvaluationModule:
    """The `evaluate` module of `examples/metrics/synthesizer/` in `config_name` (`None`: the instruction metrics,
    `"classification"`: accuracy); `kwargs` go to `evaluate.load`."""
    return evaluate.load(str(METRICS_DIR / "synthesizer"), config_name, **kwargs)


def argmax_operands(logits, labels):
    """`preprocess_logits_for_metrics` of the Synthesizer: keep the arg-max operands [B, 3], not three logit
    matrices."""
    return argmax_head_operands(*logits[:3])


def argmax_labels(logits, labels):
    """`preprocess_logits_for_metrics` of the baseline: the predicted class, not the logits."""
    return logits.argmax(-1)


def make_compute_metrics(program_length: int | None = None):
    """
    `compute_metrics` of the Synthesizer, used with `preprocess_logits_for_metrics=argmax_operands`: `a_accuracy`,
    `b_accuracy`, `c_accuracy`, `exact_match` (A, B and C all right), `halt_accuracy` (C = 0 exactly when the truth's
    C = 0) and, given `program_length` and rows in program-major order, `program_exact_match` (every instruction of a
    program right).

    Raises (when called):
        ValueError: if predictions and labels are not both `(rows, 3)`, or the rows are not whole programs.
    """
    # In memory: no cache files, so processes of a distributed evaluation never share one.
    metric = load_metric(keep_in_memory=True)

    def compute_metrics(eval_pred: EvalPrediction) -> dict:
        predicted, labels = np.asarray(eval_pred.predictions), np.asarray(eval_pred.label_ids)
        if predicted.shape != labels.shape or labels.ndim != 2 or labels.shape[1] != 3:
            raise ValueError(f"predictions {predicted.shape} and labels {labels.shape} must both be (rows, 3)")
        if program_length is not None and len(labels) % program_length:
            raise ValueError(f"{len(labels)} rows are not whole programs of {program_length} instructions")
        return metric.compute(predictions=predicted, references=labels, program_length=program_length)

    return compute_metrics


def make_classification_accuracy():
    """`compute_metrics` of the SST-2 baseline, used with `preprocess_logits_for_metrics=argmax_labels`:
    `accuracy`."""
    accuracy = load_metric("classification", keep_in_memory=True)

    def compute_metrics(eval_pred: EvalPrediction) -> dict:
        return accuracy.compute(predictions=np.asarray(eval_pred.predictions),
                                references=np.asarray(eval_pred.label_ids))

    return compute_metrics
