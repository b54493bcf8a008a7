"""An assembly language for the subleq machine of `subleq.py`, with an assembler and a disassembler.

The machine has one instruction, `subleq A, B, C`: `mem[B] -= mem[A]`, then go to instruction `C` if the result
is <= 0 and to the next instruction otherwise; `C = 0` halts after the write, whichever way the branch went.
Instructions are numbered 1..L and data memory has k cells. Instructions and data live in separate memories, so a
program can neither modify itself nor address memory indirectly: every loop over an array must be unrolled.

Syntax
------
One statement per line; `;` starts a comment. Mnemonics, directives and the keywords `next` and `halt` are
case-insensitive. Labels are case-sensitive identifiers (`[A-Za-z_][A-Za-z0-9_]*`) in one namespace shared by
data and code; `next` and `halt` cannot be labels. Names starting with `__` belong to the assembler's cells: a
program may declare one only where the assembler does not need it (as disassembled text does).

    .data / .code             switch section (a file starts in .code); either may appear any number of times
    name: .word 5             a cell holding 5
    arr:  .word 1 2 3         consecutive cells (spaces or commas); `arr` is the first, `arr+2` the third
          .word 4             a .word without a label continues the cells above it
    buf:  .zero 8             8 cells holding 0
    .input a, b               mark data labels as inputs / outputs (either section). A label's length runs up
    .output out               to the next data label; a label may be both input and output (in place)
    loop:                     instruction label, alone on its line or before an instruction; a label after the
                              last instruction is "the end", and jumping there stops the program
    subleq a, b, target       one machine instruction; `target` is an instruction label, `next` (the default
    subleq a, b               when omitted) or `halt` (C = 0: halts whichever way the branch goes)

Data operands are a data label, `label+offset` (within the label's cells), or a constant `#5`, `#-1`, `#0x10`:
the assembler allocates one shared cell per constant value. Constants are read-only: writing to one is an error,
except for the harmless `subleq #0, #0, ...`. Integers are decimal, `0x` hexadecimal or `0b` binary.

Macros, expanded to subleq with the assembler's zero cell Z and temporary T (allocated only when used):

    macro          meaning                       instructions
    HALT           stop                          1   subleq Z, Z, halt
    JMP t          go to t                       1   subleq Z, Z, t
    CLR x          x = 0                         1
    SUB a, b       b -= a                        1
    ADD a, b       b += a                        3   (through Z)
    MOV a, b       b = a                         4   (none when a is b)
    NEG a, b       b = -a                        2   (6 when a is b)
    INC x, DEC x   x += 1, x -= 1                1   (with the constants -1 and 1)
    JLEZ x, t      if x <= 0: go to t            1
    JGZ x, t       if x > 0: go to t             2
    JGEZ x, t      if x >= 0: go to t            2   (through T)
    JLZ x, t       if x < 0: go to t             3
    JZ x, t        if x == 0: go to t            4
    JNZ x, t       if x != 0: go to t            5
    JLE a, b, t    if a <= b: go to t            5
    JGT a, b, t    if a > b: go to t             6

Macros leave Z at 0 and nothing but their destination changed (T is scratch). A conditional jump to `halt` goes to
a HALT instruction (the program's first HALT, or one the assembler appends), because C = 0 would halt on both
branches; `JMP halt` is HALT itself. Jumps past the last instruction (to an end label, or a macro's own skip at
the very end) also land on an appended HALT, since C stops at L. For the same reason `next` in the last instruction
is encoded as C = 0: the machine halts there, where it would otherwise have fallen off the end.

Memory layout: the declared cells from address 0 in declaration order, then the assembler's cells in order of
first use (Z as `__z`, T as `__t`, constants as `__c5`, `__cm1`); every other cell starts at 0. Programs may
assume that initial memory (outputs start at 0).

Example
-------
    ; product = a * b for a, b >= 0, by adding a to the product b times
    .data
    a:       .word 0
    b:       .word 0
    product: .word 0
    .input a, b
    .output product

    .code
            JLEZ b, done        ; nothing to add
    loop:   ADD a, product
            DEC b
            JGZ b, loop
    done:   HALT

`assemble(source)` gives the triples (8 instructions here), the initial memory and the symbol tables;
`with_inputs(a=6, b=7)` writes the inputs into that memory and `read_outputs(memory)` reads `{"product": 42}` back
after a run. `disassemble` turns triples back into `subleq` text.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .subleq import (
    INT64_MAX,
    INT64_MIN,
    MAX_DATA_MEMORY_SIZE,
    MAX_PROGRAM_LENGTH,
    _as_int,
    _as_list,
    _instruction_operands,
    _raise_first_bad_operand,
    validate_memory,
)


_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_LABEL_PREFIX = re.compile(rf"\s*({_IDENTIFIER})\s*:")
_WORD = re.compile(r"\s*(\S+)")
_INTEGER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)")
_DATA_OPERAND = re.compile(rf"({_IDENTIFIER})\s*(?:\+\s*([0-9]+))?")
_RESERVED = {"next", "halt"}
# Lines end where a user's editor ends them: str.splitlines would also split on form feeds, U+2028 and other
# separators, and shift every line number reported after one.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# int64 needs at most 19 significant decimal digits; int() refuses decimal strings over 4300 digits outright.
_INT64_DECIMAL_DIGITS = 19
_ZERO = "__z"
_TEMP = "__t"


class AssemblyError(ValueError):
    """An error in assembly source, at a 1-based `line` and `column`."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


