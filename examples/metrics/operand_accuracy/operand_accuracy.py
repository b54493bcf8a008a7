"""Operand accuracy: the accuracy of each operand (A, B, C) of the predicted instructions."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
The accuracy of each operand of the predicted instructions, apart: A (on SST-2, the operand that carries the
sentiment, the authors' model-selection metric), B and C.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`, shape `(rows, 3)`): predicted (A, B, C) of each instruction.
    references (`list` of `list` of `int`, shape `(rows, 3)`): true (A, B, C) of each instruction.

Returns:
    a_accuracy, b_accuracy, c_accuracy (`float`): fraction of rows with that operand right, in [0, 1].

Examples:
    >>> metric = evaluate.load("examples/metrics/operand_accuracy")
    >>> metric.compute(predictions=[[1, 2, 3], [1, 0, 0]], references=[[1, 2, 3], [1, 2, 4]])
    {'a_accuracy': 1.0, 'b_accuracy': 0.5, 'c_accuracy': 0.5}
"""

_CITATION = ""

OPERANDS = ("a", "b", "c")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class OperandAccuracy(evaluate.Metric):
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
        hits = np.asarray(predictions) == np.asarray(references)  # [rows, 3]
        return {f"{name}_accuracy": float(hits[:, i].mean()) for i, name in enumerate(OPERANDS)}
