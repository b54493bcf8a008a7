"""The subleq machine of Algorithm 1: a reference interpreter and a batched interpreter (lock step on torch tensors,
or a compiled CPU kernel when one is registered).

Semantics (paper, Algorithm 1, as this project implements it):

- Instruction memory holds instructions numbered 1..L; instruction number 0 means HALT. Data memory holds k
  integers. C_t starts at 1.
- One step at instruction C_t with operands (A, B, C): ``mem[B] = mem[B] - mem[A]``; the next instruction is C
  if ``mem[B] <= 0`` else C_t + 1. If C == 0 the machine halts after the write, whichever way the branch went.
  A next instruction of L + 1 means the program fell off its end.
- Operands: A, B in [0, k); C in [0, L]. Data memory holds int64 values; a write that leaves the int64 range
  is an error (both machines raise, so they always agree), never a silent wrap-around.
- Execution is bounded by a step budget ``max_steps`` so that a program that never halts still returns.

Glossary of shapes:
  N: programs in a batch.
  L: program length (instructions 1..L; the batched machine pads rows to a common L).
  k: data memory size (cells 0..k-1).

Algorithm 1 is written once per representation: `execute` (Python lists; the traced run, `step` and the run
strategies of `execution.py` execute their steps through it), the tensor loop of `run_subleq_batch`, and the numba
kernel of `fast_subleq.py`.

Only the standard library and torch are imported: this file is copied into Hub checkpoints as remote code, and
transformers copies every sibling that a relative import names (even one inside a function) along with it. The
numba kernel is therefore never imported here: `import modeling_synthesizer` registers it through
`register_cpu_kernel` when numba is installed (`pip install synthesizer[fast]`). A checkpoint's remote code runs
the batched machine on its tensor path.
"""

import collections.abc
import operator
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch


HALT = "halt"
END_OF_PROGRAM = "end_of_program"
MAX_STEPS = "max_steps"
HALT_REASONS = (HALT, END_OF_PROGRAM, MAX_STEPS)

# Finite so that a program that never halts still returns (halt_reason "max_steps"): at 5-10 M steps/s on one
# core that costs the reference machine 10-20 ms. Most of the paper's random 256-instruction programs never halt.
DEFAULT_MAX_STEPS = 100_000

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# The largest data memory (k) and program length (L) the package supports, so that a size written in a config or
# passed to the assembler is refused before anything of that size is allocated. k and L + 1 are the numbers of
# classes of the network's heads: at 2**16 classes a head over a 768-wide backbone already holds 50 M parameters,
# more than the backbone's encoder layers, and the paper's machines use k = L = 256. The machines themselves take
# memories and programs of any length (their work is bounded by the input's size).
MAX_DATA_MEMORY_SIZE = 1 << 16
MAX_PROGRAM_LENGTH = 1 << 16

# On its tensor path, the batched machine hands its rows to the reference loop once this few are still running. A
# tensor step costs roughly 25-50 us of operator overhead on a CPU whatever the number of rows, and the reference
# loop runs about 5-10 M steps/s on one core, so below a few hundred rows the loop is faster (measured break-even
# on a 2-core CPU: 250-500 rows). Results are identical either way; tests set it to 0 to keep every row on tensors.
BATCH_TAIL_ROWS = 256

# Tensor steps between two checks for finished rows (finished rows idle on a no-op until the next check).
_BATCH_CHUNK = 32

_CODE_HALT, _CODE_END, _CODE_MAX_STEPS = 0, 1, 2

# How `run_subleq_batch` runs: "fast" = the registered CPU kernel (numba, see fast_subleq.py), "tensor" = lock step on
# torch tensors (any device), "auto" = fast for CPU tensors when a kernel is registered, else tensor.
BATCH_ENGINES = ("auto", "fast", "tensor")

# The batched machine's CPU kernel, set by `register_cpu_kernel` (None: run the tensor path).
_cpu_kernel = None


class SubleqError(ValueError):
    """An invalid program, memory or step budget, or an int64 overflow while running.

    The message is built from the fields, ``"{index_name} {index}: instruction {instruction}: {detail}"`` with each
    prefix present only when its field is set, so a caller relabels an error with ``with_index`` and reads its
    fields instead of editing its text.

    Attributes:
        detail: the message without its prefixes, e.g. ``"operand B = 9 is out of range [0, 8) for a data memory
            of size 8"``.
        index: the batch row (or pipeline input) the error is about, else None.
        index_name: what ``index`` counts in the message: "row" (the batched machine) or "input" (the pipeline).
        instruction: the 1-based instruction number C_t the error is about, else None.
        operand: "A", "B" or "C" when one operand is the problem, else None.
        address: the data-memory cell the error is about (the target of an overflowing write, or a bad memory
            cell), else None.
    """

    def __init__(self, detail: str, *, index: Optional[int] = None, index_name: str = "row",
                 instruction: Optional[int] = None, operand: Optional[str] = None, address: Optional[int] = None):
        self.detail, self.index, self.index_name = detail, index, index_name
        self.instruction, self.operand, self.address = instruction, operand, address
        prefix = "" if index is None else f"{index_name} {index}: "
        prefix += "" if instruction is None else f"instruction {instruction}: "
        super().__init__(prefix + detail)

    def fields(self) -> dict:
        """The keyword fields (all but ``detail``)."""
        return {"index": self.index, "index_name": self.index_name, "instruction": self.instruction,
                "operand": self.operand, "address": self.address}

    def with_index(self, index: Optional[int], name: str = "row") -> "SubleqError":
        """A copy about ``index`` (None: no index prefix), called ``name`` in the message ("row" or "input")."""
        return type(self)(self.detail, **{**self.fields(), "index": index, "index_name": name})

    def __reduce__(self):  # keyword fields survive pickling (multiprocessing, DataLoader workers)
        return _rebuild_error, (type(self), self.detail, self.fields())


