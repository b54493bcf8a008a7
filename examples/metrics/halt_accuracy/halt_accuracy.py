"""Halt accuracy: how often the predicted instruction halts (C = 0) exactly when the true one does."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
The fraction of instructions whose predicted C is 0 (a jump to 0 halts the machine) exactly when the true C is 0,
whatever the other operands. On soft-imperative SST-2 it is whether the text's sentiment was read right.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`, shape `(rows, 3)`): predicted (A, B, C) of each instruction.
    references (`list` of `list` of `int`, shape `(rows, 3)`): true (A, B, C) of each instruction.

Returns:
    halt_accuracy (`float`): fraction of rows where the prediction halts exactly when the truth does, in [0, 1].

Examples:
    >>> metric = evaluate.load("examples/metrics/halt_accuracy")
    >>> metric.compute(predictions=[[1, 2, 0], [1, 2, 5]], references=[[7, 7, 0], [1, 2, 0]])
    {'halt_accuracy': 0.5}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class HaltAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("int64"), length=3),
                    "references": datasets.Sequence(datasets.Value("int64"), length=3),
                }
            ),
        )

    def _compute(self, predictions, references):
        predicted_c, true_c = np.asarray(predictions)[:, 2], np.asarray(references)[:, 2]  # [rows]
        return {"halt_accuracy": float(((predicted_c == 0) == (true_c == 0)).mean())}
