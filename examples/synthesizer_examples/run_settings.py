"""What a run in `--output_dir` was made with, so that a rerun with other settings is refused instead of being
reported as the earlier run (finished) or silently resumed with new settings (interrupted)."""

import dataclasses
import json
import os

from transformers import TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .run_info import redact_settings, write_json_atomic


RUN_SETTINGS_FILE = "run_settings.json"
# Of `TrainingArguments`, only the seed decides what a run learns and cannot change on a resume. Epochs, learning rate
# and batch may: raising the epochs of a run that stopped short is the usual way to train it further.
TRAINING_SETTINGS = ("seed",)


def settings_of(parsed: tuple) -> dict:
    """The settings that define a run: every field of the script's own argument dataclasses (model, data, programs)
    and `TRAINING_SETTINGS` of its `TrainingArguments`, as JSON values, secrets redacted
    (`run_info.redact_settings`)."""
    settings = {}
    for args in parsed:
        if isinstance(args, TrainingArguments):
            settings.update({name: getattr(args, name) for name in TRAINING_SETTINGS})
        else:
            settings.update(dataclasses.asdict(args))
    return redact_settings(json.loads(json.dumps(settings, default=str)))


def default_settings(parsed: tuple) -> dict:
    """The defaults of the script's own argument fields, as JSON values: what a run made before a field existed
    used."""
    defaults = {}
    for args in parsed:
        if isinstance(args, TrainingArguments):
            continue
        for field in dataclasses.fields(args):
            if field.default is not dataclasses.MISSING:
                defaults[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                defaults[field.name] = field.default_factory()
    return json.loads(json.dumps(defaults, default=str))


def holds_a_run(output_dir: str) -> bool:
    """Whether `output_dir` has something a rerun would use: a saved model or a checkpoint to resume from."""
    if not os.path.isdir(output_dir):
        return False
    return os.path.isfile(os.path.join(output_dir, "model.safetensors")) or any(
        name.startswith(f"{PREFIX_CHECKPOINT_DIR}-") for name in os.listdir(output_dir))


def settings_conflict(parsed: tuple, training_args: TrainingArguments) -> str | None:
    """
    Why this run cannot go on in `--output_dir`, or None: the folder holds a run (finished, or a checkpoint to resume)
    whose `run_settings.json` differs from these settings, or whose `run_settings.json` cannot be read (a JSON object
    is expected): without it the settings could not be compared. Without `--overwrite_output_dir` that run would be
    reported as finished, or resumed with the new settings. Folders without the file (older runs) are not checked.
    """
    path = os.path.join(training_args.output_dir, RUN_SETTINGS_FILE)
    if getattr(training_args, "overwrite_output_dir", False) or not holds_a_run(training_args.output_dir):
        return None
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            earlier = json.load(f)
    except (OSError, ValueError) as error:  # ValueError: JSONDecodeError, UnicodeDecodeError
        earlier, reason = None, " ".join(str(error).split())[:200] or type(error).__name__
    else:
        reason = f"a JSON {type(earlier).__name__}, not an object"
    if not isinstance(earlier, dict):
        return (f"{path} cannot be read ({reason}), so the settings of the run in --output_dir "
                f"{training_args.output_dir} cannot be compared with these; pass --overwrite_output_dir to start "
                "over there, or choose another --output_dir")
    current = settings_of(parsed)
    # A setting the earlier file lacks was added to the script since: that run used its default.
    earlier = {**{name: value for name, value in default_settings(parsed).items() if name in current}, **earlier}
    changed = [name for name in sorted(set(earlier) | set(current)) if earlier.get(name) != current.get(name)]
    if not changed:
        return None
    shown = ", ".join(f"{name} {earlier.get(name)!r} there, {current.get(name)!r} here" for name in changed[:4])
    more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
    return (f"--output_dir {training_args.output_dir} holds a run made with other settings ({shown}{more}); pass "
            "--overwrite_output_dir to start over there, or choose another --output_dir")


def write_run_settings(settings: dict, training_args: TrainingArguments) -> None:
    """Records a run's `settings` (`settings_of(args)` taken right after parsing, before the script fills in defaults
    such as a seed or a batch size) in `--output_dir` (main process), as it starts training."""
    if training_args.process_index != 0:
        return
    os.makedirs(training_args.output_dir, exist_ok=True)
    # Atomically: a crash while writing must not leave a file that no rerun can compare with.
    write_json_atomic(os.path.join(training_args.output_dir, RUN_SETTINGS_FILE), settings, indent=2)
