"""Every bad argument of every example script stops it before anything is built: exactly one `error:` line on stderr
that names the flag and what it allows, exit status 2, and nothing written in --output_dir. Values checked only after
loading what an argument names (a tokenizer, a dataset) stop the script the same way, before the model is built.

The scripts run in-process (`main(argv)`), with every model constructor and `Trainer.train` made to fail, so that a
check that let a bad value through fails its test at once instead of training; two runs in a subprocess show the
whole stderr of a real command line."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import build_synthesizer_bert_256  # examples/ is on pytest's pythonpath (pyproject.toml)
import pytest
import run_program_library
import run_program_memorization
import run_sequence_classification
import run_soft_imperative
import run_soft_instruction
import transformers
from run_program_library import build_description_tokenizer

from modeling_synthesizer.program_library import load_program
from modeling_synthesizer.subleq import MAX_DATA_MEMORY_SIZE, MAX_PROGRAM_LENGTH
from synthesizer_examples import text_classification


ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sst2_sample"
SCRIPTS = {module.__name__: module for module in (
    run_program_memorization, build_synthesizer_bert_256, run_program_library, run_soft_instruction,
    run_soft_imperative, run_sequence_classification)}
TINY_BACKBONE = ["--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2",
                 "--intermediate_size", "64"]
TINY_LIBRARY = ["--programs", "add,absolute", "--data_memory_size", "4", "--max_program_length", "4", *TINY_BACKBONE]
TINY_SST2 = ["--train_file", str(SAMPLE / "train.tsv"), "--validation_file", str(SAMPLE / "dev.tsv"),
             "--tokenizer_name", str(SAMPLE / "tokenizer"), *TINY_BACKBONE]
# Valid tiny settings of each script: each case adds its bad flags after them (the last value of a flag wins).
BASE = {
    "run_program_memorization": ["--recipe", "tiny", *TINY_BACKBONE],
    "build_synthesizer_bert_256": TINY_LIBRARY,
    "run_program_library": [*TINY_LIBRARY, "--no_baseline"],
    "run_soft_instruction": TINY_SST2,
    "run_soft_imperative": TINY_SST2,
    "run_sequence_classification": TINY_SST2,
}
SST2_SCRIPTS = ("run_soft_instruction", "run_soft_imperative", "run_sequence_classification")
# The same bad training flags fail every script the same way (they share the parser and the checks).
TRAINING_CASES = [
    (["--learning_rate", "-1"], "--learning_rate must be in [0, inf), got -1.0"),
    (["--learning_rate", "nan"], "--learning_rate must be in [0, inf), got nan"),
    (["--num_train_epochs", "0"], "--num_train_epochs must be in (0, inf), got 0.0"),
    (["--max_steps", "-5"], "--max_steps must be >= -1, got -5"),
    (["--per_device_eval_batch_size", "0"], "--per_device_eval_batch_size must be >= 1, got 0"),
    (["--per_device_train_batch_size", "-1"], "--per_device_train_batch_size must be >= "),
    (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps must be >= 1, got 0"),
    (["--warmup_steps", "-1"], "--warmup_steps must be in [0, inf), got -1.0"),
    (["--weight_decay", "-0.1"], "--weight_decay must be in [0, inf), got -0.1"),
    (["--adam_beta1", "1.5"], "--adam_beta1 must be in [0, 1), got 1.5"),
    (["--adam_beta2", "1"], "--adam_beta2 must be in [0, 1), got 1.0"),
    (["--adam_epsilon", "-0.5"], "--adam_epsilon must be in [0, inf), got -0.5"),
    (["--max_grad_norm", "-1"], "--max_grad_norm must be in [0, inf), got -1.0"),
    (["--label_smoothing_factor", "1.5"], "--label_smoothing_factor must be in [0, 1), got 1.5"),
    (["--logging_steps", "0"], "--logging_steps must be in (0, inf), got 0.0"),
    (["--save_steps", "-1"], "--save_steps must be in (0, inf), got -1.0"),
    (["--eval_steps", "0"], "--eval_steps must be in (0, inf), got 0.0"),
    (["--save_total_limit", "-1"], "--save_total_limit must be >= 1, got -1"),
    (["--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    (["--seed", str(2**32)], f"--seed must be in [0, 4294967295], got {2**32}"),
    (["--data_seed", "-2"], "--data_seed must be in [0, 4294967295], got -2"),
    (["--dataloader_num_workers", "-1"], "--dataloader_num_workers must be >= 0, got -1"),
    (["--metric_for_best_model", "bleu"], "--metric_for_best_model must be one of loss, "),
    (["--push_to_hub", "true", "--hub_model_id", "org/name"], "--push_to_hub was given but the Hub is unreachable"),
    (["--learning_rate", "fast"], "argument --learning_rate/--learning-rate: invalid float value: 'fast'"),
    (["--num_train_epoch", "3"], "unrecognized arguments: --num_train_epoch 3"),
    (["--eval_strategy", "sometimes"], "--eval_strategy must be one of 'no', 'steps', 'epoch', got 'sometimes'"),
    (["--lr_scheduler_type", "wavy"], "argument --lr_scheduler_type/--lr-scheduler-type: invalid choice: 'wavy'"),
    (["--save_strategy", "often"], "--save_strategy must be one of 'no', 'steps', 'epoch', 'best', got 'often'"),
]
BACKBONE_CASES = [
    (["--hidden_size", "0"], "--hidden_size must be >= 1, got 0"),
    (["--num_hidden_layers", "0"], "--num_hidden_layers must be >= 1, got 0"),
    (["--num_attention_heads", "-2"], "--num_attention_heads must be >= 1, got -2"),
    (["--intermediate_size", "0"], "--intermediate_size must be >= 1, got 0"),
    (["--hidden_size", "30", "--num_attention_heads", "4"], "--hidden_size 30 must be a multiple of "
                                                             "--num_attention_heads 4"),
    (["--dropout", "1"], "--dropout must be in [0, 1), got 1.0"),
    (["--dropout", "-0.1"], "--dropout must be in [0, 1), got -0.1"),
    (["--label_smoothing", "1.5"], "--label_smoothing must be in [0, 1), got 1.5"),
]
SCRIPT_CASES = {
    "run_program_memorization": [
        (["--num_programs", "0"], "--num_programs must be >= 1, got 0"),
        (["--program_length", "0"], f"--program_length must be in [1, {MAX_PROGRAM_LENGTH}], got 0"),
        (["--program_length", str(MAX_PROGRAM_LENGTH + 1)], f"--program_length must be in [1, {MAX_PROGRAM_LENGTH}]"),
        (["--data_memory_size", "70000"], f"--data_memory_size must be in [1, {MAX_DATA_MEMORY_SIZE}], got 70000"),
        (["--backbone_type", "not-a-model"], "--backbone_type must be a transformers model type"),
        (["--backbone_type", "synthesizer"], "--backbone_type must be a transformers model type"),
        (["--tokenizer_name", "no/such/folder"], "--tokenizer_name no/such/folder: no such folder, and not a Hub"),
        (["--dataset_name", "missing.jsonl"], "--dataset_name missing.jsonl: no such file"),
        (["--recipe", "fast"], "argument --recipe: invalid choice: 'fast'"),
        (["--head_init", "zeros"], "argument --head_init/--head-init: invalid choice: 'zeros'"),
    ],
    "build_synthesizer_bert_256": [
        (["--max_position_embeddings", "2"], "--max_position_embeddings must be >= "),
        (["--max_position_embeddings", "0"], "--max_position_embeddings must be >= 1, got 0"),
        (["--num_held_out", "10"], "--num_held_out must be in [0, 6) so that 'add' (with 6 phrasings; "),
        (["--num_held_out", "6"], "--num_held_out must be in [0, 6)"),
        (["--num_held_out", "-1"], "--num_held_out must be in [0, 6)"),
        (["--data_memory_size", "70000"], f"--data_memory_size must be in [1, {MAX_DATA_MEMORY_SIZE}], got 70000"),
        (["--max_program_length", "0"], f"--max_program_length must be in [1, {MAX_PROGRAM_LENGTH}], got 0"),
        (["--data_memory_size", "2"], "modeling_synthesizer/programs/add.asm: program 'add' does not fit the "
                                      "machine (k = 2 data cells, L = 4 instructions): it needs 4 cells and 3 "
                                      "instructions (line"),
        (["--max_program_length", "2"], "modeling_synthesizer/programs/add.asm: program 'add' does not fit the "
                                        "machine (k = 4 data cells, L = 2 instructions): it needs 4 cells and 3 "
                                        "instructions (line"),
        (["--programs", "add,subtract"], "--programs: no library program 'subtract'"),
        (["--programs", "add,add"], "--programs: 'add' named twice"),
        (["--programs", " , "], "--programs: no library program given"),
        (["--min_margin", "-1"], "--min_margin must be >= 0, got -1.0"),
        (["--min_margin", "nan"], "--min_margin must be >= 0, got nan"),
        (["--min_match_confidence", "2"], "--min_match_confidence must be in [0, 1], got 2.0"),
        (["--word_dropout", "1"], "--word_dropout must be in [0, 1), got 1.0"),
        (["--instruction_repeats", "0"], "--instruction_repeats must be >= 1, got 0"),
        (["--num_inputs", "0"], "--num_inputs must be >= 1, got 0"),
        (["--max_steps_per_run", "-1"], "--max_steps_per_run must be in [1, 9223372036854775807], got -1"),
        (["--unknown_descriptions", ""], "--unknown_descriptions must be one or more non-empty texts (or none "
                                         "given), got ['']"),
        (["--unknown_descriptions", "fly to the moon", "  "], "--unknown_descriptions must be one or more non-empty"),
        (["--unknown_descriptions", "Add two numbers"], "--unknown_descriptions: 'Add two numbers' is a phrasing of "
                                                        "the library program 'add'"),
        (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size must be >= 1, got 0"),
    ],
    "run_program_library": [
        (["--max_position_embeddings", "3"], "--max_position_embeddings must be >= "),
        (["--baseline", "true", "--programs", "add", "--data_memory_size", "64", "--max_program_length", "48"],
         "the baseline comparison runs count_ones_32: add it to --programs or pass --no_baseline"),
        (["--baseline", "true", "--programs", "count_ones_32", "--data_memory_size", "64", "--max_program_length",
          "48", "--max_position_embeddings", "20"], "--max_position_embeddings must be >= 34 for a baseline's 32-bit "
                                                    "sequence (34 tokens), got 20"),
        (["--baseline", "true", "--baselines", "absolute,alibi"], "--baselines takes a comma-separated list of "),
        (["--num_held_out", "6"], "--num_held_out must be in [0, 6)"),
        (["--data_memory_size", "3"], "modeling_synthesizer/programs/add.asm: program 'add' does not fit the "
                                      "machine (k = 3 data cells"),
        (["--programs", "count_ones_32"], "modeling_synthesizer/programs/count_ones_32.asm: program 'count_ones_32' "
                                          "does not fit the machine (k = 4 data cells"),
        (["--num_inputs", "0"], "--num_inputs must be >= 1, got 0"),
        (["--stepwise_check_inputs", "2000", "--num_inputs", "100"], "--stepwise_check_inputs must be in [0, 100], "
                                                                     "got 2000"),
        (["--max_steps_per_run", "0"], "--max_steps_per_run must be in [1, "),
        (["--min_margin", "-1"], "--min_margin must be >= 0, got -1.0"),
        (["--min_match_confidence", "-0.5"], "--min_match_confidence must be in [0, 1], got -0.5"),
        (["--word_dropout", "2"], "--word_dropout must be in [0, 1), got 2.0"),
        (["--baseline_epochs", "0"], "--baseline_epochs must be in (0, inf), got 0.0"),
        (["--baseline_learning_rate", "-1"], "--baseline_learning_rate must be in [0, inf), got -1.0"),
        (["--baseline_batch_size", "0"], "--baseline_batch_size must be >= 1, got 0"),
        (["--baseline_train_max_length", "40"], "--baseline_train_max_length must be in [1, 16], got 40"),
        (["--baseline_held_out_fraction", "1"], "--baseline_held_out_fraction must be in (0, 1), got 1.0"),
        (["--baseline_held_out_fraction", "0.001"], "--baseline_held_out_fraction 0.001 holds out 0 of the 256 "
                                                    "sequences of length 8"),
        (["--baseline_long_lengths", "16,x"], "--baseline_long_lengths must be comma-separated lengths in [9, 32]"),
        (["--baseline_long_lengths", "64"], "--baseline_long_lengths must be comma-separated lengths in [9, 32]"),
        (["--baseline_long_lengths", "8"], "--baseline_long_lengths must be comma-separated lengths in [9, 32]"),
        (["--baseline_long_lengths", "16,16"], "--baseline_long_lengths names 16 more than once"),
        (["--baseline_num_long", "0"], "--baseline_num_long must be >= 1, got 0"),
        (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size must be >= 1, got 0"),
    ],
    "run_soft_instruction": [
        (["--data_memory_size", "2"], "--data_memory_size must be >= 3 (the program's cells 0..2), got 2"),
        (["--data_memory_size", "70000"], f"--data_memory_size must be in [1, {MAX_DATA_MEMORY_SIZE}], got 70000"),
        (["--max_program_length", "0"], f"--max_program_length must be in [1, {MAX_PROGRAM_LENGTH}], got 0"),
        (["--max_seq_length", "0"], "--max_seq_length must be >= 1, got 0"),
        (["--max_seq_length", "1000"], "--max_seq_length must be <= 512 (the positions of a bert backbone)"),
        (["--max_train_samples", "0"], "--max_train_samples must be >= 1, got 0"),
        (["--max_eval_samples", "-1"], "--max_eval_samples must be >= 1, got -1"),
        (["--metric_for_best_model", "accuracy"], "--metric_for_best_model must be one of loss, a_accuracy, "),
        (["--pooling", "cls"], "argument --pooling: invalid choice: 'cls'"),
        (["--tokenizer_name", "no/such/folder"], "--tokenizer_name no/such/folder: no such folder"),
        (["--train_file", "missing.tsv"], "--train_file missing.tsv: no such file"),
        (["--text_column_names", "title,,review"], "--text_column_names must be distinct, comma-separated column "
                                                   "names, got 'title,,review'"),
        (["--label_column_name", ""], "--label_column_name must name a column, got ''"),
    ],
    "run_soft_imperative": [
        (["--num_programs", "0"], "--num_programs must be >= 1, got 0"),
        (["--data_memory_size", "1"], f"--data_memory_size must be in [2, {MAX_DATA_MEMORY_SIZE}], got 1"),
        (["--program_length", "300"], "--program_length must be in [1, 256] (at most --max_program_length), got 300"),
        (["--program_length", "0"], "--program_length must be in [1, 256]"),
        (["--max_program_length", str(MAX_PROGRAM_LENGTH + 1)], "--max_program_length must be in [1, "),
        (["--run_label", " "], "--run_label must name a label, got ' '"),
    ],
    "run_sequence_classification": [
        (["--metric_for_best_model", "a_accuracy"], "--metric_for_best_model must be one of loss, accuracy "),
        (["--max_seq_length", "513"], "--max_seq_length must be <= 512"),
        (["--backbone_type", "nope"], "--backbone_type must be a transformers model type"),
        (["--evaluation_strategy", "steps"], "unrecognized arguments: --evaluation_strategy steps"),
        (["--text_column_names", "sentence,sentence"], "--text_column_names must be distinct, comma-separated"),
    ],
}


def cases():
    for script in SCRIPTS:
        for flags, message in SCRIPT_CASES[script] + BACKBONE_CASES + TRAINING_CASES:
            yield pytest.param(script, flags, message, id=f"{script} {' '.join(flags)}"[:90])


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Any model construction, SST-2 data loading or training fails the test: a bad argument must stop the script
    before them."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built, data was loaded or training started on a bad argument")

    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", refuse)
    monkeypatch.setattr(transformers.Trainer, "train", refuse)
    monkeypatch.setattr(text_classification, "load_sst2", refuse)


def run_bad(script: str, argv: list[str], capsys) -> str:
    """Runs `script` on `argv`; returns its one error line after checking exit status 2 and a one-line stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        SCRIPTS[script].main(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"\S+: error: \S.*", lines[0]), lines
    return lines[0]