@dataclass
class AssembledProgram:
    """The result of `assemble`.

    Attributes:
        program: the instructions 1..L as `(A, B, C)` triples (`program[0]` is instruction 1).
        memory: the initial data memory, `data_memory_size` cells (inputs at their declared values).
        data_symbols: data label -> address, including the assembler's cells (`__z`, `__t`, `__c5`, `__cm1`).
        code_symbols: instruction label -> instruction number (L + 1 for a label at the very end).
        inputs / outputs: name -> (address, length).
        source_lines: instruction number -> the source line it came from (stripped), for display.
        line_numbers: instruction number -> 1-based line number of that source line.
    """

    program: list[tuple[int, int, int]]
    memory: list[int]
    data_symbols: dict[str, int]
    code_symbols: dict[str, int]
    inputs: dict[str, tuple[int, int]] = field(default_factory=dict)
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)
    source_lines: dict[int, str] = field(default_factory=dict)
    line_numbers: dict[int, int] = field(default_factory=dict)

    @property
    def symbols(self) -> dict[str, int]:
        """Data and code labels in one dict (they share one namespace)."""
        return {**self.data_symbols, **self.code_symbols}

    def with_inputs(self, **values: int | Sequence[int]) -> list[int]:
        """A copy of the initial memory with the given inputs written in.

        A length-1 input takes an int (or a one-element sequence); longer inputs take a sequence of exactly their
        length. Inputs left out keep their declared values.

        Raises:
            ValueError: an unknown input name, a wrong length or a non-integer value.
        """
        memory = list(self.memory)
        for name, value in values.items():
            if name not in self.inputs:
                raise ValueError(f"unknown input {name!r}; the inputs are {sorted(self.inputs)}")
            address, length = self.inputs[name]
            try:
                cells = [operator.index(value)]
            except TypeError:
                try:
                    cells = [operator.index(cell) for cell in value]
                except TypeError:
                    raise ValueError(f"input {name!r} takes integers, got {value!r}") from None
            if len(cells) != length:
                raise ValueError(f"input {name!r} takes {length} value(s), got {len(cells)}")
            memory[address : address + length] = cells
        return memory

    def read_outputs(self, memory: Sequence[int]) -> dict[str, int | list[int]]:
        """The outputs read from `memory`: an int for a length-1 output, a list otherwise."""
        result: dict[str, int | list[int]] = {}
        for name, (address, length) in self.outputs.items():
            cells = [int(cell) for cell in memory[address : address + length]]
            result[name] = cells[0] if length == 1 else cells
        return result

    def disassemble(self) -> str:
        """`disassemble` with this program's memory and data symbols."""
        return disassemble(self.program, self.memory, self.data_symbols)


# parsing


@dataclass(frozen=True)
class _Token:
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class _Cell:
    """A data operand: a user label (+ offset) or one of the assembler's cells."""

    name: str
    offset: int = 0
    token: _Token | None = None
    internal: bool = False
    value: int = 0  # initial value of an internal cell


@dataclass(frozen=True)
class _Target:
    kind: str  # "label", "next", "halt" (C = 0), "halt_instruction", "number"
    name: str = ""
    number: int = 0
    token: _Token | None = None


@dataclass
class _Instruction:
    a: _Cell
    b: _Cell
    c: _Target
    line: int
    text: str
    is_halt: bool = False


def _error(token: _Token, message: str) -> AssemblyError:
    return AssemblyError(message, token.line, token.column)


def _int64_literal(token: _Token, text: str, what: str = "") -> int:
    """The value of the integer literal `text` written in `token`, which must lie within int64.

    Raises:
        AssemblyError: at `token` for text that is not a decimal, `0x` or `0b` integer (`what` says what was
            expected), or for a value outside int64.
    """
    if not _INTEGER.fullmatch(text):
        raise _error(token, f"bad literal {token.text!r}{what}")
    digits = text.lstrip("+-")
    if digits[:2].lower() in ("0x", "0b"):
        value = int(text, 0)
    elif len(digits.lstrip("0")) > _INT64_DECIMAL_DIGITS:
        value = INT64_MAX + 1  # checked below without converting it
    else:
        value = int(text, 10)
    if not INT64_MIN <= value <= INT64_MAX:
        shown = token.text if len(token.text) <= 40 else f"{token.text[:37]}... ({len(token.text)} characters)"
        raise _error(token, f"literal {shown!r} is outside the int64 range [{INT64_MIN}, {INT64_MAX}]")
    return value


