"""The reference machine against hand-worked cases, and the batched machine against the reference machine."""

import contextlib
import json
import pickle
import random
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import modeling_synthesizer.subleq as subleq_module
from modeling_synthesizer.subleq import (
    DEFAULT_MAX_STEPS,
    END_OF_PROGRAM,
    HALT,
    HALT_REASONS,
    MAX_STEPS,
    SubleqBatchResult,
    SubleqError,
    SubleqResult,
    TraceStep,
    execute,
    halt_reason_at,
    run_subleq,
    run_subleq_batch,
    step,
    table_entry,
    validate_max_steps,
    validate_memory,
    validate_program,
)


try:
    import cases
except ImportError:  # tests/ collected as a package
    from tests import cases


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Values that put the batched machine into its per-step overflow-checking mode (or overflow).
EXTREMES = [INT64_MIN, INT64_MIN + 1, -(2**62), 2**62, INT64_MAX - 1, INT64_MAX, -(2**40), 2**40]
# How the batched machine runs: "fast" is the numba kernel (the default on CPU tensors when numba is installed); an
# int or None is the tensor path, with that many rows handed to the reference loop at the end: 0 keeps every row on
# tensors, 8 mixes both paths in one run, None keeps the default (which sends small batches to the loop alone).
MODES = ["fast", 0, 8, None]

param = pytest.mark.parametrize
case_param = param("case", cases.CASES, ids=[c["name"] for c in cases.CASES])


@contextlib.contextmanager
def batch_mode(mode):
    if mode == "fast":
        if not subleq_module.cpu_kernel_available():
            pytest.skip("the fast kernel needs numba: pip install synthesizer[fast]")
        yield
        return
    saved_tail, saved_use_fast = subleq_module.BATCH_TAIL_ROWS, subleq_module._use_fast
    if mode is not None:
        subleq_module.BATCH_TAIL_ROWS = mode
    subleq_module._use_fast = lambda engine, device: False
    try:
        yield
    finally:
        subleq_module.BATCH_TAIL_ROWS, subleq_module._use_fast = saved_tail, saved_use_fast


def expected_of(case):
    return case["expected_memory"], case["expected_steps"], case["expected_halt_reason"]


def to_batch(rows, pad_rng=None):
    """rows: (program, memory, max_steps) with a common k. Pads programs to a common L (with out-of-range junk
    when pad_rng is given, which must never be read) and returns the arguments of run_subleq_batch."""
    length = max(len(program) for program, _, _ in rows)
    programs = []
    for program, _, _ in rows:
        pad = [
            (pad_rng.randint(-9, 99), pad_rng.randint(-9, 99), pad_rng.randint(-9, 99)) if pad_rng else (0, 0, 0)
            for _ in range(length - len(program))
        ]
        programs.append(list(program) + pad)
    return dict(
        programs=torch.tensor(programs, dtype=torch.int64).reshape(len(rows), length, 3),
        memories=torch.tensor([memory for _, memory, _ in rows], dtype=torch.int64),
        max_steps=torch.tensor([budget for _, _, budget in rows], dtype=torch.int64),
        program_lengths=torch.tensor([len(program) for program, _, _ in rows], dtype=torch.int64),
    )


def reference_outcomes(rows):
    """One SubleqResult, or the SubleqError it raised, per row."""
    outcomes = []
    for program, memory, budget in rows:
        try:
            outcomes.append(run_subleq(program, memory, budget))
        except SubleqError as error:
            outcomes.append(error)
    return outcomes


def assert_batch_matches_reference(rows, mode=None, pad_rng=None):
    """The batched machine ends every row as the reference machine does; if some rows overflow, the batch raises
    the reference's error for one of them (prefixed with its row), and the other rows still agree."""
    outcomes = reference_outcomes(rows)
    with batch_mode(mode):
        if any(isinstance(o, SubleqError) for o in outcomes):
            with pytest.raises(SubleqError) as info:
                run_subleq_batch(**to_batch(rows, pad_rng))
            row, message = re.fullmatch(r"row (\d+): (.*)", str(info.value)).groups()
            assert isinstance(outcomes[int(row)], SubleqError)
            assert message == str(outcomes[int(row)])
            kept = [(r, o) for r, o in zip(rows, outcomes) if not isinstance(o, SubleqError)]
            rows, outcomes = [r for r, _ in kept], [o for _, o in kept]
            if not rows:
                return outcomes
        result = run_subleq_batch(**to_batch(rows, pad_rng))
    assert isinstance(result, SubleqBatchResult)
    assert result.memory.dtype == torch.int64 and result.memory.shape == (len(rows), len(rows[0][1]))
    assert result.steps.dtype == torch.int64 and result.steps.shape == (len(rows),)
    assert result.memory.tolist() == [o.memory for o in outcomes]
    assert result.steps.tolist() == [o.steps for o in outcomes]
    assert result.halt_reason == [o.halt_reason for o in outcomes]
    return outcomes