@pytest.mark.parametrize("script, flags, message", list(cases()))
def test_a_bad_argument_is_one_error_line_and_exit_2_before_anything_is_built(
        script, flags, message, tmp_path, capsys, nothing_is_built):
    output_dir = tmp_path / "run"
    error = run_bad(script, [*BASE[script], "--output_dir", str(output_dir), *flags], capsys)
    assert f"error: {message}" in error
    assert not output_dir.exists()


@pytest.mark.parametrize("script", list(SCRIPTS))
@pytest.mark.parametrize("where, message", [
    ("file", "is a file, not a folder"),
    ("file/run", "cannot be created: {tmp}/file is a file"),
    ("", "--output_dir must name a folder, got ''"),
])
def test_an_output_dir_that_cannot_be_a_folder_is_refused(script, where, message, tmp_path, capsys,
                                                          nothing_is_built):
    (tmp_path / "file").write_text("not a folder")
    output_dir = str(tmp_path / where) if where else ""
    error = run_bad(script, [*BASE[script], "--output_dir", output_dir], capsys)
    assert message.format(tmp=tmp_path) in error
    assert (tmp_path / "file").read_text() == "not a folder" and sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
@pytest.mark.parametrize("script", ["run_program_memorization", "run_soft_instruction"])
def test_a_read_only_output_dir_is_refused(script, tmp_path, capsys, nothing_is_built):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for output_dir in (locked, locked / "run"):
            error = run_bad(script, [*BASE[script], "--output_dir", str(output_dir)], capsys)
            assert f"--output_dir {output_dir} cannot be written: {locked} refuses new files" in error
    finally:
        locked.chmod(0o700)


