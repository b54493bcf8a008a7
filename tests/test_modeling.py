"""SynthesizerConfig and SynthesizerForSubleq on tiny backbones: shapes, loss, backward, save/load, Auto classes."""

import pytest
import torch
from conftest import TINY_BACKBONES
from transformers import AutoConfig, AutoModel, BertConfig, BertModel

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq


K, L = 8, 5
BATCH, SEQ = 3, 7


def make_model(backbone="bert", **config_kwargs):
    torch.manual_seed(0)
    config = SynthesizerConfig(text_config=TINY_BACKBONES[backbone], data_memory_size=K, max_program_length=L,
                               **config_kwargs)
    return SynthesizerForSubleq(config).eval()


def make_inputs():
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, 99, (BATCH, SEQ), generator=generator)
    attention_mask = torch.ones(BATCH, SEQ, dtype=torch.long)
    attention_mask[0, 5:] = 0  # one padded row
    labels = torch.tensor([[1, 2, 3], [0, 0, 0], [K - 1, K - 1, L]])
    return dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)


def test_default_config_is_the_papers_backbone():
    config = SynthesizerConfig()
    text = config.text_config
    assert (text.model_type, text.num_hidden_layers, text.hidden_size, text.num_attention_heads) == ("bert", 4, 256, 4)
    assert text.intermediate_size == 1024 and text.vocab_size == 30522
    assert (config.data_memory_size, config.max_program_length, config.label_smoothing) == (256, 256, 0.05)
    assert config.get_text_config() is text
    assert config.id2label == {}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(data_memory_size=0), r"data_memory_size must be in \[1, 65536\]"),
        (dict(max_program_length=0), r"max_program_length must be in \[1, 65536\]"),
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(head_dropout=-0.1), "head_dropout"),
        (dict(pooling="max"), "pooling must be one of"),
        (dict(data_memory_size=4, memory_image=[0, 0, 0]), "memory_image has 3 cells but data_memory_size is 4"),
        (dict(data_memory_size=4, output_cell=4), r"output_cell = 4 is out of range \[0, 4\)"),
        (dict(input_template="{description}"), r"must contain \{instruction\}"),
    ],
)
def test_invalid_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthesizerConfig(**kwargs)


def test_config_accepts_integer_floats_from_json():
    assert SynthesizerConfig(label_smoothing=0, head_dropout=0).label_smoothing == 0


@pytest.mark.parametrize("backbone", sorted(TINY_BACKBONES))
def test_forward_shapes_loss_and_backward(backbone):
    model = make_model(backbone).train()
    outputs = model(**make_inputs(), output_hidden_states=True)
    assert outputs.a_logits.shape == (BATCH, K)
    assert outputs.b_logits.shape == (BATCH, K)
    assert outputs.c_logits.shape == (BATCH, L + 1)
    assert len(outputs.hidden_states) == 3  # embeddings + 2 layers
    assert outputs.loss.ndim == 0 and torch.isfinite(outputs.loss)
    outputs.loss.backward()
    assert model.a_head.weight.grad.abs().sum() > 0
    assert model.c_head.weight.grad.abs().sum() > 0
    assert model.get_input_embeddings().weight.grad.abs().sum() > 0


def test_loss_is_the_sum_of_three_smoothed_cross_entropies():
    model = make_model(label_smoothing=0.05)
    inputs = make_inputs()
    outputs = model(**inputs)
    labels = inputs["labels"]
    ce = torch.nn.functional.cross_entropy
    expected = sum(
        ce(logits, labels[:, i], label_smoothing=0.05)
        for i, logits in enumerate((outputs.a_logits, outputs.b_logits, outputs.c_logits))
    )
    torch.testing.assert_close(outputs.loss, expected)


def test_no_labels_no_loss_and_tuple_output():
    model = make_model()
    inputs = make_inputs()
    inputs.pop("labels")
    assert model(**inputs).loss is None
    as_tuple = model(**inputs, return_dict=False)
    assert len(as_tuple) == 3 and as_tuple[0].shape == (BATCH, K)


@pytest.mark.parametrize(
    "labels, match",
    [
        (torch.tensor([[1, 2]] * BATCH), r"shape \(batch_size, 3\)"),
        (torch.tensor([[K, 0, 0]] * BATCH), r"operand A = 8 is out of range \[0, 8\)"),
        (torch.tensor([[0, -1, 0]] * BATCH), r"operand B = -1 is out of range"),
        (torch.tensor([[0, 0, L + 1]] * BATCH), r"operand C = 6 is out of range \[0, 6\)"),
    ],
)
def test_bad_labels_name_the_operand(labels, match):
    inputs = make_inputs()
    inputs["labels"] = labels
    with pytest.raises(ValueError, match=match):
        make_model()(**inputs)


