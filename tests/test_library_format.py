"""A program library as data: `.asm` headers, the dataset form, declared tests on the reference machine before any
training, and bad input refused with the file, line and column or the dataset row."""

import json
import random
import re

import pytest
from run_program_library import load_program_library  # examples/ is on pytest's pythonpath (pyproject.toml)

from modeling_synthesizer.assembler import assemble
from modeling_synthesizer.program_library import (
    PROGRAMS,
    PROGRAMS_DIR,
    InputSpec,
    LibraryError,
    ProgramTest,
    ProgramTestError,
    builtin_library,
    check_fits,
    list_programs,
    parse_program,
    program_to_record,
    read_library,
    read_records,
    run_program_tests,
)


DOUBLE = """\
; name: double
; description: double the number
; description: what is twice x?
; range: x=-1000..1000
; test: x=21 -> y=42
; test: x=-3 -> y=-6
; y = 2 * x, through n = -2x

.data
x: .word 0
y: .word 0
n: .word 0
.input x
.output y

.code
        SUB x, n        ; n = -x
        SUB x, n        ; n = -2x
        SUB n, y        ; y = 2x
"""

DIFFERENCE = """\
; name: difference
; description: subtract b from a
; description: what is a minus b?
; test: a=10 b=3 -> d=7
; test: a=[0] b=5 -> d=[-5]

.data
a: .word 0
b: .word 0
d: .word 0
.input a, b
.output d

.code
        ADD a, d
        SUB b, d
"""


