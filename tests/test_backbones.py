"""Every backbone family a user would try: each memorizes two tiny programs, saves, and runs them from the saved folder
through the pipeline as remote code, in a process that cannot import this package.

One module-scoped fixture trains all families (about a second each on a 2-core CPU) and one child process loads them
all, so that the matrix costs one interpreter start-up.
"""

import json

import pytest
import torch
from conftest import run_without_package

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.modeling_synthesizer import is_causal
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


K, L = 8, 4  # data-memory cells and instructions of the memorized programs
DESCRIPTIONS = ["[PROG_0]", "[PROG_1]"]
# Ids of the word-level tokenizer's special tokens, given to backbones whose defaults lie outside its vocabulary.
PAD, CLS, SEP, MASK = 0, 2, 3, 4
SPECIAL_IDS = dict(bos_token_id=CLS, eos_token_id=SEP)

# Tiny configs, 2 layers of width 32. Which position pooling="auto" reads without a pooler: the first of a
# bidirectional encoder, the last of a causal model.
FAMILIES = {
    "bert": (dict(model_type="bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=64), "first"),
    "roberta": (dict(model_type="roberta", hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, **SPECIAL_IDS), "first"),
    "distilbert": (dict(model_type="distilbert", dim=32, n_layers=2, n_heads=4, hidden_dim=64), "first"),
    "electra": (dict(model_type="electra", embedding_size=32, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64), "first"),
    "deberta-v2": (dict(model_type="deberta-v2", hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64), "first"),
    "modernbert": (dict(model_type="modernbert", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=64, cls_token_id=CLS, sep_token_id=SEP,
                        mask_token_id=MASK, **SPECIAL_IDS), "first"),
    "t5": (dict(model_type="t5", d_model=32, d_ff=64, d_kv=8, num_layers=2, num_heads=4, decoder_start_token_id=PAD,
                eos_token_id=SEP), "first"),
    "bart": (dict(model_type="bart", d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                  decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
                  decoder_start_token_id=SEP, forced_eos_token_id=SEP, **SPECIAL_IDS), "first"),
    "gpt2": (dict(model_type="gpt2", n_embd=32, n_layer=2, n_head=4, n_positions=64, **SPECIAL_IDS), "last"),
    "llama": (dict(model_type="llama", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, **SPECIAL_IDS), "last"),
    "qwen2": (dict(model_type="qwen2", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, **SPECIAL_IDS), "last"),
    "mamba": (dict(model_type="mamba", hidden_size=32, num_hidden_layers=2, state_size=8, expand=2, conv_kernel=4,
                   **SPECIAL_IDS), "last"),
}
MAX_STEPS = 600


def tokenizer():
    return build_word_level_tokenizer(max(K, L), DESCRIPTIONS, model_max_length=64)


def random_programs(seed: int = 0) -> dict[str, list[tuple[int, int, int]]]:
    generator = torch.Generator().manual_seed(seed)
    programs = {}
    for description in DESCRIPTIONS:
        a, b = torch.randint(0, K, (2, L), generator=generator)
        c = torch.randint(0, L + 1, (L,), generator=generator)
        programs[description] = [(int(x), int(y), int(z)) for x, y, z in zip(a, b, c)]
    return programs


def synthesizer(family: str, programs: dict, vocab_size: int) -> SynthesizerForSubleq:
    text_config = dict(FAMILIES[family][0], vocab_size=vocab_size, pad_token_id=PAD)
    known = [{"name": description, "descriptions": [description], "instructions": [list(row) for row in program]}
             for description, program in programs.items()]
    config = SynthesizerConfig(text_config=text_config, data_memory_size=K, max_program_length=L, label_smoothing=0,
                               known_programs=known)
    return SynthesizerForSubleq(config)


def memorize(family: str, programs: dict, tokenizer) -> tuple[SynthesizerForSubleq, int]:
    """Trains until every instruction of `programs` is decoded exactly; returns the model and the steps taken."""
    torch.manual_seed(0)
    model = synthesizer(family, programs, len(tokenizer))
    config = model.config
    pairs = [(description, pc) for description in programs for pc in range(1, L + 1)]
    inputs = tokenizer([config.format_input(pc, description) for description, pc in pairs], padding=True,
                       return_tensors="pt")
    labels = torch.tensor([programs[description][pc - 1] for description, pc in pairs])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.eval()  # no dropout: a few hundred full-batch steps memorize the 8 rows
    for step in range(1, MAX_STEPS + 1):
        model(**inputs, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 10 == 0 and bool((model.predict_instructions(**inputs) == labels).all()):
            return model, step
    return model, MAX_STEPS + 1


@pytest.fixture(scope="module")
def saved_families(tmp_path_factory):
    """family -> (saved folder, steps to 100%), and the programs they memorized."""
    root = tmp_path_factory.mktemp("backbones")
    programs, words = random_programs(), tokenizer()
    saved = {}
    for family in FAMILIES:
        model, steps = memorize(family, programs, words)
        assert steps <= MAX_STEPS, f"{family} did not memorize {len(programs)} programs of {L} in {MAX_STEPS} steps"
        # Module names come from the folder's name: no hyphens.
        folder = root / family.replace("-", "_")
        model.save_pretrained(folder)
        words.save_pretrained(folder)
        saved[family] = (folder, steps)
    return saved, programs


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_auto_pooling_reads_the_first_position_of_encoders_and_the_last_of_causal_models(family):
    text_config, expected = FAMILIES[family]
    model = synthesizer(family, random_programs(), len(tokenizer())).eval()
    assert is_causal(model.config.text_config) == (expected == "last")
    assert model._auto_pooling == expected
    inputs = tokenizer()(["1 [PROG_0]", "2 [PROG_1]"], return_tensors="pt")
    with torch.no_grad():
        backbone_inputs = {name: value for name, value in inputs.items() if name in model._backbone_inputs}
        hidden = model.backbone(**backbone_inputs).last_hidden_state  # [B, T, H]
        outputs = model(**inputs)
    if family in ("bert", "roberta"):  # their pooler_output, as before
        return
    position = 0 if expected == "first" else -1
    torch.testing.assert_close(outputs.a_logits, model.a_head(hidden[:, position]))


@pytest.mark.parametrize("family", ["t5", "bart"])
def test_encoder_decoder_backbones_keep_only_their_encoder(family):
    model = synthesizer(family, random_programs(), len(tokenizer()))
    assert "encoder" in type(model.backbone).__name__.lower() or type(model.backbone).__name__ == "T5Stack"
    assert not any("decoder" in name for name, _ in model.named_parameters())


def test_every_family_runs_its_memorized_programs_from_the_saved_folder_as_remote_code(saved_families, tmp_path):
    saved, programs = saved_families
    memory = [(3 * i) % 7 - 3 for i in range(K)]
    expected = {}
    for description, program in programs.items():
        result = run_subleq(program, memory, 50)
        expected[description] = {"memory": list(result.memory), "steps": result.steps,
                                  "halt_reason": result.halt_reason}
    folders = {family: str(folder) for family, (folder, _) in saved.items()}
    stdout = run_without_package(
        f"""
        import json
        from transformers import pipeline
        ran = {{}}
        for family, folder in {folders!r}.items():
            run = pipeline("subleq-execution", model=folder, trust_remote_code=True)
            ran[family] = {{
                "module": type(run.model).__module__,
                "decoded": {{d: [list(row) for row in run.decode_program(d)] for d in {DESCRIPTIONS!r}}},
                "results": {{d: run(d, memory={memory!r}, max_steps=50) for d in {DESCRIPTIONS!r}}},
            }}
            try:
                run("[PROG_0] [PROG_1]", memory={memory!r})
                ran[family]["refused"] = None
            except ValueError as refusal:
                ran[family]["refused"] = type(refusal).__name__
        print(json.dumps(ran))
        """,
        tmp_path,
    )
    ran = json.loads(stdout.strip().splitlines()[-1])
    assert sorted(ran) == sorted(FAMILIES)
    for family, got in ran.items():
        assert got["module"].startswith("transformers_modules."), family
        assert got["decoded"] == {d: [list(row) for row in program] for d, program in programs.items()}, family
        for description, want in expected.items():
            result = got["results"][description]
            assert {name: result[name] for name in want} == want, (family, description)
            assert result["program"] == description
        assert got["refused"] == "RunRefused", family


def test_a_backbone_padding_id_outside_the_vocabulary_is_refused_naming_it():
    text_config = dict(FAMILIES["modernbert"][0], vocab_size=len(tokenizer()))
    for name in ("pad_token_id", "bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id", "mask_token_id"):
        text_config.pop(name, None)  # modernbert's defaults: 50281 to 50284
    with pytest.raises(ValueError, match=rf"pad_token_id = 50283 .*vocab_size = {len(tokenizer())}"):
        SynthesizerConfig(text_config=text_config, data_memory_size=K, max_program_length=L)
    config = SynthesizerConfig(text_config=dict(text_config, pad_token_id=PAD), data_memory_size=K,
                               max_program_length=L)
    config.text_config.pad_token_id = 50283  # edited after the config was built: refused before the model is built
    with pytest.raises(ValueError, match="pad_token_id = 50283"):
        SynthesizerForSubleq(config)
