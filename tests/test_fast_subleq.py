"""The batched machine's numba kernel (fast_subleq.py): agreement with the reference machine, its own checks of its
inputs, Ctrl-C, how it is chosen, and the remote payload that must never reach it.

Its results are also checked against the reference machine with every other engine in test_subleq.py (mode "fast").
"""

import ast
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import modeling_synthesizer.subleq as subleq_module
from modeling_synthesizer.subleq import (
    BATCH_ENGINES,
    SubleqError,
    cpu_kernel_available,
    run_subleq,
    run_subleq_batch,
)


try:
    import cases
except ImportError:  # tests/ collected as a package
    from tests import cases

try:
    from modeling_synthesizer import fast_subleq
except ImportError:  # numba is not installed
    fast_subleq = None

ROOT = Path(__file__).resolve().parent.parent
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
needs_numba = pytest.mark.skipif(fast_subleq is None, reason="needs numba (pip install synthesizer[fast])")
param = pytest.mark.parametrize


def as_batch(rows):
    """rows: (program, memory, max_steps) with a common k -> run_subleq_batch's arguments (programs padded)."""
    length = max(len(program) for program, _, _ in rows)
    return dict(
        programs=torch.tensor([list(p) + [(0, 0, 0)] * (length - len(p)) for p, _, _ in rows]).reshape(-1, length, 3),
        memories=torch.tensor([memory for _, memory, _ in rows], dtype=torch.int64),
        max_steps=torch.tensor([budget for _, _, budget in rows]),
        program_lengths=torch.tensor([len(program) for program, _, _ in rows]),
    )


