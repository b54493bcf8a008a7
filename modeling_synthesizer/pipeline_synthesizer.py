# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""The `"subleq-execution"` pipeline: runs the programs a Synthesizer memorized on data memories.

    >>> from transformers import pipeline
    >>> pipe = pipeline("subleq-execution", model="runs/tiny", trust_remote_code=True)
    >>> pipe("[PROG_0]", memory=[3, 0, 0, 0, 0, 0, 0, 0], max_steps=200)
    {'memory': [...], 'steps': 17, 'halted': True, 'halt_reason': 'halt', 'output': None}

The network's output depends only on (C_t, description), never on data memory. The three strategies of
`execution.py` use that differently and give identical results:

- `"lazy"` (default): decodes only the (description, C_t) pairs a run reaches. Every input runs on the reference
  machine through the instructions decoded so far, until it halts, leaves the program, spends its budget or reaches
  an instruction not decoded yet; the instructions all waiting inputs need are then tokenized and decoded together
  in one forward pass, and the inputs run on. A soft-instruction run costs one row, a soft-imperative run one row per
  distinct instruction it executes. A description that at least L inputs of a batch share (a memorized program run
  on many memories) is decoded whole instead, at most one row per input, and its inputs run together on the batched
  machine.
- `"decoded"`: the L instructions of each distinct description are decoded in one batched forward pass, and the
  programs run at machine speed on the batched machine (`run_subleq_batch`, its numba kernel on CPU when numba is
  installed); without that kernel (as in a checkpoint's remote code), a few inputs run on the reference machine
  (`run_subleq`) instead.
- `"stepwise"`: Algorithm 1 of the paper. At every step, one forward pass for all inputs still running maps
  (C_t, description) to the operands (A, B, C), and the machine executes that one instruction.

The stages, as in every transformers pipeline; each input travels through them as one `_Item` record:

- `preprocess`: one input item checked (its description, memory and named inputs) and read as the checkpoint's
  tokenizer reads it: a description whose token ids are one of a known program's descriptions is matched here.
- `_forward`: `batch_size` items at a time (default 1): the network matches the descriptions left (by likelihood)
  and checks each known program's decoded instructions, each item's memory is built, and `execution.run_programs`
  runs them all, the network decoding the (C_t, description) rows the runs reach (`_decode`: tokenized as they are
  reached, since C_t is part of the network's input). Decoded instructions are kept only while their batch runs.
- `postprocess`: one item's result as a dict.

Lists come back as lists, generators and datasets (`KeyDataset`) stream.

Glossary of shapes:
    N: inputs in a batch (one description and one data memory each)
    D: distinct descriptions among them
    P: (description, C_t) pairs decoded in one forward pass
    L: `config.max_program_length`, instructions 1..L of each program
    k: `config.data_memory_size`, data-memory cells
    T: tokens of the longest input

Three meanings of "inputs" are kept apart: *items* are what a call runs (descriptions or input dicts), *named inputs*
are a known program's input values written into its memory (`inputs={"a": 7}`), and *model inputs* are the token
tensors of the network.

This file is remote code: it imports only the standard library, torch, transformers and its siblings
`execution.py`, `known_programs.py` and `subleq.py`.
"""

import collections.abc
import dataclasses
import itertools
import math
import os
import types
from typing import NamedTuple

import torch
from transformers import AutoTokenizer, Pipeline
from transformers.pipelines.pt_utils import PipelineIterator
from transformers.utils import logging

from .execution import MACHINE_VALUES, REFERENCE_MACHINE_MAX_ROWS, STRATEGIES, Decoder, Machine, run_programs
from .known_programs import (
    KnownPrograms,
    Match,
    RunRefused,
    first_difference,
    initial_memory,
    instructions_digest,
    read_outputs,
)
from .known_programs import (
    short_repr as _shown,
)
from .subleq import (
    DEFAULT_MAX_STEPS,
    SubleqError,
    SubleqResult,
    run_subleq_batch,
    validate_max_steps,
    validate_memory,
)


# The task name of `pipeline(...)`; a saved checkpoint lists it under `custom_pipelines` in config.json.
SUBLEQ_TASK = "subleq-execution"

# The most (description, C_t) rows in one forward pass: a whole-program decode of a batch is chunked to this.
DEFAULT_FORWARD_ROWS = 4096

# The most log-probabilities one forward pass makes (rows x (2k + L + 1), the three heads' classes): fewer rows a
# pass when the heads are wide, so that decoding and matching hold one pass's log-probabilities at a time, whatever
# L. 2**22 float32 values (16 MiB) keep DEFAULT_FORWARD_ROWS rows at the paper's k = L = 256 (769 values a row) and
# 21 rows at k = L = 65,536, where all L instructions' log-probabilities at once would take 48 GiB.
FORWARD_VALUES = 1 << 22

# Descriptions of at most this many characters have their exact match (or its absence) remembered, up to
# _REMEMBERED_MATCHES of them (at most about 4 MB): many items that share a description are then tokenized once,
# not once each. A new index of known programs forgets them.
_REMEMBERED_CHARS = 1_000
_REMEMBERED_MATCHES = 4_096

# Tokenizers without a real limit report a huge `model_max_length` (int(1e30)); ignore anything above this.
_NO_LIMIT = 1_000_000

# A description with more characters than DESCRIPTION_CHARS_PER_TOKEN per token the backbone accepts (a WordPiece
# word of up to 100 characters can still be one token), or than _NO_LIMIT when it states no limit, is refused before
# it is tokenized: tokenizing costs about 150 bytes a character, 1.5 GB for 10 MB of text. Descriptions up to
# _ALWAYS_TOKENIZED characters skip the check (tokenizing them is cheap, and `_encode` counts their tokens anyway).
DESCRIPTION_CHARS_PER_TOKEN = 100
_ALWAYS_TOKENIZED = 10_000

logger = logging.get_logger(__name__)


class SubleqPipeline(Pipeline):
    """
    Runs memorized subleq programs: `pipe(inputs, memory=None, max_steps=100_000, strategy="lazy",
    return_trace=False, batch_size=1)`.

    The network never sees data memory: it maps (instruction number C_t, program description) to the operands
    (A, B, C) of that instruction, and the subleq machine of `subleq.py` executes them (Algorithm 1; see the
    module docstring for the three strategies, which always agree).

    Not supported: programs longer than `config.max_program_length`, per-input step budgets, and running the
    machine on an accelerator (the network runs on the pipeline's device; the machine always runs on the CPU).
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def __init__(self, model, tokenizer=None, **kwargs):
        # transformers 4.x's pipeline() loads a tokenizer only for model types it knows, and hands over the name it
        # was given, or none: load it here, by default the checkpoint's own (at the commit the model came from, where
        # transformers records it).
        name = getattr(model.config, "_name_or_path", None)
        if tokenizer is None and name:
            tokenizer = name
        if isinstance(tokenizer, str):
            revision = getattr(model.config, "_commit_hash", None) if tokenizer == name else None
            tokenizer = AutoTokenizer.from_pretrained(tokenizer, revision=revision)
        super().__init__(model, tokenizer=tokenizer, **kwargs)

    # The config's known programs, indexed by token ids on first use (`known_programs()`), and the version of the
    # config's checked fields (`SynthesizerConfig.check_runnable`) the index was built from.
    _known_programs = None
    _known_programs_version = None
    # Token ids of a known program's description -> `_ProgramCheck` of what the network decodes for it: each program
    # is decoded whole and compared with its declared instructions once per index (config version), not per run.
    _program_checks = None
    # Description -> its exact `Match`, or None when unseen (`_exact_match`), for the same index.
    _exact_matches = None

    def _sanitize_parameters(self, memory=None, max_steps=None, strategy=None, return_trace=None,
                             min_confidence=None, min_margin=None, min_match_confidence=None, allow_unknown=None,
                             inputs=None, named_inputs=None, **kwargs):
        if kwargs:
            raise TypeError(f"SubleqPipeline got unexpected arguments: {sorted(kwargs)}")
        preprocess_params, forward_params = {}, {}
        # `inputs=` at pipeline(...) time; at call time it arrives as `named_inputs` (see __call__).
        if inputs is not None or named_inputs is not None:
            preprocess_params["named_inputs"] = inputs if named_inputs is None else named_inputs
        if min_confidence is not None:
            forward_params["min_confidence"] = _check_fraction("min_confidence", min_confidence)
        if min_margin is not None:
            forward_params["min_margin"] = _check_margin(min_margin)
        if min_match_confidence is not None:
            forward_params["min_match_confidence"] = _check_fraction("min_match_confidence", min_match_confidence)
        if allow_unknown is not None:  # preprocess marks every description unchecked: _forward matches none
            preprocess_params["allow_unknown"] = _check_flag("allow_unknown", allow_unknown)
        if memory is not None:
            preprocess_params["memory"] = self._check_memory(memory)
        if max_steps is not None:
            forward_params["max_steps"] = validate_max_steps(max_steps)
        if strategy is not None:
            if strategy not in STRATEGIES:
                raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
            forward_params["strategy"] = strategy
        if return_trace is not None:
            forward_params["return_trace"] = _check_flag("return_trace", return_trace)
        return preprocess_params, forward_params, {}

    def __call__(self, items, /, **kwargs):
        """
        Run one or many memorized programs.

        A checkpoint that lists its `known_programs` runs only descriptions it knows: one of a known program's trained
        descriptions (as the tokenizer reads it), or, with `min_margin`, the known program an unseen phrasing most
        likely names. Anything else raises `RunRefused` (a `ValueError`) before any input of the batch runs; so does
        reaching an instruction below `min_confidence`, and so does a known program that declares its `instructions`
        when the network no longer decodes exactly them (a damaged or further fine-tuned checkpoint): it is refused
        rather than run as decoded. A checkpoint without `known_programs` (soft-instruction and soft-imperative ones,
        whose descriptions are any text) runs every description.

        Args:
            items (`str`, `dict`, or a list, generator or dataset of them; positional):
                A program description: a program token such as `"[PROG_3]"`, or text for soft programs. A dict
                `{"description": ..., "memory": ..., "inputs": ...}` gives an input its own data memory and named
                inputs. A list returns a list; a generator, a `torch.utils.data.Dataset` (e.g. `KeyDataset` over a
                `datasets.Dataset`) or any other iterable streams its results as they are ready.
            memory (`list[int]` or 1-D integer tensor, *optional*):
                The initial data memory (k integers) of every input that does not give its own. Defaults to the
                matched known program's `memory`, else the checkpoint's `config.memory_image`, else k zeros. Never
                mutated.
            inputs (`dict`, *optional*, keyword):
                Named input values written into the memory, for a known program that declares its `inputs`:
                `{"a": 7, "b": 6}` (an int for a one-cell input, a list for an array), every declared input given.
                Without `inputs`, such a program runs only on a `memory` given in the call (exactly as given); with
                neither, it is refused, naming its inputs. An input dict's own `inputs` wins.
            min_confidence (`float`, *optional*):
                Refuse a run before it executes an instruction whose decoded (A, B, C) has a probability below this
                (the product of the three heads' probabilities). Default None: no threshold.
            min_margin (`float`, *optional*):
                Match an unseen description to the known program most likely under the network when it leads the
                next by at least this many nats. Defaults to `config.min_margin`; None refuses unseen descriptions.
            min_match_confidence (`float`, *optional*):
                With `min_margin`, also refuse such a match unless the network gives each of the program's
                instructions at least this probability. Defaults to `config.min_match_confidence`.
            allow_unknown (`bool`, *optional*, defaults to `False`):
                Run every description as given, unchecked: what the network decodes from a description it was not
                trained on may be any mixture of programs.
            max_steps (`int`, *optional*, defaults to 100,000):
                The step budget of each input: a run stops with `halt_reason="max_steps"` after this many executed
                instructions (0 executes nothing). 100,000 is `subleq.DEFAULT_MAX_STEPS`, the reference machine's
                default; with `strategy="stepwise"` it is also a bound of 100,000 forward passes.
            strategy (`str`, *optional*, defaults to `"lazy"`):
                `"lazy"` (decode only the instructions a run reaches), `"decoded"` (decode each distinct
                description whole, then run the machine) or `"stepwise"` (one forward pass per executed step).
                The results are identical.
            return_trace (`bool`, *optional*, defaults to `False`):
                Also return `trace`: one dict `{instruction, a, b, c, value, confidence}` per executed instruction
                (`value` is what was written to `mem[b]`, `confidence` the probability of that decoded (A, B, C)).
                Runs each input on the reference machine.
            batch_size (`int`, *optional*, defaults to 1):
                Inputs run together: one `_forward` decodes what all of them need and runs their machines. As in
                every transformers pipeline, only one batch's inputs and decoded rows are held at a time.
            num_workers (`int`, *optional*):
                DataLoader workers that read a streamed input (a generator or dataset), as in every transformers
                pipeline.

        Returns:
            One dict per input (a dict for a single input, a list for a list, an iterator otherwise):
            - `memory` (`list[int]`): the final data memory.
            - `steps` (`int`): instructions executed, the halting one included.
            - `halted` (`bool`): False only when the step budget ran out.
            - `halt_reason` (`str`): `"halt"` (an instruction with C = 0 ran), `"end_of_program"` (the next
              instruction number was L + 1) or `"max_steps"`, as `run_subleq` reports them.
            - `output`: the final value of `config.output_cell` (None when the config has none), and `label`,
              `config.id2label[output]` (None if that value has no name), when the config has `id2label`.
            - `program` (the known program's name) and `margin` (None for a known description, the lead in nats for
              a likelihood match), when the checkpoint lists known programs.
            - `digest` (`str`) and `verified` (`bool`), with `program`: `digest` is `instructions_digest` (the SHA-256
              hex of the compact JSON `[[A, B, C], ...]`) of the program the network decodes for the description it
              runs as, instructions 1..n of the program's declared `instructions` (all L when it declares none);
              `verified` is True when the program declares its `instructions` and the network decodes exactly them
              (the digest then equals `instructions_digest(config.known_programs[i]["instructions"])`), False when
              it declares none. Each program is decoded whole once per pipeline and config version; every
              instruction a run decodes is compared with that. Absent for unchecked runs (a checkpoint without
              `known_programs`, or `allow_unknown=True`), as `program` is.
            - `outputs` (`dict`): the known program's named outputs, when it declares them.
            - `trace` (`list[dict]`), when `return_trace=True`; each step also has its `confidence`.

        Raises:
            RunRefused: (a ValueError) naming the input, for a description the checkpoint does not know, an
                instruction below `min_confidence`, or a known program the network no longer decodes as the
                checkpoint declares it (naming the instruction, what the network decodes and what is declared).
            ValueError: for an empty or non-string description, a description longer than `max_description_chars()`
                (refused before it is tokenized) or whose input is longer than the backbone accepts (each naming the
                input's position among the call's inputs, whatever `num_workers`), a memory of the wrong length or
                with non-integer cells, a negative or non-integer `max_steps`, an unknown strategy, a `batch_size`
                that is not a positive int, a `num_workers` that is not an int >= 0, or an int64 overflow while
                running (`SubleqError`, a `ValueError`, with the input's position among the call's inputs in `index`
                and the instruction in `instruction`); and for named `inputs` of a description that runs no known
                program declaring them, an unknown input name, a missing one or a wrong count.
            TypeError: for an unknown keyword argument, a flag that is not a bool, `inputs` that are bytes, a set or
                a non-dict mapping, or named inputs that are not a dict of integers.
        """
        batch_size = kwargs.get("batch_size")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be an int >= 1 (inputs run together), got {batch_size!r}")
        num_workers = kwargs.get("num_workers")
        if num_workers is not None and (isinstance(num_workers, bool) or not isinstance(num_workers, int)
                                        or num_workers < 0):
            # Checked here: transformers hands it to a DataLoader, whose error would not name it.
            raise ValueError(f"num_workers must be an int >= 0 (DataLoader workers of a streamed input), got "
                             f"{num_workers!r}")
        if isinstance(items, (bytes, bytearray, set, frozenset, collections.abc.Mapping)) and not isinstance(
            items, dict
        ):
            # Iterable, but not a stream of inputs: bytes are not text, and a set has no order to return results in.
            raise TypeError(f"inputs must be a description, an input dict, or an ordered list or stream of them, got "
                            f"{type(items).__name__}")
        if isinstance(items, tuple):
            items = list(items)
        elif not isinstance(items, (str, dict, list, types.GeneratorType, torch.utils.data.Dataset)) and isinstance(
            items, collections.abc.Iterable
        ):
            items = (item for item in items)  # e.g. a `datasets` column: streamed, never copied whole
        if isinstance(items, list) and not items:
            return []
        self._check_config()
        if "inputs" in kwargs:  # Pipeline.__call__ names its positional argument `inputs`: pass ours by another name
            kwargs["named_inputs"] = kwargs.pop("inputs")
        return super().__call__(items, **kwargs)

    def get_inference_context(self):
        return torch.inference_mode

    def _check_config(self) -> None:
        """
        Check, when a call starts, every config field a run reads (`SynthesizerConfig.check_runnable`: k, L,
        memory_image, output_cell, input_template, known_programs, min_margin, ...), assigned or edited in place after
        the config was built, before anything is sized or formatted. Cheap when nothing changed.

        Raises:
            ValueError, TypeError: naming the field; ValueError also when k or L no longer match the heads the
                network has (a config's `data_memory_size` or `max_program_length` assigned after loading).
        """
        config = self.model.config
        config.check_runnable()
        # The heads decode A and B over k cells and C over L + 1 numbers: with another k or L in the config, the
        # machine would get operands outside the memory it is given, or never see instructions the network names.
        model = self.model
        built = {"data_memory_size": {model.a_head.out_features, model.b_head.out_features},
                 "max_program_length": {model.c_head.out_features - 1}}  # C: 0 (halt) and instructions 1..L
        for name, sizes in built.items():
            value = getattr(config, name)
            if sizes != {value}:
                raise ValueError(f"config.{name} is {value}, but the network's heads were built for "
                                 f"{', '.join(map(str, sorted(sizes)))}: set it back, or load a checkpoint built "
                                 f"with {value}")

    def get_iterator(self, items, num_workers, batch_size, preprocess_params, forward_params, postprocess_params):
        """
        The iterator over the results of many inputs (a list, a dataset or a stream), as in every transformers
        pipeline, except that each input travels to `preprocess` with its position among the call's inputs, so that
        an error names it whichever DataLoader worker reads it and however many calls' streams are consumed at once
        (nothing about a call is kept on the pipeline), and that a stream is batched as it is read.
        """
        if isinstance(items, collections.abc.Sized):
            return super().get_iterator(_NumberedItems(items), num_workers, batch_size, preprocess_params,
                                        forward_params, postprocess_params)
        if num_workers > 1:
            # As transformers does for any stream: several workers would each read it from the start.
            logger.warning("A stream of inputs is read by one DataLoader worker at most: setting num_workers=1.")
            num_workers = 1
        if "TOKENIZERS_PARALLELISM" not in os.environ:  # as transformers does: the DataLoader may fork
            os.environ["TOKENIZERS_PARALLELISM"] = "false"
        batches = _StreamBatches(items, self.preprocess, preprocess_params, batch_size)
        loader = torch.utils.data.DataLoader(batches, num_workers=num_workers, batch_size=None,
                                             collate_fn=_single if batch_size == 1 else _columns)
        model_iterator = PipelineIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)

    # preprocess: one item, validated, read as the tokenizer reads it

    def preprocess(self, item, memory=None, named_inputs=None, allow_unknown=False) -> dict:
        """
        One item (a description, or a dict with its own `description`, `memory` and named `inputs`) as a `_Item`:
        checked, with the call's `memory` and `named_inputs` where it gives none, and matched when its description
        is, token for token, one of a known program's (`_exact_match`). Returns `{"item": _Item}`, as `_forward`
        takes it (lists of them when batched).
        """
        position = None  # a single input needs no name
        if isinstance(item, _Numbered):  # one of many (get_iterator)
            position, item = item
        where = "" if position is None else f"input {position}: "
        cells, named = memory, named_inputs
        if isinstance(item, dict):
            unknown = set(item) - {"description", "memory", "inputs"}
            if unknown:
                raise ValueError(f"{where}unknown keys {sorted(unknown, key=repr)}; an input dict has 'description' "
                                 "and optionally 'memory' and 'inputs'")
            if "description" not in item:
                raise ValueError(f"{where}an input dict needs a 'description'")
            description = item["description"]
            # None is "not given", as for the call's own arguments: the call's memory and inputs fill in.
            if item.get("memory") is not None:
                cells = self._check_memory(item["memory"], where)
            if item.get("inputs") is not None:
                named = item["inputs"]
        else:
            description = item
        self._check_description(description, where)
        if named is not None and not isinstance(named, dict):
            raise TypeError(f"{where}inputs must be a dict of input name -> value, got {type(named).__name__}")
        # A memory left out is chosen in _forward, once the program is matched: its own memory, else default_memory().
        return {"item": _Item(description, None if cells is None else list(cells), named, position,
                              match=self._exact_match(description, allow_unknown))}

    def default_memory(self) -> list[int]:
        """The memory of an input that gives none: `config.memory_image`, or k zeros.

        Raises:
            ValueError: naming the config field (`data_memory_size`, `memory_image`) that is out of range, checked
                before k cells are allocated.
        """
        config = self.model.config
        config.validate_memory_layout()
        return list(config.memory_image) if config.memory_image is not None else [0] * config.data_memory_size

    def _check_memory(self, memory, where=""):
        k = self.model.config.data_memory_size
        try:
            cells = validate_memory(memory)
        except SubleqError as error:
            raise ValueError(f"{where}{error}") from None
        if len(cells) != k:
            raise ValueError(f"{where}memory has {len(cells)} cells but the model's data memory has k = {k} cells")
        return cells

    def _check_description(self, description, where=""):
        """
        Raises:
            ValueError: for a description that is not a string, is empty, or is longer than
                `max_description_chars()` (checked before it is tokenized).
        """
        if not isinstance(description, str):
            raise ValueError(
                f"{where}a description must be a string (a program token such as '[PROG_0]' or text), got "
                f"{type(description).__name__}: {_shown(description)}"
            )
        if len(description) > _ALWAYS_TOKENIZED and len(description) > self.max_description_chars():
            limit = self.max_input_length()
            accepts = "states no limit" if limit is None else f"accepts at most {limit} tokens"
            raise ValueError(f"{where}description {_shown(description)} has {len(description):,} characters, more "
                             f"than the {self.max_description_chars():,} a description may have (refused before it "
                             f"is tokenized; the backbone {accepts})")
        if not description.strip():
            raise ValueError(f"{where}empty description: give a program token such as '[PROG_0]' or text")

    def max_description_chars(self) -> int:
        """The most characters a description may have: `DESCRIPTION_CHARS_PER_TOKEN` per token the backbone accepts
        (`max_input_length()`; at least 10,000), or 1,000,000 when it states no limit. A longer one is refused
        before it is tokenized; a shorter one is refused, after tokenizing, when its input has more tokens than the
        backbone accepts."""
        limit = self.max_input_length()
        return _NO_LIMIT if limit is None else max(_ALWAYS_TOKENIZED, DESCRIPTION_CHARS_PER_TOKEN * limit)

    def max_input_length(self) -> int | None:
        """The most tokens one input may have: the smaller of the backbone's position limit and the tokenizer's."""
        text_config = self.model.config.get_text_config()
        limits = [
            getattr(text_config, name, None) for name in ("max_position_embeddings", "n_positions", "max_seq_len")
        ]
        limits.append(getattr(self.tokenizer, "model_max_length", None))
        limits = [limit for limit in limits if isinstance(limit, int) and 0 < limit < _NO_LIMIT]
        return min(limits) if limits else None

    # decoding: (description, C_t) pairs -> operands (A, B, C)

    def _encode(self, pairs: list[tuple[str, int]]) -> dict[str, torch.Tensor]:
        """The model inputs of `pairs` (description, C_t), padded together, `[P, T]` on the pipeline's device.

        Raises:
            ValueError: (`_DescriptionTooLong`) naming the first description whose input is longer than the backbone
                accepts.
        """
        config = self.model.config
        texts = [config.format_input(pc, description) for description, pc in pairs]
        encodings = self.tokenizer(
            texts, add_special_tokens=config.add_special_tokens, padding=True, return_tensors="pt", verbose=False
        )
        tokens = encodings["attention_mask"].sum(-1)  # [P]
        limit = self.max_input_length()
        if limit is not None and int(tokens.max()) > limit:
            row = int((tokens > limit).nonzero()[0, 0])
            raise _DescriptionTooLong(
                f"description {_shown(pairs[row][0])} is too long: with an instruction number, its input has "
                f"{int(tokens[row])} tokens, but the backbone accepts at most {limit} (the smaller of its position "
                "limit and the tokenizer's model_max_length)",
                description=pairs[row][0],
            )
        names = ("input_ids", "attention_mask", "token_type_ids")  # what the model takes; not all tokenizers make all
        return {name: encodings[name].to(self.device) for name in names if name in encodings}

    def forward_rows(self) -> int:
        """The most (description, C_t) rows of one forward pass: `DEFAULT_FORWARD_ROWS`, or fewer where the three
        heads' 2k + L + 1 log-probabilities a row would pass `FORWARD_VALUES` in all."""
        config = self.model.config
        width = 2 * config.data_memory_size + config.max_program_length + 1
        return max(1, min(DEFAULT_FORWARD_ROWS, FORWARD_VALUES // width))

    def _chunked_log_probs(self, pairs: list[tuple[str, int]]):
        """Yields the log-probabilities of the A, B and C heads (`[R, k]`, `[R, k]`, `[R, L + 1]`, on the pipeline's
        device) for `pairs` (description, C_t), `forward_rows()` pairs R at a time, so that only one forward pass's
        log-probabilities are held at once."""
        rows = self.forward_rows()
        for start in range(0, len(pairs), rows):
            yield self._forward_pass(pairs[start : start + rows])

    def _forward_pass(self, pairs: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward pass over `pairs` (at most `forward_rows()`): the three heads' log-probabilities."""
        outputs = self.model(**self._encode(pairs))
        return tuple(logits.float().log_softmax(-1) for logits in (outputs.a_logits, outputs.b_logits,
                                                                     outputs.c_logits))

    def _log_probs(self, pairs: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The log-probabilities of the A, B and C heads for each pair (description, C_t): `[P, k]`, `[P, k]`,
        `[P, L + 1]` on the CPU, all P at once (for a few pairs; decoding and matching use `_chunked_log_probs`)."""
        heads = zip(*((head.cpu() for head in chunk) for chunk in self._chunked_log_probs(pairs)))
        return tuple(torch.cat(head) for head in heads)

    def _decode(self, pairs: list[tuple[str, int]]) -> tuple[list[tuple[int, int, int]], list[float]]:
        """The arg-max operands (A, B, C) of each pair (description, C_t), and their confidence: the probability of
        that (A, B, C), the product of the three heads' probabilities of their choices."""
        operands, confidences = [], []
        for chunk in self._chunked_log_probs(pairs):
            best = [log_probs.max(-1) for log_probs in chunk]
            operands += torch.stack([choice.indices for choice in best], dim=-1).tolist()  # [R, 3]
            confidences += sum(choice.values for choice in best).exp().tolist()  # [R]
        return [tuple(row) for row in operands], confidences

    def decode_program(self, description: str, allow_unknown: bool = False) -> list[tuple[int, int, int]]:
        """
        The program the network holds for `description`: its L instructions (A, B, C), for C_t = 1..L.

        A description is matched as a run would match it (`match_program`): the program of a known description, or
        of the known program an unseen phrasing matches by likelihood, is decoded from its canonical description.
        `allow_unknown=True` decodes any description as given (None, as not given: False).

        Memory: one forward pass's log-probabilities at a time (`forward_rows()`), and the L instructions.

        Raises:
            RunRefused: (a ValueError) if the checkpoint lists its known programs and `description` matches none.
            ValueError: for an empty or non-string description, or one whose input is longer than the backbone
                accepts; or a config field out of range.
            TypeError: for an `allow_unknown` that is not a bool.
        """
        allow_unknown = False if allow_unknown is None else _check_flag("allow_unknown", allow_unknown)
        self._check_config()
        self._check_description(description)
        length = self.model.config.max_program_length
        with self.device_placement(), torch.inference_mode():
            config = self.model.config
            match = self._match([description], config.min_margin, config.min_match_confidence, allow_unknown)[0]
            if match.how == "refused":
                raise match.refusal()
            return self._decode([(match.run_as, pc) for pc in range(1, length + 1)])[0]

    # matching: which known program a description names

    def known_programs(self) -> KnownPrograms | None:
        """The checkpoint's known programs, indexed by their descriptions' token ids; None when it lists none."""
        config = self.model.config
        if config.known_programs is None:
            return None
        # Every call checks the config first; a version that changed means the fields (perhaps the list, replaced or
        # edited in place) did, and the index is built anew, its token-level checks included.
        version = config.checked_version()
        if version is None:
            version = config.check_runnable()
        if self._known_programs is None or self._known_programs_version != version:
            self._check_known_descriptions(config.known_programs)
            self._known_programs = KnownPrograms.from_tokenizer(config.known_programs, self.tokenizer)
            self._known_programs_version = version
            self._program_checks, self._exact_matches = {}, {}
        return self._known_programs

    def _check_known_descriptions(self, known_programs: list[dict]) -> None:
        """
        Raises:
            ValueError: naming the known program whose description is longer than `max_description_chars()`,
                before any of them is tokenized.
        """
        limit = self.max_description_chars()
        for index, program in enumerate(known_programs):
            for description in program.get("descriptions") or ():
                if isinstance(description, str) and len(description) > limit:
                    raise ValueError(f"config.known_programs[{index}] has a description of {len(description):,} "
                                     f"characters, more than the {limit:,} a description may have: "
                                     f"{_shown(description)}")

    def match_program(self, description: str, min_margin: float | None = None,
                      min_match_confidence: float | None = None) -> dict:
        """
        Which known program `description` runs as, without running it.

        Args:
            description (`str`): a program description.
            min_margin (`float`, *optional*): the lead, in nats, an unseen description's most likely known program
                needs over the next one to run; defaults to `config.min_margin` (None: unseen descriptions are
                refused).
            min_match_confidence (`float`, *optional*): the probability the network must give each instruction of
                that program; defaults to `config.min_match_confidence`.

        Returns:
            `dict` with `program` (the known program's name, or None), `how` (`"exact"`, `"likely"`, `"refused"`, or
            `"unchecked"` for a checkpoint without known programs), `run_as` (the description the network runs on),
            `margin` and `scores` (per program log-likelihood, when scored) and `reason` (of a refusal).

        Raises:
            ValueError: for an empty or non-string description, a negative `min_margin`, or a config field out of
                range.
        """
        self._check_config()
        self._check_description(description)
        min_margin = self.model.config.min_margin if min_margin is None else _check_margin(min_margin)
        if min_match_confidence is None:
            min_match_confidence = self.model.config.min_match_confidence
        else:
            min_match_confidence = _check_fraction("min_match_confidence", min_match_confidence)
        with self.device_placement(), torch.inference_mode():
            return self._match([description], min_margin, min_match_confidence, allow_unknown=False)[0].to_dict()

    def _exact_match(self, description: str, allow_unknown: bool) -> Match | None:
        """
        How `description` runs when that needs no network: as given (`"unchecked"`) on a checkpoint without known
        programs or with `allow_unknown`, else as the known program one of whose descriptions has its token ids
        (`"exact"`). None for an unseen description: `_match_unseen` decides it.
        """
        known = self.known_programs()
        if known is None or allow_unknown:
            return Match(description, None, "unchecked", description)
        if len(description) > _REMEMBERED_CHARS:
            return known.exact(description)
        matches = self._exact_matches
        if description not in matches:
            if len(matches) >= _REMEMBERED_MATCHES:
                matches.clear()
            matches[description] = known.exact(description)
        return matches[description]

    def _match_unseen(self, descriptions: list[str], min_margin, min_match_confidence) -> dict[str, Match]:
        """The `Match` of each distinct unseen description (no exact match): the known program the network finds most
        likely, by `min_margin` nats at least (scored together, each description once), else a refusal."""
        known = self.known_programs()
        unseen = list(dict.fromkeys(descriptions))
        if min_margin is None or not known.can_score:
            return {description: known.unknown(description) for description in unseen}
        scores, worst = self._score_known(known, unseen)  # [D, K] each
        return {description: known.decide(description, scores[d], worst[d], min_margin, min_match_confidence)
                for d, description in enumerate(unseen)}

    def _match(self, descriptions: list[str], min_margin, min_match_confidence, allow_unknown: bool) -> list[Match]:
        """One `Match` per description (`_exact_match`, else `_match_unseen`)."""
        matches = {description: self._exact_match(description, allow_unknown)
                   for description in dict.fromkeys(descriptions)}
        unseen = [description for description, match in matches.items() if match is None]
        if unseen:
            matches.update(self._match_unseen(unseen, min_margin, min_match_confidence))
        return [matches[description] for description in descriptions]

    def _score_known(self, known: KnownPrograms, descriptions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """
        `known.log_likelihoods` of `descriptions` (`[D, K]` each: every known program's log-likelihood, and its
        least likely instruction's term), summed over forward passes of a few instruction numbers each, so that one
        pass's log-probabilities are held at a time instead of all L instructions' (`[D, L, 2k + L + 1]`).
        """
        length = known.instruction_count()
        device = self.device
        programs = [torch.tensor(program["instructions"], dtype=torch.long, device=device)  # [n, 3] each
                    for program in known.programs]
        totals = torch.zeros(len(descriptions), len(programs), device=device)  # [D, K]
        worst = torch.full((len(descriptions), len(programs)), math.inf, device=device)  # [D, K]
        rows = self.forward_rows()
        for first in range(0, len(descriptions), rows):
            group = descriptions[first : first + rows]
            span = max(1, rows // len(group))  # instruction numbers a pass, so that a pass has at most `rows` rows
            for start in range(0, length, span):
                stop = min(start + span, length)
                pairs = [(description, pc) for description in group for pc in range(start + 1, stop + 1)]
                a, b, c = (head.view(len(group), stop - start, -1) for head in self._forward_pass(pairs))
                for index, operands in enumerate(programs):
                    operands = operands[start:stop]  # [n, 3]: this program's instructions in the pass, maybe none
                    if not len(operands):
                        continue
                    at = torch.arange(len(operands), device=device)
                    score = a[:, at, operands[:, 0]] + b[:, at, operands[:, 1]] + c[:, at, operands[:, 2]]  # [G, n]
                    rows_of_group = slice(first, first + len(group))
                    totals[rows_of_group, index] += score.sum(-1)
                    worst[rows_of_group, index] = torch.minimum(worst[rows_of_group, index], score.min(-1).values)
        return totals.cpu(), worst.cpu()

    # _forward: the network and the machine for one batch

    def _forward(self, model_inputs, max_steps=DEFAULT_MAX_STEPS, strategy="lazy", return_trace=False,
                 min_confidence=None, min_margin=None, min_match_confidence=None):
        """
        One batch of items (`model_inputs["item"]`, a list when `batch_size` > 1): the unseen descriptions matched
        and refused in order, each known program's decoded instructions checked, each item's memory built, and the
        programs run by `execution.run_programs`, the network decoding what the runs reach. Returns the items, each
        with its `result`.
        """
        batched = isinstance(model_inputs["item"], list)
        items = model_inputs["item"] if batched else [model_inputs["item"]]
        config = self.model.config
        try:
            self._match_items(items, config.min_margin if min_margin is None else min_margin,
                              config.min_match_confidence if min_match_confidence is None else min_match_confidence)
            self._check_programs(items)
            for item in items:
                item.run_memory = self._initial_memory(item)
            decoder = Decoder(self._decode, min_confidence)
            results = run_programs(decoder, [item.match.run_as for item in items],
                                   [item.run_memory for item in items], config.max_program_length, max_steps,
                                   strategy=strategy, return_trace=return_trace,
                                   indices=[item.position for item in items], machine=self._machine())
        except _DescriptionTooLong as error:  # found while encoding, where the items are not known: name the first
            position = next((item.position for item in items if item.description == error.description), None)
            if position is None:
                raise
            raise ValueError(f"input {position}: {error}") from None
        self._check_ran(decoder, items)
        for item, result in zip(items, results):
            item.result = result
            item.confidences = decoder.confidences(item.match.run_as) if return_trace else None
        return {"item": items if batched else items[0]}

    def _machine(self) -> Machine:
        """The batched machine of this module, run in slices of at most `MACHINE_VALUES` program cells, both read at
        each batch; `Machine` itself decides when a few inputs run on the reference machine instead."""
        return Machine(run_subleq_batch, max_values=MACHINE_VALUES)

    def _match_items(self, items: list["_Item"], min_margin, min_match_confidence) -> None:
        """
        Match the items that `preprocess` could not (unseen descriptions), and find each item's known program.

        Raises:
            RunRefused: naming the first item whose description matches no known program.
        """
        unseen = [item.description for item in items if item.match is None]
        matches = self._match_unseen(unseen, min_margin, min_match_confidence) if unseen else {}
        for item in items:
            if item.match is None:
                item.match = matches[item.description]
            if item.match.how == "refused":
                raise item.match.refusal(item.position)
        known = self.known_programs()
        for item in items:
            item.program = None if known is None or item.match.program is None else known.by_name[item.match.program]

    def _check_programs(self, items: list["_Item"]) -> None:
        """
        Set the `_ProgramCheck` of each item's known program (None for an unchecked description): what the network
        decodes for the description it runs as, compared with the instructions the checkpoint declares. Each distinct
        description is decoded whole (its declared instructions, or all L when it declares none) once per index of
        known programs, all new ones in one forward pass, and remembered.

        Raises:
            RunRefused: naming the first item whose known program the network no longer decodes exactly: the
                instruction, what the network decodes and what the checkpoint declares.
        """
        checks, new = self._program_checks, {}
        known = self.known_programs()
        keys = []
        for item in items:
            key = None
            if item.program is not None:
                match = item.match
                key = match.tokens if match.tokens is not None else known.tokenize(match.run_as)
                if key not in checks:
                    new.setdefault(key, (match.run_as, item.program))
            keys.append(key)
        if new:
            checks.update(self._decode_programs(new))
        for item, key in zip(items, keys):
            if key is not None and checks[key].refusal is not None:
                raise RunRefused(checks[key].refusal, description=item.description, index=item.position,
                                 instruction=checks[key].instruction)
        for item, key in zip(items, keys):
            item.check = None if key is None else checks[key]

    def _decode_programs(self, programs: dict) -> dict:
        """`_ProgramCheck`s of `programs` (key -> (description, known program)), decoded in one batch of passes."""
        length = self.model.config.max_program_length
        sizes = [len(program.get("instructions") or ()) or length for _, program in programs.values()]
        pairs = [(description, pc) for (description, _), size in zip(programs.values(), sizes)
                 for pc in range(1, size + 1)]
        decoded, start, checks = self._decode(pairs)[0], 0, {}
        for key, (description, program), size in zip(programs, programs.values(), sizes):
            operands, start = tuple(decoded[start : start + size]), start + size
            declared = program.get("instructions")
            difference = first_difference(operands, declared) if declared else None
            refusal = None
            if difference is not None:
                number, got, want = difference
                refusal = (f"the network decodes instruction {number} of known program {program['name']!r} as "
                           f"{got} where the checkpoint declares {want}: it no longer holds the program it declares "
                           "(a damaged or further fine-tuned checkpoint), so that program is refused rather than "
                           "run as decoded")
            checks[key] = _ProgramCheck(instructions_digest(operands), bool(declared) and difference is None,
                                        description, operands, refusal, None if difference is None else difference[0])
        return checks

    def _check_ran(self, decoder: Decoder, items: list["_Item"]) -> None:
        """
        Every instruction a run decoded for a checked program must be the one its check decoded: otherwise its digest
        would not name what ran (the weights changed in place since, say).

        Raises:
            RunRefused: naming the first item of such a program, and the instruction.
        """
        checked = {item.check.description: item.check for item in items if item.check is not None}
        if not checked:
            return
        for (description, pc), operands in decoder.operands.items():
            check = checked.get(description)
            if check is None or pc > len(check.operands) or operands == check.operands[pc - 1]:
                continue
            item = next(item for item in items if item.match.run_as == description)
            raise RunRefused(f"the network decoded instruction {pc} of known program {item.match.program!r} as "
                             f"{operands} in this run but as {check.operands[pc - 1]} when the program was checked "
                             "(its weights changed since): its result is not returned", description=item.description,
                             index=item.position, instruction=pc)

    def _initial_memory(self, item: "_Item") -> list[int]:
        """
        The memory an item runs on (`known_programs.initial_memory`): its own (or the call's) exactly as given when
        it has no named inputs; else its own, its known program's initial memory or `default_memory()`, with its
        named inputs written in, every declared one given.

        Raises:
            ValueError: (naming the item) for a known program that declares inputs, run with neither named inputs
                nor a memory (naming the missing inputs); for named inputs of a description that runs no known
                program declaring inputs, an unknown name, a missing one, a wrong count or an out-of-range value.
            TypeError: for a value that is not an integer.
        """
        where = "" if item.position is None else f"input {item.position}: "
        try:
            return initial_memory(item.program, item.memory, item.named_inputs, self.default_memory)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}{error}") from None

    # postprocess: plain Python per item

    def postprocess(self, model_outputs):
        item = model_outputs["item"]
        result, match = item.result, item.match
        config = self.model.config
        output_cell = config.output_cell
        record = {
            "memory": list(result.memory),
            "steps": int(result.steps),
            "halted": result.halted,
            "halt_reason": result.halt_reason,
            "output": None if output_cell is None else result.memory[output_cell],
        }
        if config.id2label:
            record["label"] = config.id2label.get(record["output"], config.id2label.get(str(record["output"])))
        if match.how != "unchecked":
            record["program"] = match.program
            record["margin"] = match.margin  # None for a known description
        if item.program and item.program.get("outputs"):
            record["outputs"] = read_outputs(item.program, record["memory"])
        if item.check is not None:
            record["digest"] = item.check.digest
            record["verified"] = item.check.verified
        if result.trace is not None:
            record["trace"] = [{**executed.to_dict(), "confidence": item.confidences[executed.instruction]}
                               for executed in result.trace]
        return record


@dataclasses.dataclass
class _Item:
    """
    One item of a call on its way through the pipeline: what `preprocess` reads from it, then what `_forward` adds.
    (A record, not a tuple or a dict: the pipeline's device placement and batching pass it through untouched.)
    """

    description: str  # the program description as given
    memory: list | None  # its data memory as given (its own, else the call's), or None: chosen once matched
    named_inputs: dict | None  # named input values to write into the memory (its own, else the call's), or None
    position: int | None  # its position among the call's items, which errors name; None for a single item
    match: Match | None = None  # how it names a known program: from preprocess when exact, else from _forward
    program: dict | None = None  # the matched entry of `config.known_programs`, or None
    check: "_ProgramCheck | None" = None  # what the network decodes for that program, or None
    run_memory: list | None = None  # the memory it runs on
    result: SubleqResult | None = None  # what the run ended in
    confidences: dict | None = None  # C_t -> confidence of each decoded instruction, with return_trace


@dataclasses.dataclass(frozen=True)
class _ProgramCheck:
    """What the network decodes for a known program's description, and how it compares with the declared program.
    (Not a tuple: the pipeline's device placement rebuilds tuples as plain ones.)"""

    digest: str  # `instructions_digest(operands)`
    verified: bool  # the program declares its instructions and `operands` equal them
    description: str  # the description the network runs on
    operands: tuple  # the decoded (A, B, C) of C_t = 1..n: the declared program's n, else all L
    refusal: str | None  # why the program may not run, else None
    instruction: int | None  # the first instruction decoded otherwise than declared, else None


class _Numbered(NamedTuple):
    """One of a call's many items, with its position among them (0-based), as `get_iterator` hands it to
    `preprocess`."""

    position: int
    item: object


class _NumberedItems(torch.utils.data.Dataset):
    """A list or dataset of items, read as `_Numbered` items."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return _Numbered(index, self.items[index])


class _StreamBatches(torch.utils.data.IterableDataset):
    """
    A stream of items, numbered and preprocessed, in lists of up to `batch_size`. Each list grows with what the
    stream yields: a DataLoader that batches a stream itself first takes `batch_size` indices from its sampler, so a
    huge `batch_size` would fill memory before the first input is read.

    The numbering belongs to the stream, not to one pass over it: iterating the results again (say, `list()` of an
    iterator already read in part, which transformers answers with a new DataLoader iterator) goes on with the
    stream's next item and its position.
    """

    def __init__(self, stream, preprocess, params: dict, batch_size: int):
        self.numbered = itertools.starmap(_Numbered, enumerate(stream))
        self.preprocess, self.params, self.batch_size = preprocess, params, batch_size

    def __iter__(self):
        while True:
            batch = [self.preprocess(item, **self.params)
                     for item in itertools.islice(self.numbered, self.batch_size)]
            if not batch:
                return
            yield batch


def _single(batch: list[dict]) -> dict:
    """A batch of one item, as `_forward` takes it unbatched."""
    return batch[0]


def _columns(batch: list[dict]) -> dict:
    """A batch of items as `_forward` takes it batched: each field a list over the items."""
    return {name: [item[name] for item in batch] for name in batch[0]}


class _DescriptionTooLong(ValueError):
    """A description whose model input has more tokens than the backbone accepts (`description` names it), found
    while encoding; `_forward` names the item it came from."""

    def __init__(self, message: str, *, description: str):
        super().__init__(message)
        self.description = description


def _check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_margin(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"min_margin must be a number of nats >= 0, got {value!r}")
    return float(value)


__all__ = ["DEFAULT_FORWARD_ROWS", "REFERENCE_MACHINE_MAX_ROWS", "STRATEGIES", "SUBLEQ_TASK", "RunRefused",
           "SubleqPipeline"]
