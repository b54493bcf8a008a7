"""The three SST-2 example scripts end to end on the committed sample with tiny models, the `subleq-execution`
pipeline on the checkpoints they save, and the two-process (gloo) run."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_sst2_tasks import TRAIN_TSV, make_tokenizer_folder
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

from modeling_synthesizer import run_subleq


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TINY = ["--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64"]
# Enough for a tiny model to fit its 32 training sentences (validation = the same 32 rows), so that the pipeline
# meets both verdicts. It takes mean pooling and no label smoothing: through BERT's pooler, a 1-layer, 32-wide
# untrained BERT needs far more than these 80 steps to leave the majority class.
FIT = ["--max_train_samples", "32", "--max_eval_samples", "32", "--num_train_epochs", "40", "--learning_rate", "1e-2",
       "--per_device_train_batch_size", "16", "--eval_steps", "16", "--save_steps", "16", "--dropout", "0.0"]
FIT_SYNTHESIZER = FIT + ["--pooling", "mean", "--label_smoothing", "0"]
QUIET = ["--disable_tqdm", "true", "--log_level", "warning", "--seed", "3"]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the Trainer pickles the arguments' classes (training_args.bin)
    spec.loader.exec_module(module)
    return module


def script_args(output_dir, tokenizer_dir, *extra):
    return ["--output_dir", str(output_dir), "--train_file", str(TRAIN_TSV), "--validation_file", str(TRAIN_TSV),
            "--tokenizer_name", str(tokenizer_dir), *TINY, *QUIET, *extra]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return make_tokenizer_folder(tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture(scope="module")
def soft_instruction_run(tokenizer_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("soft-instruction")
    results = load_script("run_soft_instruction").main(script_args(output_dir, tokenizer_dir, *FIT_SYNTHESIZER))
    return output_dir, results


@pytest.fixture(scope="module")
def soft_imperative_run(tokenizer_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("soft-imperative")
    # One program of one instruction: then "positive" is one fixed instruction, a binary task the tiny model fits
    # (10 x 10 random programs, the default, run in the two-process test).
    results = load_script("run_soft_imperative").main(
        script_args(output_dir, tokenizer_dir, *FIT_SYNTHESIZER, "--num_programs", "1", "--program_length", "1"))
    return output_dir, results


def training_sentences(count=32):
    lines = TRAIN_TSV.read_text(encoding="utf-8").splitlines()[1:count + 1]
    return [(line.rsplit("\t", 1)[0].strip(), int(line[-1])) for line in lines]


def check_results(output_dir, results, metric):
    saved = json.loads((output_dir / "sst2_results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["metric"] == metric and saved["world_size"] == 1 and saved["batch_size"] == 16
    assert saved["train_samples"] == 32 and saved["eval_samples"] == 32
    assert [step for step, _ in saved["curve"]] == [16, 32, 48, 64, 80]
    assert saved["best_accuracy"] == max(value for _, value in saved["curve"])
    # --load_best_model_at_end: the saved model is the best checkpoint.
    assert json.loads((output_dir / "eval_results.json").read_text())[f"eval_{metric}"] == saved["best_accuracy"]
    assert "| metric | value |" in (output_dir / "README.md").read_text()


def predicted_programs(output_dir, descriptions):
    """What the heads predict: the arg-max operands of instructions 1..L of each description."""
    model = AutoModel.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    config = model.config
    programs = []
    for description in descriptions:
        texts = [config.format_input(c, description) for c in range(1, config.max_program_length + 1)]
        inputs = tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=config.add_special_tokens)
        programs.append([tuple(row) for row in model.predict_instructions(**inputs).tolist()])
    return config, programs


def test_soft_instruction_end_to_end(soft_instruction_run):
    output_dir, results = soft_instruction_run
    check_results(output_dir, results, "a_accuracy")
    config = json.loads((output_dir / "config.json").read_text())
    assert config["memory_image"] == [-1] + [0] * 255 and config["output_cell"] == 2
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["max_program_length"] == 1 and config["add_special_tokens"] is True
    assert config["input_template"] == "{instruction} {description}"


def test_soft_instruction_pipeline_equals_heads(soft_instruction_run):
    output_dir, _ = soft_instruction_run
    sentences = training_sentences()
    descriptions = [f"Classify this input: {sentence}" for sentence, _ in sentences]
    config, programs = predicted_programs(output_dir, descriptions)
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True, batch_size=8)
    outputs = run(descriptions)  # the default strategy, "lazy"
    for strategy in ("decoded", "stepwise"):
        assert run(descriptions, strategy=strategy) == outputs, strategy
    for (_, sentiment), program, output in zip(sentences, programs, outputs):
        expected = run_subleq(program, config.memory_image)
        assert (output["memory"], output["steps"], output["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason)
        assert output["output"] == expected.memory[2]
        assert program[0] in ((0, 2, 0), (1, 2, 0))  # the network learned the two instructions of the program
        # One instruction whose C is 0: the class lands in the output cell, then the machine halts.
        assert output["steps"] == 1 and output["halted"]
        assert output["label"] == ("positive" if program[0] == (0, 2, 0) else "negative")
    hits = [output["output"] == sentiment for (_, sentiment), output in zip(sentences, outputs)]
    assert sum(hits) >= 0.9 * len(hits)  # the training sentences were fitted
    # Validation is these 32 sentences, and A alone carries the verdict: the saved model's logged accuracy of A is
    # the pipeline's accuracy.
    metrics = json.loads((output_dir / "eval_results.json").read_text())
    assert metrics["eval_a_accuracy"] == pytest.approx(sum(hits) / len(hits))


def test_soft_imperative_end_to_end(soft_imperative_run):
    output_dir, results = soft_imperative_run
    check_results(output_dir, results, "a_accuracy")
    metrics = json.loads((output_dir / "eval_results.json").read_text())
    # Every exactly right instruction also halts exactly when the true one does; the converse need not hold.
    assert metrics["eval_exact_match"] <= metrics["eval_halt_accuracy"] <= 1.0
    # The halt-accuracy curve is logged at the same evaluations; the saved (best) model is the one at best_step.
    assert [step for step, _ in results["halt_curve"]] == [step for step, _ in results["curve"]]
    assert dict(results["halt_curve"])[results["best_step"]] == metrics["eval_halt_accuracy"]
    config = json.loads((output_dir / "config.json").read_text())
    assert config["memory_image"] == [1] + [0] * 255 and config["output_cell"] == 0
    assert config["max_program_length"] == 256 and config["data_memory_size"] == 256
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    records = json.loads((output_dir / "programs.json").read_text())
    assert [record["description"] for record in records] == ["[PROG_0]"] and len(records[0]["program"]) == 1
    assert all(1 <= value <= 255 for record in records for instruction in record["program"] for value in instruction)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert tokenizer.convert_tokens_to_ids("[PROG_0]") == len(tokenizer) - 1


def test_soft_imperative_pipeline_halts_on_negative_and_runs_on_positive(soft_imperative_run):
    output_dir, _ = soft_imperative_run
    sentences = training_sentences()
    descriptions = [f"As long as the input text is positive, run [PROG_0] [SEP] {text}" for text, _ in sentences]
    config, programs = predicted_programs(output_dir, descriptions)
    run = pipeline("subleq-execution", model=str(output_dir), trust_remote_code=True, batch_size=8)
    outputs = run(descriptions, max_steps=500)  # the default strategy, "lazy"
    for strategy in ("decoded", "stepwise"):
        assert run(descriptions, max_steps=500, strategy=strategy) == outputs, strategy
    kinds = []
    for (_, sentiment), program, output in zip(sentences, programs, outputs):
        expected = run_subleq(program, config.memory_image, max_steps=500)
        assert (output["memory"], output["steps"], output["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason)
        if program[0] == (0, 0, 0):
            # Negative verdict: HALT at once, the verdict cell cleared.
            assert (output["steps"], output["halt_reason"], output["output"], output["label"]) == (
                1, "halt", 0, "negative")
        else:
            # Positive verdict: the program runs past its first instruction.
            assert output["steps"] > 1
        kinds.append((program[0] != (0, 0, 0), sentiment))
    assert {running for running, _ in kinds} == {True, False}  # both cases were met
    assert sum(running == bool(sentiment) for running, sentiment in kinds) >= 0.9 * len(kinds)


@pytest.mark.parametrize("head_init", ["normal", "torch_default"])
def test_head_init_draws_the_chosen_heads(head_init, tokenizer_dir, tmp_path):
    # lr 0: the saved heads are the drawn ones. normal: N(0, 0.02) weights, zero biases; torch_default: the
    # authors' nn.Linear init, weights and biases uniform in +-1/sqrt(H) (H = 32).
    load_script("run_soft_imperative").main(script_args(
        tmp_path, tokenizer_dir, "--max_train_samples", "16", "--max_eval_samples", "16", "--max_steps", "1",
        "--learning_rate", "0", "--save_strategy", "no", "--load_best_model_at_end", "false",
        "--num_programs", "1", "--program_length", "1", "--head_init", head_init))
    model = AutoModel.from_pretrained(tmp_path)
    bound = 1 / 32 ** 0.5
    for head in (model.a_head, model.b_head, model.c_head):
        if head_init == "normal":
            assert torch.all(head.bias == 0)
            assert 0.01 < head.weight.std().item() < 0.03
        else:
            assert head.bias.abs().max() <= bound and head.bias.abs().max() > bound / 2
            assert head.weight.abs().max() <= bound and head.weight.std().item() > 0.08
    assert json.loads((tmp_path / "sst2_results.json").read_text())["global_step"] == 1


def test_sequence_classification_end_to_end(tokenizer_dir, tmp_path):
    results = load_script("run_sequence_classification").main(script_args(tmp_path, tokenizer_dir, *FIT))
    check_results(tmp_path, results, "accuracy")
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    classify = pipeline("text-classification", model=str(tmp_path))
    sentences = training_sentences()
    predicted = [prediction["label"] for prediction in classify([text for text, _ in sentences])]
    hits = [label == model.config.id2label[sentiment] for label, (_, sentiment) in zip(predicted, sentences)]
    # Validation is these 32 sentences: the logged accuracy of the saved (best) model is the pipeline's accuracy.
    metrics = json.loads((tmp_path / "eval_results.json").read_text())
    assert metrics["eval_accuracy"] == pytest.approx(sum(hits) / len(hits))
    assert sum(hits) >= 0.9 * len(hits)  # the training sentences were fitted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_on_cpu(tokenizer_dir, tmp_path):
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--main_process_port", str(free_port()), str(EXAMPLES / "run_soft_imperative.py"), "--use_cpu",
        *script_args(tmp_path, tokenizer_dir, "--max_train_samples", "32", "--max_eval_samples", "16",
                     "--num_train_epochs", "1", "--eval_steps", "1", "--save_steps", "1"),
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads((tmp_path / "sst2_results.json").read_text())
    # Two processes joined one gloo group: batch 32 = 16 per process, one optimizer step per 32 sentences.
    assert results["world_size"] == 2 and results["batch_size"] == 32 and results["global_step"] == 1
    assert results["eval_samples"] == 16  # gathered from both processes, not 8 each
    records = json.loads((tmp_path / "programs.json").read_text())
    assert len(records) == 10 and all(len(record["program"]) == 10 for record in records)


def test_world_size_mismatch_is_an_error(tmp_path, monkeypatch, tokenizer_dir):
    # What `accelerate launch --multi_gpu --num_processes 2` without --use_cpu does on CPU: WORLD_SIZE=2 in the
    # environment, but a Trainer that never joined a process group.
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="--use_cpu"):
        load_script("run_soft_instruction").main(script_args(tmp_path, tokenizer_dir))


def test_removed_and_unknown_flags_fail(tmp_path, tokenizer_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("run_sequence_classification").main(
            script_args(tmp_path, tokenizer_dir, "--evaluation_strategy", "steps"))
    assert exit_info.value.code == 2
    assert "error: unrecognized arguments: --evaluation_strategy steps" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--pooling", "cls"], "argument --pooling: invalid choice: 'cls'"),
    (["--train_file", "missing.tsv", "--validation_file", "missing.tsv"], "--train_file missing.tsv: no such file"),
    (["--train_file", str(TRAIN_TSV)], "give both --train_file and --validation_file"),
    (["--num_programs", "0"], "--num_programs must be >= 1, got 0"),
    (["--program_length", "300"], "--program_length must be in [1, 256] (at most --max_program_length), got 300"),
])
def test_bad_values_fail_before_any_data_is_read(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("run_soft_imperative").main(["--output_dir", str(tmp_path / "run"), *flags])
    assert exit_info.value.code == 2
    assert f"error: {message}" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "run").exists()


def test_a_finished_run_is_left_alone(soft_instruction_run, tokenizer_dir, capsys):
    output_dir, results = soft_instruction_run
    weights = output_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    capsys.readouterr()
    again = load_script("run_soft_instruction").main(script_args(output_dir, tokenizer_dir, *FIT_SYNTHESIZER))
    assert again == json.loads(json.dumps(results)) and weights.stat().st_mtime_ns == before
    assert "holds a finished run" in capsys.readouterr().out


def test_a_rerun_is_compared_with_the_settings_as_parsed(soft_imperative_run, tokenizer_dir, capsys):
    # The script fills in --program_seed (default: --seed) after parsing; the rerun still matches the recorded run.
    output_dir, results = soft_imperative_run
    run = script_args(output_dir, tokenizer_dir, *FIT_SYNTHESIZER, "--num_programs", "1", "--program_length", "1")
    assert load_script("run_soft_imperative").main(run) == json.loads(json.dumps(results))
    with pytest.raises(SystemExit) as exit_info:
        load_script("run_soft_imperative").main(run[:-4] + ["--num_programs", "2", "--program_length", "1"])
    assert exit_info.value.code == 2
    assert "holds a run made with other settings (num_programs 1 there, 2 here)" in capsys.readouterr().err


def test_push_to_hub_offline_fails_before_training(tmp_path, tokenizer_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("run_soft_imperative").main(script_args(tmp_path, tokenizer_dir, "--push_to_hub", "true",
                                                            "--hub_model_id", "me/x"))
    assert exit_info.value.code == 2 and "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_model_card(soft_imperative_run):
    output_dir, results = soft_imperative_run
    card = (output_dir / "README.md").read_text()
    assert "Soft-imperative SST-2" in card and "examples/run_soft_imperative.py" in card
    assert f"| best validation accuracy of A | {results['best_accuracy']} |" in card
