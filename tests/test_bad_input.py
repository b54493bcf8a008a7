"""Bad input, everywhere public: every invalid input to run_subleq, run_subleq_batch, SynthesizerConfig, the pipeline,
assemble and disassemble raises a ValueError or TypeError that names what was wrong, and nothing else (no other
exception, no hang, no silent acceptance); work is bounded by the input's size, never by a value inside it.

The plain tests pin each case one by one; the hypothesis tests fuzz each entry point against that contract, comparing
every accepted input's result with an independent reference (a few-line interpreter, the reference machine, or an
assemble round trip)."""

import json
import time

import pytest
import torch
from conftest import TINY_BACKBONES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import pipeline

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq, run_subleq, run_subleq_batch
from modeling_synthesizer.assembler import AssemblyError, assemble, disassemble
from modeling_synthesizer.subleq import (
    INT64_MAX,
    INT64_MIN,
    MAX_DATA_MEMORY_SIZE,
    SubleqError,
    SubleqTypeError,
    validate_program,
)
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


CLEAR = (ValueError, TypeError)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tiny_config(**kwargs):
    return SynthesizerConfig(text_config=TINY_BACKBONES["bert"], **{"data_memory_size": 16, **kwargs})


# run_subleq and run_subleq_batch


@pytest.mark.parametrize("program", [{(0, 1, 0), (1, 0, 0)}, frozenset({(0, 1, 0)}), {(0, 1, 0): 1}])
def test_run_subleq_refuses_unordered_programs(program):
    with pytest.raises(TypeError, match="program must be an ordered sequence"):
        run_subleq(program, [0, 0])


def test_run_subleq_refuses_an_unordered_instruction():
    with pytest.raises(TypeError, match="instruction 1: expected a triple"):
        run_subleq([{0, 1, 2}], [0, 0, 0])


@pytest.mark.parametrize(
    "program, memory, max_steps, match",
    [
        ([(0, 1, 0)], torch.zeros(2, dtype=torch.long, device="meta"), 5, "memory must be a dense tensor with data"),
        (torch.zeros(1, 3, dtype=torch.long, device="meta"), [0, 0], 5, "program must be a dense tensor"),
        ([(0, 1, 0)], torch.zeros(2, dtype=torch.long).to_sparse(), 5, "memory must be a dense tensor"),
        ([(0, 1, 0)], [0, 0], torch.tensor(3, device="meta"), "max_steps must be a dense tensor"),
        ([(torch.tensor(0, device="meta"), 1, 0)], [0, 0], 5, "instruction 1: operand A must be a dense tensor"),
        ([(0, 1, 0)], torch.tensor(3), 5, "memory must be a sequence, got a 0-dimensional tensor"),
        (torch.tensor(3), [0, 0], 5, "program must be a sequence, got a 0-dimensional tensor"),
        ([(0, 1, 0)], [0, 0], torch.tensor([3]), r"max_steps must be an integer, got a tensor of shape \(1,\)"),
    ],
)
def test_run_subleq_refuses_tensors_without_data_or_of_the_wrong_shape(program, memory, max_steps, match):
    with pytest.raises(SubleqTypeError, match=match):
        run_subleq(program, memory, max_steps)


def meta(*shape):
    return torch.zeros(*shape, dtype=torch.long, device="meta")


def cpu(*shape):
    return torch.zeros(*shape, dtype=torch.long)


@pytest.mark.parametrize(
    "args, match",
    [
        ((meta(1, 1, 3), meta(1, 2)), "programs must be a dense tensor with data"),
        ((cpu(1, 1, 3), cpu(1, 2), torch.tensor([3], device="meta")), "max_steps must be a dense tensor"),
        ((cpu(1, 1, 3), cpu(1, 2), torch.tensor(3, device="meta")), "max_steps must be a dense tensor"),
        ((cpu(1, 1, 3), cpu(1, 2), 3, torch.tensor([1], device="meta")), "program_lengths must be a dense tensor"),
        ((cpu(1, 1, 3).to_sparse(), cpu(1, 2).to_sparse()), "programs must be a dense tensor"),
    ],
)
@pytest.mark.parametrize("engine", ["auto", "tensor"])
def test_run_subleq_batch_refuses_tensors_without_data(args, match, engine):
    with pytest.raises(SubleqTypeError, match=match):
        run_subleq_batch(*args, engine=engine)


