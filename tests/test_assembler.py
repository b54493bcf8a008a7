"""The assembler and disassembler: every macro run on the reference machine, the syntax, every error, round trips."""

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling_synthesizer import assembler
from modeling_synthesizer.assembler import AssembledProgram, AssemblyError, assemble, disassemble
from modeling_synthesizer.subleq import run_subleq


param = pytest.mark.parametrize
VALUES = range(-3, 4)


def run(source, **inputs):
    """Assemble, run on the reference machine, return (assembled, result, outputs)."""
    assembled = assemble(source)
    result = run_subleq(assembled.program, assembled.with_inputs(**inputs), max_steps=10_000)
    assert result.halt_reason in ("halt", "end_of_program")
    return assembled, result, assembled.read_outputs(result.memory)


def scratch_is_clean(assembled, memory):
    """The zero cell and every constant hold their values after the run."""
    for name, address in assembled.data_symbols.items():
        if name.startswith("__") and name != "__t":
            assert memory[address] == assembled.memory[address], name


# the module docstring


def test_docstring_example():
    text = assembler.__doc__.split("Example\n-------\n")[1].split("`assemble(source)`")[0]
    source = "\n".join(line[4:] for line in text.splitlines())
    assembled = assemble(source)
    assert len(assembled.program) == 8  # as the docstring says
    for a in range(5):
        for b in range(5):
            result = run_subleq(assembled.program, assembled.with_inputs(a=a, b=b))
            assert assembled.read_outputs(result.memory) == {"product": a * b}
    result = run_subleq(assembled.program, assembled.with_inputs(a=6, b=7))
    assert assembled.read_outputs(result.memory) == {"product": 42}


# macros

TWO_OPERANDS = """
.data
a: .word 0
b: .word 0
.input a, b
.output a, b
.code
        {line}
"""


@param(
    "line, expected, count",
    [
        ("ADD a, b", lambda a, b: (a, b + a), 3),
        ("SUB a, b", lambda a, b: (a, b - a), 1),
        ("MOV a, b", lambda a, b: (a, a), 4),
        ("NEG a, b", lambda a, b: (a, -a), 2),
        ("CLR b", lambda a, b: (a, 0), 1),
        ("INC b", lambda a, b: (a, b + 1), 1),
        ("DEC b", lambda a, b: (a, b - 1), 1),
        ("ADD a, a", lambda a, b: (2 * a, b), 3),
        ("SUB a, a", lambda a, b: (0, b), 1),
        ("MOV a, a", lambda a, b: (a, b), 0),
        ("NEG a, a", lambda a, b: (-a, b), 6),
        ("ADD #5, b", lambda a, b: (a, b + 5), 3),
        ("SUB #-2, b", lambda a, b: (a, b + 2), 1),
        ("MOV #7, b", lambda a, b: (a, 7), 4),
        ("NEG #7, b", lambda a, b: (a, -7), 2),
    ],
)
def test_data_macros(line, expected, count):
    source = TWO_OPERANDS.format(line=line) + "        HALT\n"
    assembled = assemble(source)
    assert len(assembled.program) == count + 1
    for a in VALUES:
        for b in VALUES:
            result = run_subleq(assembled.program, assembled.with_inputs(a=a, b=b))
            assert result.halt_reason == "halt"
            assert assembled.read_outputs(result.memory) == dict(zip("ab", expected(a, b))), (line, a, b)
            scratch_is_clean(assembled, result.memory)


def test_halt_and_jmp():
    source = """
    .data
    r: .word 0
    .output r
    .code
            JMP over
            INC r           ; skipped
    over:   INC r
            INC r
            HALT
            INC r           ; never reached
    """
    assembled, result, outputs = run(source)
    assert outputs == {"r": 2}
    assert result.halt_reason == "halt" and result.steps == 4
    z = assembled.data_symbols["__z"]
    assert assembled.program[0] == (z, z, 3)
    assert assembled.program[4] == (z, z, 0)
    assert assemble("JMP halt").program == [(0, 0, 0)]