def random_rows(rng, n, k, max_length, max_budget, extreme_rate=0.0):
    """n random rows with a common k and small values (some extreme with probability extreme_rate). C is uniform
    in [0, L_i]: a taken branch halts with probability 1 / (L_i + 1), runs of positive writes fall off the end,
    and the rest loop until the budget runs out."""
    rows = []
    for _ in range(n):
        length = rng.randint(1, max_length)
        program = [(rng.randrange(k), rng.randrange(k), rng.randint(0, length)) for _ in range(length)]
        memory = [rng.choice(EXTREMES) if rng.random() < extreme_rate else rng.randint(-4, 4) for _ in range(k)]
        budget = rng.randint(0, max_budget) if rng.random() < 0.9 else rng.randint(0, 8)
        rows.append((program, memory, budget))
    return rows


# the reference machine on the shared table


@case_param
def test_reference_machine_matches_case(case):
    result = run_subleq(case["program"], case["memory"], case["max_steps"])
    assert (result.memory, result.steps, result.halt_reason) == expected_of(case)
    assert result.trace is None
    assert result.halted == (case["expected_halt_reason"] != MAX_STEPS)


@case_param
def test_traced_run_matches_case(case):
    result = run_subleq(case["program"], case["memory"], case["max_steps"], return_trace=True)
    assert (result.memory, result.steps, result.halt_reason) == expected_of(case)
    assert len(result.trace) == result.steps
    if result.trace:
        assert result.trace[-1].value == result.memory[result.trace[-1].b]


@param("case", cases.INVALID_CASES, ids=[c["name"] for c in cases.INVALID_CASES])
def test_reference_machine_rejects_invalid_case(case):
    with pytest.raises(SubleqError, match=case["match"]):
        run_subleq(case["program"], case["memory"], case["max_steps"])
    with pytest.raises(SubleqError, match=case["match"]):
        run_subleq(case["program"], case["memory"], case["max_steps"], return_trace=True)


@param("case", cases.OVERFLOW_CASES, ids=[c["name"] for c in cases.OVERFLOW_CASES])
def test_reference_machine_raises_on_overflow(case):
    for return_trace in (False, True):
        with pytest.raises(SubleqError, match=case["match"]):
            run_subleq(case["program"], case["memory"], case["max_steps"], return_trace=return_trace)


def test_trace_of_add():
    result = run_subleq(cases.ADD_PROGRAM, cases.ADD_MEMORY, return_trace=True)
    assert result.trace == [
        TraceStep(instruction=1, a=0, b=3, c=2, value=-3),
        TraceStep(instruction=2, a=1, b=3, c=3, value=-7),
        TraceStep(instruction=3, a=3, b=2, c=4, value=7),
        TraceStep(instruction=4, a=3, b=3, c=0, value=0),
    ]


def test_trace_of_branches():
    # falls_off_end: instruction 1 jumps over 2 to 3, which falls off the end.
    result = run_subleq(cases.FALLS_OFF_PROGRAM, cases.FALLS_OFF_MEMORY, return_trace=True)
    assert [step.instruction for step in result.trace] == [1, 3]
    assert [step.value for step in result.trace] == [0, 3]
    # multiply_by_loop: passes of 1..5 back to 1, the last pass leaves through 4 -> 6.
    result = run_subleq(cases.MULTIPLY_PROGRAM, cases.MULTIPLY_MEMORY, return_trace=True)
    assert [step.instruction for step in result.trace] == [1, 2, 3, 4, 5] * 6 + [1, 2, 3, 4, 6]