def _constant_cell(value: int, token: _Token | None) -> _Cell:
    name = _ZERO if value == 0 else f"__c{value}" if value > 0 else f"__cm{-value}"
    return _Cell(name, token=token, internal=True, value=value)


# operand kinds of each mnemonic: "r" a data cell read, "w" a data cell written, "t" a jump target
_SIGNATURES = {
    "HALT": "",
    "JMP": "t",
    "CLR": "w",
    "SUB": "rw",
    "ADD": "rw",
    "MOV": "rw",
    "NEG": "rw",
    "INC": "w",
    "DEC": "w",
    "JLEZ": "rt",
    "JGZ": "rt",
    "JGEZ": "rt",
    "JLZ": "rt",
    "JZ": "rt",
    "JNZ": "rt",
    "JLE": "rrt",
    "JGT": "rrt",
}
_CONDITIONAL_JUMPS = ("JLEZ", "JGZ", "JGEZ", "JLZ", "JZ", "JNZ", "JLE", "JGT")


class _Assembler:
    def __init__(self, source: str, data_memory_size: int, max_program_length: int):
        self.source = source
        self.k = data_memory_size
        self.max_length = max_program_length
        self.section = "code"
        self.instructions: list[_Instruction] = []
        self.cells: list[int] = []  # initial values of the declared cells
        self.data_labels: dict[str, tuple[int, _Token]] = {}
        self.code_labels: dict[str, tuple[int, _Token]] = {}
        self.pending_code: list[_Token] = []
        self.pending_data: list[_Token] = []
        self.io: dict[str, list[_Token]] = {"input": [], "output": []}
        self.internal: dict[str, _Cell] = {}  # first use of each assembler cell, in order

    # statements

    def run(self) -> AssembledProgram:
        for number, raw in enumerate(_LINE_BREAK.split(self.source), start=1):
            self.statement(number, raw)
        return self.finish()

    def statement(self, line: int, raw: str) -> None:
        code = raw.split(";", 1)[0]
        labels: list[_Token] = []
        position = 0
        while match := _LABEL_PREFIX.match(code, position):
            labels.append(_Token(match.group(1), line, match.start(1) + 1))
            position = match.end()
        word = _WORD.match(code, position)
        mnemonic = _Token(word.group(1), line, word.start(1) + 1) if word else None
        rest_start = word.end() if word else len(code)

        if mnemonic is not None and mnemonic.text.lower() in (".data", ".code", ".input", ".output"):
            directive = mnemonic.text.lower()
            if labels:
                raise _error(labels[0], f"a label cannot name the directive '{directive}'")
            operands = self.operands(code, rest_start, line)
            if directive in (".data", ".code"):
                if operands:
                    raise _error(mnemonic, f"'{directive}' takes no operands, got {len(operands)}")
                self.check_no_pending_data()
                self.section = directive[1:]
            else:
                if not operands:
                    raise _error(mnemonic, f"'{directive}' takes at least 1 operand, got 0")
                for operand in operands:
                    if not re.fullmatch(_IDENTIFIER, operand.text):
                        raise _error(operand, f"bad label {operand.text!r}")
                    self.io[directive[1:]].append(operand)
            return

        for label in labels:
            self.define(label)
        if self.section == "data":
            self.pending_data.extend(labels)
            if mnemonic is not None:
                self.data_statement(mnemonic, code, rest_start)
        else:
            self.pending_code.extend(labels)
            if mnemonic is not None:
                self.code_statement(mnemonic, self.operands(code, rest_start, line), raw.strip())

    def define(self, label: _Token) -> None:
        name = label.text
        if name.lower() in _RESERVED:
            raise _error(label, f"{name!r} is a keyword and cannot be a label")
        if name.startswith("__") and name in self.internal:
            raise _error(label, f"{name!r} is reserved for the assembler's cells")
        if name in self.data_labels or name in self.code_labels:  # pending labels are in there too
            raise _error(label, f"duplicate label {name!r}")
        if self.section == "data":
            self.data_labels[name] = (len(self.cells), label)
        else:
            self.code_labels[name] = (-1, label)  # numbered when its instruction is emitted

    def check_no_pending_data(self) -> None:
        if self.pending_data:
            label = self.pending_data[0]
            raise _error(label, f"data label {label.text!r} declares no cells")

    def operands(self, code: str, start: int, line: int) -> list[_Token]:
        rest = code[start:]
        if not rest.strip():
            return []
        tokens = []
        offset = start
        for part in rest.split(","):
            stripped = part.strip()
            column = offset + len(part) - len(part.lstrip()) + 1
            if not stripped:
                raise AssemblyError("empty operand", line, min(column, len(code)))
            tokens.append(_Token(stripped, line, column))
            offset += len(part) + 1
        return tokens

    def data_statement(self, mnemonic: _Token, code: str, start: int) -> None:
        directive = mnemonic.text.lower()
        values: list[int] = []
        items = [
            _Token(match.group(), mnemonic.line, match.start() + 1)
            for match in re.finditer(r"[^\s,]+", code[start:])
        ]
        items = [_Token(item.text, item.line, item.column + start) for item in items]
        if directive == ".word":
            if not items:
                raise _error(mnemonic, "'.word' takes at least 1 value, got 0")
            values = [_int64_literal(item, item.text) for item in items]
        elif directive == ".zero":
            if len(items) != 1:
                raise _error(mnemonic, f"'.zero' takes 1 operand, got {len(items)}")
            count = _int64_literal(items[0], items[0].text, " (a positive cell count)")
            if count < 1:
                raise _error(items[0], f"bad literal {items[0].text!r} (a positive cell count)")
            self.check_room(mnemonic, count)  # before allocating: the count is the source's, not its size
            values = [0] * count
        elif directive.upper() in _SIGNATURES or directive == "subleq":
            raise _error(mnemonic, f"instruction {mnemonic.text!r} in the .data section")
        else:
            raise _error(mnemonic, f"unknown data directive {mnemonic.text!r}")
        self.check_room(mnemonic, len(values))
        self.cells.extend(values)
        self.pending_data.clear()

    def check_room(self, mnemonic: _Token, count: int) -> None:
        """Raise unless `count` more declared cells fit in data memory."""
        if len(self.cells) + count > self.k:
            raise _error(
                mnemonic,
                f"too many data cells: {len(self.cells) + count} declared, data memory has {self.k}",
            )

    # code

    def data_operand(self, token: _Token, written: bool, read_from_zero: bool = False) -> _Cell:
        text = token.text
        if text.startswith("#"):
            value = _int64_literal(token, text[1:].strip())
            cell = _constant_cell(value, token)
            if written and not (value == 0 and read_from_zero):
                raise _error(token, f"cannot write to the constant {text!r}")
            return self.use(cell)
        match = _DATA_OPERAND.fullmatch(text)
        if not match:
            hint = f" (constants are written '#{text}')" if _INTEGER.fullmatch(text) else ""
            raise _error(token, f"bad operand {text!r}{hint}")
        return _Cell(match.group(1), _int64_literal(token, match.group(2) or "0"), token)

    def use(self, cell: _Cell) -> _Cell:
        self.internal.setdefault(cell.name, cell)
        return cell

    def target(self, token: _Token, conditional: bool) -> _Target:
        text = token.text
        if text.lower() == "next":
            return _Target("next", token=token)
        if text.lower() == "halt":
            return _Target("halt_instruction" if conditional else "halt", token=token)
        if not re.fullmatch(_IDENTIFIER, text):
            raise _error(token, f"bad target {text!r} (an instruction label, 'next' or 'halt')")
        return _Target("label", text, token=token)

    def code_statement(self, mnemonic: _Token, operands: list[_Token], text: str) -> None:
        name = mnemonic.text.upper()
        if name.startswith(".") and name.lower() in (".word", ".zero"):
            raise _error(mnemonic, f"'{mnemonic.text}' outside the .data section")
        if name == "SUBLEQ":
            self.subleq_statement(mnemonic, operands, text)
            return
        args = self.macro_arguments(name, mnemonic, operands)
        if name == "HALT":
            z = self.zero_cell(mnemonic)
            self.emit(mnemonic, [(z, z, _Target("halt"))], text, is_halt=True)
        elif name == "JMP":
            z, goto = self.zero_cell(mnemonic), self.target(args[0], conditional=False)
            self.emit(mnemonic, [(z, z, goto)], text, is_halt=goto.kind == "halt")
        elif name in _CONDITIONAL_JUMPS:
            self.emit(mnemonic, self.expand_conditional_jump(name, mnemonic, args), text)
        else:
            self.emit(mnemonic, self.expand_data_macro(name, mnemonic, args), text)

    def subleq_statement(self, mnemonic: _Token, operands: list[_Token], text: str) -> None:
        if len(operands) not in (2, 3):
            raise _error(mnemonic, f"'{mnemonic.text}' takes 2 or 3 operands, got {len(operands)}")
        a = self.data_operand(operands[0], written=False)
        b = self.data_operand(operands[1], written=True, read_from_zero=a.name == _ZERO)
        c = self.target(operands[2], conditional=False) if len(operands) == 3 else _Target("next")
        self.emit(mnemonic, [(a, b, c)], text, is_halt=a.name == b.name == _ZERO and c.kind == "halt")

    def macro_arguments(self, name: str, mnemonic: _Token, operands: list[_Token]) -> list:
        """The macro's operands checked against its signature: data operands as cells, targets as tokens."""
        if name not in _SIGNATURES:
            raise _error(mnemonic, f"unknown mnemonic {mnemonic.text!r}")
        signature = _SIGNATURES[name]
        if len(operands) != len(signature):
            raise _error(mnemonic, f"'{mnemonic.text}' takes {len(signature)} operand(s), got {len(operands)}")
        # targets stay tokens: a conditional jump resolves its target twice (`halt` differs on the two paths)
        return [
            operand if kind == "t" else self.data_operand(operand, written=kind == "w")
            for kind, operand in zip(signature, operands)
        ]

    # The helpers below allocate the assembler's cells on first use, which fixes their addresses: expansions call
    # them in a fixed order.

    def zero_cell(self, mnemonic: _Token) -> _Cell:
        return self.use(_constant_cell(0, mnemonic))

    def temp_cell(self, mnemonic: _Token) -> _Cell:
        return self.use(_Cell(_TEMP, token=mnemonic, internal=True))

    def expand_data_macro(self, name: str, mnemonic: _Token, args: list) -> list:
        """The triples of CLR, INC, DEC, SUB, ADD, MOV and NEG."""
        nxt = _Target("next")
        if name == "CLR":
            return [(args[0], args[0], nxt)]
        if name == "SUB":
            return [(args[0], args[1], nxt)]
        if name in ("INC", "DEC"):
            one = self.use(_constant_cell(-1 if name == "INC" else 1, mnemonic))
            return [(one, args[0], nxt)]
        a, b = args
        same = (a.name, a.offset) == (b.name, b.offset)
        if name == "ADD":
            z = self.zero_cell(mnemonic)
            return [(a, z, nxt), (z, b, nxt), (z, z, nxt)]
        if name == "MOV":
            if same:
                return []
            z = self.zero_cell(mnemonic)
            return [(b, b, nxt), (a, z, nxt), (z, b, nxt), (z, z, nxt)]
        if same:  # NEG a, a: Z = -a, a = 0, T = -Z, a -= T
            z, t = self.zero_cell(mnemonic), self.temp_cell(mnemonic)
            return [(t, t, nxt), (a, z, nxt), (a, a, nxt), (z, t, nxt), (t, a, nxt), (z, z, nxt)]
        return [(b, b, nxt), (a, b, nxt)]

    def expand_conditional_jump(self, name: str, mnemonic: _Token, args: list) -> list:
        """The triples of JLEZ, JGZ, JGEZ, JLZ, JZ, JNZ, JLE and JGT."""
        start = len(self.instructions) + 1  # number of this statement's first instruction

        def at(offset: int) -> _Target:  # an instruction of this expansion, or the one after it
            return _Target("number", number=start + offset)

        nxt = _Target("next")
        x = args[0]
        goto = self.target(args[-1], conditional=True)
        jump = self.target(args[-1], conditional=False)
        z = self.zero_cell(mnemonic) if name != "JGEZ" else None
        if name == "JLEZ":
            return [(z, x, goto)]
        if name == "JGZ":
            return [(z, x, at(2)), (z, z, jump)]
        t = self.temp_cell(mnemonic)
        if name == "JGEZ":  # T = -x <= 0
            return [(t, t, nxt), (x, t, goto)]
        if name == "JLZ":
            return [(t, t, nxt), (x, t, at(3)), (z, z, jump)]
        if name == "JZ":  # x >= 0 and x <= 0
            return [(t, t, nxt), (x, t, at(3)), (z, z, at(4)), (z, x, goto)]
        if name == "JNZ":
            return [(t, t, nxt), (x, t, at(3)), (z, z, jump), (z, x, at(5)), (z, z, jump)]
        # JLE / JGT: T = a - b <= 0
        triples = [(t, t, nxt), (x, z, nxt), (z, t, nxt), (z, z, nxt)]
        if name == "JLE":
            return triples + [(args[1], t, goto)]
        return triples + [(args[1], t, at(6)), (z, z, jump)]

    def emit(self, mnemonic: _Token, triples: list, text: str, is_halt: bool = False) -> None:
        if not triples:
            return
        if len(self.instructions) + len(triples) > self.max_length:
            raise _error(
                mnemonic,
                f"too many instructions: {len(self.instructions) + len(triples)}, "
                f"instruction memory has {self.max_length}",
            )
        for label in self.pending_code:
            self.code_labels[label.text] = (len(self.instructions) + 1, label)
        self.pending_code.clear()
        for a, b, c in triples:
            self.instructions.append(_Instruction(a, b, c, mnemonic.line, text, is_halt))

    # resolution

    def finish(self) -> AssembledProgram:
        self.check_no_pending_data()
        for label in self.pending_code:  # labels after the last instruction: "the end"
            self.code_labels[label.text] = (len(self.instructions) + 1, label)
        self.pending_code.clear()
        halt_number = self.append_halt_if_needed()
        lengths = self.label_lengths()
        addresses, memory = self.lay_out_memory()
        program, source_lines, line_numbers = self.resolve_instructions(addresses, lengths, halt_number)
        io = self.resolve_io(addresses, lengths)
        return AssembledProgram(
            program=program,
            memory=memory,
            data_symbols=addresses,
            code_symbols={name: number for name, (number, _) in self.code_labels.items()},
            inputs=io["input"],
            outputs=io["output"],
            source_lines=source_lines,
            line_numbers=line_numbers,
        )

    def append_halt_if_needed(self) -> int:
        """Append a HALT where a jump needs one to land on; return the number of the HALT that `halt` jumps to.

        Jumps past the last instruction (to an end label, or out of a final macro) need a HALT to land on, and so do
        conditional jumps to `halt` when the program has no HALT of its own.
        """
        n = len(self.instructions)
        end_user, halt_user = self.first_jumps_needing_halt()
        halts = [number for number, ins in enumerate(self.instructions, start=1) if ins.is_halt]
        appended = end_user or (halt_user if not halts else None)
        if appended is not None:
            if n + 1 > self.max_length:
                raise _error(
                    appended,
                    f"too many instructions: {n + 1} with the HALT appended for this jump, "
                    f"instruction memory has {self.max_length}",
                )
            z = self.use(_constant_cell(0, appended))
            self.instructions.append(
                _Instruction(z, z, _Target("halt"), appended.line, "HALT  ; appended by the assembler", True)
            )
        return halts[0] if halts else n + 1

    def first_jumps_needing_halt(self) -> tuple[_Token | None, _Token | None]:
        """The first jump past the last instruction and the first conditional jump to `halt` (None: there is none)."""
        n = len(self.instructions)
        end_user: _Token | None = None
        halt_user: _Token | None = None
        for instruction in self.instructions:
            target = instruction.c
            if target.kind == "label" and self.code_labels.get(target.name, (0,))[0] == n + 1:
                end_user = end_user or target.token
            elif target.kind == "number" and target.number == n + 1:
                end_user = end_user or _Token("", instruction.line, 1)
            elif target.kind == "halt_instruction":
                halt_user = halt_user or target.token
        return end_user, halt_user

    def lay_out_memory(self) -> tuple[dict[str, int], list[int]]:
        """Data label -> address and the initial memory: the declared cells, then the assembler's cells."""
        addresses = {name: address for name, (address, _) in self.data_labels.items()}
        memory = [0] * self.k
        memory[: len(self.cells)] = self.cells
        next_free = len(self.cells)
        for name, cell in self.internal.items():
            if next_free >= self.k:
                where = cell.token or _Token("", 1, 1)
                raise _error(where, f"too many data cells: the assembler's cell {name!r} does not fit in {self.k}")
            if name in self.data_labels or name in self.code_labels:
                label = (self.data_labels.get(name) or self.code_labels[name])[1]
                raise _error(label, f"{name!r} is reserved for the assembler's cells")
            addresses[name] = next_free
            memory[next_free] = cell.value
            next_free += 1
        return addresses, memory

    def resolve_instructions(self, addresses: dict[str, int], lengths: dict[str, int], halt_number: int):
        """The `(A, B, C)` triples, and each instruction's source text and line number."""
        program = []
        source_lines, line_numbers = {}, {}
        for own, ins in enumerate(self.instructions, start=1):
            program.append((
                self.cell_address(ins.a, addresses, lengths),
                self.cell_address(ins.b, addresses, lengths),
                self.instruction_number(ins.c, own, halt_number),
            ))
            source_lines[own] = ins.text
            line_numbers[own] = ins.line
        return program, source_lines, line_numbers

    def cell_address(self, cell: _Cell, addresses: dict[str, int], lengths: dict[str, int]) -> int:
        if cell.internal:
            return addresses[cell.name]
        token = cell.token
        if cell.name not in self.data_labels:
            if cell.name in self.code_labels:
                raise _error(token, f"{cell.name!r} is an instruction label, not a data label")
            raise _error(token, f"unknown label {cell.name!r}")
        if cell.offset >= lengths[cell.name]:
            raise _error(token, f"offset {cell.offset} is outside {cell.name!r} ({lengths[cell.name]} cell(s))")
        return addresses[cell.name] + cell.offset

    def instruction_number(self, target: _Target, own: int, halt_number: int) -> int:
        """The C of instruction number `own` jumping to `target`."""
        if target.kind == "next":
            return own + 1 if own + 1 <= len(self.instructions) else 0
        if target.kind == "halt":
            return 0
        if target.kind == "halt_instruction":
            return halt_number
        if target.kind == "number":
            return target.number
        if target.name not in self.code_labels:
            if target.name in self.data_labels:
                raise _error(target.token, f"{target.name!r} is a data label, not an instruction label")
            raise _error(target.token, f"unknown label {target.name!r}")
        return self.code_labels[target.name][0]

    def resolve_io(self, addresses: dict[str, int], lengths: dict[str, int]) -> dict[str, dict[str, tuple[int, int]]]:
        """"input" and "output" -> name -> (address, length)."""
        io: dict[str, dict[str, tuple[int, int]]] = {"input": {}, "output": {}}
        for kind, tokens in self.io.items():
            for token in tokens:
                if token.text in io[kind]:
                    raise _error(token, f"{token.text!r} is already an {kind}")
                if token.text not in self.data_labels:
                    if token.text in self.code_labels:
                        raise _error(token, f"{token.text!r} is an instruction label, not a data label")
                    raise _error(token, f"unknown label {token.text!r}")
                io[kind][token.text] = (addresses[token.text], lengths[token.text])
        return io

    def label_lengths(self) -> dict[str, int]:
        starts = sorted({address for address, _ in self.data_labels.values()} | {len(self.cells)})
        following = {start: end for start, end in zip(starts, starts[1:])}
        return {name: following[address] - address for name, (address, _) in self.data_labels.items()}


