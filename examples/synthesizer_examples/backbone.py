"""The backbone's config for every example script, from its model flags."""

from modeling_synthesizer.configuration_synthesizer import PAPER_BACKBONE


def backbone_config(model_args, tokenizer, **extra) -> dict:
    """
    The backbone's config as a dict (`model_type` included), sized for `tokenizer` and a script's model flags.

    Args:
        model_args: a script's model arguments: `hidden_size`, `num_hidden_layers`, `num_attention_heads`,
            `intermediate_size` and `dropout` (hidden and attention), and where the script has them `backbone_type`
            (otherwise BERT) and `max_position_embeddings` (otherwise the backbone's default).
        tokenizer: gives the vocabulary size and the padding id.
        extra: more config fields (e.g. `num_labels` for a baseline).
    """
    sizes = {name: getattr(model_args, name) for name in PAPER_BACKBONE}
    if getattr(model_args, "max_position_embeddings", None) is not None:
        sizes["max_position_embeddings"] = model_args.max_position_embeddings
    dropouts = dict.fromkeys(("hidden_dropout_prob", "attention_probs_dropout_prob"), model_args.dropout)
    return dict(model_type=getattr(model_args, "backbone_type", "bert"), vocab_size=len(tokenizer),
                pad_token_id=tokenizer.pad_token_id, **sizes, **dropouts, **extra)
