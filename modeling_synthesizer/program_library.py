"""Program libraries: folders of subleq programs, each a `.asm` file of `assembler.py` with a header of comments.

A library is data. Each program file names itself, gives the natural-language descriptions (the phrasings a
Synthesizer is trained to map to it) and, optionally, test cases and the value ranges of its inputs, in comment lines
before its first statement:

    ; name: add
    ; description: add two numbers
    ; description: what is a plus b?
    ; range: a=-1000..1000 b=-1000..1000
    ; test: a=2 b=3 -> sum=5
    ; test: a=-7 b=0 -> sum=-7
    ; sum = a + b (any other comment is free text)

    .data
    a:   .word 0
    ...

Header format
-------------
A header field is a whole-line comment `; key: value` before the first statement, with one of the keys below
(case-insensitive); every other comment is free text. A field after the first statement is an error.

    ; name: NAME            required, once: the program's name, `[A-Za-z_][A-Za-z0-9_-]*`, unique in the library
    ; description: TEXT     required, repeatable: one phrasing each; no two programs may share a phrasing (also
                            not one that reads the same word for word after lower-casing and splitting off
                            punctuation, as the description tokenizer reads it)
    ; test: IN -> OUT       optional, repeatable: every `.input` set and every `.output` expected, as
                            `name=value` pairs separated by spaces; a value is an integer (`-7`) or, for a label of
                            several cells, a list of exactly that many (`xs=[3, 1, 2]`)
    ; range: name=LOW..HIGH optional: the inclusive value range of each input cell for random testing; given for
                            one input, it must be given for all of them

The same library as a `datasets` dataset has one row per program with the columns `name` (str), `source` (str, the
assembly; its header may add ranges, descriptions and tests), `descriptions` (list of str) and `tests` (list of
`{"inputs": {...}, "outputs": {...}}`): see `program_from_record` and `program_to_record`.

Before any training, `check_fits` checks that every program fits k data cells and L instructions, and
`run_program_tests` runs every declared test on the reference machine (`subleq.run_subleq`).
`LibraryProgram.expected_outputs` gives what a right run ends with: the Python reference's outputs for a built-in
program, the reference machine's for any other.

The built-in library is the folder `programs/` read by `builtin_library()`; its programs also keep a pure-Python
`reference` for random testing. Example usage:

    program = load_program("count_ones")
    assembled = program.assemble()
    memory = assembled.with_inputs(bits=[1, 1, 1, 0, 1, 0, 1, 1])
    # ... run `assembled.program` on `memory` with `subleq.run_subleq`, then
    # assembled.read_outputs(final_memory) == program.reference(bits=[1, 1, 1, 0, 1, 0, 1, 1]) == {"count": 6}

    library = read_library("my_programs")  # every *.asm of the folder
    check_fits(library, data_memory_size=256, max_program_length=256)
    run_program_tests(library, data_memory_size=256, max_program_length=256)

All built-in programs fit k = 256 data cells and L = 256 instructions (each is at most 33 instructions). Arrays have
fixed lengths, because subleq with separate instruction memory has no indirect addressing: loops over arrays are
unrolled.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .assembler import AssembledProgram, AssemblyError, assemble
from .subleq import INT64_MAX, INT64_MIN, MAX_DATA_MEMORY_SIZE, MAX_PROGRAM_LENGTH, SubleqError, run_subleq


PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"

# Declared tests run with this step budget: a test program that has not halted by then is a failing test.
TEST_MAX_STEPS = 100_000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEADER_KEYS = ("name", "description", "test", "range")
_FIELD = re.compile(r"(\s*;\s*)([A-Za-z]+)(\s*):")
# Lines end where the assembler ends them (it reports the same line numbers).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PAIR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_INT = re.compile(r"[+-]?[0-9]+")
_LIST = re.compile(r"\[([^\[\]]*)\]")
_RANGE = re.compile(r"([+-]?[0-9]+)\s*\.\.\s*([+-]?[0-9]+)")


class LibraryError(ValueError):
    """A program library that cannot be used as it is; the message names the file and line, or the dataset row."""


class ProgramTestError(LibraryError):
    """Declared tests that fail on the reference machine.

    Attributes:
        failures: one line per failing test: the program, where the test is declared, the inputs, the expected and
            the actual outputs (or why the run had none).
    """

    def __init__(self, failures: Sequence[str]):
        self.failures = list(failures)
        count = f"{len(self.failures)} declared test{'s' if len(self.failures) > 1 else ''} failed"
        super().__init__(f"{count} on the reference machine:\n" + "\n".join(f"  {line}" for line in self.failures))


@dataclass(frozen=True)
class InputSpec:
    """One input: `length` cells, each drawn uniformly from `low..high` (inclusive) for random testing."""

    length: int
    low: int
    high: int


@dataclass(frozen=True)
class ProgramTest:
    """A declared test: the value of every input and the expected value of every output.

    Attributes:
        inputs / outputs: name -> an int for a one-cell label, a list of ints otherwise.
        line: the 1-based line of its `; test:` header line, None for a test from a dataset column.
        location: where it is declared, for messages (`"programs/add.asm, line 5"`, `"dataset row 2, tests[0]"`).
    """

    inputs: dict
    outputs: dict
    line: int | None = None
    location: str = ""


@dataclass(frozen=True, eq=False)
class LibraryProgram:
    """A library program.

    Attributes:
        name: its unique name (the `; name:` header line, or the dataset's `name` column).
        descriptions: natural-language phrasings of the task.
        inputs: input name -> `InputSpec` for random testing, in `.input` order; empty where the program declares
            no ranges (it is then tested by its declared tests only).
        outputs: the program's `.output` labels.
        reference: for built-in programs, keyword arguments of the inputs (an int for a length-1 input, a list
            otherwise) -> dict of the outputs in the form of `AssembledProgram.read_outputs`; None otherwise.
        source: the assembly text (with its header).
        origin: where it comes from, for messages: its file path or `"dataset row N"`.
        tests: the declared tests.
        input_names: the program's `.input` labels.
        path: the file it was read from, None for a program from a dataset.
        name_location / description_locations: where the name and each description are declared, for messages.
    """

    name: str
    descriptions: tuple[str, ...]
    inputs: dict[str, InputSpec]
    outputs: tuple[str, ...]
    reference: Callable[..., dict[str, int | list[int]]] | None = None
    source: str = ""
    origin: str = ""
    tests: tuple[ProgramTest, ...] = ()
    input_names: tuple[str, ...] = ()
    path: Path | None = None
    name_location: str = field(default="", repr=False)
    description_locations: tuple[str, ...] = field(default=(), repr=False)

    @property
    def source_path(self) -> Path | None:
        """The file it was read from, None for a program from a dataset."""
        return self.path

    def assemble(self, data_memory_size: int = 256, max_program_length: int = 256) -> AssembledProgram:
        return assemble(self.source, data_memory_size, max_program_length)

    def expected_outputs(
        self, inputs: Mapping[str, int | Sequence[int]], data_memory_size: int = 256, max_program_length: int = 256,
        max_steps: int = TEST_MAX_STEPS,
    ) -> dict[str, int | list[int]]:
        """The outputs a right run on `inputs` ends with: the Python `reference`'s where there is one, else the
        reference machine's (`run_subleq`) on the program assembled for k and L.

        Raises:
            LibraryError: the program does not fit k and L, or the reference machine's run does not halt within
                `max_steps` or stops with an error.
            ValueError: an unknown input name or a value of the wrong length (`AssembledProgram.with_inputs`).
        """
        if self.reference is not None:
            return self.reference(**inputs)
        assembled = _fitted(self, data_memory_size, max_program_length)
        try:
            result = run_subleq(assembled.program, assembled.with_inputs(**inputs), max_steps)
        except SubleqError as error:
            raise LibraryError(f"{self.origin}: program {self.name!r} on {_show(inputs)}: {error}") from None
        if not result.halted:
            raise LibraryError(f"{self.origin}: program {self.name!r} on {_show(inputs)} did not halt within "
                               f"{max_steps} steps, so it has no expected outputs")
        return assembled.read_outputs(result.memory)

    def random_inputs(self, rng: random.Random) -> dict[str, int | list[int]]:
        """Inputs drawn from the value ranges: an int for a length-1 input, a list otherwise.

        Raises:
            LibraryError: the program declares no ranges.
        """
        if not self.inputs and self.input_names:
            raise LibraryError(f"{self.origin}: program {self.name!r} declares no input ranges ('; range:' lines), "
                               "so it has no random inputs")
        values: dict[str, int | list[int]] = {}
        for name, spec in self.inputs.items():
            cells = [rng.randint(spec.low, spec.high) for _ in range(spec.length)]
            values[name] = cells[0] if spec.length == 1 else cells
        return values


# parsing


def _at(origin: str, line: int, column: int | None = None) -> str:
    return f"{origin}, line {line}" + (f", column {column}" if column is not None else "")


def _fail(where: str, message: str):
    raise LibraryError(f"{where}: {message}")


def _int64(text: str, where: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        _fail(where, f"{text} is outside the int64 range of a memory cell")
    return value


def _cell_value(raw: str, position: int, end: int, where: str) -> tuple[int | list[int], int]:
    """The integer or `[list]` of integers at `raw[position:end]`, and the position after it."""
    if match := _LIST.match(raw, position, end):
        cells = [cell for cell in re.split(r"[\s,]+", match.group(1).strip()) if cell]
        for cell in cells:
            if not _INT.fullmatch(cell):
                _fail(where, f"bad list element {cell!r}: a list holds integers, e.g. [1, -2, 3]")
        return [_int64(cell, where) for cell in cells], match.end()
    if match := _INT.match(raw, position, end):
        return _int64(match.group(), where), match.end()
    got = raw[position:end].split(None, 1)[0] if raw[position:end].strip() else ""
    _fail(where, "expected an integer (e.g. -7) or a list of integers (e.g. [1, 2, 3])" + (f", got {got!r}" if got
                                                                                        else ", got nothing"))


def _range_value(raw: str, position: int, end: int, where: str) -> tuple[tuple[int, int], int]:
    """The `LOW..HIGH` at `raw[position:end]`, and the position after it."""
    match = _RANGE.match(raw, position, end)
    if not match:
        _fail(where, "a range is LOW..HIGH, e.g. a=-1000..1000")
    low, high = _int64(match.group(1), where), _int64(match.group(2), where)
    if low > high:
        _fail(where, f"empty range {low}..{high}: LOW must be <= HIGH")
    return (low, high), match.end()


def _pairs(raw: str, start: int, end: int, origin: str, line: int, parse_value) -> list[tuple[str, object, str]]:
    """The `name=value` pairs of `raw[start:end]`, separated by spaces: (name, value, where the name is)."""
    pairs, position = [], start
    while True:
        while position < end and raw[position].isspace():
            position += 1
        if position >= end:
            return pairs
        match = _PAIR.match(raw, position, end)
        if not match:
            _fail(_at(origin, line, position + 1), f"expected name=value, got {raw[position:end].split(None, 1)[0]!r}")
        value, position = parse_value(raw, match.end(), end, _at(origin, line, match.end() + 1))
        pairs.append((match.group(1), value, _at(origin, line, match.start(1) + 1)))
        if position < end and not raw[position].isspace():
            _fail(_at(origin, line, position + 1), f"unexpected {raw[position:end].split(None, 1)[0]!r}: separate "
                                                   "name=value pairs with spaces")


@dataclass
class _Fields:
    """The header fields of one program, each with where it was given."""

    name: tuple[str, str] | None = None
    descriptions: list[tuple[str, str]] = field(default_factory=list)
    tests: list[tuple[list, list, int | None, str]] = field(default_factory=list)  # inputs, outputs, line, where
    ranges: list[tuple[str, tuple[int, int], str]] = field(default_factory=list)


def _read_header(text: str, origin: str) -> _Fields:
    """The header fields of `text`; a field after the first statement is an error."""
    fields, started = _Fields(), False
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if raw.split(";", 1)[0].strip():
            started = True
            continue
        match = _FIELD.match(raw)
        if not match or match.group(2).lower() not in _HEADER_KEYS:
            continue  # free text
        key, start, end = match.group(2).lower(), match.end(), len(raw)
        if started:
            _fail(_at(origin, number, match.start(2) + 1),
                  f"'; {key}:' after the first statement: header lines come before the program")
        value = raw[start:].strip()
        where = _at(origin, number, start + len(raw[start:]) - len(raw[start:].lstrip()) + 1)
        if key == "name":
            if fields.name is not None:
                _fail(where, f"a second '; name:' line (the name {fields.name[0]!r} is given at {fields.name[1]})")
            fields.name = (value, where)
        elif key == "description":
            fields.descriptions.append((value, where))
        elif key == "range":
            fields.ranges.extend(_pairs(raw, start, end, origin, number, _range_value))
        else:
            arrow = raw.find("->", start)
            if arrow < 0 or raw.find("->", arrow + 2) >= 0:
                _fail(where, "a test is 'INPUTS -> OUTPUTS', e.g. '; test: a=2 b=3 -> sum=5'")
            inputs = _pairs(raw, start, arrow, origin, number, _cell_value)
            outputs = _pairs(raw, arrow + 2, end, origin, number, _cell_value)
            fields.tests.append((inputs, outputs, number, _at(origin, number)))
    return fields


def _assembled(source: str, origin: str) -> AssembledProgram:
    """`source` assembled for the largest machine (whether it fits k and L is `check_fits`'s question)."""
    try:
        return assemble(source, MAX_DATA_MEMORY_SIZE, MAX_PROGRAM_LENGTH)
    except AssemblyError as error:
        raise LibraryError(f"{_at(origin, error.line, error.column)}: {error.message}") from None


def _cells(value) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _test_side(pairs, declared: Mapping[str, tuple[int, int]], kind: str, where: str) -> dict:
    """A test's inputs or outputs as name -> value (an int for a one-cell label), checked against the program."""
    values: dict = {}
    for name, value, at in pairs:
        if name not in declared:
            _fail(at, f"the test names {name!r}, which is no declared {kind} of the program (.{kind} "
                      f"{', '.join(declared) or 'declares none'})")
        if name in values:
            _fail(at, f"the test gives {kind} {name!r} twice")
        length = declared[name][1]
        if len(_cells(value)) != length:
            _fail(at, f"{kind} {name!r} has {length} cell{'s' if length > 1 else ''}, the test gives "
                      f"{len(_cells(value))}")
        values[name] = _cells(value)[0] if length == 1 else _cells(value)
    missing = [name for name in declared if name not in values]
    if missing:
        _fail(where, f"the test gives no {kind} {', '.join(map(repr, missing))}: a test sets every input and "
                     "expects every output")
    return values


def _program(fields: _Fields, source: str, origin: str, assembled: AssembledProgram, path: Path | None = None):
    """The `LibraryProgram` of checked header fields."""
    if fields.name is None:
        _fail(origin, "the program has no name: add a '; name: NAME' header line (or a 'name' column)")
    name, name_location = fields.name
    if not _NAME.fullmatch(name):
        _fail(name_location, f"bad program name {name!r}: a name is letters, digits, '_' and '-', starting with a "
                             "letter or '_'")
    if not fields.descriptions:
        _fail(origin, f"program {name!r} has no description: add a '; description: TEXT' header line (or a "
                      "'descriptions' column)")
    seen: dict[tuple[str, ...], tuple[str, str]] = {}
    for text, where in fields.descriptions:
        if not text:
            _fail(where, "empty description")
        key = description_key(text)
        if key in seen:
            _fail(where, f"the description {text!r} reads the same as {seen[key][0]!r} at {seen[key][1]}")
        seen[key] = (text, where)
    ranges: dict[str, InputSpec] = {}
    for input_name, (low, high), where in fields.ranges:
        if input_name not in assembled.inputs:
            _fail(where, f"a range for {input_name!r}, which is no declared input (.input "
                         f"{', '.join(assembled.inputs) or 'declares none'})")
        if input_name in ranges:
            _fail(where, f"a second range for input {input_name!r}")
        ranges[input_name] = InputSpec(assembled.inputs[input_name][1], low, high)
    if ranges and len(ranges) != len(assembled.inputs):
        missing = [input_name for input_name in assembled.inputs if input_name not in ranges]
        _fail(fields.ranges[0][2], f"no range for input {', '.join(map(repr, missing))}: give a range for every "
                                   "input or for none")
    tests = tuple(
        ProgramTest(_test_side(inputs, assembled.inputs, "input", where),
                    _test_side(outputs, assembled.outputs, "output", where), line, where)
        for inputs, outputs, line, where in fields.tests
    )
    return LibraryProgram(
        name=name,
        descriptions=tuple(text for text, _ in fields.descriptions),
        inputs={input_name: ranges[input_name] for input_name in assembled.inputs if input_name in ranges},
        outputs=tuple(assembled.outputs),
        source=source,
        origin=origin,
        tests=tests,
        input_names=tuple(assembled.inputs),
        path=path,
        name_location=name_location,
        description_locations=tuple(where for _, where in fields.descriptions),
    )


def description_key(text: str) -> tuple[str, ...]:
    """The words of a description as the description tokenizer reads them: lower-cased, punctuation split off.

    Two descriptions with the same key are one input to the network, so they cannot name two programs.
    """
    from tokenizers import normalizers, pre_tokenizers  # a dependency of transformers; imported where used

    words = pre_tokenizers.BertPreTokenizer().pre_tokenize_str(normalizers.Lowercase().normalize_str(text))
    return tuple(word for word, _ in words)


def parse_program(text: str, origin: str, path: Path | None = None) -> LibraryProgram:
    """One program: its header (see the module docstring) and its assembly.

    Args:
        text: the file's text.
        origin: where it comes from, named by every error (a file path).
        path: the file, if it is one.

    Returns:
        The `LibraryProgram`, without a `reference`.

    Raises:
        TypeError: `text` is not a str.
        LibraryError: naming `origin`, the line and the column: malformed assembly, a malformed or misplaced header
            line, no name or a bad one, no description or a repeated one, a range or test naming no declared input
            or output, a test value of the wrong length, or a test that leaves an input or output out.
    """
    if not isinstance(text, str):
        raise TypeError(f"{origin}: a program is text (str), got {type(text).__name__}")
    fields = _read_header(text, origin)
    return _program(fields, text, origin, _assembled(text, origin), path)


def _record_value(value, where: str):
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple)):
        _fail(where, f"expected an integer or a list of integers, got {value!r}")
    for cell in _cells(value):
        if isinstance(cell, bool) or not isinstance(cell, int):
            _fail(where, f"expected integers, got {cell!r}")
        if not INT64_MIN <= cell <= INT64_MAX:
            _fail(where, f"{cell} is outside the int64 range of a memory cell")
    return value


