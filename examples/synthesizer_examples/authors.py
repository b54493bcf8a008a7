"""The authors' Experiment 1 choices that differ from this package's defaults, one function each, so that each can be
switched on alone (`run_program_memorization.py --recipe authors`, `bench/table1_ablation.py`).

Read from the authors' public code (`mtanghu/Rethinking-Neural-Computation`, `Synthesizer.py` and the Experiment 1
cells of `Experiments.ipynb`):

- vocabulary: bert-base-uncased's 30,522 word pieces plus one new token per program, whose embedding rows are drawn
  from a fresh standard-normal table rescaled so that its mean row spread matches the existing rows' (their
  `resize_embedding`); `str(i)` is one word piece for every instruction number here (0..256);
- head: one `Linear(H, 2k + L)` on BERT's pooled output, never re-initialized, so it keeps PyTorch's default init:
  weight and bias uniform in +-1/sqrt(H). Our three heads are its three slices; the init is per row, so drawing each
  head with `nn.Linear.reset_parameters` gives the same distribution;
- C labels: uniform over [0, L) (their instructions are numbered from 0). Our instructions are numbered 1..L with
  0 = HALT and the C head keeps its L + 1 classes: under this range C = L (a jump to the last instruction) is never a
  label, and the extra class only ever learns to lose (`memorization.make_random_programs(...,
  c_label_range="0..L-1")`);
- stopping: their callback stops at the start of the epoch after the first 100% evaluation, after one more optimizer
  step, so their count is ours + 1 (`authors_step_count`).

Everything else of Experiment 1 is already this package's `paper` defaults: BERT 4 x 256 with dropout 0.1 and absolute
positions (their config's `postion_embedding_type` is misspelt, so BERT ignores it), input `[C_t token, program
token]` with no [CLS]/[SEP], BERT's pooler, the sum of three cross-entropies with label smoothing 0.05, AdamW lr 1e-3
with weight decay 0 and linear decay over 250 epochs without warm-up, gradient clipping at 1.0, batch floor(N L / 20),
evaluation on the training set once per epoch, stop at 100% of all three operands.
"""

import torch


HEAD_INITS = ("normal", "torch_default")
EMBEDDING_INITS = ("normal", "authors")


def init_heads_torch_default(model) -> None:
    """
    Re-draws the A, B and C heads as PyTorch's `nn.Linear` does (weight and bias uniform in +-1/sqrt(H)): the
    distribution of the authors' single `Linear(H, 2k + L)`, which their code never re-initializes. Call it after
    the model is built (its `post_init` draws normal(0, initializer_range) weights and zero biases).
    """
    for head in (model.a_head, model.b_head, model.c_head):
        head.reset_parameters()


@torch.no_grad()
def init_new_embedding_rows_authors(model, num_new_tokens: int) -> None:
    """
    The authors' `resize_embedding` init of the last `num_new_tokens` rows of the input embeddings (the program
    tokens): a fresh standard-normal table of the full size, scaled by (mean row std of the existing rows) / (mean
    row std of the fresh table); its last rows replace the model's. The existing rows are left as they are.

    Raises:
        ValueError: if `num_new_tokens` is not in [1, vocabulary size).
    """
    weight = model.get_input_embeddings().weight  # [V, H]
    old_size = weight.shape[0] - num_new_tokens
    if not 0 < old_size < weight.shape[0]:
        raise ValueError(f"num_new_tokens must be in [1, {weight.shape[0]}), got {num_new_tokens}")
    fresh = torch.randn(weight.shape, dtype=weight.dtype, device=weight.device)  # [V, H], nn.Embedding's init
    scale = weight[:old_size].std(dim=-1).mean() / fresh.std(dim=-1).mean()
    weight[old_size:] = fresh[old_size:] * scale


def authors_step_count(steps_to_100: int | None) -> int | None:
    """The authors' count for a run that reached 100% at optimizer step `steps_to_100` (see the module docstring)."""
    return None if steps_to_100 is None else steps_to_100 + 1


def check_program_tokens_last(tokenizer, descriptions: list[str]) -> int:
    """The number of program tokens, after checking they are the tokenizer's last ids (the rows the authors' init
    draws). Raises `ValueError` otherwise."""
    ids = tokenizer.convert_tokens_to_ids(list(descriptions))
    expected = list(range(len(tokenizer) - len(descriptions), len(tokenizer)))
    if ids != expected:
        raise ValueError(f"the program tokens must be the tokenizer's last {len(descriptions)} ids, got {ids[:5]}...")
    return len(descriptions)
