"""Exact or refused, where the config and the opt-in matching meet: a likely match needs evidence (every word of the
description known, a finite margin over a rival), config.json is checked at load and again at every call after an
edit, a program's declared inputs must all be given, and the build's report counts what matching runs and refuses."""

import copy
import json
import math
import re
from pathlib import Path

import pytest
import torch
from conftest import TINY_BACKBONES
from tokenizers import normalizers, pre_tokenizers

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq
from modeling_synthesizer.assembler import assemble, disassemble
from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig as ConfigClass
from modeling_synthesizer.known_programs import KnownPrograms, RunRefused, initial_memory, write_inputs
from modeling_synthesizer.pipeline_synthesizer import SubleqPipeline
from modeling_synthesizer.program_library import PROGRAMS
from modeling_synthesizer.subleq import SubleqError
from modeling_synthesizer.tokenizer import SPECIAL_TOKENS, wrap_word_level_vocabulary


ROOT = Path(__file__).resolve().parent.parent
K, L = 8, 4
param = pytest.mark.parametrize

# add: mem[2] = mem[0] + mem[1] through mem[3]; the other two only need instructions of their own.
ADD = [[0, 3, 2], [1, 3, 3], [3, 2, 4], [3, 3, 0]]
MAXIMUM = [[1, 0, 2], [0, 1, 0], [2, 2, 0], [0, 0, 0]]
SORT = [[4, 5, 2], [5, 4, 0], [6, 6, 0], [0, 0, 0]]
WORDS = ["add", "two", "numbers", "what", "is", "a", "plus", "b", "?", "find", "the", "maximum", "of", "list", "sort",
         "sum", "minimum", "divide", "by", "time", "it", "translate", "this", "sentence", "into", "french", "quickly"]


def known_programs() -> list[dict]:
    return copy.deepcopy([
        {"name": "add", "descriptions": ["add two numbers", "what is a plus b?"], "instructions": ADD,
         "memory": [0] * K, "inputs": {"a": [0, 1], "b": [1, 1]}, "outputs": {"sum": [2, 1]}},
        {"name": "maximum", "descriptions": ["find the maximum of the list"], "instructions": MAXIMUM},
        # In place: its input and output are the same cells.
        {"name": "sort", "descriptions": ["sort the list"], "instructions": SORT, "inputs": {"xs": [4, 2]},
         "outputs": {"xs": [4, 2]}},
    ])


def word_tokenizer(normalizer=None):
    """Lower-cased words and punctuation, as the program-library scripts read descriptions; any other word is [UNK]."""
    tokens = list(SPECIAL_TOKENS.values()) + [str(i) for i in range(max(K, L) + 1)] + WORDS
    return wrap_word_level_vocabulary(tokens, pre_tokenizers.BertPreTokenizer(),
                                      normalizer or normalizers.Lowercase())


class DeclaredOracle(SubleqPipeline):
    """Decodes each known description's declared instructions, with confidence 1 (a network that holds its programs:
    the pipeline refuses a known program its network does not decode as declared); its likelihoods for matching are
    still the network's."""

    def _decode(self, pairs):
        known = self.known_programs()
        declared = [known.by_name[known.exact(description).program]["instructions"] for description, _ in pairs]
        return [tuple(program[pc - 1]) for program, (_, pc) in zip(declared, pairs)], [1.0] * len(pairs)


def make_pipeline(programs=None, tokenizer=None, **config) -> SubleqPipeline:
    """An untrained tiny Synthesizer that runs its declared programs (`DeclaredOracle`): its likelihoods are
    arbitrary, so `min_margin=0` matches any description that the evidence rule lets through."""
    tokenizer = tokenizer or word_tokenizer()
    fields = dict(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)), data_memory_size=K,
                  max_program_length=L, known_programs=known_programs() if programs is None else programs)
    torch.manual_seed(0)
    model = SynthesizerForSubleq(SynthesizerConfig(**{**fields, **config})).eval()
    return DeclaredOracle(model=model, tokenizer=tokenizer, device=-1)


@pytest.fixture(scope="module")
def pipe():
    return make_pipeline()


@pytest.fixture(scope="module")
def matching():
    return make_pipeline(min_margin=0.0)


@pytest.fixture(scope="module")
def adder():
    tokenizer = word_tokenizer()
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=K, max_program_length=L, known_programs=known_programs())
    return DeclaredOracle(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)


# a likely match needs evidence