def write(folder, files: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def two_programs(tmp_path):
    write(tmp_path / "mine", {"double.asm": DOUBLE, "difference.asm": DIFFERENCE})
    return tmp_path / "mine"


def test_a_folder_of_two_new_programs(tmp_path):
    library = read_library(two_programs(tmp_path))
    assert [program.name for program in library] == ["difference", "double"]  # sorted by name
    difference, double = library
    assert double.descriptions == ("double the number", "what is twice x?")
    assert double.inputs == {"x": InputSpec(1, -1000, 1000)} and double.outputs == ("y",)
    assert double.tests == (ProgramTest({"x": 21}, {"y": 42}, 5, f"{tmp_path / 'mine'}/double.asm, line 5"),
                            ProgramTest({"x": -3}, {"y": -6}, 6, f"{tmp_path / 'mine'}/double.asm, line 6"))
    assert double.source == DOUBLE and double.path == tmp_path / "mine" / "double.asm" and double.reference is None
    # no ranges: tested by its declared tests only
    assert difference.inputs == {} and difference.input_names == ("a", "b")
    assert difference.tests[1].inputs == {"a": 0, "b": 5} and difference.tests[1].outputs == {"d": -5}
    check_fits(library, data_memory_size=4, max_program_length=8)
    run_program_tests(library, data_memory_size=4, max_program_length=8)
    assert double.assemble(4, 8).program == assemble(DOUBLE, 4, 8).program


def test_the_dataset_form_reads_the_same_library(tmp_path):
    folder = read_library(two_programs(tmp_path))
    rows = [program_to_record(program) for program in folder]
    assert rows[1]["tests"] == ["x=21 -> y=42", "x=-3 -> y=-6"] and "; name:" not in rows[1]["source"]
    # the form a dataset's shared schema gives: mappings, with the other programs' cells as None
    rows[0]["tests"] = [{"inputs": {"a": 10, "b": 3, "x": None}, "outputs": {"d": 7, "y": None}}]
    path = tmp_path / "library.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    loaded = load_program_library(str(path))
    assert [program.name for program in loaded] == ["difference", "double"]
    for read, original in zip(loaded, folder):
        assert read.descriptions == original.descriptions and read.inputs == original.inputs
        assert read.assemble(4, 8).program == original.assemble(4, 8).program
        assert read.origin == f"{path} row {folder.index(original)}"
    assert loaded[0].tests == (ProgramTest({"a": 10, "b": 3}, {"d": 7}, None, f"{path} row 0, tests[0]"),)
    assert [(test.inputs, test.outputs) for test in loaded[1].tests] == [
        (test.inputs, test.outputs) for test in folder[1].tests]
    run_program_tests(loaded, 4, 8)


def test_a_csv_file_holds_its_lists_as_lines_or_json(tmp_path):
    import csv

    rows = [program_to_record(program) for program in read_library(two_programs(tmp_path))]
    rows[0]["descriptions"] = "\n".join(rows[0]["descriptions"])
    rows[0]["tests"] = "a=10 b=3 -> d=7"
    rows[1]["descriptions"], rows[1]["tests"] = json.dumps(rows[1]["descriptions"]), json.dumps(rows[1]["tests"])
    path = tmp_path / "library.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["name", "source", "descriptions", "tests"])
        writer.writeheader()
        writer.writerows(rows)
    difference, double = load_program_library(str(path))
    assert difference.descriptions == ("subtract b from a", "what is a minus b?") and len(difference.tests) == 1
    assert double.descriptions == ("double the number", "what is twice x?") and len(double.tests) == 2
    run_program_tests([difference, double], 4, 8)


def test_an_unreachable_hub_dataset_is_a_library_error():
    with pytest.raises(LibraryError, match="nobody/no-such-programs: cannot be read as a dataset of programs"):
        load_program_library("nobody/no-such-programs")  # HF_HUB_OFFLINE=1 (conftest)


def test_expected_outputs_come_from_the_reference_or_the_reference_machine(tmp_path):
    difference, double = read_library(two_programs(tmp_path))
    assert double.expected_outputs({"x": 5}, 4, 8) == {"y": 10}
    assert difference.expected_outputs({"a": 1, "b": 9}, 4, 8) == {"d": -8}
    assert PROGRAMS["sort"].expected_outputs({"xs": [3, 1, 2, 0]}) == {"xs": [0, 1, 2, 3]}
    with pytest.raises(LibraryError, match="does not fit"):
        double.expected_outputs({"x": 5}, 2, 8)
    loop = parse_program(DOUBLE.replace("SUB n, y        ; y = 2x", "SUB n, y\nloop:   JMP loop"), "loop.asm")
    with pytest.raises(LibraryError, match=r"loop\.asm: program 'double' on x=5 did not halt within 10 steps"):
        loop.expected_outputs({"x": 5}, 4, 8, max_steps=10)
    with pytest.raises(LibraryError, match=r"declares no input ranges"):
        difference.random_inputs(random.Random(0))


def test_a_bad_dataset_row_is_named(tmp_path):
    path = tmp_path / "library.jsonl"
    rows = [program_to_record(program) for program in read_library(two_programs(tmp_path))]
    rows[1]["tests"] = ["x=21 -> z=42"]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(LibraryError, match=re.escape(f"{path} row 1, tests[0], line 1, column 17: the test names "
                                                     "'z', which is no declared output")):
        load_program_library(str(path))
    rows[1]["source"] = rows[1]["source"].replace("SUB x, n", "SUB x, nn", 1)
    rows[1]["tests"] = []
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(LibraryError, match=re.escape(f"{path} row 1, source, line 12, column 16: unknown label 'nn'")):
        load_program_library(str(path))


def test_the_builtin_library_reads_through_the_same_code():
    library = builtin_library()
    assert [program.name for program in library] == sorted(list_programs())
    assert list_programs()[:3] == ["count_ones", "add", "multiply"]  # the order 'all' trains them in
    for program in library:
        path = PROGRAMS_DIR / f"{program.name}.asm"
        again = parse_program(path.read_text(), "again")
        assert again.descriptions == program.descriptions and again.inputs == program.inputs
        assert [(test.inputs, test.outputs) for test in again.tests] == [
            (test.inputs, test.outputs) for test in program.tests]
        # the header is comments only: the source without it assembles into the same instructions and memory
        bare = assemble(program_to_record(program)["source"])
        assert (bare.program, bare.memory) == (program.assemble().program, program.assemble().memory)
        assert len(program.tests) >= 2 and program is PROGRAMS[program.name]
        for test in program.tests:  # the declared tests agree with the Python reference
            assert program.reference(**test.inputs) == test.outputs, (program.name, test)
    run_program_tests(library, 256, 256)


def test_load_program_library_names_builtins_folders_and_files(tmp_path):
    assert load_program_library("add,sort") == [PROGRAMS["add"], PROGRAMS["sort"]]
    assert load_program_library("all") == load_program_library("builtin") == list(PROGRAMS.values())
    assert [program.name for program in load_program_library(str(two_programs(tmp_path)))] == ["difference", "double"]
    no_mul = "--programs: no library program 'mul'; the built-in programs are count_ones, add"
    with pytest.raises(LibraryError, match=no_mul):
        load_program_library("add,mul")
    with pytest.raises(LibraryError, match="'add' named twice"):
        load_program_library("add,add")
    with pytest.raises(LibraryError, match="--programs: no library program given"):
        load_program_library(",")
    with pytest.raises(LibraryError, match="an empty name between commas"):
        load_program_library("add,,sort")
    with pytest.raises(LibraryError, match="no such file"):
        load_program_library(str(tmp_path / "missing.jsonl"))


# bad input


BAD_FOLDERS = {
    "malformed assembly": (
        {"double.asm": DOUBLE.replace("SUB n, y", "SUBB n, y")}, r"double\.asm, line 19, column 9: unknown"),
    "no name": ({"double.asm": DOUBLE.replace("; name: double\n", "")}, r"double\.asm: the program has no name"),
    "duplicate name": (
        {"a.asm": DOUBLE, "b.asm": DIFFERENCE.replace("name: difference", "name: double")},
        r"b\.asm, line 1, column 9: duplicate program name 'double' \(also at .*a\.asm, line 1, column 9\)"),
    "two names": ({"double.asm": "; name: twice\n" + DOUBLE}, r"double\.asm, line 2, column 9: a second '; name:'"),
    "bad name": ({"double.asm": DOUBLE.replace("name: double", "name: two words")},
                 r"double\.asm, line 1, column 9: bad program name 'two words'"),
    "no description": ({"double.asm": re.sub(r"; description: .*\n", "", DOUBLE)},
                       r"double\.asm: program 'double' has no description"),
    "a description in two programs": (
        {"double.asm": DOUBLE, "difference.asm": DIFFERENCE.replace("what is a minus b?", "what is twice x?")},
        (r"double\.asm, line 3, column 16: the description 'what is twice x\?' of 'double' reads the same as "
         r"'what is twice x\?' of 'difference' at .*difference\.asm, line 3, column 16")),
    "a description that tokenizes the same": (
        {"double.asm": DOUBLE, "difference.asm": DIFFERENCE.replace("what is a minus b?", "What is twice x ?")},
        r"reads the same as 'What is twice x \?' of 'difference'"),
    "a test naming an undeclared input": (
        {"double.asm": DOUBLE.replace("; test: x=21", "; test: z=21")},
        r"double\.asm, line 5, column 9: the test names 'z', which is no declared input of the program \(\.input x\)"),
    "a test leaving an output out": ({"double.asm": DOUBLE.replace("x=21 -> y=42", "x=21 ->")},
                                     r"double\.asm, line 5: the test gives no output 'y'"),
    "a test without an arrow": ({"double.asm": DOUBLE.replace("x=21 -> y=42", "x=21 y=42")},
                                r"double\.asm, line 5, column 9: a test is 'INPUTS -> OUTPUTS'"),
    "a bad test value": ({"double.asm": DOUBLE.replace("x=21", "x=twenty")},
                         r"double\.asm, line 5, column 11: expected an integer .*got 'twenty'"),
    "a list of the wrong length": ({"difference.asm": DIFFERENCE.replace("a=[0]", "a=[0, 1]")},
                                   r"difference\.asm, line 5, column 9: input 'a' has 1 cell, the test gives 2"),
    "a range for no input": ({"double.asm": DOUBLE.replace("x=-1000..1000", "x=-1000..1000 w=0..1")},
                             r"double\.asm, line 4, column 24: a range for 'w', which is no declared input"),
    "an empty range": ({"double.asm": DOUBLE.replace("x=-1000..1000", "x=5..1")},
                       r"double\.asm, line 4, column 12: empty range 5\.\.1"),
    "a header line after the program": ({"double.asm": DOUBLE + "; test: x=1 -> y=2\n"},
                                        r"double\.asm, line 20, column 3: '; test:' after the first statement"),
    "an empty library": ({}, r"the library is empty: the folder has no \*\.asm file"),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_bad_libraries_are_refused_naming_file_line_and_column(tmp_path, case):
    files, message = BAD_FOLDERS[case]
    write(tmp_path / "lib", files)
    with pytest.raises(LibraryError, match=message):
        read_library(tmp_path / "lib")


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(LibraryError, match="missing: no such folder"):
        read_library(tmp_path / "missing")
    with pytest.raises(LibraryError, match="the library is empty"):
        read_records([], "my-library.jsonl")


def test_a_program_too_long_for_L_or_too_many_cells_for_k(tmp_path):
    library = read_library(two_programs(tmp_path))
    with pytest.raises(LibraryError, match=r"double\.asm: program 'double' does not fit the machine \(k = 4 data "
                                           r"cells, L = 2 instructions\): it needs 3 cells and 3 instructions \(line "
                                           r"19, column 9: too many instructions: 3, instruction memory has 2\)"):
        check_fits(library[1:], data_memory_size=4, max_program_length=2)
    # difference needs a, b, d and the assembler's zero cell (ADD goes through it)
    with pytest.raises(LibraryError, match=r"difference\.asm: program 'difference' does not fit the machine \(k = 3 "
                                           r"data cells, L = 8 instructions\): it needs 4 cells"):
        check_fits(library, data_memory_size=3, max_program_length=8)
    with pytest.raises(LibraryError, match="does not fit"):  # the tests refuse it too, before running any
        run_program_tests(library, 3, 8)


def test_a_failing_test_names_the_program_the_test_and_the_actual_outputs(tmp_path):
    write(tmp_path / "lib", {"double.asm": DOUBLE.replace("-> y=42", "-> y=43").replace("-> y=-6", "-> y=-7")})
    library = read_library(tmp_path / "lib")
    with pytest.raises(ProgramTestError) as error:
        run_program_tests(library, 4, 8)
    assert error.value.failures == [
        f"'double' ({tmp_path / 'lib'}/double.asm, line 5): x=21 -> expected y=43, got y=42",
        f"'double' ({tmp_path / 'lib'}/double.asm, line 6): x=-3 -> expected y=-7, got y=-6",
    ]
    assert str(error.value).startswith("2 declared tests failed on the reference machine:\n  'double' (")


def test_a_test_that_does_not_halt_or_overflows_fails(tmp_path):
    loop = DOUBLE.replace("SUB n, y        ; y = 2x", "SUB n, y\nloop:   JMP loop")
    write(tmp_path / "lib", {"double.asm": loop})
    with pytest.raises(ProgramTestError, match=r"did not halt within 50 steps \(outputs then y=42\)"):
        run_program_tests(read_library(tmp_path / "lib"), 4, 8, max_steps=50)
    program = parse_program(DOUBLE.replace("x=21 -> y=42", f"x={2**62} -> y=0"), "big.asm")
    with pytest.raises(ProgramTestError, match=r"'double' \(big\.asm, line 5\): x=4611686018427387904 -> expected "
                                               r"y=0, the machine stopped with an error: .*overflow"):
        run_program_tests([program], 4, 8)


def test_a_hand_made_test_naming_an_undeclared_input_is_refused(tmp_path):
    import dataclasses

    program = read_library(two_programs(tmp_path))[1]
    wrong = dataclasses.replace(program, tests=(ProgramTest({"z": 1}, {"y": 2}, None, "my test"),))
    with pytest.raises(LibraryError, match=r"my test: the test names 'z', which is no declared input") as error:
        run_program_tests([wrong], 4, 8)
    assert not isinstance(error.value, ProgramTestError)
