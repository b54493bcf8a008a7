"""Every run says what it ran: each result of a known program carries the digest of the instructions the network
decodes for it and whether they are the ones the checkpoint declares; a checkpoint whose network no longer decodes a
declared program exactly refuses that program instead of running what it decodes."""

import hashlib
import json
import random
import re

import cases
import pytest
import torch
from conftest import MEMORIZED_SHAPE, TINY_BACKBONES, run_without_package
from transformers import AutoTokenizer, pipeline

from modeling_synthesizer import SubleqError, SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.known_programs import RunRefused, first_difference, instructions_digest
from modeling_synthesizer.pipeline_synthesizer import STRATEGIES, SubleqPipeline
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


K, L, N_PROGRAMS = MEMORIZED_SHAPE
MAX_STEPS = 200
param = pytest.mark.parametrize


def load(checkpoint, **kwargs):
    model = SynthesizerForSubleq.from_pretrained(checkpoint).eval()
    return pipeline("subleq-execution", model=model, tokenizer=str(checkpoint), **kwargs)


def runnable_memory(program, seed):
    rng = random.Random(seed)
    while True:
        memory = [rng.randint(-20, 20) for _ in range(K)]
        try:
            return memory, run_subleq(program, memory, MAX_STEPS)
        except SubleqError:
            continue


def perturb_one_instruction(pipe, description):
    """
    Raise one class's bias in the A head by just enough that exactly one instruction of all known programs decodes
    otherwise (the least margin any row has against that class), so that no other instruction changes. Returns the
    instruction number within `description`'s program that now decodes otherwise, or fails if no class allows it.
    """
    programs = pipe.model.config.known_programs
    rows = [(program["descriptions"][0], pc) for program in programs for pc in range(1, L + 1)]
    with torch.no_grad():
        a_log_probs = pipe._log_probs(rows)[0]  # [rows, k]
    gaps = a_log_probs.max(-1).values[:, None] - a_log_probs  # [rows, k]: how far each class is from winning
    gaps[gaps == 0] = float("inf")  # a row's own choice cannot change to itself
    target = [i for i, (text, _) in enumerate(rows) if text == description]
    for x in range(K):
        order = gaps[:, x].argsort()
        first, second = float(gaps[order[0], x]), float(gaps[order[1], x])
        if int(order[0]) in target and second - first > 0.2:
            with torch.no_grad():
                pipe.model.a_head.bias[x] += first + (second - first) / 2
            return rows[int(order[0])][1]
    pytest.fail("no class of the A head separates one instruction of the program from all others")


@pytest.fixture(scope="module")
def pipe(memorized):
    checkpoint, _ = memorized
    return load(checkpoint, batch_size=4)


# the happy path: every trained description runs verified, with the declared program's digest


def test_the_digest_is_the_documented_hash_of_the_instructions():
    program = [list(instruction) for instruction in cases.ADD_PROGRAM]
    expected = hashlib.sha256(json.dumps(program, separators=(",", ":")).encode()).hexdigest()
    assert instructions_digest(program) == instructions_digest(cases.ADD_PROGRAM) == expected
    assert instructions_digest(cases.MULTIPLY_PROGRAM) != expected
    assert first_difference(cases.ADD_PROGRAM, program) is None
    changed = [*cases.ADD_PROGRAM[:2], (1, 3, 4), *cases.ADD_PROGRAM[3:]]
    assert first_difference(changed, program) == (3, (1, 3, 4), tuple(cases.ADD_PROGRAM[2]))