def _record_test(test, where: str) -> tuple[list, list, None, str]:
    """A `tests` item: a mapping {"inputs": {...}, "outputs": {...}} or a string in the header's syntax."""
    if isinstance(test, str):
        fields = _read_header(f"; test: {test}", where)
        return fields.tests[0][0], fields.tests[0][1], None, where
    if not isinstance(test, Mapping) or set(test) - {"inputs", "outputs"}:
        _fail(where, f'a test is {{"inputs": {{...}}, "outputs": {{...}}}} or "a=2 b=3 -> sum=5", got {test!r}')
    sides = []
    for side in ("inputs", "outputs"):
        values = test.get(side) or {}
        if not isinstance(values, Mapping):
            _fail(where, f"{side} is a mapping of names to values, got {values!r}")
        # A dataset stores tests of every program in one schema: names of other programs' cells read as None.
        sides.append([(name, _record_value(value, f"{where}, {side}[{name!r}]"), f"{where}, {side}[{name!r}]")
                      for name, value in values.items() if value is not None])
    return sides[0], sides[1], None, where


def program_from_record(record: Mapping, origin: str) -> LibraryProgram:
    """One program from a dataset row: the columns `name`, `source`, `descriptions` and `tests`.

    The source may carry a header too: its descriptions, tests and ranges are added to the columns' (a name given
    in both must agree). A test is `{"inputs": {...}, "outputs": {...}}` (entries that are None are left out, as a
    dataset's shared schema fills them in) or a string `"a=2 b=3 -> sum=5"`.

    Args:
        record: the row.
        origin: where it comes from, named by every error (e.g. `"my_library.jsonl row 3"`).

    Raises:
        LibraryError: naming `origin` and the column (and the line and column within the source): a missing or
            malformed column, or any error of `parse_program`.
    """
    if not isinstance(record, Mapping):
        _fail(origin, f"a row is a mapping of columns, got {type(record).__name__}")
    source = record.get("source")
    if not isinstance(source, str):
        _fail(f"{origin}, column 'source'", f"expected the program's assembly text, got {source!r}")
    fields = _read_header(source, f"{origin}, source")
    name = record.get("name")
    if name is not None:
        if not isinstance(name, str):
            _fail(f"{origin}, column 'name'", f"expected a str, got {name!r}")
        if fields.name is not None and fields.name[0] != name.strip():
            _fail(f"{origin}, column 'name'", f"{name!r} disagrees with the source's '; name: {fields.name[0]}' at "
                                              f"{fields.name[1]}")
        fields.name = (name.strip(), f"{origin}, column 'name'")
    descriptions = record.get("descriptions") or []
    if isinstance(descriptions, str) or not isinstance(descriptions, Sequence):
        _fail(f"{origin}, column 'descriptions'", f"expected a list of str, got {descriptions!r}")
    for index, text in enumerate(descriptions):
        if not isinstance(text, str):
            _fail(f"{origin}, descriptions[{index}]", f"expected a str, got {text!r}")
    fields.descriptions[:0] = [(text.strip(), f"{origin}, descriptions[{index}]")
                               for index, text in enumerate(descriptions)]
    tests = record.get("tests") or []
    if isinstance(tests, (str, Mapping)) or not isinstance(tests, Sequence):
        _fail(f"{origin}, column 'tests'", f"expected a list of tests, got {tests!r}")
    fields.tests[:0] = [_record_test(test, f"{origin}, tests[{index}]") for index, test in enumerate(tests)]
    return _program(fields, source, origin, _assembled(source, f"{origin}, source"))


