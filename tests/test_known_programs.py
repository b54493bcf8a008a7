"""Exact or refused: the pipeline runs only descriptions of programs the checkpoint knows (or, with `min_margin`, the
known program an unseen phrasing most likely names), and refuses an instruction below `min_confidence`."""

import pickle
import random

import pytest
import torch
from conftest import MEMORIZED_SHAPE, TINY_BACKBONES, run_without_package
from transformers import pipeline

from modeling_synthesizer import SubleqError, SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.known_programs import KnownPrograms, RunRefused
from modeling_synthesizer.pipeline_synthesizer import STRATEGIES, SubleqPipeline
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


K, L, N_PROGRAMS = MEMORIZED_SHAPE
MAX_STEPS = 200
UNKNOWN = ["[PROG_9]", "hello world", "\N{GRINNING FACE}", "{description}", "[PROG_0] [PROG_1]"]
# Unseen descriptions made only of tokens of known descriptions: likelihood matching may run them.
KNOWN_TOKENS_ONLY = ["[PROG_0] [PROG_1]", "[PROG_2] [PROG_0]", "[PROG_1] [PROG_1] [PROG_2]"]
param = pytest.mark.parametrize


def known_pipeline(checkpoint, programs, **kwargs):
    """The checkpoint with `known_programs` listing its true programs."""
    model = SynthesizerForSubleq.from_pretrained(checkpoint)
    model.config.known_programs = [
        {"name": f"program {i}", "descriptions": [description], "instructions": [list(x) for x in program]}
        for i, (description, program) in enumerate(programs.items())
    ]
    return pipeline("subleq-execution", model=model, tokenizer=str(checkpoint), **kwargs)


@pytest.fixture(scope="module")
def pipe(memorized):
    return known_pipeline(*memorized, batch_size=8)


def runnable_memory(program, seed):
    rng = random.Random(seed)
    while True:
        memory = [rng.randint(-20, 20) for _ in range(K)]
        try:
            return memory, run_subleq(program, memory, MAX_STEPS, return_trace=True)
        except SubleqError:
            continue


# known descriptions run, unknown ones are refused


@param("strategy", STRATEGIES)
def test_known_descriptions_run_and_name_their_program(pipe, memorized, strategy):
    _, programs = memorized
    for i, (description, program) in enumerate(programs.items()):
        memory, expected = runnable_memory(program, i)
        # The tokenizer's view decides: surrounding spaces do not make a description unknown.
        record = pipe(f"  {description} ", memory=memory, max_steps=MAX_STEPS, strategy=strategy)
        assert (record["memory"], record["steps"]) == (expected.memory, expected.steps)
        assert (record["program"], record["margin"]) == (f"program {i}", None)


@param("description", UNKNOWN)
@param("strategy", STRATEGIES)
def test_unknown_descriptions_are_refused(pipe, description, strategy):
    with pytest.raises(RunRefused, match="not a description this checkpoint was trained on") as caught:
        pipe(description, strategy=strategy)
    assert caught.value.description == description and caught.value.index is None
    assert isinstance(caught.value, ValueError)
    with pytest.raises(RunRefused):
        pipe.decode_program(description)


def test_a_refusal_in_a_batch_names_the_input(pipe, memorized):
    _, programs = memorized
    known = next(iter(programs))
    with pytest.raises(RunRefused, match=r"^input 2: refused to run 'hello world'") as caught:
        pipe([known, known, "hello world", known])
    assert caught.value.index == 2
    assert pickle.loads(pickle.dumps(caught.value)).args == caught.value.args


def test_allow_unknown_runs_the_description_as_given(pipe, memorized):
    checkpoint, programs = memorized
    raw = known_pipeline(checkpoint, programs)
    raw.model.config.known_programs = None
    for description in UNKNOWN:
        expected = raw(description, max_steps=MAX_STEPS)
        assert pipe(description, max_steps=MAX_STEPS, allow_unknown=True) == expected
        assert pipe.decode_program(description, allow_unknown=True) == raw.decode_program(description)
    assert pipe.match_program("hello world")["how"] == "refused"