def assemble(source: str, data_memory_size: int = 256, max_program_length: int = 256) -> AssembledProgram:
    """Assemble `source` (syntax in the module docstring) for a machine with `data_memory_size` cells (k) and at
    most `max_program_length` instructions (L).

    Lines end at `\n`, `\r\n` or `\r` (a form feed or U+2028 inside a line is whitespace, as in an editor).

    Returns:
        An `AssembledProgram`: the triples, the initial memory, symbols, inputs, outputs and source lines.

    Raises:
        TypeError: if `source` is not a str, or a size is not an int.
        ValueError: if `data_memory_size` is outside [1, `MAX_DATA_MEMORY_SIZE`] or `max_program_length` outside
            [1, `MAX_PROGRAM_LENGTH`] (checked before any memory is laid out).
        AssemblyError: with the line and column of the first error (unknown or duplicate label, unknown mnemonic,
            wrong operand count, bad literal or operand, a literal outside int64, too many data cells or
            instructions, ...).
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str of assembly text, got {type(source).__name__}")
    k = _checked_size(data_memory_size, "data_memory_size", MAX_DATA_MEMORY_SIZE)
    length = _checked_size(max_program_length, "max_program_length", MAX_PROGRAM_LENGTH)
    return _Assembler(source, k, length).run()


def _checked_size(value, name: str, limit: int) -> int:
    """`value` as an int in [1, limit]: a TypeError for a non-int (or bool), a ValueError out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if not 1 <= value <= limit:
        raise ValueError(f"{name} = {value} is out of range [1, {limit}]")
    return value