def test_resume_from_checkpoint_must_be_a_checkpoint(tmp_path, capsys, nothing_is_built):
    empty = tmp_path / "checkpoint-3"
    empty.mkdir()
    argv = [*BASE["run_program_memorization"], "--output_dir", str(tmp_path / "run"), "--resume_from_checkpoint",
            str(empty)]
    error = run_bad("run_program_memorization", argv, capsys)
    assert f"--resume_from_checkpoint {empty}: no checkpoint there" in error


# Files of arguments: `script.py args.json`.

@pytest.mark.parametrize("script", ["run_program_memorization", "build_synthesizer_bert_256"])
@pytest.mark.parametrize("content, message", [
    ("{not json", "arguments file {path} is not valid JSON: Expecting property name"),
    ("", "arguments file {path} is not valid JSON"),
    ("[1, 2]", "arguments file {path} must hold a JSON object of flag names to values, got a list"),
    ('"--hidden_size 64"', "arguments file {path} must hold a JSON object of flag names to values, got a str"),
    ('{"hidden_size": "64"}', "argument hidden_size in {path} must be an integer, got '64'"),
    ('{"hidden_size": 64.5}', "argument hidden_size in {path} must be an integer, got 64.5"),
    ('{"hidden_size": true}', "argument hidden_size in {path} must be an integer, got True"),
    ('{"hidden_size": 0}', "--hidden_size must be >= 1, got 0"),
    ('{"dropout": "none"}', "argument dropout in {path} must be a number, got 'none'"),
    ('{"learning_rate": [0.1]}', "argument learning_rate in {path} must be a number, got [0.1]"),
    ('{"overwrite_output_dir": "yes"}', "argument overwrite_output_dir in {path} must be true or false, got 'yes'"),
    ('{"report_to": 3}', "argument report_to in {path} must be "),
    ('{"not_a_flag": 1}', "arguments file {path}: unrecognized arguments: not_a_flag"),
])
def test_a_bad_file_of_arguments_is_one_error_line(script, content, message, tmp_path, capsys, nothing_is_built):
    path = tmp_path / "args.json"
    path.write_text(content)
    assert message.format(path=path) in run_bad(script, [str(path)], capsys)


