"""A saved checkpoint loads with `trust_remote_code=True` in a process that cannot import this package."""

import json

import torch
from conftest import TINY_BACKBONES, run_without_package

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq


def test_remote_code_load_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    config = SynthesizerConfig(text_config=TINY_BACKBONES["bert"], data_memory_size=8, max_program_length=5)
    model = SynthesizerForSubleq(config).eval()
    checkpoint = tmp_path / "checkpoint"
    model.save_pretrained(checkpoint)
    input_ids = torch.randint(3, 99, (2, 6), generator=torch.Generator().manual_seed(2))
    expected = model(input_ids=input_ids).c_logits

    stdout = run_without_package(
        f"""
        import json, torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(checkpoint)!r}, trust_remote_code=True).eval()
        logits = model(input_ids=torch.tensor({input_ids.tolist()})).c_logits
        print(json.dumps({{"module": type(model).__module__, "logits": logits.tolist()}}))
        """,
        tmp_path,
    )
    loaded = json.loads(stdout.strip().splitlines()[-1])
    assert loaded["module"].startswith("transformers_modules.")
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected)
