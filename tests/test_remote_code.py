"""A saved checkpoint loads with `trust_remote_code=True` in a process that cannot import this package."""

import json
import os
import subprocess
import sys
import textwrap

import torch
from conftest import TINY_BACKBONES

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq


# Blocks `import modeling_synthesizer` in the child so that only the checkpoint's own code can be used: in-process,
# the registered local class would win over `auto_map` (transformers 5, explicit local code).
BLOCK_PACKAGE = textwrap.dedent(
    """
    import sys
    class _BlockPackage:
        def find_spec(self, name, path=None, target=None):
            if name == "modeling_synthesizer" or name.startswith("modeling_synthesizer."):
                raise ImportError(f"{name} is blocked: this process has only transformers installed")
    sys.meta_path.insert(0, _BlockPackage())
    """
)


def run_without_package(code: str, tmp_path) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"))
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_PACKAGE + textwrap.dedent(code)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


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
        try:
            import modeling_synthesizer
            raise SystemExit("the package must not be importable here")
        except ImportError:
            pass
        model = AutoModel.from_pretrained({str(checkpoint)!r}, trust_remote_code=True).eval()
        logits = model(input_ids=torch.tensor({input_ids.tolist()})).c_logits
        print(json.dumps({{"module": type(model).__module__, "logits": logits.tolist()}}))
        """,
        tmp_path,
    )
    loaded = json.loads(stdout.strip().splitlines()[-1])
    assert loaded["module"].startswith("transformers_modules.")
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected)