@pytest.mark.parametrize("script, arguments, message", [
    ("run_program_memorization", {"recipe": "fast"}, "argument --recipe: invalid choice: 'fast'"),
    ("run_program_memorization", {"recipe": ["tiny"]}, "argument recipe in {path} must be a string, got ['tiny']"),
    ("run_program_memorization", {"head_init": "zeros"}, "argument head_init in {path} must be one of 'normal', "
                                                         "'torch_default', got 'zeros'"),
    ("build_synthesizer_bert_256", {"unknown_descriptions": "fly me to the moon"},
     "argument unknown_descriptions in {path} must be a list, got 'fly me to the moon'"),
    ("build_synthesizer_bert_256", {"unknown_descriptions": ["fly", 3]},
     "argument unknown_descriptions in {path} must be a list whose items are a string, got ['fly', 3]"),
    ("run_soft_instruction", {"pooling": "cls"}, "argument pooling in {path} must be one of 'auto', 'first'"),
    ("run_soft_instruction", {"eval_strategy": "sometimes"}, "--eval_strategy must be one of 'no', 'steps', 'epoch', "
                                                             "got 'sometimes'"),
    ("run_soft_instruction", {"max_train_samples": "all"}, "argument max_train_samples in {path} must be an integer "
                                                           "or null, got 'all'"),
])
def test_values_of_a_file_of_arguments_are_checked_as_on_the_command_line(script, arguments, message, tmp_path,
                                                                          capsys, nothing_is_built):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"output_dir": str(tmp_path / "run"), **arguments}))
    assert message.format(path=path) in run_bad(script, [str(path)], capsys)
    assert not (tmp_path / "run").exists()


