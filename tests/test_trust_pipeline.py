"""The pipeline's trust under load: an error names the input it is about whatever the workers, batches and streams;
memory stays bounded however large k and L, a description or a batch size are; `None` in an input dict means "not
given"; flags are real bools."""

import gc
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import TINY_BACKBONES
from transformers import pipeline

import modeling_synthesizer.pipeline_synthesizer as pipeline_module
from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq, execution, run_subleq
from modeling_synthesizer.known_programs import RunRefused
from modeling_synthesizer.pipeline_synthesizer import STRATEGIES, SubleqPipeline
from modeling_synthesizer.subleq import INT64_MAX, SubleqError, SubleqTypeError
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


param = pytest.mark.parametrize
DESCRIPTIONS = ["[PROG_0]", "[PROG_1]", "[PROG_2]"]


def tiny_pipeline(k=4, length=3, seed=0, cls=SubleqPipeline, **config_kwargs):
    """An untrained tiny Synthesizer's pipeline (k cells, L instructions): what it decodes is arbitrary but fixed."""
    tokenizer = build_word_level_tokenizer(max(k, length), DESCRIPTIONS)
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=k, max_program_length=length, add_special_tokens=False,
                               **config_kwargs)
    torch.manual_seed(seed)
    return declare_what_it_decodes(cls(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1))


def declare_what_it_decodes(pipe):
    """Sets each known program's `instructions` (as many as given) to what the network decodes for its first
    description: the pipeline refuses a known program its network does not decode as declared."""
    for program in pipe.model.config.known_programs or ():
        if program.get("instructions"):
            decoded = pipe.decode_program(program["descriptions"][0], allow_unknown=True)
            program["instructions"] = [list(instruction) for instruction in decoded[: len(program["instructions"])]]
    return pipe


class FixedProgramPipeline(SubleqPipeline):
    """Decodes `program` for every description, so that a test picks the memories that overflow."""

    program = [(1, 0, 0)]  # mem[0] -= mem[1], halt: overflows on [INT64_MAX, -1]

    def _decode(self, pairs):
        return [tuple(self.program[pc - 1]) for _, pc in pairs], [1.0] * len(pairs)


SAFE, OVERFLOWING = [0, 0], [INT64_MAX, -1]


@pytest.fixture(scope="module")
def fixed():
    return tiny_pipeline(k=2, length=1, cls=FixedProgramPipeline)


@pytest.fixture(scope="module")
def known():
    """Two known programs with other instructions: `[PROG_2]` and anything else unseen is refused."""
    return tiny_pipeline(known_programs=[
        {"name": "p0", "descriptions": ["[PROG_0]"], "instructions": [[0, 1, 0]]},
        {"name": "p1", "descriptions": ["[PROG_1]"], "instructions": [[1, 0, 2], [2, 2, 0]]},
    ])


# Section: an error names the right input, per call and per stream.

CALL_FORMS = [
    pytest.param(dict(), id="list"),
    pytest.param(dict(num_workers=2), id="list-2-workers"),
    pytest.param(dict(batch_size=3), id="list-batch-3"),
    pytest.param(dict(num_workers=2, batch_size=3), id="list-2-workers-batch-3"),
    pytest.param(dict(stream=True), id="generator"),
    pytest.param(dict(stream=True, num_workers=2), id="generator-2-workers"),
    pytest.param(dict(stream=True, batch_size=4), id="generator-batch-4"),
]


def call(pipe, inputs, stream=False, **kwargs):
    """Every result of `pipe` on `inputs` (a list, or a generator of it), as a list."""
    try:
        return list(pipe((item for item in inputs) if stream else inputs, **kwargs))
    except Exception as error:
        # A copy, without the tracebacks (its own and its context's) whose frames hold the call's DataLoader: freed
        # now, its workers stop at once; freed in a later test, shutting them down waits 5 s for each.
        copy = pickle.loads(pickle.dumps(error))
    gc.collect()
    raise copy


@param("form", CALL_FORMS)
def test_a_refusal_names_its_input_with_workers_batches_and_streams(known, form):
    inputs = ["[PROG_0]"] * 9 + ["[PROG_2]", "[PROG_1]"]
    with pytest.raises(RunRefused, match=r"^input 9: refused to run '\[PROG_2\]'") as caught:
        call(known, inputs, max_steps=5, **form)
    assert caught.value.index == 9


