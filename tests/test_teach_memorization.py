"""A memorization checkpoint is taught new random programs (`run_program_memorization.py --model_name_or_path`): the
next program tokens, random programs of its own k and L, its own programs rehearsed exactly from its
`known_programs`; old and new decode exactly, and a new one runs in a clean client as on the reference machine. Tiny
recipe (k = 256, L = 16, BERT 2 x 64): a few seconds per run."""

import json

import pytest
import run_program_memorization  # examples/ is on pytest's pythonpath (pyproject.toml)
from conftest import run_without_package
from transformers import pipeline

from modeling_synthesizer import run_subleq
from synthesizer_examples.memorization import make_random_programs


QUIET = ["--save_strategy", "no", "--logging_strategy", "no", "--disable_tqdm", "true", "--report_to", "none",
         "--log_level", "warning", "--seed", "0"]
OLD, NEW = 4, 2  # the tiny recipe's 4 programs, then 2 taught


def programs_of(folder) -> dict:
    """description -> true program, from the run's programs.json."""
    records = json.loads((folder / "programs.json").read_text())
    return {record["description"]: [tuple(x) for x in record["program"]] for record in records}


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """(the checkpoint's folder, the taught one's, the teaching run's results)."""
    work = tmp_path_factory.mktemp("teach")
    run_program_memorization.main(["--recipe", "tiny", "--output_dir", str(work / "tiny"), *QUIET])
    results = run_program_memorization.main(["--recipe", "tiny", "--model_name_or_path", str(work / "tiny"),
                                             "--num_programs", str(NEW), "--output_dir", str(work / "taught"),
                                             *QUIET])
    return work / "tiny", work / "taught", results


def test_the_new_programs_get_the_next_tokens_and_old_and_new_decode_exactly(taught):
    old_folder, folder, results = taught
    assert results["final_exact_match"] == 1.0 and results["num_programs"] == OLD + NEW
    assert (results["rehearsed_programs"], results["new_programs"]) == (OLD, ["[PROG_4]", "[PROG_5]"])
    old_config = json.loads((old_folder / "config.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert (config["data_memory_size"], config["max_program_length"]) == (256, 16)  # k and L kept
    # The old entries exactly as declared, the new ones appended.
    assert config["known_programs"][:OLD] == old_config["known_programs"]
    assert [entry["name"] for entry in config["known_programs"]] == [f"[PROG_{i}]" for i in range(OLD + NEW)]
    # Drawn by the script's one generator: taught with the seed it was built with, the checkpoint gets the programs
    # a run of 6 would have drawn after its 4.
    drawn = make_random_programs(OLD + NEW, 16, 256, seed=0)
    programs = programs_of(folder)
    assert [programs[f"[PROG_{i}]"] for i in range(OLD + NEW)] == drawn
    assert programs_of(old_folder) == {f"[PROG_{i}]": drawn[i] for i in range(OLD)}
    pipe = pipeline("subleq-execution", model=str(folder), trust_remote_code=True)
    for entry in config["known_programs"]:
        assert pipe.decode_program(entry["name"]) == [tuple(x) for x in entry["instructions"]], entry["name"]
    # The tokenizer keeps the old ids and has one more row per new token.
    assert pipe.tokenizer.convert_tokens_to_ids(["[PROG_4]", "[PROG_5]"]) == [len(pipe.tokenizer) - 2,
                                                                           len(pipe.tokenizer) - 1]
    assert config["text_config"]["vocab_size"] == old_config["text_config"]["vocab_size"] + NEW


def test_a_new_program_runs_in_a_clean_client_as_on_the_reference_machine(taught, tmp_path):
    _, folder, _ = taught
    program = programs_of(folder)["[PROG_5]"]
    memory = [(5 * i) % 11 - 5 for i in range(256)]
    printed = run_without_package(f"""
        import json
        from transformers import pipeline
        run = pipeline("subleq-execution", model={str(folder)!r}, trust_remote_code=True)
        result = run("[PROG_5]", memory={memory!r}, max_steps=50)
        print(json.dumps([result["memory"], result["steps"], result["halt_reason"], result["verified"]]))
    """, tmp_path)
    expected = run_subleq(program, memory, max_steps=50)
    assert json.loads(printed) == [list(expected.memory), expected.steps, expected.halt_reason, True]


def test_a_taught_checkpoint_that_is_not_exact_exits_1_and_pushes_nothing(taught, tmp_path, monkeypatch):
    old_folder, _, _ = taught
    pushed = []
    monkeypatch.setattr(run_program_memorization, "push_saved", lambda *args: pushed.append(args))
    results = run_program_memorization.main(["--recipe", "tiny", "--model_name_or_path", str(old_folder),
                                             "--num_programs", "1", "--output_dir", str(tmp_path / "short"),
                                             "--max_steps", "1", *QUIET])
    status, line = run_program_memorization.outcome(results)
    assert status == 1 and line.startswith("stopped at step 1 below 100%")
    assert pushed == []
    # A run that is exact reaches the push (which uploads only with --push_to_hub).
    run_program_memorization.main(["--recipe", "tiny", "--model_name_or_path", str(old_folder), "--num_programs",
                                   "1", "--output_dir", str(tmp_path / "exact"), *QUIET])
    assert len(pushed) == 1