def test_fast_kernel_refuses_tensors_without_data():
    fast_subleq = pytest.importorskip("modeling_synthesizer.fast_subleq")
    with pytest.raises(TypeError, match="programs must be a dense tensor"):
        fast_subleq.run_rows(meta(1, 1, 3), cpu(1), cpu(1), cpu(1, 2))


# The contract, fuzzed. An independent reading of the machine's spec: valid inputs and their result.

def spec_operand(value):
    """The int an operand or cell stands for, or None when it is not an integer (bools and floats included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def spec_run(program, memory, max_steps):
    """Algorithm 1 in a few lines: (memory, steps, halt reason), or None when the input is invalid."""
    if not isinstance(program, (list, tuple)) or not isinstance(memory, (list, tuple)) or not program or not memory:
        return None
    cells = [spec_operand(value) for value in memory]
    if any(value is None or not INT64_MIN <= value <= INT64_MAX for value in cells):
        return None
    k, length = len(cells), len(program)
    triples = []
    for instruction in program:
        if not isinstance(instruction, (list, tuple)) or len(instruction) != 3:
            return None
        a, b, c = (spec_operand(value) for value in instruction)
        if None in (a, b, c) or not (0 <= a < k and 0 <= b < k and 0 <= c <= length):
            return None
        triples.append((a, b, c))
    pc, steps = 1, 0
    while steps < max_steps:
        a, b, c = triples[pc - 1]
        value = cells[b] - cells[a]
        if not INT64_MIN <= value <= INT64_MAX:
            return "overflow"
        cells[b], steps = value, steps + 1
        if c == 0:
            return cells, steps, "halt"
        pc = c if value <= 0 else pc + 1
        if pc == length + 1:
            return cells, steps, "end_of_program"
    return cells, steps, "max_steps"


small_int = st.integers(-3, 6)
odd_value = st.one_of(
    small_int, small_int, small_int, st.booleans(), st.floats(-2, 2), st.none(), st.text(max_size=2),
    st.sampled_from([INT64_MAX, INT64_MIN, 2**63, 2**70, -(2**64)]), st.lists(small_int, max_size=2),
)
odd_instruction = st.one_of(
    st.tuples(small_int, small_int, small_int), st.tuples(small_int, small_int, small_int),
    st.lists(odd_value, min_size=2, max_size=4), st.tuples(odd_value, odd_value, odd_value),
    st.frozensets(small_int, min_size=3, max_size=3), odd_value,
)


def odd_container(elements):
    return st.one_of(
        st.lists(elements, max_size=5), st.lists(elements, min_size=1, max_size=5).map(tuple),
        st.sets(st.integers(0, 3), max_size=3), st.text(max_size=3), st.none(), st.integers(),
    )


@FUZZ
@given(odd_container(odd_instruction), odd_container(odd_value), st.integers(0, 40))
def test_run_subleq_gives_a_clear_error_or_the_specs_result(program, memory, max_steps):
    expected = spec_run(program, memory, max_steps)
    if expected is None or expected == "overflow":
        with pytest.raises(CLEAR):
            run_subleq(program, memory, max_steps)
        return
    result = run_subleq(program, memory, max_steps)
    assert (result.memory, result.steps, result.halt_reason) == expected


@FUZZ
@given(st.data())
def test_run_subleq_batch_gives_a_clear_error_or_the_reference_machines_result(data):
    n, length, k = data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))
    dtype = data.draw(st.sampled_from([torch.int64, torch.int32, torch.int8, torch.uint8, torch.float32, torch.bool]))
    operands = data.draw(st.lists(st.integers(-1, 5), min_size=n * length * 3, max_size=n * length * 3))
    cells = data.draw(st.lists(st.integers(-100, 100), min_size=n * k, max_size=n * k))
    programs = torch.tensor(operands, dtype=torch.int64).view(n, length, 3)
    programs = programs.clamp(min=0).to(dtype) if dtype in (torch.uint8, torch.bool) else programs.to(dtype)
    memories = torch.tensor(cells, dtype=torch.int64).view(n, k)
    max_steps = data.draw(st.one_of(st.integers(-1, 30), st.just(torch.full((n,), 5, dtype=torch.long))))
    engine = data.draw(st.sampled_from(["auto", "tensor"]))
    rows = []
    try:
        for i in range(n):
            budget = max_steps if isinstance(max_steps, int) else int(max_steps[i])
            rows.append(run_subleq(programs[i].tolist(), memories[i].tolist(), budget))
        valid = dtype not in (torch.float32, torch.bool) and length >= 1 and k >= 1 and (
            isinstance(max_steps, torch.Tensor) or max_steps >= 0)
    except SubleqError:
        valid = False
    if not valid:
        with pytest.raises(CLEAR):
            run_subleq_batch(programs, memories, max_steps, engine=engine)
        return
    result = run_subleq_batch(programs, memories, max_steps, engine=engine).to_results()
    assert [(r.memory, r.steps, r.halt_reason) for r in result] == [(r.memory, r.steps, r.halt_reason) for r in rows]


# SynthesizerConfig: at construction, at from_pretrained of an edited config.json, at assignment and at use


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(memory_image=[2**70] + [0] * 15), ValueError, r"memory_image\[0\] = 1180591620717411303424 is out of"),
        (dict(memory_image=[0] * 15 + [-(2**63) - 1]), ValueError, r"memory_image\[15\]"),
        (dict(memory_image=[True] + [0] * 15), TypeError, "memory_image"),
        (dict(data_memory_size=10**12), ValueError, r"data_memory_size must be in \[1, 65536\]"),
        (dict(max_program_length=10**12), ValueError, r"max_program_length must be in \[1, 65536\]"),
        (dict(data_memory_size="16"), TypeError, "data_memory_size"),
        (dict(output_cell=99), ValueError, r"output_cell = 99 is out of range \[0, 16\)"),
        (dict(text_config={}), ValueError, "text_config must name its backbone with a 'model_type'"),
        (dict(text_config={"hidden_size": 32}), ValueError, "text_config must name its backbone"),
        (dict(text_config={"model_type": "synthesizer"}), ValueError, "text_config must be a backbone's config"),
        (dict(text_config="bert"), TypeError, "text_config"),
        (dict(min_margin=-1), ValueError, "min_margin must be >= 0"),
        (dict(known_programs="add"), TypeError, "known_programs"),
        (dict(known_programs=[{"name": "add"}]), ValueError, r"known_programs\[0\]\['descriptions'\]"),
        (dict(known_programs=[{"name": "a", "descriptions": ["x"], "instructions": [[99, 0, 0]]}]), ValueError,
         r"known_programs\[0\]\['instructions'\] instruction 1"),
        (dict(pooling="max"), ValueError, "pooling must be one of"),
    ],
)
def test_config_errors_are_value_or_type_errors_naming_the_field(kwargs, error, match):
    config_kwargs = {"text_config": TINY_BACKBONES["bert"], "data_memory_size": 16, **kwargs}
    with pytest.raises(error, match=match):
        SynthesizerConfig(**config_kwargs)


@pytest.mark.parametrize(
    "template",
    ["{instruction} {description} {foo}", "{instruction} {description.__class__}", "{instruction[0]} {description}",
     "{instruction} {description!r}", "{instruction:>{description}} {description}", "{} {instruction} {description}",
     "{0} {instruction} {description}", "{instruction} {description", "{instruction} }{description}",
     "{description}", "{instruction}", "no fields"],
)
def test_input_template_accepts_only_its_plain_fields(template):
    with pytest.raises(ValueError, match="input_template"):
        tiny_config(input_template=template)


def test_input_template_may_escape_braces():
    config = tiny_config(input_template="{{{instruction}}} {description}")
    assert config.format_input(3, "[PROG_0]") == "{3} [PROG_0]"


def test_config_from_an_edited_config_json_raises_naming_the_field(tmp_path):
    tiny_config(data_memory_size=16).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    for edit, error, match in [
        ({"output_cell": 99}, ValueError, "output_cell = 99"),
        ({"data_memory_size": "16"}, TypeError, "data_memory_size"),
        ({"memory_image": [2**70] * 16}, ValueError, r"memory_image\[0\]"),
        ({"input_template": "{instruction} {description.__class__}"}, ValueError, "input_template"),
        ({"text_config": {}}, ValueError, "model_type"),
        ({"min_margin": -1}, ValueError, "min_margin"),
    ]:
        (tmp_path / "config.json").write_text(json.dumps({**saved, **edit}))
        with pytest.raises(error, match=match):
            SynthesizerConfig.from_pretrained(tmp_path)


def test_config_assignment_checks_types_and_use_checks_the_rest():
    config = tiny_config()
    with pytest.raises(TypeError, match="data_memory_size"):
        config.data_memory_size = "4"
    with pytest.raises(TypeError, match="memory_image"):
        config.memory_image = (0,) * 16
    config.output_cell = 99  # consistent again once k is set too: checked at validate() and at use
    with pytest.raises(ValueError, match="output_cell = 99"):
        config.validate()
    with pytest.raises(ValueError, match="output_cell = 99"):
        SynthesizerForSubleq(config)
    config.output_cell, config.data_memory_size = None, 10**12
    with pytest.raises(ValueError, match="data_memory_size"):
        SynthesizerForSubleq(config)  # before any head is allocated


FIELD_VALUES = {
    "data_memory_size": st.one_of(st.integers(-2, 20), st.sampled_from([10**12, "8", 8.0, True, None])),
    "max_program_length": st.one_of(st.integers(-2, 20), st.sampled_from([10**12, "8", 8.5])),
    "memory_image": st.one_of(st.none(), st.lists(st.one_of(st.integers(-5, 5), st.sampled_from([2**63, 0.5, True])),
                                                  max_size=18)),
    "output_cell": st.one_of(st.none(), st.integers(-2, 20), st.sampled_from([1.0, "1"])),
    "input_template": st.one_of(st.sampled_from(["{instruction} {description}", "{description}|{instruction}"]),
                                st.text(alphabet="{}!:.[]0aid ", max_size=12)),
    "label_smoothing": st.one_of(st.floats(allow_nan=True), st.integers(-1, 2)),
    "pooling": st.sampled_from(["auto", "mean", "max", 3]),
    "min_margin": st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from([-1, 0, "1"])),
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=FIELD_VALUES))
def test_config_gives_a_clear_error_or_a_consistent_config(fields):
    try:
        config = SynthesizerConfig(text_config=TINY_BACKBONES["bert"], **fields)
    except CLEAR:
        return
    k, length = config.data_memory_size, config.max_program_length
    assert type(k) is int and 1 <= k <= MAX_DATA_MEMORY_SIZE and type(length) is int and 1 <= length
    if config.memory_image is not None:
        assert len(config.memory_image) == k
        assert all(type(v) is int and INT64_MIN <= v <= INT64_MAX for v in config.memory_image)
    assert config.output_cell is None or 0 <= config.output_cell < k
    text = config.format_input(7, "{description.__class__}")
    assert "7" in text and "{description.__class__}" in text and "class" not in text.replace("__class__", "")


# assemble and disassemble


@pytest.mark.parametrize("source", [None, 123, ["HALT"], b"HALT"])
def test_assemble_refuses_a_source_that_is_not_text(source):
    with pytest.raises(TypeError, match="source must be a str"):
        assemble(source)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(data_memory_size=10**9), ValueError, r"data_memory_size = 1000000000 is out of range \[1, 65536\]"),
        (dict(max_program_length=10**9), ValueError, "max_program_length"),
        (dict(data_memory_size=0), ValueError, "data_memory_size"),
        (dict(data_memory_size=True), TypeError, "data_memory_size"),
        (dict(max_program_length=8.0), TypeError, "max_program_length"),
    ],
)
def test_assemble_checks_its_sizes_before_allocating(kwargs, error, match):
    with pytest.raises(error, match=match):
        assemble("HALT", **kwargs)


@pytest.mark.parametrize(
    "source, line, column",
    [
        (".data\nx: .word 9223372036854775808\n.code\nHALT", 2, 10),
        (".data\nx: .word 1 -9223372036854775809\n.code\nHALT", 2, 12),
        (".data\nx: .word 0x8000000000000000\n.code\nHALT", 2, 10),
        ("SUB #9223372036854775808, x\n.data\nx: .word 0", 1, 5),
        ("SUB #-0x8000000000000001, x\n.data\nx: .word 0", 1, 5),
        (".data\nx: .word " + "9" * 5000 + "\n.code\nHALT", 2, 10),
        ("SUB #" + "1" * 5000 + ", x\n.data\nx: .word 0", 1, 5),
        ("SUB x+" + "7" * 5000 + ", x\n.data\nx: .word 0", 1, 5),
        (".data\nx: .zero " + "9" * 5000, 2, 10),
    ],
)
def test_literals_outside_int64_are_errors_at_their_line_and_column(source, line, column):
    with pytest.raises(AssemblyError, match="outside the int64 range") as caught:
        assemble(source)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_int64_extremes_assemble():
    source = ".data\nx: .word -9223372036854775808 9223372036854775807\n.code\nSUB #-9223372036854775808, x"
    assembled = assemble(source)
    assert assembled.memory[:3] == [INT64_MIN, INT64_MAX, INT64_MIN]


def test_a_huge_zero_count_is_refused_before_allocating():
    started = time.perf_counter()
    with pytest.raises(AssemblyError, match="too many data cells: 10000000000 declared") as caught:
        assemble(".data\nx: .zero 10000000000\n.code\nHALT")
    assert (caught.value.line, time.perf_counter() - started < 1) == (2, True)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x0b", "\x85", "\x1c"])
def test_only_newlines_end_lines(separator):
    with pytest.raises(AssemblyError) as caught:
        assemble(f"HALT{separator}\nHALT\nbogus x")
    assert caught.value.line == 3
    assert assemble(f"HALT\r\n{separator}HALT\rHALT").line_numbers == {1: 1, 2: 2, 3: 3}


@pytest.mark.parametrize(
    "program, error, match",
    [
        ([(-1, 0, 0)], ValueError, r"instruction 1: operand A = -1 is out of range"),
        ([(0, 0, 0), (0, -2, 0)], ValueError, r"instruction 2: operand B = -2"),
        ([(0, 0, -1)], ValueError, r"operand C = -1"),
        ([(0.5, 0, 0)], TypeError, r"operand A = 0.5 is not an integer"),
        ([(0, True, 0)], TypeError, r"operand B = True is a bool"),
        ([(0, 0)], ValueError, "expected 3 operands"),
        ([(0, 0, "1")], TypeError, "operand C"),
        ({(0, 0, 0)}, TypeError, "program must be an ordered sequence"),
        ("subleq", TypeError, "program must be a sequence"),
        (None, TypeError, "program must be a sequence"),
    ],
)
def test_disassemble_refuses_bad_programs(program, error, match):
    with pytest.raises(error, match=match):
        disassemble(program)


def test_disassemble_work_is_bounded_by_the_input():
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"operand A = 10000000 is out of range \[0, 65536\)"):
        disassemble([(10**7, 0, 0)])
    with pytest.raises(ValueError, match=r"symbols\['a'\]"):
        disassemble([(0, 0, 0)], symbols={"a": (0, 10**9)})
    with pytest.raises(ValueError, match=r"symbols\['b'\]"):
        disassemble([(0, 0, 0)], symbols={"b": 10**9})
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "memory, symbols, error, match",
    [
        ([2**63], None, ValueError, r"memory\[0\]"),
        ([0.5], None, TypeError, r"memory\[0\] = 0.5"),
        ({1, 2}, None, TypeError, "memory must be an ordered sequence"),
        (None, {"a b": 0}, ValueError, "'a b' is not a data label"),
        (None, {"halt": 0}, ValueError, "'halt' is not a data label"),
        (None, {3: 0}, ValueError, "3 is not a data label"),
        (None, {"a": 0.5}, TypeError, r"symbols\['a'\] = 0.5"),
        (None, {"a": (0, 0)}, ValueError, r"symbols\['a'\]"),
        (None, [("a", 0)], TypeError, "symbols must be a mapping"),
    ],
)
def test_disassemble_refuses_bad_memory_and_symbols(memory, symbols, error, match):
    with pytest.raises(error, match=match):
        disassemble([(0, 0, 0)], memory, symbols)


ASM_WORDS = [
    "HALT", "JMP", "SUB", "ADD", "MOV", "NEG", "INC", "JLEZ", "JNZ", "JLE", "subleq", ".data", ".code", ".word",
    ".zero", ".input", ".output", "x", "y", "x+1", "y+9", "loop:", "x:", "y:", "#0", "#1", "#-1", "#0x10",
    "#9223372036854775807", "#9223372036854775808", "9223372036854775808", "1" * 30, "0b" + "1" * 64, "2", "3",
    "next", "halt", "loop", "__z", ",", ";", ":", "#", "+", "\n", "\n", "\n", "\r\n", "\r", "\u2028", "\x0c",
    " ", " ", "\t",
]


@FUZZ
@given(st.lists(st.sampled_from(ASM_WORDS), max_size=25), st.integers(1, 8), st.integers(1, 8))
def test_assemble_gives_an_error_at_a_real_line_or_a_runnable_program(words, k, length):
    source = " ".join(words)
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    try:
        assembled = assemble(source, data_memory_size=k, max_program_length=length)
    except AssemblyError as error:
        assert 1 <= error.line <= len(lines) and 1 <= error.column <= max(len(lines[error.line - 1]), 1)
        return
    assert len(assembled.memory) == k and 1 <= len(assembled.program) <= length or not assembled.program
    assert all(INT64_MIN <= value <= INT64_MAX for value in assembled.memory)
    if assembled.program:
        validate_program(assembled.program, k)  # every operand in range
        again = assemble(assembled.disassemble(), data_memory_size=k, max_program_length=length)
        assert again.program == assembled.program


@FUZZ
@given(odd_container(odd_instruction), st.one_of(st.none(), odd_container(odd_value)),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b", "1x", "next"]),
                                            st.one_of(small_int, st.tuples(small_int, small_int)), max_size=2)))
def test_disassemble_gives_a_clear_error_or_text_that_assembles_back(program, memory, symbols):
    try:
        text = disassemble(program, memory, symbols)
    except CLEAR:
        return
    triples = [tuple(instruction) for instruction in program]
    if triples and all(c <= len(triples) for _, _, c in triples):
        assert assemble(text, max_program_length=len(triples)).program == triples


# the pipeline: its input checks (preprocess, default_memory, _check_memory, _check_description)


K, L = 4, 3


@pytest.fixture(scope="module")
def pipe():
    tokenizer = build_word_level_tokenizer(max(K, L), ["[PROG_0]", "[PROG_1]"])
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=K, max_program_length=L, add_special_tokens=False, output_cell=1)
    torch.manual_seed(0)
    return pipeline("subleq-execution", model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer)


@pytest.fixture
def fresh_config(pipe):
    """The pipeline's config, restored after a test that assigns its fields."""
    config = pipe.model.config
    saved = {name: getattr(config, name) for name in ("data_memory_size", "memory_image", "output_cell",
                                                      "input_template")}
    yield config
    for name, value in saved.items():
        setattr(config, name, value)