def program_to_record(program: LibraryProgram) -> dict:
    """The dataset row of `program` (`program_from_record` reads it back): its name, descriptions and tests as
    columns (tests as strings, which every dataset schema holds), and its source without those header lines."""
    lines = []
    for raw in _LINE_BREAK.split(program.source):
        match = _FIELD.match(raw)
        if not (match and match.group(2).lower() in ("name", "description", "test")):
            lines.append(raw)

    def text(values: dict) -> str:
        return " ".join(f"{name}={value}" for name, value in values.items())

    return {
        "name": program.name,
        "source": "\n".join(lines),
        "descriptions": list(program.descriptions),
        "tests": [f"{text(test.inputs)} -> {text(test.outputs)}" for test in program.tests],
    }


# libraries


def check_library(programs: Sequence[LibraryProgram], key: Callable[[str], object] = description_key) -> None:
    """Check that `programs` make one library: at least one program, unique names, and no description that two
    programs share (also not one that reads the same to the tokenizer: `key`, `description_key` by default).

    Raises:
        LibraryError: naming the files and lines (or dataset rows) of both entries.
    """
    if not programs:
        raise LibraryError("the library is empty: it has no programs")
    names: dict[str, LibraryProgram] = {}
    owners: dict[object, tuple[LibraryProgram, str, str]] = {}
    for program in programs:
        if program.name in names:
            _fail(program.name_location or program.origin, f"duplicate program name {program.name!r} (also at "
                  f"{names[program.name].name_location or names[program.name].origin})")
        names[program.name] = program
        locations = program.description_locations or (program.origin,) * len(program.descriptions)
        for text, where in zip(program.descriptions, locations):
            owner = owners.setdefault(key(text), (program, text, where))
            if owner[0] is not program:
                _fail(where, f"the description {text!r} of {program.name!r} reads the same as {owner[1]!r} of "
                             f"{owner[0].name!r} at {owner[2]}: a description names one program")