@param("form", CALL_FORMS)
@param("strategy", STRATEGIES)
def test_an_overflow_names_its_input_with_workers_batches_and_streams(fixed, form, strategy):
    memories = [SAFE] * 9 + [OVERFLOWING, SAFE]
    inputs = [{"description": "[PROG_0]", "memory": memory} for memory in memories]
    with pytest.raises(SubleqError, match=r"^input 9: instruction 1: int64 overflow") as caught:
        call(fixed, inputs, max_steps=5, strategy=strategy, **form)
    assert (caught.value.index, caught.value.index_name) == (9, "input")


@param("form", CALL_FORMS)
def test_bad_input_names_its_input_with_workers_batches_and_streams(known, form):
    inputs = [{"description": "[PROG_0]", "memory": [0] * 4}] * 6 + [{"description": "[PROG_0]", "memory": [0] * 3}]
    # A worker's error comes back as the same type, its message after the worker's traceback.
    with pytest.raises(ValueError, match=r"input 6: memory has 3 cells"):
        call(known, inputs, max_steps=5, **form)


@param("batch_size", [1, 2])
def test_interleaved_streams_on_one_pipeline_each_count_their_own_inputs(fixed, batch_size):
    def stream(bad):
        return ({"description": "[PROG_0]", "memory": OVERFLOWING if i == bad else SAFE} for i in range(8))

    first = iter(fixed(stream(5), max_steps=5, batch_size=batch_size))
    second = iter(fixed(stream(3), max_steps=5, batch_size=batch_size))
    next(first), next(second), next(second), next(first)  # both streams started, read in turns
    with pytest.raises(SubleqError, match=r"^input 3: ") as caught:
        list(second)
    assert caught.value.index == 3
    with pytest.raises(SubleqError, match=r"^input 5: ") as caught:
        list(first)
    assert caught.value.index == 5
    # A later call starts counting at 0 again, and a single input is named by no position.
    with pytest.raises(SubleqError, match=r"^input 0: "):
        fixed([{"description": "[PROG_0]", "memory": OVERFLOWING}], max_steps=5)
    with pytest.raises(SubleqError, match=r"^instruction 1: ") as caught:
        fixed({"description": "[PROG_0]", "memory": OVERFLOWING}, max_steps=5)
    assert caught.value.index is None


def test_the_pipeline_keeps_no_state_of_a_call(fixed):
    before = dict(vars(fixed))
    results = fixed((item for item in [{"description": "[PROG_0]", "memory": SAFE}] * 3), max_steps=5)
    list(results)
    changed = {name for name in set(vars(fixed)) | set(before) if vars(fixed).get(name) is not before.get(name)}
    assert changed <= {"call_count"}, changed  # transformers' own counter of calls


@param("strategy", STRATEGIES)
def test_a_description_with_too_many_tokens_names_its_input(strategy):
    pipe = tiny_pipeline()
    too_long = " ".join(["[PROG_0]"] * 600)  # 600 tokens, short in characters: refused after tokenizing
    with pytest.raises(ValueError, match=r"^input 2: description '\[PROG_0\] .*' is too long: .* 601 tokens"):
        pipe(["[PROG_0]", "[PROG_1]", too_long], max_steps=5, strategy=strategy, batch_size=3)
    with pytest.raises(ValueError, match=r"^description .* is too long"):
        pipe(too_long, max_steps=5, strategy=strategy)


# Section: bounded memory.


def test_forward_rows_keep_one_pass_of_log_probabilities_bounded():
    pipe = tiny_pipeline()
    config = pipe.model.config
    # The paper's k = L = 256: the usual DEFAULT_FORWARD_ROWS; k = L = 65,536: 21 rows of 196,609 log-probabilities.
    for size, rows in ((256, pipeline_module.DEFAULT_FORWARD_ROWS), (65_536, 21)):
        config.data_memory_size, config.max_program_length = size, size
        assert pipe.forward_rows() == rows
        assert rows * (3 * size + 1) <= pipeline_module.FORWARD_VALUES


