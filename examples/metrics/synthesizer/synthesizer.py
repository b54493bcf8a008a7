"""The example scripts' metrics: the accuracy and exact match of predicted subleq instructions, and the accuracy of
the SST-2 baseline, in one `evaluate` module that loads offline from this folder."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
Two configurations, as `glue` has one per task:

- `"default"` (the Synthesizer): the rows are instructions (A, B, C). `a_accuracy`, `b_accuracy`, `c_accuracy`: the
  accuracy of each operand apart (on SST-2, A carries the sentiment: the authors' model-selection metric);
  `exact_match`: the fraction of rows with A, B and C all right, the metric memorization stops at (100%);
  `halt_accuracy`: the fraction of rows whose predicted C is 0 (a jump to 0 halts the machine) exactly when the true
  C is 0, whatever the other operands (on soft-imperative SST-2, whether the sentiment was read right); given
  `program_length`, `program_exact_match`: the fraction of programs whose every instruction is right, the rows being
  in program-major order (each run of `program_length` consecutive rows is one program, the order of the
  memorization datasets).
- `"classification"` (the SST-2 baseline, a sequence classifier): `accuracy`, the fraction of predicted labels equal
  to the true ones; the same number as the Hub's `accuracy` metric.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: `"default"`: predicted (A, B, C) of each instruction, shape `(rows, 3)`; `"classification"`:
        predicted labels, shape `(rows,)`.
    references: the true values, in the shape of `predictions`.
    program_length (`int`, *optional*, `"default"` only): instructions per program; adds `program_exact_match`.

Returns:
    `"default"`: a_accuracy, b_accuracy, c_accuracy, exact_match, halt_accuracy and, given `program_length`,
    program_exact_match; `"classification"`: accuracy. Each a `float` in [0, 1].

Raises:
    ValueError: if `program_length` is given to `"classification"`, or the rows are not a whole number of programs
        of `program_length` instructions.

Examples:
    >>> metric = evaluate.load("examples/metrics/synthesizer")
    >>> metric.compute(predictions=[[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 0, 0]],
    ...                references=[[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6]], program_length=2)
    {'a_accuracy': 1.0, 'b_accuracy': 0.75, 'c_accuracy': 0.75, 'exact_match': 0.75, 'halt_accuracy': 0.75, \
'program_exact_match': 0.5}
    >>> evaluate.load("examples/metrics/synthesizer", "classification").compute(predictions=[0, 1, 1, 0],
    ...                                                                         references=[0, 1, 0, 0])
    {'accuracy': 0.75}
"""

_CITATION = ""

CONFIGS = ("default", "classification")
OPERANDS = ("a", "b", "c")


def instruction_metrics(predicted: np.ndarray, references: np.ndarray, program_length: int | None = None) -> dict:
    """The `"default"` metrics of `(rows, 3)` arrays, in the order the scripts log them."""
    hits = predicted == references  # [rows, 3]
    metrics = {f"{name}_accuracy": float(hits[:, i].mean()) for i, name in enumerate(OPERANDS)}
    instruction_hits = hits.all(axis=1)  # [rows]
    metrics["exact_match"] = float(instruction_hits.mean())
    metrics["halt_accuracy"] = float(((predicted[:, 2] == 0) == (references[:, 2] == 0)).mean())
    if program_length is not None:
        if program_length < 1 or len(instruction_hits) % program_length:
            raise ValueError(f"{len(instruction_hits)} rows are not whole programs of {program_length} instructions")
        metrics["program_exact_match"] = float(instruction_hits.reshape(-1, program_length).all(axis=1).mean())
    return metrics


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Synthesizer(evaluate.Metric):
    def _info(self):
        if self.config_name not in CONFIGS:
            raise ValueError(f"config_name must be one of {CONFIGS}, got {self.config_name!r}")
        if self.config_name == "classification":
            label, output_format = datasets.Value("int64"), "numpy"
        else:  # evaluate's "numpy" format takes only scalar features: the triples arrive as lists
            label, output_format = datasets.Sequence(datasets.Value("int64"), length=3), None
        features = {"predictions": label, "references": label}
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(features),
            format=output_format,
        )

    def _compute(self, predictions, references, program_length: int | None = None):
        predictions, references = np.asarray(predictions), np.asarray(references)
        if self.config_name == "classification":
            if program_length is not None:
                raise ValueError("program_length is for the 'default' configuration, not 'classification'")
            return {"accuracy": float((predictions == references).mean())}
        return instruction_metrics(predictions, references, program_length)
