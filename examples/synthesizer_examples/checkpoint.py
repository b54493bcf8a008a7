"""Checkpoints that are complete Hub repositories, and the one way the example scripts save and push them.

Every folder a script writes (the final `output_dir`, each `checkpoint-N`, and what `--push_to_hub` uploads) holds
safetensors weights, the tokenizer, `config.json` (with `auto_map` and, for a Synthesizer, `custom_pipelines`), the
code the model and the pipeline need, and a model card (README.md) whose code runs as written against that folder.

The weights, config, code files and `custom_pipelines` come from `save_pretrained` (see
`SynthesizerPreTrainedModel.save_pretrained`), the tokenizer from the Trainer's `processing_class`; this module
adds the card to every save (`Trainer.save_model`, through which the Trainer saves each checkpoint too), makes
`Trainer.push_to_hub` upload the card instead of its fine-tuning template, and has each checkpoint's push carry the
code and the card (`on_push_begin`), all through the Trainer's public methods and callbacks.
"""

import hashlib
import json
import logging
import os
import pickle
import re
import shutil

import torch
from safetensors.torch import load_file
from transformers import Trainer, TrainerCallback
from transformers.trainer_pt_utils import safe_globals
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from transformers.utils import SAFE_WEIGHTS_NAME

from .model_card import ModelCardSpec


logger = logging.getLogger(__name__)

CARD_FILE = "README.md"


class HubReadyTrainer(Trainer):
    """
    A `Trainer` whose every save is a complete Hub repository with its model card.

    Args:
        card (`ModelCardSpec`): the run's card; fill `card.results` before the final `save_unpushed`.
        *args, **kwargs: those of `Trainer`.
    """

    def __init__(self, *args, card: ModelCardSpec, **kwargs):
        super().__init__(*args, **kwargs)
        self.card = card
        self.add_callback(_CheckpointPushCarriesCodeAndCard(self))

    def card_repo_id(self, folder: str) -> str:
        """The repository a card in `folder` names: `--hub_model_id` for the output folder when pushing there, else
        the folder's own path (as given on the command line), so that its code runs where it lies."""
        if self.args.hub_model_id and os.path.abspath(folder) == os.path.abspath(self.args.output_dir):
            return self.args.hub_model_id
        return folder

    def write_card(self, folder: str) -> None:
        self.card.build(self.card_repo_id(folder)).save(os.path.join(folder, CARD_FILE))

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        # The final save and every checkpoint-N save (the Trainer saves checkpoints through this method).
        super().save_model(output_dir, _internal_call=_internal_call)
        if self.args.should_save:
            self.write_card(output_dir if output_dir is not None else self.args.output_dir)

    def create_model_card(self, **kwargs):
        """Called by `Trainer.push_to_hub` before it uploads `output_dir`: the run's card, not the fine-tuning one."""
        if self.is_world_process_zero():
            self.write_card(self.args.output_dir)


class _CheckpointPushCarriesCodeAndCard(TrainerCallback):
    """With `--push_to_hub`, each checkpoint save uploads `output_dir` after copying only the config, weights and
    tokenizer into it from the checkpoint: the code files and the card go along too, or the pushed repository would
    not load."""

    def __init__(self, trainer: HubReadyTrainer):
        self.trainer = trainer

    def on_push_begin(self, args, state, control, **kwargs):
        checkpoint = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        # Trainer.push_to_hub (the final push) starts here too; it saves the whole folder itself.
        if not state.is_world_process_zero or args.hub_strategy == "end" or not os.path.isdir(checkpoint):
            return
        for name in os.listdir(checkpoint):
            if name.endswith(".py"):
                shutil.copy(os.path.join(checkpoint, name), os.path.join(args.output_dir, name))
        self.trainer.write_card(args.output_dir)


def save_unpushed(trainer: HubReadyTrainer) -> None:
    """Saves the final model, tokenizer, code and card in `output_dir` without uploading them: with `--push_to_hub`,
    `Trainer.save_model` would also push the folder unless told that the call is internal, and the scripts push their
    final folder once, after it has been evaluated (`push_saved`)."""
    trainer.save_model(_internal_call=True)


def push_saved(trainer: HubReadyTrainer, commit_message: str) -> None:
    """With `--push_to_hub`, uploads `output_dir` (without its `checkpoint-*`) once to `--hub_model_id` through
    `Trainer.push_to_hub`, the scripts' only push path for the final model. The scripts call it last, once the folder
    holds the saved model and the results that describe it (`Trainer.push_to_hub` saves the same model again)."""
    if trainer.args.push_to_hub:
        trainer.push_to_hub(commit_message=commit_message)
        if trainer.is_world_process_zero():
            logger.info("pushed %s to %s", trainer.args.output_dir, trainer.hub_model_id)


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file that cannot be read back; `.path` is the file."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"corrupt checkpoint file {path} ({reason})")
        self.path = path