def test_a_missing_file_of_arguments_is_one_error_line(tmp_path, capsys, nothing_is_built):
    path = tmp_path / "missing.json"
    error = run_bad("run_program_memorization", [str(path)], capsys)
    assert f"arguments file {path}: No such file or directory" in error


def test_a_good_file_of_arguments_parses_as_the_command_line(tmp_path):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"output_dir": str(tmp_path / "run"), "dropout": 0,
                                "unknown_descriptions": ["fly me to the moon"], "eval_strategy": "no"}))
    from_file = build_synthesizer_bert_256.parse_args([str(path)])
    from_flags = build_synthesizer_bert_256.parse_args(["--output_dir", str(tmp_path / "run"), "--dropout", "0",
                                                        "--unknown_descriptions", "fly me to the moon",
                                                        "--eval_strategy", "no"])
    assert from_file == from_flags


# The checks allow every value they should: the edges of each range parse.

@pytest.mark.parametrize("script, flags", [
    ("run_program_memorization", ["--data_memory_size", str(MAX_DATA_MEMORY_SIZE), "--program_length", "1",
                                  "--label_smoothing", "0", "--dropout", "0.99", "--seed", str(2**32 - 1)]),
    ("run_program_memorization", ["--per_device_train_batch_size", "0", "--max_steps", "-1", "--warmup_steps", "0"]),
    ("run_program_memorization", ["--num_train_epochs", "0", "--max_steps", "10", "--metric_for_best_model",
                                  "eval_exact_match"]),
    ("build_synthesizer_bert_256", ["--num_held_out", "5", "--min_margin", "0", "--min_match_confidence", "1",
                                    "--max_steps_per_run", "1", "--unknown_descriptions", "Add two numbers please"]),
    ("run_program_library", ["--num_held_out", "0", "--stepwise_check_inputs", "0", "--baseline_long_lengths",
                             "9,32"]),
    ("run_program_library", ["--baseline", "true", "--programs", "count_ones_32", "--data_memory_size", "64",
                             "--max_program_length", "48", "--max_position_embeddings", "34",
                             "--baselines", "absolute"]),
    ("run_program_library", ["--baseline", "true", "--programs", "count_ones_32", "--data_memory_size", "64",
                             "--max_program_length", "48", "--max_position_embeddings", "20",
                             "--baselines", "no_positions"]),
    ("run_soft_instruction", ["--data_memory_size", "3", "--max_seq_length", "512", "--max_train_samples", "1"]),
    ("run_soft_imperative", ["--data_memory_size", "2", "--program_length", "256", "--per_device_train_batch_size",
                             "0"]),
    ("run_sequence_classification", ["--metric_for_best_model", "accuracy", "--max_seq_length", "3"]),
])
def test_the_edges_of_each_range_are_allowed(script, flags, tmp_path):
    SCRIPTS[script].parse_args([*BASE[script], "--output_dir", str(tmp_path / "run"), *flags])