def random_rows(seed, n, k=5, max_length=8, max_budget=300):
    """n random (program, memory, max_steps) rows whose runs stay within int64 (overflow has its own tests)."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < n:
        length = rng.randint(1, max_length)
        program = [(rng.randrange(k), rng.randrange(k), rng.randint(0, length)) for _ in range(length)]
        row = (program, [rng.randint(-5, 5) for _ in range(k)], rng.randint(0, max_budget))
        try:
            run_subleq(*row)
        except SubleqError:
            continue
        rows.append(row)
    return rows


def assert_fast_matches_reference(rows):
    expected = [run_subleq(p, m, budget) for p, m, budget in rows]
    result = run_subleq_batch(**as_batch(rows), engine="fast")
    assert result.memory.tolist() == [e.memory for e in expected]
    assert result.steps.tolist() == [e.steps for e in expected]
    assert result.halt_reason == [e.halt_reason for e in expected]


def overflow_batch(case):
    """The overflow case as row 1 of three, between two rows that loop without halting."""
    quiet = ([(0, 0, 1)] * len(case["program"]), [0] * len(case["memory"]))
    programs = torch.tensor([quiet[0], case["program"], quiet[0]])
    memories = torch.tensor([quiet[1], case["memory"], quiet[1]])
    return programs, memories


# agreement with the reference machine


@needs_numba
def test_numba_kernel_registers_itself():
    assert cpu_kernel_available()
    assert subleq_module._cpu_kernel is fast_subleq.run_rows


@needs_numba
def test_fast_engine_matches_the_reference_on_all_cases_in_one_batch():
    width = max(len(c["memory"]) for c in cases.CASES)
    rows = [(c["program"], c["memory"] + [0] * (width - len(c["memory"])), c["max_steps"]) for c in cases.CASES]
    result = run_subleq_batch(**as_batch(rows), engine="fast")
    for case, memory, steps, reason in zip(cases.CASES, result.memory.tolist(), result.steps.tolist(),
                                           result.halt_reason):
        assert (memory[: len(case["memory"])], steps, reason) == (
            case["expected_memory"], case["expected_steps"], case["expected_halt_reason"]
        ), case["name"]


@needs_numba
def test_fast_engine_matches_the_reference_on_random_programs():
    rows = random_rows(seed=3, n=1500)
    reasons = {r.halt_reason for r in (run_subleq(p, m, b) for p, m, b in rows)}
    assert reasons == {"halt", "end_of_program", "max_steps"}
    assert_fast_matches_reference(rows)


@needs_numba
@param("slice_instructions", [1, 7, 1000])
def test_runs_resumed_across_slices_end_as_in_one_slice(slice_instructions, monkeypatch):
    # Tiny slices stop and resume rows mid-run (and mid-loop) many times; nothing may change.
    monkeypatch.setattr(fast_subleq, "SLICE_INSTRUCTIONS", slice_instructions)
    assert_fast_matches_reference(random_rows(seed=11, n=300, max_budget=100))
    assert_fast_matches_reference([(c["program"], c["memory"], c["max_steps"]) for c in cases.CASES[:4]
                                   if len(c["memory"]) == 4] or [(cases.ADD_PROGRAM, cases.ADD_MEMORY, 100)])


@param("engine", BATCH_ENGINES)
def test_every_engine_runs_the_cases(engine):
    if engine == "fast" and not cpu_kernel_available():
        pytest.skip("needs numba (pip install synthesizer[fast])")
    for case in cases.CASES:
        result = run_subleq_batch(
            torch.tensor([case["program"]]), torch.tensor([case["memory"]]), case["max_steps"], engine=engine
        )
        expected = run_subleq(case["program"], case["memory"], case["max_steps"])
        assert (result.memory[0].tolist(), int(result.steps[0]), result.halt_reason[0]) == (
            expected.memory, expected.steps, expected.halt_reason
        ), case["name"]


# overflow: the reference machine's own error


@needs_numba
@param("case", cases.OVERFLOW_CASES, ids=[c["name"] for c in cases.OVERFLOW_CASES])
def test_fast_overflow_error_is_the_reference_error(case, monkeypatch):
    with pytest.raises(SubleqError) as reference:
        run_subleq(case["program"], case["memory"], case["max_steps"])
    for slice_instructions in (fast_subleq.SLICE_INSTRUCTIONS, 3):
        monkeypatch.setattr(fast_subleq, "SLICE_INSTRUCTIONS", slice_instructions)
        with pytest.raises(SubleqError) as raised:
            run_subleq_batch(*overflow_batch(case), case["max_steps"], engine="fast")
        error = raised.value
        assert str(error) == f"row 1: {reference.value}"
        assert (error.index, error.detail) == (1, reference.value.detail)
        assert error.fields() == {**reference.value.fields(), "index": 1}
        assert error.instruction >= 1 and error.address is not None and error.operand is None


# its own copies and checks


@needs_numba
def test_int32_and_other_integer_inputs_are_copied_to_int64():
    batch = as_batch(random_rows(seed=4, n=40, k=4, max_budget=60))
    args = (batch["programs"], batch["program_lengths"], batch["max_steps"], batch["memories"])
    expected = fast_subleq.run_rows(*args)
    assert expected[3] == -1
    for dtype in (torch.int32, torch.int16, torch.int8):
        got = fast_subleq.run_rows(*(t.to(dtype) for t in args))
        assert all(t.dtype == torch.int64 for t in got[:3])
        assert [t.tolist() for t in got[:3]] == [t.tolist() for t in expected[:3]] and got[3] == -1
        got = fast_subleq.run_rows(*(t.to(dtype).numpy() for t in args))  # numpy arrays as well
        assert [t.tolist() for t in got[:3]] == [t.tolist() for t in expected[:3]]
    # Through the public entry point, an int32 batch gives the reference machine's results.
    result = run_subleq_batch(torch.tensor([cases.MULTIPLY_PROGRAM], dtype=torch.int32),
                              torch.tensor([cases.MULTIPLY_MEMORY], dtype=torch.int32), engine="fast")
    assert result.memory.tolist() == [[6, 0, 42, 0, 1]] and result.steps.tolist() == [35]


@needs_numba
def test_non_contiguous_inputs_give_the_same_results():
    rows = random_rows(seed=5, n=64, k=4)
    batch = as_batch(rows)
    # The same values laid out with strides: programs [N, L, 3] from a [3, L, N] tensor, memories every other cell.
    programs = batch["programs"].permute(2, 1, 0).contiguous().permute(2, 1, 0)
    wide = torch.zeros((len(rows), 8), dtype=torch.int64)
    wide[:, ::2] = batch["memories"]
    memories = wide[:, ::2]
    assert not programs.is_contiguous() and not memories.is_contiguous()
    strided = run_subleq_batch(programs, memories, batch["max_steps"], batch["program_lengths"], engine="fast")
    plain = run_subleq_batch(**batch, engine="tensor")
    assert torch.equal(strided.memory, plain.memory) and torch.equal(strided.steps, plain.steps)
    assert strided.halt_reason == plain.halt_reason


@needs_numba
def test_inputs_are_never_mutated():
    batch = as_batch(random_rows(seed=8, n=50, k=4))
    saved = {name: t.clone() for name, t in batch.items()}
    result = run_subleq_batch(**batch, engine="fast")
    for name, t in batch.items():
        assert torch.equal(t, saved[name]), name
    assert not torch.equal(result.memory, batch["memories"])  # the runs did write: to the kernel's own copy
    result.memory.fill_(7)
    assert torch.equal(batch["memories"], saved["memories"])


@needs_numba
def test_bad_inputs_on_the_kernel_copy_raise_instead_of_crashing():
    # run_subleq_batch validates first; these reach the kernel only if an input changes after that check (another
    # thread) or on a direct call. Each must raise, never read out of bounds.
    programs = torch.tensor([[[0, 1, 0], [1, 0, 1]]])  # [1, 2, 3]
    lengths, budgets, memories = torch.tensor([2]), torch.tensor([10]), torch.tensor([[1, 2]])
    out_of_range = programs.clone()
    out_of_range[0, 1, 0] = 10**6
    bad_calls = [
        ((out_of_range, lengths, budgets, memories), r"^row 0: instruction 2: fast kernel: an operand is out of"),
        ((programs, torch.tensor([3]), budgets, memories), r"program length is outside \[1, L\]"),
        ((programs, lengths, torch.tensor([-1]), memories), "budget is negative"),
        ((programs.float(), lengths, budgets, memories), "programs must be an integer tensor"),
        ((programs, lengths, budgets, memories[0]), "memories must have 2 dimensions"),
        ((programs, lengths, budgets, torch.tensor([[1, 2], [3, 4]])), "expected shapes"),
        ((programs.to(torch.uint64), lengths, budgets, memories), "must be an integer tensor"),
    ]
    for args, match in bad_calls:
        with pytest.raises(SubleqError, match=match):
            fast_subleq.run_rows(*args)


# how the engine is chosen


def test_engine_errors_name_the_problem(monkeypatch):
    programs, memories = torch.tensor([cases.ADD_PROGRAM]), torch.tensor([cases.ADD_MEMORY])
    with pytest.raises(ValueError, match=r"engine = 'native' is not one of \('auto', 'fast', 'tensor'\)"):
        run_subleq_batch(programs, memories, engine="native")
    with pytest.raises(ValueError, match="engine='fast' runs CPU tensors only, got tensors on meta"):
        run_subleq_batch(programs.to("meta"), memories.to("meta"), engine="fast")
    monkeypatch.setattr(subleq_module, "_cpu_kernel", None)  # as without numba
    with pytest.raises(ValueError, match=r"engine='fast' is unavailable: .*pip install synthesizer\[fast\]"):
        run_subleq_batch(programs, memories, engine="fast")
    assert run_subleq_batch(programs, memories).memory.tolist() == [[3, 4, 7, 0]]  # "auto": the tensor path


WITHOUT_NUMBA = """
import json, sys
class _BlockNumba:
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("numba is blocked here")
sys.meta_path.insert(0, _BlockNumba())
import torch
import modeling_synthesizer
from modeling_synthesizer.subleq import cpu_kernel_available, run_subleq_batch
result = run_subleq_batch(torch.tensor([[[1, 2, 0]]]), torch.tensor([[0, 4, 10]]))
try:
    run_subleq_batch(torch.tensor([[[1, 2, 0]]]), torch.tensor([[0, 4, 10]]), engine="fast")
    fast_error = None