@pytest.fixture
def rows_per_pass(monkeypatch):
    """A pipeline (k = 8, L = 40, two known programs) whose forward passes hold at most 200 log-probabilities (3 rows
    of 57), and the rows of each of its forward passes."""
    pipe = tiny_pipeline(k=8, length=40, known_programs=[
        {"name": "p0", "descriptions": ["[PROG_0]"], "instructions": [[i % 8, (i + 1) % 8, (i + 2) % 41]
                                                                    for i in range(40)]},
        {"name": "p1", "descriptions": ["[PROG_1]"], "instructions": [[1, 2, 0]] * 25},
    ])
    unbounded = {
        "program": pipe.decode_program("[PROG_0]"),
        "match": pipe.match_program("[PROG_0] [PROG_1]", min_margin=0),
        "runs": pipe(["[PROG_0]", "[PROG_1]"] * 2, memory=list(range(8)), max_steps=50, strategy="decoded",
                     batch_size=4),
    }
    monkeypatch.setattr(pipeline_module, "FORWARD_VALUES", 200)
    rows = []
    pipe.model.register_forward_hook(lambda module, args, kwargs, output: rows.append(output.a_logits.shape[0]),
                                     with_kwargs=True)
    return pipe, unbounded, rows


def test_decoding_runs_in_bounded_forward_passes(rows_per_pass):
    pipe, unbounded, rows = rows_per_pass
    assert pipe.forward_rows() == 3
    assert pipe.decode_program("[PROG_0]") == unbounded["program"]
    assert max(rows) == 3 and sum(rows) == 40
    rows.clear()
    assert pipe(["[PROG_0]", "[PROG_1]"] * 2, memory=list(range(8)), max_steps=50, strategy="decoded",
                batch_size=4) == unbounded["runs"]
    assert max(rows) == 3 and sum(rows) == 2 * 40  # each distinct description's 40 instructions, once


def test_likelihood_matching_runs_in_bounded_forward_passes(rows_per_pass):
    pipe, unbounded, rows = rows_per_pass
    match = pipe.match_program("[PROG_0] [PROG_1]", min_margin=0)
    assert max(rows) <= 3 and sum(rows) == 40  # the longest known program's 40 instructions
    assert (match["how"], match["program"]) == (unbounded["match"]["how"], unbounded["match"]["program"])
    assert match["scores"] == pytest.approx(unbounded["match"]["scores"], abs=2e-3)  # summed in another order
    # Several unseen descriptions: still at most 3 rows a pass, each description scored as alone.
    rows.clear()
    texts = ["[PROG_0] [PROG_1]", "[PROG_1] [PROG_0]", "[PROG_1] [PROG_1]", "[PROG_0] [PROG_0]"]
    together = pipe._score_known(pipe.known_programs(), texts)
    assert max(rows) <= 3 and sum(rows) == 4 * 40
    for d, text in enumerate(texts):
        alone = pipe._score_known(pipe.known_programs(), [text])
        # The same terms, up to the rounding of a forward pass over other rows.
        assert torch.allclose(together[0][d], alone[0][0]) and torch.allclose(together[1][d], alone[1][0])


@param("strategy", ["decoded", "lazy"])
def test_the_batched_machine_runs_a_large_batch_in_slices_naming_the_input(fixed, monkeypatch, strategy):
    monkeypatch.setattr(pipeline_module, "MACHINE_VALUES", 6)  # 2 inputs of L = 1 a machine call
    monkeypatch.setattr(execution, "cpu_kernel_available", lambda: True)  # the batched machine, not the loop
    ran = []
    real = pipeline_module.run_subleq_batch
    monkeypatch.setattr(pipeline_module, "run_subleq_batch",
                        lambda programs, *args: ran.append(programs.shape[0]) or real(programs, *args))
    memories = [[i, -i] for i in range(5)]
    records = fixed([{"description": "[PROG_0]", "memory": m} for m in memories], max_steps=5, strategy=strategy,
                    batch_size=5)
    assert ran == [2, 2, 1]
    assert [r["memory"] for r in records] == [run_subleq([(1, 0, 0)], m).memory for m in memories]
    with pytest.raises(SubleqError, match=r"^input 3: ") as caught:
        fixed([{"description": "[PROG_0]", "memory": OVERFLOWING if i == 3 else SAFE} for i in range(5)],
              max_steps=5, strategy=strategy, batch_size=5)
    assert caught.value.index == 3