# The consistency checks measure the inputs the scripts really build.

@pytest.mark.parametrize("script", ["build_synthesizer_bert_256", "run_program_library"])
def test_max_position_embeddings_is_checked_against_the_longest_input_built(script, tmp_path, capsys):
    programs, k, length = ["count_ones_32", "reverse"], 64, 48
    descriptions = [text for name in programs for text in load_program(name).descriptions]
    tokenizer = build_description_tokenizer(descriptions, max(k, length))
    # The scripts' inputs are "{C_t} {description}" with [CLS] and [SEP], C_t up to L.
    longest = max(len(tokenizer(f"{length} {text}")["input_ids"]) for text in descriptions)
    argv = [*BASE[script], "--programs", ",".join(programs), "--data_memory_size", str(k), "--max_program_length",
            str(length), "--output_dir", str(tmp_path / "run")]
    if script == "build_synthesizer_bert_256":  # its unknown descriptions are inputs too: a short one
        argv += ["--unknown_descriptions", "fly me to the moon"]
    SCRIPTS[script].parse_args([*argv, "--max_position_embeddings", str(longest)])
    error = run_bad(script, [*argv, "--max_position_embeddings", str(longest - 1)], capsys)
    assert f"--max_position_embeddings must be >= {longest} for the input of " in error


@pytest.mark.parametrize("script, flags", [
    ("run_soft_instruction", []),
    ("run_soft_imperative", ["--num_programs", "3", "--program_length", "12"]),
    ("run_sequence_classification", []),
])
def test_max_seq_length_must_leave_room_for_a_sentence_after_the_prompt(script, flags, tmp_path, capsys,
                                                                        nothing_is_built):
    tokenizer = transformers.AutoTokenizer.from_pretrained(SAMPLE / "tokenizer")
    tokenizer.add_tokens(["[PROG_0]", "[PROG_1]", "[PROG_2]"], special_tokens=True)
    prompt = {"run_soft_instruction": "1 Classify this input: ",
              "run_soft_imperative": "12 As long as the input text is positive, run [PROG_2] [SEP] ",
              "run_sequence_classification": ""}[script]
    length = len(tokenizer(prompt)["input_ids"])
    argv = [*BASE[script], *flags, "--output_dir", str(tmp_path / "run"), "--max_seq_length", str(length)]
    error = run_bad(script, argv, capsys)
    assert f"--max_seq_length must be > {length}, the tokens of the prompt {prompt!r} without a sentence" in error
    assert not (tmp_path / "run").exists()


# Checks that need what an argument names run right after loading it, before the model.

@pytest.mark.parametrize("script", ["run_program_memorization", *SST2_SCRIPTS])
def test_a_tokenizer_that_cannot_be_loaded_is_one_error_line(script, tmp_path, capsys, nothing_is_built):
    argv = [*BASE[script], "--output_dir", str(tmp_path / "run"), "--tokenizer_name", "no-such-tokenizer-here"]
    assert "error: --tokenizer_name no-such-tokenizer-here: " in run_bad(script, argv, capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("rows, message", [
    ([{"description": "p", "instruction": 1, "labels": [0, 9, 1]}], "program 'p', instruction 1: labels [0, 9, 1] "
                                                                    "must be [A, B, C] with A, B in [0, 8)"),
    ([{"description": "p", "instruction": 1, "labels": [0, 1, 2]}], "labels [0, 1, 2] must be [A, B, C] with A, B "
                                                                    "in [0, 8) (--data_memory_size) and C in [0, 1]"),
    ([{"description": "p", "instruction": 1, "labels": [0, 1]}], "labels [0, 1] must be [A, B, C]"),
    ([{"description": "p", "instruction": 2, "labels": [0, 1, 0]}], "program 'p' of {path} lacks instructions"),
])
def test_a_dataset_whose_programs_do_not_fit_is_one_error_line(rows, message, tmp_path, capsys, nothing_is_built):
    path = tmp_path / "programs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = [*BASE["run_program_memorization"], "--data_memory_size", "8", "--dataset_name", str(path),
            "--output_dir", str(tmp_path / "run")]
    error = run_bad("run_program_memorization", argv, capsys)
    assert f"error: --dataset_name {path}: " in error and message.format(path=path) in error


# Teaching a memorization checkpoint (`--model_name_or_path`): its k, L, backbone and tokenizer are kept, so a flag
# that says otherwise is refused, as is a checkpoint that is not a memorization one. Parsing reads only config.json.

