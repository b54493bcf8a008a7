"""The run strategies of `execution.py` with an oracle decoder in place of the network: each equals the reference
machine on the shared case table, decodes what it promises, and names the input of an error."""

import pytest

from modeling_synthesizer.execution import (
    STRATEGIES,
    Decoder,
    LazyRuns,
    Machine,
    run_decoded,
    run_lazy,
    run_programs,
    run_stepwise,
)
from modeling_synthesizer.known_programs import RunRefused
from modeling_synthesizer.subleq import SubleqError, run_subleq, run_subleq_batch


try:
    import cases
except ImportError:  # tests/ collected as a package
    from tests import cases


param = pytest.mark.parametrize
RUNS = {"lazy": run_lazy, "decoded": run_decoded, "stepwise": run_stepwise}
MACHINES = {"reference": Machine(reference_max_rows=1_000), "batched": Machine(reference_max_rows=0)}


def oracle(programs: dict, confidence=None):
    """A decoder that answers each (description, C_t) with the true instruction, recording every call's pairs;
    `confidence(description, pc)` gives each pair's confidence (default 1.0)."""
    calls = []

    def decode(pairs):
        calls.append(list(pairs))
        operands = [tuple(programs[description][pc - 1]) for description, pc in pairs]
        return operands, [1.0 if confidence is None else confidence(*pair) for pair in pairs]

    return decode, calls


def outcome(result):
    return result.memory, result.steps, result.halt_reason


@param("case", cases.CASES, ids=[c["name"] for c in cases.CASES])
@param("strategy", STRATEGIES)
@param("machine", MACHINES, ids=list(MACHINES))
def test_every_strategy_equals_the_reference_machine(case, strategy, machine):
    decode, _ = oracle({"p": case["program"]})
    length = len(case["program"])
    for inputs in (1, length + 1):  # a few inputs, and enough that the lazy strategy decodes the program whole
        results = run_programs(Decoder(decode), ["p"] * inputs, [case["memory"]] * inputs, length, case["max_steps"],
                               strategy=strategy, machine=MACHINES[machine])
        expected = (case["expected_memory"], case["expected_steps"], case["expected_halt_reason"])
        assert [outcome(result) for result in results] == [expected] * inputs


@param("strategy", STRATEGIES)
def test_traces_equal_the_reference_machine_s(strategy):
    decode, _ = oracle({"add": cases.ADD_PROGRAM + [(0, 0, 0)] * 2, "multiply": cases.MULTIPLY_PROGRAM})
    descriptions, memories = ["add", "multiply"], [cases.ADD_MEMORY, cases.MULTIPLY_MEMORY]
    results = RUNS[strategy](Decoder(decode), descriptions, memories, 6, 100, return_trace=True)
    expected = [run_subleq(cases.ADD_PROGRAM, cases.ADD_MEMORY, 100, return_trace=True),
                run_subleq(cases.MULTIPLY_PROGRAM, cases.MULTIPLY_MEMORY, 100, return_trace=True)]
    # The add program is padded to L = 6 with instructions it never reaches: the same run, the same trace.
    assert [(outcome(r), r.trace) for r in results] == [(outcome(e), e.trace) for e in expected]


def test_memories_are_copied_never_mutated():
    decode, _ = oracle({"p": cases.ADD_PROGRAM})
    memory = list(cases.ADD_MEMORY)
    for strategy in STRATEGIES:
        [result] = run_programs(Decoder(decode), ["p"], [memory], 4, strategy=strategy)
        assert memory == cases.ADD_MEMORY and result.memory == [3, 4, 7, 0]


def test_lazy_decodes_only_the_instructions_a_run_reaches_once_each():
    # falls_off_end runs instructions 1 and 3 only; instruction 2 is never decoded.
    decode, calls = oracle({"p": cases.FALLS_OFF_PROGRAM})
    decoder = Decoder(decode)
    [result] = run_lazy(decoder, ["p"], [cases.FALLS_OFF_MEMORY], 3)
    assert outcome(result) == ([3, 2, 0], 2, "end_of_program")
    assert calls == [[("p", 1)], [("p", 3)]]
    assert set(decoder.operands) == {("p", 1), ("p", 3)} and decoder.confidences("p") == {1: 1.0, 3: 1.0}