def test_pooling_modes_differ_and_last_ignores_padding():
    inputs = make_inputs()
    inputs.pop("labels")
    pooled = {}
    for pooling in ("pooler", "first", "last", "mean"):
        model = make_model(pooling=pooling)
        pooled[pooling] = model(**inputs).a_logits
    assert not torch.allclose(pooled["pooler"], pooled["first"])
    # "last" on a right-padded row reads position 4: changing a padding token must not change it.
    model = make_model("gpt2", pooling="last")
    before = model(**inputs).a_logits
    inputs["input_ids"][0, 6] = 7
    torch.testing.assert_close(model(**inputs).a_logits, before)


@pytest.mark.parametrize("pooling", ["pooler", "first", "last", "mean"])
def test_pooling_reads_the_documented_vector(pooling):
    model = make_model(pooling=pooling)
    inputs = make_inputs()
    inputs.pop("labels")
    mask = inputs["attention_mask"]  # row 0 is padded after position 4
    with torch.no_grad():
        backbone = model.backbone(input_ids=inputs["input_ids"], attention_mask=mask)
        hidden = backbone.last_hidden_state  # [B, T, H]
        expected = {
            "pooler": backbone.pooler_output,
            "first": hidden[:, 0],
            "last": hidden[torch.arange(BATCH), mask.sum(1) - 1],  # the last position that is not padding
            "mean": (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True),  # padding left out
        }[pooling]
        outputs = model(**inputs)
        # Eval mode: the heads read the pooled vector through an inactive dropout.
        torch.testing.assert_close(outputs.a_logits, model.a_head(expected))
        torch.testing.assert_close(outputs.c_logits, model.c_head(expected))


def test_pooler_on_a_backbone_without_one_raises():
    inputs = make_inputs()
    with pytest.raises(ValueError, match="returns no pooler_output"):
        make_model("gpt2", pooling="pooler")(**inputs)


def test_predict_instructions_is_the_argmax():
    model = make_model()
    inputs = make_inputs()
    inputs.pop("labels")
    predicted = model.predict_instructions(**inputs)
    outputs = model(**inputs)
    assert predicted.shape == (BATCH, 3)
    expected = torch.stack([outputs.a_logits.argmax(-1), outputs.b_logits.argmax(-1), outputs.c_logits.argmax(-1)], -1)
    assert torch.equal(predicted, expected)


@pytest.mark.parametrize("backbone", ["bert", "gpt2"])
def test_save_and_load_give_equal_logits(tmp_path, backbone):
    model = make_model(backbone)
    inputs = make_inputs()
    model.save_pretrained(tmp_path)
    saved = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_synthesizer.py", "modeling_synthesizer.py"} <= saved
    for loader in (SynthesizerForSubleq, AutoModel):
        reloaded = loader.from_pretrained(tmp_path).eval()
        assert type(reloaded) is SynthesizerForSubleq
        torch.testing.assert_close(reloaded(**inputs).a_logits, model(**inputs).a_logits)
        torch.testing.assert_close(reloaded(**inputs).loss, model(**inputs).loss)


def test_config_json_has_auto_map_and_nested_backbone(tmp_path):
    import json

    make_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_synthesizer.SynthesizerConfig",
        "AutoModel": "modeling_synthesizer.SynthesizerForSubleq",
    }
    assert config["model_type"] == "synthesizer" and config["text_config"]["model_type"] == "bert"
    assert isinstance(AutoConfig.from_pretrained(tmp_path), SynthesizerConfig)


def test_auto_model_from_config():
    config = SynthesizerConfig(text_config=TINY_BACKBONES["bert"], data_memory_size=K, max_program_length=L)
    assert type(AutoModel.from_config(config)) is SynthesizerForSubleq
    assert isinstance(AutoConfig.for_model("synthesizer"), SynthesizerConfig)


def test_from_backbone_keeps_the_backbone_weights(tmp_path):
    torch.manual_seed(3)
    backbone = BertModel(BertConfig(**{k: v for k, v in TINY_BACKBONES["bert"].items() if k != "model_type"}))
    backbone.save_pretrained(tmp_path)
    for source in (str(tmp_path), backbone):
        model = SynthesizerForSubleq.from_backbone(source, data_memory_size=K, max_program_length=L)
        assert model.config.data_memory_size == K and model.c_head.out_features == L + 1
        for name, tensor in backbone.state_dict().items():
            torch.testing.assert_close(model.backbone.state_dict()[name], tensor)


def test_sdpa_and_eager_attention_agree(tmp_path):
    make_model().save_pretrained(tmp_path)
    inputs = make_inputs()
    sdpa = SynthesizerForSubleq.from_pretrained(tmp_path, attn_implementation="sdpa").eval()
    eager = SynthesizerForSubleq.from_pretrained(tmp_path, attn_implementation="eager").eval()
    torch.testing.assert_close(sdpa(**inputs).b_logits, eager(**inputs).b_logits, atol=1e-5, rtol=1e-4)


def test_resize_token_embeddings_updates_the_backbone_config():
    model = make_model()
    model.resize_token_embeddings(120)
    assert model.config.text_config.vocab_size == 120
    assert model.get_input_embeddings().weight.shape[0] == 120
