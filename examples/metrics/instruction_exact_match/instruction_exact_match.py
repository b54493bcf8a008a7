"""Instruction exact match: the fraction of instructions whose three operands (A, B, C) are all right."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
The fraction of instruction rows whose predicted operands A, B and C all equal the true ones: the metric that
memorization stops at (100%) and that the example scripts log as `eval_exact_match`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`, shape `(rows, 3)`): predicted (A, B, C) of each instruction.
    references (`list` of `list` of `int`, shape `(rows, 3)`): true (A, B, C) of each instruction.

Returns:
    exact_match (`float`): fraction of rows with A, B and C all right, in [0, 1].

Examples:
    >>> metric = evaluate.load("examples/metrics/instruction_exact_match")
    >>> metric.compute(predictions=[[1, 2, 3], [1, 2, 0]], references=[[1, 2, 3], [1, 2, 4]])
    {'exact_match': 0.5}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class InstructionExactMatch(evaluate.Metric):
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
        return {"exact_match": float(hits.all(axis=1).mean())}