def _read_folder(folder: Path, shown_as: str) -> list[LibraryProgram]:
    if not folder.is_dir():
        raise LibraryError(f"{shown_as}: no such folder")
    files = sorted(folder.glob("*.asm"))
    if not files:
        raise LibraryError(f"{shown_as}: the library is empty: the folder has no *.asm file")
    programs = []
    for path in files:
        origin = f"{shown_as}/{path.name}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise LibraryError(f"{origin}: not UTF-8 text ({error.reason} at byte {error.start})") from None
        programs.append(parse_program(text, origin, path))
    check_library(programs)
    return sorted(programs, key=lambda program: program.name)


def read_library(folder: str | Path) -> list[LibraryProgram]:
    """Every `*.asm` program of `folder` (not its subfolders), sorted by name.

    Raises:
        LibraryError: naming the file, line and column: no such folder, no program, any error of `parse_program`,
            a duplicate name or a description given for two programs.
    """
    return _read_folder(Path(folder), str(folder).rstrip("/\\") or str(folder))


def read_records(records: Iterable[Mapping], origin: str) -> list[LibraryProgram]:
    """A library from dataset rows (`program_from_record`), sorted by name; errors name `"{origin} row N"`
    (0-based rows, as `dataset[N]` reads them).

    Raises:
        LibraryError: no row, any error of `program_from_record`, a duplicate name or a shared description.
    """
    programs = [program_from_record(record, f"{origin} row {index}") for index, record in enumerate(records)]
    if not programs:
        raise LibraryError(f"{origin}: the library is empty: the dataset has no rows")
    check_library(programs)
    return sorted(programs, key=lambda program: program.name)