JUMP = """
.data
x: .word 0
y: .word 0
r: .word 0
.input x, y
.output r, x, y
.code
        {line}
        INC r
        HALT
yes:    INC r
        INC r
"""

CONDITIONS = {
    "JLEZ x, yes": (lambda x, y: x <= 0, 1),
    "JGZ x, yes": (lambda x, y: x > 0, 2),
    "JGEZ x, yes": (lambda x, y: x >= 0, 2),
    "JLZ x, yes": (lambda x, y: x < 0, 3),
    "JZ x, yes": (lambda x, y: x == 0, 4),
    "JNZ x, yes": (lambda x, y: x != 0, 5),
    "JLE x, y, yes": (lambda x, y: x <= y, 5),
    "JGT x, y, yes": (lambda x, y: x > y, 6),
}


@param("line", list(CONDITIONS))
def test_conditional_jumps(line):
    condition, count = CONDITIONS[line]
    assembled = assemble(JUMP.format(line=line))
    assert len(assembled.program) == count + 4
    for x in VALUES:
        for y in VALUES:
            result = run_subleq(assembled.program, assembled.with_inputs(x=x, y=y))
            expected = 2 if condition(x, y) else 1
            assert assembled.read_outputs(result.memory) == {"r": expected, "x": x, "y": y}, (line, x, y)
            scratch_is_clean(assembled, result.memory)


@param("line", list(CONDITIONS))
def test_conditional_jumps_to_halt(line):
    # C = 0 would halt on both branches, so the jump goes to a HALT the assembler appends.
    condition, _ = CONDITIONS[line]
    source = JUMP.format(line=line.replace("yes", "halt")).replace("        HALT\n", "")
    assembled = assemble(source)
    z = assembled.data_symbols["__z"]
    if line.startswith(("JLEZ", "JGEZ", "JZ", "JLE")):  # the jump itself is conditional
        assert assembled.program[-1] == (z, z, 0)
        assert assembled.source_lines[len(assembled.program)] == "HALT  ; appended by the assembler"
    else:  # a conditional skip over an unconditional `JMP halt`, which is HALT itself
        assert (z, z, 0) in assembled.program
    for x in VALUES:
        for y in VALUES:
            result = run_subleq(assembled.program, assembled.with_inputs(x=x, y=y))
            assert result.halt_reason in ("halt", "end_of_program")
            assert assembled.read_outputs(result.memory)["r"] == (0 if condition(x, y) else 3)


def test_conditional_jump_to_halt_reuses_the_programs_halt():
    source = """
    .data
    x: .word 0
    .code
            JLEZ x, halt
            HALT
            DEC x
    """
    assembled = assemble(source)
    assert len(assembled.program) == 3
    assert assembled.program[0][2] == 2


@param("line", list(CONDITIONS))
def test_conditional_jumps_as_the_last_statement(line):
    # internal skips (and `done`) land past the last instruction: the assembler appends a HALT for them
    condition, count = CONDITIONS[line]
    source = f"""
    .data
    x: .word 0
    y: .word 0
    r: .word 5
    .input x, y
    .output r
    .code
            {line.replace("yes", "done")}
            CLR r
    done:
    """
    assembled = assemble(source)
    assert len(assembled.program) == count + 2
    assert assembled.code_symbols["done"] == count + 2
    for x in VALUES:
        for y in VALUES:
            result = run_subleq(assembled.program, assembled.with_inputs(x=x, y=y))
            assert result.halt_reason in ("halt", "end_of_program")
            assert assembled.read_outputs(result.memory) == {"r": 5 if condition(x, y) else 0}


def test_temp_and_zero_cells_are_allocated_only_when_used():
    assert assemble(".data\nx: .word 1\n.code\nSUB x, x").data_symbols == {"x": 0}
    assert set(assemble(".data\nx: .word 1\n.code\nJLEZ x, next").data_symbols) == {"x", "__z"}
    assert set(assemble(".data\nx: .word 1\n.code\nJGEZ x, next").data_symbols) == {"x", "__t"}


# raw subleq, targets and labels