def test_result_to_dict_is_plain_python():
    result = run_subleq(cases.ADD_PROGRAM, cases.ADD_MEMORY, return_trace=True)
    d = result.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["memory"] == [3, 4, 7, 0] and d["steps"] == 4 and d["halt_reason"] == HALT and d["halted"] is True
    assert d["trace"][0] == {"instruction": 1, "a": 0, "b": 3, "c": 2, "value": -3}
    d = run_subleq(cases.NEVER_HALTS_PROGRAM, cases.NEVER_HALTS_MEMORY, max_steps=3).to_dict()
    assert d["trace"] is None and d["halted"] is False and d["halt_reason"] == MAX_STEPS


def test_memory_is_not_mutated():
    memory = list(cases.ADD_MEMORY)
    program = list(cases.ADD_PROGRAM)
    run_subleq(program, memory)
    run_subleq(program, memory, return_trace=True)
    assert memory == cases.ADD_MEMORY and program == cases.ADD_PROGRAM
    tensor_memory = torch.tensor(cases.ADD_MEMORY)
    result = run_subleq(torch.tensor(cases.ADD_PROGRAM), tensor_memory)
    assert result.memory == [3, 4, 7, 0] and tensor_memory.tolist() == cases.ADD_MEMORY

    rows = [(cases.ADD_PROGRAM, cases.ADD_MEMORY + [0], 100), (cases.MULTIPLY_PROGRAM, cases.MULTIPLY_MEMORY, 100)]
    batch = to_batch(rows)
    saved = {name: t.clone() for name, t in batch.items()}
    result = run_subleq_batch(**batch)
    assert result.memory.tolist() == [[3, 4, 7, 0, 0], [6, 0, 42, 0, 1]]
    for name, t in batch.items():
        assert torch.equal(t, saved[name]), name


def test_integer_scalars_and_tensors_are_accepted():
    program = [(torch.tensor(0), torch.tensor(3), 2), (1, 3, 3), (3, 2, 4), (3, 3, 0)]
    memory = [torch.tensor(3), 4, 0, torch.tensor(0, dtype=torch.int32)]
    result = run_subleq(program, memory, max_steps=torch.tensor(100))
    assert result.memory == [3, 4, 7, 0]
    assert all(type(x) is int for x in result.memory)
    assert validate_program(torch.tensor(cases.ADD_PROGRAM), 4) == cases.ADD_PROGRAM
    assert validate_memory(torch.tensor([1, -2], dtype=torch.int16)) == [1, -2]
    assert validate_max_steps(0) == 0
    with pytest.raises(SubleqError, match="bool"):
        validate_memory([torch.tensor(True)])
    with pytest.raises(SubleqError, match="dtype"):
        validate_memory(torch.tensor([1.0]))
    with pytest.raises(SubleqError, match="data_memory_size must be >= 1"):
        validate_program([(0, 0, 0)], 0)
    with pytest.raises(SubleqError, match="bool"):
        validate_max_steps(True)
    with pytest.raises(SubleqError, match="sequence"):
        run_subleq(5, [0])
    with pytest.raises(SubleqError, match="instruction 1: expected a triple"):
        run_subleq([5], [0])


def test_default_max_steps_stops_a_non_halting_program():
    result = run_subleq(cases.NEVER_HALTS_PROGRAM, cases.NEVER_HALTS_MEMORY)
    assert result.steps == DEFAULT_MAX_STEPS and result.halt_reason == MAX_STEPS
    assert result.memory[0] == -DEFAULT_MAX_STEPS
    assert HALT_REASONS == (HALT, END_OF_PROGRAM, MAX_STEPS)


def test_errors_carry_their_fields():
    with pytest.raises(SubleqError) as info:
        validate_program([(0, 0, 0), (0, 0, 2), (0, 9, 0)], 8)
    error = info.value
    assert (error.index, error.instruction, error.operand, error.address) == (None, 3, "B", None)
    assert error.detail == "operand B = 9 is out of range [0, 8) for a data memory of size 8"
    assert str(error) == "instruction 3: " + error.detail

    case = cases.OVERFLOW_CASES[1]  # instruction 2 overflows downwards at address 0
    with pytest.raises(SubleqError) as info:
        run_subleq(case["program"], case["memory"], case["max_steps"])
    error = info.value
    assert (error.index, error.instruction, error.operand, error.address) == (None, 2, None, 0)
    assert error.detail.startswith("int64 overflow writing address 0: ")

    with pytest.raises(SubleqError) as info:
        validate_memory([0, 1, 2.5])
    assert (info.value.address, info.value.instruction) == (2, None)
    with pytest.raises(SubleqError) as info:
        validate_program([(0, 0, 0), ("x", 0, 0)], 2)
    assert (info.value.instruction, info.value.operand) == (2, "A")