@pytest.fixture
def tokenized(known, monkeypatch):
    """The length of every text the pipeline's tokenizer is given."""
    lengths = []
    tokenizer_class = type(known.tokenizer)
    real = tokenizer_class.__call__

    def spy(self, text=None, *args, **kwargs):
        lengths.extend(len(t) for t in ([text] if isinstance(text, str) else text or []))
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", spy)
    return lengths


def test_a_huge_description_is_refused_before_it_is_tokenized(known, tokenized):
    huge = "[PROG_0] " + "x" * 10_000_000
    assert known.max_description_chars() == 100 * 512  # 100 characters per token the backbone accepts
    with pytest.raises(ValueError, match=r"^input 1: description '\[PROG_0\] x.*\.\.\.' has 10,000,009 characters"):
        known(["[PROG_0]", huge], max_steps=5)
    for method in (known.decode_program, known.match_program):
        with pytest.raises(ValueError, match="has 10,000,009 characters"):
            method(huge)
    with pytest.raises(ValueError, match="has 10,000,009 characters"):
        known(huge, allow_unknown=True)
    assert max(tokenized, default=0) < 100  # only the short descriptions
    # A description just within the bound is tokenized, and refused for its tokens.
    with pytest.raises(ValueError, match="is too long"):
        known(" ".join(["[PROG_0]"] * 5_000), max_steps=5, allow_unknown=True)


def test_a_huge_known_description_is_refused_before_it_is_tokenized(known, tokenized):
    config = known.model.config
    saved = config.known_programs
    try:
        config.known_programs = [{"name": "p", "descriptions": ["[PROG_0]"]},
                                 {"name": "q", "descriptions": ["[PROG_1] " * 2_000_000]}]
        with pytest.raises(ValueError, match=r"known_programs\[1\]"):
            known("[PROG_0]", max_steps=5)
        assert max(tokenized, default=0) < 100
    finally:
        config.known_programs = saved


# One process under a cap on its address space: what each call allocates beyond its inputs must fit.
CAPPED = """
import json, resource
import torch
from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq
from modeling_synthesizer.pipeline_synthesizer import SubleqPipeline
from modeling_synthesizer.tokenizer import build_word_level_tokenizer

def tiny(size, known_programs=None):
    tokenizer = build_word_level_tokenizer(size, ["[PROG_0]", "[PROG_1]"])
    config = SynthesizerConfig(text_config=dict({tiny_bert!r}, vocab_size=len(tokenizer)),
                               data_memory_size=size, max_program_length=size, add_special_tokens=False,
                               known_programs=known_programs)
    return SubleqPipeline(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)

tiny(8)(["[PROG_0]"] * 2, strategy="decoded", max_steps=5, batch_size=2)  # compiles the machine's kernel, if any
size = {size}
pipe = tiny(size, [{{"name": "p0", "descriptions": ["[PROG_0]"], "instructions": [[0, 1, 2]] * size}},
                   {{"name": "p1", "descriptions": ["[PROG_1]"], "instructions": [[1, 0, 0]]}}])
for program in pipe.model.config.known_programs:  # what the network decodes: a run checks its declared program
    decoded = pipe.decode_program(program["descriptions"][0], allow_unknown=True)
    program["instructions"] = [list(instruction) for instruction in decoded[: len(program["instructions"])]]
with open("/proc/self/status") as status:
    used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (used + {headroom}, resource.RLIM_INFINITY))

def attempt(name, run):
    try:
        outcome = run()
    except (MemoryError, RuntimeError, ValueError) as error:
        outcome = f"{{type(error).__name__}}: {{str(error)[:200]}}"
    print(json.dumps({{name: outcome}}), flush=True)

attempt("decode_program", lambda: len(pipe.decode_program("[PROG_0]")))
attempt("decoded", lambda: pipe("[PROG_0]", strategy="decoded", max_steps=5)["steps"])
attempt("min_margin", lambda: pipe.match_program("[PROG_0] [PROG_1]", min_margin=0)["how"])
attempt("stream", lambda: len(list(pipe((d for d in ["[PROG_0]"] * 3), batch_size=10**9, max_steps=5))))
attempt("huge", lambda: pipe("[PROG_0] " + "x" * 10**7, max_steps=5))
"""


def run_capped(size, headroom):
    code = CAPPED.format(tiny_bert=TINY_BACKBONES["bert"], size=size, headroom=headroom)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {name: value for line in result.stdout.splitlines() for name, value in json.loads(line).items()}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the process's size from Linux's /proc")
