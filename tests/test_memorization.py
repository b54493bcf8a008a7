"""Experiment 1: random-program data, tokenizers, the stopping callback and `examples/run_program_memorization.py`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, TrainerControl, TrainerState, TrainingArguments

from modeling_synthesizer import SynthesizerForSubleq
from modeling_synthesizer.tokenizer import build_word_level_tokenizer, load_tokenizer_with_programs, program_token
from synthesizer_examples.memorization import build_random_program_dataset, make_random_programs
from synthesizer_examples.training import StopAtExactMatchCallback, first_step_reaching


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import run_program_memorization  # noqa: E402


# Small enough to memorize in about a hundred steps on a CPU.
TINY_RUN = [
    "--num_programs", "3", "--program_length", "8", "--data_memory_size", "8",
    "--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64",
    "--learning_rate", "1e-2", "--dropout", "0", "--label_smoothing", "0", "--per_device_train_batch_size", "8",
    "--num_train_epochs", "200", "--logging_strategy", "no", "--disable_tqdm", "true", "--log_level", "warning",
    "--seed", "0",
]


def test_random_programs_are_deterministic_and_in_range():
    programs = make_random_programs(5, 12, 7, seed=3)
    assert programs == make_random_programs(5, 12, 7, seed=3)
    assert programs != make_random_programs(5, 12, 7, seed=4)
    assert len(programs) == 5 and all(len(program) == 12 for program in programs)
    operands = [operand for program in programs for operand in program]
    assert all(0 <= a < 7 and 0 <= b < 7 and 0 <= c <= 12 for a, b, c in operands)
    assert {c for _, _, c in operands} >= {0, 12}, "C covers HALT and the last instruction"


def test_every_row_is_its_programs_instruction():
    dataset, records = build_random_program_dataset(3, 6, 5, seed=0)
    assert len(dataset) == 18
    for row in dataset:
        index = int(row["description"].removeprefix("[PROG_").removesuffix("]"))
        assert records[index]["description"] == row["description"]
        assert row["labels"] == records[index]["program"][row["instruction"] - 1]
    assert [row["instruction"] for row in dataset.select(range(6))] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bad", [dict(num_programs=0), dict(program_length=0), dict(data_memory_size=0)])
def test_random_program_sizes_must_be_positive(bad):
    sizes = dict(num_programs=2, program_length=2, data_memory_size=2) | bad
    with pytest.raises(ValueError, match=f"{next(iter(bad))} must be >= 1"):
        make_random_programs(seed=0, **sizes)


def test_word_level_tokenizer_round_trip(tmp_path):
    tokenizer = build_word_level_tokenizer(255, [program_token(i) for i in range(3)])
    encoded = tokenizer("17 [PROG_2]", add_special_tokens=False)["input_ids"]
    assert len(encoded) == 2, "a number and a program token are one token each"
    assert tokenizer("17 [PROG_2]")["input_ids"][0] == tokenizer.cls_token_id
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded("17 [PROG_2]", add_special_tokens=False)["input_ids"] == encoded
    assert reloaded.pad_token == "[PAD]"
    with pytest.raises(ValueError, match="repeated"):
        build_word_level_tokenizer(3, ["[PROG_0]", "[PROG_0]"])


def write_tiny_bert_vocab(folder: Path):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [str(i) for i in range(300)] + ["classify", "this"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    # The layout of a Hub BERT tokenizer folder: AutoTokenizer needs the class named next to vocab.txt.
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_pretrained_tokenizer_gets_unsplit_program_tokens(tmp_path):
    tokenizer = load_tokenizer_with_programs(str(write_tiny_bert_vocab(tmp_path / "bert")), ["[PROG_0]", "[PROG_1]"])
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("12 [PROG_1]", add_special_tokens=False)["input_ids"])
    assert tokens == ["12", "[PROG_1]"]


def test_callback_stops_only_at_full_exact_match():
    callback = StopAtExactMatchCallback()
    args, state = TrainingArguments(output_dir="unused"), TrainerState()
    control = callback.on_evaluate(args, state, TrainerControl(), metrics={"eval_exact_match": 0.99})
    assert not control.should_training_stop
    control = callback.on_evaluate(args, state, TrainerControl(), metrics={"eval_exact_match": 1.0})
    assert control.should_training_stop
    history = [{"step": 5, "eval_exact_match": 0.5}, {"step": 9, "loss": 1.0}, {"step": 10, "eval_exact_match": 1.0}]
    assert first_step_reaching(history) == 10
    assert first_step_reaching(history[:2]) is None


@pytest.fixture(scope="module")
def memorized(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("memorized")
    results = run_program_memorization.main(TINY_RUN + ["--output_dir", str(output_dir), "--save_strategy", "no"])
    return output_dir, results


def test_tiny_run_memorizes_and_writes_its_outputs(memorized):
    output_dir, results = memorized
    assert results["final_exact_match"] == 1.0 and results["final_program_exact_match"] == 1.0
    assert results["steps_to_100"] == results["global_step"] > 0
    written = json.loads((output_dir / "memorization_results.json").read_text())
    assert {"num_programs", "program_length", "data_memory_size", "seed", "steps_to_100", "final_exact_match",
            "train_runtime_s"} <= set(written)
    curve = written["exact_match_curve"]  # the last evaluation during training is the one that reached 100%
    assert curve[-1] == [results["steps_to_100"], 1.0] and all(match < 1.0 for _, match in curve[:-1])
    for name in ("model.safetensors", "config.json", "modeling_synthesizer.py", "tokenizer.json", "README.md"):
        assert (output_dir / name).exists(), name
    assert "auto_map" in json.loads((output_dir / "config.json").read_text())
    card = (output_dir / "README.md").read_text()
    assert "trust_remote_code=True" in card and str(results["steps_to_100"]) in card


def test_checkpoint_reloads_with_identical_predictions(memorized):
    output_dir, _ = memorized
    records = json.loads((output_dir / "programs.json").read_text())
    model = SynthesizerForSubleq.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    for record in records:
        texts = [model.config.format_input(i, record["description"]) for i in range(1, len(record["program"]) + 1)]
        inputs = tokenizer(texts, add_special_tokens=model.config.add_special_tokens, return_tensors="pt")
        inputs.pop("token_type_ids", None)
        assert model.predict_instructions(**inputs).tolist() == record["program"]


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        """Simulates a crash right after the checkpoint of epoch 3 is written."""

        def on_save(self, args, state, control, **kwargs):
            if state.epoch >= 3:
                raise KeyboardInterrupt

    run = TINY_RUN + ["--num_train_epochs", "6", "--stop_at_exact_match", "false", "--save_strategy", "epoch",
                      "--save_total_limit", "2"]
    straight = run_program_memorization.main(run + ["--output_dir", str(tmp_path / "straight")])
    with pytest.raises(KeyboardInterrupt):
        run_program_memorization.main(run + ["--output_dir", str(tmp_path / "resumed")], callbacks=[Interrupt()])
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    # The same command again finds checkpoint-<epoch 3> in output_dir and continues from it.
    resumed = run_program_memorization.main(run + ["--output_dir", str(tmp_path / "resumed")])
    assert resumed["global_step"] == straight["global_step"]
    assert resumed["final_exact_match"] == straight["final_exact_match"]
    first = SynthesizerForSubleq.from_pretrained(tmp_path / "straight").state_dict()
    second = SynthesizerForSubleq.from_pretrained(tmp_path / "resumed").state_dict()
    for name, tensor in first.items():
        torch.testing.assert_close(second[name], tensor, msg=name)


def test_dataset_from_disk_and_a_pretrained_tokenizer(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "data" / "make_random_programs.py"), "--num_programs", "2", "--program_length",
         "8", "--data_memory_size", "8", "--seed", "5", "--output_dir", str(tmp_path / "data")],
        check=True, capture_output=True,
    )
    tokenizer_dir = write_tiny_bert_vocab(tmp_path / "bert")
    results = run_program_memorization.main(
        TINY_RUN + ["--dataset_name", str(tmp_path / "data"), "--tokenizer_name", str(tokenizer_dir),
                    "--num_train_epochs", "2", "--save_strategy", "no", "--output_dir", str(tmp_path / "run")]
    )
    assert (results["num_programs"], results["program_length"]) == (2, 8)
    saved = json.loads((tmp_path / "run" / "programs.json").read_text())
    assert saved == json.loads((tmp_path / "data" / "programs.json").read_text())
    model = SynthesizerForSubleq.from_pretrained(tmp_path / "run")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "run")
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer) == 307 + 2


def test_committed_sample_loads():
    sample = ROOT / "data" / "samples" / "random_programs_n4_l16_k16_seed1.jsonl"
    _, records = build_random_program_dataset(4, 16, 16, seed=1)
    dataset, loaded = run_program_memorization.load_programs(
        run_program_memorization.DataArguments(dataset_name=str(sample)), seed=0
    )
    assert loaded == records and len(dataset) == 64


def test_push_to_hub_offline_fails_before_training_with_one_message(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_program_memorization.py"), *TINY_RUN,
         "--output_dir", str(tmp_path), "--push_to_hub", "true", "--hub_model_id", "org/name"],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode != 0
    assert "--push_to_hub was given but the Hub is unreachable" in result.stderr
    assert not (tmp_path / "model.safetensors").exists()


def test_two_process_run_trains_together(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port", "0",
         str(ROOT / "examples" / "run_program_memorization.py"), *TINY_RUN, "--num_train_epochs", "3",
         "--save_strategy", "no", "--use_cpu", "--output_dir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "memorization_results.json").read_text())
    assert results["world_size"] == 2
    # 24 rows at 8 per process and 2 processes: 16 rows per optimizer step, 2 steps per epoch.
    assert results["batch_size"] == 16 and results["global_step"] == 3 * 2


def test_world_size_mismatch_is_refused(monkeypatch):
    from types import SimpleNamespace

    from synthesizer_examples.training import check_world_size

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="add --use_cpu"):
        check_world_size(SimpleNamespace(world_size=1))
    check_world_size(SimpleNamespace(world_size=2))
