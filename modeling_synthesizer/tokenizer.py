"""Tokenizers for Synthesizer inputs: an embedded word-level one, or any pretrained one with program tokens added.

Neither needs remote code: `AutoTokenizer.from_pretrained(checkpoint)` loads what `save_pretrained` wrote.
"""

import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import AutoTokenizer, PreTrainedTokenizerBase


SPECIAL_TOKENS = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}


class PreTrainedTokenizerFast(transformers.PreTrainedTokenizerFast):
    """
    transformers' `PreTrainedTokenizerFast`, saved under that name. transformers 5 saves it as `TokenizersBackend`
    (its new name), which transformers 4 cannot load; every release loads `PreTrainedTokenizerFast` (5.x as an
    alias), so a checkpoint's tokenizer loads wherever its code runs. `tokenizer_config.json` records only the name:
    loading it gives transformers' own class, never this one.
    """


def program_token(index: int) -> str:
    """The description of the `index`-th memorized program: one token, e.g. `[PROG_3]`."""
    return f"[PROG_{index}]"


def build_word_level_tokenizer(max_number: int, program_tokens: list[str], model_max_length: int = 512):
    """
    A whitespace word-level tokenizer whose vocabulary is the special tokens, every integer `0..max_number` as one
    token (so an instruction number C_t is one token, as `str(i)` is in bert-base-uncased for i < 256) and the
    program tokens. It needs no download.

    Args:
        max_number (`int`): the largest integer with a token of its own; use `max(k, L)`.
        program_tokens (`list[str]`): e.g. `[program_token(i) for i in range(N)]`.
        model_max_length (`int`): the longest input, in tokens.

    Returns:
        `PreTrainedTokenizerFast` with `[CLS] ... [SEP]` framing when called with `add_special_tokens=True`.

    Raises:
        ValueError: if `max_number` is negative or a program token repeats or collides with another token.
    """
    if max_number < 0:
        raise ValueError(f"max_number must be >= 0, got {max_number}")
    tokens = list(SPECIAL_TOKENS.values()) + [str(i) for i in range(max_number + 1)] + list(program_tokens)
    if len(set(tokens)) != len(tokens):
        duplicates = sorted({token for token in tokens if tokens.count(token) > 1})
        raise ValueError(f"tokens must be unique; repeated: {duplicates}")
    return wrap_word_level_vocabulary(tokens, pre_tokenizers.WhitespaceSplit(), model_max_length=model_max_length)


def wrap_word_level_vocabulary(
    tokens: list[str], pre_tokenizer, normalizer=None, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """
    A `PreTrainedTokenizerFast` whose vocabulary is exactly `tokens` (in order; they must include the special
    tokens), split into words by the `tokenizers` `pre_tokenizer` after the optional `normalizer`, with
    `[CLS] ... [SEP]` framing when called with `add_special_tokens=True`. Unknown words become `[UNK]`.
    """
    vocab = {token: index for index, token in enumerate(tokens)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    if normalizer is not None:
        backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizer
    cls, sep = SPECIAL_TOKENS["cls_token"], SPECIAL_TOKENS["sep_token"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
    )
    # Named inputs, saved with the tokenizer: transformers 4.x would otherwise add token_type_ids, which 5.x does not,
    # and a backbone that embeds them (GPT-2) would read the same text differently.
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=model_max_length,
                                   model_input_names=["input_ids", "attention_mask"], **SPECIAL_TOKENS)


def load_tokenizer_with_programs(name_or_path: str, program_tokens: list[str]) -> PreTrainedTokenizerBase:
    """
    Loads any tokenizer (`bert-base-uncased` from the Hub, or a local folder) and adds the program tokens as special
    tokens, so that they are never split or lower-cased. Resize the model's embeddings to `len(tokenizer)` after.

    Raises:
        OSError: if `name_or_path` is neither a local folder nor reachable on the Hub.
    """
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    tokenizer.add_tokens(list(program_tokens), special_tokens=True)
    if tokenizer.pad_token is None:
        # GPT-2 style tokenizers have no padding token; the attention mask makes any choice safe.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


__all__ = [
    "SPECIAL_TOKENS",
    "build_word_level_tokenizer",
    "load_tokenizer_with_programs",
    "program_token",
    "wrap_word_level_vocabulary",
]