TEACH_CASES = [
    ("memorization", ["--hidden_size", "64"], "--hidden_size 64 contradicts --model_name_or_path {tmp}/memorization, "
                                              "whose backbone hidden size is 32: a taught checkpoint keeps its own"),
    ("memorization", ["--num_hidden_layers", "2"], "--num_hidden_layers 2 contradicts --model_name_or_path "),
    ("memorization", ["--program_length", "8"], "--program_length 8 contradicts --model_name_or_path "
                                                "{tmp}/memorization, whose L is 4"),
    ("memorization", ["--data_memory_size", "16"], "--data_memory_size 16 contradicts --model_name_or_path "
                                                   "{tmp}/memorization, whose k is 8"),
    ("memorization", ["--backbone_type", "roberta"], "--backbone_type roberta contradicts --model_name_or_path "
                                                     "{tmp}/memorization, whose backbone type is bert"),
    ("memorization", ["--dropout", "0.2"], "--dropout 0.2 contradicts --model_name_or_path {tmp}/memorization, "
                                           "whose backbone dropout is 0.0"),
    ("memorization", ["--tokenizer_name", "bert-base-uncased"], "--tokenizer_name bert-base-uncased: "
                                                                "--model_name_or_path {tmp}/memorization keeps its "
                                                                "own tokenizer"),
    ("memorization", ["--head_init", "torch_default"], "--head_init torch_default: --model_name_or_path "
                                                       "{tmp}/memorization keeps its own trained heads"),
    ("memorization", ["--dataset_name", "{tmp}/programs.jsonl"], "--dataset_name: with --model_name_or_path the new "
                                                                 "programs are --num_programs random ones"),
    ("library", [], "--model_name_or_path {tmp}/library is not a memorization checkpoint (its input is "
                    "'{{instruction}} {{description}}' with [CLS]/[SEP]): teach a library checkpoint programs by "
                    "name with examples/run_program_library.py"),
    ("no_programs", [], "--model_name_or_path {tmp}/no_programs declares no known_programs"),
    ("bert", [], "--model_name_or_path {tmp}/bert: a 'bert' model, not a Synthesizer checkpoint"),
    ("missing", [], "--model_name_or_path {tmp}/missing: not a Synthesizer checkpoint"),
    # Its tokenizer has [PROG_1], the next program token, from elsewhere: it would not get a row of its own.
    ("stale_tokens", [], "--model_name_or_path {tmp}/stale_tokens: its tokenizer already has [PROG_1], which would "
                         "not get a row of its own"),
]