except ValueError as error:
    fast_error = str(error)
print(json.dumps({"available": cpu_kernel_available(), "memory": result.memory.tolist(), "fast_error": fast_error,
                  "numba_loaded": "numba" in sys.modules}))
"""


def test_without_numba_the_package_imports_and_runs_the_tensor_path():
    completed = subprocess.run([sys.executable, "-c", WITHOUT_NUMBA], capture_output=True, text=True, cwd=ROOT,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    report = eval(completed.stdout.strip().splitlines()[-1].replace("null", "None").replace("false", "False"))
    assert report["available"] is False and report["numba_loaded"] is False
    assert report["memory"] == [[0, 4, 6]]
    assert "pip install synthesizer[fast]" in report["fast_error"]


# Ctrl-C, and nothing written to disk

CTRL_C = """
import torch
from modeling_synthesizer import fast_subleq
from modeling_synthesizer.subleq import run_subleq_batch
fast_subleq.compile_kernel()  # numba compiles on the first call: keep that out of the interrupted run
print("running", flush=True)
# Instruction 1 subtracts 1 from mem[0] and jumps back to itself forever; at ~1e9 steps/s the budget is centuries.
run_subleq_batch(torch.tensor([[[1, 0, 1], [2, 2, 1]]]), torch.tensor([[0, 1, 0]]), max_steps=2**62, engine="fast")
print("finished", flush=True)
"""


@needs_numba
def test_ctrl_c_stops_a_never_halting_run():
    child = subprocess.Popen([sys.executable, "-c", CTRL_C], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "running", child.stderr.read()
        try:
            child.wait(timeout=1)  # the run is under way: it must not end by itself
        except subprocess.TimeoutExpired:
            pass
        assert child.poll() is None
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode != 0 and "finished" not in out
    assert err.strip().splitlines()[-1] == "KeyboardInterrupt", err


@needs_numba
def test_kernel_writes_no_cache_to_disk(tmp_path):
    code = textwrap.dedent("""
        import torch
        from modeling_synthesizer import fast_subleq
        from modeling_synthesizer.subleq import run_subleq_batch
        print(run_subleq_batch(torch.tensor([[[1, 2, 0]]]), torch.tensor([[0, 4, 10]]), engine="fast").memory.tolist())
    """)
    package = ROOT / "modeling_synthesizer"
    before = {p.name for p in package.rglob("*") if p.suffix in {".nbi", ".nbc"}}
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[[0, 4, 6]]"
    assert not (tmp_path / "numba-cache").exists()
    assert {p.name for p in package.rglob("*") if p.suffix in {".nbi", ".nbc"}} == before == set()


# the remote payload never reaches the kernel

PAYLOAD = ("configuration_synthesizer", "modeling_synthesizer", "pipeline_synthesizer", "execution", "known_programs",
           "subleq")
FORBIDDEN = {"fast_subleq", "native_subleq", "numba", "llvmlite", "ctypes", "subprocess", "cffi", "importlib"}


def test_remote_payload_never_imports_the_kernel_or_a_compiler():
    # transformers copies every file named by a relative import (even one inside a function) into a checkpoint,
    # so follow them all from the payload files; none may import the kernel, numba, ctypes or subprocess.
    allowed = {"torch", "transformers", "huggingface_hub"} | set(sys.stdlib_module_names)
    pending, seen = list(PAYLOAD), set()
    while pending:
        module = pending.pop()
        seen.add(module)
        tree = ast.parse((ROOT / "modeling_synthesizer" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, (module, ast.dump(node))
                names = [node.module] if node.module else [alias.name for alias in node.names]
                pending += [name for name in names if name not in seen and name not in FORBIDDEN]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
                assert node.module.split(".")[0] in allowed, (module, ast.dump(node))
            else:
                continue
            assert not {name.split(".")[0] for name in names} & FORBIDDEN, (module, ast.dump(node))
    assert seen == set(PAYLOAD)
