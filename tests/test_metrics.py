"""The `evaluate` modules in `examples/metrics/` (loaded offline from their folders) and the `compute_metrics`
factories of `examples/synthesizer_examples/metrics.py`, checked against numpy written here."""

import os
import sys
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")

import evaluate  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import EvalPrediction  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
from synthesizer_examples import metrics as example_metrics  # noqa: E402


def load(name):
    return evaluate.load(str(ROOT / "examples" / "metrics" / name))


# 4 instructions, 2 programs of 2: row 3 has C wrong (and halts where the truth does not), row 1 has B wrong.
PREDICTED = [[1, 2, 3], [4, 0, 6], [7, 8, 9], [1, 1, 0]]
TRUE = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 5]]


def reference_instruction_metrics(predicted, labels, program_length=None):
    """The metrics the scripts logged before `evaluate`, in numpy."""
    hits = predicted == labels
    metrics = {"a_accuracy": hits[:, 0].mean(), "b_accuracy": hits[:, 1].mean(), "c_accuracy": hits[:, 2].mean(),
               "exact_match": hits.all(axis=1).mean(),
               "halt_accuracy": ((predicted[:, 2] == 0) == (labels[:, 2] == 0)).mean()}
    if program_length is not None:
        metrics["program_exact_match"] = hits.all(axis=1).reshape(-1, program_length).all(axis=1).mean()
    return {name: float(value) for name, value in metrics.items()}


def random_operands(seed, rows, high=3):
    """Predictions and labels in [0, high) that agree often enough for every metric to be strictly between 0 and 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, high, size=(rows, 3))
    predicted = np.where(rng.random((rows, 3)) < 0.9, labels, rng.integers(0, high, size=(rows, 3)))
    return predicted, labels


def test_metrics_folder_is_not_a_package():
    assert example_metrics.METRICS_DIR == ROOT / "examples" / "metrics"
    assert not (example_metrics.METRICS_DIR / "__init__.py").exists()


def test_instruction_exact_match():
    metric = load("instruction_exact_match")
    assert metric.compute(predictions=PREDICTED, references=TRUE) == {"exact_match": 0.5}
    assert metric.compute(predictions=PREDICTED[:3] + TRUE[3:], references=TRUE) == {"exact_match": 0.75}


def test_program_exact_match():
    metric = load("program_exact_match")
    # Program 1 (rows 0-1) has B of row 1 wrong; program 2 (rows 2-3) has C of row 3 wrong.
    assert metric.compute(predictions=PREDICTED, references=TRUE, program_length=2) == {"program_exact_match": 0.0}
    one_wrong = TRUE[:3] + PREDICTED[3:]
    assert metric.compute(predictions=one_wrong, references=TRUE, program_length=2) == {"program_exact_match": 0.5}
    # One program of 4 instructions, or 4 programs of 1.
    assert metric.compute(predictions=one_wrong, references=TRUE, program_length=4) == {"program_exact_match": 0.0}
    assert metric.compute(predictions=one_wrong, references=TRUE, program_length=1) == {"program_exact_match": 0.75}
    with pytest.raises(ValueError, match="not whole programs of 3"):
        metric.compute(predictions=PREDICTED, references=TRUE, program_length=3)


def test_operand_accuracy():
    predictions = [[1, 2, 0], [4, 0, 6], [0, 8, 0], [1, 0, 0]]
    result = load("operand_accuracy").compute(predictions=predictions, references=TRUE)
    assert result == {"a_accuracy": 0.75, "b_accuracy": 0.5, "c_accuracy": 0.25}


def test_halt_accuracy():
    # Only C's being 0 counts: row 0 has wrong A and B but halts with the truth; row 3 halts where the truth does not.
    predictions = [[9, 9, 0], [4, 5, 6], [7, 8, 1], [1, 1, 0]]
    references = [[1, 2, 0], [4, 5, 6], [7, 8, 9], [1, 1, 5]]
    assert load("halt_accuracy").compute(predictions=predictions, references=references) == {"halt_accuracy": 0.75}


def test_sst2_accuracy():
    result = load("sst2_accuracy").compute(predictions=[0, 1, 1, 0, 1], references=[0, 1, 0, 0, 0])
    assert result == {"accuracy": 0.6}


@pytest.mark.parametrize("program_length", [None, 1, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_compute_metrics_matches_numpy(seed, program_length):
    predicted, labels = random_operands(seed, rows=60)
    expected = reference_instruction_metrics(predicted, labels, program_length)
    assert all(0 < value < 1 for value in expected.values())
    result = example_metrics.make_compute_metrics(program_length)(EvalPrediction(predicted, labels))
    assert result == expected
    assert list(result) == list(expected)
    assert all(type(value) is float for value in result.values())


def test_compute_metrics_loads_each_module_once(monkeypatch):
    loaded = []
    real_load = evaluate.load

    def counting_load(path, **kwargs):
        loaded.append(Path(path).name)
        return real_load(path, **kwargs)

    monkeypatch.setattr(evaluate, "load", counting_load)
    compute_metrics = example_metrics.make_compute_metrics(program_length=2)
    assert sorted(loaded) == ["halt_accuracy", "instruction_exact_match", "operand_accuracy", "program_exact_match"]
    for seed in range(3):
        predicted, labels = random_operands(seed, rows=10)
        expected = reference_instruction_metrics(predicted, labels, 2)
        assert compute_metrics(EvalPrediction(predicted, labels)) == expected
    assert len(loaded) == 4


def test_compute_metrics_rejects_bad_shapes():
    compute_metrics = example_metrics.make_compute_metrics(program_length=3)
    predicted, labels = random_operands(0, rows=4)
    with pytest.raises(ValueError, match="not whole programs of 3"):
        compute_metrics(EvalPrediction(predicted, labels))
    with pytest.raises(ValueError, match=r"must both be \(rows, 3\)"):
        compute_metrics(EvalPrediction(predicted[:, :2], labels[:, :2]))
    # A rejected call leaves the modules usable.
    predicted, labels = random_operands(0, rows=6)
    assert compute_metrics(EvalPrediction(predicted, labels)) == reference_instruction_metrics(predicted, labels, 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_classification_accuracy_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=50)
    predicted = np.where(rng.random(50) < 0.7, labels, 1 - labels)
    compute_metrics = example_metrics.make_classification_accuracy()
    result = compute_metrics(EvalPrediction(predicted, labels))
    assert result == {"accuracy": float((predicted == labels).mean())}
    assert 0 < result["accuracy"] < 1


def test_argmax_preprocessing():
    a_logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    b_logits = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    c_logits = torch.tensor([[0.0, 0.0, 0.0, 5.0], [9.0, 0.0, 0.0, 0.0]])
    hidden = torch.zeros(2, 7)  # outputs after the three heads' logits are ignored
    operands = example_metrics.argmax_operands((a_logits, b_logits, c_logits, hidden), None)
    assert operands.tolist() == [[1, 0, 3], [0, 1, 0]]
    assert example_metrics.argmax_labels(torch.tensor([[0.2, 0.8], [0.9, 0.1]]), None).tolist() == [1, 0]