@param("description, words", [
    ("find the minimum of the list", "its word 'minimum' occurs"),
    ("divide a by b", "its words 'divide', 'by' occur"),
    ("what time is it?", "its words 'time', 'it' occur"),
    ("translate this sentence into French", "its words 'translate', 'this', 'sentence', 'into', 'French' occur"),
    ("what is the median of the list?", "its word 'median' occurs"),  # not in the tokenizer: [UNK]
    ("add two numbers [UNK]", "its word '[UNK]' occurs"),
])
def test_a_word_of_no_known_description_is_refused_by_name(pipe, matching, description, words):
    # The untrained network's best program leads by some margin >= 0: without the evidence rule, min_margin=0 runs it.
    with pytest.raises(RunRefused, match=re.escape(f"{words} in no known description")) as caught:
        pipe(description, min_margin=0)
    assert caught.value.description == description
    match = pipe.match_program(description, min_margin=0)
    assert match["how"] == "refused" and match["program"] is None
    assert match["margin"] is not None and match["margin"] >= 0  # what the margin alone would have allowed
    assert set(match["scores"]) == {"add", "maximum", "sort"}
    with pytest.raises(RunRefused, match="in no known description"):
        matching.decode_program(description)  # config.min_margin = 0


class ScoringOracle(DeclaredOracle):
    """Scores every unseen description as `favourite` says: that program leads every other by 20 nats, and the
    network gives each of its instructions probability 0.9."""

    favourite = {}

    def _score_known(self, known, descriptions):
        scores = torch.tensor([[0.0 if program["name"] == self.favourite[description] else -20.0
                                for program in known.programs] for description in descriptions])
        return scores, torch.full_like(scores, math.log(0.9))


@pytest.fixture(scope="module")
def scored():
    tokenizer = word_tokenizer()
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=K, max_program_length=L, known_programs=known_programs(),
                               min_margin=10.0, min_match_confidence=0.5)
    return ScoringOracle(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)


@param("description, program", [
    ("what is the maximum of the list?", "maximum"),
    ("sort the numbers", "sort"),
    ("find a plus b", "add"),
])
def test_a_paraphrase_of_known_words_that_name_its_program_runs_as_it(scored, description, program):
    scored.favourite = {description: program}
    match = scored.match_program(description)
    assert (match["how"], match["program"], match["margin"]) == ("likely", program, 20.0)
    inputs = {"add": {"a": 2, "b": 3}, "sort": {"xs": [2, 1]}}.get(program)
    record = scored(description, inputs=inputs, max_steps=20)
    assert (record["program"], record["margin"]) == (program, 20.0)


@param("description, program, reason", [
    # Every word of it in sort's descriptions ("the", "list") is in maximum's too: nothing names sort.
    ("what is the maximum of the list?", "sort", "each of its words that occurs in a description of its most likely "
                                                "program 'sort' also occurs in one of 'maximum'"),
    ("find the list", "add", "none of its words occurs in a description of its most likely program 'add'"),
])
def test_a_match_its_words_do_not_name_is_refused(scored, description, program, reason):
    scored.favourite = {description: program}
    with pytest.raises(RunRefused, match=re.escape(reason)) as caught:
        scored(description, max_steps=20)
    assert caught.value.margin == 20.0


def test_a_known_description_with_a_word_the_tokenizer_does_not_know_is_refused_at_indexing():
    programs = known_programs()
    programs[1]["descriptions"] = ["find the maximum of the list", "find the greatest of the list"]
    broken = make_pipeline(programs)
    with pytest.raises(ValueError, match=r"known_programs\[1\] \('maximum'\): description 'find the greatest of the "
                                         r"list' holds a word the tokenizer does not know \('greatest'\)"):
        broken("add two numbers", inputs={"a": 1, "b": 2})


@param("programs", [
    [known_programs()[0]],  # one known program
    [known_programs()[0], {**known_programs()[1], "instructions": ADD}],  # two names of one instruction list
])
def test_no_rival_is_no_evidence(programs):
    single = make_pipeline(programs)
    # Known words only, so the refusal is about the margin: over no rival it would be infinite.
    with pytest.raises(RunRefused, match="has no rival with other instructions") as caught:
        single("what is a plus two numbers", min_margin=0)
    assert caught.value.margin is None
    assert single.match_program("translate this sentence into french", min_margin=0)["how"] == "refused"
    assert single("add two numbers", inputs={"a": 1, "b": 2})["program"] == "add"  # known descriptions still run


