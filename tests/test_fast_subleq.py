"""The compiled kernel of the batched machine: how it is built, chosen and turned off.

Its results are checked against the reference machine with every other engine in test_subleq.py (mode "native").
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from modeling_synthesizer.native_subleq import native_unavailable_reason
from modeling_synthesizer.subleq import BATCH_ENGINES, SubleqError, run_subleq, run_subleq_batch


try:
    import cases
except ImportError:  # tests/ collected as a package
    from tests import cases

HAS_COMPILER = any(shutil.which(name) for name in (os.environ.get("CC") or "cc", "gcc", "clang"))
needs_compiler = pytest.mark.skipif(not HAS_COMPILER, reason="needs a C compiler")

PROBE = """
import json, torch
from modeling_synthesizer.native_subleq import native_unavailable_reason
from modeling_synthesizer.subleq import run_subleq_batch
result = run_subleq_batch(torch.tensor([[[1, 2, 0]]]), torch.tensor([[0, 4, 10]]))
print(json.dumps({"reason": native_unavailable_reason(), "memory": result.memory.tolist()}))
"""


def probe(tmp_path, **env):
    """Run PROBE in a fresh interpreter with a private kernel cache and ``env``; returns its JSON."""
    environment = dict(os.environ, SYNTHESIZER_CACHE=str(tmp_path / "cache"), **env)
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environment)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@needs_compiler
def test_kernel_is_built_into_the_cache_once(tmp_path):
    first = probe(tmp_path)
    assert first == {"reason": "", "memory": [[0, 4, 6]]}
    built = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(built) == 1 and built[0].startswith("subleq_kernel_"), built
    assert probe(tmp_path) == first  # loaded from the cache
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == built


def test_disabled_kernel_falls_back_to_the_tensor_path(tmp_path):
    result = probe(tmp_path, SYNTHESIZER_NATIVE="0")
    assert result == {"reason": "disabled by SYNTHESIZER_NATIVE=0", "memory": [[0, 4, 6]]}
    assert not (tmp_path / "cache").exists()


def test_missing_compiler_is_reported_and_falls_back(tmp_path):
    result = probe(tmp_path, CC="", PATH=str(tmp_path / "empty"))
    assert result["reason"].startswith("no C compiler found")
    assert result["memory"] == [[0, 4, 6]]


@needs_compiler
def test_kernel_is_available_where_a_compiler_is():
    assert native_unavailable_reason() == ""


@pytest.mark.parametrize("engine", BATCH_ENGINES)
def test_every_engine_runs_the_cases(engine):
    if engine == "native" and native_unavailable_reason():
        pytest.skip(native_unavailable_reason())
    for case in cases.CASES:
        result = run_subleq_batch(
            torch.tensor([case["program"]]), torch.tensor([case["memory"]]), case["max_steps"], engine=engine
        )
        expected = run_subleq(case["program"], case["memory"], case["max_steps"])
        assert (result.memory[0].tolist(), int(result.steps[0]), result.halt_reason[0]) == (
            expected.memory, expected.steps, expected.halt_reason
        ), case["name"]


def test_engine_errors_name_the_problem():
    programs, memories = torch.tensor([cases.ADD_PROGRAM]), torch.tensor([cases.ADD_MEMORY])
    with pytest.raises(ValueError, match=r"engine = 'fast' is not one of \('auto', 'native', 'tensor'\)"):
        run_subleq_batch(programs, memories, engine="fast")
    with pytest.raises(ValueError, match="engine='native' runs CPU tensors only, got tensors on meta"):
        run_subleq_batch(programs.to("meta"), memories.to("meta"), engine="native")


@needs_compiler
def test_native_overflow_names_the_row_and_instruction():
    case = cases.OVERFLOW_CASES[0]
    quiet = ([(0, 0, 1)] * len(case["program"]), [0] * len(case["memory"]))  # loops without halting
    programs = torch.tensor([quiet[0], case["program"], quiet[0]])
    memories = torch.tensor([quiet[1], case["memory"], quiet[1]])
    with pytest.raises(SubleqError, match="^row 1: " + case["match"].removeprefix("^")):
        run_subleq_batch(programs, memories, case["max_steps"], engine="native")
