"""A library of small subleq programs, written in the assembly of `assembler.py` and shipped as `programs/*.asm`.

Each `LibraryProgram` carries its source, a few natural-language descriptions (the phrasings a Synthesizer can be
trained to map to the program), the shapes and value ranges of its inputs for random testing, its output names and
a pure-Python reference that the assembled program must agree with on the subleq machine.

Example usage:

    program = load_program("count_ones")
    assembled = program.assemble()
    memory = assembled.with_inputs(bits=[1, 1, 1, 0, 1, 0, 1, 1])
    # ... run `assembled.program` on `memory` with `subleq.run_subleq`, then
    # assembled.read_outputs(final_memory) == program.reference(bits=[1, 1, 1, 0, 1, 0, 1, 1]) == {"count": 6}

All programs fit k = 256 data cells and L = 256 instructions (each is at most 33 instructions). Arrays have fixed
lengths, because subleq with separate instruction memory has no indirect addressing: loops over arrays are unrolled.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .assembler import AssembledProgram, assemble


PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"


@dataclass(frozen=True)
class InputSpec:
    """One input: `length` cells, each drawn uniformly from `low..high` (inclusive) for random testing."""

    length: int
    low: int
    high: int


@dataclass(frozen=True, eq=False)
class LibraryProgram:
    """A library program.

    Attributes:
        name: the key in `PROGRAMS`, also the file name `programs/<name>.asm`.
        descriptions: natural-language phrasings of the task.
        inputs: input name -> `InputSpec`, matching the program's `.input` labels.
        outputs: the program's `.output` labels.
        reference: keyword arguments of the inputs (an int for a length-1 input, a list otherwise) -> dict of the
            outputs in the form of `AssembledProgram.read_outputs`.
    """

    name: str
    descriptions: tuple[str, ...]
    inputs: dict[str, InputSpec]
    outputs: tuple[str, ...]
    reference: Callable[..., dict[str, int | list[int]]]

    @property
    def source_path(self) -> Path:
        return PROGRAMS_DIR / f"{self.name}.asm"

    @property
    def source(self) -> str:
        return self.source_path.read_text()

    def assemble(self, data_memory_size: int = 256, max_program_length: int = 256) -> AssembledProgram:
        return assemble(self.source, data_memory_size, max_program_length)

    def random_inputs(self, rng: random.Random) -> dict[str, int | list[int]]:
        """Inputs drawn from the value ranges: an int for a length-1 input, a list otherwise."""
        values: dict[str, int | list[int]] = {}
        for name, spec in self.inputs.items():
            cells = [rng.randint(spec.low, spec.high) for _ in range(spec.length)]
            values[name] = cells[0] if spec.length == 1 else cells
        return values


def _fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


_LIBRARY = [
    LibraryProgram(
        name="count_ones",
        descriptions=(
            "count the ones",
            "How many 1s are in the sequence?",
            "count the number of ones in this binary sequence",
            "how many bits are set?",
            "tally the 1s in the bits",
            "count how many ones there are",
        ),
        inputs={"bits": InputSpec(8, 0, 1)},
        outputs=("count",),
        reference=lambda bits: {"count": sum(bits)},
    ),
    LibraryProgram(
        name="add",
        descriptions=(
            "add two numbers",
            "what is a plus b?",
            "compute the sum of a and b",
            "add a and b together",
            "a + b",
            "find the total of the two numbers",
        ),
        inputs={"a": InputSpec(1, -1000, 1000), "b": InputSpec(1, -1000, 1000)},
        outputs=("sum",),
        reference=lambda a, b: {"sum": a + b},
    ),
    LibraryProgram(
        name="multiply",
        descriptions=(
            "multiply two numbers",
            "what is a times b?",
            "compute the product of a and b",
            "multiply a by b",
            "a * b",
            "add a to itself b times",
        ),
        inputs={"a": InputSpec(1, 0, 100), "b": InputSpec(1, 0, 40)},
        outputs=("product",),
        reference=lambda a, b: {"product": a * b},
    ),
    LibraryProgram(
        name="maximum",
        descriptions=(
            "find the maximum of the list",
            "what is the largest number?",
            "return the biggest value in the list",
            "which number is the greatest?",
            "compute the max of these six numbers",
            "pick the highest value",
        ),
        inputs={"xs": InputSpec(6, -100, 100)},
        outputs=("max",),
        reference=lambda xs: {"max": max(xs)},
    ),
    LibraryProgram(
        name="sum",
        descriptions=(
            "sum the list",
            "what do the numbers add up to?",
            "compute the total of the list",
            "add up all the numbers",
            "find the sum of these eight numbers",
            "what is the total?",
        ),
        inputs={"xs": InputSpec(8, -100, 100)},
        outputs=("total",),
        reference=lambda xs: {"total": sum(xs)},
    ),
    LibraryProgram(
        name="reverse",
        descriptions=(
            "reverse the list",
            "write the sequence backwards",
            "what is the list in reverse order?",
            "flip the order of the numbers",
            "reverse these eight numbers",
            "put the last element first and the first last",
        ),
        inputs={"xs": InputSpec(8, -100, 100)},
        outputs=("out",),
        reference=lambda xs: {"out": list(reversed(xs))},
    ),
    LibraryProgram(
        name="absolute",
        descriptions=(
            "take the absolute value",
            "what is |x|?",
            "drop the sign of the number",
            "how far is x from zero?",
            "compute the magnitude of x",
            "make the number non-negative",
        ),
        inputs={"x": InputSpec(1, -1000, 1000)},
        outputs=("result",),
        reference=lambda x: {"result": abs(x)},
    ),
    LibraryProgram(
        name="sort",
        descriptions=(
            "sort the list",
            "put the four numbers in ascending order",
            "arrange the values from smallest to largest",
            "sort these numbers",
            "order the list, lowest first",
            "what is the list in increasing order?",
        ),
        inputs={"xs": InputSpec(4, -100, 100)},
        outputs=("xs",),
        reference=lambda xs: {"xs": sorted(xs)},
    ),
    LibraryProgram(
        name="fibonacci",
        descriptions=(
            "compute the n-th Fibonacci number",
            "what is fibonacci of n?",
            "find F(n)",
            "give the nth number of the Fibonacci sequence",
            "fib(n)",
            "the Fibonacci number at position n",
        ),
        inputs={"n": InputSpec(1, 0, 40)},
        outputs=("fib",),
        reference=lambda n: {"fib": _fibonacci(n)},
    ),
    # count_ones over 32 bits: a shorter sequence is zero-padded, so one program counts the ones of any sequence
    # of up to 32 bits (the length-generalization comparison of examples/run_program_library.py).
    LibraryProgram(
        name="count_ones_32",
        descriptions=(
            "count the ones in 32 bits",
            "how many 1s are in the 32-bit sequence?",
            "count the set bits of a 32-bit word",
            "what is the population count of the 32 bits?",
            "tally the 1s among thirty-two bits",
            "how many of the 32 bits are ones?",
        ),
        inputs={"bits": InputSpec(32, 0, 1)},
        outputs=("count",),
        reference=lambda bits: {"count": sum(bits)},
    ),
]

PROGRAMS: dict[str, LibraryProgram] = {program.name: program for program in _LIBRARY}


def list_programs() -> list[str]:
    """The names of the library programs."""
    return list(PROGRAMS)


def load_program(name: str) -> LibraryProgram:
    """The library program called `name`.

    Raises:
        KeyError: no such program (the message lists the names).
    """
    try:
        return PROGRAMS[name]
    except KeyError:
        raise KeyError(f"no library program {name!r}; the programs are {list_programs()}") from None


__all__ = ["PROGRAMS", "PROGRAMS_DIR", "InputSpec", "LibraryProgram", "list_programs", "load_program"]