def test_subleq_targets():
    source = """
    .data
    x: .word 3
    .code
    start:  subleq x, x             ; omitted: next
            subleq x, x, next
            subleq x, x, start
            subleq x, x, halt
            subleq x, x
    """
    assembled = assemble(source)
    assert assembled.program == [(0, 0, 2), (0, 0, 3), (0, 0, 1), (0, 0, 0), (0, 0, 0)]  # last `next` -> C = 0
    assert assembled.code_symbols == {"start": 1}


def test_labels_alone_before_and_stacked():
    source = """
    .data
    x: .word 0
    .code
    first:
    also: second: subleq x, x, first
            subleq x, x, also
    last:   subleq x, x, second
    end:
    """
    assembled = assemble(source)
    assert assembled.code_symbols == {"first": 1, "also": 1, "second": 1, "last": 3, "end": 4}
    assert [c for _, _, c in assembled.program] == [1, 1, 1]
    assert len(assembled.program) == 3  # `end` is not jumped to: no HALT appended


def test_mnemonics_and_keywords_are_case_insensitive():
    upper = assemble(".DATA\nx: .WORD 1\n.CODE\nSUBLEQ x, x, NEXT\nJLEZ x, HALT\nhalt\nINC x")
    lower = assemble(".data\nx: .word 1\n.code\nsubleq x, x, next\njlez x, halt\nHALT\ninc x")
    assert upper.program == lower.program


def test_sections_in_any_order_and_layout():
    source = """
    .code
            ADD a, out
            INC out
            subleq #7, out
    .data
    a:   .word 4
    out: .word 0
    .output out
    """
    assembled, _, outputs = run(source)
    assert outputs == {"out": 4 + 1 - 7}
    # declared cells first, then the assembler's in order of first use
    assert assembled.data_symbols == {"a": 0, "out": 1, "__z": 2, "__cm1": 3, "__c7": 4}
    assert assembled.memory[:6] == [4, 0, 0, -1, 7, 0]
    assert len(assembled.memory) == 256


def test_arrays_offsets_literals():
    source = """
    .data
    arr:  .word 1, 2 3      ; commas or spaces
          .word 0x10        ; continues arr
    bits: .word 0b101 -4
    buf:  .zero 3
    .input arr
    .output buf
    .code
            MOV arr+3, buf+0
            MOV arr, buf+1
            ADD #2, buf+2
            ADD #2, buf+2
            SUB bits+1, buf+2
    """
    assembled, _, outputs = run(source)
    assert assembled.memory[:9] == [1, 2, 3, 16, 5, -4, 0, 0, 0]
    assert assembled.data_symbols["bits"] == 4 and assembled.data_symbols["buf"] == 6
    assert assembled.inputs == {"arr": (0, 4)}
    assert assembled.outputs == {"buf": (6, 3)}
    assert outputs == {"buf": [16, 1, 8]}
    assert list(assembled.data_symbols).count("__c2") == 1  # one shared cell per constant


def test_zero_literal_is_the_zero_cell():
    assembled = assemble(".data\nx: .word 1\n.code\nsubleq #0, #0, halt\nJLEZ x, next")
    assert assembled.data_symbols == {"x": 0, "__z": 1}
    assert assembled.program == [(1, 1, 0), (1, 0, 0)]


def test_inputs_outputs_in_place():
    source = """
    .data
    xs: .word 0 0
    .input xs
    .output xs
    .code
            INC xs+0
            DEC xs+1
    """
    assembled, _, outputs = run(source, xs=[10, 20])
    assert assembled.inputs == assembled.outputs == {"xs": (0, 2)}
    assert outputs == {"xs": [11, 19]}


