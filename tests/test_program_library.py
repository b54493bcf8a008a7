"""The program library: every program, assembled and run on the reference machine, agrees with its Python reference."""

import random

import pytest

from modeling_synthesizer.assembler import assemble
from modeling_synthesizer.program_library import (
    PROGRAMS,
    PROGRAMS_DIR,
    InputSpec,
    LibraryProgram,
    list_programs,
    load_program,
)
from modeling_synthesizer.subleq import run_subleq


param = pytest.mark.parametrize
NAMES = list_programs()
RANDOM_RUNS = 200


def run(program: LibraryProgram, inputs: dict):
    assembled = program.assemble()
    result = run_subleq(assembled.program, assembled.with_inputs(**inputs))
    assert result.halt_reason in ("halt", "end_of_program"), (program.name, inputs)
    return assembled.read_outputs(result.memory)


def edge_inputs(program: LibraryProgram) -> list[dict]:
    """Every input at its low end, its high end, 0 (where allowed), and ascending / descending ramps."""
    cases = []

    def fill(pick):
        values = {}
        for name, spec in program.inputs.items():
            cells = [pick(spec, i) for i in range(spec.length)]
            values[name] = cells[0] if spec.length == 1 else cells
        return values

    cases.append(fill(lambda spec, i: spec.low))
    cases.append(fill(lambda spec, i: spec.high))
    cases.append(fill(lambda spec, i: min(max(0, spec.low), spec.high)))
    cases.append(fill(lambda spec, i: spec.low + (spec.high - spec.low) * i // max(1, spec.length - 1)))
    cases.append(fill(lambda spec, i: spec.high - (spec.high - spec.low) * i // max(1, spec.length - 1)))
    cases.append(fill(lambda spec, i: spec.low if i % 2 else spec.high))
    return cases


SPECIAL_CASES = {
    "count_ones": [{"bits": [1, 1, 1, 0, 1, 0, 1, 1]}, {"bits": [0] * 8}, {"bits": [1] * 8}],
    "add": [{"a": 0, "b": 0}, {"a": -5, "b": 5}, {"a": 10**12, "b": -(10**12) - 1}],
    "multiply": [{"a": 0, "b": 7}, {"a": 7, "b": 0}, {"a": 1, "b": 1}, {"a": 12345, "b": 3}],
    "maximum": [{"xs": [5] * 6}, {"xs": [-1, -2, -3, -4, -5, -6]}, {"xs": [0, 0, 0, 0, 0, 1]}],
    "sum": [{"xs": [0] * 8}, {"xs": [-1, 1] * 4}],
    "reverse": [{"xs": list(range(8))}, {"xs": [0] * 8}],
    "absolute": [{"x": 0}, {"x": 1}, {"x": -1}, {"x": -(10**15)}],
    "sort": [{"xs": [2, 2, 1, 1]}, {"xs": [0, 0, 0, 0]}, {"xs": [4, 3, 2, 1]}, {"xs": [-1, 5, -1, 5]}],
    "fibonacci": [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 10}, {"n": 60}],
    "count_ones_32": [{"bits": [0] * 32}, {"bits": [1] * 32}, {"bits": [1, 1, 1, 0, 1, 0, 1, 1] + [0] * 24}],
}


def test_the_programs():
    assert set(NAMES) == {
        "count_ones", "add", "multiply", "maximum", "sum", "reverse", "absolute", "sort", "fibonacci",
        "count_ones_32",
    }
    assert NAMES == list(PROGRAMS)
    assert sorted(path.stem for path in PROGRAMS_DIR.glob("*.asm")) == sorted(NAMES)
    assert set(SPECIAL_CASES) == set(NAMES)


def test_load_program():
    assert load_program("add") is PROGRAMS["add"]
    with pytest.raises(KeyError, match="no library program 'mul'"):
        load_program("mul")


@param("name", NAMES)
def test_entry(name):
    program = load_program(name)
    assert program.name == name
    assert program.source_path == PROGRAMS_DIR / f"{name}.asm" and program.source_path.is_file()
    assert 5 <= len(program.descriptions) <= 8
    assert len(set(program.descriptions)) == len(program.descriptions)
    assert all(isinstance(d, str) and d.strip() for d in program.descriptions)
    assert all(isinstance(spec, InputSpec) and spec.low <= spec.high for spec in program.inputs.values())
    assembled = program.assemble()
    # the spec matches the source's .input / .output declarations
    assert {n: length for n, (_, length) in assembled.inputs.items()} == {
        n: spec.length for n, spec in program.inputs.items()
    }
    assert tuple(assembled.outputs) == program.outputs
    # short enough to memorize, and within k = 256 cells and L = 256 instructions
    assert len(assembled.program) <= 64
    assert assemble(program.source, 256, 256).program == assembled.program
    assert len(assembled.memory) == 256


@param("name", NAMES)
def test_matches_reference_on_random_inputs(name):
    program = load_program(name)
    rng = random.Random(f"library-{name}")
    for _ in range(RANDOM_RUNS):
        inputs = program.random_inputs(rng)
        assert run(program, inputs) == program.reference(**inputs), inputs


@param("name", NAMES)
def test_matches_reference_on_edge_cases(name):
    program = load_program(name)
    for inputs in edge_inputs(program) + SPECIAL_CASES[name]:
        assert run(program, inputs) == program.reference(**inputs), inputs


def test_random_inputs_follow_the_spec():
    rng = random.Random(0)
    for program in PROGRAMS.values():
        inputs = program.random_inputs(rng)
        assert set(inputs) == set(program.inputs)
        for name, spec in program.inputs.items():
            cells = [inputs[name]] if spec.length == 1 else inputs[name]
            assert len(cells) == spec.length
            assert all(spec.low <= cell <= spec.high for cell in cells)


def test_count_ones_is_the_papers_example():
    # "How many 1s are in the following sequence: 11101011?"
    assert run(load_program("count_ones"), {"bits": [int(c) for c in "11101011"]}) == {"count": 6}


def test_count_ones_32_counts_zero_padded_short_sequences():
    # A shorter sequence zero-padded to 32 bits keeps its count: the same program runs every length up to 32.
    rng = random.Random("count_ones_32-padding")
    for length in (1, 8, 16, 31):
        bits = [rng.randint(0, 1) for _ in range(length)]
        assert run(load_program("count_ones_32"), {"bits": bits + [0] * (32 - length)}) == {"count": sum(bits)}