def test_with_index_relabels_without_editing_text():
    programs = torch.zeros((3, 4, 3), dtype=torch.int64)
    programs[2, 2, 1] = 9
    with pytest.raises(SubleqError) as info:
        run_subleq_batch(programs, torch.zeros((3, 8), dtype=torch.int64))
    error = info.value
    assert (error.index, error.index_name, error.instruction, error.operand) == (2, "row", 3, "B")
    relabelled = error.with_index(5, name="input")
    assert str(relabelled) == "input 5: instruction 3: " + error.detail
    assert relabelled.fields() == {**error.fields(), "index": 5, "index_name": "input"}
    assert str(error.with_index(None)) == "instruction 3: " + error.detail
    assert str(error).startswith("row 2: ")  # the original is unchanged
    assert isinstance(relabelled, ValueError)
    restored = pickle.loads(pickle.dumps(relabelled))
    assert (str(restored), restored.fields(), restored.detail) == (str(relabelled), relabelled.fields(),
                                                                   relabelled.detail)


def test_step_is_the_reference_machines_step():
    # Running a program one `step` at a time ends where run_subleq ends, with the same trace.
    program, memory = cases.MULTIPLY_PROGRAM, list(cases.MULTIPLY_MEMORY)
    expected = run_subleq(program, memory, return_trace=True)
    length, pc, trace = len(program), 1, []
    while pc <= length:
        at = pc
        pc = step(memory, at, program[at - 1], length)
        trace.append(TraceStep(at, *program[at - 1], memory[program[at - 1][1]]))
    assert (memory, len(trace), trace) == (expected.memory, expected.steps, expected.trace)
    assert pc == length + 2  # halted (L + 1 would be the end of the program)
    assert step([5, 2, 0], 3, (1, 0, 1), 3) == 4  # falls off the end: L + 1
    # Operands are checked: a negative B would silently index from the end of a Python list.
    with pytest.raises(SubleqError, match=r"^instruction 1: operand B = -1 is out of range \[0, 3\)"):
        step([0, 0, 0], 1, (0, -1, 0), 1)
    with pytest.raises(SubleqError, match=r"instruction number 2 is out of range \[1, 1\]"):
        step([0, 0, 0], 2, (0, 0, 0), 1)
    for case in cases.OVERFLOW_CASES[:2]:
        with pytest.raises(SubleqError) as reference:
            run_subleq(case["program"], case["memory"], case["max_steps"])
        cells, pc = list(case["memory"]), 1
        with pytest.raises(SubleqError) as stepped:
            while pc <= len(case["program"]):
                pc = step(cells, pc, case["program"][pc - 1], len(case["program"]))
        assert str(stepped.value) == str(reference.value)
        assert stepped.value.fields() == reference.value.fields()


@param("case", cases.CASES, ids=[c["name"] for c in cases.CASES])
def test_execute_on_a_table_of_entries_is_the_reference_machine(case):
    program, length = case["program"], len(case["program"])
    table = {pc: table_entry(pc, a, b, c, length) for pc, (a, b, c) in enumerate(program, 1)}
    memory = list(case["memory"])
    steps, pc = execute(table, memory, 1, 0, case["max_steps"])
    assert (memory, steps, halt_reason_at(pc, length)) == (case["expected_memory"], case["expected_steps"],
                                                           case["expected_halt_reason"])


def test_execute_stops_in_front_of_an_instruction_its_table_lacks_and_goes_on_from_there():
    # falls_off_end runs 1 then 3: with only instruction 1 known, the run stops at 3 after one step.
    length, memory = 3, list(cases.FALLS_OFF_MEMORY)
    table = {1: table_entry(1, *cases.FALLS_OFF_PROGRAM[0], length)}
    assert execute(table, memory, 1, 0, 100) == (1, 3)
    assert halt_reason_at(3, length) == MAX_STEPS  # not finished: the caller tells it from the budget
    table[3] = table_entry(3, *cases.FALLS_OFF_PROGRAM[2], length)
    assert execute(table, memory, 3, 1, 100) == (2, length + 1) and memory == [3, 2, 0]
    assert halt_reason_at(length + 1, length) == END_OF_PROGRAM and halt_reason_at(length + 2, length) == HALT
    # C = 0 halts whichever way the branch goes: both next instructions are L + 2.
    assert table_entry(2, 0, 1, 0, length) == (0, 1, length + 2, length + 2)
    assert table_entry(2, 0, 1, 1, length) == (0, 1, 1, 3)


