"""Shared table of named Algorithm 1 cases (tracr's ``test_cases.py`` pattern).

Every expected value below was worked out by hand (the comments show the working) and checked against both
machines. Programs are lists of (A, B, C) for instructions 1..L; C == 0 halts after the write; a next instruction
of L + 1 falls off the end. Consumers: the machine tests, and any model or pipeline test that must end in the
same memory as the reference machine.

CASES: dict(name, program, memory, max_steps, expected_memory, expected_steps, expected_halt_reason)
INVALID_CASES: dict(name, program, memory, max_steps, match): ``run_subleq`` must raise SubleqError matching
    ``match`` (``re.search``) before running anything.
OVERFLOW_CASES: dict(name, program, memory, max_steps, match): valid inputs whose run writes a value outside
    int64; both machines must raise SubleqError matching ``match``.
"""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# add: mem[2] = mem[0] + mem[1], through the scratch cell Z = mem[3] (which ends at 0 again).
#   1: Z -= mem[0]    Z = -3          (C = 2: either branch goes to 2)
#   2: Z -= mem[1]    Z = -7          (C = 3)
#   3: mem[2] -= Z    mem[2] = 7 > 0  (falls through to 4; C = 4 anyway)
#   4: Z -= Z         Z = 0           (C = 0: halt)
ADD_PROGRAM = [(0, 3, 2), (1, 3, 3), (3, 2, 4), (3, 3, 0)]
ADD_MEMORY = [3, 4, 0, 0]

# multiply_by_loop: P = mem[2] += X (mem[0]) once per count of Y (mem[1], a loop counter, Y >= 1);
# Z = mem[3] is scratch, ONE = mem[4] holds 1.
#   1: Z -= X          Z = -X          (C = 2)
#   2: P -= Z          P += X          (C = 3)
#   3: Z -= Z          Z = 0           (C = 4)
#   4: Y -= ONE        if Y <= 0 go to 6, else fall through to 5
#   5: Z -= Z          0 <= 0: back to 1
#   6: Z -= Z          halt
# X = 6, Y = 7: six passes of 1..5 (5 steps each) and a last pass of 1..4 then 6 (5 steps): 35 steps, P = 42.
MULTIPLY_PROGRAM = [(0, 3, 2), (3, 2, 3), (3, 3, 4), (4, 1, 6), (3, 3, 1), (3, 3, 0)]
MULTIPLY_MEMORY = [6, 7, 0, 0, 1]

# falls_off_end: 1: mem[2] -= mem[2] = 0 <= 0, go to 3 (skipping 2, which would halt);
#                3: mem[0] -= mem[1] = 5 - 2 = 3 > 0, next is 4 = L + 1: off the end after 2 steps.
FALLS_OFF_PROGRAM = [(2, 2, 3), (0, 0, 0), (1, 0, 1)]
FALLS_OFF_MEMORY = [5, 2, 0]

# never_halts: 1: mem[0] -= ONE (mem[1]); mem[0] <= 0 from the start, so it jumps back to 1 forever
# (2 would reset Z = mem[2] and also jump back). After 25 steps mem[0] = -25.
NEVER_HALTS_PROGRAM = [(1, 0, 1), (2, 2, 1)]
NEVER_HALTS_MEMORY = [0, 1, 0]