def test_a_checkpoint_without_known_programs_runs_any_text(memorized):
    checkpoint, _ = memorized
    model = SynthesizerForSubleq.from_pretrained(checkpoint)
    model.config.known_programs = None
    raw = pipeline("subleq-execution", model=model, tokenizer=str(checkpoint))
    record = raw("hello world", max_steps=5)
    assert "program" not in record and record["steps"] <= 5
    assert raw.match_program("hello world")["how"] == "unchecked"


# matching an unseen description by likelihood


def test_likely_match_runs_the_known_program_exactly(pipe, memorized):
    _, programs = memorized
    names = {f"program {i}": program for i, program in enumerate(programs.values())}
    for description in KNOWN_TOKENS_ONLY:
        match = pipe.match_program(description, min_margin=0)
        assert match["how"] == "likely" and match["margin"] >= 0
        scores = list(match["scores"].values())
        assert scores == sorted(scores, reverse=True) and match["program"] == next(iter(match["scores"]))
        assert match["margin"] == pytest.approx(scores[0] - scores[1], abs=2e-3)
        # Whatever it matched, it runs that known program's memorized instructions: exact for that program.
        memory, expected = runnable_memory(names[match["program"]], 3)
        record = pipe(description, memory=memory, max_steps=MAX_STEPS, min_margin=0)
        assert (record["memory"], record["steps"]) == (expected.memory, expected.steps)
        assert record["program"] == match["program"] and record["margin"] == pytest.approx(match["margin"])
        # A margin above the lead refuses, and the refusal says by how much it led.
        with pytest.raises(RunRefused, match="leads .* by only") as caught:
            pipe(description, min_margin=match["margin"] + 1)
        assert caught.value.margin == pytest.approx(match["margin"])


def test_a_known_description_scores_its_own_program_highest(pipe, memorized):
    _, programs = memorized
    known = pipe.known_programs()
    for i, description in enumerate(programs):
        length = known.instruction_count()
        log_probs = [head.view(1, length, -1) for head in
                     pipe._log_probs([(description, pc) for pc in range(1, length + 1)])]
        scores, _ = known.log_likelihoods(*log_probs)
        assert int(scores[0].argmax()) == i


def test_log_likelihood_sums_the_three_heads_over_the_instructions():
    programs = [{"name": "p", "descriptions": ["p"], "instructions": [[1, 0, 2], [0, 1, 0]]},
                {"name": "q", "descriptions": ["q"], "instructions": [[0, 0, 1]]}]
    known = KnownPrograms(programs, tokenize=lambda text: tuple(text.split()))
    a = torch.log(torch.tensor([[[0.25, 0.75], [0.5, 0.5]]]))  # [D=1, L=2, k=2]
    b = torch.log(torch.tensor([[[0.9, 0.1], [0.2, 0.8]]]))
    c = torch.log(torch.tensor([[[0.1, 0.3, 0.6], [0.7, 0.2, 0.1]]]))
    scores, worst = known.log_likelihoods(a, b, c)
    p = 0.75 * 0.9 * 0.6 * 0.5 * 0.8 * 0.7
    q = 0.25 * 0.9 * 0.3
    assert torch.allclose(scores.exp(), torch.tensor([[p, q]]))
    assert torch.allclose(worst.exp(), torch.tensor([[min(0.75 * 0.9 * 0.6, 0.5 * 0.8 * 0.7), q]]))
    match = known.decide("q p", scores[0], worst[0], min_margin=0.5)
    assert (match.program, match.run_as) == ("p", "p")
    assert match.margin == pytest.approx(float(scores[0, 0] - scores[0, 1]))
    assert known.decide("q p", scores[0], worst[0], min_margin=10).how == "refused"
    # The least likely instruction of p has probability 0.28: a floor above it refuses, one below it does not.
    refused = known.decide("q p", scores[0], worst[0], min_margin=0.5, min_match_confidence=0.3)
    assert refused.how == "refused" and "only probability 0.28 (min_match_confidence = 0.3)" in refused.reason
    assert known.decide("q p", scores[0], worst[0], min_margin=0.5, min_match_confidence=0.25).program == "p"