def test_lazy_decodes_a_description_that_L_inputs_share_whole_in_one_call():
    decode, calls = oracle({"p": cases.FALLS_OFF_PROGRAM, "q": cases.NEVER_HALTS_PROGRAM + [(0, 0, 0)]})
    run_lazy(Decoder(decode), ["p"] * 3 + ["q"], [cases.FALLS_OFF_MEMORY] * 3 + [cases.NEVER_HALTS_MEMORY], 3, 10)
    # "p" (3 inputs, L = 3) whole in the first call; "q" (1 input) lazily.
    assert calls[0] == [("p", 1), ("p", 2), ("p", 3)] and all(d == "q" for call in calls[1:] for d, _ in call)


def test_decoded_decodes_every_distinct_description_whole_in_one_call():
    decode, calls = oracle({"p": cases.FALLS_OFF_PROGRAM, "q": cases.NEVER_HALTS_PROGRAM + [(0, 0, 0)]})
    run_decoded(Decoder(decode), ["p", "q", "p"], [cases.FALLS_OFF_MEMORY, cases.NEVER_HALTS_MEMORY,
                                                   cases.FALLS_OFF_MEMORY], 3, 10)
    assert calls == [[("p", 1), ("p", 2), ("p", 3), ("q", 1), ("q", 2), ("q", 3)]]


def test_stepwise_decodes_one_call_per_step():
    decode, calls = oracle({"p": cases.MULTIPLY_PROGRAM})
    [result] = run_stepwise(Decoder(decode), ["p"], [cases.MULTIPLY_MEMORY], 6)
    assert result.steps == 35 and len(calls) == 35 and all(len(call) == 1 for call in calls)


def test_lazy_runs_step_by_step():
    decode, _ = oracle({"p": cases.ADD_PROGRAM})
    decoder = Decoder(decode)
    memories = [list(cases.ADD_MEMORY), [1, 1, 0, 0]]
    runs = LazyRuns(decoder, ["p", "p"], memories, 4, 100)
    rounds = 0
    while runs.waiting():
        pairs = runs.wanted()
        assert pairs == [("p", rounds + 1)]  # both inputs wait for the same instruction: asked for once
        runs.learn(pairs, decoder(pairs))
        rounds += 1
    assert rounds == 4
    assert [outcome(r) for r in runs.results()] == [([3, 4, 7, 0], 4, "halt"), ([1, 1, 2, 0], 4, "halt")]
    assert runs.results()[0].memory is memories[0]  # LazyRuns runs the memories it is given, in place


@param("strategy", STRATEGIES)
def test_an_instruction_below_min_confidence_is_refused_only_when_a_run_reaches_it(strategy):
    # falls_off_end never reaches instruction 2: its low confidence does not matter.
    decode, _ = oracle({"p": cases.FALLS_OFF_PROGRAM}, confidence=lambda description, pc: 0.1 if pc == 2 else 0.9)
    [result] = run_programs(Decoder(decode, min_confidence=0.5), ["p"], [cases.FALLS_OFF_MEMORY], 3,
                            strategy=strategy)
    assert outcome(result) == ([3, 2, 0], 2, "end_of_program")
    decode, _ = oracle({"p": cases.FALLS_OFF_PROGRAM}, confidence=lambda description, pc: 0.1 if pc == 3 else 0.9)
    with pytest.raises(RunRefused, match="instruction 3 would run with confidence 0.1 < min_confidence 0.5") as caught:
        run_programs(Decoder(decode, min_confidence=0.5), ["p", "p"], [cases.FALLS_OFF_MEMORY] * 2, 3,
                     strategy=strategy, indices=[7, 8])
    assert (caught.value.index, caught.value.instruction) == (7, 3)  # the first input to reach it is named


@param("case", cases.OVERFLOW_CASES, ids=[c["name"] for c in cases.OVERFLOW_CASES])
@param("strategy", STRATEGIES)
@param("machine", MACHINES, ids=list(MACHINES))
def test_an_overflow_names_the_input_by_its_index(case, strategy, machine):
    decode, _ = oracle({"p": case["program"]})
    length = len(case["program"])
    with pytest.raises(SubleqError) as caught:
        run_programs(Decoder(decode), ["p"] * 3, [[0] * len(case["memory"])] * 2 + [case["memory"]], length,
                     case["max_steps"], strategy=strategy, indices=[10, 11, 12], machine=MACHINES[machine])
    assert (caught.value.index, caught.value.index_name) == (12, "input")
    assert str(caught.value).startswith("input 12: instruction ")