@pytest.mark.parametrize(
    "assignments, match",
    [
        (dict(output_cell=99), r"output_cell = 99 is out of range \[0, 4\)"),
        (dict(data_memory_size=10**12), r"data_memory_size must be in \[1, 65536\]"),
        (dict(memory_image=[2**70, 0, 0, 0]), r"memory_image\[0\]"),
        (dict(memory_image=[0, 0]), "memory_image has 2 cells but data_memory_size is 4"),
        (dict(input_template="{instruction} {description.__class__}"), "input_template"),
        (dict(input_template="{instruction} {description} {foo}"), "input_template"),
    ],
)
def test_pipeline_checks_config_fields_assigned_after_construction(pipe, fresh_config, assignments, match):
    for name, value in assignments.items():
        setattr(fresh_config, name, value)
    for inputs in ("[PROG_0]", ["[PROG_0]", "[PROG_1]"], {"description": "[PROG_0]", "memory": [0] * K}):
        with pytest.raises(ValueError, match=match):
            pipe(inputs, max_steps=5)


@pytest.mark.parametrize(
    "inputs, kwargs, match",
    [
        ({"description": "[PROG_0]", 3: 4}, {}, r"unknown keys \[3\]"),
        ({"description": "[PROG_0]", 3: 4, "x": 1}, {}, r"unknown keys \['x', 3\]"),
        ("[PROG_0]", dict(memory=torch.zeros(K, dtype=torch.long, device="meta")), "memory must be a dense tensor"),
        ("[PROG_0]", dict(memory={0, 1, 2, 3}), "memory must be an ordered sequence"),
        ("[PROG_0]", dict(memory=torch.tensor(3)), "memory must be a sequence"),
        ([{"description": "[PROG_0]", "memory": [[0]] * K}], {}, r"input 0: memory\[0\] = \[0\] is not an integer"),
        ("[PROG_0]", dict(max_steps=torch.tensor([3])), "max_steps must be an integer"),
        ("\u2028 \x0c", {}, "empty description"),
        ([["[PROG_0]"]], {}, "input 0: a description must be a string"),
        (b"[PROG_0]", {}, "inputs must be a description, an input dict, or an ordered list or stream of them"),
        ({"[PROG_0]", "[PROG_1]"}, {}, "got set"),
        ("[PROG_0]", dict(return_trace="no"), "return_trace must be True or False"),
        ("[PROG_0]", dict(allow_unknown=1), "allow_unknown must be True or False"),
    ],
)
def test_pipeline_bad_inputs(pipe, inputs, kwargs, match):
    with pytest.raises(CLEAR, match=match):
        pipe(inputs, **kwargs)