def _fitted(program: LibraryProgram, data_memory_size: int, max_program_length: int) -> AssembledProgram:
    try:
        return program.assemble(data_memory_size, max_program_length)
    except AssemblyError as error:
        largest = _assembled(program.source, program.origin)
        cells = _cells_needed(program.source, max_program_length)
        raise LibraryError(
            f"{program.origin}: program {program.name!r} does not fit the machine (k = {data_memory_size} data "
            f"cells, L = {max_program_length} instructions): it needs {cells} cells and {len(largest.program)} "
            f"instructions (line {error.line}, column {error.column}: {error.message})"
        ) from None


def _cells_needed(source: str, max_program_length: int) -> int:
    """The fewest data cells `source` assembles into (assembling needs more cells the more it has: bisection)."""
    low, high = 1, MAX_DATA_MEMORY_SIZE
    while low < high:
        middle = (low + high) // 2
        try:
            assemble(source, middle, MAX_PROGRAM_LENGTH)
            high = middle
        except AssemblyError:
            low = middle + 1
    return low


def check_fits(programs: Iterable[LibraryProgram], data_memory_size: int, max_program_length: int) -> None:
    """Check that every program assembles into `data_memory_size` cells (k) and `max_program_length` instructions
    (L).

    Raises:
        LibraryError: naming the first program that does not fit, its file or row, and what it needs.
        TypeError, ValueError: k or L is no int or outside the package's limits (as `assemble` raises them).
    """
    for program in programs:
        _fitted(program, data_memory_size, max_program_length)


