# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""What a checkpoint knows: its programs (`config.known_programs`), how a description is matched to one of them, and
why a run is refused.

A description runs only when it names a program the network was trained on:

- **exact**: it tokenizes to the same ids as one of a known program's trained descriptions, so the network reads
  exactly what it was trained on (case or spacing the tokenizer normalizes away does not matter);
- **likely** (only with a `min_margin` and programs that carry their `instructions`): a description made only of
  tokens that occur in the known programs' descriptions is scored against every known program by its
  log-likelihood under the network, `sum over C_t of log p(A) + log p(B) + log p(C)` of its instructions, and the
  best one runs when it leads the best program with other instructions by at least `min_margin` nats (two names of
  one instruction list are one candidate), and, with `min_match_confidence`, when the network gives every one of its
  instructions at least that probability: a large lead over worse programs does not make a program the network
  decodes only in part a good answer. It then runs under its canonical (first trained) description, so the network
  executes a program it memorized rather than whatever mixture an unseen phrasing decodes to;
- anything else is **refused** (`RunRefused`).

A likely match needs evidence in the description itself, not only a network's preference or the absence of a rival:

- A token that occurs in no known description (a new word, or the tokenizer's unknown token) is refused, naming the
  word: the network never read it as part of a program's name, and a network trained with word dropout learns to
  ignore such words, so "find the minimum of the list" would score like "find the maximum of the list".
- Its words must name the program: the words it shares with the program's descriptions may not all occur in the
  descriptions of one other program. "how many of these bits are ones?" names counting 8 bits no better than
  counting 32 (each of those words is in both programs' descriptions), whatever the network prefers.
- A margin over no rival is no evidence: with a single candidate (one known program, or all of them with the same
  instructions) every unseen description is refused.

Glossary of shapes:
    D: descriptions scored together
    K: known programs
    L: instructions scored per program (the longest known program)
    k: data-memory cells, the classes of the A and B heads

A known program may also name its inputs and outputs (`{"a": [address, length]}`): `write_inputs` puts a caller's
values into its memory and `read_outputs` reads the results back.

A known program that declares its `instructions` can be checked against the network: `first_difference` finds the
first instruction the network decodes otherwise (a damaged or further fine-tuned checkpoint), and
`instructions_digest` names an instruction list by a hash that anyone can recompute.

This file is remote code: it imports only the standard library, torch and its sibling `subleq.py`.
"""

import copy
import hashlib
import json
import math
import reprlib
from dataclasses import dataclass, field
from typing import Optional

import torch

from .subleq import validate_memory


# How many known names (or unknown words) a refusal lists before "...".
_NAMES_SHOWN = 8


class RunRefused(ValueError):
    """
    A run the pipeline will not execute, because its result could not be trusted: the description names no program
    the checkpoint knows, its best match is not clear enough, an instruction it would execute is below
    `min_confidence`, or the network no longer decodes the instructions the checkpoint declares for its program.

    Attributes:
        description: the input's description.
        index: the input's position in the call (None for a single input).
        instruction: the instruction number C_t of a low-confidence instruction, or of the first one the network
            decodes otherwise than the checkpoint declares, else None.
        confidence: that instruction's probability of its (A, B, C), else None.
        margin: the log-likelihood lead of the best known program over the next, in nats, when one was computed.
    """

    def __init__(self, detail: str, *, description: str, index: Optional[int] = None,
                 instruction: Optional[int] = None, confidence: Optional[float] = None,
                 margin: Optional[float] = None):
        self.detail, self.description, self.index = detail, description, index
        self.instruction, self.confidence, self.margin = instruction, confidence, margin
        where = "" if index is None else f"input {index}: "
        super().__init__(f"{where}refused to run {short_repr(description)}: {detail}")

    def __reduce__(self):  # keyword fields survive pickling (DataLoader workers)
        return _rebuild_refusal, (self.detail, self.description, self.index, self.instruction, self.confidence,
                                  self.margin)


def _rebuild_refusal(detail, description, index, instruction, confidence, margin) -> RunRefused:
    return RunRefused(detail, description=description, index=index, instruction=instruction,
                      confidence=confidence, margin=margin)


def short_repr(value) -> str:
    """
    A repr of `value` for an error message, at most about 80 characters whatever its size: a string is cut to 77
    characters and "...", anything else is shortened by `reprlib`.
    """
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return reprlib.repr(value)


@dataclass(frozen=True)
class Match:
    """
    How a description was matched: the known program it runs as, or None when it was refused (or when the checkpoint
    lists no known programs and every description runs as given).

    Attributes:
        description: the description as given.
        program: the name of the known program, or None.
        how: `"exact"`, `"likely"`, `"refused"` or `"unchecked"` (a checkpoint without known programs, or
            `allow_unknown=True`).
        run_as: the description the network is run on: the given one, or the program's canonical description.
        margin: for `"likely"` and for a refusal by margin, the best program's lead over the next in nats.
        scores: for `"likely"` and for a refusal by margin, program name -> log-likelihood, best first.
        reason: why it was refused, else None.
        tokens: the token ids of `run_as` (as `KnownPrograms.tokenize` reads it) for a known program, else None: what
            the pipeline keys its check of the program's decoded instructions by.
    """

    description: str
    program: Optional[str]
    how: str
    run_as: Optional[str]
    margin: Optional[float] = None
    scores: Optional[dict] = None
    reason: Optional[str] = None
    tokens: Optional[tuple] = field(default=None, repr=False, compare=False)

    def refusal(self, index: Optional[int] = None) -> RunRefused:
        return RunRefused(self.reason, description=self.description, index=index, margin=self.margin)

    def to_dict(self) -> dict:
        return {"description": self.description, "program": self.program, "how": self.how, "run_as": self.run_as,
                "margin": self.margin, "scores": self.scores, "reason": self.reason}


class KnownPrograms:
    """
    The known programs of a config, indexed by the token ids of their descriptions.

    Args:
        known_programs: `config.known_programs` (validated by the config). The index keeps its own copy: a later edit
            of the config's list changes nothing here (the pipeline builds a new index when
            `config.check_runnable()` sees one).
        tokenize: description -> tuple of token ids, as the network's input holds them (no special tokens, no
            instruction number).
        unknown_token_id: the tokenizer's id for a word it does not know. It is never evidence of a program.
        spell: description -> the text of each of its tokens, in the order of `tokenize`'s ids, to name a word in a
            refusal; without it a refusal names token ids.

    Raises:
        ValueError: naming the program(s) and description(s), for a description that tokenizes to no tokens (any
            text the tokenizer drops, such as `"\\x00"`, would run it), one that holds the unknown token (any unknown
            word in its place would run it), or two programs with descriptions that tokenize alike (the network
            reads them as one text: one of the two could never run).
    """

    def __init__(self, known_programs: list[dict], tokenize, unknown_token_id: Optional[int] = None, spell=None):
        self.programs = copy.deepcopy(known_programs)
        self.tokenize, self.unknown_token_id, self.spell = tokenize, unknown_token_id, spell
        self.by_tokens = {}  # token ids -> (program index, the first description with those ids)
        for index, program in enumerate(self.programs):
            for description in program["descriptions"]:
                self._index(index, description)
        # The tokens of each program's descriptions, and of all of them: the words a likely match may use.
        self.vocabularies = [frozenset(token for description in program["descriptions"]
                                       for token in self.tokenize(description)) - {unknown_token_id}
                             for program in self.programs]
        self.vocabulary = frozenset().union(*self.vocabularies)
        self.can_score = bool(self.programs) and all(program.get("instructions") for program in self.programs)
        self.by_name = {program["name"]: program for program in self.programs}
        # Programs with equal instructions run alike (say, summing 8 numbers and counting 8 bits): one candidate.
        self.same_as = [tuple(map(tuple, program.get("instructions") or [])) for program in self.programs]

    @classmethod
    def from_tokenizer(cls, known_programs: list[dict], tokenizer) -> "KnownPrograms":
        """The index of `known_programs` as `tokenizer` (a transformers tokenizer) reads a description alone, without
        special tokens; refusals name a word by the text it came from when the tokenizer reports offsets.

        Raises:
            ValueError: as `KnownPrograms`.
        """

        def tokenize(text: str) -> tuple[int, ...]:
            return tuple(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

        def spell(text: str) -> list[str]:
            ids = list(tokenize(text))
            tokens = tokenizer.convert_ids_to_tokens(ids)
            try:
                spans = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                  verbose=False)["offset_mapping"]
            except (NotImplementedError, ValueError, TypeError, KeyError):  # a tokenizer without offsets
                return tokens
            if len(spans) != len(ids):
                return tokens
            return [text[start:end] or token for (start, end), token in zip(spans, tokens)]

        return cls(known_programs, tokenize, getattr(tokenizer, "unk_token_id", None), spell)

    def _index(self, index: int, description: str) -> None:
        tokens = self.tokenize(description)
        where = f"known_programs[{index}] ({self.programs[index]['name']!r})"
        if not tokens:
            raise ValueError(f"{where}: description {short_repr(description)} tokenizes to no tokens, so any text the "
                             "tokenizer drops entirely would run it")
        if self.unknown_token_id is not None and self.unknown_token_id in tokens:
            words = self._unknown_words(description, tokens, set(tokens) - {self.unknown_token_id})
            raise ValueError(f"{where}: description {short_repr(description)} holds a word the tokenizer does not "
                             f"know ({', '.join(map(repr, words))}), so any unknown word in its place would run it")
        first = self.by_tokens.setdefault(tokens, (index, description))
        if first[0] != index:
            other = f"known_programs[{first[0]}] ({self.programs[first[0]]['name']!r})"
            raise ValueError(f"{other} description {short_repr(first[1])} and {where} description "
                             f"{short_repr(description)} tokenize to the same tokens: the network reads them as one "
                             "text, so one of the two programs could never run under it")

    def names(self) -> str:
        names = [program["name"] for program in self.programs]
        shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
        return f"{len(names)} known program(s): {shown}" if names else "it lists no known programs"

    def exact(self, description: str) -> Optional[Match]:
        tokens = self.tokenize(description)
        index, _ = self.by_tokens.get(tokens, (None, None))
        if index is None:
            return None
        return Match(description, self.programs[index]["name"], "exact", description, tokens=tokens)

    def unknown_words(self, description: str) -> list[str]:
        """The words of `description` (each once, in order) made of tokens that occur in no known description, the
        unknown token included: what a likely match refuses."""
        return self._unknown_words(description, self.tokenize(description), self.vocabulary)

    def _unknown_words(self, description: str, tokens: tuple, vocabulary) -> list[str]:
        positions = [i for i, token in enumerate(tokens) if token not in vocabulary]
        if not positions:
            return []
        texts = self.spell(description) if self.spell is not None else []
        if len(texts) != len(tokens):
            texts = [f"token {token}" for token in tokens]
        return list(dict.fromkeys(texts[i] for i in positions))

    def instruction_count(self) -> int:
        """L: how many instruction numbers scoring needs, the longest known program's length (0 with none)."""
        return max((len(program.get("instructions") or []) for program in self.programs), default=0)

    def log_likelihoods(self, a_log_probs, b_log_probs, c_log_probs) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Each known program's log-likelihood for each scored description, and its least likely instruction's.

        Args:
            a_log_probs, b_log_probs: `[D, L, k]` log-probabilities of the A and B heads for C_t = 1..L.
            c_log_probs: `[D, L, L_max + 1]` of the C head.

        Returns:
            `([D, K], [D, K])`: the sum over a program's instructions of log p(A) + log p(B) + log p(C), and the
            smallest of those per-instruction terms.
        """
        scores, worst = [], []
        for program in self.programs:
            operands = torch.tensor(program["instructions"], dtype=torch.long)  # [n, 3], n <= L
            rows = torch.arange(len(operands))
            score = (a_log_probs[:, rows, operands[:, 0]] + b_log_probs[:, rows, operands[:, 1]]
                     + c_log_probs[:, rows, operands[:, 2]])  # [D, n]
            scores.append(score.sum(-1))
            worst.append(score.min(-1).values)
        return torch.stack(scores, dim=-1), torch.stack(worst, dim=-1)

    def decide(self, description: str, log_likelihoods: torch.Tensor, worst: torch.Tensor, min_margin: float,
               min_match_confidence: Optional[float] = None) -> Match:
        """
        The match of an unseen description from its `[K]` log-likelihoods and least likely instructions
        (`log_likelihoods`), or a refusal. It runs as the best program only when:

        - the description has tokens, and every one of them occurs in a known description;
        - the best program leads the best program with other instructions by a finite margin of at least
          `min_margin` nats and, with `min_match_confidence`, the network gives each of its instructions at least
          that probability (a NaN anywhere refuses);
        - its own words name it: the words it shares with the best program's descriptions do not all occur in the
          descriptions of one other program. Among programs with the best one's instructions, it runs as the one
          its words name this way (the one sharing the most words with it; a tie refuses), so that its named inputs
          and outputs are that program's.
        """
        if not self.programs:
            return self.unknown(description)
        order = sorted(range(len(self.programs)), key=lambda i: _descending(float(log_likelihoods[i])))
        scores = {self.programs[i]["name"]: round(float(log_likelihoods[i]), 3) for i in order}
        best = order[0]
        name = self.programs[best]["name"]
        rivals = [i for i in order if self.same_as[i] != self.same_as[best]]
        margin = float(log_likelihoods[best] - log_likelihoods[rivals[0]]) if rivals else None

        def refused(reason: str) -> Match:
            return Match(description, None, "refused", None, margin=margin, scores=scores,
                         reason=f"it is not a known description, and {reason}")

        words = self.unknown_words(description)
        if words:
            shown = ", ".join(map(repr, words[:_NAMES_SHOWN])) + (", ..." if len(words) > _NAMES_SHOWN else "")
            return refused(f"{'its word' if len(words) == 1 else 'its words'} {shown} "
                           f"{'occurs' if len(words) == 1 else 'occur'} in no known description: the network never "
                           "learned what it means, so its likelihoods cannot show which program, if any, it names")
        if not self.tokenize(description):
            return refused("it has no tokens: nothing in it names a program")
        if not rivals:
            return refused(f"its most likely program {name!r} has no rival with other instructions, so no margin can "
                           "show that it names this program rather than any task at all")
        rival = self.programs[rivals[0]]["name"]
        if not margin >= min_margin:  # NaN refuses too
            return refused(f"its most likely program {name!r} leads {rival!r} by only {margin:.2f} nats (min_margin "
                           f"= {min_margin:g})")
        if not math.isfinite(margin):
            return refused(f"its most likely program {name!r} leads {rival!r} by {margin} nats: the network gives "
                           f"{rival!r} no probability at all, and an infinite margin measures nothing")
        least = math.exp(float(worst[best]))
        if min_match_confidence is not None and not least >= min_match_confidence:
            return refused(f"the network gives an instruction of its most likely program {name!r} only probability "
                           f"{least:.3g} (min_match_confidence = {min_match_confidence:g})")
        named = self._named_by_words(set(self.tokenize(description)), best)
        if isinstance(named, str):
            return refused(named)
        program = self.programs[named]
        canonical = program["descriptions"][0]
        return Match(description, program["name"], "likely", canonical, margin=margin, scores=scores,
                     tokens=self.tokenize(canonical))

    def _named_by_words(self, tokens: set, best: int):
        """
        The program, among those with the instructions of `best`, that the description's own words name: the words
        it shares with the program's descriptions (the most of them) do not all occur in the descriptions of one
        other program; else why none is named (a str).
        """
        named, why = [], None
        for i in (i for i in range(len(self.programs)) if self.same_as[i] == self.same_as[best]):
            evidence = tokens & self.vocabularies[i]
            cover = next((j for j in range(len(self.programs)) if j != i and evidence <= self.vocabularies[j]), None)
            if evidence and cover is None:
                named.append((len(evidence), i))
            elif why is None or i == best:
                name = self.programs[i]["name"]
                why = (f"none of its words occurs in a description of its most likely program {name!r}" if not evidence
                       else f"each of its words that occurs in a description of its most likely program {name!r} "
                            f"also occurs in one of {self.programs[cover]['name']!r}: nothing in it tells the two "
                            "apart")
        named.sort(key=lambda item: -item[0])
        if not named:
            return why
        if len(named) > 1 and named[0][0] == named[1][0]:
            first, second = (self.programs[i]["name"] for _, i in named[:2])
            return (f"its words name {first!r} and {second!r} (one instruction list, other inputs and outputs) "
                    "equally")
        return named[0][1]

    def unknown(self, description: str) -> Match:
        """The refusal of a description that is not known, when likelihood matching is off."""
        hint = ("; pass min_margin=... to match unseen phrasings to a known program by likelihood" if self.can_score
                else "")
        reason = f"it is not a description this checkpoint was trained on ({self.names()}){hint}"
        return Match(description, None, "refused", None, reason=reason)


def _descending(score: float) -> float:
    """Sort key of a log-likelihood, best first; NaN last."""
    return math.inf if math.isnan(score) else -score


def instructions_digest(instructions) -> str:
    """
    The SHA-256 (64 hex digits) of an instruction list `[[A, B, C], ...]` (C_t = 1, 2, ...) in its canonical
    encoding: the compact JSON of the list of integer triples, UTF-8. Anyone can recompute it from
    `config.known_programs[i]["instructions"]`:
    `hashlib.sha256(json.dumps(instructions, separators=(",", ":")).encode()).hexdigest()`.
    """
    rows = [[int(a), int(b), int(c)] for a, b, c in instructions]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def first_difference(decoded, declared) -> Optional[tuple[int, tuple, tuple]]:
    """
    The first instruction of `declared` (a known program's `instructions`) that `decoded` (the network's (A, B, C)
    for C_t = 1, 2, ..., at least as many) holds otherwise: `(C_t, decoded (A, B, C), declared (A, B, C))`, or None
    when the network decodes the declared program exactly.
    """
    for number, (got, want) in enumerate(zip(decoded, declared), start=1):
        got, want = tuple(got), tuple(want)
        if got != want:
            return number, got, want
    return None


def write_inputs(program: dict, memory: list[int], values: dict) -> list[int]:
    """
    A copy of `memory` with `values` (input name -> an int for a one-cell input, a list of ints otherwise) written
    into the cells `program["inputs"]` names. Every declared input must be given: one left out would run on whatever
    its cells hold, a silent wrong answer.

    Raises:
        TypeError: if `values` is not a dict, or a value is not an integer (or a list of them).
        ValueError: naming them, for a name the program does not declare, declared inputs that are not given, a
            wrong number of values, or a value outside int64.
    """
    if not isinstance(values, dict):
        raise TypeError(f"inputs must be a dict of input name -> value, got {type(values).__name__}")
    declared = program.get("inputs") or {}
    memory = list(memory)
    for name, value in values.items():
        if name not in declared:
            raise ValueError(f"program {program['name']!r} has no input {name!r}; its inputs are {sorted(declared)}")
        address, length = declared[name]
        cells = validate_memory(value if isinstance(value, (list, tuple, torch.Tensor)) else [value],
                                f"inputs[{name!r}]")
        if len(cells) != length:
            raise ValueError(f"input {name!r} of program {program['name']!r} takes {length} value(s), got "
                             f"{len(cells)}")
        memory[address : address + length] = cells
    missing = [name for name in declared if name not in values]
    if missing:
        raise ValueError(f"{_missing(program, missing)}: every input the program declares must be given")
    return memory


def initial_memory(program: Optional[dict], memory: Optional[list[int]], values: Optional[dict],
                   default_memory) -> list[int]:
    """
    The data memory a run starts from.

    - With `memory` (the caller's own) and no `values`: that memory, exactly as given.
    - Else the caller's `memory`, `program`'s own memory, or `default_memory()`, in that order, with `values` written
      into `program`'s named inputs (`write_inputs`: every declared input must be given).
    - A program that declares inputs, run with neither `values` nor `memory`, is refused: its inputs would silently
      read whatever its initial memory holds.

    Args:
        program: the known program the description runs as, or None (an unchecked description).
        memory: the data memory the caller gave, or None.
        values: the caller's named inputs (a dict, even an empty one), or None when it gave none.
        default_memory: a callable giving the memory of a run that has none of its own.

    Raises:
        ValueError: naming the missing inputs of a program run with neither `values` nor `memory`; for `values` of a
            description that runs no known program declaring inputs; and as `write_inputs`.
        TypeError: as `write_inputs`.
    """
    if values is None and memory is not None:
        return list(memory)
    if memory is None:
        memory = program["memory"] if program and program.get("memory") is not None else default_memory()
    declared = (program or {}).get("inputs")
    if values is None:
        if declared:
            raise ValueError(f"{_missing(program, list(declared))}: pass inputs={{...}} with every one of them, or a "
                             "memory= that holds them (which runs as given)")
        return list(memory)
    if not declared:
        runs = "no known program" if program is None else f"{program['name']!r}, which declares no inputs"
        raise ValueError(f"inputs= names the cells of a known program, but this description runs {runs}; pass "
                         "memory= instead")
    return write_inputs(program, memory, values)


def _missing(program: dict, names: list[str]) -> str:
    return (f"program {program['name']!r} needs {'input' if len(names) == 1 else 'inputs'} "
            f"{', '.join(map(repr, names))}, not given")


def read_outputs(program: dict, memory: list[int]) -> dict:
    """`program["outputs"]` read from `memory`: an int for a one-cell output, a list otherwise."""
    outputs = {}
    for name, (address, length) in program["outputs"].items():
        cells = memory[address : address + length]
        outputs[name] = cells[0] if length == 1 else cells
    return outputs


__all__ = ["KnownPrograms", "Match", "RunRefused", "first_difference", "initial_memory", "instructions_digest",
           "read_outputs", "short_repr", "write_inputs"]
