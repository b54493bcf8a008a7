# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""The `"subleq-execution"` pipeline: runs the programs a Synthesizer memorized on data memories.

    >>> from transformers import pipeline
    >>> pipe = pipeline("subleq-execution", model="runs/tiny")       # or model=..., trust_remote_code=True
    >>> pipe("[PROG_0]", memory=[3, 0, 0, 0, 0, 0, 0, 0], max_steps=200)
    {'memory': [...], 'steps': 17, 'halted': True, 'halt_reason': 'halt', 'output': None}

Two strategies give identical results:

- `"stepwise"`: Algorithm 1 of the paper. At every step, one forward pass for all programs still running maps
  (C_t, description) to the operands (A, B, C), and the machine executes that one instruction.
- `"decoded"` (default): the network's output depends only on (C_t, description), never on data memory, so the L
  instructions of each distinct description are decoded once, in one batched forward pass, and the decoded
  programs run at machine speed on the batched machine (`run_subleq_batch`, its numba kernel on CPU when numba is
  installed); without that kernel (as in a checkpoint's remote code), a few inputs run on the reference machine
  (`run_subleq`) instead. Traced runs always use the reference machine.

Glossary of shapes:
    N: inputs in a call (one description and one data memory each)
    D: distinct descriptions among them
    L: `config.max_program_length`, instructions 1..L of each program
    k: `config.data_memory_size`, data-memory cells
    T: tokens of the longest input

This file is remote code: it imports only the standard library, torch, transformers and its sibling `subleq.py`.
"""

import collections.abc

import torch
from transformers import Pipeline

from .subleq import (
    DEFAULT_MAX_STEPS,
    MAX_STEPS,
    SubleqError,
    SubleqResult,
    TraceStep,
    _reason,
    cpu_kernel_available,
    run_subleq,
    run_subleq_batch,
    step,
    validate_max_steps,
    validate_memory,
)


# The task name of `pipeline(...)`; a saved checkpoint lists it under `custom_pipelines` in config.json.
SUBLEQ_TASK = "subleq-execution"

STRATEGIES = ("decoded", "stepwise")

# Where the batched machine has no fast CPU kernel (numba missing, or a checkpoint's remote code), up to this many
# inputs run one by one on the pure-Python reference machine (about 0.1 us per step); more run together on the
# batched machine's tensor path, whose fixed cost per tensor step (tens of us) pays off only over many rows. With
# the kernel, every untraced run uses the batched machine (a few ns per step). All machines are exact, so the
# choice never changes a result.
REFERENCE_MACHINE_MAX_ROWS = 16

# Rows per forward pass when decoding (the `batch_size` argument overrides it): one pass for up to 16 programs of
# the paper's L = 256 instructions.
DEFAULT_FORWARD_ROWS = 4096

# Tokenizers without a real limit report a huge `model_max_length` (int(1e30)); ignore anything above this.
_NO_LIMIT = 1_000_000


class SubleqPipeline(Pipeline):
    """
    Runs memorized subleq programs: `pipe(description, memory=None, max_steps=100_000, strategy="decoded",
    return_trace=False)`.

    The network never sees data memory: it maps (instruction number C_t, program description) to the operands
    (A, B, C) of that instruction, and the subleq machine of `subleq.py` executes them (Algorithm 1; see the
    module docstring for the two strategies, which always agree).

    Not supported: programs longer than `config.max_program_length`, per-input step budgets, and running the
    machine on an accelerator (the network runs on the pipeline's device; the machine always runs on the CPU).
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def _sanitize_parameters(self, memory=None, max_steps=None, strategy=None, return_trace=None, **kwargs):
        if kwargs:
            raise TypeError(f"SubleqPipeline got unexpected arguments: {sorted(kwargs)}")
        preprocess_params, forward_params = {}, {}
        if memory is not None:
            preprocess_params["memory"] = memory
        if max_steps is not None:
            forward_params["max_steps"] = validate_max_steps(max_steps)
        if strategy is not None:
            if strategy not in STRATEGIES:
                raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
            forward_params["strategy"] = strategy
        if return_trace is not None:
            forward_params["return_trace"] = bool(return_trace)
        return preprocess_params, forward_params, {}

    def __call__(self, inputs, memory=None, max_steps=None, strategy=None, return_trace=None, batch_size=None):
        """
        Run one or many memorized programs.

        Args:
            inputs (`str`, `dict` or a list of them):
                A program description: a program token such as `"[PROG_3]"`, or text for soft programs. A dict
                `{"description": ..., "memory": ...}` gives an input its own data memory. A list (or any other
                iterable that is neither a string nor a dict) of descriptions or dicts is a batch, run together.
            memory (`list[int]` or 1-D integer tensor, *optional*):
                The initial data memory (k integers) of every input that does not give its own. Defaults to the
                checkpoint's `config.memory_image`, or k zeros when it has none. Never mutated.
            max_steps (`int`, *optional*, defaults to 100,000):
                The step budget of each input: a run stops with `halt_reason="max_steps"` after this many executed
                instructions (0 executes nothing). 100,000 is `subleq.DEFAULT_MAX_STEPS`, the reference machine's
                default; with `strategy="stepwise"` it is also a bound of 100,000 forward passes.
            strategy (`str`, *optional*, defaults to `"decoded"`):
                `"decoded"` (decode each distinct description once, then run the machine) or `"stepwise"` (one
                forward pass per executed step, all running inputs together). The results are identical.
            return_trace (`bool`, *optional*, defaults to `False`):
                Also return `trace`: one dict `{instruction, a, b, c, value}` per executed instruction (`value` is
                what was written to `mem[b]`). Runs each input on the reference machine.
            batch_size (`int`, *optional*):
                The most rows (one row per (C_t, description) pair) in one forward pass; default 4096.

        Returns:
            One dict per input (a dict for a single input, a list of dicts for a batch):
            - `memory` (`list[int]`): the final data memory.
            - `steps` (`int`): instructions executed, the halting one included.
            - `halted` (`bool`): False only when the step budget ran out.
            - `halt_reason` (`str`): `"halt"` (an instruction with C = 0 ran), `"end_of_program"` (the next
              instruction number was L + 1) or `"max_steps"`, as `run_subleq` reports them.
            - `output`: the final value of `config.output_cell` (None when the config has none), and `label`,
              `config.id2label[output]` (None if that value has no name), when the config has `id2label`.
            - `trace` (`list[dict]`), when `return_trace=True`.

        Raises:
            ValueError: for an empty or non-string description, a description whose input is longer than the
                backbone accepts, a memory of the wrong length or with non-integer cells, a negative or
                non-integer `max_steps`, an unknown strategy, or an int64 overflow while running (`SubleqError`,
                a `ValueError`, naming the input and the instruction).
        """
        is_batch = not isinstance(inputs, (str, dict)) and isinstance(inputs, collections.abc.Iterable)
        items = list(inputs) if is_batch else [inputs]
        preprocess_params, forward_params, postprocess_params = self._sanitize_parameters(
            memory=memory, max_steps=max_steps, strategy=strategy, return_trace=return_trace
        )
        preprocess_params = {**self._preprocess_params, **preprocess_params}
        forward_params = {**self._forward_params, **forward_params}
        batch_size = batch_size if batch_size is not None else self._batch_size
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size must be an int >= 1 (rows per forward pass), got {batch_size!r}")
            forward_params["batch_size"] = batch_size
        postprocess_params = {**self._postprocess_params, **postprocess_params}
        if not items:
            return []
        # The whole batch is one "input" of the Pipeline contract: preprocess validates and tokenizes it, one
        # _forward runs the network and the machine for all of it, postprocess makes one dict per input.
        outputs = self.run_single(items, preprocess_params, forward_params, postprocess_params)
        return outputs if is_batch else outputs[0]

    def get_inference_context(self):
        return torch.inference_mode

    # preprocess: validate, pick each input's memory, tokenize every (C_t, description) pair once

    def preprocess(self, items, memory=None):
        config = self.model.config
        k = config.data_memory_size
        if memory is None:
            default_memory = list(config.memory_image) if config.memory_image is not None else [0] * k
        else:
            default_memory = self._check_memory(memory)

        descriptions, row_description, memories = [], [], []
        index_of = {}
        for position, item in enumerate(items):
            where = f"input {position}: " if len(items) > 1 else ""
            if isinstance(item, dict):
                unknown = set(item) - {"description", "memory"}
                if unknown:
                    raise ValueError(f"{where}unknown keys {sorted(unknown)}; an input dict has 'description' and "
                                     "optionally 'memory'")
                if "description" not in item:
                    raise ValueError(f"{where}an input dict needs a 'description'")
                description = item["description"]
                cells = default_memory
                if item.get("memory") is not None:
                    cells = self._check_memory(item["memory"], where)
            else:
                description, cells = item, default_memory
            self._check_description(description, where)
            if description not in index_of:
                index_of[description] = len(descriptions)
                descriptions.append(description)
            row_description.append(index_of[description])
            memories.append(list(cells))
        return {
            "descriptions": descriptions,
            "row_description": row_description,
            "memories": memories,
            "encodings": self._tokenize(descriptions),
        }

    def _check_memory(self, memory, where=""):
        k = self.model.config.data_memory_size
        try:
            cells = validate_memory(memory)
        except SubleqError as error:
            raise ValueError(f"{where}{error}") from None
        if len(cells) != k:
            raise ValueError(f"{where}memory has {len(cells)} cells but the model's data memory has k = {k} cells")
        return cells

    @staticmethod
    def _check_description(description, where=""):
        if not isinstance(description, str):
            raise ValueError(
                f"{where}a description must be a string (a program token such as '[PROG_0]' or text), got "
                f"{type(description).__name__}: {description!r}"
            )
        if not description.strip():
            raise ValueError(f"{where}empty description: give a program token such as '[PROG_0]' or text")

    def max_input_length(self) -> int | None:
        """The most tokens one input may have: the smaller of the backbone's position limit and the tokenizer's."""
        text_config = self.model.config.get_text_config()
        limits = [
            getattr(text_config, name, None) for name in ("max_position_embeddings", "n_positions", "max_seq_len")
        ]
        limits.append(getattr(self.tokenizer, "model_max_length", None))
        limits = [limit for limit in limits if isinstance(limit, int) and 0 < limit < _NO_LIMIT]
        return min(limits) if limits else None

    def _tokenize(self, descriptions: list[str]) -> dict[str, torch.Tensor]:
        """Inputs of all L instructions of every description, padded together: row d * L + (C_t - 1), `[D*L, T]`."""
        config = self.model.config
        length = config.max_program_length
        texts = [config.format_input(c, description) for description in descriptions for c in range(1, length + 1)]
        encodings = self.tokenizer(
            texts, add_special_tokens=config.add_special_tokens, padding=True, return_tensors="pt", verbose=False
        )
        tokens = encodings["attention_mask"].sum(-1).view(len(descriptions), length).amax(-1)  # [D]
        limit = self.max_input_length()
        if limit is not None and int(tokens.max()) > limit:
            d = int((tokens > limit).nonzero()[0, 0])
            shown = descriptions[d] if len(descriptions[d]) <= 80 else descriptions[d][:77] + "..."
            raise ValueError(
                f"description {shown!r} is too long: with an instruction number, its input has {int(tokens[d])} "
                f"tokens, but the backbone accepts at most {limit} (the smaller of its position limit and the "
                "tokenizer's model_max_length)"
            )
        names = ("input_ids", "attention_mask", "token_type_ids")  # what the model takes; not all tokenizers make all
        return {name: encodings[name] for name in names if name in encodings}

    # _forward: the network, then the machine

    def _predict(self, encodings: dict[str, torch.Tensor], rows: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Arg-max operands (A, B, C) of the given rows of `encodings` (all rows when None): `[rows, 3]` on the CPU."""
        total = encodings["input_ids"].shape[0] if rows is None else rows.numel()
        out = []
        for start in range(0, total, batch_size):
            if rows is None:
                chunk = {name: t[start : start + batch_size] for name, t in encodings.items()}  # [<=batch, T]
            else:
                index = rows[start : start + batch_size]
                chunk = {name: t.index_select(0, index) for name, t in encodings.items()}  # [<=batch, T]
            outputs = self.model(**chunk)
            out.append(
                torch.stack(
                    [outputs.a_logits.argmax(-1), outputs.b_logits.argmax(-1), outputs.c_logits.argmax(-1)], dim=-1
                )  # [<=batch, 3]
            )
        return torch.cat(out).cpu()

    def _forward(self, model_inputs, max_steps=DEFAULT_MAX_STEPS, strategy="decoded", return_trace=False,
                 batch_size=DEFAULT_FORWARD_ROWS):
        encodings, memories = model_inputs["encodings"], model_inputs["memories"]
        row_description = model_inputs["row_description"]
        if strategy == "stepwise":
            results = self._run_stepwise(encodings, row_description, memories, max_steps, return_trace, batch_size)
        else:
            num_descriptions, length = len(model_inputs["descriptions"]), self.model.config.max_program_length
            programs = self._predict(encodings, None, batch_size).view(num_descriptions, length, 3)  # [D, L, 3]
            results = self._run_decoded(programs, row_description, memories, max_steps, return_trace)
        return {"results": results}

    @staticmethod
    def _run_decoded(programs, row_description, memories, max_steps, return_trace) -> list[SubleqResult]:
        n = len(memories)
        if return_trace or (n <= REFERENCE_MACHINE_MAX_ROWS and not cpu_kernel_available()):
            decoded = [[tuple(instruction) for instruction in program] for program in programs.tolist()]
            results = []
            for i, (d, cells) in enumerate(zip(row_description, memories)):
                try:
                    results.append(run_subleq(decoded[d], cells, max_steps, return_trace=return_trace))
                except SubleqError as error:
                    raise _name_input(error, i, n) from None
            return results
        index = torch.tensor(row_description, dtype=torch.long)
        try:
            batch = run_subleq_batch(programs.index_select(0, index), torch.tensor(memories, dtype=torch.int64),
                                     max_steps)  # programs [N, L, 3], memories [N, k]
        except SubleqError as error:  # batch row i is input i
            raise _name_input(error, error.index, n) from None
        return batch.to_results()

    def _run_stepwise(self, encodings, row_description, memories, max_steps, return_trace, batch_size):
        """Algorithm 1: each step, one forward pass (chunked by `batch_size`) for every input still running, then
        the reference machine's own `step` on each of their memories."""
        n, length = len(memories), self.model.config.max_program_length
        mems = [list(cells) for cells in memories]
        pcs, steps = [1] * n, [0] * n
        reasons = [MAX_STEPS] * n  # what a run still going when its budget is spent ends with
        traces = [[] for _ in range(n)] if return_trace else None
        running = list(range(n)) if max_steps > 0 else []
        device = encodings["input_ids"].device
        while running:
            rows = torch.tensor([row_description[i] * length + pcs[i] - 1 for i in running], device=device)  # [n_run]
            operands = self._predict(encodings, rows, batch_size).tolist()  # [n_run, 3]
            still_running = []
            for i, instruction in zip(running, operands):
                try:
                    pc = step(mems[i], pcs[i], instruction, length)
                except SubleqError as error:
                    raise _name_input(error, i, n) from None
                if return_trace:
                    a, b, c = instruction
                    traces[i].append(TraceStep(pcs[i], a, b, c, mems[i][b]))
                pcs[i], steps[i] = pc, steps[i] + 1
                reasons[i] = _reason(pc, length)
                if reasons[i] == MAX_STEPS and steps[i] < max_steps:
                    still_running.append(i)
            running = still_running
        return [
            SubleqResult(mems[i], steps[i], reasons[i], traces[i] if return_trace else None) for i in range(n)
        ]

    # postprocess: plain Python per input

    def postprocess(self, model_outputs):
        config = self.model.config
        output_cell = config.output_cell
        id2label = config.id2label or {}
        out = []
        for result in model_outputs["results"]:
            record = {
                "memory": list(result.memory),
                "steps": int(result.steps),
                "halted": result.halted,
                "halt_reason": result.halt_reason,
                "output": None if output_cell is None else result.memory[output_cell],
            }
            if id2label:
                record["label"] = id2label.get(record["output"], id2label.get(str(record["output"])))
            if result.trace is not None:
                record["trace"] = [step.to_dict() for step in result.trace]
            out.append(record)
        return out

    # inspection

    def decode_program(self, description: str, batch_size: int | None = None) -> list[tuple[int, int, int]]:
        """
        The program the network holds for `description`: its L instructions (A, B, C), for C_t = 1..L.

        Raises:
            ValueError: for an empty or non-string description, or one whose input is longer than the backbone
                accepts.
        """
        self._check_description(description)
        batch_size = batch_size or self._batch_size or DEFAULT_FORWARD_ROWS
        with self.device_placement(), torch.inference_mode():
            encodings = {name: t.to(self.device) for name, t in self._tokenize([description]).items()}
            operands = self._predict(encodings, None, batch_size)  # [L, 3]
        return [tuple(instruction) for instruction in operands.tolist()]


def _name_input(error: SubleqError, i, n: int) -> SubleqError:
    """A machine error relabelled for the caller: "input i: ..." in a batch of n > 1 inputs, no index for one."""
    return error.with_index(i if n > 1 else None, name="input")


__all__ = ["DEFAULT_FORWARD_ROWS", "REFERENCE_MACHINE_MAX_ROWS", "STRATEGIES", "SUBLEQ_TASK", "SubleqPipeline"]