@pytest.fixture
def checkpoints(tmp_path):
    """Config-only checkpoints to teach: a memorization one (k = 8, L = 4, the tiny backbone), a library one, one
    without known programs, a BERT, and a memorization one whose tokenizer has the next program token."""
    from modeling_synthesizer import SynthesizerConfig
    from modeling_synthesizer.tokenizer import build_word_level_tokenizer

    backbone = dict(model_type="bert", vocab_size=20, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    known = [{"name": "[PROG_0]", "descriptions": ["[PROG_0]"], "instructions": [[1, 2, 0]] * 4}]
    sizes = dict(text_config=backbone, data_memory_size=8, max_program_length=4, label_smoothing=0.0)
    SynthesizerConfig(**sizes, add_special_tokens=False, known_programs=known).save_pretrained(
        tmp_path / "memorization")
    SynthesizerConfig(**sizes, add_special_tokens=True, known_programs=known).save_pretrained(tmp_path / "library")
    SynthesizerConfig(**sizes, add_special_tokens=False).save_pretrained(tmp_path / "no_programs")
    tokenizer = build_word_level_tokenizer(8, ["[PROG_0]", "[PROG_1]"])
    SynthesizerConfig(**{**sizes, "text_config": {**backbone, "vocab_size": len(tokenizer)}}, add_special_tokens=False,
                      known_programs=known).save_pretrained(tmp_path / "stale_tokens")
    tokenizer.save_pretrained(tmp_path / "stale_tokens")
    transformers.BertConfig(**{k: v for k, v in backbone.items() if k != "model_type"}).save_pretrained(
        tmp_path / "bert")
    (tmp_path / "programs.jsonl").write_text('{"description": "p", "instruction": 1, "labels": [0, 1, 0]}\n')
    return tmp_path


@pytest.mark.parametrize("checkpoint, flags, message", TEACH_CASES,
                         ids=[f"{case[0]} {' '.join(case[1])}" for case in TEACH_CASES])
def test_teaching_refuses_a_flag_that_contradicts_the_checkpoint_or_a_checkpoint_that_is_no_memorization_one(
        checkpoint, flags, message, checkpoints, capsys, nothing_is_built):
    output_dir = checkpoints / "run"
    argv = ["--recipe", "tiny", "--model_name_or_path", str(checkpoints / checkpoint), "--num_programs", "2",
            "--output_dir", str(output_dir), *(flag.format(tmp=checkpoints) for flag in flags)]
    error = run_bad("run_program_memorization", argv, capsys)
    assert f"error: {message.format(tmp=checkpoints)}" in error
    assert not output_dir.exists()


def test_teaching_takes_the_checkpoints_settings_and_a_flag_that_agrees_with_them(checkpoints):
    folder = str(checkpoints / "memorization")
    for agreeing in ([], ["--hidden_size", "32", "--program_length", "4"]):
        model_args, data_args, _ = run_program_memorization.parse_args(
            ["--recipe", "quick", "--model_name_or_path", folder, "--output_dir", str(checkpoints / "run"),
             *agreeing])
        assert (data_args.data_memory_size, data_args.program_length) == (8, 4)
        assert (model_args.hidden_size, model_args.num_hidden_layers, model_args.intermediate_size) == (32, 1, 64)
        assert (model_args.dropout, model_args.label_smoothing, model_args.tokenizer_name) == (0.0, 0.0, None)
    # A file of arguments names the checkpoint as the command line does.
    (checkpoints / "args.json").write_text(json.dumps({"model_name_or_path": folder, "hidden_size": 64,
                                                       "output_dir": str(checkpoints / "run")}))
    with pytest.raises(SystemExit) as exit_info:
        run_program_memorization.parse_args([str(checkpoints / "args.json")])
    assert exit_info.value.code == 2


# Data that does not fit the data flags stops the script once the data is read, before the model.

THREE_CLASS = ROOT / "data" / "three_class_sample"
THREE_CLASS_DATA = ["--train_file", str(THREE_CLASS / "train.csv"), "--validation_file",
                    str(THREE_CLASS / "validation.csv"), "--text_column_names", "title,review", "--label_column_name",
                    "tone", "--tokenizer_name", str(THREE_CLASS / "tokenizer"), *TINY_BACKBONE]


@pytest.fixture
def nothing_is_trained(monkeypatch):
    """Any model construction or training fails the test (the data may be read)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built or training started on data that does not fit the data flags")

    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", refuse)
    monkeypatch.setattr(transformers.Trainer, "train", refuse)


@pytest.mark.parametrize("script, flags, message", [
    ("run_soft_instruction", ["--text_column_names", "title,body"],
     "--text_column_names title,body: the train split has no column body (its columns: title, review, tone)"),
    ("run_sequence_classification", ["--label_column_name", "stars"],
     "--label_column_name stars: the train split has no column stars (its columns: title, review, tone)"),
    ("run_soft_imperative", ["--run_label", "happy"],
     "--run_label happy is not among the labels of --label_column_name tone: negative, neutral, positive"),
    ("run_soft_instruction", ["--data_memory_size", "3"],
     "--data_memory_size 3 holds at most 2 classes and the output cell; --label_column_name tone has 3 classes: "
     "pass --data_memory_size >= 4"),
    ("run_sequence_classification", ["--train_file", "{tmp}/one.csv", "--validation_file", "{tmp}/one.csv"],
     "--label_column_name tone: a classifier needs at least 2 classes, the data has 1: neutral"),
    ("run_soft_imperative", ["--train_file", "{tmp}/scores.json", "--validation_file", "{tmp}/scores.json"],
     "--label_column_name tone: labels must be all integers or all non-empty strings, got ['0.5', '1.5']"),
])
def test_data_that_does_not_fit_the_data_flags_is_one_error_line(script, flags, message, tmp_path, capsys,
                                                                  nothing_is_trained):
    (tmp_path / "one.csv").write_text("title,review,tone\nFine,it works,neutral\nOkay,it is okay,neutral\n")
    (tmp_path / "scores.json").write_text('{"title": "a", "review": "b", "tone": 0.5}\n'
                                          '{"title": "c", "review": "d", "tone": 1.5}\n')
    argv = [*THREE_CLASS_DATA, "--output_dir", str(tmp_path / "run"), *(flag.format(tmp=tmp_path) for flag in flags)]
    assert f"error: {message}" in run_bad(script, argv, capsys)
    assert not (tmp_path / "run").exists()


# The whole stderr of a real command line.

@pytest.mark.parametrize("script, argv", [
    ("build_synthesizer_bert_256", ["--hidden_size", "0"]),
    ("run_program_memorization", ["{tmp}/args.json"]),
])
def test_a_command_line_with_a_bad_argument_prints_one_line_and_exits_2(script, argv, tmp_path):
    (tmp_path / "args.json").write_text('{"hidden_size": 64,')
    argv = [item.format(tmp=tmp_path) for item in argv]
    if not argv[0].endswith(".json"):
        argv += ["--output_dir", str(tmp_path / "run")]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / f"{script}.py"), *argv], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith(f"{script}.py: error: ")
    expected = "--hidden_size must be >= 1, got 0" if script.startswith("build") else "is not valid JSON"
    assert expected in result.stderr
    assert result.stdout == "" and sorted(os.listdir(tmp_path)) == ["args.json"]
