# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""Running programs that a network decodes on demand: the lazy, decoded and stepwise strategies.

The network of a Synthesizer maps (program description, instruction number C_t) to the operands (A, B, C) of that
instruction; it never sees data memory. A `Decoder` wraps any callable that does that mapping for a list of pairs, and
the functions here run many inputs (one description and one data memory each) on the subleq machine of `subleq.py`,
asking the decoder only for what they need:

- `run_lazy`: every input runs on the reference machine through the instructions decoded so far, until it halts,
  leaves the program, spends its budget or reaches an instruction not decoded yet; the instructions all waiting
  inputs need are then decoded together in one call, and the inputs run on (`LazyRuns`). A description that at least
  L inputs share is decoded whole instead, and its inputs run together as `run_decoded` runs them.
- `run_decoded`: the L instructions of each distinct description are decoded in one call, and the programs run on
  the batched machine (`run_subleq_batch`), or one by one on the reference machine (`run_subleq`) where that is
  faster (`Machine`).
- `run_stepwise`: Algorithm 1 of the paper. At every step, one call decodes the current instruction of every input
  still running, and the machine executes that one instruction (`subleq.step`).

All three give exactly the results of `run_subleq` on the decoded programs (the machines are exact); they differ in
how many pairs they decode and how many decoder calls that takes. This is the engine of the `"subleq-execution"`
pipeline, which decodes with the network:

    >>> from modeling_synthesizer.execution import Decoder, run_programs
    >>> program = [(1, 0, 0)]  # instruction 1: mem[0] -= mem[1], then halt (C = 0)
    >>> decoder = Decoder(lambda pairs: ([program[pc - 1] for _, pc in pairs], [1.0] * len(pairs)))
    >>> [result.memory for result in run_programs(decoder, ["[PROG_0]"], [[5, 2]], length=1)]
    [[3, 2]]

Glossary of shapes:
    N: inputs (one description and one data memory each)
    P: (description, C_t) pairs decoded in one decoder call
    L: the programs' length, instructions 1..L
    k: data-memory cells

