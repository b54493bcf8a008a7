"""Training and evaluation data for a Synthesizer that memorizes the program library under natural-language names
(`examples/run_program_library.py`), and for its baseline, a sequence classifier that counts ones.

- `build_description_tokenizer`: a word-level tokenizer over the descriptions' words (lower-cased, punctuation split
  off), with every instruction number as one token. Words it has never seen become `[UNK]`.
- `split_phrasings` / `library_records`: each program's phrasings split into trained and held-out ones, and the
  `build_memorization_dataset` records of the trained ones: the assembled program padded to L instructions.
- `WordDropoutDataset`: replaces description words by `[UNK]` at random while training, so that the network learns
  to name a program from any of its words rather than from one exact phrasing.
- `count_ones_splits`: bit sequences for the baseline (length <= 8, some held out) and longer test sequences.

Not part of the remote code (it needs `datasets`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import torch
from datasets import Dataset
from tokenizers import normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from modeling_synthesizer.program_library import LibraryProgram
from modeling_synthesizer.tokenizer import SPECIAL_TOKENS, wrap_word_level_vocabulary


# Instructions past a program's end are (0, 0, 0): HALT. Library programs always halt on their own (the assembler
# encodes the last instruction's fall-through as C = 0), so the padding is never executed; training it too makes
# the decoded L-instruction program comparable, exactly, with the assembled one.
PADDING_INSTRUCTION = (0, 0, 0)


def _normalizer():
    return normalizers.Lowercase()


def _pre_tokenizer():
    # Whitespace and punctuation: "what is |x|?" -> what, is, |, x, |, ?
    return pre_tokenizers.BertPreTokenizer()


def description_words(descriptions: Sequence[str]) -> list[str]:
    """The distinct words of `descriptions` as `build_description_tokenizer` splits them, sorted."""
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    words = set()
    for description in descriptions:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(description)))
    return sorted(words)


def build_description_tokenizer(
    descriptions: Sequence[str], max_number: int, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """
    A word-level tokenizer for `"{C_t} {description}"` inputs: the special tokens, every integer `0..max_number` as
    one token (instruction numbers), then the words of `descriptions`. Text is lower-cased and punctuation is split
    off, so "What is |x|?" and "what is | x | ?" are the same tokens. Any other word is `[UNK]`.

    Args:
        descriptions (`Sequence[str]`): the phrasings whose words make the vocabulary (the trained ones only, so
            that held-out phrasings are read as a user's unseen text would be).
        max_number (`int`): the largest integer with a token of its own; use `max(k, L)`.
        model_max_length (`int`): the longest input, in tokens.

    Returns:
        `PreTrainedTokenizerFast` with `[CLS] ... [SEP]` framing when called with `add_special_tokens=True`; it
        saves and loads with `save_pretrained` / `AutoTokenizer.from_pretrained`.

    Raises:
        ValueError: if `max_number` is negative.
    """
    if max_number < 0:
        raise ValueError(f"max_number must be >= 0, got {max_number}")
    tokens = list(SPECIAL_TOKENS.values()) + [str(i) for i in range(max_number + 1)]
    known = set(tokens)
    tokens += [word for word in description_words(descriptions) if word not in known]
    return wrap_word_level_vocabulary(tokens, _pre_tokenizer(), _normalizer(), model_max_length=model_max_length)


def split_phrasings(program: LibraryProgram, num_held_out: int) -> tuple[list[str], list[str]]:
    """`(trained, held_out)`: the last `num_held_out` descriptions of `program` are held out (a fixed choice).

    Raises:
        ValueError: unless at least one description is left to train on.
    """
    descriptions = list(program.descriptions)
    if not 0 <= num_held_out < len(descriptions):
        raise ValueError(
            f"num_held_out must be in [0, {len(descriptions)}) for {program.name!r}, which has {len(descriptions)} "
            f"descriptions; got {num_held_out}"
        )
    cut = len(descriptions) - num_held_out
    return descriptions[:cut], descriptions[cut:]


def padded_program(program: LibraryProgram, data_memory_size: int, max_program_length: int) -> list[tuple]:
    """The assembled program (k = `data_memory_size`) padded with HALT (0, 0, 0) to `max_program_length` instructions.

    Raises:
        AssemblyError: if the program does not fit k cells or L instructions.
    """
    return pad_instructions(program.assemble(data_memory_size, max_program_length).program, max_program_length)


def pad_instructions(instructions: Sequence[tuple], max_program_length: int) -> list[tuple]:
    """`instructions` padded with HALT (0, 0, 0) to `max_program_length` instructions."""
    return list(instructions) + [PADDING_INSTRUCTION] * (max_program_length - len(instructions))


def library_records(
    programs: Sequence[LibraryProgram],
    phrasings: dict[str, Sequence[str]],
    data_memory_size: int,
    max_program_length: int,
) -> list[dict]:
    """
    `build_memorization_dataset` records: one per (program, phrasing), the phrasing as `description` and the padded
    program (`padded_program`) as `program`, in program-major order.

    Raises:
        ValueError: if two programs share a phrasing (the network could not tell them apart).
    """
    owner: dict[str, str] = {}
    records = []
    for program in programs:
        instructions = [list(instruction) for instruction in padded_program(program, data_memory_size,
                                                                            max_program_length)]
        for description in phrasings[program.name]:
            if owner.setdefault(description, program.name) != program.name:
                raise ValueError(f"{description!r} describes both {owner[description]!r} and {program.name!r}")
            records.append({"description": description, "program": instructions})
    return records


def known_program_entries(
    programs: Sequence[LibraryProgram],
    phrasings: dict[str, Sequence[str]],
    data_memory_size: int,
    max_program_length: int,
) -> list[dict]:
    """
    `SynthesizerConfig.known_programs` of a checkpoint that memorized `programs` under `phrasings` (program name ->
    its trained phrasings, the first one canonical): each program's name, phrasings, padded instructions, initial
    data memory and the `[address, length]` of its named inputs and outputs.
    """
    entries = []
    for program in programs:
        assembled = program.assemble(data_memory_size, max_program_length)
        entries.append({
            "name": program.name,
            "descriptions": list(phrasings[program.name]),
            "instructions": [list(instruction) for instruction in pad_instructions(assembled.program,
                                                                                   max_program_length)],
            "memory": [int(cell) for cell in assembled.memory],
            "inputs": {name: list(cells) for name, cells in assembled.inputs.items()},
            "outputs": {name: list(cells) for name, cells in assembled.outputs.items()},
        })
    return entries


class WordDropoutDataset(torch.utils.data.Dataset):
    """
    A tokenized dataset whose description words are replaced by `[UNK]` with probability `p`, drawn anew at every
    access (so every epoch sees other gaps). The first `keep_prefix` tokens ([CLS] and the instruction number C_t)
    and special tokens are never replaced. Use it for the training set only; evaluate on the clean rows.

    Args:
        dataset (`Dataset`): tokenized rows with `input_ids` and `labels` (other model inputs are passed through).
        tokenizer: supplies `unk_token_id` and the special tokens' ids.
        p (`float`): the probability of replacing each description word.
        keep_prefix (`int`): leading tokens never replaced: 2 with `[CLS]`, 1 without.
        seed (`int`): seed of the replacement draws.
    """

    MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "labels")

    def __init__(self, dataset: Dataset, tokenizer: PreTrainedTokenizerBase, p: float, keep_prefix: int,
                 seed: int = 0):
        if not 0 <= p < 1:
            raise ValueError(f"word dropout must be in [0, 1), got {p}")
        columns = [name for name in self.MODEL_INPUTS if name in dataset.column_names]
        self.rows = dataset.select_columns(columns)
        self.p = p
        self.keep_prefix = keep_prefix
        self.unk = tokenizer.unk_token_id
        self.special = set(tokenizer.all_special_ids)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = dict(self.rows[index])
        if self.p > 0:
            row["input_ids"] = [
                self.unk if position >= self.keep_prefix and token not in self.special and self.rng.random() < self.p
                else token
                for position, token in enumerate(row["input_ids"])
            ]
        return row


def bits_to_text(bits: Sequence[int]) -> str:
    """The baseline's input text: `[1, 0, 1]` -> `"1 0 1"`."""
    return " ".join(str(bit) for bit in bits)


def count_ones_splits(
    train_max_length: int = 8,
    held_out_fraction: float = 0.25,
    long_lengths: Sequence[int] = (16, 32),
    num_long: int = 1000,
    seed: int = 0,
) -> dict[str, list[list[int]]]:
    """
    Bit sequences for the count-the-ones comparison.

    - `"train"`: every sequence of length 1..`train_max_length`, except the held-out ones (the baseline learns from
      all the short sequences there are).
    - `"held_out_<train_max_length>"`: `held_out_fraction` of the sequences of length `train_max_length`, drawn
      with `seed`: same length as training, never seen.
    - `"length_<n>"` for each of `long_lengths`: `num_long` uniformly random sequences of length n (longer than any
      training sequence).

    Raises:
        ValueError: for a fraction outside (0, 1) or a long length not above `train_max_length`.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    if any(length <= train_max_length for length in long_lengths):
        raise ValueError(f"long_lengths {list(long_lengths)} must all exceed train_max_length {train_max_length}")
    rng = random.Random(seed)
    longest = [list(bits) for bits in itertools.product((0, 1), repeat=train_max_length)]
    rng.shuffle(longest)
    cut = round(len(longest) * held_out_fraction)
    held_out, kept = longest[:cut], longest[cut:]
    shorter = [list(bits) for length in range(1, train_max_length)
               for bits in itertools.product((0, 1), repeat=length)]
    splits = {"train": shorter + kept, f"held_out_{train_max_length}": held_out}
    for length in long_lengths:
        splits[f"length_{length}"] = [[rng.randint(0, 1) for _ in range(length)] for _ in range(num_long)]
    return splits


def build_count_ones_dataset(sequences: Sequence[Sequence[int]]) -> Dataset:
    """Rows `text` ("1 0 1 1") and `label` (the number of ones) for `AutoModelForSequenceClassification`."""
    return Dataset.from_dict({"text": [bits_to_text(bits) for bits in sequences],
                              "label": [int(sum(bits)) for bits in sequences]})


__all__ = [
    "PADDING_INSTRUCTION",
    "WordDropoutDataset",
    "bits_to_text",
    "build_count_ones_dataset",
    "build_description_tokenizer",
    "count_ones_splits",
    "description_words",
    "known_program_entries",
    "library_records",
    "pad_instructions",
    "padded_program",
    "split_phrasings",
]
