"""Pieces shared by the `Trainer` example scripts: the command line (arguments, recipes, errors), logging and launch
checks, tokenizing instructions, progress, stopping at 100%, and resuming or skipping a finished run."""

import argparse
import dataclasses
import enum
import functools
import json
import logging
import os
import shutil
import sys
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import datasets
import transformers
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import HfArgumentParser, PreTrainedTokenizerBase, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig

from .arguments import (
    FRACTION,
    NON_NEGATIVE,
    NON_NEGATIVE_REAL,
    POSITIVE,
    POSITIVE_REAL,
    SEED,
    Range,
    check_output_dir,
    check_ranges,
    optional,
)
from .checkpoint import latest_intact_checkpoint, saved_model_problem, saved_model_record
from .run_info import PicklesWithoutSecrets, redact_settings, write_json_atomic
from .run_settings import settings_conflict


logger = logging.getLogger(__name__)


# The numeric `TrainingArguments` the scripts check while parsing (the Trainer takes most of these as given and fails,
# or silently does something else, only once training runs). --per_device_train_batch_size depends on the script.
TRAINING_RANGES = {
    "learning_rate": NON_NEGATIVE_REAL,
    "max_steps": Range(-1),  # -1 (or 0): --num_train_epochs decides
    "per_device_eval_batch_size": POSITIVE,
    "gradient_accumulation_steps": POSITIVE,
    "warmup_steps": NON_NEGATIVE_REAL,  # below 1: a ratio of the step budget
    "weight_decay": NON_NEGATIVE_REAL,
    "adam_beta1": FRACTION,
    "adam_beta2": FRACTION,
    "adam_epsilon": NON_NEGATIVE_REAL,
    "max_grad_norm": NON_NEGATIVE_REAL,
    "label_smoothing_factor": FRACTION,
    "logging_steps": POSITIVE_REAL,  # below 1: a ratio of the step budget
    "save_steps": POSITIVE_REAL,
    "eval_steps": optional(POSITIVE_REAL),
    "eval_delay": NON_NEGATIVE_REAL,
    "eval_accumulation_steps": optional(POSITIVE),
    "save_total_limit": optional(POSITIVE),
    "seed": SEED,
    "data_seed": optional(SEED),
    "dataloader_num_workers": NON_NEGATIVE,
}


@dataclass
class RunControlArguments(PicklesWithoutSecrets):
    """What the scripts add to `TrainingArguments` about their output folder (a mixin: list it first), and the checks
    of the training flags a script uses, made while parsing."""

    # transformers 5 removed TrainingArguments' own flag of this name; the scripts keep its meaning.
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over: delete the checkpoints and the results of an earlier run in --output_dir. "
                          "Without it, a finished run is reported and left alone, an interrupted one resumes."},
    )

    # Whether `--per_device_train_batch_size 0` means something in the script (the paper's batch).
    zero_batch_size_allowed: ClassVar[bool] = False
    # The metrics the script's evaluation computes, `--metric_for_best_model`'s choices (none: not checked).
    eval_metrics: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        check_training_ranges(self)
        super().__post_init__()
        check_output_dir(self.output_dir)
        check_run_control(self)


