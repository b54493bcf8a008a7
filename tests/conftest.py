"""Shared fixtures: tiny backbone configs, offline Hub, and the checkout's paths."""

import os


# Nothing in the tests may reach the Hub; huggingface_hub reads this when it is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

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


def pytest_collection_modifyitems(config, items):
    """Skips the tests marked slow unless RUN_SLOW is set, as transformers' `@slow` does."""
    if os.environ.get("RUN_SLOW", "").lower() in ("1", "true", "yes"):
        return
    skip_slow = pytest.mark.skip(reason="trains end to end: RUN_SLOW=1 python -m pytest -q -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def tiny_bert_config():
    return dict(TINY_BACKBONES["bert"])


# Blocks `import modeling_synthesizer` (and the examples' module, and numba, the package's optional fast path) in a
# child process so that only a checkpoint's own code can be used: in-process, the registered local classes would win
# over `auto_map` (transformers 5 prefers explicit local code).
_BLOCK_PACKAGE = textwrap.dedent(
    """
    import sys
    class _BlockPackage:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("modeling_synthesizer", "synthesizer_examples", "numba"):
                raise ImportError(f"{name} is blocked: this process has only torch and transformers installed")
    sys.meta_path.insert(0, _BlockPackage())
    try:
        import modeling_synthesizer
        raise SystemExit("the package must not be importable here")
    except ImportError:
        pass
    """
)


def run_without_package(code: str, tmp_path) -> str:
    """Runs `code` in a fresh Python that cannot import this package (only transformers); returns its stdout."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"))
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_PACKAGE + textwrap.dedent(code)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# k, L, N of the `memorized` checkpoint.
MEMORIZED_SHAPE = (8, 12, 3)


@pytest.fixture(scope="session")
def memorized(tmp_path_factory):
    """A trained checkpoint (~5 s of training): 3 random programs of 12 instructions over 8 cells, memorized to
    100%. Returns (its folder, description -> true program)."""
    import run_program_memorization  # examples/ is on pytest's pythonpath (pyproject.toml)

    k, length, n_programs = MEMORIZED_SHAPE
    output_dir = tmp_path_factory.mktemp("memorized")
    results = run_program_memorization.main(
        f"--output_dir {output_dir} --num_programs {n_programs} --program_length {length} --data_memory_size {k} "
        "--hidden_size 64 --num_hidden_layers 2 --num_attention_heads 2 --intermediate_size 128 "
        "--learning_rate 3e-3 --dropout 0 --label_smoothing 0 --per_device_train_batch_size 12 "
        "--num_train_epochs 300 --save_strategy no --logging_strategy no --disable_tqdm true --report_to none "
        "--log_level warning --seed 0".split()
    )
    assert results["final_exact_match"] == 1.0, results
    records = json.loads((output_dir / "programs.json").read_text())
    programs = {record["description"]: [tuple(x) for x in record["program"]] for record in records}
    return output_dir, programs