def test_with_inputs_and_read_outputs():
    assembled = assemble(".data\nx: .word 9\nys: .word 1 2\nz: .word 0\n.input x, ys\n.output z, ys\n.code\nHALT")
    assert assembled.with_inputs()[:4] == [9, 1, 2, 0]
    assert assembled.with_inputs(x=5, ys=(3, 4))[:4] == [5, 3, 4, 0]
    assert assembled.with_inputs(x=[6])[:1] == [6]
    assert assembled.memory[:4] == [9, 1, 2, 0]  # not mutated
    assert assembled.read_outputs([0, 7, 8, 9]) == {"z": 9, "ys": [7, 8]}
    with pytest.raises(ValueError, match="unknown input 'z'"):
        assembled.with_inputs(z=1)
    with pytest.raises(ValueError, match="takes 2 value"):
        assembled.with_inputs(ys=[1])
    with pytest.raises(ValueError, match="takes 1 value"):
        assembled.with_inputs(x=[1, 2])
    with pytest.raises(ValueError, match="integers"):
        assembled.with_inputs(ys=[1.5, 2])


def test_source_lines():
    source = ".data\nx: .word 0\n.code\nloop: ADD x, x   ; double\n  HALT\n"
    assembled = assemble(source)
    assert assembled.source_lines == {1: "loop: ADD x, x   ; double", 2: "loop: ADD x, x   ; double",
                                      3: "loop: ADD x, x   ; double", 4: "HALT"}
    assert assembled.line_numbers == {1: 4, 2: 4, 3: 4, 4: 5}
    assert assembled.symbols == {"x": 0, "__z": 1, "loop": 1}


def test_limits_are_reachable():
    source = ".data\nx: .zero 255\n.code\n" + "INC x\n" * 4
    assembled = assemble(source, max_program_length=4)
    assert len(assembled.program) == 4 and assembled.data_symbols["__cm1"] == 255


def test_a_final_macros_own_skip_lands_on_an_appended_halt():
    # JGZ skips over its own JMP; as the last statement that skip goes past the end, to a HALT the assembler appends
    assembled = assemble(".data\nx: .word 0\n.input x\n.code\nJGZ x, halt", data_memory_size=4)
    z = assembled.data_symbols["__z"]
    assert assembled.program == [(z, 0, 3), (z, z, 0), (z, z, 0)]
    assert assembled.source_lines[3] == "HALT  ; appended by the assembler"
    for x in (-1, 0, 1):
        assert run_subleq(assembled.program, assembled.with_inputs(x=x)).halt_reason == "halt"


# errors