class SubleqTypeError(SubleqError, TypeError):
    """A ``SubleqError`` about an input of the wrong type (not a sequence, an unordered collection, a bool or a
    non-integer, a tensor of the wrong dtype or without data to read): also a ``TypeError``."""


def _rebuild_error(cls, detail: str, fields: dict) -> SubleqError:
    return cls(detail, **fields)


@dataclass(frozen=True)
class TraceStep:
    """One executed instruction: number ``instruction`` (C_t) with operands (a, b, c) wrote ``value`` to mem[b]."""

    instruction: int
    a: int
    b: int
    c: int
    value: int

    def to_dict(self) -> dict:
        return {"instruction": self.instruction, "a": self.a, "b": self.b, "c": self.c, "value": self.value}


@dataclass
class SubleqResult:
    """What one run of the reference machine ends in.

    Attributes:
        memory: the final data memory (k ints).
        steps: instructions executed, the halting one included.
        halt_reason: one of ``HALT_REASONS``.
        trace: one ``TraceStep`` per executed instruction when tracing was asked for, else None.
    """

    memory: list[int]
    steps: int
    halt_reason: str
    trace: Optional[list[TraceStep]] = None

    @property
    def halted(self) -> bool:
        """False only when the step budget ran out ("max_steps")."""
        return self.halt_reason != MAX_STEPS

    def to_dict(self) -> dict:
        """Plain Python (lists, ints, strs, bool, None): JSON-serializable."""
        return {
            "memory": list(self.memory),
            "steps": self.steps,
            "halt_reason": self.halt_reason,
            "halted": self.halted,
            "trace": None if self.trace is None else [step.to_dict() for step in self.trace],
        }


@dataclass
class SubleqBatchResult:
    """What one run of the batched machine ends in.

    Attributes:
        memory: final data memories, int64 tensor of shape [N, k].
        steps: instructions executed per row, the halting one included, int64 tensor of shape [N].
        halt_reason: one of ``HALT_REASONS`` per row (length N).
    """

    memory: torch.Tensor
    steps: torch.Tensor
    halt_reason: list[str]

    @property
    def halted(self) -> torch.Tensor:
        """Bool tensor of shape [N]: False only for rows whose step budget ran out."""
        return torch.tensor([r != MAX_STEPS for r in self.halt_reason], dtype=torch.bool, device=self.steps.device)

    def to_results(self) -> list[SubleqResult]:
        """One ``SubleqResult`` per row (no traces)."""
        memories, steps = self.memory.tolist(), self.steps.tolist()
        return [SubleqResult(m, s, r) for m, s, r in zip(memories, steps, self.halt_reason)]


# validation


def _as_int(value, what: str, **fields) -> int:
    """``operator.index`` (so numpy/torch integer scalars pass) but no bools, no floats, no strings.

    ``fields`` are the ``SubleqError`` fields of the error raised for a bad value.
    """
    if isinstance(value, torch.Tensor):
        _check_readable(value, what, **fields)
        if value.dim():  # operator.index would take a one-element tensor of any shape
            raise SubleqTypeError(f"{what} must be an integer, got a tensor of shape {tuple(value.shape)}", **fields)
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise SubleqTypeError(f"{what} = {value!r} is a bool, not an integer", **fields)
    try:
        return operator.index(value)
    except TypeError:
        raise SubleqTypeError(f"{what} = {value!r} is not an integer (got {type(value).__name__})",
                              **fields) from None


def _as_list(seq, what: str) -> list:
    if isinstance(seq, torch.Tensor):
        _check_readable(seq, what)
        if seq.dtype == torch.bool or seq.dtype.is_floating_point or seq.dtype.is_complex:
            raise SubleqTypeError(f"{what} must hold integers, got a tensor of dtype {seq.dtype}")
        if seq.dim() == 0:
            raise SubleqTypeError(f"{what} must be a sequence, got a 0-dimensional tensor")
        return seq.tolist()
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
        raise SubleqTypeError(f"{what} must be a sequence, got {type(seq).__name__}")
    # A set runs in hash order and a dict iterates its keys: neither says which element comes first.
    if isinstance(seq, (collections.abc.Set, collections.abc.Mapping)):
        raise SubleqTypeError(f"{what} must be an ordered sequence (a list or tuple), got a {type(seq).__name__}")
    return list(seq)


def _check_readable(x: torch.Tensor, name: str, **fields) -> None:
    """Raise unless tensor ``x`` has data to read: dense (strided) and not on the meta device."""
    if x.device.type == "meta" or x.layout != torch.strided:
        raise SubleqTypeError(f"{name} must be a dense tensor with data (strided, on a real device), got a tensor "
                              f"with layout {x.layout} on {x.device}", **fields)