pipeline_description = st.one_of(
    st.sampled_from(["[PROG_0]", "[PROG_1]", "", "  ", "{description}", "{instruction}", "[PROG_0] [PROG_1]"]),
    st.text(max_size=6), st.integers(), st.none(), st.binary(max_size=3), st.lists(st.just("[PROG_0]"), max_size=2),
    st.floats(),
)
pipeline_memory = st.one_of(
    st.none(), st.lists(st.integers(-9, 9), min_size=K, max_size=K), odd_container(odd_value),
    st.sampled_from([torch.zeros(K, dtype=torch.long), torch.zeros(K), torch.zeros(K, dtype=torch.int8),
                     torch.zeros(2, 2, dtype=torch.long), torch.zeros(K, dtype=torch.long, device="meta")]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(pipeline_description, pipeline_memory), min_size=1, max_size=3),
       st.one_of(st.integers(-1, 20), st.sampled_from([1.5, True, "3", None])), st.sampled_from([1, 2, 0, True]),
       st.sampled_from(["lazy", "decoded", "stepwise"]))
def test_pipeline_gives_a_clear_error_or_the_reference_machines_result(pipe, items, max_steps, batch_size, strategy):
    inputs = [{"description": d} if m is None else {"description": d, "memory": m} for d, m in items]
    try:
        records = pipe(inputs, max_steps=max_steps, batch_size=batch_size, strategy=strategy)
    except CLEAR:
        return
    for (description, memory), record in zip(items, records):
        cells = [0] * K if memory is None else [int(cell) for cell in memory]
        expected = run_subleq(pipe.decode_program(description), cells, 100_000 if max_steps is None else max_steps)
        assert (record["memory"], record["steps"], record["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason)
        assert record["output"] == expected.memory[1]
