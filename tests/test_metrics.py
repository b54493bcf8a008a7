"""The `evaluate` module in `examples/metrics/synthesizer/` (loaded offline from its folder) and the
`compute_metrics` factories of `examples/synthesizer_examples/metrics.py`, checked against numpy written here."""

import os
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")

import evaluate  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import EvalPrediction  # noqa: E402

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq  # noqa: E402
from synthesizer_examples import metrics as example_metrics  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent


def load(config_name=None):
    return evaluate.load(str(ROOT / "examples" / "metrics" / "synthesizer"), config_name)


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
    metric = load()
    assert metric.compute(predictions=PREDICTED, references=TRUE)["exact_match"] == 0.5
    assert metric.compute(predictions=PREDICTED[:3] + TRUE[3:], references=TRUE)["exact_match"] == 0.75


def test_program_exact_match():
    metric = load()
    assert "program_exact_match" not in metric.compute(predictions=PREDICTED, references=TRUE)

    def program_exact_match(predictions, program_length):
        return metric.compute(predictions=predictions, references=TRUE, program_length=program_length)[
            "program_exact_match"]

    # Program 1 (rows 0-1) has B of row 1 wrong; program 2 (rows 2-3) has C of row 3 wrong.
    assert program_exact_match(PREDICTED, 2) == 0.0
    one_wrong = TRUE[:3] + PREDICTED[3:]
    assert program_exact_match(one_wrong, 2) == 0.5
    # One program of 4 instructions, or 4 programs of 1.
    assert program_exact_match(one_wrong, 4) == 0.0
    assert program_exact_match(one_wrong, 1) == 0.75
    with pytest.raises(ValueError, match="not whole programs of 3"):
        program_exact_match(PREDICTED, 3)
    with pytest.raises(ValueError, match="not whole programs of 0"):
        program_exact_match(PREDICTED, 0)


def test_operand_accuracy():
    predictions = [[1, 2, 0], [4, 0, 6], [0, 8, 0], [1, 0, 0]]
    result = load().compute(predictions=predictions, references=TRUE)
    assert {name: result[name] for name in ("a_accuracy", "b_accuracy", "c_accuracy")} == {
        "a_accuracy": 0.75, "b_accuracy": 0.5, "c_accuracy": 0.25}


def test_halt_accuracy():
    # Only C's being 0 counts: row 0 has wrong A and B but halts with the truth; row 3 halts where the truth does not.
    predictions = [[9, 9, 0], [4, 5, 6], [7, 8, 1], [1, 1, 0]]
    references = [[1, 2, 0], [4, 5, 6], [7, 8, 9], [1, 1, 5]]
    assert load().compute(predictions=predictions, references=references)["halt_accuracy"] == 0.75


def test_classification_accuracy():
    metric = load("classification")
    assert metric.compute(predictions=[0, 1, 1, 0, 1], references=[0, 1, 0, 0, 0]) == {"accuracy": 0.6}
    assert metric.compute(predictions=[2, 1, 0], references=[2, 0, 0]) == {"accuracy": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="program_length is for the 'default' configuration"):
        metric.compute(predictions=[0, 1], references=[0, 1], program_length=1)


def test_unknown_configuration_is_refused():
    with pytest.raises(ValueError, match="config_name must be one of .*got 'sst2'"):
        load("sst2")


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

    def counting_load(path, *args, **kwargs):
        loaded.append(Path(path).name)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(evaluate, "load", counting_load)
    compute_metrics = example_metrics.make_compute_metrics(program_length=2)
    assert loaded == ["synthesizer"]
    for seed in range(3):
        predicted, labels = random_operands(seed, rows=10)
        expected = reference_instruction_metrics(predicted, labels, 2)
        assert compute_metrics(EvalPrediction(predicted, labels)) == expected
    assert loaded == ["synthesizer"]


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
    assert operands.dtype == torch.long
    assert example_metrics.argmax_labels(torch.tensor([[0.2, 0.8], [0.9, 0.1]]), None).tolist() == [1, 0]


def test_evaluation_keeps_what_the_model_predicts():
    # The Trainer hands `preprocess_logits_for_metrics` the model's outputs as a tuple (no loss without labels):
    # argmax_operands must find the three heads' logits first, in the order A, B, C.
    backbone = dict(model_type="bert", vocab_size=99, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                    intermediate_size=37)
    model = SynthesizerForSubleq(SynthesizerConfig(text_config=backbone, data_memory_size=5, max_program_length=7))
    model.eval()
    input_ids = torch.randint(5, 99, (6, 2), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outputs = model(input_ids=input_ids)
    kept = example_metrics.argmax_operands(outputs.to_tuple(), None)
    assert torch.equal(kept, model.predict_instructions(input_ids))
    assert kept.shape == (6, 3) and int(kept[:, 2].max()) <= 7