CASES = [
    dict(
        name="add",
        program=ADD_PROGRAM,
        memory=ADD_MEMORY,
        max_steps=100,
        expected_memory=[3, 4, 7, 0],
        expected_steps=4,
        expected_halt_reason="halt",
    ),
    dict(
        name="multiply_by_loop",
        program=MULTIPLY_PROGRAM,
        memory=MULTIPLY_MEMORY,
        max_steps=1000,
        expected_memory=[6, 0, 42, 0, 1],
        expected_steps=35,
        expected_halt_reason="halt",
    ),
    dict(
        name="falls_off_end",
        program=FALLS_OFF_PROGRAM,
        memory=FALLS_OFF_MEMORY,
        max_steps=100,
        expected_memory=[3, 2, 0],
        expected_steps=2,
        expected_halt_reason="end_of_program",
    ),
    dict(
        name="never_halts",
        program=NEVER_HALTS_PROGRAM,
        memory=NEVER_HALTS_MEMORY,
        max_steps=25,
        expected_memory=[-25, 1, 0],
        expected_steps=25,
        expected_halt_reason="max_steps",
    ),
    # 1: mem[1] -= mem[0] = 5 - 1 = 4 > 0 would fall through to 2 (which zeroes mem[1]), but C == 0 halts.
    dict(
        name="halt_on_first",
        program=[(0, 1, 0), (1, 1, 1)],
        memory=[1, 5],
        max_steps=100,
        expected_memory=[1, 4],
        expected_steps=1,
        expected_halt_reason="halt",
    ),
    # A budget of 0 executes nothing.
    dict(
        name="max_steps_zero",
        program=ADD_PROGRAM,
        memory=ADD_MEMORY,
        max_steps=0,
        expected_memory=[3, 4, 0, 0],
        expected_steps=0,
        expected_halt_reason="max_steps",
    ),
    # The halting step is the last one the budget allows: it halts (the budget is only checked before a step).
    dict(
        name="halt_at_budget",
        program=ADD_PROGRAM,
        memory=ADD_MEMORY,
        max_steps=4,
        expected_memory=[3, 4, 7, 0],
        expected_steps=4,
        expected_halt_reason="halt",
    ),
    # One step short of halting: Z = -7 and mem[2] = 7 are left behind.
    dict(
        name="budget_one_short",
        program=ADD_PROGRAM,
        memory=ADD_MEMORY,
        max_steps=3,
        expected_memory=[3, 4, 7, -7],
        expected_steps=3,
        expected_halt_reason="max_steps",
    ),
    dict(
        name="falls_off_at_budget",
        program=FALLS_OFF_PROGRAM,
        memory=FALLS_OFF_MEMORY,
        max_steps=2,
        expected_memory=[3, 2, 0],
        expected_steps=2,
        expected_halt_reason="end_of_program",
    ),
    # The paper's soft-instruction program (Experiment 2): mem[0] = -1 (minus the positive class), mem[1] = 0
    # (minus the negative class), mem[2] = output. Positive runs (0, 2, 0): output 0 - (-1) = 1, halt.
    dict(
        name="soft_instruction_positive",
        program=[(0, 2, 0)],
        memory=[-1, 0, 0],
        max_steps=100,
        expected_memory=[-1, 0, 1],
        expected_steps=1,
        expected_halt_reason="halt",
    ),
    # Negative runs (1, 2, 0): output 0 - 0 = 0 (branch taken to 0), halt.
    dict(
        name="soft_instruction_negative",
        program=[(1, 2, 0)],
        memory=[-1, 0, 0],
        max_steps=100,
        expected_memory=[-1, 0, 0],
        expected_steps=1,
        expected_halt_reason="halt",
    ),
    # Writes that land exactly on the int64 limits are fine: (-2**63 + 1) - 1 and (2**63 - 2) - (-1).
    dict(
        name="reaches_int64_min",
        program=[(1, 0, 0)],
        memory=[INT64_MIN + 1, 1],
        max_steps=100,
        expected_memory=[INT64_MIN, 1],
        expected_steps=1,
        expected_halt_reason="halt",
    ),
    # 1: mem[0] = 2**63 - 1 > 0 falls through to 2; 2: mem[1] -= mem[1] = 0, halt.
    dict(
        name="reaches_int64_max",
        program=[(1, 0, 1), (1, 1, 0)],
        memory=[INT64_MAX - 1, -1],
        max_steps=100,
        expected_memory=[INT64_MAX, 0],
        expected_steps=2,
        expected_halt_reason="halt",
    ),
]