def _operand_range_error(instruction: int, name: str, value: int, k: int, length: int) -> SubleqError:
    if name == "C":
        allowed = f"[0, {length}] for a program of length {length}"
    else:
        allowed = f"[0, {k}) for a data memory of size {k}"
    return SubleqError(f"operand {name} = {value} is out of range {allowed}", instruction=instruction, operand=name)


def _raise_first_bad_operand(instruction: int, a: int, b: int, c: int, k: int, length: int) -> None:
    """Raise the range error of the first of A, B, C that is out of range (the caller found one is)."""
    for name, value in (("A", a), ("B", b), ("C", c)):
        if not (0 <= value <= length if name == "C" else 0 <= value < k):
            raise _operand_range_error(instruction, name, value, k, length)


def _overflow_error(instruction: int, a: int, b: int, mem_b: int, mem_a: int) -> SubleqError:
    shown_a = f"({mem_a})" if mem_a < 0 else f"{mem_a}"
    return SubleqError(
        f"int64 overflow writing address {b}: mem[{b}] - mem[{a}] = {mem_b} - {shown_a} = {mem_b - mem_a} is "
        f"outside [{INT64_MIN}, {INT64_MAX}]",
        instruction=instruction,
        address=b,
    )


def validate_memory(memory, name: str = "memory") -> list[int]:
    """Check a data memory and return it as a new list of Python ints.

    Args:
        memory: an ordered sequence (or 1-D integer tensor) of k >= 1 integers, each within int64. Bools are
            rejected; numpy/torch integer scalars are accepted.
        name: how errors call it (``memory[3] = 1.5 is not an integer``).

    Raises:
        SubleqError: naming the cell index (also its ``address``) and the bad value (``SubleqTypeError`` for a value
            or container of the wrong type).
    """
    cells = _as_list(memory, name)
    if not cells:
        raise SubleqError(f"{name} must have at least one cell (k >= 1), got an empty {name}")
    lo, hi = INT64_MIN, INT64_MAX
    out = []
    for i, value in enumerate(cells):
        if type(value) is not int:
            value = _as_int(value, f"{name}[{i}]", address=i)
        if not lo <= value <= hi:
            raise SubleqError(f"{name}[{i}] = {value} is out of the int64 range [{lo}, {hi}]", address=i)
        out.append(value)
    return out


def validate_program(program, data_memory_size: int) -> list[tuple[int, int, int]]:
    """Check a program and return it as a list of (A, B, C) tuples of Python ints.

    Args:
        program: an ordered sequence of L >= 1 triples (A, B, C) for instructions 1..L (or an integer tensor
            [L, 3]); a set or a mapping is refused.
            An empty program is rejected: C_t starts at 1, so there is no first instruction to run.
        data_memory_size: k >= 1.

    Raises:
        SubleqError: naming the instruction (1-based), the operand, the bad value and the allowed range, e.g.
            ``instruction 3: operand B = 9 is out of range [0, 8) for a data memory of size 8`` (with the fields
            ``instruction`` and ``operand`` set).
    """
    k = _as_int(data_memory_size, "data_memory_size")
    if k < 1:
        raise SubleqError(f"data_memory_size must be >= 1, got {k}")
    instructions = _as_list(program, "program")
    length = len(instructions)
    if length == 0:
        raise SubleqError("program must have at least one instruction (L >= 1), got an empty program")
    out = []
    for j, instruction in enumerate(instructions, 1):
        if (type(instruction) is tuple or type(instruction) is list) and len(instruction) == 3:
            a, b, c = instruction
            if not (type(a) is int and type(b) is int and type(c) is int):
                a, b, c = _instruction_operands(j, instruction)
        else:
            a, b, c = _instruction_operands(j, instruction)
        if not (0 <= a < k and 0 <= b < k and 0 <= c <= length):
            _raise_first_bad_operand(j, a, b, c, k, length)
        out.append((a, b, c))
    return out


def _instruction_operands(j: int, instruction) -> tuple[int, int, int]:
    """The slow path of ``validate_program``: whatever is not a triple of plain ints, with its error message."""
    if isinstance(instruction, torch.Tensor):
        _check_readable(instruction, "the instruction", instruction=j)
    unordered = isinstance(instruction, (collections.abc.Set, collections.abc.Mapping))
    if isinstance(instruction, (str, bytes)) or not hasattr(instruction, "__len__") or unordered:
        raise SubleqTypeError(f"expected a triple (A, B, C), got {instruction!r}", instruction=j)
    if len(instruction) != 3:
        got = f"{len(instruction)}: {instruction!r}"
        raise SubleqError(f"expected 3 operands (A, B, C), got {got}", instruction=j)
    a, b, c = (_as_int(v, f"operand {n}", instruction=j, operand=n) for v, n in zip(instruction, "ABC"))
    return a, b, c