def run_program_tests(
    programs: Iterable[LibraryProgram], data_memory_size: int, max_program_length: int,
    max_steps: int = TEST_MAX_STEPS,
) -> None:
    """Run every declared test of `programs`, assembled for k and L, on the reference machine (`run_subleq`).

    A test passes when the run halts within `max_steps` with every output equal to the expected value.

    Raises:
        ProgramTestError: listing every failing test: the program, where the test is declared, its inputs, the
            expected outputs and the actual ones (or the machine's error, or that it did not halt).
        LibraryError: a program does not fit k and L (`check_fits`), or a test names an input or output the
            program does not declare, or gives a value of the wrong length.
    """
    failures = []
    for program in programs:
        assembled = _fitted(program, data_memory_size, max_program_length)
        for index, test in enumerate(program.tests):
            where = test.location or f"{program.origin}, test {index}"
            inputs = _test_side([(name, value, where) for name, value in test.inputs.items()],
                                assembled.inputs, "input", where)
            expected = _test_side([(name, value, where) for name, value in test.outputs.items()],
                                  assembled.outputs, "output", where)
            label = f"{program.name!r} ({where}): {_show(inputs)} ->"
            try:
                result = run_subleq(assembled.program, assembled.with_inputs(**inputs), max_steps)
            except SubleqError as error:
                failures.append(f"{label} expected {_show(expected)}, the machine stopped with an error: {error}")
                continue
            actual = assembled.read_outputs(result.memory)
            if not result.halted:
                failures.append(f"{label} expected {_show(expected)}, the run did not halt within {max_steps} steps "
                                f"(outputs then {_show(actual)})")
            elif actual != expected:
                failures.append(f"{label} expected {_show(expected)}, got {_show(actual)}")
    if failures:
        raise ProgramTestError(failures)