TWO_PROGRAMS = [{"name": "p", "descriptions": ["p one"], "instructions": [[1, 0, 2], [0, 1, 0]]},
                {"name": "q", "descriptions": ["q two"], "instructions": [[0, 0, 1]]}]


def index(programs=TWO_PROGRAMS):
    return KnownPrograms(programs, tokenize=lambda text: tuple(text.split()))


@param("scores, worst, confidence, reason", [
    ([math.nan, -1.0], [-0.1, -0.1], None, "leads 'p' by only nan nats"),
    ([math.nan, math.nan], [-0.1, -0.1], None, "by only nan nats"),
    ([-1.0, -math.inf], [-0.1, -0.1], None, "by inf nats: the network gives 'q' no probability"),
    ([-1.0, -20.0], [math.nan, -0.1], 0.5, "only probability nan"),
])
def test_decide_refuses_nan_and_infinite_margins(scores, worst, confidence, reason):
    match = index().decide("one two", torch.tensor(scores), torch.tensor(worst), min_margin=1,
                           min_match_confidence=confidence)
    assert match.how == "refused" and reason in match.reason


def test_decide_refuses_a_description_without_tokens_and_an_empty_index():
    match = index().decide("   ", torch.tensor([-1.0, -9.0]), torch.tensor([-0.1, -0.1]), min_margin=1)
    assert match.how == "refused" and "it has no tokens" in match.reason
    empty = index([])
    assert (empty.can_score, empty.instruction_count()) == (False, 0)
    match = empty.decide("one", torch.tensor([]), torch.tensor([]), min_margin=1)
    assert match.how == "refused" and "it lists no known programs" in match.reason


def test_unknown_words_name_the_text_they_came_from(pipe):
    known = pipe.known_programs()
    assert known.unknown_words("Find the MINIMUM of the list, quickly!") == ["MINIMUM", ",", "quickly", "!"]
    assert known.unknown_words("find the maximum of the list") == []


# config.json: checked at load, and where the tokenizer matters, when the pipeline indexes it


