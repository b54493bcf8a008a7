"""The batched subleq machine's fast CPU kernel: Algorithm 1 compiled by numba, one loop per row.

The tensor path of `run_subleq_batch` pays tens of microseconds of operator overhead per lock-step step, which a
CPU cannot amortize over a few hundred rows; this loop runs each row to its end at a few nanoseconds per
instruction, with the reference machine's semantics (an int64 overflow is detected here and replayed on the
reference machine, which raises its exact error).

It is optional (`pip install synthesizer[fast]` installs numba) and ships as plain Python: numba compiles it in
memory on first use (about a second, once per process; `cache=False`, so nothing is written to or loaded from
disk). `import modeling_synthesizer` imports this module when numba is importable, and it registers itself with
`subleq.register_cpu_kernel`. It is not remote code: `subleq.py` never imports it, so a checkpoint never carries it.

Safety: the kernel only ever reads its own C-contiguous int64 copies of the inputs, re-validated after the copy,
so an int32 or non-contiguous tensor, or one that another thread changes during a run, can neither crash it nor
make it read out of bounds; the inputs are never written. It runs in slices of at most `SLICE_INSTRUCTIONS`
instructions and returns to Python between them, so Ctrl-C (KeyboardInterrupt) stops a run within milliseconds.

Glossary of shapes:
  N: rows (programs) in a batch.
  L: padded program length (row i uses instructions 1..L_i).
  k: data memory size.
"""

import time

import numba
import numpy as np
import torch

from .subleq import SubleqError, check_integer_dtype, register_cpu_kernel


# Instructions per kernel call, over all rows. At 0.2-1 G instructions/s this is 5-20 ms between two returns to
# Python (where a pending Ctrl-C is raised), while the cost of a call (~10 us) stays under 0.2% of a slice.
SLICE_INSTRUCTIONS = 4_000_000

# Halt codes, in the order of subleq.HALT_REASONS.
_HALT, _END, _MAX_STEPS = 0, 1, 2


@numba.njit(cache=False, nogil=True)
def _run_slice(programs, lengths, budgets, memories, pcs, steps, codes, row, quota):
    """Run rows from ``row`` on, resuming each at ``pcs[row]`` after ``steps[row]`` steps, for at most ``quota``
    instructions in all. Mutates ``memories``, ``pcs``, ``steps`` and ``codes``.

    Returns (the first row not finished, or N when all are; the row whose write overflowed int64, or -1). An
    overflowing row is left just before the overflowing write and the rows after it are not run.
    """
    n = programs.shape[0]
    while row < n:
        pc, s, budget, end = pcs[row], steps[row], budgets[row], lengths[row] + 1
        stop = s + quota if budget - s > quota else budget
        code = _MAX_STEPS
        while s < stop:
            a, b, c = programs[row, pc - 1, 0], programs[row, pc - 1, 1], programs[row, pc - 1, 2]
            mem_b, mem_a = memories[row, b], memories[row, a]
            v = mem_b - mem_a  # wraps on overflow
            # Negative iff the operands differ in sign and the wrapped result's sign differs from mem_b's.
            if ((mem_b ^ mem_a) & (mem_b ^ v)) < 0:
                pcs[row], steps[row] = pc, s
                return row, row
            memories[row, b] = v
            s += 1
            if c == 0:
                code = _HALT
                break
            pc = c if v <= 0 else pc + 1
            if pc == end:
                code = _END
                break
        quota -= s - steps[row]
        pcs[row], steps[row] = pc, s
        if code == _MAX_STEPS and s < budget:  # the quota ran out inside this row
            return row, -1
        codes[row] = code
        row += 1
        if quota <= 0:
            break
    return row, -1


