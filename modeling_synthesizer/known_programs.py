# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""What a checkpoint knows: its programs (`config.known_programs`), how a description is matched to one of them, and
why a run is refused.

A description runs only when it names a program the network was trained on:

- **exact**: it tokenizes to the same ids as one of a known program's trained descriptions, so the network reads
  exactly what it was trained on (case or spacing the tokenizer normalizes away does not matter);
- **likely** (only with a `min_margin` and programs that carry their `instructions`): every known program is scored
  by its log-likelihood under the network for this description, `sum over C_t of log p(A) + log p(B) + log p(C)` of
  its instructions, and the best one runs when it leads the best program with other instructions by at least
  `min_margin` nats (two names of one instruction list are one candidate), and, with `min_match_confidence`, when the
  network gives every one of its instructions at least that probability: a large lead over worse programs does not
  make a program the network decodes only in part a good answer. It then runs under its canonical (first trained)
  description, so the network executes a program it memorized rather than whatever mixture an unseen phrasing decodes
  to;
- anything else is **refused** (`RunRefused`).

Glossary of shapes:
    D: descriptions scored together
    K: known programs
    L: instructions scored per program (the longest known program)
    k: data-memory cells, the classes of the A and B heads

A known program may also name its inputs and outputs (`{"a": [address, length]}`): `write_inputs` puts a caller's
values into its memory and `read_outputs` reads the results back.

This file is remote code: it imports only the standard library, torch and its sibling `subleq.py`.
"""

import math
from dataclasses import dataclass
from typing import Optional

import torch

from .subleq import validate_memory


# How many known names a refusal lists before "...".
_NAMES_SHOWN = 8


class RunRefused(ValueError):
    """
    A run the pipeline will not execute, because its result could not be trusted: the description names no program
    the checkpoint knows, its best match is not clear enough, or an instruction it would execute is below
    `min_confidence`.

    Attributes:
        description: the input's description.
        index: the input's position in the call (None for a single input).
        instruction: the instruction number C_t of a low-confidence instruction, else None.
        confidence: that instruction's probability of its (A, B, C), else None.
        margin: the log-likelihood lead of the best known program over the next, in nats, when one was computed.
    """

    def __init__(self, detail: str, *, description: str, index: Optional[int] = None,
                 instruction: Optional[int] = None, confidence: Optional[float] = None,
                 margin: Optional[float] = None):
        self.detail, self.description, self.index = detail, description, index
        self.instruction, self.confidence, self.margin = instruction, confidence, margin
        where = "" if index is None else f"input {index}: "
        super().__init__(f"{where}refused to run {_shown(description)}: {detail}")

    def __reduce__(self):  # keyword fields survive pickling (DataLoader workers)
        return _rebuild_refusal, (self.detail, self.description, self.index, self.instruction, self.confidence,
                                  self.margin)


def _rebuild_refusal(detail, description, index, instruction, confidence, margin) -> RunRefused:
    return RunRefused(detail, description=description, index=index, instruction=instruction,
                      confidence=confidence, margin=margin)


def _shown(description: str) -> str:
    return repr(description if len(description) <= 80 else description[:77] + "...")


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
    """

    description: str
    program: Optional[str]
    how: str
    run_as: Optional[str]
    margin: Optional[float] = None
    scores: Optional[dict] = None
    reason: Optional[str] = None

    def refusal(self, index: Optional[int] = None) -> RunRefused:
        return RunRefused(self.reason, description=self.description, index=index, margin=self.margin)

    def to_dict(self) -> dict:
        return {"description": self.description, "program": self.program, "how": self.how, "run_as": self.run_as,
                "margin": self.margin, "scores": self.scores, "reason": self.reason}