def test_two_inputs_on_one_cell_are_refused_at_load(tmp_path):
    programs = known_programs()
    programs[0]["inputs"]["b"] = [0, 1]  # b on a's cell: 7 + 6 would give 12
    match = r"known_programs\[0\]\['inputs'\]: 'a' \[0, 1\] and 'b' \[0, 1\] share cell 0"
    with pytest.raises(ValueError, match=match):
        SynthesizerConfig(data_memory_size=K, max_program_length=L, known_programs=programs)
    SynthesizerConfig(data_memory_size=K, max_program_length=L, known_programs=known_programs()).save_pretrained(
        tmp_path)
    edited = json.loads((tmp_path / "config.json").read_text())
    edited["known_programs"][2]["inputs"] = {"xs": [4, 2], "ys": [5, 3]}  # overlap by one cell
    (tmp_path / "config.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match=r"known_programs\[2\]\['inputs'\]: 'xs' \[4, 2\] and 'ys' \[5, 3\] share "
                                         "cell 5"):
        SynthesizerConfig.from_pretrained(tmp_path)
    edited["known_programs"][2]["inputs"] = {"xs": [4, 2]}
    edited["output_cell"] = K
    (tmp_path / "config.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match=r"output_cell = 8 is out of range \[0, 8\)"):
        SynthesizerConfig.from_pretrained(tmp_path)


def test_a_misspelt_key_of_a_known_program_is_refused_at_load():
    programs = known_programs()
    programs[0]["input"] = programs[0].pop("inputs")  # would run as if add declared no inputs
    with pytest.raises(ValueError, match=r"known_programs\[0\] has unknown key\(s\) \['input'\]; a known program "
                                         "has name, descriptions, instructions, memory, inputs, outputs"):
        SynthesizerConfig(data_memory_size=K, max_program_length=L, known_programs=programs)


def test_an_output_may_share_cells_with_inputs():
    programs = known_programs()
    programs[0]["outputs"] = {"sum": [2, 1], "a_again": [0, 1], "both": [0, 2]}
    config = SynthesizerConfig(data_memory_size=K, max_program_length=L, known_programs=programs)
    assert config.known_programs[2]["inputs"] == config.known_programs[2]["outputs"]  # sort, in place


def test_descriptions_that_tokenize_alike_are_refused_naming_both():
    programs = known_programs()
    programs[1]["descriptions"].append("ADD TWO NUMBERS")  # distinct strings, the same tokens once lower-cased
    alike = make_pipeline(programs)
    match = (r"known_programs\[0\] \('add'\) description 'add two numbers' and known_programs\[1\] \('maximum'\) "
             r"description 'ADD TWO NUMBERS' tokenize to the same tokens")
    with pytest.raises(ValueError, match=match):
        alike("add two numbers", inputs={"a": 1, "b": 2})
    with pytest.raises(ValueError, match=match):
        alike.match_program("ADD TWO NUMBERS")


def test_a_description_that_tokenizes_to_nothing_is_refused():
    # BERT's normalizer drops control characters: "\x00" is no tokens at all.
    tokenizer = word_tokenizer(normalizers.BertNormalizer(lowercase=True))
    programs = known_programs()
    programs[2]["descriptions"].append("\x00")
    match = r"known_programs\[2\] \('sort'\): description '\\x00' tokenizes to no tokens"
    with pytest.raises(ValueError, match=match):
        make_pipeline(programs, tokenizer)("sort the list", inputs={"xs": [2, 1]})
    clean = make_pipeline(tokenizer=tokenizer)
    with pytest.raises(RunRefused, match="it has no tokens"):
        clean("\x00\x01", min_margin=0)
    with pytest.raises(RunRefused, match="not a description this checkpoint was trained on"):
        clean("\x00")


# config changed after loading: every call checks what a run reads


def set_field(name, value):
    return lambda config: setattr(config, name, value)


@param("change, error, match", [
    (set_field("min_margin", float("nan")), ValueError, "min_margin must be a number, got nan"),
    (set_field("min_match_confidence", 1.5), ValueError, "min_match_confidence must be a probability"),
    (set_field("data_memory_size", 0), ValueError, r"data_memory_size must be in \[1, 65536\], got 0"),
    (set_field("output_cell", 100), ValueError, r"output_cell = 100 is out of range \[0, 8\)"),
    (set_field("known_programs", [{"name": "add", "descriptions": []}]), ValueError,
     r"known_programs\[0\]\['descriptions'\] must be a non-empty list"),
    (lambda config: config.known_programs[0]["inputs"].__setitem__("b", [0, 1]), ValueError,
     r"known_programs\[0\]\['inputs'\]: 'a' \[0, 1\] and 'b' \[0, 1\] share cell 0"),
    (lambda config: config.known_programs[1]["instructions"].append([9, 0, 0]), ValueError,
     r"known_programs\[1\]\['instructions'\] must be a list of 1 to L = 4"),
    (lambda config: config.known_programs[0]["outputs"].__setitem__("sum", [7, 2]), ValueError,
     r"known_programs\[0\]\['outputs'\]\['sum'\] must be \[address, length\]"),
    (set_field("memory_image", [0] * (K - 1)), ValueError, "memory_image has 7 cells"),
    (lambda config: vars(config).__setitem__("data_memory_size", True), TypeError, "data_memory_size must be int"),
    (lambda config: vars(config).__setitem__("min_margin", "10"), TypeError, "min_margin must be int or float"),
    (lambda config: vars(config).__setitem__("add_special_tokens", 1), TypeError, "add_special_tokens must be bool"),
])
def test_a_config_changed_after_loading_is_checked_when_a_call_starts(change, error, match):
    runner = make_pipeline()
    assert runner("add two numbers", inputs={"a": 7, "b": 6}, max_steps=10)["program"] == "add"
    change(runner.model.config)
    with pytest.raises(error, match=match):
        runner("add two numbers", inputs={"a": 7, "b": 6}, max_steps=10)
    with pytest.raises(error, match=match):
        runner.match_program("add two numbers")
    with pytest.raises(error, match=match):
        runner.decode_program("add two numbers")


def test_the_index_follows_known_programs_edited_in_place_or_reassigned(adder):
    config = adder.model.config
    saved = copy.deepcopy(config.known_programs)
    try:
        assert adder("add two numbers", inputs={"a": 7, "b": 6})["outputs"] == {"sum": 13}
        config.known_programs[0]["descriptions"][0] = "sum two numbers"  # in place
        with pytest.raises(RunRefused, match="'add two numbers': it is not a description"):
            adder("add two numbers", inputs={"a": 7, "b": 6})
        assert adder("sum two numbers", inputs={"a": 7, "b": 6})["program"] == "add"
        config.known_programs[0]["outputs"]["sum"] = [3, 1]  # read elsewhere: the run's result follows
        assert adder("sum two numbers", inputs={"a": 7, "b": 6})["outputs"] == {"sum": 0}
        config.known_programs = [saved[1]]  # reassigned: add is gone
        with pytest.raises(RunRefused, match=r"1 known program\(s\): maximum"):
            adder("sum two numbers", inputs={"a": 7, "b": 6})
    finally:
        config.known_programs = saved
    assert adder("add two numbers", inputs={"a": 7, "b": 6})["outputs"] == {"sum": 13}


def test_check_runnable_validates_again_only_after_a_change(monkeypatch):
    config = SynthesizerConfig(data_memory_size=K, max_program_length=L, known_programs=known_programs())
    calls = []
    original = ConfigClass.validate_known_programs
    monkeypatch.setattr(ConfigClass, "validate_known_programs", lambda self: calls.append(1) or original(self))
    assert config.checked_version() is None
    versions = {config.check_runnable() for _ in range(3)}
    assert len(calls) == 1 and versions == {config.checked_version()}
    config.known_programs[0]["memory"][3] = 5  # in place, still valid
    assert config.check_runnable() == config.check_runnable() not in versions
    assert len(calls) == 2
    config.min_margin = 1  # an int for a float is a change too, and valid
    config.check_runnable()
    assert len(calls) == 3
    copy.deepcopy(config).check_runnable()  # another config object is checked on its own
    assert len(calls) == 4


# named inputs: every declared input, or an error naming the missing ones


@param("kwargs, match", [
    (dict(inputs={"a": 7}), "program 'add' needs input 'b', not given: every input the program declares"),
    (dict(inputs={}), "program 'add' needs inputs 'a', 'b', not given"),
    (dict(), r"program 'add' needs inputs 'a', 'b', not given: pass inputs=\{...\} with every one of them"),
    (dict(inputs={"b": 1}, memory=[5, 0, 0, 0, 0, 0, 0, 0]), "program 'add' needs input 'a', not given"),
])
def test_every_declared_input_must_be_given(adder, kwargs, match):
    with pytest.raises(ValueError, match=f"^{match}"):
        adder("add two numbers", **kwargs)
    with pytest.raises(ValueError, match=f"^input 1: {match}"):
        adder([{"description": "add two numbers", "inputs": {"a": 1, "b": 2}}, {"description": "add two numbers",
                                                                             **kwargs}], batch_size=2)


def test_a_memory_given_without_inputs_runs_exactly_as_given(adder):
    record = adder("add two numbers", memory=[7, 6, 100, 0, 0, 0, 0, 0])
    assert record["outputs"] == {"sum": 113} and record["memory"][:2] == [7, 6]
    assert adder("add two numbers", inputs={"a": 7, "b": 6})["outputs"] == {"sum": 13}
    # A program that declares no inputs runs on its own memory (or the default one) without any.
    assert adder("find the maximum of the list")["program"] == "maximum"


def test_initial_memory_and_write_inputs_directly():
    add = known_programs()[0]
    default = list(range(K))
    assert initial_memory(add, None, {"a": 1, "b": 2}, lambda: default)[:3] == [1, 2, 0]
    assert initial_memory(add, default, None, lambda: None) == default
    assert initial_memory(None, None, None, lambda: default) == default
    with pytest.raises(ValueError, match="runs no known program; pass memory= instead"):
        initial_memory(None, None, {"a": 1}, lambda: default)
    with pytest.raises(ValueError, match="runs 'maximum', which declares no inputs; pass memory= instead"):
        initial_memory(known_programs()[1], None, {"a": 1}, lambda: default)
    with pytest.raises(ValueError, match="needs input 'b'"):
        write_inputs(add, default, {"a": 1})


# smaller: an empty list of known programs, a disassembled jump past the program


def test_an_empty_list_of_known_programs_refuses_every_description_clearly():
    empty = make_pipeline([], min_margin=1.0)
    for kwargs in (dict(), dict(min_margin=0), dict(min_margin=0, min_match_confidence=0.5)):
        with pytest.raises(RunRefused, match=r"not a description this checkpoint was trained on \(it lists no known "
                                             r"programs\)$"):
            empty("add two numbers", **kwargs)
    assert empty.match_program("add two numbers", min_margin=0)["how"] == "refused"
    with pytest.raises(RunRefused, match="it lists no known programs"):
        empty.decode_program("add two numbers")


def test_disassemble_refuses_a_jump_past_the_program():
    with pytest.raises(SubleqError, match=r"instruction 2: operand C = 3 is out of range \[0, 2\] for a program of "
                                          "length 2"):
        disassemble([(0, 0, 2), (1, 1, 3)])
    program = [(0, 0, 2), (1, 1, 2)]  # C = L is the last instruction: a label it has
    assert assemble(disassemble(program), max_program_length=2).program == program


# the release build's report: descriptions of unknown tasks and paraphrases, counted


def words_of(text: str) -> tuple[str, ...]:
    """`text` as the program-library tokenizer reads it: lower-cased, punctuation split off."""
    return tuple(word for word, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(text.lower()))


def test_the_release_lists_unknown_tasks_and_paraphrases_of_every_program():
    from utils_program_library import PARAPHRASES, UNKNOWN_DESCRIPTIONS

    assert len(set(UNKNOWN_DESCRIPTIONS)) == len(UNKNOWN_DESCRIPTIONS) >= 20
    assert set(PARAPHRASES) == set(PROGRAMS) and all(len(set(texts)) == 4 for texts in PARAPHRASES.values())
    library = {words_of(text) for program in PROGRAMS.values() for text in program.descriptions}
    written = [text for texts in PARAPHRASES.values() for text in texts] + list(UNKNOWN_DESCRIPTIONS)
    # None is a library description as the checkpoint's tokenizer reads it, and none is written twice.
    assert not [text for text in written if words_of(text) in library]
    assert len({words_of(text) for text in written}) == len(written)


def phrasing(decision, right, inputs=4):
    refused = decision == "refused"
    return {"decision": decision, "runs_right": not refused and right, "runs_wrong": not refused and not right,
            "correct_outputs": inputs if right else 0, "inputs": inputs, "decoded_exactly": True,
            "description": f"{decision} {right}", "runs_as": None if refused else "add", "most_likely": "add",
            "margin": 3.0}


def test_release_metrics_count_paraphrases_and_unknown_tasks():
    from utils_program_library import _METRIC_TYPES, release_metrics

    report = {
        "programs": {"add": {"instructions": 3, "trained": [phrasing("exact", True)],
                             "held_out": [phrasing("likely", True), phrasing("refused", False)]}},
        "paraphrases": [{"program": "add", **phrasing(decision, right)} for decision, right in
                        [("likely", True), ("likely", False), ("refused", False), ("refused", False)]],
        "unknown": [{"description": "divide a by b", "refused": True, "runs_as": None, "most_likely": "add",
                     "margin": 1.0},
                    {"description": "a times b", "refused": False, "runs_as": "add", "most_likely": "add",
                     "margin": 12.0}],
    }
    counts = release_metrics(report)
    assert counts["paraphrases run right"] == [1, 4]
    assert counts["paraphrases refused"] == [2, 4]
    assert counts["paraphrases run wrong"] == [1, 4]
    assert counts["held-out phrasings run right"] == [1, 2]
    assert (counts["unknown descriptions refused"], counts["unknown descriptions run"]) == ([1, 2], [1, 2])
    assert set(counts) <= set(_METRIC_TYPES)
    # A report of an earlier build has no paraphrases: none counted.
    del report["paraphrases"]
    assert release_metrics(report)["paraphrases run right"] == [0, 0]


def test_bench_release_shows_paraphrases_and_still_reads_an_earlier_report():
    import release as bench_release  # bench/ is on pytest's pythonpath (pyproject.toml)
    from utils_program_library import release_metrics

    earlier = json.loads((ROOT / "bench" / "results" / "release.json").read_text())
    # A report from before paraphrases were evaluated: the committed one without them.
    earlier["report"].pop("paraphrases", None)
    earlier["metrics"] = release_metrics(earlier["report"])
    text = bench_release.markdown(earlier)
    assert "## Descriptions of no library program" in text and "## Paraphrases" not in text
    results = copy.deepcopy(earlier)
    results["report"]["paraphrases"] = [{"program": "add", **phrasing("likely", True)}]
    results["metrics"] = release_metrics(results["report"])
    text = bench_release.markdown(results)
    assert "## Paraphrases of library programs" in text
    assert "| add | likely True | likely | add | add | 3.0 | 4/4 |" in text
    assert "| paraphrases run right | 1/1 (100.0%) |" in text