# the batched machine on the shared table


@param("mode", MODES)
@case_param
def test_batched_machine_matches_case(case, mode):
    with batch_mode(mode):
        result = run_subleq_batch(
            torch.tensor([case["program"]]), torch.tensor([case["memory"]]), max_steps=case["max_steps"]
        )
    assert result.memory.tolist() == [case["expected_memory"]]
    assert result.steps.tolist() == [case["expected_steps"]]
    assert result.halt_reason == [case["expected_halt_reason"]]
    assert result.halted.tolist() == [case["expected_halt_reason"] != MAX_STEPS]
    (single,) = result.to_results()
    assert isinstance(single, SubleqResult)
    assert (single.memory, single.steps, single.halt_reason) == expected_of(case)


@param("mode", MODES)
def test_batched_machine_runs_all_cases_in_one_batch(mode):
    # Different k: pad every memory to the largest k with cells no operand reads; different L: program_lengths.
    width = max(len(c["memory"]) for c in cases.CASES)
    rows = [(c["program"], c["memory"] + [0] * (width - len(c["memory"])), c["max_steps"]) for c in cases.CASES]
    # Each row several times, so that the batch is larger than the default hand-off size.
    rows = rows * 8
    with batch_mode(mode):
        result = run_subleq_batch(**to_batch(rows, pad_rng=random.Random(0)))
    outcomes = zip(result.memory.tolist(), result.steps.tolist(), result.halt_reason)
    for i, (row_memory, steps, reason) in enumerate(outcomes):
        case = cases.CASES[i % len(cases.CASES)]
        assert (row_memory[: len(case["memory"])], steps, reason) == expected_of(case), case["name"]


def _batch_representable(case):
    """Whether a case's program and memory fit int64 tensors unchanged (no floats, strs, bools, bad lengths)."""

    def plain(x):
        return type(x) is int and INT64_MIN <= x <= INT64_MAX

    return all(len(t) == 3 and all(map(plain, t)) for t in case["program"]) and all(map(plain, case["memory"]))


BATCH_INVALID_CASES = [c for c in cases.INVALID_CASES if _batch_representable(c)]


@param("case", BATCH_INVALID_CASES, ids=[c["name"] for c in BATCH_INVALID_CASES])
def test_batched_machine_rejects_invalid_case(case):
    programs = torch.tensor(case["program"], dtype=torch.int64).reshape(1, len(case["program"]), 3)
    memories = torch.tensor(case["memory"], dtype=torch.int64).reshape(1, len(case["memory"]))
    # The batched machine prefixes per-row errors with "row i: ".
    match = case["match"].removeprefix("^")
    with pytest.raises(SubleqError, match=match):
        run_subleq_batch(programs, memories, max_steps=case["max_steps"])


def test_batch_invalid_cases_cover_operand_errors():
    names = {c["name"] for c in BATCH_INVALID_CASES}
    assert {"a_out_of_range", "b_negative", "c_past_end", "negative_max_steps", "empty_program"} <= names


def test_batched_machine_names_row_instruction_and_operand():
    programs = torch.zeros((3, 4, 3), dtype=torch.int64)
    programs[2, 2, 1] = 9  # row 2, instruction 3, operand B
    programs[1, 3, 2] = 7  # row 1, instruction 4, operand C, but row 1 has only 3 instructions: never checked
    lengths = torch.tensor([4, 3, 4])
    with pytest.raises(SubleqError) as info:
        run_subleq_batch(programs, torch.zeros((3, 8), dtype=torch.int64), program_lengths=lengths)
    assert str(info.value) == "row 2: instruction 3: operand B = 9 is out of range [0, 8) for a data memory of size 8"
    programs[2, 2, 1] = 0
    programs[0, 1, 2] = 5
    with pytest.raises(SubleqError) as info:
        run_subleq_batch(programs, torch.zeros((3, 8), dtype=torch.int64), program_lengths=lengths)
    assert str(info.value) == "row 0: instruction 2: operand C = 5 is out of range [0, 4] for a program of length 4"
    programs[0, 1, 2] = 0
    programs[1, 0, 0] = -1
    with pytest.raises(SubleqError, match=r"^row 1: instruction 1: operand A = -1 is out of range \[0, 8\)"):
        run_subleq_batch(programs, torch.zeros((3, 8), dtype=torch.int64), program_lengths=lengths)