def validate_max_steps(max_steps) -> int:
    """Check a step budget: an int in [0, 2**63 - 1] (0 runs nothing). Raises SubleqError otherwise."""
    max_steps = _as_int(max_steps, "max_steps")
    if not 0 <= max_steps <= INT64_MAX:
        raise SubleqError(f"max_steps = {max_steps} is out of range [0, {INT64_MAX}]")
    return max_steps


# reference machine


def table_entry(pc: int, a: int, b: int, c: int, length: int) -> tuple[int, int, int, int]:
    """Instruction number ``pc`` = (A, B, C) as ``execute`` reads it: (A, B, next if mem[B] <= 0, next otherwise).

    Halting is folded into the next-instruction numbers: L + 1 is "fell off the end", L + 2 is "halted" (C == 0,
    either branch). Both lie past every table, so the run loop stops on a LookupError at no per-step cost.

    Args:
        pc: the instruction number C_t, in [1, L].
        a, b, c: its operands, Python ints already checked: A, B in [0, k), C in [0, L].
        length: the program length L.

    Returns:
        (A, B, next instruction if mem[B] <= 0, next instruction otherwise).
    """
    return (a, b, length + 2, length + 2) if c == 0 else (a, b, c, pc + 1)


def _compile(program: Sequence[tuple[int, int, int]]) -> list:
    """table[C_t] = ``table_entry`` of instruction C_t for C_t in 1..L; table[0] is unused."""
    length = len(program)
    return [None] + [table_entry(j, a, b, c, length) for j, (a, b, c) in enumerate(program, 1)]


def execute(table, mem: list, pc: int, steps: int, max_steps: int, trace: Optional[list] = None) -> tuple[int, int]:
    """Algorithm 1: run from instruction ``pc`` with ``steps`` already executed, until a halt, the end of the
    program or ``max_steps``. The only place it is written for Python lists.

    Callers that learn a program's instructions as they go (`execution.LazyRuns`) pass a dict that holds the
    instructions known so far: the run stops in front of the first one missing, with that C_t returned.

    Args:
        table: ``table[C_t]`` = ``table_entry`` of instruction C_t, for every C_t the run may reach: a list from
            ``_compile``, or any mapping (``step`` passes a one-entry dict). A C_t past it ends the run.
        mem: the data memory (k Python ints), mutated in place.
        trace: a list to append one ``TraceStep`` per executed instruction to (a ``_compile`` table only), or None.

    Returns:
        (steps executed in all, final C_t): L + 2 after a halt, L + 1 off the end, else the budget ran out (or, with
        a table that lacks instruction C_t, the run reached it). ``halt_reason_at`` names the outcome.

    Raises:
        SubleqError: when a write leaves the int64 range (``mem`` is left as it was before that write).
    """
    if trace is not None:
        return _execute_traced(table, mem, pc, steps, max_steps, trace)
    lo, hi = INT64_MIN, INT64_MAX
    try:
        for steps in range(steps, max_steps):
            a, b, taken, fall = table[pc]
            v = mem[b] - mem[a]
            if v <= 0:
                if v < lo:
                    raise _overflow_error(pc, a, b, mem[b], mem[a])
                pc = taken
            else:
                if v > hi:
                    raise _overflow_error(pc, a, b, mem[b], mem[a])
                pc = fall
            mem[b] = v
        else:
            steps = max_steps
    except LookupError:  # pc is L + 1 or L + 2: the loop variable counts the steps executed
        pass
    return steps, pc


def _execute_traced(table: list, mem: list, pc: int, steps: int, max_steps: int, trace: list) -> tuple[int, int]:
    """``execute`` one step at a time, recording each write: about 1 us more per step, no cost to untraced runs."""
    halt = len(table) + 1  # L + 2
    while steps < max_steps and pc < len(table):
        a, b, taken, _ = table[pc]
        at = pc
        steps, pc = execute(table, mem, at, steps, steps + 1)
        trace.append(TraceStep(at, a, b, 0 if taken == halt else taken, mem[b]))
    return steps, pc


def step(mem: list, pc: int, instruction, length: int) -> int:
    """Execute one instruction on ``mem`` (mutated), exactly as the reference machine does (through ``execute``).

    For callers that learn each instruction only when they reach it, like the pipeline's stepwise strategy.

    Args:
        mem: the data memory, a list of k Python ints within int64.
        pc: the instruction's number C_t, in [1, L].
        instruction: its operands (A, B, C), Python ints: A, B in [0, k), C in [0, L].
        length: the program length L >= 1.

    Returns:
        The next instruction number: C or C_t + 1 as the branch goes, L + 1 when that is past the end, or L + 2
        when the instruction halted (C == 0). ``halt_reason_at`` names the last two.

    Raises:
        SubleqError: on an operand out of range (or ``pc`` outside [1, L]), or when the write leaves the int64
            range (the reference machine's error; ``mem`` is then unchanged).
    """
    a, b, c = instruction
    k = len(mem)
    if not 1 <= pc <= length:
        raise SubleqError(f"instruction number {pc} is out of range [1, {length}] for a program of length {length}")
    if not (0 <= a < k and 0 <= b < k and 0 <= c <= length):
        _raise_first_bad_operand(pc, a, b, c, k, length)
    return execute({pc: table_entry(pc, a, b, c, length)}, mem, pc, 0, 1)[1]