def _load_torch_state(path: str) -> None:
    # As the Trainer loads its optimizer, scheduler, scaler and RNG states on resume: `weights_only=True`, with numpy's
    # array classes allowed (RNG states hold numpy arrays). Tensors and plain containers only: a pickle that would
    # build any other object, or call anything, is refused (UnpicklingError) before it runs.
    try:
        with safe_globals():
            torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises turning weights_only off: the one thing never to do with such a file.
        raise ValueError("it holds objects other than tensors, which the Trainer does not load (weights_only=True); "
                         "nothing in it was run") from None


def check_checkpoint(folder: str) -> None:
    """
    Reads back every file the Trainer resumes from, without running any of them: the safetensors weights, the torch
    states (optimizer, scheduler, RNG: `*.pt`/`*.pth`, loaded with `weights_only=True` as the Trainer loads them),
    and every JSON file (the trainer state and the config: a run killed while saving leaves a truncated one, which
    the Trainer would report without its name). `training_args.bin`, a pickle that nothing reads on resume, is never
    opened.

    Raises:
        CorruptCheckpointError: naming the first file that does not load that way (a truncated file, or one that
            holds anything but tensors and plain containers), or a missing `trainer_state.json`.
    """
    state = os.path.join(folder, "trainer_state.json")
    if not os.path.isfile(state):
        raise CorruptCheckpointError(state, "missing")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        try:
            if name.endswith(".safetensors"):
                load_file(path)
            elif name.endswith((".pt", ".pth")):
                _load_torch_state(path)
            elif name.endswith(".json"):
                with open(path) as f:
                    json.load(f)
        except Exception as error:  # each loader raises its own type for a truncated or unsafe file
            raise CorruptCheckpointError(path, " ".join(str(error).split())[:200] or type(error).__name__) from error


def checkpoints_newest_first(output_dir: str) -> list[str]:
    """The `checkpoint-N` folders of `output_dir`, highest N first."""
    pattern = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
    found = [(int(match.group(1)), name) for name in os.listdir(output_dir)
             if (match := pattern.match(name)) and os.path.isdir(os.path.join(output_dir, name))]
    return [os.path.join(output_dir, name) for _, name in sorted(found, reverse=True)]


def latest_intact_checkpoint(output_dir: str) -> tuple[str | None, list[CorruptCheckpointError]]:
    """The newest checkpoint of `output_dir` whose files all load (or None), and the errors of the newer, corrupt
    ones."""
    corrupt = []
    for folder in checkpoints_newest_first(output_dir):
        try:
            check_checkpoint(folder)
        except CorruptCheckpointError as error:
            corrupt.append(error)
            continue
        return folder, corrupt
    return None, corrupt


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def saved_model_record(folder: str) -> dict:
    """What a results file records of the model saved in `folder`, so that a rerun can check that the model there is
    still the one the results describe: `{"file": "model.safetensors", "sha256": ...}`."""
    return {"file": SAFE_WEIGHTS_NAME, "sha256": file_sha256(os.path.join(folder, SAFE_WEIGHTS_NAME))}


def saved_model_problem(folder: str, record: dict | None) -> str | None:
    """
    Why the model saved in `folder` is not the one a results file describes (`record`, from `saved_model_record`),
    or None when it is: the weights file is missing, does not load as safetensors, or has other bytes. Without a
    `record` (results written before models were recorded), only that the weights load is checked.
    """
    path = os.path.join(folder, SAFE_WEIGHTS_NAME)
    if not os.path.isfile(path):
        return f"{path} is missing"
    if record is not None:
        numbers = [record.get(name) for name in ("global_step", "epoch")] if isinstance(record, dict) else []
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str) or any(
                isinstance(value, bool) or not isinstance(value, int | float | None) for value in numbers):
            return f"the record of its model is malformed ({str(record)[:200]})"
        if file_sha256(path) != record["sha256"]:
            return f"{path} is not the model the results describe (its sha256 differs from theirs)"
        return None
    try:
        load_file(path)
    except Exception as error:  # safetensors raises its own type for a truncated file
        return f"{path} does not load ({' '.join(str(error).split())[:200] or type(error).__name__})"
    return None
