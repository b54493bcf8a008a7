# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""Synthesizer configuration."""

import copy
import itertools
import math
import string
import weakref

import transformers
from transformers import AutoConfig


try:
    from transformers import PreTrainedConfig
except ImportError:  # transformers 4.x names it PretrainedConfig (5.x keeps that name as an alias)
    from transformers import PretrainedConfig as PreTrainedConfig

from .subleq import MAX_DATA_MEMORY_SIZE, MAX_PROGRAM_LENGTH, validate_memory


# The model and the pipeline read the backbone's config with `get_text_config()`, which older releases lack: stop
# here with the version to install rather than with an AttributeError deep inside.
if not hasattr(PreTrainedConfig, "get_text_config"):
    raise ImportError(f"the Synthesizer's code needs transformers 4.50 or newer, found {transformers.__version__}: "
                      "pip install -U 'transformers>=4.50'")


# The backbone of the paper's experiments (the authors' code): an untrained BERT, 4 layers x 256 hidden,
# 4 heads, intermediate 1024, with bert-base-uncased's vocabulary size.
PAPER_BACKBONE = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024}

POOLING_MODES = ("auto", "pooler", "first", "last", "mean")

# The fields a run reads (the pipeline, the model's pooling and the known-program index), each with the types it may
# hold: `check_runnable` re-validates them whenever one changed since it last did.
RUN_FIELDS = {
    "data_memory_size": (int,),
    "max_program_length": (int,),
    "memory_image": (list, type(None)),
    "output_cell": (int, type(None)),
    "input_template": (str,),
    "add_special_tokens": (bool,),
    "pooling": (str,),
    "known_programs": (list, type(None)),
    "min_margin": (int, float, type(None)),
    "min_match_confidence": (int, float, type(None)),
}

# Every field with the types it may hold, checked at construction, at assignment and by `validate()` (bools are not
# numbers here).
FIELD_TYPES = {
    "text_config": (PreTrainedConfig,),
    **RUN_FIELDS,
    "label_smoothing": (int, float),
    "head_dropout": (int, float),
}

# The keys of a `known_programs` entry: `name` and `descriptions`, then the optional ones.
KNOWN_PROGRAM_KEYS = ("name", "descriptions", "instructions", "memory", "inputs", "outputs")

# id(config) -> (its run fields as `check_runnable` last validated them (a deep copy), their version), dropped with
# the config. Versions are drawn from one counter, so two configs never share one.
_VALIDATED_RUN_FIELDS: dict[int, tuple[tuple, int]] = {}
_VERSIONS = itertools.count(1)

# How the network's input is built from C_t and a description unless a config says otherwise (`input_template`).
DEFAULT_INPUT_TEMPLATE = "{instruction} {description}"

# The only fields `input_template` may name, each plain (no attribute, index, conversion or format spec): anything
# else would read attributes of the description at format time or fail there with a KeyError.
TEMPLATE_FIELDS = ("instruction", "description")


def _check_type(name: str, value, types: tuple) -> None:
    """
    Raises:
        TypeError: naming the field `name` when `value` is none of `types` (a bool counts as no number).
    """
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        expected = " or ".join("None" if kind is type(None) else kind.__name__ for kind in types)
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}: {shown}")