def disassemble(
    program: Sequence[Sequence[int]],
    memory: Sequence[int] | None = None,
    symbols: Mapping[str, int | tuple[int, int]] | None = None,
) -> str:
    """Readable `subleq` text for the triples of `program`, one instruction per line labelled `L1:`, `L2:`, ...

    A `.data` section declares every cell up to the last one used, set or named, with its value from `memory`
    (0 without). `symbols` maps data names to an address (a name's cells then run to the next name) or to
    `(address, length)` as in `AssembledProgram.inputs`; cells inside a name are written `name+offset` and other
    cells `m<address>`. A target equal to the next instruction is left out; C = 0 is written `halt`.

    Assembling the result gives back the same triples (and the same memory up to the last declared cell).

    Raises:
        TypeError: (``SubleqTypeError``) for a program or memory that is not an ordered sequence (a set, a str), an
            instruction that is not a triple, or an operand, cell, address or length that is not an int (a float
            is never truncated); ``symbols`` that is not a mapping from str.
        ValueError: (``SubleqError``) naming the instruction and operand of an A or B outside
            [0, `MAX_DATA_MEMORY_SIZE`) or a C outside [0, L] (L = `len(program)`: a jump past the program has no
            instruction to name, and the machine refuses it too), or the memory cell outside int64; naming the
            symbol whose name is not a label or whose cells leave [0, `MAX_DATA_MEMORY_SIZE`). Addresses are
            checked before any cell is declared, so the work is bounded by the input's size.
    """
    triples = _checked_triples(program)
    cells = _as_list(memory, "memory") if memory is not None else []
    memory = validate_memory(cells) if cells else []
    spans = _symbol_spans(symbols if symbols is not None else {})
    names, blocks = _data_blocks(triples, memory, spans)
    prefix = "L"  # instruction labels must not collide with a declared name
    while any(re.fullmatch(rf"{prefix}[0-9]+", name) for name, _ in blocks):
        prefix += "_"
    return "\n".join(_data_section(blocks) + _code_section(triples, names, prefix)) + "\n"