def _own_int64(x, name: str, ndim: int) -> np.ndarray:
    """A private C-contiguous int64 copy of an integer tensor or array with ``ndim`` dimensions."""
    if isinstance(x, torch.Tensor):
        check_integer_dtype(x, name)
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.dtype.kind not in "iu" or x.dtype == np.uint64:
        raise SubleqError(f"{name} must hold integers within int64, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise SubleqError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    return np.array(x, dtype=np.int64, copy=True, order="C")


def _check_copies(programs: np.ndarray, lengths: np.ndarray, budgets: np.ndarray, memories: np.ndarray) -> None:
    """Everything the kernel's unchecked indexing relies on, checked on the copies it will read.

    ``run_subleq_batch`` has already validated its tensors with precise messages; this only fails when an input
    changed between that and the copy (another thread), or on a direct call with bad inputs.
    """
    n, length, width = programs.shape
    if width != 3 or lengths.shape != (n,) or budgets.shape != (n,) or memories.shape[0] != n:
        shapes = [tuple(x.shape) for x in (programs, lengths, budgets, memories)]
        raise SubleqError(f"fast kernel: expected shapes [N, L, 3], [N], [N], [N, k], got {shapes}")
    k = memories.shape[1]
    if n and (length < 1 or k < 1):
        raise SubleqError(f"fast kernel: needs L >= 1 and k >= 1, got L = {length}, k = {k}")
    if n and (lengths.min() < 1 or lengths.max() > length or budgets.min() < 0):
        raise SubleqError("fast kernel: a program length is outside [1, L] or a budget is negative")
    live = np.arange(length)[None, :] < lengths[:, None]  # [N, L]
    a, b, c = programs[..., 0], programs[..., 1], programs[..., 2]  # [N, L] each
    bad = ((a < 0) | (a >= k) | (b < 0) | (b >= k) | (c < 0) | (c > lengths[:, None])) & live
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SubleqError("fast kernel: an operand is out of range", index=int(i), instruction=int(j) + 1)


def run_rows(programs, lengths, budgets, memories) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Run every row to its end on the compiled kernel (the contract of ``subleq.register_cpu_kernel``).

    Args:
        programs: integer tensor (or array) [N, L, 3]; lengths: [N] in [1, L]; budgets: [N] >= 0; memories:
            [N, k] initial data memories. Any integer dtype, layout or device; none of them is mutated.

    Returns:
        (final memories [N, k], steps [N], halt codes [N] indexing subleq.HALT_REASONS, overflow row or -1), int64
        CPU tensors. When a row overflows, its outputs and those of the rows after it are partial.

    Raises:
        SubleqError: on inputs of the wrong dtype, shape or range (checked on private copies).
        KeyboardInterrupt: on Ctrl-C, between two slices.
    """
    programs, lengths = _own_int64(programs, "programs", 3), _own_int64(lengths, "lengths", 1)
    budgets, memories = _own_int64(budgets, "budgets", 1), _own_int64(memories, "memories", 2)
    _check_copies(programs, lengths, budgets, memories)
    n = programs.shape[0]
    pcs = np.ones(n, dtype=np.int64)  # [N]
    steps = np.zeros(n, dtype=np.int64)  # [N]
    codes = np.full(n, _MAX_STEPS, dtype=np.int64)  # [N]
    row, overflow_row = 0, -1
    while row < n and overflow_row < 0:  # Python runs between slices: a pending Ctrl-C is raised here
        row, overflow_row = _run_slice(programs, lengths, budgets, memories, pcs, steps, codes, row,
                                       SLICE_INSTRUCTIONS)
    return torch.from_numpy(memories), torch.from_numpy(steps), torch.from_numpy(codes), int(overflow_row)


def compile_kernel() -> float:
    """Compile the kernel now (numba compiles on first call) and return the seconds the call took: the compile
    time on a process's first call, microseconds after it."""
    started = time.perf_counter()
    run_rows(np.zeros((1, 1, 3), dtype=np.int64), np.ones(1, dtype=np.int64), np.ones(1, dtype=np.int64),
             np.zeros((1, 1), dtype=np.int64))
    return time.perf_counter() - started


register_cpu_kernel(run_rows)

__all__ = ["SLICE_INSTRUCTIONS", "compile_kernel", "run_rows"]
