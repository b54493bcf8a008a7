"""Program exact match: the fraction of programs whose every instruction (A, B and C) is right."""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
The fraction of programs whose instructions are all exactly right (A, B and C). The rows are instructions in
program-major order: each run of `program_length` consecutive rows is one program (the order of the memorization
datasets), so the rows must be a whole number of programs.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`, shape `(rows, 3)`): predicted (A, B, C) of each instruction.
    references (`list` of `list` of `int`, shape `(rows, 3)`): true (A, B, C) of each instruction.
    program_length (`int`): instructions per program.

Returns:
    program_exact_match (`float`): fraction of programs with every instruction right, in [0, 1].

Raises:
    ValueError: if the rows are not a whole number of programs of `program_length` instructions.

Examples:
    >>> metric = evaluate.load("examples/metrics/program_exact_match")
    >>> metric.compute(predictions=[[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 0]],
    ...                references=[[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6]], program_length=2)
    {'program_exact_match': 0.5}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ProgramExactMatch(evaluate.Metric):
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

    def _compute(self, predictions, references, program_length: int):
        instruction_hits = (np.asarray(predictions) == np.asarray(references)).all(axis=1)  # [rows]
        if program_length < 1 or len(instruction_hits) % program_length:
            raise ValueError(f"{len(instruction_hits)} rows are not whole programs of {program_length} instructions")
        program_hits = instruction_hits.reshape(-1, program_length).all(axis=1)  # [programs]
        return {"program_exact_match": float(program_hits.mean())}
