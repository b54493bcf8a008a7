# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""Synthesizer configuration."""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec


# The backbone of the paper's experiments (the authors' code): an untrained BERT, 4 layers x 256 hidden,
# 4 heads, intermediate 1024, with bert-base-uncased's vocabulary size.
PAPER_BACKBONE = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024}

POOLING_MODES = ("auto", "pooler", "first", "last", "mean")


@strict
class SynthesizerConfig(PreTrainedConfig):
    r"""
    Configuration of a [`SynthesizerForSubleq`]: a backbone that reads `(C_t, program description)` and three
    classification heads that predict the operands `(A, B, C)` of a subleq instruction.

    Args:
        text_config (`PreTrainedConfig` or `dict`, *optional*):
            The backbone's config: any config `AutoModel` can build, or a dict with a `model_type` key. Defaults to
            the paper's 4 x 256 BERT. (Named `text_config` so that `get_text_config()` and
            `resize_token_embeddings` find it.)
        data_memory_size (`int`, *optional*, defaults to 256):
            k, the number of data-memory cells. The A and B heads have k classes.
        max_program_length (`int`, *optional*, defaults to 256):
            L, the number of instructions a program may have. The C head has L + 1 classes: 0 is HALT.
        label_smoothing (`float`, *optional*, defaults to 0.05):
            Label smoothing of each head's cross-entropy (the authors' value).
        head_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the pooled representation before the heads. The authors' head is one linear layer with no
            dropout of its own.
        pooling (`str`, *optional*, defaults to `"auto"`):
            How one vector is taken from the backbone: `"pooler"` (the backbone's `pooler_output`, as the authors
            did with BERT), `"first"` (the first token), `"last"` (the last non-padding token, the only one a
            causal backbone such as GPT-2 lets see the whole input), `"mean"` (mean over non-padding tokens), or
            `"auto"`: `pooler_output` when the backbone returns one, else the last non-padding token.
        memory_image (`list[int]`, *optional*):
            The data memory a program runs on when the caller gives none (length `data_memory_size`). `None`
            means all zeros.
        output_cell (`int`, *optional*):
            The data-memory address whose final value is a program's output (read by the pipeline).
        input_template (`str`, *optional*, defaults to `"{instruction} {description}"`):
            How the network's input text is built from the instruction number C_t and the program description.
        add_special_tokens (`bool`, *optional*, defaults to `True`):
            Whether the tokenizer adds its special tokens ([CLS]/[SEP]) around the input. Experiment 1 of the paper
            feeds just `[C_t token, program token]`, without them.
        known_programs (`list[dict]`, *optional*):
            The programs the network was trained on, so that the pipeline refuses descriptions it does not know.
            One dict per program: `name` (str), `descriptions` (the trained descriptions, the first one canonical)
            and optionally `instructions` (its `[A, B, C]` for C_t = 1, 2, ...; needed to match an unseen phrasing
            by likelihood). `None` (soft-instruction and soft-imperative checkpoints) means any text is a program.
        min_margin (`float`, *optional*):
            When set, a description that is not one of `known_programs`' is matched to the known program with the
            highest log-likelihood under the network, and runs only when that program leads the next by at least
            this many nats; when `None`, only known descriptions run.

    `id2label` (from `PreTrainedConfig`) names output values: `{0: "negative", 1: "positive"}` makes the
    pipeline report `label`. Unlike other configs, it is empty unless set, because most programs' outputs are
    plain numbers.

    Examples:

    ```python
    >>> from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq
    >>> config = SynthesizerConfig(data_memory_size=8, max_program_length=4)
    >>> model = SynthesizerForSubleq(config)
    ```
    """

    model_type = "synthesizer"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="bert", init_kwargs=PAPER_BACKBONE),
    }

    text_config: PreTrainedConfig | dict | None = None
    data_memory_size: int = 256
    max_program_length: int = 256
    label_smoothing: float | int = 0.05
    head_dropout: float | int = 0.0
    pooling: str = "auto"
    memory_image: list[int] | None = None
    output_cell: int | None = None
    input_template: str = "{instruction} {description}"
    add_special_tokens: bool = True
    known_programs: list[dict] | None = None
    min_margin: float | int | None = None

    def __post_init__(self, **kwargs):
        # PreTrainedConfig invents two labels (LABEL_0, LABEL_1) when none are given; a Synthesizer has no
        # classification labels unless a task names its output values.
        if self.id2label is None and kwargs.get("num_labels") is None:
            kwargs["num_labels"] = 0
        super().__post_init__(**kwargs)

    def format_input(self, instruction: int, description: str) -> str:
        """The network's input text for instruction number `instruction` (C_t) of the described program."""
        return self.input_template.format(instruction=instruction, description=description)

    def validate_memory_layout(self):
        if self.data_memory_size < 1:
            raise ValueError(f"data_memory_size must be >= 1, got {self.data_memory_size}")
        if self.max_program_length < 1:
            raise ValueError(f"max_program_length must be >= 1, got {self.max_program_length}")
        if self.memory_image is not None and len(self.memory_image) != self.data_memory_size:
            raise ValueError(
                f"memory_image has {len(self.memory_image)} cells but data_memory_size is {self.data_memory_size}"
            )
        if self.output_cell is not None and not 0 <= self.output_cell < self.data_memory_size:
            raise ValueError(f"output_cell = {self.output_cell} is out of range [0, {self.data_memory_size})")

    def validate_known_programs(self):
        if self.min_margin is not None and not self.min_margin >= 0:
            raise ValueError(f"min_margin must be >= 0 nats, got {self.min_margin}")
        if self.known_programs is None:
            return
        if not isinstance(self.known_programs, list):
            raise TypeError(f"known_programs must be a list of dicts, got {type(self.known_programs).__name__}")
        names, descriptions = set(), set()
        for index, program in enumerate(self.known_programs):
            where = f"known_programs[{index}]"
            if not isinstance(program, dict):
                raise TypeError(f"{where} must be a dict, got {type(program).__name__}")
            name = program.get("name")
            if not isinstance(name, str) or not name or name in names:
                raise ValueError(f"{where}['name'] must be a non-empty string not used before, got {name!r}")
            names.add(name)
            texts = program.get("descriptions")
            if not isinstance(texts, list) or not texts:
                raise ValueError(f"{where}['descriptions'] must be a non-empty list of strings, got {texts!r}")
            for text in texts:
                if not isinstance(text, str) or not text.strip() or text in descriptions:
                    raise ValueError(f"{where}['descriptions'] has an empty, non-string or repeated description: "
                                     f"{text!r}")
                descriptions.add(text)
            if program.get("instructions") is not None:
                self._check_instructions(program["instructions"], where)

    def _check_instructions(self, instructions, where):
        if not isinstance(instructions, list) or not 1 <= len(instructions) <= self.max_program_length:
            raise ValueError(f"{where}['instructions'] must be a list of 1 to L = {self.max_program_length} "
                             "[A, B, C] triples")
        limits = (self.data_memory_size, self.data_memory_size, self.max_program_length + 1)
        for number, instruction in enumerate(instructions, start=1):
            if (not isinstance(instruction, (list, tuple)) or len(instruction) != 3
                    or not all(type(operand) is int and 0 <= operand < limit
                               for operand, limit in zip(instruction, limits))):
                raise ValueError(f"{where}['instructions'] instruction {number} must be [A, B, C] with A, B in "
                                 f"[0, {self.data_memory_size}) and C in [0, {self.max_program_length}], got "
                                 f"{instruction!r}")

    def validate_training_settings(self):
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.head_dropout < 1:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {self.pooling!r}")

    def validate_input_template(self):
        for field_name in ("{instruction}", "{description}"):
            if field_name not in self.input_template:
                raise ValueError(f"input_template must contain {field_name}, got {self.input_template!r}")


__all__ = ["SynthesizerConfig"]