def test_programs_with_equal_instructions_are_one_candidate():
    # Summing 8 numbers and counting 8 bits can be one instruction list: the margin is over other instructions.
    same = [[1, 0, 2], [0, 1, 0]]
    programs = [{"name": "count", "descriptions": ["c"], "instructions": same},
                {"name": "sum", "descriptions": ["s"], "instructions": same},
                {"name": "other", "descriptions": ["o"], "instructions": [[0, 0, 1], [0, 0, 0]]}]
    known = KnownPrograms(programs, tokenize=lambda text: tuple(text.split()))
    scores, worst = torch.tensor([-2.0, -2.0, -9.0]), torch.tensor([-1.0, -1.0, -5.0])
    match = known.decide("s", scores, worst, min_margin=5)
    # It runs as the one of the two its words name (and so with that one's inputs and outputs).
    assert (match.how, match.program, match.run_as, match.margin) == ("likely", "sum", "s", 7.0)
    assert known.decide("c", scores, worst, min_margin=5).program == "count"
    both = known.decide("s c", scores, worst, min_margin=5)
    assert both.how == "refused" and "its words name 'count' and 'sum'" in both.reason


# confidence and min_confidence


def confidences_of(pipe, description, memory):
    record = pipe(description, memory=memory, max_steps=MAX_STEPS, return_trace=True)
    return [(step["instruction"], step["confidence"]) for step in record["trace"]]


@param("strategy", STRATEGIES)
def test_min_confidence_refuses_the_first_unsure_instruction_a_run_reaches(pipe, memorized, strategy):
    _, programs = memorized
    description, program = next(iter(programs.items()))
    memory, expected = runnable_memory(program, 5)
    executed = confidences_of(pipe, description, memory)
    assert all(0 < confidence <= 1 for _, confidence in executed)
    lowest = min(confidence for _, confidence in executed)
    # Just below the lowest executed confidence the run goes through; just above it, it is refused at the first
    # executed instruction below the threshold. (Not at exactly `lowest`: a confidence may differ in its last float
    # bits between forward passes of different batch shapes.)
    record = pipe(description, memory=memory, max_steps=MAX_STEPS, min_confidence=lowest * 0.999, strategy=strategy)
    assert record["memory"] == expected.memory
    threshold = lowest * 1.001
    if threshold > 1:
        pytest.skip("the run's least sure instruction has confidence 1.0")
    first = next(pc for pc, confidence in executed if confidence < threshold)
    with pytest.raises(RunRefused, match=f"instruction {first} would run with confidence") as caught:
        pipe(description, memory=memory, max_steps=MAX_STEPS, min_confidence=threshold, strategy=strategy)
    assert (caught.value.instruction, caught.value.description) == (first, description)
    assert caught.value.confidence < threshold


class UnsureOracle(SubleqPipeline):
    """Decodes the true program, with a chosen confidence per instruction number."""

    program, confidence = None, None

    def _decode(self, pairs):
        return ([tuple(self.program[pc - 1]) for _, pc in pairs],
                [self.confidence.get(pc, 1.0) for _, pc in pairs])


@param("strategy", STRATEGIES)
def test_an_unsure_instruction_that_never_runs_refuses_nothing(strategy):
    # mem[2] = mem[0] + mem[1] through mem[3] = 0, then HALT at instruction 4; instruction 5 is never reached.
    program = [(0, 3, 2), (1, 3, 3), (3, 2, 4), (3, 3, 0), (0, 0, 0)]
    tokenizer = build_word_level_tokenizer(8, ["[PROG_0]"])
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=8, max_program_length=len(program), add_special_tokens=False)
    oracle = UnsureOracle(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)
    oracle.program, oracle.confidence = program, {5: 0.1}
    memories = [[5, 7, 0, 0, 0, 0, 0, 0], [1, 2, 0, 0, 0, 0, 0, 0]] * 5  # 10 inputs >= L: decoded whole in lazy
    records = oracle([{"description": "[PROG_0]", "memory": m} for m in memories], min_confidence=0.5,
                     strategy=strategy, batch_size=10)
    assert [record["memory"][2] for record in records] == [12, 3] * 5
    oracle.confidence = {3: 0.1}
    refusal = "^input 0: .*instruction 3 would run with confidence 0.1 < min_confidence 0.5"
    with pytest.raises(RunRefused, match=refusal):
        oracle([{"description": "[PROG_0]", "memory": m} for m in memories], min_confidence=0.5,
               strategy=strategy, batch_size=10)


@param("kwargs", [{"min_confidence": 1.5}, {"min_confidence": -0.1}, {"min_confidence": "high"},
                  {"min_confidence": True}, {"min_margin": -1}, {"min_margin": float("nan")}])