INVALID_CASES = [
    dict(
        name="a_out_of_range",
        program=[(3, 0, 0)],
        memory=[0, 0, 0],
        max_steps=10,
        match=r"^instruction 1: operand A = 3 is out of range \[0, 3\) for a data memory of size 3$",
    ),
    dict(
        name="b_negative",
        program=[(0, 0, 2), (0, -1, 0)],
        memory=[0, 0, 0],
        max_steps=10,
        match=r"^instruction 2: operand B = -1 is out of range \[0, 3\) for a data memory of size 3$",
    ),
    dict(
        name="c_past_end",
        program=[(0, 0, 3), (0, 0, 0)],
        memory=[0, 0, 0],
        max_steps=10,
        match=r"^instruction 1: operand C = 3 is out of range \[0, 2\] for a program of length 2$",
    ),
    dict(
        name="c_negative",
        program=[(0, 0, 0), (0, 0, -1)],
        memory=[0],
        max_steps=10,
        match=r"^instruction 2: operand C = -1 is out of range \[0, 2\]",
    ),
    dict(
        name="float_operand",
        program=[(0, 1.5, 0)],
        memory=[0, 0],
        max_steps=10,
        match=r"^instruction 1: operand B = 1\.5 is not an integer",
    ),
    dict(
        name="string_operand",
        program=[(0, 0, 0), ("2", 0, 0)],
        memory=[0, 0, 0],
        max_steps=10,
        match=r"^instruction 2: operand A = '2' is not an integer",
    ),
    dict(
        name="bool_operand",
        program=[(0, 0, True)],
        memory=[0, 0],
        max_steps=10,
        match=r"^instruction 1: operand C = True is a bool",
    ),
    dict(
        name="short_triple",
        program=[(0, 0, 0), (0, 0)],
        memory=[0],
        max_steps=10,
        match=r"^instruction 2: expected 3 operands \(A, B, C\), got 2",
    ),
    dict(
        name="long_triple",
        program=[(0, 0, 0, 0)],
        memory=[0],
        max_steps=10,
        match=r"^instruction 1: expected 3 operands \(A, B, C\), got 4",
    ),
    dict(
        name="empty_program",
        program=[],
        memory=[0],
        max_steps=10,
        match=r"at least one instruction",
    ),
    dict(
        name="float_memory_value",
        program=[(0, 0, 0)],
        memory=[0, 1.5],
        max_steps=10,
        match=r"^memory\[1\] = 1\.5 is not an integer",
    ),
    dict(
        name="bool_memory_value",
        program=[(0, 0, 0)],
        memory=[0, 1, True],
        max_steps=10,
        match=r"^memory\[2\] = True is a bool",
    ),
    dict(
        name="empty_memory",
        program=[(0, 0, 0)],
        memory=[],
        max_steps=10,
        match=r"at least one cell",
    ),
    dict(
        name="memory_over_int64",
        program=[(0, 0, 0)],
        memory=[0, INT64_MAX + 1],
        max_steps=10,
        match=r"^memory\[1\] = 9223372036854775808 is out of the int64 range",
    ),
    dict(
        name="memory_under_int64",
        program=[(0, 0, 0)],
        memory=[INT64_MIN - 1],
        max_steps=10,
        match=r"^memory\[0\] = -9223372036854775809 is out of the int64 range",
    ),
    dict(
        name="negative_max_steps",
        program=[(0, 0, 0)],
        memory=[0],
        max_steps=-1,
        match=r"^max_steps = -1 is out of range",
    ),
    dict(
        name="float_max_steps",
        program=[(0, 0, 0)],
        memory=[0],
        max_steps=10.0,
        match=r"^max_steps = 10\.0 is not an integer",
    ),
]

OVERFLOW_CASES = [
    # (2**63 - 1) - (-1) = 2**63 on the first step.
    dict(
        name="overflow_up",
        program=[(1, 0, 0)],
        memory=[INT64_MAX, -1],
        max_steps=10,
        match=r"^instruction 1: int64 overflow writing address 0: mem\[0\] - mem\[1\] = 9223372036854775807 - \(-1\)",
    ),
    # 1: mem[1] = 0 <= 0, go to 2; 2: -2**63 - 1 overflows downwards at address 0.
    dict(
        name="overflow_down",
        program=[(1, 1, 2), (2, 0, 0)],
        memory=[INT64_MIN, 5, 1],
        max_steps=10,
        match=r"^instruction 2: int64 overflow writing address 0: mem\[0\] - mem\[2\] = -9223372036854775808 - 1 ",
    ),
    # Fibonacci growth: 1: x -= y (x > 0, on to 2); 2: y -= x (y < 0, back to 1). With x = 1, y = -1 the
    # magnitudes run 2, 3, 5, 8, ...: F(93) > 2**63 - 1 is the 91st write, made to x by instruction 1.
    dict(
        name="overflow_in_loop",
        program=[(1, 0, 2), (0, 1, 1)],
        memory=[1, -1],
        max_steps=1000,
        match=r"^instruction 1: int64 overflow writing address 0: ",
    ),
]

__all__ = ["CASES", "INVALID_CASES", "OVERFLOW_CASES"]