def test_batched_machine_never_reads_past_program_length():
    # Row 0 has length 1: instruction 1 falls off at 2 = L_0 + 1, never reaching the junk (or the halt) after it.
    programs = torch.tensor([[[1, 0, 1], [99, -5, 42]], [[1, 0, 1], [0, 0, 0]]])
    memories = torch.tensor([[5, 1], [5, 1]])
    for mode in MODES:
        with batch_mode(mode):
            result = run_subleq_batch(programs, memories, max_steps=10, program_lengths=torch.tensor([1, 2]))
        assert result.halt_reason == [END_OF_PROGRAM, HALT]
        assert result.steps.tolist() == [1, 2]
        assert result.memory.tolist() == [[4, 1], [0, 1]]


def test_batched_machine_rejects_bad_tensors():
    p, m = torch.zeros((2, 3, 3), dtype=torch.int64), torch.zeros((2, 4), dtype=torch.int64)
    bad_calls = [
        (dict(programs=p.float(), memories=m), "programs must be an integer tensor"),
        (dict(programs=p, memories=m.bool()), "memories must be an integer tensor"),
        (dict(programs=[[[0, 0, 0]]], memories=m), "programs must be a torch tensor"),
        (dict(programs=p[0], memories=m), r"programs must have shape \[N, L, 3\]"),
        (dict(programs=p[..., :2], memories=m), r"programs must have shape \[N, L, 3\]"),
        (dict(programs=p, memories=m[:1]), "memories has 1 rows but programs has 2"),
        (dict(programs=p, memories=m, program_lengths=torch.tensor([3, 4])), r"row 1: program length 4 .* \[1, 3\]"),
        (dict(programs=p, memories=m, program_lengths=torch.tensor([0, 3])), r"row 0: program length 0"),
        (dict(programs=p, memories=m, program_lengths=torch.tensor([3])), "program_lengths has 1 entries"),
        (dict(programs=p, memories=m, max_steps=torch.tensor([5, -2])), r"row 1: max_steps = -2 is out of range"),
        (dict(programs=p, memories=m, max_steps=torch.tensor([5])), "max_steps has 1 entries"),
        (dict(programs=p, memories=m, max_steps=torch.tensor([1.0, 2.0])), "max_steps must be an integer tensor"),
        (dict(programs=p, memories=m, max_steps=-1), "max_steps = -1 is out of range"),
        (dict(programs=p, memories=m, max_steps=2.5), "max_steps = 2.5 is not an integer"),
    ]
    for kwargs, match in bad_calls:
        with pytest.raises(SubleqError, match=match):
            run_subleq_batch(**kwargs)


def test_batched_machine_accepts_other_integer_dtypes_and_empty_batches():
    result = run_subleq_batch(
        torch.tensor([cases.ADD_PROGRAM], dtype=torch.int32), torch.tensor([cases.ADD_MEMORY], dtype=torch.int8)
    )
    assert result.memory.dtype == torch.int64 and result.memory.tolist() == [[3, 4, 7, 0]]
    empty = run_subleq_batch(torch.zeros((0, 2, 3), dtype=torch.int64), torch.zeros((0, 5), dtype=torch.int64))
    assert empty.memory.shape == (0, 5) and empty.steps.shape == (0,) and empty.halt_reason == []
    assert empty.to_results() == [] and empty.halted.shape == (0,)


@param("mode", MODES)
@param("case", cases.OVERFLOW_CASES, ids=[c["name"] for c in cases.OVERFLOW_CASES])
def test_batched_machine_raises_on_overflow(case, mode):
    rows = [(case["program"], case["memory"], case["max_steps"])]
    with batch_mode(mode), pytest.raises(SubleqError, match="^row 0: " + case["match"].removeprefix("^")):
        run_subleq_batch(**to_batch(rows))
    # Among well-behaved rows (enough of them to keep the tensor path busy), the error names the overflowing row.
    width = len(case["memory"])
    quiet = [(cases.NEVER_HALTS_PROGRAM, [0, 1] + [0] * (width - 2), 2000)] if width >= 3 else []
    quiet = quiet or [([(0, 0, 1)], [0] * width, 2000)]
    rows = quiet * 70 + rows + quiet * 30
    with batch_mode(mode), pytest.raises(SubleqError, match="^row 70: " + case["match"].removeprefix("^")):
        run_subleq_batch(**to_batch(rows))