def test_every_trained_description_runs_verified_with_the_declared_digest(pipe, memorized):
    _, programs = memorized
    declared = {program["descriptions"][0]: program for program in pipe.model.config.known_programs}
    assert set(declared) == set(programs)
    digests = {}
    for strategy in STRATEGIES:
        for seed, (description, program) in enumerate(programs.items()):
            memory, expected = runnable_memory(program, seed)
            record = pipe(description, memory=memory, max_steps=MAX_STEPS, strategy=strategy)
            assert (record["memory"], record["steps"]) == (expected.memory, expected.steps)
            assert record["verified"] is True
            assert record["digest"] == instructions_digest(declared[description]["instructions"])
            assert record["digest"] == instructions_digest(program)  # the true program the checkpoint memorized
            digests.setdefault(description, set()).add(record["digest"])
    assert all(len(seen) == 1 for seen in digests.values())  # one digest per program, whatever the strategy
    assert len({next(iter(seen)) for seen in digests.values()}) == N_PROGRAMS


@param("strategy", STRATEGIES)
def test_a_batch_gives_each_input_its_own_programs_digest(pipe, memorized, strategy):
    _, programs = memorized
    descriptions = list(programs) * 3
    records = pipe([{"description": d, "memory": runnable_memory(programs[d], i)[0]} for i, d in
                    enumerate(descriptions)], max_steps=MAX_STEPS, strategy=strategy, batch_size=5)
    assert [record["digest"] for record in records] == [instructions_digest(programs[d]) for d in descriptions]
    assert all(record["verified"] for record in records)


def test_each_program_is_decoded_and_compared_once_per_config_version(memorized, monkeypatch):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    checked = []
    decode_programs = SubleqPipeline._decode_programs
    monkeypatch.setattr(pipe, "_decode_programs", lambda new: checked.append(len(new)) or decode_programs(pipe, new))
    description = next(iter(programs))
    for strategy in STRATEGIES * 2:
        pipe(description, memory=[0] * K, max_steps=5, strategy=strategy)
    assert checked == [1]
    pipe(list(programs), memory=[0] * K, max_steps=5, batch_size=N_PROGRAMS)  # the new ones in one pass
    assert checked == [1, N_PROGRAMS - 1]
    pipe.model.config.min_margin = 1.0  # a new config version: the programs are checked anew
    pipe(description, memory=[0] * K, max_steps=5)
    assert checked == [1, N_PROGRAMS - 1, 1]


# a program the network no longer decodes as declared is refused


@param("strategy", STRATEGIES)
def test_a_perturbed_head_refuses_the_program_naming_the_instruction(memorized, strategy):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    victim, *others = list(programs)
    number = perturb_one_instruction(pipe, victim)
    declared = programs[victim][number - 1]
    decoded = pipe.decode_program(victim)  # what the damaged network now holds
    assert first_difference(decoded, programs[victim]) == (number, decoded[number - 1], declared)
    assert decoded[number - 1][1:] == declared[1:] and decoded[number - 1][0] != declared[0]  # only A moved
    expected = (f"the network decodes instruction {number} of known program {victim!r} as {decoded[number - 1]} "
                f"where the checkpoint declares {declared}")
    with pytest.raises(RunRefused, match="^" + re.escape(f"refused to run {victim!r}: {expected}")) as caught:
        pipe(victim, memory=[0] * K, max_steps=MAX_STEPS, strategy=strategy)
    assert caught.value.instruction == number and caught.value.index is None
    # Refused before anything ran, in a batch too, naming the input; the other programs still run verified.
    with pytest.raises(RunRefused, match=r"^input 1: refused") as caught:
        pipe([others[0], victim], memory=[0] * K, strategy=strategy, batch_size=2)
    assert caught.value.instruction == number
    for description in others:
        memory, expected_run = runnable_memory(programs[description], 7)
        record = pipe(description, memory=memory, max_steps=MAX_STEPS, strategy=strategy)
        assert record["verified"] and record["memory"] == expected_run.memory


def test_weights_changed_after_the_check_refuse_the_run(memorized):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    victim = next(iter(programs))
    assert pipe(victim, memory=[0] * K, max_steps=MAX_STEPS, strategy="decoded")["verified"]
    number = perturb_one_instruction(pipe, victim)  # after the program was checked: the check is remembered
    with pytest.raises(RunRefused, match=rf"decoded instruction {number} of known program .* in this run but as "
                                         r".* when the program was checked") as caught:
        pipe(victim, memory=[0] * K, max_steps=MAX_STEPS, strategy="decoded")  # decodes every instruction
    assert caught.value.instruction == number


