"""SST-2 accuracy: the fraction of sentences whose predicted label (0 = negative, 1 = positive) is right."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
The accuracy of the SST-2 baseline (a sequence classifier): the fraction of predicted labels equal to the true ones.
The same number as the Hub's `accuracy` metric, loadable offline from this folder.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted labels.
    references (`list` of `int`): true labels.

Returns:
    accuracy (`float`): fraction of right labels, in [0, 1].

Examples:
    >>> metric = evaluate.load("examples/metrics/sst2_accuracy")
    >>> metric.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])
    {'accuracy': 0.75}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SST2Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
            format="numpy",
        )

    def _compute(self, predictions, references):
        return {"accuracy": float((np.asarray(predictions) == np.asarray(references)).mean())}