def halt_reason_at(pc: int, length: int) -> str:
    """The halt reason of a run of a program of length ``length`` that stopped at instruction number ``pc`` (as
    ``execute`` and ``step`` return it): ``HALT`` at L + 2, ``END_OF_PROGRAM`` at L + 1, else ``MAX_STEPS``."""
    return HALT if pc == length + 2 else END_OF_PROGRAM if pc == length + 1 else MAX_STEPS


def run_subleq(
    program, memory, max_steps: int = DEFAULT_MAX_STEPS, return_trace: bool = False
) -> SubleqResult:
    """Run one subleq program on one data memory (the reference machine).

    Args:
        program: L >= 1 triples (A, B, C) for instructions 1..L; A, B in [0, k), C in [0, L] (0 = HALT).
        memory: the initial data memory, k >= 1 integers within int64. Never mutated.
        max_steps: the step budget, an int >= 0. The run stops with "max_steps" when this many instructions
            have executed without halting (0 executes nothing).
        return_trace: also record one ``TraceStep`` per executed instruction (slower); True or False (None, as not
            given: False).

    Returns:
        A ``SubleqResult`` with the final memory, the number of executed instructions and the halt reason.

    Raises:
        SubleqError: on an invalid program, memory or budget, or when a write leaves the int64 range (naming the
            instruction and the address, also set as the error's ``instruction`` and ``address``). An input of the
            wrong type (not an ordered sequence, e.g. a set; a bool or non-integer; a tensor on the meta device or
            sparse; a ``return_trace`` that is not a bool) raises its subclass ``SubleqTypeError``, also a
            ``TypeError``.
    """
    if return_trace is None:
        return_trace = False
    elif not isinstance(return_trace, bool):  # a non-empty string such as "no" would be truthy
        raise SubleqTypeError(f"return_trace must be True or False, got {return_trace!r}")
    mem = validate_memory(memory)
    instructions = validate_program(program, len(mem))
    max_steps = validate_max_steps(max_steps)
    trace = [] if return_trace else None
    steps, pc = execute(_compile(instructions), mem, 1, 0, max_steps, trace)
    return SubleqResult(mem, steps, halt_reason_at(pc, len(instructions)), trace)


# batched machine


def check_integer_dtype(x: torch.Tensor, name: str) -> None:
    """Raise ``SubleqTypeError`` unless tensor ``x`` holds integers that fit int64 (no bool, float, complex or uint64)
    and has data to read (dense, not on the meta device)."""
    _check_readable(x, name)
    if x.dtype == torch.bool or x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.uint64:
        raise SubleqTypeError(f"{name} must be an integer tensor (int64 preferred), got dtype {x.dtype}")


