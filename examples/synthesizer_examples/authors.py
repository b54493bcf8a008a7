"""PyTorch's default init of the A, B and C heads: the authors' Experiment 1 head (`--head_init torch_default` of the
memorization and soft-program scripts; `run_program_memorization.py` lists the authors' other choices)."""


HEAD_INITS = ("normal", "torch_default")


def init_heads_torch_default(model) -> None:
    """
    Re-draws the A, B and C heads as PyTorch's `nn.Linear` does (weight and bias uniform in +-1/sqrt(H)): the
    distribution of the authors' single `Linear(H, 2k + L)`, which their code never re-initializes (it is per row, so
    drawing each slice with `nn.Linear.reset_parameters` gives the same distribution). Call it after the model is
    built (its `post_init` draws normal(0, initializer_range) weights and zero biases).
    """
    for head in (model.a_head, model.b_head, model.c_head):
        head.reset_parameters()