This file is remote code: it imports only the standard library, torch and its siblings `subleq.py` and
`known_programs.py`.
"""

import collections
import dataclasses
from collections.abc import Callable, Sequence

import torch

from .known_programs import RunRefused
from .subleq import (
    DEFAULT_MAX_STEPS,
    MAX_STEPS,
    SubleqError,
    SubleqResult,
    TraceStep,
    cpu_kernel_available,
    execute,
    halt_reason_at,
    run_subleq,
    run_subleq_batch,
    step,
    table_entry,
)


STRATEGIES = ("lazy", "decoded", "stepwise")

# Where the batched machine has no fast CPU kernel (numba missing, or a checkpoint's remote code), up to this many
# inputs run one by one on the pure-Python reference machine (about 0.1 us per step); more run together on the
# batched machine's tensor path, whose fixed cost per tensor step (tens of us) pays off only over many rows. With
# the kernel, every untraced run uses the batched machine (a few ns per step). All machines are exact, so the
# choice never changes a result.
REFERENCE_MACHINE_MAX_ROWS = 16

# The most program cells (rows x L x 3 int64) the batched machine is given at once: a larger batch runs in slices of
# rows (each row is independent). 2**24 cells (128 MiB) is one slice for any batch at L = 256.
MACHINE_VALUES = 1 << 24

Pair = tuple[str, int]  # (description, C_t)
Operands = tuple[int, int, int]  # (A, B, C)


@dataclasses.dataclass(frozen=True)
class Machine:
    """
    Which machine runs decoded programs, and in slices of what size. Every machine is exact: these settings choose
    speed and memory, never a result.

    Attributes:
        run_batch (`Callable`, defaults to `subleq.run_subleq_batch`):
            The batched machine: `(programs [R, L, 3], memories [R, k], max_steps) -> SubleqBatchResult`, raising
            `SubleqError` with the row in `index`.
        reference_max_rows (`int`, *optional*):
            Up to this many inputs run one by one on the reference machine (`run_subleq`), more on `run_batch`.
            Defaults to `REFERENCE_MACHINE_MAX_ROWS` without the batched machine's CPU kernel, 0 with it
            (`subleq.cpu_kernel_available()`, read when a run starts).
        max_values (`int`, defaults to `MACHINE_VALUES`):
            The most program cells (rows x L x 3) given to `run_batch` in one call.
    """

    run_batch: Callable = run_subleq_batch
    reference_max_rows: int | None = None
    max_values: int = MACHINE_VALUES

    def uses_reference(self, rows: int) -> bool:
        """Whether `rows` inputs run one by one on the reference machine rather than together on `run_batch`."""
        limit = self.reference_max_rows
        if limit is None:  # read at each run: the kernel registers itself when the package is imported
            limit = 0 if cpu_kernel_available() else REFERENCE_MACHINE_MAX_ROWS
        return rows <= limit


class Decoder:
    """
    Decodes (description, C_t) pairs through `decode` and remembers, for the runs of one batch, each pair's operands
    and confidence: to refuse a run before it executes an instruction below `min_confidence`, and to report
    confidences in traces.

    Args:
        decode (`Callable`):
            `pairs -> (operands, confidences)`: for each (description, C_t) pair, the operands (A, B, C) of
            instruction C_t of the described program (Python ints: A, B in [0, k), C in [0, L]) and the probability
            of that (A, B, C) (1.0 where there is no such notion). The network's arg-max in the pipeline.
        min_confidence (`float`, *optional*):
            Refuse (`RunRefused`) a run before it executes an instruction decoded with a lower confidence. None: never.

    Attributes:
        operands (`dict`): (description, C_t) -> (A, B, C), every pair decoded so far.
        confidence (`dict`): (description, C_t) -> the confidence of its (A, B, C).
    """

    def __init__(self, decode: Callable, min_confidence: float | None = None):
        self.decode, self.min_confidence = decode, min_confidence
        self.confidence = {}
        self.operands = {}

    def __call__(self, pairs: list[Pair]) -> list[Operands]:
        """The operands of `pairs`, decoded in one call of `decode`."""
        operands, confidences = self.decode(pairs)
        self.confidence.update(zip(pairs, confidences))
        self.operands.update(zip(pairs, operands))
        return operands

    def sure(self, description: str, pc: int) -> bool:
        """Whether the decoded instruction `pc` of `description` may run (always, without `min_confidence`)."""
        return self.min_confidence is None or self.confidence[description, pc] >= self.min_confidence

    def check(self, description: str, pc: int, index: int | None) -> None:
        """
        Raises:
            RunRefused: naming input `index`, if instruction `pc` of `description` is decoded and below
                `min_confidence`.
        """
        confidence = self.confidence.get((description, pc))
        if confidence is not None and not self.sure(description, pc):
            raise RunRefused(
                f"instruction {pc} would run with confidence {confidence:.6g} < min_confidence "
                f"{self.min_confidence:.6g}",
                description=description, index=index, instruction=pc, confidence=confidence,
            )

    def confidences(self, description: str) -> dict[int, float]:
        """C_t -> confidence of every decoded instruction of `description`."""
        return {pc: confidence for (text, pc), confidence in self.confidence.items() if text == description}


def run_programs(decoder: Decoder, descriptions: Sequence[str], memories: Sequence[Sequence[int]], length: int,
                 max_steps: int = DEFAULT_MAX_STEPS, *, strategy: str = "lazy", return_trace: bool = False,
                 indices: Sequence[int | None] | None = None,
                 machine: Machine | None = None) -> list[SubleqResult]:
    """
    Run each input's described program on its data memory, decoding instructions with `decoder` as `strategy` says.

    Args:
        decoder (`Decoder`): decodes (description, C_t) pairs; it keeps what this run decoded.
        descriptions (`Sequence[str]`): one program description per input (N).
        memories (`Sequence[Sequence[int]]`): one data memory per input (N x k Python ints within int64, as
            `subleq.validate_memory` returns them). Copied, never mutated.
        length (`int`): L, the number of instructions of every program (C_t in 1..L).
        max_steps (`int`, defaults to 100,000): the step budget of each input (an int >= 0, as
            `subleq.validate_max_steps` returns it).
        strategy (`str`, defaults to `"lazy"`): one of `STRATEGIES` (see the module docstring).
        return_trace (`bool`, defaults to `False`): record each run's `TraceStep`s (on the reference machine).
        indices (`Sequence`, *optional*): what each input is called in an error's `index` ("input {index}: ..."),
            e.g. its position among a larger call's inputs; None in it leaves the error unindexed. Defaults to 0..N-1.
        machine (`Machine`, *optional*): which machine runs whole decoded programs; defaults to `Machine()`.

    Returns:
        One `SubleqResult` per input, in order.

    Raises:
        RunRefused: naming the input, before it would execute an instruction below the decoder's `min_confidence`.
        SubleqError: naming the input (`index`, `index_name="input"`) and the instruction, for an int64 overflow or
            an operand out of range.
        ValueError: for an unknown strategy; and whatever `decoder` raises.
    """
    runs = {"lazy": run_lazy, "decoded": run_decoded, "stepwise": run_stepwise}
    if strategy not in runs:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    return runs[strategy](decoder, descriptions, memories, length, max_steps, return_trace=return_trace,
                          indices=indices, machine=machine)


def run_lazy(decoder: Decoder, descriptions, memories, length: int, max_steps: int = DEFAULT_MAX_STEPS, *,
             return_trace: bool = False, indices=None, machine: Machine | None = None) -> list[SubleqResult]:
    """The `"lazy"` strategy of `run_programs` (same arguments): decodes only the instructions the runs reach, and a
    description that at least L inputs share whole."""
    memories, indices = _own(memories, indices)
    counts = collections.Counter(descriptions)
    whole = [i for i, description in enumerate(descriptions) if counts[description] >= length]
    results = [None] * len(descriptions)
    if whole:
        decoded = _run_decoded(decoder, [descriptions[i] for i in whole], [memories[i] for i in whole], length,
                               max_steps, return_trace=return_trace, indices=[indices[i] for i in whole],
                               machine=machine or Machine())
        for i, result in zip(whole, decoded):
            results[i] = result
    rest = [i for i in range(len(descriptions)) if results[i] is None]
    if rest:
        runs = LazyRuns(decoder, [descriptions[i] for i in rest], [memories[i] for i in rest], length, max_steps,
                        return_trace=return_trace, indices=[indices[i] for i in rest])
        while runs.waiting():
            pairs = runs.wanted()
            runs.learn(pairs, decoder(pairs))
        for i, result in zip(rest, runs.results()):
            results[i] = result
    return results


def run_decoded(decoder: Decoder, descriptions, memories, length: int, max_steps: int = DEFAULT_MAX_STEPS, *,
                return_trace: bool = False, indices=None, machine: Machine | None = None) -> list[SubleqResult]:
    """The `"decoded"` strategy of `run_programs` (same arguments): decodes every instruction of each distinct
    description in one decoder call, then runs the programs on the machine."""
    memories, indices = _own(memories, indices)
    return _run_decoded(decoder, descriptions, memories, length, max_steps, return_trace=return_trace,
                        indices=indices, machine=machine or Machine())


def run_stepwise(decoder: Decoder, descriptions, memories, length: int, max_steps: int = DEFAULT_MAX_STEPS, *,
                 return_trace: bool = False, indices=None, machine: Machine | None = None) -> list[SubleqResult]:
    """The `"stepwise"` strategy of `run_programs` (same arguments; `machine` is unused): Algorithm 1, one decoder
    call per step for every input still running, then the reference machine's own `step` on each of their
    memories."""
    memories, indices = _own(memories, indices)
    n = len(memories)
    pcs, steps = [1] * n, [0] * n
    reasons = [MAX_STEPS] * n  # what a run still going when its budget is spent ends with
    traces = [[] for _ in range(n)] if return_trace else [None] * n
    running = list(range(n)) if max_steps > 0 else []
    while running:
        operands = decoder([(descriptions[i], pcs[i]) for i in running])
        still_running = []
        for i, instruction in zip(running, operands):
            decoder.check(descriptions[i], pcs[i], indices[i])
            try:
                pc = step(memories[i], pcs[i], instruction, length)
            except SubleqError as error:
                raise error.with_index(indices[i], name="input") from None
            if return_trace:
                a, b, c = instruction
                traces[i].append(TraceStep(pcs[i], a, b, c, memories[i][b]))
            pcs[i], steps[i] = pc, steps[i] + 1
            reasons[i] = halt_reason_at(pc, length)
            if reasons[i] == MAX_STEPS and steps[i] < max_steps:
                still_running.append(i)
        running = still_running
    return [SubleqResult(memories[i], steps[i], reasons[i], traces[i]) for i in range(n)]


def _own(memories, indices) -> tuple[list[list[int]], list]:
    """Copies of `memories` for the runs to write to, and `indices` as a list (0..N-1 by default)."""
    return [list(cells) for cells in memories], list(range(len(memories)) if indices is None else indices)


def _run_decoded(decoder, descriptions, memories, length, max_steps, *, return_trace, indices,
                 machine: Machine) -> list[SubleqResult]:
    """`run_decoded` on memories it may write to."""
    distinct = list(dict.fromkeys(descriptions))
    pairs = [(description, pc) for description in distinct for pc in range(1, length + 1)]
    decoded = decoder(pairs)
    unsure = {description for description, pc in pairs if not decoder.sure(description, pc)}
    if unsure:
        # Some decoded instruction is below min_confidence: run every input lazily on what is decoded, which stops
        # (and refuses) only if a run reaches such an instruction.
        runs = LazyRuns(decoder, descriptions, memories, length, max_steps, return_trace=return_trace,
                        indices=indices)
        runs.learn(pairs, decoded)
        return runs.results()
    programs = {description: decoded[d * length : (d + 1) * length] for d, description in enumerate(distinct)}
    n = len(memories)
    if return_trace or machine.uses_reference(n):
        results = []
        for description, cells, index in zip(descriptions, memories, indices):
            try:
                results.append(run_subleq(programs[description], cells, max_steps, return_trace=return_trace))
            except SubleqError as error:
                raise error.with_index(index, name="input") from None
        return results
    rows = max(1, machine.max_values // (3 * length))  # inputs a machine call, so its [R, L, 3] stays bounded
    results = []
    for start in range(0, n, rows):
        batch = [programs[description] for description in descriptions[start : start + rows]]
        try:
            ran = machine.run_batch(torch.tensor(batch, dtype=torch.int64).view(len(batch), length, 3),
                                    torch.tensor(memories[start : start + rows], dtype=torch.int64),  # [R, k]
                                    max_steps)
        except SubleqError as error:  # row i of this slice is input start + i
            raise error.with_index(indices[start + error.index], name="input") from None
        results += ran.to_results()
    return results


class LazyRuns:
    """
    The runs of the lazy strategy: each input advances on the reference machine through the instructions decoded
    so far (`subleq.execute` on a per-description table), and stops to wait at an instruction not decoded yet.

    Use: `while runs.waiting(): pairs = runs.wanted(); runs.learn(pairs, decoder(pairs))`, then `runs.results()`.

    Args:
        decoder (`Decoder`): what `learn` asks whether an instruction is sure (`min_confidence`), and refuses with.
        descriptions, memories, length, max_steps, return_trace, indices: as `run_programs` takes them, except that
            `memories` are run in place (the results hold them).
    """

    def __init__(self, decoder: Decoder, descriptions: Sequence[str], memories: list[list[int]], length: int,
                 max_steps: int = DEFAULT_MAX_STEPS, *, return_trace: bool = False, indices=None):
        self.decoder = decoder
        self.descriptions, self.memories = descriptions, memories
        self.indices = list(range(len(memories))) if indices is None else indices
        self.length, self.max_steps = length, max_steps
        self.tables = {description: {} for description in descriptions}  # C_t -> table_entry, what is decoded
        self.operands = {description: {} for description in descriptions}  # C_t -> (A, B, C), for traces
        self.pcs, self.steps = [1] * len(descriptions), [0] * len(descriptions)
        self.traces = [[] for _ in descriptions] if return_trace else None
        self._waiting = [i for i in range(len(descriptions)) if max_steps > 0]

    def waiting(self) -> bool:
        """Whether some input waits for an instruction not decoded yet."""
        return bool(self._waiting)

    def wanted(self) -> list[Pair]:
        """The distinct (description, C_t) pairs the waiting inputs need next."""
        return list(dict.fromkeys((self.descriptions[i], self.pcs[i]) for i in self._waiting))

    def learn(self, pairs: list[Pair], operands: list[Operands]) -> None:
        """
        Record the decoded operands of `pairs` (description, C_t), then run every waiting input as far as they take
        it. An instruction below the decoder's `min_confidence` is never recorded, so a run stops in front of it.

        Raises:
            RunRefused: naming the first waiting input whose next instruction is below `min_confidence`.
            SubleqError: from the machine, naming the input (an int64 overflow, or an operand outside the memory).
        """
        for (description, pc), (a, b, c) in zip(pairs, operands):
            if not 0 <= c <= self.length:
                # A jump past the program: the other strategies refuse it when the program is decoded; so must a
                # run that would never take the jump. Named by the first input of that description.
                self._refuse(self.descriptions.index(description), pc, (a, b, c))
            if self.decoder.sure(description, pc):
                self.tables[description][pc] = table_entry(pc, a, b, c, self.length)
                self.operands[description][pc] = (a, b, c)
        still_waiting = []
        for i in self._waiting:
            description = self.descriptions[i]
            try:
                self._advance(i)
            except SubleqError as error:
                raise error.with_index(self.indices[i], name="input") from None
            pc = self.pcs[i]
            if self.steps[i] < self.max_steps and pc in self.tables[description]:
                # Decoded and recorded, yet not executed: `execute` stops on a LookupError, and here that was an
                # operand outside this input's memory. Waiting for the instruction again would never end.
                self._refuse(i, pc, self.operands[description][pc])
            if self.steps[i] < self.max_steps and 1 <= pc <= self.length:
                # Stopped at an instruction not decoded yet, or decoded below min_confidence (refused here).
                self.decoder.check(description, pc, self.indices[i])
                still_waiting.append(i)
        self._waiting = still_waiting

    def _refuse(self, i: int, pc: int, operands: Operands) -> None:
        """Raise the machine's own error (`step`'s, on a copy of input `i`'s memory) for instruction `pc` = `operands`
        of input `i`, which cannot run there."""
        try:
            step(list(self.memories[i]), pc, operands, self.length)
        except SubleqError as error:
            raise error.with_index(self.indices[i], name="input") from None
        raise RuntimeError(f"input {self.indices[i]}: instruction {pc} = {operands} was decoded but does not run")

    def _advance(self, i: int) -> None:
        description, mem = self.descriptions[i], self.memories[i]
        if self.traces is None:
            self.steps[i], self.pcs[i] = execute(self.tables[description], mem, self.pcs[i], self.steps[i],
                                                 self.max_steps)
            return
        known = self.operands[description]
        while self.steps[i] < self.max_steps and self.pcs[i] in known:  # one step at a time, recording each write
            pc, (a, b, c) = self.pcs[i], known[self.pcs[i]]
            self.pcs[i], self.steps[i] = step(mem, pc, (a, b, c), self.length), self.steps[i] + 1
            self.traces[i].append(TraceStep(pc, a, b, c, mem[b]))

    def results(self) -> list[SubleqResult]:
        """One `SubleqResult` per input, in order (once no input waits)."""
        traces = self.traces or [None] * len(self.memories)
        return [SubleqResult(mem, steps, halt_reason_at(pc, self.length), trace)
                for mem, steps, pc, trace in zip(self.memories, self.steps, self.pcs, traces)]


__all__ = [
    "MACHINE_VALUES",
    "REFERENCE_MACHINE_MAX_ROWS",
    "STRATEGIES",
    "Decoder",
    "LazyRuns",
    "Machine",
    "run_decoded",
    "run_lazy",
    "run_programs",
    "run_stepwise",
]