def _check_int_tensor(x, name: str, dim: int, shape_doc: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise SubleqTypeError(f"{name} must be a torch tensor of shape {shape_doc}, got {type(x).__name__}")
    check_integer_dtype(x, name)
    if x.dim() != dim:
        raise SubleqError(f"{name} must have shape {shape_doc}, got {tuple(x.shape)}")
    return x.to(torch.int64)


def _validate_batch(programs, memories, max_steps, program_lengths):
    programs = _check_int_tensor(programs, "programs", 3, "[N, L, 3]")
    memories = _check_int_tensor(memories, "memories", 2, "[N, k]")
    n, length, width = programs.shape
    if width != 3:
        raise SubleqError(f"programs must have shape [N, L, 3], got {tuple(programs.shape)}")
    if memories.shape[0] != n:
        raise SubleqError(f"memories has {memories.shape[0]} rows but programs has {n}")
    if memories.device != programs.device:
        raise SubleqError(f"programs are on {programs.device} but memories are on {memories.device}")
    device, k = programs.device, memories.shape[1]
    if length < 1:
        raise SubleqError("programs must have at least one instruction (L >= 1)")
    if k < 1:
        raise SubleqError("memories must have at least one cell (k >= 1)")

    if program_lengths is None:
        lengths = torch.full((n,), length, dtype=torch.int64, device=device)
    else:
        lengths = _check_int_tensor(program_lengths, "program_lengths", 1, "[N]").to(device)
        if lengths.shape[0] != n:
            raise SubleqError(f"program_lengths has {lengths.shape[0]} entries but programs has {n} rows")
        bad = ((lengths < 1) | (lengths > length)).nonzero()
        if bad.numel():
            i = int(bad[0, 0])
            raise SubleqError(f"program length {int(lengths[i])} is out of range [1, {length}]", index=i)

    if isinstance(max_steps, torch.Tensor) and max_steps.dim() > 0:
        budgets = _check_int_tensor(max_steps, "max_steps", 1, "[N]").to(device)
        if budgets.shape[0] != n:
            raise SubleqError(f"max_steps has {budgets.shape[0]} entries but programs has {n} rows")
        bad = (budgets < 0).nonzero()
        if bad.numel():
            i = int(bad[0, 0])
            raise SubleqError(f"max_steps = {int(budgets[i])} is out of range [0, {INT64_MAX}]", index=i)
    else:
        budgets = torch.full((n,), validate_max_steps(max_steps), dtype=torch.int64, device=device)

    # Operand ranges, checked only on each row's own instructions 1..L_i; the first bad one in
    # (row, instruction, operand) order is reported.
    live = torch.arange(length, device=device)[None, :] < lengths[:, None]  # [N, L]
    a, b, c = programs.unbind(-1)  # [N, L] each
    bad = torch.stack(
        [(a < 0) | (a >= k), (b < 0) | (b >= k), (c < 0) | (c > lengths[:, None])], dim=-1
    ) & live[..., None]  # [N, L, 3]
    if bool(bad.any()):
        i, j, o = (int(x) for x in bad.nonzero()[0])
        raise _operand_range_error(j + 1, "ABC"[o], int(programs[i, j, o]), k, int(lengths[i])).with_index(i)
    return programs, memories, lengths, budgets


def _build_tables(programs: torch.Tensor, lengths: torch.Tensor, k: int):
    """Flatten a batch into one instruction space and one memory space.

    Row i owns memory cells i*K .. i*K + K - 1 (K = k + 2: its k cells, a cell holding 1 and a counter cell
    holding 0) and instruction slots i*S .. i*S + S - 1 (S = L + 2: slot 0 = HALT, slots 1..L = instructions,
    slot L + 1 = end of program). Each slot stores global addresses (A, B) and global next slots (taken when
    mem[B] <= 0, taken otherwise). The HALT and end slots are no-ops that loop on themselves and subtract 1 from
    the counter cell, so a finished row can keep stepping until the next check and its step count is recovered
    as (tensor steps so far) + counter.
    """
    n, length, _ = programs.shape
    device = programs.device
    S, K = length + 2, k + 2
    slot = torch.arange(S, device=device)[None, :]  # [1, S]
    row_mem = (torch.arange(n, device=device) * K)[:, None]  # [N, 1]
    row_ins = (torch.arange(n, device=device) * S)[:, None]  # [N, 1]
    live = (slot >= 1) & (slot <= lengths[:, None])  # [N, S]
    ops = torch.zeros((n, S, 3), dtype=torch.int64, device=device)
    ops[:, 1 : length + 1] = programs
    a, b, c = ops.unbind(-1)  # [N, S] each
    fall = torch.where(slot == lengths[:, None], length + 1, slot + 1)  # [N, S]
    table_a = torch.where(live, row_mem + a, row_mem + k)
    table_b = torch.where(live, row_mem + b, row_mem + k + 1)
    table_taken = torch.where(live, row_ins + torch.where(c == 0, 0, c), row_ins + slot)
    table_fall = torch.where(live, row_ins + torch.where(c == 0, 0, fall), row_ins + slot)
    return [t.reshape(-1).contiguous() for t in (table_a, table_b, table_taken, table_fall)]  # [N*S] each


def _bit_length(x: torch.Tensor) -> int:
    """Bit length of the largest |value| in x."""
    lo, hi = torch.aminmax(x)
    return max(abs(int(lo)), abs(int(hi))).bit_length()


def run_subleq_batch(
    programs: torch.Tensor,
    memories: torch.Tensor,
    max_steps: Union[int, torch.Tensor] = DEFAULT_MAX_STEPS,
    program_lengths: Optional[torch.Tensor] = None,
    engine: str = "auto",
) -> SubleqBatchResult:
    """Run N subleq programs on N data memories at once, on the device the tensors are on.

    Every row ends exactly as ``run_subleq`` would end it (same memory, steps and halt reason).

    Args:
        programs: integer tensor [N, L, 3]; row i's instruction j + 1 is ``programs[i, j]`` = (A, B, C).
        memories: integer tensor [N, k] of initial data memories (same device). Not mutated.
        max_steps: one budget for all rows (int >= 0) or an integer tensor [N] of per-row budgets.
        program_lengths: optional integer tensor [N] of per-row lengths L_i in [1, L] (default L). Instructions
            past L_i are never validated nor executed; a next instruction of L_i + 1 is "end_of_program".
        engine: one of ``BATCH_ENGINES``. "auto" (default) runs CPU tensors on the registered CPU kernel (the
            numba kernel of ``fast_subleq.py``, present when numba is installed), everything else on the tensor
            path. All engines give identical results.

    Returns:
        A ``SubleqBatchResult`` with final memories [N, k], steps [N] and one halt reason per row.

    Raises:
        SubleqError: on invalid inputs (naming the row, instruction, operand, value and allowed range; inputs of
            the wrong type, such as a float, meta-device or sparse tensor, raise its subclass ``SubleqTypeError``,
            also a ``TypeError``), or when a write leaves the int64 range: the reference machine's error for that
            row with its ``index`` set to the row (the message prefixed with ``row i: ``). If several rows
            overflow, which one is named is unspecified; nothing is returned.
        ValueError: on an unknown ``engine``, or ``engine="fast"`` with tensors off the CPU or without numba (the
            message says to ``pip install synthesizer[fast]``).
        KeyboardInterrupt: Ctrl-C stops every engine within a fraction of a second; nothing is returned.

    How it runs: on the fast kernel, one compiled loop per row at a few nanoseconds per instruction, in slices of
    a few million instructions so that Python can raise KeyboardInterrupt between them (see fast_subleq.py); on
    the tensor path, all rows in lock step (see ``_run_tensor_path``), which pays off over the reference loop only
    with many rows running (hundreds on a CPU): each step costs tens of microseconds of operator overhead.
    """
    if engine not in BATCH_ENGINES:
        raise ValueError(f"engine = {engine!r} is not one of {BATCH_ENGINES}")
    if engine == "fast" and isinstance(programs, torch.Tensor) and programs.device.type != "cpu":
        raise ValueError(f"engine='fast' runs CPU tensors only, got tensors on {programs.device}")
    programs, memories, lengths, budgets = _validate_batch(programs, memories, max_steps, program_lengths)
    if programs.shape[0] == 0:
        return SubleqBatchResult(memories.clone(), torch.zeros(0, dtype=torch.int64, device=memories.device), [])
    if not _use_fast(engine, memories.device):
        return _run_tensor_path(programs, memories, lengths, budgets)
    final, steps, codes, overflow_row = _cpu_kernel(programs, lengths, budgets, memories)
    if overflow_row >= 0:
        _raise_overflow(programs, lengths, memories, budgets, overflow_row)
    return SubleqBatchResult(final, steps, [HALT_REASONS[c] for c in codes.tolist()])


def _run_tensor_path(programs, memories, lengths, budgets) -> SubleqBatchResult:
    """The tensor machine: validated tensors in, every row run to its end as the reference machine would.

    All still-running rows step in lock step on flattened tables (see ``_build_tables``); a step is six tensor
    operations (four gathers, a subtraction and a scatter, then a select). Finished rows are dropped every
    ``_BATCH_CHUNK`` steps and at each per-row budget; once ``BATCH_TAIL_ROWS`` or fewer rows remain, the reference
    interpreter finishes them (faster for a few rows). While the initial |memory| rules overflow out (|values| at
    most double per step) steps are not tested for it; after that each step also accumulates an overflow flag per
    row, checked once per chunk, and an overflowing row is replayed on the reference machine to raise its exact
    error.
    """
    n, length, _ = programs.shape
    k, device = memories.shape[1], memories.device
    steps_out = torch.zeros(n, dtype=torch.int64, device=device)  # [N]
    codes = torch.full((n,), _CODE_MAX_STEPS, dtype=torch.int64, device=device)  # [N], indexes HALT_REASONS
    S = length + 2
    mem2d = _flat_memories(memories)  # [N, K]
    tensor_step = _tensor_stepper(*_build_tables(programs, lengths, k), mem2d.view(-1))
    counters = mem2d[:, k + 1]  # [N], a view: the counter cells as the steps update them

    rows = (budgets > 0).nonzero().squeeze(1)  # [n_active]; rows with budget 0 end at once with "max_steps"
    base = rows * S  # [n_active], slot 0 of each active row
    g = base + 1  # [n_active], the global slot each active row is at
    budget = budgets.index_select(0, rows)  # [n_active]
    t = 0  # steps taken by every row still running
    # |values| < 2**bits at the start and at most double per step, so the first 63 - bits steps cannot overflow.
    # Counting again later would cost a reduction over all memory per chunk, more than the checks it saves.
    unchecked_until = 63 - _bit_length(mem2d)

    while g.numel():
        if g.numel() <= BATCH_TAIL_ROWS:
            _finish_on_reference(programs, lengths, mem2d, k, rows, g - base, budget, t, steps_out, codes)
            break
        m = min(_BATCH_CHUNK, int(budget.min()) - t)  # no running row passes its budget inside a chunk
        if t < unchecked_until:
            m = min(m, unchecked_until - t)
            for _ in range(m):
                g = tensor_step(g, None)
        else:
            overflow = torch.zeros_like(g)
            for _ in range(m):
                g = tensor_step(g, overflow)
            if bool((overflow < 0).any()):
                bad_rows = rows.index_select(0, (overflow < 0).nonzero().squeeze(1)).tolist()
                _raise_overflow(programs, lengths, memories, budgets, min(bad_rows))
        t += m

        done = _record_finished(g - base, budget == t, rows, t, counters, length, steps_out, codes)
        if done is not None:
            keep = (~done).nonzero().squeeze(1)
            rows, base, g, budget = (x.index_select(0, keep) for x in (rows, base, g, budget))

    reasons = [HALT_REASONS[c] for c in codes.tolist()]
    return SubleqBatchResult(mem2d[:, :k].clone(), steps_out, reasons)


def _flat_memories(memories: torch.Tensor) -> torch.Tensor:
    """Memory [N, K] for the flat tables: each row's k cells, a cell holding 1 and a counter cell holding 0.

    K = k + 2, as ``_build_tables`` lays it out.
    """
    n, k = memories.shape
    mem2d = torch.empty((n, k + 2), dtype=torch.int64, device=memories.device)  # [N, K]
    mem2d[:, :k] = memories
    mem2d[:, k] = 1
    mem2d[:, k + 1] = 0
    return mem2d


def _tensor_stepper(table_a, table_b, table_taken, table_fall, mem):
    """The lock step of all running rows, closed over the flat tables [N*S] each and memory [N*K] (written in place).

    ``tensor_step(g, overflow)`` takes the global slots [n_active] and returns the next ones; given an ``overflow``
    tensor [n_active], it also ORs into it a value that is negative where a row's write overflowed int64.
    """

    def tensor_step(g: torch.Tensor, overflow: Optional[torch.Tensor]) -> torch.Tensor:
        a = table_a.index_select(0, g)
        b = table_b.index_select(0, g)
        mem_a, mem_b = mem.index_select(0, a), mem.index_select(0, b)
        v = mem_b - mem_a  # wraps on overflow
        if overflow is not None:
            # Negative iff the operands differ in sign and the wrapped result's sign differs from mem_b's.
            overflow |= (mem_b ^ mem_a) & (mem_b ^ v)
        mem.scatter_(0, b, v)
        return torch.where(v <= 0, table_taken.index_select(0, g), table_fall.index_select(0, g))

    return tensor_step


def _record_finished(slot, out_of_budget, rows, t, counters, length, steps_out, codes) -> Optional[torch.Tensor]:
    """Write the steps and halt codes of the running rows that finished; return which did ([n_active] bool), or
    None when none did.

    ``slot`` [n_active] is each row's own instruction slot (0: HALT, L + 1: end of program), ``counters`` [N] the
    counter cells, which hold minus the no-op steps a finished row took since it finished.
    """
    done = (slot == 0) | (slot == length + 1) | out_of_budget  # [n_active]
    if not bool(done.any()):
        return None
    finished = done.nonzero().squeeze(1)
    finished_rows = rows.index_select(0, finished)
    finished_slot = slot.index_select(0, finished)
    steps_out.index_copy_(0, finished_rows, t + counters.index_select(0, finished_rows))
    code = torch.where(
        finished_slot == 0, _CODE_HALT, torch.where(finished_slot == length + 1, _CODE_END, _CODE_MAX_STEPS)
    )
    codes.index_copy_(0, finished_rows, code)
    return done


def register_cpu_kernel(kernel) -> None:
    """Make ``kernel`` the batched machine's "fast" engine for CPU tensors (None removes it).

    ``kernel(programs, lengths, budgets, memories)`` takes validated int64 CPU tensors ([N, L, 3], [N] in [1, L],
    [N] >= 0, [N, k]; it must not mutate them) and returns (final memories [N, k], steps [N], halt codes [N]
    indexing ``HALT_REASONS``, the first row whose write overflowed int64 or -1), as the reference machine would
    end each row; the outputs may be partial when a row overflowed. ``fast_subleq.py`` registers itself here.
    """
    global _cpu_kernel
    _cpu_kernel = kernel


def cpu_kernel_available() -> bool:
    """Whether ``run_subleq_batch`` has a fast CPU kernel (``pip install synthesizer[fast]``; never in remote code)."""
    return _cpu_kernel is not None


def _use_fast(engine: str, device: torch.device) -> bool:
    if engine == "tensor":
        return False
    if engine == "fast" and _cpu_kernel is None:
        raise ValueError(
            "engine='fast' is unavailable: it needs numba (pip install synthesizer[fast], or pip install numba) "
            "and the modeling_synthesizer package; use engine='tensor' or 'auto'"
        )
    return device.type == "cpu" and _cpu_kernel is not None


def _raise_overflow(programs, lengths, memories, budgets, row: int) -> None:
    """Replay one row from its inputs on the reference machine, which raises the exact overflow error."""
    row_length = int(lengths[row])
    table = _compile([tuple(x) for x in programs[row, :row_length].tolist()])
    try:
        execute(table, memories[row].tolist(), 1, 0, int(budgets[row]))
    except SubleqError as error:
        raise error.with_index(row) from None
    raise AssertionError(f"row {row} overflowed in the batched machine but not on replay")  # pragma: no cover


def _finish_on_reference(programs, lengths, mem2d, k, rows, slots, budget, t, steps_out, codes) -> None:
    """Run the remaining rows (all still running, each t steps in, at instruction ``slots``) on the reference loop."""
    for row, pc, row_budget in sorted(zip(rows.tolist(), slots.tolist(), budget.tolist())):
        row_length = int(lengths[row])
        table = _compile([tuple(x) for x in programs[row, :row_length].tolist()])
        cells = mem2d[row, :k].tolist()
        try:
            steps, pc = execute(table, cells, pc, t, row_budget)
        except SubleqError as error:
            raise error.with_index(row) from None
        mem2d[row, :k] = torch.tensor(cells, dtype=torch.int64, device=mem2d.device)
        steps_out[row] = steps
        codes[row] = HALT_REASONS.index(halt_reason_at(pc, row_length))


__all__ = [
    "BATCH_ENGINES",
    "BATCH_TAIL_ROWS",
    "DEFAULT_MAX_STEPS",
    "END_OF_PROGRAM",
    "HALT",
    "HALT_REASONS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DATA_MEMORY_SIZE",
    "MAX_PROGRAM_LENGTH",
    "MAX_STEPS",
    "SubleqBatchResult",
    "SubleqError",
    "SubleqResult",
    "SubleqTypeError",
    "TraceStep",
    "check_integer_dtype",
    "cpu_kernel_available",
    "execute",
    "halt_reason_at",
    "register_cpu_kernel",
    "run_subleq",
    "run_subleq_batch",
    "step",
    "table_entry",
    "validate_max_steps",
    "validate_memory",
    "validate_program",
]