@param("mode", MODES)
def test_batched_machine_handles_values_near_int64_limits(mode):
    # Rows that sit near the limits without overflowing keep the machine in its per-step checked mode.
    rows = [
        ([(1, 0, 1), (2, 2, 1)], [INT64_MAX, 1, 0], 300),  # counts down from 2**63 - 1 forever
        ([(1, 0, 1), (2, 2, 1)], [INT64_MIN + 200, -1, 0], 150),  # counts up from near -2**63
        ([(1, 0, 0)], [INT64_MIN + 1, 1, 0], 10),  # lands exactly on -2**63
    ] * 40
    assert_batch_matches_reference(rows, mode=mode)


# the batched machine against the reference machine on random programs


def test_seeded_random_batch_covers_every_halt_reason():
    rng = random.Random(1234)
    rows = random_rows(rng, n=2000, k=4, max_length=6, max_budget=80)
    outcomes = reference_outcomes(rows)
    reasons = [o.halt_reason for o in outcomes if isinstance(o, SubleqResult)]
    for reason in HALT_REASONS:
        assert reasons.count(reason) >= 100, (reason, reasons.count(reason))
    for mode in MODES:
        assert_batch_matches_reference(rows, mode=mode, pad_rng=random.Random(5))


def test_traced_and_untraced_runs_agree_on_random_programs():
    rng = random.Random(99)
    for program, memory, budget in random_rows(rng, n=400, k=5, max_length=8, max_budget=60, extreme_rate=0.05):
        try:
            plain = run_subleq(program, memory, budget)
        except SubleqError as error:
            with pytest.raises(SubleqError, match=re.escape(str(error))):
                run_subleq(program, memory, budget, return_trace=True)
            continue
        traced = run_subleq(program, memory, budget, return_trace=True)
        assert (traced.memory, traced.steps, traced.halt_reason) == (plain.memory, plain.steps, plain.halt_reason)
        assert len(traced.trace) == traced.steps


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 150),
    k=st.integers(1, 6),
    max_length=st.integers(1, 8),
    max_budget=st.sampled_from([0, 5, 40, 300]),
    extreme_rate=st.sampled_from([0.0, 0.0, 0.05, 0.3]),
    mode=st.sampled_from(MODES),
)
def test_batched_machine_equals_reference_on_random_batches(seed, n, k, max_length, max_budget, extreme_rate, mode):
    rng = random.Random(seed)
    rows = random_rows(rng, n, k, max_length, max_budget, extreme_rate)
    assert_batch_matches_reference(rows, mode=mode, pad_rng=rng)


@st.composite
def drawn_rows(draw):
    k = draw(st.integers(1, 4))
    max_length = draw(st.integers(1, 5))
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        length = draw(st.integers(1, max_length))
        operand = st.integers(0, k - 1)
        program = draw(st.lists(st.tuples(operand, operand, st.integers(0, length)), min_size=length, max_size=length))
        cell = st.integers(-3, 3) | st.sampled_from(EXTREMES)
        memory = draw(st.lists(cell, min_size=k, max_size=k))
        rows.append((program, memory, draw(st.integers(0, 40))))
    return rows


@settings(max_examples=200, deadline=None)
@given(rows=drawn_rows(), mode=st.sampled_from(MODES))
def test_batched_machine_equals_reference_on_drawn_programs(rows, mode):
    assert_batch_matches_reference(rows, mode=mode)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_machine_on_cuda():
    rows = random_rows(random.Random(7), n=500, k=4, max_length=6, max_budget=80)
    kept = [(r, o) for r, o in zip(rows, reference_outcomes(rows)) if isinstance(o, SubleqResult)]
    rows, outcomes = [r for r, _ in kept], [o for _, o in kept]
    batch = {name: t.cuda() for name, t in to_batch(rows).items()}
    with batch_mode(0):
        result = run_subleq_batch(**batch)
    assert result.memory.device.type == "cuda"
    assert result.memory.tolist() == [o.memory for o in outcomes]
    assert result.steps.tolist() == [o.steps for o in outcomes]
    assert result.halt_reason == [o.halt_reason for o in outcomes]
