"""A compiled kernel for the batched subleq machine on CPU tensors.

The torch path of `run_subleq_batch` pays tens of microseconds of operator overhead per lock-step step, which a CPU
cannot amortize over a few hundred rows. This kernel runs each row to its end in a C loop (a few nanoseconds per
instruction) over the same validated int64 tensors, with the same semantics as the reference machine.

It is built on first use with the system's C compiler (``$CC``, else ``cc``, ``gcc`` or ``clang``) into a cache
folder (``$SYNTHESIZER_CACHE``, else ``$XDG_CACHE_HOME/synthesizer``, else ``~/.cache/synthesizer``), keyed by a
hash of the source, and loaded with ``ctypes``. Without a compiler, or with ``SYNTHESIZER_NATIVE=0``, it is simply
unavailable and the batched machine uses its torch path: results are identical, only slower.

Glossary of shapes:
  N: rows (programs) in a batch.
  L: padded program length (row i uses instructions 1..L_i).
  k: data memory size.

Only the standard library and torch are imported: this file is copied into Hub checkpoints as remote code.
"""

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import torch


# Halt codes, in the order of subleq.HALT_REASONS ("halt", "end_of_program", "max_steps").
_KERNEL_SOURCE = r"""
#include <stdint.h>

/* Runs rows [0, n) to their ends. Returns -1, or the first row whose write left the int64 range (that row's
   memory and step count are then partial; the caller replays it to report the error). */
int64_t subleq_run_rows(int64_t n, int64_t L, int64_t k, const int64_t *programs, const int64_t *lengths,
                        const int64_t *budgets, int64_t *memories, int64_t *steps_out, int64_t *codes_out) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t *program = programs + i * L * 3;
        int64_t *mem = memories + i * k;
        const int64_t end = lengths[i] + 1, budget = budgets[i];
        int64_t pc = 1, steps = 0, code = 2;
        while (steps < budget) {
            const int64_t *ins = program + (pc - 1) * 3;
            const int64_t a = ins[0], b = ins[1], c = ins[2];
            int64_t v;
            if (__builtin_sub_overflow(mem[b], mem[a], &v)) {
                steps_out[i] = steps;
                return i;
            }
            mem[b] = v;
            steps++;
            if (c == 0) { code = 0; break; }
            pc = v <= 0 ? c : pc + 1;
            if (pc == end) { code = 1; break; }
        }
        steps_out[i] = steps;
        codes_out[i] = code;
    }
    return -1;
}
"""

_FLAGS = ["-O2", "-shared", "-fPIC"]


def _cache_dir() -> Path:
    if os.environ.get("SYNTHESIZER_CACHE"):
        return Path(os.environ["SYNTHESIZER_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "synthesizer"


def _find_compiler() -> Optional[str]:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@functools.lru_cache(maxsize=None)
def _load() -> tuple[Optional[ctypes.CDLL], str]:
    """(the loaded library, "") or (None, why it is unavailable). Built at most once per process."""
    if os.environ.get("SYNTHESIZER_NATIVE", "1") == "0":
        return None, "disabled by SYNTHESIZER_NATIVE=0"
    compiler = _find_compiler()
    if compiler is None:
        return None, "no C compiler found (set $CC, or install cc, gcc or clang)"
    key = hashlib.sha256("\0".join([_KERNEL_SOURCE, compiler, *_FLAGS, sys.platform]).encode()).hexdigest()[:16]
    suffix = ".dll" if sys.platform == "win32" else ".so"
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        library = folder / f"subleq_kernel_{key}{suffix}"
        if not library.exists():
            # Build in a private folder, then rename into place: concurrent processes never load a partial file.
            with tempfile.TemporaryDirectory(dir=folder) as build:
                source = Path(build) / "subleq_kernel.c"
                source.write_text(_KERNEL_SOURCE)
                built = Path(build) / f"subleq_kernel{suffix}"
                completed = subprocess.run(
                    [compiler, *_FLAGS, "-o", str(built), str(source)], capture_output=True, text=True
                )
                if completed.returncode != 0:
                    return None, f"{compiler} failed to build the kernel: {completed.stderr.strip()[-500:]}"
                os.replace(built, library)
        kernel = ctypes.CDLL(str(library))
    except OSError as error:
        return None, f"could not build or load the kernel: {error}"
    kernel.subleq_run_rows.restype = ctypes.c_int64
    kernel.subleq_run_rows.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 6
    return kernel, ""


def native_unavailable_reason() -> str:
    """Why the compiled kernel cannot be used here ("" when it can)."""
    return _load()[1]


def run_rows_native(
    programs: torch.Tensor, lengths: torch.Tensor, budgets: torch.Tensor, memories: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Run every row to its end with the compiled kernel. Inputs must be validated (operands in range).

    Args:
        programs: int64 [N, L, 3] on the CPU; lengths: int64 [N] in [1, L]; budgets: int64 [N] >= 0;
        memories: int64 [N, k] initial data memories (not mutated).

    Returns:
        (final memories [N, k], steps [N], halt codes [N] indexing subleq.HALT_REASONS, overflow row or -1). When a
        row overflows, rows after it have not run and the outputs are partial.

    Raises:
        RuntimeError: if the kernel is unavailable (``native_unavailable_reason()`` says why).
    """
    kernel, reason = _load()
    if kernel is None:
        raise RuntimeError(f"the compiled subleq kernel is unavailable: {reason}")
    n, length, _ = programs.shape
    programs = programs.contiguous()
    lengths, budgets = lengths.contiguous(), budgets.contiguous()
    out_memories = memories.clone(memory_format=torch.contiguous_format)
    steps = torch.zeros(n, dtype=torch.int64)
    codes = torch.full((n,), 2, dtype=torch.int64)
    overflow_row = kernel.subleq_run_rows(
        n, length, out_memories.shape[1], programs.data_ptr(), lengths.data_ptr(), budgets.data_ptr(),
        out_memories.data_ptr(), steps.data_ptr(), codes.data_ptr(),
    )
    return out_memories, steps, codes, int(overflow_row)