def _backbone_config(text_config) -> PreTrainedConfig:
    """
    The backbone's config from a config, a dict with a `model_type` key, or None (the paper's BERT).

    Raises:
        ValueError: if a dict names no `model_type`, or a Synthesizer's.
        TypeError: if `text_config` is neither a config, a dict nor None.
    """
    if text_config is None:
        return AutoConfig.for_model("bert", **PAPER_BACKBONE)
    if isinstance(text_config, dict):
        SynthesizerConfig._check_backbone_dict(text_config)
        return AutoConfig.for_model(**text_config)
    _check_type("text_config", text_config, (PreTrainedConfig, dict, type(None)))
    return text_config


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
            k, the number of data-memory cells, at most `MAX_DATA_MEMORY_SIZE` (65,536). The A and B heads have k
            classes.
        max_program_length (`int`, *optional*, defaults to 256):
            L, the number of instructions a program may have, at most `MAX_PROGRAM_LENGTH` (65,536). The C head has
            L + 1 classes: 0 is HALT.
        label_smoothing (`float`, *optional*, defaults to 0.05):
            Label smoothing of each head's cross-entropy (the authors' value).
        head_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the pooled representation before the heads. The authors' head is one linear layer with no
            dropout of its own.
        pooling (`str`, *optional*, defaults to `"auto"`):
            How one vector is taken from the backbone: `"pooler"` (the backbone's `pooler_output`, as the authors
            did with BERT), `"first"` (the first token), `"last"` (the last non-padding token, the only one a
            causal backbone such as GPT-2 lets see the whole input), `"mean"` (mean over non-padding tokens), or
            `"auto"`: `pooler_output` when the backbone returns one, else the first token of a bidirectional
            encoder (BERT-like, or the encoder of T5 or BART) and the last non-padding token of a causal model.
        memory_image (`list[int]`, *optional*):
            The data memory a program runs on when the caller gives none (length `data_memory_size`, each cell
            within int64). `None` means all zeros.
        output_cell (`int`, *optional*):
            The data-memory address whose final value is a program's output (read by the pipeline).
        input_template (`str`, *optional*, defaults to `"{instruction} {description}"`):
            How the network's input text is built from the instruction number C_t and the program description:
            text with the two fields `{instruction}` and `{description}`, each plain (no attribute, index,
            conversion or format spec; write `{{` and `}}` for braces), and no other field.
        add_special_tokens (`bool`, *optional*, defaults to `True`):
            Whether the tokenizer adds its special tokens ([CLS]/[SEP]) around the input. Experiment 1 of the paper
            feeds just `[C_t token, program token]`, without them.
        known_programs (`list[dict]`, *optional*):
            The programs the network was trained on, so that the pipeline refuses descriptions it does not know.
            One dict per program: `name` (str), `descriptions` (the trained descriptions, the first one canonical)
            and optionally `instructions` (its `[A, B, C]` for C_t = 1, 2, ...; needed to match an unseen phrasing
            by likelihood), `memory` (its initial data memory, k ints), and `inputs` / `outputs` (name ->
            `[address, length]`, so that the pipeline takes `inputs={"a": 7}` and returns `outputs`). Two inputs
            may not share a cell (writing one would overwrite the other); an output may share cells with inputs,
            as in a program that works in place (`sort` reads and writes `xs`). `None` (soft-instruction and
            soft-imperative checkpoints) means any text is a program; `[]` refuses every description. Where the
            tokenizer matters (a description that tokenizes to nothing, or two programs whose descriptions
            tokenize alike), the pipeline checks the list when it indexes it.
        min_margin (`float`, *optional*):
            When set, a description that is not one of `known_programs`' is matched to the known program with the
            highest log-likelihood under the network, and runs only when that program leads the next by at least
            this many nats over every program with other instructions; when `None`, only known descriptions run.
        min_match_confidence (`float`, *optional*):
            With `min_margin`, an unseen description's matched program also needs the network to give each of its
            instructions at least this probability; `None` checks only the margin.

    `id2label` (from `PreTrainedConfig`) names output values: `{0: "negative", 1: "positive"}` makes the
    pipeline report `label`. Unlike other configs, it is empty unless set, because most programs' outputs are
    plain numbers.

    Every invalid field raises a `ValueError` or `TypeError` naming it, at construction (and so at
    `from_pretrained` of an edited `config.json`) and, for a field's own type, at assignment. The class is written
    as transformers 4.x and 5.x configs both are (an explicit `__init__`), so that a checkpoint's copy of it loads on
    every transformers release from 4.50 on. A check across fields
    (`output_cell` against `data_memory_size`, say) runs at construction, in `validate()` and in `check_runnable()`,
    which the pipeline calls at the start of every call: assigning fields one by one passes through states that are
    briefly inconsistent, and a list edited in place (`config.known_programs[0]["inputs"]["b"] = [0, 1]`) is seen by
    no assignment.

    Examples:

    ```python
    >>> from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq
    >>> config = SynthesizerConfig(data_memory_size=8, max_program_length=4)
    >>> model = SynthesizerForSubleq(config)
    ```
    """

    model_type = "synthesizer"
    # The backbone's config is nested under `text_config`: `get_text_config()`, `resize_token_embeddings` and the
    # attention-implementation settings reach it by that name. A plain `sub_configs` and an explicit `__init__` are
    # what transformers 4.x and 5.x share (5.x's declarative `SubConfigSpec` and `@strict` do not exist in 4.x).
    sub_configs = {"text_config": AutoConfig}

    def __init__(
        self,
        *,
        text_config: "PreTrainedConfig | dict | None" = None,
        data_memory_size: int = 256,
        max_program_length: int = 256,
        label_smoothing: float = 0.05,
        head_dropout: float = 0.0,
        pooling: str = "auto",
        memory_image: list[int] | None = None,
        output_cell: int | None = None,
        input_template: str = DEFAULT_INPUT_TEMPLATE,
        add_special_tokens: bool = True,
        known_programs: list[dict] | None = None,
        min_margin: float | None = None,
        min_match_confidence: float | None = None,
        **kwargs,
    ):
        self.text_config = _backbone_config(text_config)
        self.data_memory_size = data_memory_size
        self.max_program_length = max_program_length
        self.label_smoothing = label_smoothing
        self.head_dropout = head_dropout
        self.pooling = pooling
        self.memory_image = memory_image
        self.output_cell = output_cell
        self.input_template = input_template
        self.add_special_tokens = add_special_tokens
        self.known_programs = known_programs
        self.min_margin = min_margin
        self.min_match_confidence = min_match_confidence
        # PreTrainedConfig invents two labels (LABEL_0, LABEL_1) when none are given; a Synthesizer has no
        # classification labels unless a task names its output values.
        if kwargs.get("id2label") is None and kwargs.get("num_labels") is None:
            kwargs["num_labels"] = 0
        super().__init__(**kwargs)
        self.validate()

    def __setattr__(self, name, value):
        # Each field's own type is checked at assignment; checks across fields wait for `validate()` and for use.
        if name in FIELD_TYPES:
            _check_type(name, value, FIELD_TYPES[name])
        super().__setattr__(name, value)

    def validate(self) -> None:
        """
        Checks every field: its type, then each check across fields (the `validate_*` methods).

        Raises:
            TypeError: naming the first field of the wrong type.
            ValueError: naming the first field (and the program, input or cell) out of range or inconsistent.
        """
        for name, types in FIELD_TYPES.items():
            _check_type(name, getattr(self, name), types)
        self._check_run_field_types()
        for name, check in vars(SynthesizerConfig).items():
            if name.startswith("validate_") and callable(check):
                check(self)

    def check_runnable(self) -> int:
        """
        Re-validate every field a run reads (`RUN_FIELDS`: k, L, `memory_image`, `output_cell`, `input_template`,
        `add_special_tokens`, `pooling`, `known_programs`, `min_margin`, `min_match_confidence`), so that a config
        changed after it was built (a field assigned, a list edited in place) never runs while invalid.

        Cheap when nothing changed: the fields are compared with a copy of them as last validated (each scalar with
        its type, so `True` for `1` or a NaN counts as a change), and validated again only when they differ.

        Returns:
            `int`: the version of the validated fields, a number that changes exactly when they changed since the
            last check (`checked_version()` reads it back), so that what was built from them (the pipeline's index
            of the known programs) is rebuilt only then.

        Raises:
            TypeError: naming the field whose value has the wrong type.
            ValueError: naming the field (and the program, input or cell) that is out of range or inconsistent.
        """
        fields = self._run_fields()
        checked = _VALIDATED_RUN_FIELDS.get(id(self))
        if checked is not None and checked[0] == fields:
            return checked[1]
        self._check_run_field_types()
        self.validate_memory_layout()
        self.validate_input_template()
        self.validate_known_programs()
        self.validate_training_settings()
        if checked is None:
            weakref.finalize(self, _VALIDATED_RUN_FIELDS.pop, id(self), None)
        version = next(_VERSIONS)
        _VALIDATED_RUN_FIELDS[id(self)] = (copy.deepcopy(fields), version)
        return version

    def checked_version(self) -> int | None:
        """The version `check_runnable()` last returned for this config, None before its first check. Not a check:
        a field changed since then is seen by the next `check_runnable()` only."""
        checked = _VALIDATED_RUN_FIELDS.get(id(self))
        return None if checked is None else checked[1]

    def _run_fields(self) -> tuple:
        """The fields `check_runnable` validates; scalars with their type (`1 == True == 1.0` in Python)."""
        fields = vars(self)  # read once: each attribute access of a PreTrainedConfig costs about a microsecond
        return tuple([(type(value), value) for value in map(fields.get, RUN_FIELDS)])

    def _check_run_field_types(self) -> None:
        # `__setattr__` checks these at assignment; a config changed another way (a list edited in place, a
        # `__dict__` update) is checked here.
        for name, types in RUN_FIELDS.items():
            value = getattr(self, name, None)
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                expected = " or ".join("None" if kind is type(None) else kind.__name__ for kind in types)
                raise TypeError(f"{name} must be {expected}, got {type(value).__name__}: {value!r}")
        for name in ("min_margin", "min_match_confidence"):
            value = getattr(self, name)
            if value is not None and math.isnan(value):
                raise ValueError(f"{name} must be a number, got {value}")

    def format_input(self, instruction: int, description: str) -> str:
        """The network's input text for instruction number `instruction` (C_t) of the described program."""
        return self.input_template.format(instruction=instruction, description=description)

    @staticmethod
    def _check_backbone_dict(text_config: dict) -> None:
        # Without a model_type, transformers would quietly build a BERT with its class defaults.
        model_type = text_config.get("model_type")
        if not isinstance(model_type, str) or not model_type:
            raise ValueError("text_config must name its backbone with a 'model_type' key (e.g. 'bert'), got a dict "
                             f"with keys {sorted(map(str, text_config))}")
        if model_type == SynthesizerConfig.model_type:
            raise ValueError("text_config must be a backbone's config (e.g. 'bert'), not a Synthesizer's")

    def validate_memory_layout(self):
        """Raise a ValueError naming the first of k, L, memory_image and output_cell that is out of range.

        Plain ValueErrors when called directly (as the pipeline does at use).
        """
        if not 1 <= self.data_memory_size <= MAX_DATA_MEMORY_SIZE:
            raise ValueError(f"data_memory_size must be in [1, {MAX_DATA_MEMORY_SIZE}], got {self.data_memory_size}")
        if not 1 <= self.max_program_length <= MAX_PROGRAM_LENGTH:
            raise ValueError(f"max_program_length must be in [1, {MAX_PROGRAM_LENGTH}], got "
                             f"{self.max_program_length}")
        if self.memory_image is not None:
            validate_memory(self.memory_image, "memory_image")  # int64 cells, the error naming the cell
            if len(self.memory_image) != self.data_memory_size:
                raise ValueError(f"memory_image has {len(self.memory_image)} cells but data_memory_size is "
                                 f"{self.data_memory_size}")
        if self.output_cell is not None and not 0 <= self.output_cell < self.data_memory_size:
            raise ValueError(f"output_cell = {self.output_cell} is out of range [0, {self.data_memory_size})")

    def validate_known_programs(self):
        if self.min_margin is not None and not self.min_margin >= 0:
            raise ValueError(f"min_margin must be >= 0 nats, got {self.min_margin}")
        if self.min_match_confidence is not None and not 0 <= self.min_match_confidence <= 1:
            raise ValueError(f"min_match_confidence must be a probability in [0, 1], got {self.min_match_confidence}")
        if self.known_programs is None:
            return
        if not isinstance(self.known_programs, list):
            raise TypeError(f"known_programs must be a list of dicts, got {type(self.known_programs).__name__}")
        names, descriptions = set(), set()
        for index, program in enumerate(self.known_programs):
            where = f"known_programs[{index}]"
            if not isinstance(program, dict):
                raise TypeError(f"{where} must be a dict, got {type(program).__name__}")
            unknown = set(program) - set(KNOWN_PROGRAM_KEYS)
            if unknown:
                # A misspelt key ("input") would be ignored: the program would run as if it declared no inputs.
                raise ValueError(f"{where} has unknown key(s) {sorted(unknown, key=repr)}; a known program has "
                                 f"{', '.join(KNOWN_PROGRAM_KEYS)}")
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
            if program.get("memory") is not None:
                validate_memory(program["memory"], f"{where}['memory']")
                if len(program["memory"]) != self.data_memory_size:
                    raise ValueError(f"{where}['memory'] has {len(program['memory'])} cells but data_memory_size is "
                                     f"{self.data_memory_size}")
            # Inputs are written one after the other: two on one cell would leave only the last value. Outputs are
            # only read, and may share cells with inputs (a program that works in place).
            for field_name in ("inputs", "outputs"):
                if program.get(field_name) is not None:
                    self._check_cells(program[field_name], f"{where}[{field_name!r}]",
                                      overlap=field_name == "outputs")

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

    def _check_cells(self, named_cells, where, overlap: bool):
        """`{name: [address, length]}`, each run of cells inside the data memory; with `overlap=False`, no two
        sharing a cell."""
        if not isinstance(named_cells, dict):
            raise TypeError(f"{where} must be a dict of name -> [address, length], got {type(named_cells).__name__}")
        for name, cells in named_cells.items():
            if (not isinstance(name, str) or not isinstance(cells, (list, tuple)) or len(cells) != 2
                    or not all(type(value) is int for value in cells)
                    or not (0 <= cells[0] and 1 <= cells[1] and cells[0] + cells[1] <= self.data_memory_size)):
                raise ValueError(f"{where}[{name!r}] must be [address, length] of cells inside the data memory "
                                 f"[0, {self.data_memory_size}), got {cells!r}")
        if overlap:
            return
        runs = sorted((cells[0], cells[0] + cells[1], name) for name, cells in named_cells.items())
        for (start, end, name), (next_start, _, next_name) in zip(runs, runs[1:]):
            if next_start < end:
                raise ValueError(f"{where}: {name!r} {list(named_cells[name])} and {next_name!r} "
                                 f"{list(named_cells[next_name])} share cell {next_start}, so writing one would "
                                 "overwrite the other")

    def validate_backbone(self):
        """
        The backbone's padding id must be a token of its vocabulary (its embedding pads with it): a backbone's default
        ids (ModernBERT's are 50281 to 50284) lie outside a small vocabulary unless `text_config` sets them.

        Raises:
            ValueError: naming `pad_token_id`, its value and `vocab_size`.
        """
        text_config = self.text_config
        vocab_size, pad_token_id = getattr(text_config, "vocab_size", None), getattr(text_config, "pad_token_id", None)
        if isinstance(vocab_size, int) and isinstance(pad_token_id, int) and not 0 <= pad_token_id < vocab_size:
            raise ValueError(
                f"text_config: pad_token_id = {pad_token_id} is outside the {text_config.model_type} backbone's "
                f"vocabulary (vocab_size = {vocab_size}); set pad_token_id in text_config to the tokenizer's padding "
                "id"
            )

    def validate_training_settings(self):
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.head_dropout < 1:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {self.pooling!r}")

    def validate_input_template(self):
        try:
            fields = list(string.Formatter().parse(self.input_template))
        except ValueError as error:  # a lone "{" or "}"
            raise ValueError(f"input_template {self.input_template!r} is not a format string: {error}") from None
        for _, field_name, format_spec, conversion in fields:
            if field_name is not None and (field_name not in TEMPLATE_FIELDS or format_spec or conversion):
                written = "{" + field_name + (f"!{conversion}" if conversion else "") + (
                    f":{format_spec}" if format_spec else "") + "}"
                raise ValueError(f"input_template may use only the plain fields {{instruction}} and {{description}}, "
                                 f"got {written} in {self.input_template!r}")
        named = {field_name for _, field_name, _, _ in fields}
        for field_name in TEMPLATE_FIELDS:
            if field_name not in named:
                raise ValueError(f"input_template must contain {{{field_name}}}, got {self.input_template!r}")


__all__ = ["DEFAULT_INPUT_TEMPLATE", "KNOWN_PROGRAM_KEYS", "RUN_FIELDS", "TEMPLATE_FIELDS", "SynthesizerConfig"]