def _show(values: Mapping) -> str:
    return " ".join(f"{name}={value}" for name, value in values.items()) or "(nothing)"


# the built-in library


def _fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


# Pure-Python references of the built-in programs, for random testing against the assembled programs.
_REFERENCES: dict[str, Callable[..., dict[str, int | list[int]]]] = {
    "count_ones": lambda bits: {"count": sum(bits)},
    "add": lambda a, b: {"sum": a + b},
    "multiply": lambda a, b: {"product": a * b},
    "maximum": lambda xs: {"max": max(xs)},
    "sum": lambda xs: {"total": sum(xs)},
    "reverse": lambda xs: {"out": list(reversed(xs))},
    "absolute": lambda x: {"result": abs(x)},
    "sort": lambda xs: {"xs": sorted(xs)},
    "fibonacci": lambda n: {"fib": _fibonacci(n)},
    # count_ones over 32 bits: a shorter sequence is zero-padded, so one program counts the ones of any sequence of
    # up to 32 bits (the length-generalization comparison of examples/run_program_library.py).
    "count_ones_32": lambda bits: {"count": sum(bits)},
}

# `PROGRAMS` and `list_programs()` keep this order, in which 'all' has always listed (and trained) them.
_BUILTIN_ORDER = ("count_ones", "add", "multiply", "maximum", "sum", "reverse", "absolute", "sort", "fibonacci",
                  "count_ones_32")