def _checked_triples(program) -> list[tuple[int, int, int]]:
    """The instructions of `program` as int triples: A and B addresses the package supports, C an instruction of
    the program or 0."""
    instructions = _as_list(program, "program")
    length = min(len(instructions), MAX_PROGRAM_LENGTH)
    triples = []
    for number, instruction in enumerate(instructions, start=1):
        a, b, c = _instruction_operands(number, instruction)
        if not (0 <= a < MAX_DATA_MEMORY_SIZE and 0 <= b < MAX_DATA_MEMORY_SIZE and 0 <= c <= length):
            _raise_first_bad_operand(number, a, b, c, MAX_DATA_MEMORY_SIZE, length)
        triples.append((a, b, c))
    return triples


def _symbol_spans(symbols: Mapping[str, int | tuple[int, int]]) -> dict[int, tuple[str, int | None]]:
    """Start address -> (name, length or None: up to the next name); the first name of an address wins."""
    if not isinstance(symbols, Mapping):
        raise TypeError(f"symbols must be a mapping from data names to addresses, got {type(symbols).__name__}")
    spans: dict[int, tuple[str, int | None]] = {}
    for name, value in symbols.items():
        if not isinstance(name, str) or not re.fullmatch(_IDENTIFIER, name) or name.lower() in _RESERVED:
            raise ValueError(f"symbols: {name!r} is not a data label (an identifier other than 'next' or 'halt')")
        start, size = _symbol_span(name, value)
        spans.setdefault(start, (name, size))
    return spans


