# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Synthesizer model: any AutoModel backbone plus three heads that predict a subleq instruction.

Glossary of shapes:
    B: batch size (one row per (instruction number, program description) pair)
    T: sequence length of the tokenized input
    H: hidden size of the backbone
    k: data memory size (`config.data_memory_size`): classes of the A and B heads
    L: maximum program length (`config.max_program_length`): the C head has L + 1 classes, 0 = HALT
"""

import inspect
import os
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES
from transformers.utils import ModelOutput, logging

from .configuration_synthesizer import SynthesizerConfig


logger = logging.get_logger(__name__)

# Model types with a causal / a masked language-model head: which position `pooling="auto"` reads (`is_causal`).
CAUSAL_LM_TYPES = frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
MASKED_LM_TYPES = frozenset(MODEL_FOR_MASKED_LM_MAPPING_NAMES)


@dataclass
class SynthesizerOutput(ModelOutput):
    r"""
    Output of [`SynthesizerForSubleq`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            CE(A) + CE(B) + CE(C), each with `config.label_smoothing` and averaged over the batch.
        a_logits (`torch.FloatTensor` of shape `(batch_size, data_memory_size)`):
            Scores of operand A, the address subtracted.
        b_logits (`torch.FloatTensor` of shape `(batch_size, data_memory_size)`):
            Scores of operand B, the address written.
        c_logits (`torch.FloatTensor` of shape `(batch_size, max_program_length + 1)`):
            Scores of operand C, the branch target; class 0 is HALT.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*):
            The backbone's hidden states, when `output_hidden_states=True`.
        attentions (`tuple(torch.FloatTensor)`, *optional*):
            The backbone's attention weights, when `output_attentions=True`.
    """

    loss: torch.FloatTensor | None = None
    a_logits: torch.FloatTensor | None = None
    b_logits: torch.FloatTensor | None = None
    c_logits: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


def _encoder(backbone: nn.Module) -> nn.Module:
    """The part of `backbone` that reads the input: the encoder of an encoder-decoder model (T5, BART: `AutoModel`
    builds both, and the decoder would need decoder inputs the Synthesizer does not have), else the backbone."""
    if getattr(backbone.config, "is_encoder_decoder", False) and hasattr(backbone, "get_encoder"):
        return backbone.get_encoder()
    return backbone


def is_causal(text_config) -> bool:
    """
    Whether the backbone lets each position see only the positions before it, so that only the last one has read the
    whole input: a decoder (`is_decoder`), or a model type with a causal language-model head and no masked one (GPT-2,
    Llama, Qwen2, Mamba, ...). Encoders (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa-v2, ModernBERT) and the
    encoders of encoder-decoder models (T5, BART) are bidirectional.
    """
    if getattr(text_config, "is_encoder_decoder", False):
        return False
    if getattr(text_config, "is_decoder", False):
        return True
    model_type = text_config.model_type
    return model_type in CAUSAL_LM_TYPES and model_type not in MASKED_LM_TYPES


class SynthesizerPreTrainedModel(PreTrainedModel):
    config: SynthesizerConfig
    config_class = SynthesizerConfig
    base_model_prefix = "backbone"
    main_input_name = "input_ids"
    # The loss is a per-batch mean computed here: the Trainer must not rescale it (its `num_items_in_batch` path).
    accepts_loss_kwargs = False
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    supports_gradient_checkpointing = True

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        """
        [`PreTrainedModel.save_pretrained`], plus what `pipeline(model=<folder or repo>, trust_remote_code=True)`
        needs: `custom_pipelines` in `config.json`, and `pipeline_synthesizer.py` (with the machine it imports) among
        the code files.

        `Trainer` checkpoints, `Trainer.save_model`, `push_to_hub` and `SubleqPipeline.save_pretrained` all save
        through here, so every one of them is a complete Hub repository; otherwise only `pipe.save_pretrained` would
        write the pipeline, and a checkpoint's own card would fail with "Unknown task subleq-execution".
        """
        # Imported here, not at the top: the pipeline is not needed to build or run the model. transformers still
        # finds these imports (it reads `from .x import` lines, indented or not) and copies the files into
        # checkpoints. transformers 4.x copies a local folder's code files only one relative import deep from this
        # file, so every file the checkpoint's code uses is named here (the pipeline's own imports are not followed).
        from .execution import run_programs  # noqa: F401
        from .known_programs import RunRefused  # noqa: F401
        from .pipeline_synthesizer import SUBLEQ_TASK, SubleqPipeline
        from .subleq import run_subleq  # noqa: F401

        self.config.custom_pipelines = {
            SUBLEQ_TASK: {
                "impl": f"{SubleqPipeline.__module__.rsplit('.', 1)[-1]}.{SubleqPipeline.__name__}",
                # Resolved with `getattr(transformers, name)` at load time: a transformers class, never ours.
                "pt": ["AutoModel"],
                "type": "text",
            }
        }
        super().save_pretrained(save_directory, *args, **kwargs)


class SynthesizerForSubleq(SynthesizerPreTrainedModel):
    """
    The Synthesizer of "Rethinking Neural Computation": reads `(C_t, program description)` and predicts the operands
    `(A, B, C)` of the subleq instruction number C_t of the described program.

    The network never sees data memory: executing a program is the job of the subleq machine
    (`modeling_synthesizer.subleq`) and of the `"subleq-execution"` pipeline.
    """

    def __init__(self, config: SynthesizerConfig):
        # Fields assigned after the config was built are checked only here, before k and L size the heads.
        config.validate()
        super().__init__(config)
        self.backbone = _encoder(AutoModel.from_config(config.text_config))
        # Backbones differ in the tensors and flags they take (DistilBERT has no token types, Mamba no attentions in
        # transformers 4.x): pass only those they name, or any flag to a forward that takes **kwargs.
        parameters = inspect.signature(self.backbone.forward).parameters.values()
        self._backbone_inputs = {parameter.name for parameter in parameters}
        self._backbone_takes_kwargs = any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters)
        # What pooling="auto" reads when the backbone returns no pooler_output.
        self._auto_pooling = "last" if is_causal(config.text_config) else "first"
        hidden_size = config.text_config.hidden_size
        self.dropout = nn.Dropout(config.head_dropout)
        # The authors use one linear layer of width 2k + L + 1 split three ways; three layers are the same thing.
        self.a_head = nn.Linear(hidden_size, config.data_memory_size)
        self.b_head = nn.Linear(hidden_size, config.data_memory_size)
        self.c_head = nn.Linear(hidden_size, config.max_program_length + 1)

        # Initialize weights and apply final processing
        self.post_init()

    @classmethod
    def from_backbone(cls, backbone: str | PreTrainedModel, **config_kwargs) -> "SynthesizerForSubleq":
        """
        Wraps an existing (for example pretrained) backbone with new, randomly initialized heads.

        Args:
            backbone (`str` or `PreTrainedModel`):
                A model id or local folder that `AutoModel.from_pretrained` loads, or a loaded backbone model.
            **config_kwargs:
                Other [`SynthesizerConfig`] fields, e.g. `data_memory_size=16, max_program_length=32`.

        Returns:
            `SynthesizerForSubleq` whose backbone weights equal the given backbone's.

        Raises:
            OSError: if `backbone` is a name that can be neither found locally nor downloaded.
            ValueError: if a config field is invalid.
        """
        if isinstance(backbone, str):
            backbone = AutoModel.from_pretrained(backbone)
        config = SynthesizerConfig(text_config=backbone.config.to_dict(), **config_kwargs)
        model = cls(config)
        model.backbone.load_state_dict(_encoder(backbone).state_dict())
        return model

    def get_input_embeddings(self) -> nn.Module:
        return self.backbone.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module):
        self.backbone.set_input_embeddings(value)

    def _pool(self, backbone_outputs, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """One vector per row, `[B, H]`, as `config.pooling` says."""
        pooling = self.config.pooling
        pooler_output = getattr(backbone_outputs, "pooler_output", None)
        if pooling == "pooler" or (pooling == "auto" and pooler_output is not None):
            if pooler_output is None:
                raise ValueError(
                    f"pooling='pooler' but the {self.config.text_config.model_type} backbone returns no "
                    "pooler_output; use pooling='auto', 'first', 'last' or 'mean'"
                )
            return pooler_output
        if pooling == "auto":
            # No pooler: [CLS]/the first position of a bidirectional encoder, the last one of a causal model.
            pooling = self._auto_pooling
        hidden = backbone_outputs.last_hidden_state  # [B, T, H]
        if pooling == "first":
            return hidden[:, 0]
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
        if pooling == "mean":
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        # "last": the highest position that is not padding, so that left and right padding both work.
        positions = torch.arange(hidden.shape[1], device=hidden.device)  # [T]
        last = (attention_mask.bool() * positions).argmax(-1)  # [B]
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]  # [B, H]

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> SynthesizerOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                The tokenized `(C_t, description)` input, built with `config.input_template`.
            labels (`torch.LongTensor` of shape `(batch_size, 3)`, *optional*):
                The true operands `(A, B, C)`: A and B in `[0, data_memory_size)`, C in `[0, max_program_length]`.

        Raises:
            ValueError: if `labels` is not of shape `(batch_size, 3)`, or an operand is out of its head's range.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        tensor_inputs = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
            "position_ids": position_ids,
            "inputs_embeds": inputs_embeds,
        }
        backbone_inputs = {
            name: value for name, value in tensor_inputs.items() if value is not None and name in self._backbone_inputs
        }
        if "use_cache" in self._backbone_inputs:
            # A key/value cache is for generation; the Synthesizer reads each input once.
            backbone_inputs["use_cache"] = False
        flags = {"output_hidden_states": output_hidden_states, "output_attentions": output_attentions,
                 "return_dict": True}
        for name, value in flags.items():
            if value is not None and (name in self._backbone_inputs or self._backbone_takes_kwargs):
                backbone_inputs[name] = value
        backbone_outputs = self.backbone(**backbone_inputs)

        pooled = self.dropout(self._pool(backbone_outputs, attention_mask))  # [B, H]
        a_logits = self.a_head(pooled)  # [B, k]
        b_logits = self.b_head(pooled)  # [B, k]
        c_logits = self.c_head(pooled)  # [B, L + 1]

        loss = None
        if labels is not None:
            self._check_labels(labels)
            loss_fct = nn.CrossEntropyLoss(label_smoothing=self.config.label_smoothing)
            loss = (
                loss_fct(a_logits, labels[:, 0]) + loss_fct(b_logits, labels[:, 1]) + loss_fct(c_logits, labels[:, 2])
            )

        output = SynthesizerOutput(
            loss=loss,
            a_logits=a_logits,
            b_logits=b_logits,
            c_logits=c_logits,
            hidden_states=getattr(backbone_outputs, "hidden_states", None),
            attentions=getattr(backbone_outputs, "attentions", None),
        )
        return output if return_dict else output.to_tuple()

    def _check_labels(self, labels: torch.Tensor):
        # Cross-entropy with an out-of-range target fails deep inside torch with an index error (or a device
        # assert on GPU); name the operand instead.
        if labels.dim() != 2 or labels.shape[1] != 3:
            raise ValueError(f"labels must have shape (batch_size, 3) holding (A, B, C), got {tuple(labels.shape)}")
        limits = (self.config.data_memory_size, self.config.data_memory_size, self.config.max_program_length + 1)
        for column, (operand, limit) in enumerate(zip("ABC", limits)):
            values = labels[:, column]
            bad = (values < 0) | (values >= limit)
            if bad.any():
                row = int(bad.nonzero()[0, 0])
                raise ValueError(
                    f"labels[{row}]: operand {operand} = {int(values[row])} is out of range [0, {limit})"
                )

    @torch.no_grad()
    def predict_instructions(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
    ) -> torch.LongTensor:
        """The arg-max operands, a LongTensor of shape `(batch_size, 3)` holding `(A, B, C)` per row."""
        outputs = self(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return argmax_operands(outputs.a_logits, outputs.b_logits, outputs.c_logits)


def argmax_operands(
    a_logits: torch.Tensor, b_logits: torch.Tensor, c_logits: torch.Tensor
) -> torch.LongTensor:
    """
    The arg-max operands of the three heads' logits (`[B, k]`, `[B, k]`, `[B, L + 1]`), a LongTensor of shape
    `(batch_size, 3)` holding `(A, B, C)` per row: what `predict_instructions` returns, and what the example scripts'
    evaluation keeps of the logits.
    """
    return torch.stack([a_logits.argmax(-1), b_logits.argmax(-1), c_logits.argmax(-1)], dim=-1)  # [B, 3]


__all__ = ["SynthesizerOutput", "SynthesizerPreTrainedModel", "SynthesizerForSubleq", "argmax_operands"]