def test_memory_stays_bounded_under_a_cap():
    # k = L = 8,192: all L instructions' log-probabilities would be 8,192 x 24,577 float32 values (805 MB); a stream
    # with batch_size 10**9 would take 8 GB of batch indices; a 10 MB description 1.5 GB to tokenize. The process may
    # use 512 MiB more than it holds once loaded: each of these fails under it when the work is not bounded.
    outcomes = run_capped(8_192, 512 << 20)
    assert outcomes["decode_program"] == 8_192
    assert isinstance(outcomes["decoded"], int)
    assert outcomes["min_margin"] in ("likely", "refused")  # decided, whichever way: not an allocation failure
    assert outcomes["stream"] == 3
    assert outcomes["huge"].startswith("ValueError: description") and "characters" in outcomes["huge"]


# Section: None is "not given".


@pytest.fixture(scope="module")
def named():
    """A known program with named inputs a (cell 0) and b (cell 1)."""
    return tiny_pipeline(known_programs=[{"name": "add", "descriptions": ["[PROG_0]"],
                                          "inputs": {"a": [0, 1], "b": [1, 1]}, "outputs": {"sum": [2, 1]}}])


def test_none_in_an_input_dict_means_not_given(named):
    as_memory = named("[PROG_0]", memory=[3, 4, 0, 0], max_steps=20)
    for item in ({"description": "[PROG_0]"}, {"description": "[PROG_0]", "inputs": None},
                 {"description": "[PROG_0]", "inputs": None, "memory": None}):
        assert named([item], inputs={"a": 3, "b": 4}, max_steps=20) == [as_memory]
        assert named(item, inputs={"a": 3, "b": 4}, max_steps=20) == as_memory
    # None at call level is not given either: an item's own values are used.
    own = {"description": "[PROG_0]", "inputs": {"a": 3, "b": 4}}
    assert named([own], inputs=None, memory=None, max_steps=20) == [as_memory]
    # An item's own inputs win over the call's; `"memory": None` falls back to the call's memory.
    assert named([own], inputs={"a": 5, "b": 6}, max_steps=20) == [as_memory]
    assert named([{"description": "[PROG_0]", "memory": None}], memory=[3, 4, 0, 0], max_steps=20) == [as_memory]


# Section: flags are bools.


@param("value", ["no", 1, 0, "False", [True]])
def test_flags_must_be_bools_everywhere(known, value):
    with pytest.raises(TypeError, match="allow_unknown must be True or False"):
        known.decode_program("[PROG_2]", allow_unknown=value)
    with pytest.raises(TypeError, match="allow_unknown must be True or False"):
        known("[PROG_2]", allow_unknown=value)
    with pytest.raises(TypeError, match="return_trace must be True or False"):
        known("[PROG_0]", return_trace=value)
    with pytest.raises(SubleqTypeError, match="return_trace must be True or False"):
        run_subleq([(0, 0, 0)], [1], return_trace=value)
    with pytest.raises(TypeError, match="return_trace must be True or False"):
        pipeline("subleq-execution", model=known.model, tokenizer=known.tokenizer, return_trace=value)
    # Real bools work, and None is "not given" (False).
    assert len(known.decode_program("[PROG_2]", allow_unknown=True)) == 3
    for not_given in (False, None):
        with pytest.raises(RunRefused):
            known.decode_program("[PROG_2]", allow_unknown=not_given)
        assert run_subleq([(0, 0, 0)], [1], return_trace=not_given).trace is None


@pytest.mark.parametrize("field, value", [("data_memory_size", 2), ("data_memory_size", 8), ("max_program_length", 5)])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_k_or_l_assigned_after_loading_is_refused_against_the_heads(field, value, strategy):
    # The heads decode A and B over the k cells and C over the L + 1 numbers they were built for: with a smaller k,
    # a decoded operand can lie outside the memory the run is given (the lazy strategy used to wait for it forever).
    pipe = tiny_pipeline(k=4, length=3)
    setattr(pipe.model.config, field, value)
    memory = [1] * pipe.model.config.data_memory_size
    with pytest.raises(ValueError, match=rf"^config.{field} is {value}, but the network's heads were built for "):
        pipe("[PROG_0]", memory=memory, max_steps=20, strategy=strategy, allow_unknown=True)