class KnownPrograms:
    """
    The known programs of a config, indexed by the token ids of their descriptions.

    Args:
        known_programs: `config.known_programs` (validated by the config).
        tokenize: description -> tuple of token ids, as the network's input holds them (no special tokens, no
            instruction number).
    """

    def __init__(self, known_programs: list[dict], tokenize):
        self.programs = known_programs
        self.tokenize = tokenize
        self.by_tokens = {}
        for index, program in enumerate(known_programs):
            for description in program["descriptions"]:
                self.by_tokens.setdefault(tokenize(description), index)
        self.can_score = all(program.get("instructions") for program in known_programs)
        self.by_name = {program["name"]: program for program in known_programs}
        # Programs with equal instructions run alike (say, summing 8 numbers and counting 8 bits): one candidate.
        self.same_as = [tuple(map(tuple, program.get("instructions") or [])) for program in known_programs]

    def names(self) -> str:
        names = [program["name"] for program in self.programs]
        shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
        return f"{len(names)} known program(s): {shown}"

    def exact(self, description: str) -> Optional[Match]:
        index = self.by_tokens.get(self.tokenize(description))
        if index is None:
            return None
        return Match(description, self.programs[index]["name"], "exact", description)

    def instruction_count(self) -> int:
        """L: how many instruction numbers scoring needs, the longest known program's length."""
        return max(len(program["instructions"]) for program in self.programs)

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
        (`log_likelihoods`): the best program if it leads the best program with other instructions by `min_margin`
        nats and, with `min_match_confidence`, the network gives each of its instructions at least that
        probability; else a refusal.
        """
        order = sorted(range(len(self.programs)), key=lambda i: -float(log_likelihoods[i]))
        scores = {self.programs[i]["name"]: round(float(log_likelihoods[i]), 3) for i in order}
        best = order[0]
        rivals = [i for i in order if self.same_as[i] != self.same_as[best]]
        margin = float(log_likelihoods[best] - log_likelihoods[rivals[0]]) if rivals else math.inf
        name = self.programs[best]["name"]
        if margin < min_margin:
            reason = (f"it is not a known description, and its most likely program {name!r} leads "
                      f"{self.programs[rivals[0]]['name']!r} by only {margin:.2f} nats (min_margin = {min_margin:g})")
            return Match(description, None, "refused", None, margin=margin, scores=scores, reason=reason)
        least = math.exp(float(worst[best]))
        if min_match_confidence is not None and least < min_match_confidence:
            reason = (f"it is not a known description, and the network gives an instruction of its most likely "
                      f"program {name!r} only probability {least:.3g} (min_match_confidence = "
                      f"{min_match_confidence:g})")
            return Match(description, None, "refused", None, margin=margin, scores=scores, reason=reason)
        canonical = self.programs[best]["descriptions"][0]
        return Match(description, name, "likely", canonical, margin=margin, scores=scores)

    def unknown(self, description: str) -> Match:
        """The refusal of a description that is not known, when likelihood matching is off."""
        hint = ("; pass min_margin=... to match unseen phrasings to a known program by likelihood" if self.can_score
                else "")
        reason = f"it is not a description this checkpoint was trained on ({self.names()}){hint}"
        return Match(description, None, "refused", None, reason=reason)


def write_inputs(program: dict, memory: list[int], values: dict) -> list[int]:
    """
    A copy of `memory` with `values` (input name -> an int for a one-cell input, a list of ints otherwise) written
    into the cells `program["inputs"]` names.

    Raises:
        TypeError: if `values` is not a dict, or a value is not an integer (or a list of them).
        ValueError: for a name the program does not declare, a wrong number of values, or a value outside int64.
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
    return memory


def read_outputs(program: dict, memory: list[int]) -> dict:
    """`program["outputs"]` read from `memory`: an int for a one-cell output, a list otherwise."""
    outputs = {}
    for name, (address, length) in program["outputs"].items():
        cells = memory[address : address + length]
        outputs[name] = cells[0] if length == 1 else cells
    return outputs


__all__ = ["KnownPrograms", "Match", "RunRefused", "read_outputs", "write_inputs"]