def test_the_batched_machine_runs_in_slices_of_max_values():
    decode, _ = oracle({"p": [(1, 0, 0)]})
    sizes = []

    def run_batch(programs, memories, max_steps):
        sizes.append(programs.shape[0])
        return run_subleq_batch(programs, memories, max_steps)

    memories = [[i, 1] for i in range(5)]
    machine = Machine(run_batch=run_batch, reference_max_rows=0, max_values=6)  # 2 inputs of L = 1 a call
    results = run_decoded(Decoder(decode), ["p"] * 5, memories, 1, machine=machine)
    assert sizes == [2, 2, 1] and [r.memory[0] for r in results] == [-1, 0, 1, 2, 3]


def test_a_few_inputs_run_on_the_reference_machine_without_the_cpu_kernel(monkeypatch):
    from modeling_synthesizer import execution

    monkeypatch.setattr(execution, "cpu_kernel_available", lambda: False)
    assert Machine().uses_reference(16) and not Machine().uses_reference(17)
    monkeypatch.setattr(execution, "cpu_kernel_available", lambda: True)
    assert not Machine().uses_reference(1)


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match=r"strategy must be one of \('lazy', 'decoded', 'stepwise'\), got 'fast'"):
        run_programs(Decoder(lambda pairs: ([], [])), ["p"], [[0]], 1, strategy="fast")


def test_the_module_docstring_example():
    program = [(1, 0, 0)]
    decoder = Decoder(lambda pairs: ([program[pc - 1] for _, pc in pairs], [1.0] * len(pairs)))
    assert [result.memory for result in run_programs(decoder, ["[PROG_0]"], [[5, 2]], length=1)] == [[3, 2]]


def test_a_budget_of_zero_decodes_nothing():
    decode, calls = oracle({"p": cases.ADD_PROGRAM})
    for strategy in ("lazy", "stepwise"):
        [result] = run_programs(Decoder(decode), ["p"], [cases.ADD_MEMORY], 4, 0, strategy=strategy)
        assert outcome(result) == (cases.ADD_MEMORY, 0, "max_steps")
    assert calls == []


@param("program, error", [
    # `execute` stops on a LookupError, which an address outside the memory also is: the lazy runs used to wait for
    # that instruction again, forever.
    ([(0, 7, 0), (0, 0, 0), (0, 0, 0)], r"operand B = 7 is out of range \[0, 4\)"),
    # mem[1] - mem[0] = 1 > 0: instruction 1 falls through to 2 and never jumps to C = 9, yet C = 9 is no instruction
    # of a 3-instruction program; the lazy runs used to run it to a halt.
    ([(0, 1, 9), (0, 0, 0), (0, 0, 0)], r"operand C = 9 is out of range \[0, 3\]"),
], ids=["address outside the memory", "jump past the program"])
@param("strategy", STRATEGIES)
@param("return_trace", [False, True])
def test_an_instruction_the_machine_cannot_run_is_its_error_under_every_strategy(program, error, strategy,
                                                                                 return_trace):
    # One input of a 3-instruction program: the lazy strategy decodes as it goes (fewer inputs than instructions).
    decode, _ = oracle({"p": program})
    with pytest.raises(SubleqError, match=r"^input 0: instruction 1: " + error):
        run_programs(Decoder(decode), ["p"], [[1, 2, 3, 4]], 3, 10, strategy=strategy, return_trace=return_trace)


def test_a_jump_past_the_program_in_a_partly_unsure_decode_names_its_input():
    # Instruction 3 below min_confidence: the decoded strategy runs the inputs lazily on what it decoded, and the
    # jump past the program at instruction 2 (never reached: instruction 1 halts) is refused as in a sure decode.
    decode, _ = oracle({"q": [(0, 0, 0)] * 3, "p": [(0, 0, 0), (0, 1, 9), (0, 0, 0)]},
                       confidence=lambda description, pc: 0.1 if pc == 3 else 1.0)
    with pytest.raises(SubleqError, match=r"^input 1: instruction 2: operand C = 9 is out of range \[0, 3\]"):
        run_programs(Decoder(decode, min_confidence=0.5), ["q", "p"], [[1, 2, 3, 4]] * 2, 3, 10, strategy="decoded")