def _read_builtin_library() -> dict[str, LibraryProgram]:
    programs = {program.name: program for program in _read_folder(PROGRAMS_DIR, "modeling_synthesizer/programs")}
    if set(programs) != set(_BUILTIN_ORDER):
        raise LibraryError(f"modeling_synthesizer/programs: the built-in programs are {sorted(programs)}, expected "
                           f"{sorted(_BUILTIN_ORDER)}")
    return {name: dataclasses.replace(programs[name], reference=_REFERENCES[name]) for name in _BUILTIN_ORDER}


PROGRAMS: dict[str, LibraryProgram] = _read_builtin_library()


def builtin_library() -> list[LibraryProgram]:
    """The built-in library: `read_library` of `programs/`, sorted by name, each program with its Python
    `reference`."""
    return sorted(PROGRAMS.values(), key=lambda program: program.name)


def list_programs() -> list[str]:
    """The names of the built-in programs."""
    return list(PROGRAMS)


def load_program(name: str) -> LibraryProgram:
    """The built-in program called `name`.

    Raises:
        KeyError: no such program (the message lists the names).
    """
    try:
        return PROGRAMS[name]
    except KeyError:
        raise KeyError(f"no library program {name!r}; the programs are {list_programs()}") from None


__all__ = [
    "PROGRAMS",
    "PROGRAMS_DIR",
    "TEST_MAX_STEPS",
    "InputSpec",
    "LibraryError",
    "LibraryProgram",
    "ProgramTest",
    "ProgramTestError",
    "builtin_library",
    "check_fits",
    "check_library",
    "description_key",
    "list_programs",
    "load_program",
    "parse_program",
    "program_from_record",
    "program_to_record",
    "read_library",
    "read_records",
    "run_program_tests",
]