def check_training_ranges(args) -> None:
    """`TRAINING_RANGES`, the batch size and, without `--max_steps`, the epochs of a script's `TrainingArguments`.

    Raises:
        ValueError: naming the first flag out of its range.
    """
    check_ranges(args, **TRAINING_RANGES)
    check_ranges(args, per_device_train_batch_size=NON_NEGATIVE if args.zero_batch_size_allowed else POSITIVE)
    if args.max_steps <= 0:
        check_ranges(args, num_train_epochs=POSITIVE_REAL)
    for name, choices in enum_fields().items():
        value = getattr(args, name)
        if isinstance(value, str) and value not in choices:
            raise ValueError(f"--{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


@functools.cache
def enum_fields() -> dict[str, tuple[str, ...]]:
    """The `TrainingArguments` fields typed `SomeEnum | str` (`--eval_strategy`, `--optim`...), each with its enum's
    values. The scripts redefine some as plain `str` (with their own defaults), so the parser takes any string for
    them, and `TrainingArguments` would refuse a wrong one without naming the flag."""
    hints = typing.get_type_hints(TrainingArguments)
    choices = {}
    for each in dataclasses.fields(TrainingArguments):
        members = typing.get_args(hints[each.name]) if each.init else ()
        enums = [member for member in members if isinstance(member, type) and issubclass(member, enum.Enum)]
        if enums:
            choices[each.name] = tuple(member.value for member in enums[0])
    return choices


def check_run_control(args) -> None:
    """The flags that name things: the metric of the best model, the checkpoint to resume, `--push_to_hub`.

    Raises:
        ValueError: naming the flag.
    """
    metric = args.metric_for_best_model
    if args.eval_metrics and metric is not None and metric.removeprefix("eval_") not in args.eval_metrics:
        raise ValueError(f"--metric_for_best_model must be one of {', '.join(args.eval_metrics)} (this script's "
                         f"evaluation metrics), got {metric!r}")
    checkpoint = args.resume_from_checkpoint
    if checkpoint is not None and not os.path.isfile(os.path.join(checkpoint, "trainer_state.json")):
        raise ValueError(f"--resume_from_checkpoint {checkpoint}: no checkpoint there (a checkpoint-N folder with "
                         "its trainer_state.json)")
    try:
        check_can_push(args)
    except RuntimeError as error:
        raise ValueError(str(error)) from None


@dataclass
class MemorizationTrainingArguments(RunControlArguments, TrainingArguments):
    """`TrainingArguments` for memorization runs: memorization is the task, so the training set is evaluated once per
    epoch, a checkpoint is kept per epoch (to resume), and training stops at 100% instruction exact match."""

    eval_metrics: ClassVar[tuple[str, ...]] = (
        "loss", "exact_match", "program_exact_match", "a_accuracy", "b_accuracy", "c_accuracy", "halt_accuracy")

    per_device_eval_batch_size: int = field(default=1024, metadata={"help": "Batch per process for evaluation."})
    eval_strategy: str = field(default="epoch", metadata={"help": "Evaluate once per epoch, as the authors did."})
    save_strategy: str = field(default="epoch", metadata={"help": "Checkpoint once per epoch (to resume)."})
    logging_strategy: str = field(default="epoch", metadata={"help": "Log once per epoch."})
    # Two, so that a checkpoint corrupted by a crash while it was written leaves an intact one to resume from.
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep the last two checkpoints."})
    # argparse formats help strings with %: "100%%" prints as "100%".
    stop_at_exact_match: bool = field(
        default=True, metadata={"help": "Stop at the first evaluation with 100%% instruction exact match."}
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help of each flag, and the script's docstring (its commands) kept as written."""


def script_name() -> str:
    """The script's file name as the command line gave it (`run_program_memorization.py`), else the program's name."""
    if sys.argv and sys.argv[0].endswith(".py"):
        return os.path.basename(sys.argv[0])
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def argument_error(message: str):
    """Stops the script on a bad argument as argparse does, in one line: `<script>: error: <message>` on stderr, exit
    status 2. For checks that need what the arguments name (a tokenizer, a dataset) and so run after parsing, still
    before any model is built or trained."""
    sys.stderr.write(f"{script_name()}: error: {' '.join(str(message).split())}\n")
    sys.exit(2)


def read_arguments_file(path: str) -> dict:
    """The arguments in a `.json` file: one JSON object of flag names (without `--`) to values.

    Raises:
        ValueError: naming the file if it cannot be read, is not JSON, or is not an object.
    """
    try:
        with open(path) as f:
            arguments = json.load(f)
    except OSError as error:
        raise ValueError(f"arguments file {path}: {error.strerror or error}") from None
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise ValueError(f"arguments file {path} is not valid JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"arguments file {path} must hold a JSON object of flag names to values, got a "
                         f"{type(arguments).__name__}")
    return arguments


def expected_json_type(hint, value) -> str | None:
    """What a value of a `.json` file of arguments should have been to fit a field typed `hint`, or None when it
    fits. Types a command line could not give (dicts, configs) are left to the dataclass."""
    origin, members = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        expected = [expected_json_type(member, value) for member in members]
        return None if None in expected else " or ".join(expected)
    if hint is type(None):
        return None if value is None else "null"
    if hint is bool:
        return None if isinstance(value, bool) else "true or false"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if hint is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if hint is str:
        return None if isinstance(value, str) else "a string"
    if origin is typing.Literal:
        return None if value in members else " or ".join(map(repr, members))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return None if value in [member.value for member in hint] else "one of " + ", ".join(
            repr(member.value) for member in hint)
    if origin is list:
        if not isinstance(value, list):
            return "a list"
        wrong = next((item for item in value if members and expected_json_type(members[0], item)), None)
        return None if wrong is None else f"a list whose items are {expected_json_type(members[0], wrong)}"
    return None


class ExampleArgumentParser(HfArgumentParser):
    """
    `HfArgumentParser` that behaves like a plain argparse command line: no abbreviated flags, a short usage line and
    the script's summary before the ~600 lines of `TrainingArguments` flags, and every invalid value (including those
    the dataclasses' `__post_init__` reject, and those of a `.json` file of arguments) reported as one `error:` line
    on stderr with exit status 2, before any data is read.
    """

    def __init__(self, dataclass_types, description: str | None = None, **kwargs):
        usage = "%(prog)s [-h] [--output_dir DIR] [--FLAG VALUE ...]  |  %(prog)s ARGS.json"
        super().__init__(dataclass_types, prog=script_name(), usage=usage, description=description,
                         allow_abbrev=False, formatter_class=_HelpFormatter, **kwargs)
        self.file_defaults = {}  # what set_defaults changed, for a .json file of arguments too

    def set_defaults(self, **defaults):
        self.file_defaults.update(defaults)
        super().set_defaults(**defaults)

    def error(self, message: str):
        """One line, `<script>: error: <message>`, and exit status 2 (argparse's usage line is left out: `--help`
        shows it)."""
        argument_error(message)

    def parse_checked(self, argv: list[str], check: Callable[..., None] | None = None) -> tuple:
        """
        The dataclasses of `argv` (or of its single `.json` file), then `check(*dataclasses)` for checks between
        them.

        Raises:
            SystemExit: status 2 with one `error:` line for an unknown flag, a value of the wrong type or out of its
                range (a `ValueError` or `TypeError` of a dataclass's `__post_init__` or of `check`), or an
                unreadable `.json` file.
        """
        try:
            if len(argv) == 1 and argv[0].endswith(".json"):
                parsed = self.parse_arguments_file(argv[0])
            else:
                *parsed, unknown = self.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
                if unknown:
                    self.error(f"unrecognized arguments: {' '.join(unknown)}")
            if check is not None:
                check(*parsed)
        except (ValueError, TypeError, OSError) as error:
            self.error(str(error))
        return tuple(parsed)

    def parse_arguments_file(self, path: str) -> tuple:
        """The dataclasses of a `.json` file of arguments, its values checked as the command line checks them: each
        key a flag, each value of the flag's type and among its choices.

        Raises:
            ValueError: naming the file and the first key or value that is wrong.
        """
        arguments = {**self.file_defaults, **read_arguments_file(path)}
        hints, choices = {}, {action.dest: action.choices for action in self._actions if action.choices}
        for dtype in self.dataclass_types:
            types_of = typing.get_type_hints(dtype)
            hints.update({f.name: types_of[f.name] for f in dataclasses.fields(dtype) if f.init})
        unknown = sorted(set(arguments) - set(hints))
        if unknown:
            raise ValueError(f"arguments file {path}: unrecognized arguments: {', '.join(unknown)}")
        for name, value in arguments.items():
            expected = expected_json_type(hints[name], value)
            if expected is None and name in choices and value is not None and not isinstance(value, list):
                expected = None if value in choices[name] else "one of " + ", ".join(map(repr, choices[name]))
            if expected is not None:
                raise ValueError(f"argument {name} in {path} must be {expected}, got {value!r}")
        return self.parse_dict(arguments)


def recipe_in(argv: list[str], recipes: dict, default: str) -> str:
    """The `--recipe` named in `argv` (or in its single `.json` file), else `default`.

    Raises:
        ValueError: if the `.json` file cannot be read or its recipe is not a string.
    """
    if len(argv) == 1 and argv[0].endswith(".json"):
        name = read_arguments_file(argv[0]).get("recipe", default)
        if not isinstance(name, str):
            raise ValueError(f"argument recipe in {argv[0]} must be a string, got {name!r}")
        return name
    finder = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    finder.add_argument("--recipe", default=default)
    return finder.parse_known_args(argv)[0].recipe


def parse_example_args(
    dataclass_types,
    argv: list[str] | None = None,
    *,
    description: str | None = None,
    recipes: dict[str, dict] | None = None,
    default_recipe: str | None = None,
    default_output_dir: str | None = None,
    check: Callable[..., None] | None = None,
) -> tuple:
    """
    Parses a script's command line into `dataclass_types` (the `run_*.py` shape; a single `.json` argument is a
    file of arguments).

    Args:
        dataclass_types: the argument dataclasses; one of them must have a `recipe` field when `recipes` is given.
        argv: the arguments (default `sys.argv[1:]`).
        description: the `--help` text before the flags (the script's docstring).
        recipes: named sets of defaults (`{"quick": {"num_programs": 8, ...}}`); `--recipe NAME` applies one and
            flags given on the command line still win. A new recipe is a new entry.
        default_recipe: the recipe without `--recipe`.
        default_output_dir: `--output_dir` when none is given (under `runs/`, which git ignores).
        check: called with the parsed dataclasses; raises a `ValueError` naming the flags when they do not fit
            together (e.g. the longest input the script builds against `--max_position_embeddings`).

    Raises:
        SystemExit: status 2 with one `error:` line for an unknown, abbreviated or invalid argument, an unknown
            recipe, an unreadable `.json` file of arguments, arguments that `check` rejects, or an `--output_dir`
            that holds a run made with other settings (`run_settings.settings_conflict`; the scripts record theirs
            with `write_run_settings` before training); status 0 after `--help`.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ExampleArgumentParser(dataclass_types, description=description)
    if default_output_dir is not None:
        parser.set_defaults(output_dir=default_output_dir)
    if recipes:
        try:
            name = recipe_in(argv, recipes, default_recipe)
        except ValueError as error:
            parser.error(str(error))
        if name not in recipes:
            parser.error(f"argument --recipe: invalid choice: {name!r} (choose from {', '.join(recipes)})")
        parser.set_defaults(recipe=name, **recipes[name])
    parsed = parser.parse_checked(argv, check)
    training_args = next((args for args in parsed if isinstance(args, TrainingArguments)), None)
    conflict = None if training_args is None else settings_conflict(parsed, training_args)
    if conflict is not None:
        parser.error(conflict)
    return parsed


def setup_run(training_args: TrainingArguments, *script_loggers: logging.Logger) -> None:
    """Logging at the Trainer's level for this process (main process: info), then the launch checks: the processes
    joined one run, and `--push_to_hub` can work."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    for each in (*script_loggers, logging.getLogger("synthesizer_examples")):
        each.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    check_world_size(training_args)
    check_can_push(training_args)
    if training_args.device.type == "cpu":
        # Pinned memory only helps copies to an accelerator; on CPU, torch warns once per DataLoader (every epoch).
        training_args.dataloader_pin_memory = False


def say(training_args: TrainingArguments, message: str) -> None:
    """Prints what a user must see whatever the log level (settings, resuming, the outcome), once per run."""
    if training_args.process_index == 0:
        print(message, flush=True)


def tokenize_instructions(
    dataset: Dataset, tokenizer: PreTrainedTokenizerBase, config: SynthesizerConfig, max_length: int | None = None
) -> Dataset:
    """Adds the model inputs of each `(instruction, description)` row, framed by `config.input_template`."""

    def tokenize(batch):
        texts = [
            config.format_input(instruction, description)
            for instruction, description in zip(batch["instruction"], batch["description"])
        ]
        return tokenizer(
            texts, add_special_tokens=config.add_special_tokens, truncation=max_length is not None,
            max_length=max_length,
        )

    return dataset.map(tokenize, batched=True, desc="Tokenizing instructions")


class StopAtExactMatchCallback(TrainerCallback):
    """Stops training at the first evaluation whose instruction exact match reaches `threshold` (100%)."""

    def __init__(self, metric: str = "eval_exact_match", threshold: float = 1.0):
        self.metric = metric
        self.threshold = threshold

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and metrics.get(self.metric, 0.0) >= self.threshold:
            logger.info("%s reached %s at step %d: stopping", self.metric, self.threshold, state.global_step)
            control.should_training_stop = True
        return control


def first_step_reaching(log_history: list[dict], metric: str = "eval_exact_match", threshold: float = 1.0):
    """The global step of the first logged evaluation with `metric >= threshold`, or None. Reading it from
    `TrainerState.log_history` keeps it right across a resumed run."""
    for entry in log_history:
        if entry.get(metric, -1.0) >= threshold:
            return int(entry["step"])
    return None


def eval_curve(log_history: list[dict], metric: str) -> list[list]:
    """`[[step, value], ...]` of the evaluations during training, in order. Only the first evaluation logged at a
    step counts: the one after training, at the last step again, may be of the best checkpoint reloaded."""
    curve, seen = [], set()
    for entry in log_history:
        if f"eval_{metric}" in entry and entry["step"] not in seen:
            seen.add(entry["step"])
            curve.append([int(entry["step"]), float(entry[f"eval_{metric}"])])
    return curve


def check_world_size(training_args: TrainingArguments):
    """
    Raises `RuntimeError` if the launcher started more processes than the Trainer joined, e.g. `accelerate launch
    --multi_gpu --num_processes 2` on CPU without `--use_cpu`, which silently runs two independent copies.
    """
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if training_args.world_size != launched:
        raise RuntimeError(
            f"launched as {launched} processes (WORLD_SIZE) but the Trainer sees world_size "
            f"{training_args.world_size}: on CPU add --use_cpu (gloo) so that the processes train together"
        )


def check_can_push(training_args: TrainingArguments):
    """Fails before training, not after it, when `--push_to_hub` cannot work."""
    if not training_args.push_to_hub:
        return
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise RuntimeError(
            "--push_to_hub was given but the Hub is unreachable (HF_HUB_OFFLINE is set): unset it, log in with "
            "`hf auth login`, or drop --push_to_hub and upload the output_dir later"
        )
    if training_args.hub_model_id is None:
        raise ValueError("--push_to_hub needs --hub_model_id org/name")


def find_checkpoint_to_resume(training_args: TrainingArguments) -> str | None:
    """
    `--resume_from_checkpoint` when given; none with `--overwrite_output_dir`; otherwise the newest intact
    `checkpoint-*` in `output_dir`, so that a rerun of an interrupted command continues it. A newer checkpoint that
    is corrupt (a crash while it was written) is reported, naming its broken file, and skipped.

    Checking a checkpoint runs none of its files (`checkpoint.check_checkpoint`): a file that does not load as the
    Trainer loads it (safetensors, JSON, torch states with `weights_only=True`) makes the checkpoint corrupt.

    Raises:
        SystemExit: status 2 with one `error:` line naming the first corrupt file, if every checkpoint in `output_dir`
            is corrupt.
    """
    if training_args.resume_from_checkpoint is not None:
        return training_args.resume_from_checkpoint
    if getattr(training_args, "overwrite_output_dir", False) or not os.path.isdir(training_args.output_dir):
        return None
    checkpoint, corrupt = latest_intact_checkpoint(training_args.output_dir)
    for error in corrupt:
        logger.error("%s; %s", error, f"resuming from {checkpoint} instead" if checkpoint else "no checkpoint left")
    if checkpoint is None and corrupt:
        argument_error(f"no intact checkpoint in {training_args.output_dir} to resume from ({corrupt[0]}); pass "
                       "--overwrite_output_dir to start over")
    return checkpoint


def checkpoint_step(checkpoint: str) -> int:
    """The optimizer step a checkpoint was saved at (its `trainer_state.json`)."""
    with open(os.path.join(checkpoint, "trainer_state.json")) as f:
        return int(json.load(f)["global_step"])


RUNTIME_FILE = "train_runtime.json"


class RuntimeCallback(TrainerCallback):
    """Writes the run's training time so far (earlier sessions included) into each checkpoint, so that a resumed
    run's `train_runtime_s` is the total, not the last session's."""

    def __init__(self, previous_s: float = 0.0):
        self.previous_s = previous_s
        self.started = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()

    def total_s(self) -> float:
        return self.previous_s + time.monotonic() - self.started

    def on_save(self, args, state, control, **kwargs):
        folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if state.is_world_process_zero and os.path.isdir(folder):
            write_json_atomic(os.path.join(folder, RUNTIME_FILE), {"train_runtime_s": self.total_s()})


def previous_runtime(checkpoint: str | None) -> float:
    """The training time recorded in `checkpoint` by `RuntimeCallback` (0 when none)."""
    path = os.path.join(checkpoint, RUNTIME_FILE) if checkpoint else None
    if path is None or not os.path.isfile(path):
        return 0.0
    with open(path) as f:
        return float(json.load(f)["train_runtime_s"])


def train_resuming(trainer) -> tuple[dict, float]:
    """
    Trains, resuming from `find_checkpoint_to_resume` (and saying so: "resuming from checkpoint-N (step S)").
    Returns (the train metrics of this session, the training time of the whole run in seconds, earlier sessions
    included).

    Raises:
        SystemExit: status 2 with one `error:` line, if `output_dir` holds checkpoints and all of them are corrupt.
    """
    checkpoint = find_checkpoint_to_resume(trainer.args)
    if checkpoint is not None:
        say(trainer.args, f"resuming from {os.path.basename(os.path.normpath(checkpoint))} "
                          f"(step {checkpoint_step(checkpoint)})")
    runtime = RuntimeCallback(previous_runtime(checkpoint))
    trainer.add_callback(runtime)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    return train_result.metrics, runtime.previous_s + train_result.metrics.get("train_runtime", 0.0)


# What `Trainer.save_metrics` and `Trainer.save_state` write in output_dir: results of the run, like the script's own.
TRAINER_RESULTS_FILES = ("all_results.json", "train_results.json", "eval_results.json", "trainer_state.json")
# The key of a results file that records the model saved with it and how far its run trained (`write_results`).
SAVED_MODEL_KEY = "saved_model"


def read_results(path: str, required: tuple[str, ...] = ()) -> dict | None:
    """
    A results file of an earlier run (`write_results`), which must hold the `required` keys; None if there is none
    (another process of the run may have just deleted it: `finished_results`).

    Raises:
        SystemExit: status 2 with one `error:` line naming `path`, if it does not read as a JSON object with the
            `required` keys (results are written whole, atomically, so such a file was damaged after its run).
    """
    try:
        with open(path) as f:
            results = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:  # ValueError: JSONDecodeError, UnicodeDecodeError
        results, reason = None, " ".join(str(error).split())[:200] or type(error).__name__
    if isinstance(results, dict):
        missing = [key for key in required if key not in results]
        if not missing:
            return results
        reason = f"it lacks {', '.join(missing)}"
    elif results is not None:
        reason = f"a JSON {type(results).__name__}, not an object"
    argument_error(f"{path} is not a readable results file ({reason}): delete it to resume that run from its last "
                   "checkpoint, or pass --overwrite_output_dir to start over")


def budget_allows_more(training_args: TrainingArguments, record: dict) -> bool:
    """Whether this command's step budget (`--max_steps`, else `--num_train_epochs`) goes beyond the step and epoch
    an earlier run stopped at (`record`, its results' `saved_model`)."""
    if training_args.max_steps > 0:
        return training_args.max_steps > int(record.get("global_step") or 0)
    # A whole number of epochs can end a hair below itself in TrainerState.epoch (a float sum).
    return training_args.num_train_epochs - float(record.get("epoch") or 0.0) > 1e-4


def finished_results(
    training_args: TrainingArguments, results_file: str, required: tuple[str, ...] = ()
) -> dict | None:
    """
    The results of the run that already finished in `output_dir` (its `results_file`), to report instead of training
    again; None when this command has training to do:

    - with `--overwrite_output_dir`, the earlier run's checkpoints and results are deleted first (`start_over`);
    - without `results_file`, the run is new or was interrupted (it resumes from its last intact checkpoint);
    - a run that stopped short of its goal (`stopped_short` in its results) trains further when this command's budget
      is larger (more epochs or steps); its stale results are deleted first.

    Before a run is reported as finished, the model saved with its results is verified: `model.safetensors` must be
    the file the results recorded (its sha256; results of older runs without that record: it loads as
    safetensors).

    Raises:
        SystemExit: status 2 with one `error:` line naming the file, if `results_file` is not a JSON object with the
            `required` keys (those the script reports), if the saved model is missing or is not the one the results
            describe, or if `--overwrite_output_dir` would delete the checkpoint that `--resume_from_checkpoint`
            names.
    """
    output_dir = training_args.output_dir
    path = os.path.join(output_dir, results_file)
    if getattr(training_args, "overwrite_output_dir", False):
        resume = training_args.resume_from_checkpoint
        if resume is not None and is_inside(resume, output_dir):
            argument_error(f"--overwrite_output_dir deletes the checkpoints of {output_dir}, and "
                           f"--resume_from_checkpoint {resume} is one of them: pass only one of the two")
        if training_args.process_index == 0:
            start_over(output_dir, results_file)
        return None
    results = read_results(path, required)
    if results is None:
        return None
    record = results.get(SAVED_MODEL_KEY)
    problem = saved_model_problem(output_dir, record)
    if problem is not None:
        argument_error(f"{path} describes a finished run, but {problem}: delete {results_file} to resume that run "
                       "from its last checkpoint, or pass --overwrite_output_dir to start over")
    if isinstance(record, dict) and record.get("stopped_short") and budget_allows_more(training_args, record):
        say(training_args, f"{output_dir} holds a run that stopped short at step {record.get('global_step')} "
                           f"(epoch {float(record.get('epoch') or 0):g}); this budget is larger: training further")
        if training_args.process_index == 0:
            os.remove(path)  # stale from here on; the run writes its new results when it ends
        return None
    return results


def is_inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies under it."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def start_over(output_dir: str, results_file: str) -> None:
    """Deletes what an earlier run in `output_dir` left to resume or to report: its `checkpoint-*` folders, its
    `results_file` and the Trainer's results (`TRAINER_RESULTS_FILES`). The saved model stays until the new run
    saves its own: without results it is never reported as a finished run."""
    if not os.path.isdir(output_dir):
        return
    for name in os.listdir(output_dir):
        path = os.path.join(output_dir, name)
        if name.startswith(f"{PREFIX_CHECKPOINT_DIR}-") and os.path.isdir(path):
            shutil.rmtree(path)
    for name in (results_file, *TRAINER_RESULTS_FILES):
        if os.path.isfile(os.path.join(output_dir, name)):
            os.remove(os.path.join(output_dir, name))


def write_results(trainer, results_file: str, results: dict, stopped_short: bool = False) -> dict:
    """
    Writes a run's `results_file` in `output_dir` (main process): the last file a run writes, once its model is saved
    there, and atomically, so that a results file always means a finished run. It adds `saved_model`: the saved
    weights' sha256 (checked before a rerun reports the run as finished), the step and epoch the run ended at, and
    whether it `stopped_short` of its goal (then a rerun with a larger budget trains further). Every secret setting
    (`run_info.is_secret_name`) is redacted.

    Returns:
        The results as written (on other processes, `results` as given).

    Raises:
        OSError: if the saved model cannot be read or the file cannot be written.
    """
    if not trainer.is_world_process_zero():
        return results
    output_dir = trainer.args.output_dir
    record = {**saved_model_record(output_dir), "global_step": trainer.state.global_step,
              "epoch": trainer.state.epoch, "stopped_short": bool(stopped_short)}
    results = redact_settings({**results, SAVED_MODEL_KEY: record})
    write_json_atomic(os.path.join(output_dir, results_file), results, indent=2)
    return results


def format_logs(logs: dict) -> str:
    """`step 96 | loss 1.234 | eval_exact_match 0.8731`: numbers printed as numbers, in a line."""
    parts = []
    for key, value in logs.items():
        if key == "total_flos":
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " | ".join(parts)


class TrainingProgressCallback(ProgressCallback):
    """
    The Trainer's progress bar, honest about runs that stop early: with `stops_early` the bar has no total (so no
    remaining-time estimate from a step budget the run will not use) and states the budget as "at most"; it shows
    instruction exact match as it climbs. Logs print as one line of numbers.
    """

    def __init__(self, stops_early: bool = False, metric: str = "eval_exact_match"):
        super().__init__()
        self.stops_early = stops_early
        self.metric = metric

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            if self.stops_early:
                self.training_bar = tqdm(
                    initial=state.global_step, unit="step", dynamic_ncols=True,
                    desc=f"training (until 100% exact match, at most {state.max_steps} steps)",
                )
            else:
                self.training_bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step",
                                         dynamic_ncols=True)
        self.current_step = state.global_step

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        super().on_evaluate(args, state, control, **kwargs)
        if state.is_world_process_zero and self.training_bar is not None and metrics and self.metric in metrics:
            self.training_bar.set_postfix_str(f"exact match {100 * metrics[self.metric]:.2f}%")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None:
            self.training_bar.write(format_logs({"step": state.global_step, **(logs or {})}))


def use_progress_callback(trainer, stops_early: bool = False) -> None:
    """Swaps the Trainer's progress bar for `TrainingProgressCallback` (when the bar is on)."""
    if trainer.args.disable_tqdm:
        return
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(TrainingProgressCallback(stops_early=stops_early))