ERRORS = [
    # (source, line, column, message)
    (".data\nx: .word 0\n.code\nloop: subleq x, x\n      JMP lop", 5, 11, "unknown label 'lop'"),
    (".data\nx: .word 0\n.code\n  subleq x, y", 4, 13, "unknown label 'y'"),
    (".data\nx: .word 0\n.code\n  SUB x, xx+1", 4, 10, "unknown label 'xx'"),
    (".data\nx: .word 0\n.input x, q", 3, 11, "unknown label 'q'"),
    (".data\nx: .word 0\n.code\nx: HALT", 4, 1, "duplicate label 'x'"),
    ("a: HALT\n  b: a: HALT", 2, 6, "duplicate label 'a'"),
    (".data\nx: .word 0\nx: .word 1", 3, 1, "duplicate label 'x'"),
    (".data\nx: .word 0\ny: .zero 300", 3, 4, "too many data cells: 301 declared, data memory has 256"),
    (".data\nx: .zero 256\n.code\n  INC x", 4, 3,
     "too many data cells: the assembler's cell '__cm1' does not fit in 256"),
    ("HALT\nHALT\n HALT", 3, 2, "too many instructions: 3, instruction memory has 2"),
    (".data\nx: .word 0\n.code\nHALT\n ADD x, x", 5, 2, "too many instructions: 4, instruction memory has 2"),
    (".data\nx: .word 0\n.code\nJLEZ x, end\nHALT\nend:", 4, 9,
     "too many instructions: 3 with the HALT appended for this jump, instruction memory has 2"),
    (".data\nx: .word 0\n.code\nJGZ x, halt", 4, 1,  # JGZ's skip over its own JMP goes past the end
     "too many instructions: 3 with the HALT appended for this jump, instruction memory has 2"),
    (".data\nx: .word 0\n.code\n  ADD x", 4, 3, "'ADD' takes 2 operand(s), got 1"),
    (".code\n  HALT now", 2, 3, "'HALT' takes 0 operand(s), got 1"),
    (".data\nx: .word 0\n.code\n  JLE x, x", 4, 3, "'JLE' takes 3 operand(s), got 2"),
    (".data\nx: .word 0\n.code\n  subleq x", 4, 3, "'subleq' takes 2 or 3 operands, got 1"),
    (".data\nx: .word 0\n.code\n  subleq x, x, x, x", 4, 3, "'subleq' takes 2 or 3 operands, got 4"),
    (".data\nx: .word 0\n.code\n  jmpp x", 4, 3, "unknown mnemonic 'jmpp'"),
    (".code\n  .word 5", 2, 3, "'.word' outside the .data section"),
    (".data\n  HALT", 2, 3, "instruction 'HALT' in the .data section"),
    (".data\nx: .wrd 5", 2, 4, "unknown data directive '.wrd'"),
    (".data\nx: .word 1 2x 3", 2, 12, "bad literal '2x'"),
    (".data\nx: .word", 2, 4, "'.word' takes at least 1 value, got 0"),
    (".data\nx: .zero 0", 2, 10, "bad literal '0' (a positive cell count)"),
    (".data\nx: .zero 2 3", 2, 4, "'.zero' takes 1 operand, got 2"),
    (".data\nx: .word 0\n.code\n  ADD #1x, x", 4, 7, "bad literal '#1x'"),
    (".data\nx: .word 0\n.code\n  ADD 5, x", 4, 7, "bad operand '5' (constants are written '#5')"),
    (".data\nx: .word 0\n.code\n  ADD x-1, x", 4, 7, "bad operand 'x-1'"),
    (".data\nx: .word 0\n.code\n  JMP 7", 4, 7, "bad target '7' (an instruction label, 'next' or 'halt')"),
    (".data\nx: .word 0 0\n.code\n  CLR x+2", 4, 7, "offset 2 is outside 'x' (2 cell(s))"),
    (".data\nx: .word 0\n.code\n  CLR #5", 4, 7, "cannot write to the constant '#5'"),
    (".data\nx: .word 0\n.code\n  subleq x, #0", 4, 13, "cannot write to the constant '#0'"),
    (".data\nx: .word 0\n.code\n  JMP x", 4, 7, "'x' is a data label, not an instruction label"),
    (".data\nx: .word 0\n.code\nl: CLR l", 4, 8, "'l' is an instruction label, not a data label"),
    (".data\nx: .word 0\n.input l\n.code\nl: HALT", 3, 8, "'l' is an instruction label, not a data label"),
    (".data\nx: .word 0\n.code\nnext: HALT", 4, 1, "'next' is a keyword and cannot be a label"),
    (".data\nx: .word 0\n.code\n  subleq x,, x", 4, 12, "empty operand"),
    (".data\nx:\n.code\nHALT", 2, 1, "data label 'x' declares no cells"),
    (".data\nx: .word 0\n.input x\n.input x", 4, 8, "'x' is already an input"),
    (".data\nx: .word 0\n.output\n", 3, 1, "'.output' takes at least 1 operand, got 0"),
    (".data\nl: .code", 2, 1, "a label cannot name the directive '.code'"),
    (".data\n__z: .word 0\n.code\nHALT", 2, 1, "'__z' is reserved for the assembler's cells"),
    ("HALT\n__z: HALT", 2, 1, "'__z' is reserved for the assembler's cells"),
    (".data\nx: .word 0\n.code\n__t: JGEZ x, next", 4, 1, "'__t' is reserved for the assembler's cells"),
]


@param("source, line, column, message", ERRORS)
def test_errors(source, line, column, message):
    with pytest.raises(AssemblyError) as info:
        assemble(source, max_program_length=2)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.line, error.column, error.message) == (line, column, message)
    assert str(error) == f"line {line}, column {column}: {message}"


