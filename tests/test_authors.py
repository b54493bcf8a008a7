"""The authors' Experiment 1 pieces (`run_program_memorization.py`, `synthesizer_examples.authors`) do what
they claim, each against a reference computed another way."""

import json
import math
from dataclasses import asdict
from pathlib import Path

import pytest
import run_program_memorization  # examples/ and bench/ are on pytest's pythonpath (pyproject.toml)
import table1
import table1_ablation
import torch
from torch import nn
from transformers import AutoTokenizer, pipeline

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.tokenizer import load_tokenizer_with_programs, program_token
from synthesizer_examples.authors import init_heads_torch_default
from synthesizer_examples.memorization import build_random_program_dataset, make_random_programs


H, K, L = 32, 8, 12


def tiny_model(vocab_size: int = 99) -> SynthesizerForSubleq:
    backbone = dict(model_type="bert", vocab_size=vocab_size, hidden_size=H, num_hidden_layers=1,
                    num_attention_heads=4, intermediate_size=37)
    return SynthesizerForSubleq(SynthesizerConfig(text_config=backbone, data_memory_size=K, max_program_length=L))


def write_bert_vocab(folder: Path) -> list[str]:
    """A BERT-style vocabulary folder laid out as the Hub's bert-base-uncased (vocab.txt + the tokenizer class)."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [str(i) for i in range(300)] + ["run", "this"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer",
                                                              "do_lower_case": True}))
    return words


def test_tokenizer_is_the_bert_vocabulary_plus_program_tokens_last(tmp_path):
    words = write_bert_vocab(tmp_path / "bert")
    descriptions = [program_token(i) for i in range(4)]
    tokenizer = load_tokenizer_with_programs(str(tmp_path / "bert"), descriptions)
    assert len(tokenizer) == len(words) + 4
    assert tokenizer.convert_ids_to_tokens(list(range(len(words)))) == words
    assert run_program_memorization.check_program_tokens_last(tokenizer, descriptions) == 4
    # Every instruction number is one word piece, as in bert-base-uncased.
    ids = tokenizer("256 [PROG_3]", add_special_tokens=False)["input_ids"]
    assert ids == [words.index("256"), len(words) + 3]
    with pytest.raises(ValueError, match="last 2 ids"):
        run_program_memorization.check_program_tokens_last(tokenizer, descriptions[:2])


def test_new_embedding_rows_follow_the_authors_resize_embedding():
    model = tiny_model(vocab_size=99)
    before = model.get_input_embeddings().weight.detach().clone()  # [99, H]
    torch.manual_seed(7)
    run_program_memorization.init_new_embedding_rows_authors(model, 5)
    after = model.get_input_embeddings().weight.detach()
    # Reference: the authors' recipe written out with the same random stream.
    torch.manual_seed(7)
    table = torch.randn(99, H)  # nn.Embedding's standard-normal init of the whole new table
    table = table / (table.std(dim=-1).mean() / before[:94].std(dim=-1).mean())
    assert torch.equal(after[:94], before[:94]), "the existing rows are kept"
    torch.testing.assert_close(after[94:], table[94:])
    # The rescale matches the spread of the existing rows (normal(0, 0.02), the pad row zero).
    assert after[94:].std(dim=-1).mean().item() == pytest.approx(before[:94].std(dim=-1).mean().item(), rel=0.1)
    with pytest.raises(ValueError, match="num_new_tokens"):
        run_program_memorization.init_new_embedding_rows_authors(model, 99)


def test_heads_get_pytorch_default_init_with_nonzero_bias():
    model = tiny_model()
    assert all(torch.count_nonzero(head.bias) == 0 for head in (model.a_head, model.b_head, model.c_head))
    torch.manual_seed(3)
    init_heads_torch_default(model)
    bound = 1 / math.sqrt(H)
    for head in (model.a_head, model.b_head, model.c_head):
        assert head.weight.abs().max() <= bound and head.bias.abs().max() <= bound
        assert torch.count_nonzero(head.bias) == head.bias.numel()
    weights = torch.cat([model.a_head.weight, model.b_head.weight, model.c_head.weight]).detach()  # [2k + L + 1, H]
    # Uniform on +-1/sqrt(H): standard deviation bound / sqrt(3), far from normal(0, 0.02)'s.
    assert weights.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    # The same draws as the three slices of nn.Linear, in order.
    torch.manual_seed(3)
    reference = [nn.Linear(H, K), nn.Linear(H, K), nn.Linear(H, L + 1)]
    for head, linear in zip((model.a_head, model.b_head, model.c_head), reference):
        assert torch.equal(head.weight, linear.weight) and torch.equal(head.bias, linear.bias)


@pytest.mark.parametrize("c_label_range, top", [("0..L", L), ("0..L-1", L - 1)])
def test_c_labels_follow_the_range(c_label_range, top):
    programs = make_random_programs(50, L, K, seed=1, c_label_range=c_label_range)
    c_labels = {c for program in programs for _, _, c in program}
    assert c_labels == set(range(top + 1)), "every allowed C occurs, nothing outside"
    assert all(0 <= a < K and 0 <= b < K for program in programs for a, b, _ in program)
    dataset, records = build_random_program_dataset(2, L, K, seed=1, c_label_range=c_label_range)
    assert [row["labels"] for row in dataset] == [list(i) for record in records for i in record["program"]]
    assert max(row["labels"][2] for row in dataset) <= top


def test_unknown_c_label_range_is_refused():
    with pytest.raises(ValueError, match="c_label_range"):
        make_random_programs(1, L, K, seed=1, c_label_range="1..L")


def test_authors_step_count_adds_their_extra_step():
    assert run_program_memorization.authors_step_count(1008) == 1009
    assert run_program_memorization.authors_step_count(None) is None


def test_authors_recipe_is_paper_plus_the_differences_the_ablation_switches_on():
    parse = run_program_memorization.parse_args
    paper = [asdict(args) for args in parse(["--recipe", "paper"])]
    recipe = [asdict(args) for args in parse(["--recipe", "authors", "--tokenizer_name", "tok"])]
    flags = [("tok" if flag == table1_ablation.TOKENIZER else flag) for flag in table1_ablation.SETTINGS["authors"]]
    ablation = [asdict(args) for args in parse(["--recipe", "paper", *flags])]
    differs = {key: value for got, want in zip(recipe, paper) for key, value in got.items() if want[key] != value}
    assert differs.pop("recipe") == "authors"
    assert differs == {"tokenizer_name": "tok", "embedding_init": "authors", "head_init": "torch_default",
                       "c_label_range": "0..L-1"}
    for got, want in zip(recipe, ablation):
        assert {k: v for k, v in got.items() if k != "recipe"} == {k: v for k, v in want.items() if k != "recipe"}


def test_tiny_authors_recipe_run_saves_a_checkpoint_that_runs_through_the_pipeline(tmp_path):
    write_bert_vocab(tmp_path / "bert")
    output_dir = tmp_path / "run"
    results = run_program_memorization.main([
        "--recipe", "authors", "--tokenizer_name", str(tmp_path / "bert"), "--output_dir", str(output_dir),
        "--num_programs", "3", "--program_length", "8", "--data_memory_size", "8", "--hidden_size", "32",
        "--num_hidden_layers", "1", "--num_attention_heads", "2", "--intermediate_size", "64", "--learning_rate",
        "1e-2", "--dropout", "0", "--label_smoothing", "0", "--per_device_train_batch_size", "8",
        "--num_train_epochs", "200", "--save_strategy", "no", "--logging_strategy", "no", "--disable_tqdm", "true",
        "--log_level", "warning", "--seed", "0",
    ])
    assert results["final_exact_match"] == 1.0
    assert results["authors_step_count"] == results["steps_to_100"] + 1
    records = json.loads((output_dir / "programs.json").read_text())
    assert max(c for record in records for _, _, c in record["program"]) < 8, "C over [0, L)"
    model = SynthesizerForSubleq.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert len(tokenizer) == 307 + 3 and model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    run = pipeline("subleq-execution", model=model, tokenizer=tokenizer)
    memory = [(5 * i) % 7 - 3 for i in range(8)]
    for record in records:
        expected = run_subleq([tuple(x) for x in record["program"]], memory, max_steps=50)
        result = run(record["description"], memory=memory, max_steps=50)
        assert (result["memory"], result["steps"], result["halt_reason"]) == (
            expected.memory, expected.steps, expected.halt_reason)


def test_table1_md_shows_the_authors_rows_from_the_ablation(tmp_path, monkeypatch):
    monkeypatch.setattr(table1, "RESULTS", tmp_path)
    runs = [{"setting": "authors", "num_programs": 16, "seed": seed, "steps_to_100": steps, "batch_size": 204,
             "final_exact_match": 1.0, "wall_time_s": 60.0} for seed, steps in [(1, 1000), (2, None)]]
    runs.append({**runs[0], "setting": "head_init"})
    summary = {row["setting"]: row for row in table1_ablation.summarize(runs)}
    # The authors' count is ours + 1; a seed that never reached 100% leaves the setting without a mean.
    assert summary["head_init"]["authors_count_mean"] == 1001 and summary["head_init"]["ratio_to_paper"] == 0.972
    assert summary["authors"]["steps_to_100"] == [1000, None] and summary["authors"]["mean"] is None
    assert summary["authors"]["ratio_to_paper"] is None
    (tmp_path / "table1_ablation.json").write_text(json.dumps({"rows": list(summary.values())}))
    table1.write_markdown({"commands": [], "machine": "m", "rows": []})
    section = (tmp_path / "table1.md").read_text().split("## The authors' settings")[1]
    lines = [line for line in section.splitlines() if line.startswith(("| head_init", "| authors"))]
    rows = {line.split(" | ")[0][2:]: line for line in lines}
    assert list(rows) == ["head_init", "authors"]  # the table shows both settings, in the bench's order
    assert "| 1001.0 |" in rows["head_init"] and "| 0.972 |" in rows["head_init"]
    assert "1001, not reached" in rows["authors"]  # the authors' count per seed