def _symbol_span(name: str, value) -> tuple[int, int | None]:
    """(address, length or None) of symbol `name`, inside the largest data memory the package supports."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        start, size = _as_int(value[0], f"symbols[{name!r}] address"), _as_int(value[1], f"symbols[{name!r}] length")
    else:
        start, size = _as_int(value, f"symbols[{name!r}]"), None
    if not 0 <= start < MAX_DATA_MEMORY_SIZE or (size is not None and not 1 <= size <= MAX_DATA_MEMORY_SIZE - start):
        raise ValueError(f"symbols[{name!r}] = {value!r} leaves the data memory [0, {MAX_DATA_MEMORY_SIZE})")
    return start, size


def _data_blocks(triples: list, memory: list, spans: dict[int, tuple[str, int | None]]):
    """The operand text of each address, and the declared names with their cells' values.

    Cells are declared up to the last one that an instruction uses, `memory` sets or a symbol names.
    """
    used = [a for a, b, _ in triples] + [b for _, b, _ in triples]
    used += [address for address, value in enumerate(memory) if value != 0]
    used += [start + (size or 1) - 1 for start, (_, size) in spans.items()]
    top = max(used, default=-1) + 1

    taken = {name for name, _ in spans.values()}  # (aliases of an address are dropped)
    names: dict[int, str] = {}  # operand text of each address
    blocks: list[tuple[str, list[int]]] = []  # declared names and their cells
    current: tuple[str, int, int | None] | None = None  # name, start, size
    for address in range(top):
        if address in spans:
            name, size = spans[address]
            current = (name, address, size)
        elif current is not None and (current[2] is None or address < current[1] + current[2]):
            pass
        else:
            name = f"m{address}"
            while name in taken:
                name = "_" + name
            current = (name, address, 1)
        name, start, _ = current
        value = memory[address] if address < len(memory) else 0
        if address == start:
            blocks.append((name, [value]))
            names[address] = name
        else:
            blocks[-1][1].append(value)
            names[address] = f"{name}+{address - start}"
    return names, blocks


def _data_section(blocks: list[tuple[str, list[int]]]) -> list[str]:
    lines = [".data"] if blocks else []
    width = max((len(name) for name, _ in blocks), default=0) + 1
    for name, values in blocks:
        lines.append(f"{name + ':':<{width}} .word {' '.join(str(v) for v in values)}")
    return lines


def _code_section(triples: list, names: dict[int, str], prefix: str) -> list[str]:
    lines = [".code"]
    width = len(f"{prefix}{len(triples)}:")
    for number, (a, b, c) in enumerate(triples, start=1):
        text = f"subleq {names[a]}, {names[b]}"
        if c == 0:
            text += ", halt"
        elif c != number + 1:
            text += f", {prefix}{c}"
        lines.append(f"{prefix + str(number) + ':':<{width}} {text}")
    return lines


__all__ = ["AssembledProgram", "AssemblyError", "assemble", "disassemble"]