def test_a_declared_program_edited_in_place_is_refused(memorized):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    description = next(iter(programs))
    pipe(description, memory=[0] * K, max_steps=5)
    declared = pipe.model.config.known_programs[0]["instructions"]
    assert pipe.model.config.known_programs[0]["descriptions"] == [description]
    a, b, c = declared[4]
    declared[4] = [(a + 1) % K, b, c]  # the network was not trained on this
    with pytest.raises(RunRefused, match=rf"decodes instruction 5 of .* as \({a}, {b}, {c}\) where the checkpoint "
                                         rf"declares \({(a + 1) % K}, {b}, {c}\)"):
        pipe(description, memory=[0] * K, max_steps=5)


def test_the_refusal_survives_save_and_reload_as_remote_code(memorized, tmp_path):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    victim = next(iter(programs))
    number = perturb_one_instruction(pipe, victim)
    damaged = tmp_path / "damaged"
    pipe.model.save_pretrained(damaged)
    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(damaged)
    stdout = run_without_package(
        f"""
        import json
        from transformers import pipeline
        pipe = pipeline("subleq-execution", model={str(damaged)!r}, trust_remote_code=True)
        out = {{"module": type(pipe).__module__}}
        try:
            pipe({victim!r}, memory=[0] * {K}, max_steps={MAX_STEPS})
        except ValueError as error:
            out.update(kind=type(error).__name__, message=str(error), instruction=error.instruction)
        out["other"] = pipe({list(programs)[1]!r}, memory=[0] * {K}, max_steps={MAX_STEPS})
        print(json.dumps(out))
        """,
        tmp_path,
    )
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["module"].startswith("transformers_modules.")
    assert out["kind"] == "RunRefused" and out["instruction"] == number
    assert f"decodes instruction {number} of known program {victim!r} as (" in out["message"]
    assert f"where the checkpoint declares {tuple(programs[victim][number - 1])}" in out["message"]
    assert out["other"]["verified"] is True
    assert out["other"]["digest"] == instructions_digest(programs[list(programs)[1]])


# checkpoints without declared instructions keep working


def test_a_known_program_without_instructions_runs_unverified_with_the_decoded_digest(memorized):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    for program in pipe.model.config.known_programs:
        del program["instructions"]
    for strategy in STRATEGIES:
        for description in programs:
            record = pipe(description, memory=[0] * K, max_steps=MAX_STEPS, strategy=strategy)
            assert record["verified"] is False
            assert record["digest"] == instructions_digest(pipe.decode_program(description))


def test_unchecked_runs_carry_no_digest(memorized):
    checkpoint, programs = memorized
    pipe = load(checkpoint)
    description = next(iter(programs))
    record = pipe(description, memory=[0] * K, max_steps=MAX_STEPS, allow_unknown=True)
    assert "program" not in record and "digest" not in record and "verified" not in record
    pipe.model.config.known_programs = None
    assert pipe(description, memory=[0] * K, max_steps=MAX_STEPS) == record


@param("strategy", STRATEGIES)
def test_a_soft_checkpoint_still_runs_any_text(strategy):
    torch.manual_seed(0)
    tokenizer = build_word_level_tokenizer(8, ["add", "the", "two", "numbers"])
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=8, max_program_length=6)
    soft = pipeline("subleq-execution", model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer)
    description = "add the two numbers"
    record = soft(description, memory=list(range(8)), max_steps=20, strategy=strategy)
    expected = run_subleq(soft.decode_program(description), list(range(8)), 20)
    assert (record["memory"], record["steps"]) == (expected.memory, expected.steps)
    assert not {"program", "digest", "verified"} & set(record)