def test_bad_thresholds_are_value_errors(pipe, memorized, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        pipe(next(iter(memorized[1])), **kwargs)


def test_a_saved_checkpoint_refuses_in_remote_code(pipe, memorized, tmp_path):
    _, programs = memorized
    saved = tmp_path / "saved"
    pipe.save_pretrained(saved)
    known = next(iter(programs))
    stdout = run_without_package(
        f"""
        from transformers import pipeline
        pipe = pipeline(model={str(saved)!r}, trust_remote_code=True)
        print(pipe({known!r}, max_steps=5)["program"])
        try:
            pipe("hello world")
        except ValueError as error:
            print(type(error).__name__, error)
        """,
        tmp_path,
    )
    assert stdout.splitlines()[0] == "program 0"
    assert stdout.splitlines()[1].startswith("RunRefused refused to run 'hello world': it is not a description")


# named inputs and outputs of a known program


ADD = [(0, 3, 2), (1, 3, 3), (3, 2, 4), (3, 3, 0)]  # mem[2] = mem[0] + mem[1], through mem[3] = 0


@pytest.fixture(scope="module")
def adder():
    tokenizer = build_word_level_tokenizer(8, ["[PROG_0]", "[PROG_1]"])
    known = [{"name": "add", "descriptions": ["[PROG_0]"], "instructions": [list(x) for x in ADD],
              "memory": [2, 3, 0, 0, 0, 0, 0, 0], "inputs": {"a": [0, 1], "b": [1, 1]}, "outputs": {"sum": [2, 1]}},
             {"name": "raw", "descriptions": ["[PROG_1]"]}]
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=8, max_program_length=len(ADD), add_special_tokens=False,
                               known_programs=known)
    oracle = UnsureOracle(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)
    oracle.program, oracle.confidence = ADD, {}
    return oracle


@param("strategy", STRATEGIES)
def test_named_inputs_and_outputs(adder, strategy):
    record = adder("[PROG_0]", inputs={"a": 7, "b": 6}, strategy=strategy)
    assert record["outputs"] == {"sum": 13} and record["program"] == "add"
    # An input dict's inputs win over the call's.
    records = adder([{"description": "[PROG_0]", "inputs": {"a": -4, "b": 3}}, "[PROG_0]"], inputs={"a": 2, "b": 10},
                    strategy=strategy, batch_size=2)
    assert [r["outputs"]["sum"] for r in records] == [-1, 12]
    # Named inputs go into a memory the caller gives, too; a memory without inputs runs exactly as given.
    assert adder("[PROG_0]", memory=[1, 1, 0, 0, 0, 0, 0, 0], inputs={"a": 2, "b": [5]})["outputs"] == {"sum": 7}
    assert adder("[PROG_0]", memory=[1, 5, 0, 0, 0, 0, 0, 0], strategy=strategy)["outputs"] == {"sum": 6}


@param("inputs, error, match", [
    ({"c": 1}, ValueError, r"program 'add' has no input 'c'; its inputs are \['a', 'b'\]"),
    ({"a": [1, 2]}, ValueError, "input 'a' of program 'add' takes 1 value"),
    ({"a": 2 ** 70}, ValueError, r"inputs\['a'\]\[0\] = .* is out of the int64 range"),
    ({"a": "7"}, TypeError, r"inputs\['a'\]"),
    ({"a": 1.5}, TypeError, r"inputs\['a'\]"),
    ("a=7", TypeError, "inputs must be a dict"),
])
def test_bad_named_inputs(adder, inputs, error, match):
    with pytest.raises(error, match=match):
        adder("[PROG_0]", inputs=inputs)
    with pytest.raises(error, match="^input 1: "):
        adder([{"description": "[PROG_0]", "inputs": {"a": 1, "b": 2}}, {"description": "[PROG_0]", "inputs": inputs}],
              batch_size=2)


def test_named_inputs_need_a_program_that_declares_them(adder):
    with pytest.raises(ValueError, match="runs 'raw', which declares no inputs; pass memory= instead"):
        adder("[PROG_1]", inputs={"a": 1})
    with pytest.raises(ValueError, match="runs no known program; pass memory= instead"):
        adder("[PROG_0] [PROG_1]", inputs={"a": 1}, allow_unknown=True)
