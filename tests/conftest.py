"""Shared fixtures: tiny backbone configs, offline Hub, and the checkout's paths."""

import os


# Nothing in the tests may reach the Hub; huggingface_hub reads this when it is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


TINY_BACKBONES = {
    "bert": dict(model_type="bert", vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=37),
    "gpt2": dict(model_type="gpt2", vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                 bos_token_id=1, eos_token_id=2),
    "distilbert": dict(model_type="distilbert", vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37),
    "roberta": dict(model_type="roberta", vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37),
}


@pytest.fixture
def tiny_bert_config():
    return dict(TINY_BACKBONES["bert"])