def test_error_message_format():
    with pytest.raises(AssemblyError, match=re.escape("line 3, column 5: unknown label 'lop'")):
        assemble("HALT\nlop1: HALT\nJMP lop")
    with pytest.raises(AssemblyError, match="cannot write to the constant '#0'"):
        assemble("HALT\n  ADD #1, #0", max_program_length=2)


# disassembly


def test_disassemble_format():
    source = assembler.__doc__.split("Example\n-------\n")[1].split("`assemble(source)`")[0]
    assembled = assemble("\n".join(line[4:] for line in source.splitlines()))
    assert assembled.disassemble() == (
        ".data\n"
        "a:       .word 0\n"
        "b:       .word 0\n"
        "product: .word 0\n"
        "__z:     .word 0\n"
        "__c1:    .word 1\n"
        ".code\n"
        "L1: subleq __z, b, L8\n"
        "L2: subleq a, __z\n"
        "L3: subleq __z, product\n"
        "L4: subleq __z, __z\n"
        "L5: subleq __c1, b\n"
        "L6: subleq __z, b, L8\n"
        "L7: subleq __z, __z, L2\n"
        "L8: subleq __z, __z, halt\n"
    )


def test_disassemble_arrays_and_unnamed_cells():
    text = disassemble([(0, 3, 0), (5, 2, 1)], memory=[0, 4, 0, 0, 0, 0, 9], symbols={"xs": (1, 2), "y": 3})
    assert text == (
        ".data\n"
        "m0: .word 0\n"
        "xs: .word 4 0\n"
        "y:  .word 0 0 0 9\n"  # a bare address runs to the next name
        ".code\n"
        "L1: subleq m0, y, halt\n"
        "L2: subleq y+2, xs+1, L1\n"
    )
    assert disassemble([(2, 0, 0)]) == ".data\nm0: .word 0\nm1: .word 0\nm2: .word 0\n.code\nL1: subleq m2, m0, halt\n"


def test_disassemble_avoids_name_clashes():
    program = [(0, 1, 2), (1, 0, 0)]
    text = disassemble(program, symbols={"L1": 0, "m1_": 1})
    assert "L_1:" in text
    assert assemble(text).program == program
    text = disassemble(program, symbols={"m0": 1})
    assert "_m0: .word 0" in text
    assert assemble(text).program == program


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_disassemble_round_trip_random_programs(data):
    k = data.draw(st.integers(1, 12))
    length = data.draw(st.integers(1, 12))
    cell, target = st.integers(0, k - 1), st.integers(0, length)
    program = data.draw(st.lists(st.tuples(cell, cell, target), min_size=length, max_size=length))
    memory = data.draw(st.lists(st.integers(-5, 5), min_size=k, max_size=k))
    names = data.draw(st.dictionaries(st.sampled_from(["a", "b", "xs", "m0", "L2"]), cell, max_size=3))
    text = disassemble(program, memory, names)
    again = assemble(text, data_memory_size=k, max_program_length=length)
    assert again.program == program
    assert again.memory == memory
    assert disassemble(again.program, again.memory, again.data_symbols) == text


def test_disassemble_round_trip_with_macros():
    rng = random.Random(0)
    lines = [".data", "x: .word 3", "y: .word -2", "buf: .zero 3", ".code"]
    macros = ["ADD x, y", "SUB #4, buf+1", "MOV y, buf+2", "NEG x, buf", "INC x", "DEC buf+2", "CLR y",
              "JLE x, y, top", "JZ x, top", "JNZ buf+1, halt", "JGT y, #3, top", "JLZ x, next", "HALT"]
    lines.append("top:")
    lines += [rng.choice(macros) for _ in range(40)]
    assembled = assemble("\n".join(lines))
    again = assemble(assembled.disassemble())
    assert again.program == assembled.program
    assert again.memory == assembled.memory
    assert again.data_symbols == assembled.data_symbols


def test_assembled_program_is_a_dataclass():
    assembled = assemble("HALT")
    assert isinstance(assembled, AssembledProgram)
    assert assembled.program == [(0, 0, 0)] and assembled.inputs == {} and assembled.outputs == {}
