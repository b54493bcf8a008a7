"""Checkpoints that are complete Hub repositories, and the one way the example scripts save and push them.

Every folder a script writes (the final `output_dir`, each `checkpoint-N`, and what `--push_to_hub` uploads) holds
safetensors weights, the tokenizer, `config.json` (with `auto_map` and, for a Synthesizer, `custom_pipelines`), the
code the model and the pipeline need, and a model card (README.md) whose code runs as written against that folder.

The weights, config, code files and `custom_pipelines` come from `save_pretrained` (see
`SynthesizerPreTrainedModel.save_pretrained`), the tokenizer from the Trainer's `processing_class`; this module
adds the card to every save and makes `Trainer.push_to_hub` upload the card instead of its fine-tuning template.
"""

import logging
import os
import shutil

from transformers import Trainer

from .model_card import ModelCardSpec


logger = logging.getLogger(__name__)

CARD_FILE = "README.md"


class HubReadyTrainer(Trainer):
    """
    A `Trainer` whose every save is a complete Hub repository with its model card.

    Args:
        card (`ModelCardSpec`): the run's card; fill `card.results` before the final `save_and_push`.
        *args, **kwargs: those of `Trainer`.
    """

    def __init__(self, *args, card: ModelCardSpec, **kwargs):
        super().__init__(*args, **kwargs)
        self.card = card

    def card_repo_id(self, folder: str) -> str:
        """The repository a card in `folder` names: `--hub_model_id` for the output folder when pushing there, else
        the folder's own path (as given on the command line), so that its code runs where it lies."""
        if self.args.hub_model_id and os.path.abspath(folder) == os.path.abspath(self.args.output_dir):
            return self.args.hub_model_id
        return folder

    def write_card(self, folder: str) -> None:
        self.card.build(self.card_repo_id(folder)).save(os.path.join(folder, CARD_FILE))

    def _save(self, output_dir: str | None = None, state_dict=None):
        # Trainer.save_model and every checkpoint-N save come here, on the process that saves.
        super()._save(output_dir, state_dict=state_dict)
        self.write_card(output_dir if output_dir is not None else self.args.output_dir)

    def create_model_card(self, **kwargs):
        """Called by `Trainer.push_to_hub` before it uploads `output_dir`: the run's card, not the fine-tuning one."""
        if self.is_world_process_zero():
            self.write_card(self.args.output_dir)

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        # With --push_to_hub, each save uploads output_dir after copying only the config and weights into it from the
        # checkpoint; the code files must go along, or the pushed repository would not load.
        if self.is_world_process_zero() and self.args.hub_strategy != "end":
            for name in os.listdir(checkpoint_folder):
                if name.endswith(".py"):
                    shutil.copy(os.path.join(checkpoint_folder, name), os.path.join(self.args.output_dir, name))
            self.write_card(self.args.output_dir)
        super()._push_from_checkpoint(checkpoint_folder)


def save_and_push(trainer: HubReadyTrainer, commit_message: str) -> None:
    """Saves the final model, tokenizer, code and card in `output_dir`; with `--push_to_hub`, uploads that folder
    (without its `checkpoint-*`) to `--hub_model_id` through `Trainer.push_to_hub`, the scripts' only push path."""
    trainer.save_model()
    if trainer.args.push_to_hub:
        trainer.push_to_hub(commit_message=commit_message)
        if trainer.is_world_process_zero():
            logger.info("pushed %s to %s", trainer.args.output_dir, trainer.hub_model_id)


__all__ = ["CARD_FILE", "HubReadyTrainer", "save_and_push"]
