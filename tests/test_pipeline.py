"""The "subleq-execution" pipeline: a trained Synthesizer runs its memorized programs exactly as the reference machine
runs the true programs, with both strategies; batching, defaults, bad input, Hub shape and the trace picture."""

import ast
import json
import os
import random
import sys
from pathlib import Path

import pytest
import torch
from conftest import MEMORIZED_SHAPE, TINY_BACKBONES, run_without_package
from transformers import AutoModel, pipeline
from transformers.pipelines import PIPELINE_REGISTRY

import modeling_synthesizer.subleq as subleq_module
from modeling_synthesizer import SubleqError, SynthesizerConfig, SynthesizerForSubleq, run_subleq
from modeling_synthesizer.pipeline_synthesizer import STRATEGIES, SubleqPipeline
from modeling_synthesizer.tokenizer import build_word_level_tokenizer


try:
    import cases
except ImportError:  # tests/ collected as a package
    from tests import cases


ROOT = Path(__file__).resolve().parent.parent

K, L, N_PROGRAMS = MEMORIZED_SHAPE
MAX_STEPS = 200  # small, so that random programs on random memories end in all three ways
BATCH = 64  # inputs per batch in most tests: batch_size=1, the transformers default, runs one forward per input
param = pytest.mark.parametrize


def local_pipeline(checkpoint, **kwargs):
    """The installed package's pipeline on a checkpoint. A model instance makes `pipeline()` use the registered task:
    given a folder, it reads `custom_pipelines` from config.json and runs the checkpoint's own copy of the code."""
    return pipeline("subleq-execution", model=SynthesizerForSubleq.from_pretrained(checkpoint),
                    tokenizer=str(checkpoint), **kwargs)


@pytest.fixture(scope="module")
def pipe(memorized):
    return local_pipeline(memorized[0], batch_size=BATCH)


def test_a_checkpoint_folder_runs_its_own_pipeline_code(pipe, memorized):
    checkpoint, programs = memorized
    # The folder names its pipeline in config.json: transformers asks before running that code, package or not.
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        pipeline("subleq-execution", model=str(checkpoint))
    remote = pipeline("subleq-execution", model=str(checkpoint), trust_remote_code=True)
    assert type(remote).__module__.startswith("transformers_modules.")
    assert type(pipe).__module__ == "modeling_synthesizer.pipeline_synthesizer"
    memories = random_memories(23, 4)
    inputs = [{"description": description, "memory": memory} for description in programs for memory in memories]
    assert remote(inputs, max_steps=MAX_STEPS) == pipe(inputs, max_steps=MAX_STEPS)


def random_memories(seed, count, low=-20, high=20):
    rng = random.Random(seed)
    return [[rng.randint(low, high) for _ in range(K)] for _ in range(count)]


def reference(program, memory, max_steps=MAX_STEPS, return_trace=False):
    """run_subleq as a pipeline record, or the SubleqError it raises."""
    try:
        return run_subleq(program, memory, max_steps, return_trace=return_trace)
    except SubleqError as error:
        return error


def same_run(record, result):
    return (record["memory"], record["steps"], record["halt_reason"], record["halted"]) == (
        result.memory, result.steps, result.halt_reason, result.halted
    )


# The headline: every memorized program, many random memories, both strategies, equal to the reference machine.


@param("strategy", STRATEGIES)
def test_memorized_programs_run_exactly_as_the_reference_machine(pipe, memorized, strategy):
    _, programs = memorized
    inputs, expected, overflowing = [], [], []
    for p, (description, program) in enumerate(programs.items()):
        for memory in random_memories(p, 150):
            result = reference(program, memory)
            if isinstance(result, SubleqError):  # Fibonacci-like growth past int64 within the budget
                overflowing.append((description, memory, str(result)))
            else:
                inputs.append({"description": description, "memory": memory})
                expected.append(result)
    records = pipe(inputs, max_steps=MAX_STEPS, strategy=strategy)
    assert len(records) == len(inputs)
    mismatches = [(i, r, e) for i, (r, e) in enumerate(zip(records, expected)) if not same_run(r, e)]
    assert not mismatches, mismatches[:3]
    # The random memories exercise every way a run can end.
    assert {r.halt_reason for r in expected} == {"halt", "end_of_program", "max_steps"}
    for description, memory, message in overflowing:
        with pytest.raises(SubleqError) as raised:
            pipe(description, memory=memory, max_steps=MAX_STEPS, strategy=strategy)
        assert str(raised.value) == message


@param("strategy", STRATEGIES)
def test_single_inputs_take_the_reference_path_and_agree(pipe, memorized, strategy):
    _, programs = memorized
    for description, program in programs.items():
        for memory in random_memories(7, 5):
            result = reference(program, memory)
            if isinstance(result, SubleqError):
                continue
            record = pipe(description, memory=memory, max_steps=MAX_STEPS, strategy=strategy)
            assert same_run(record, result)


def test_strategies_agree_at_every_budget_and_chunk_size(pipe, memorized):
    _, programs = memorized
    inputs = [{"description": d, "memory": m} for d in programs for m in random_memories(3, 20)]
    for max_steps in (0, 1, 5, 37):
        outputs = [
            pipe(inputs, max_steps=max_steps, strategy=strategy, batch_size=batch_size)
            for strategy in STRATEGIES for batch_size in (None, 1, 7)
        ]
        assert all(out == outputs[0] for out in outputs[1:]), max_steps


def test_tensor_path_of_the_batched_machine(pipe, memorized, monkeypatch):
    _, programs = memorized
    inputs = [{"description": d, "memory": m} for d in programs for m in random_memories(5, 30)]
    inputs = [x for x in inputs if not isinstance(reference(programs[x["description"]], x["memory"]), SubleqError)]
    monkeypatch.setattr(subleq_module, "BATCH_TAIL_ROWS", 0)
    records = pipe(inputs, max_steps=MAX_STEPS)
    assert all(same_run(r, reference(programs[x["description"]], x["memory"])) for r, x in zip(records, inputs))


def test_two_calls_read_in_turns_keep_their_own_arguments(pipe, memorized):
    # Each call's arguments travel with its items, not on the pipeline: two streams read in turns stay apart.
    _, programs = memorized
    items = [{"description": d, "memory": m} for d in programs for m in random_memories(43, 3)]
    traced_call = dict(max_steps=MAX_STEPS, return_trace=True, strategy="stepwise", batch_size=2)
    short_call = dict(max_steps=7, memory=[1] * K, batch_size=3)
    expected = pipe(items, **traced_call), pipe([item["description"] for item in items], **short_call)
    traced = iter(pipe((item for item in items), **traced_call))
    short = iter(pipe((item["description"] for item in items), **short_call))
    got = [], []
    for _ in items:
        got[0].append(next(traced))
        got[1].append(next(short))
    assert got == expected
    assert all("trace" in record for record in got[0]) and all(record["steps"] <= 7 for record in got[1])


def test_items_that_share_a_description_are_read_by_the_tokenizer_once(pipe, memorized, monkeypatch):
    _, programs = memorized
    description = next(iter(programs))
    pipe(description, memory=[0] * K, max_steps=1)
    read = []
    tokenizer_class = type(pipe.tokenizer)
    real = tokenizer_class.__call__

    def reading(self, text=None, *args, **kwargs):
        read.append(text)
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", reading)
    records = pipe([{"description": description, "memory": m} for m in random_memories(41, 20)], max_steps=MAX_STEPS,
                   batch_size=1)
    assert all(record["program"] == description for record in records)
    assert description not in read  # only model inputs (lists of "C_t description" texts) were tokenized


def test_lazy_decodes_only_the_instructions_a_run_reaches(pipe, memorized, monkeypatch):
    _, programs = memorized
    description, program = next(iter(programs.items()))
    memory = next(m for m in random_memories(29, 50) if not isinstance(reference(program, m), SubleqError))
    decoded = []
    real_decode = SubleqPipeline._decode
    monkeypatch.setattr(SubleqPipeline, "_decode",
                        lambda self, pairs: decoded.append(pairs) or real_decode(self, pairs))
    record = pipe(description, memory=memory, max_steps=MAX_STEPS, return_trace=True)
    reached = {step["instruction"] for step in record["trace"]}
    rows = [pc for pairs in decoded for _, pc in pairs]
    # One row per instruction it executed (the one it halted or ended on included), each decoded once.
    assert sorted(rows) == sorted(reached) and len(rows) == len(set(rows))
    assert len(decoded) <= len(reached)  # one forward pass per round of new instructions
    # A description that at least L inputs of a batch share is decoded whole, once: one forward pass.
    decoded.clear()
    pipe([{"description": description, "memory": m} for m in random_memories(31, L)], max_steps=MAX_STEPS,
         batch_size=L)
    assert [sorted(pc for _, pc in pairs) for pairs in decoded] == [list(range(1, L + 1))]


def test_streams_a_generator_and_a_key_dataset(pipe, memorized):
    datasets = pytest.importorskip("datasets")
    from transformers.pipelines.pt_utils import KeyDataset

    _, programs = memorized
    descriptions = [d for d in programs for _ in range(5)]
    expected = pipe(descriptions, max_steps=MAX_STEPS)
    dataset = datasets.Dataset.from_dict({"description": descriptions})
    streamed = pipe(KeyDataset(dataset, "description"), max_steps=MAX_STEPS, batch_size=4)
    assert not isinstance(streamed, list)  # an iterator, as every transformers pipeline returns for a dataset
    assert list(streamed) == expected
    assert list(pipe(dataset["description"], max_steps=MAX_STEPS)) == expected  # a `datasets` column streams too
    # A generator is consumed as results are asked for, not read whole first.
    consumed = []

    def inputs():
        for description in descriptions:
            consumed.append(description)
            yield description

    results = pipe(inputs(), max_steps=MAX_STEPS, batch_size=2)
    assert next(iter(results)) == expected[0] and len(consumed) < len(descriptions)
    assert [expected[0], *results] == expected


def test_decode_program_returns_the_memorized_program(pipe, memorized):
    _, programs = memorized
    for description, program in programs.items():
        assert pipe.decode_program(description) == program


# Call forms and defaults.


def test_call_forms(pipe, memorized):
    _, programs = memorized
    description = next(iter(programs))
    memory = random_memories(11, 1)[0]
    single = pipe(description, memory=memory, max_steps=50)
    assert isinstance(single, dict)
    # A memorization checkpoint lists its programs: each record names the program it ran (a known description: no
    # margin) and the digest of its instructions, verified against the declared ones.
    assert set(single) == {"memory", "steps", "halted", "halt_reason", "output", "program", "margin", "digest",
                           "verified"}
    assert single["verified"] is True
    assert (single["program"], single["margin"]) == (description, None)
    assert single["output"] is None  # this checkpoint names no output cell
    assert pipe({"description": description, "memory": memory}, max_steps=50) == single
    # A list, a tuple and a generator are many inputs; `memory=` fills in for inputs that give none.
    other = random_memories(12, 1)[0]
    batch = [description, {"description": description, "memory": other}, {"description": description}]
    expected = [single, pipe(description, memory=other, max_steps=50), single]
    assert pipe(batch, memory=memory, max_steps=50) == expected
    assert pipe(tuple(batch), memory=memory, max_steps=50) == expected
    assert list(pipe((x for x in batch), memory=memory, max_steps=50)) == expected  # streamed
    assert pipe([], max_steps=50) == []
    # Memory may be a tensor; it is never mutated.
    tensor = torch.tensor(memory)
    assert pipe(description, memory=tensor, max_steps=50) == single
    assert tensor.tolist() == memory


def test_default_memory_is_zeros(pipe, memorized):
    _, programs = memorized
    for description, program in programs.items():
        assert same_run(pipe(description, max_steps=MAX_STEPS), run_subleq(program, [0] * K, MAX_STEPS))


def test_default_max_steps_is_the_reference_machines(pipe, memorized):
    assert subleq_module.DEFAULT_MAX_STEPS == 100_000
    _, programs = memorized
    description, program = next(iter(programs.items()))
    memory = random_memories(13, 1)[0]
    assert same_run(pipe(description, memory=memory), run_subleq(program, memory))


def test_memory_image_output_cell_and_labels(memorized):
    checkpoint, programs = memorized
    image = [1, -2, 0, 3, 0, 5, -1, 2]
    model = SynthesizerForSubleq.from_pretrained(
        checkpoint, memory_image=image, output_cell=2, id2label={0: "zero", 1: "one"}
    )
    labelled = pipeline("subleq-execution", model=model, tokenizer=str(checkpoint))
    for description, program in programs.items():
        result = run_subleq(program, image, MAX_STEPS)
        record = labelled(description, max_steps=MAX_STEPS)
        assert same_run(record, result)
        assert record["output"] == result.memory[2]
        assert record["label"] == {0: "zero", 1: "one"}.get(result.memory[2])
    # A value without a name gets label None.
    record = labelled(next(iter(programs)), memory=[7] * K, max_steps=0)
    assert (record["output"], record["label"]) == (7, None)


@param("strategy", STRATEGIES)
def test_return_trace(pipe, memorized, strategy):
    _, programs = memorized
    for description, program in programs.items():
        memory = random_memories(17, 1)[0]
        result = reference(program, memory, return_trace=True)
        if isinstance(result, SubleqError):
            continue
        record = pipe(description, memory=memory, max_steps=MAX_STEPS, strategy=strategy, return_trace=True)
        assert same_run(record, result)
        confidences = [step.pop("confidence") for step in record["trace"]]
        assert record["trace"] == [step.to_dict() for step in result.trace]
        assert len(record["trace"]) == record["steps"]
        # Each executed instruction's probability of its (A, B, C), the same at every visit of an instruction.
        assert all(0 < confidence <= 1 for confidence in confidences)
        by_instruction = {step["instruction"]: c for step, c in zip(record["trace"], confidences)}
        assert all(by_instruction[step["instruction"]] == c for step, c in zip(record["trace"], confidences))


def test_init_time_defaults(memorized):
    checkpoint, programs = memorized
    description, program = next(iter(programs.items()))
    memory = random_memories(19, 1)[0]
    stepwise = local_pipeline(checkpoint, strategy="stepwise", max_steps=9, memory=memory)
    assert same_run(stepwise(description), run_subleq(program, memory, 9))
    assert same_run(stepwise(description, max_steps=3), run_subleq(program, memory, 3))


# Bad input: each raises a ValueError that names the problem.


@param(
    "inputs, kwargs, match",
    [
        ("[PROG_0]", dict(memory=[0] * (K - 1)), rf"memory has {K - 1} cells but the model's data memory has k = {K}"),
        ("[PROG_0]", dict(memory=[0] * (K + 1)), rf"memory has {K + 1} cells"),
        ("[PROG_0]", dict(memory=[0.5] + [0] * (K - 1)), r"memory\[0\] = 0.5 is not an integer"),
        ("[PROG_0]", dict(memory=[0, "1"] + [0] * (K - 2)), r"memory\[1\] = '1' is not an integer"),
        ("[PROG_0]", dict(memory=[True] + [0] * (K - 1)), r"memory\[0\] = True is a bool"),
        ("[PROG_0]", dict(memory=torch.zeros(K)), r"memory must hold integers"),
        ("[PROG_0]", dict(memory=[2**63] + [0] * (K - 1)), r"memory\[0\] = 9223372036854775808 is out of the int64"),
        ("", {}, r"empty description"),
        ("   ", {}, r"empty description"),
        (None, {}, r"a description must be a string"),
        (3, {}, r"a description must be a string"),
        ("[PROG_0] " * 600, {"allow_unknown": True},
         r"too long: with an instruction number, its input has 601 tokens, .* at most 512"),
        (["[PROG_0]", ""], {}, r"input 1: empty description"),
        ([{"description": "[PROG_0]", "memory": [1] * 3}], {}, r"memory has 3 cells"),
        ([{"description": "[PROG_0]"}, {"memory": [0] * K}], {}, r"input 1: an input dict needs a 'description'"),
        ({"description": "[PROG_0]", "program": []}, {}, r"unknown keys \['program'\]"),
        ("[PROG_0]", dict(strategy="fast"), r"strategy must be one of \('lazy', 'decoded', 'stepwise'\), got 'fast'"),
        ("[PROG_0]", dict(max_steps=-1), r"max_steps = -1 is out of range"),
        ("[PROG_0]", dict(max_steps=1.5), r"max_steps = 1.5 is not an integer"),
        ("[PROG_0]", dict(batch_size=0), r"batch_size must be an int >= 1"),
        (["[PROG_0]"], dict(num_workers="a"), r"num_workers must be an int >= 0 .*got 'a'"),
        (iter(["[PROG_0]"]), dict(num_workers=-1), r"num_workers must be an int >= 0 .*got -1"),
    ],
)
def test_bad_input_raises_value_error(pipe, inputs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pipe(inputs, **kwargs)


def test_decode_program_bad_description(pipe):
    with pytest.raises(ValueError, match="empty description"):
        pipe.decode_program("")
    with pytest.raises(ValueError, match="too long"):
        pipe.decode_program("x " * 1000, allow_unknown=True)


def test_unknown_argument_is_a_type_error(pipe):
    with pytest.raises(TypeError):
        pipe("[PROG_0]", top_k=3)


# The machine side of both strategies on the shared case table, with an oracle in place of the network.


class OraclePipeline(SubleqPipeline):
    """Answers each (C_t, description) row with the true instruction: tests the execution loops alone."""

    program = None

    def _decode(self, pairs):
        # One description per call in these tests; the oracle is sure of every instruction.
        return [tuple(self.program[pc - 1]) for _, pc in pairs], [1.0] * len(pairs)


def oracle_pipeline(program, memory):
    k, length = len(memory), len(program)
    tokenizer = build_word_level_tokenizer(max(k, length), ["[PROG_0]"])
    config = SynthesizerConfig(text_config=dict(TINY_BACKBONES["bert"], vocab_size=len(tokenizer)),
                               data_memory_size=k, max_program_length=length, add_special_tokens=False)
    oracle = OraclePipeline(model=SynthesizerForSubleq(config).eval(), tokenizer=tokenizer, device=-1)
    oracle.program = [list(instruction) for instruction in program]
    return oracle


@param("case", cases.CASES, ids=[c["name"] for c in cases.CASES])
@param("strategy", STRATEGIES)
def test_cases_table(case, strategy):
    oracle = oracle_pipeline(case["program"], case["memory"])
    for batch in (1, 20):  # the reference machine alone, and (decoded) the batched one
        records = oracle([{"description": "[PROG_0]", "memory": case["memory"]}] * batch, max_steps=case["max_steps"],
                         strategy=strategy, batch_size=batch)
        for record in records:
            assert (record["memory"], record["steps"], record["halt_reason"]) == (
                case["expected_memory"], case["expected_steps"], case["expected_halt_reason"]
            )


@param("case", cases.OVERFLOW_CASES, ids=[c["name"] for c in cases.OVERFLOW_CASES])
@param("strategy", STRATEGIES)
def test_overflow_cases(case, strategy):
    oracle = oracle_pipeline(case["program"], case["memory"])
    with pytest.raises(SubleqError, match=case["match"]) as single:
        oracle("[PROG_0]", memory=case["memory"], max_steps=case["max_steps"], strategy=strategy)
    assert single.value.index is None and single.value.address is not None
    with pytest.raises(SubleqError, match=r"^input \d+: instruction") as batch:
        oracle(["[PROG_0]"] * 20, memory=case["memory"], max_steps=case["max_steps"], strategy=strategy,
               batch_size=20)
    # The same error, relabelled through its fields: every input overflows, the first one is named.
    assert (batch.value.index, batch.value.index_name) == (0, "input")
    assert (batch.value.detail, batch.value.instruction) == (single.value.detail, single.value.instruction)


# Hub shape: registry, remote-code imports, save_pretrained, and loading in a process without the package.


def test_registered_with_auto_model():
    _, task_impl, _ = PIPELINE_REGISTRY.check_task("subleq-execution")
    assert task_impl["impl"] is SubleqPipeline
    assert task_impl["pt"] == (AutoModel,)


def test_pipeline_file_imports_only_remote_code_safe_modules():
    # The pipeline file and every package file it reaches through relative imports are copied as remote code.
    allowed = {"torch", "transformers", "huggingface_hub"} | set(sys.stdlib_module_names)
    pending, seen = ["pipeline_synthesizer"], set()
    while pending:
        module = pending.pop()
        seen.add(module)
        source = (ROOT / "modeling_synthesizer" / f"{module}.py").read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert all(alias.name.split(".")[0] in allowed for alias in node.names), (module, ast.dump(node))
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and node.module in {"execution", "subleq", "known_programs",
                                                           "configuration_synthesizer"}, (module, ast.dump(node))
                pending += [node.module] if node.module not in seen else []
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in allowed, (module, ast.dump(node))
    assert {"pipeline_synthesizer", "execution", "subleq", "known_programs"} <= seen


def test_saved_pipeline_loads_as_remote_code_without_the_package(pipe, memorized, tmp_path):
    _, programs = memorized
    saved = tmp_path / "saved"
    pipe.save_pretrained(saved)
    config = json.loads((saved / "config.json").read_text())
    assert config["custom_pipelines"] == {
        "subleq-execution": {"impl": "pipeline_synthesizer.SubleqPipeline", "pt": ["AutoModel"], "type": "text"}
    }
    assert {"pipeline_synthesizer.py", "execution.py", "known_programs.py", "subleq.py", "modeling_synthesizer.py",
            "tokenizer.json"} <= set(
        os.listdir(saved)
    )

    inputs = [{"description": d, "memory": m} for d in programs for m in random_memories(23, 4)]
    inputs = [x for x in inputs if not isinstance(reference(programs[x["description"]], x["memory"]), SubleqError)]
    expected = pipe(inputs, max_steps=MAX_STEPS)
    stdout = run_without_package(
        f"""
        import json
        from transformers import pipeline
        pipe = pipeline(model={str(saved)!r}, trust_remote_code=True)
        inputs = {inputs!r}
        print(json.dumps({{
            "pipeline_module": type(pipe).__module__,
            "model_module": type(pipe.model).__module__,
            "lazy": pipe(inputs, max_steps={MAX_STEPS}, batch_size=8),
            "decoded": pipe(inputs, max_steps={MAX_STEPS}, strategy="decoded", batch_size=8),
            "stepwise": pipe(inputs, max_steps={MAX_STEPS}, strategy="stepwise", batch_size=8),
            "program": pipe.decode_program({inputs[0]["description"]!r}),
        }}))
        """,
        tmp_path,
    )
    loaded = json.loads(stdout.strip().splitlines()[-1])
    assert loaded["pipeline_module"].startswith("transformers_modules.")
    assert loaded["model_module"].startswith("transformers_modules.")
    assert loaded["lazy"] == expected
    assert loaded["decoded"] == expected
    assert loaded["stepwise"] == expected
    assert [tuple(x) for x in loaded["program"]] == programs[inputs[0]["description"]]


# The trace picture.


def test_plot_trace_writes_a_png(pipe, memorized, tmp_path):
    pytest.importorskip("matplotlib")
    from modeling_synthesizer.plotting import memory_over_time, plot_trace

    _, programs = memorized
    description, program = next(iter(programs.items()))
    memory = [3, 1, 0, 2, 0, 0, 1, 0]
    record = pipe(description, memory=memory, max_steps=30, return_trace=True)
    rows = memory_over_time(memory, record)
    assert rows[0] == memory and rows[-1] == record["memory"] and len(rows) == record["steps"] + 1
    path = tmp_path / "trace.png"
    plot_trace(record, memory, path, title=description)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="return_trace=True"):
        plot_trace(pipe(description, memory=memory, max_steps=30), memory)


def test_plot_trace_rejects_a_write_outside_initial_memory():
    pytest.importorskip("matplotlib")
    from modeling_synthesizer.plotting import plot_trace

    result = run_subleq([(0, 0, 2), (0, 2, 0)], [1, 0, 5], return_trace=True)  # the second step writes cell 2
    assert plot_trace(result, [1, 0, 5]).get_suptitle() == "subleq execution trace (2 steps)"
    with pytest.raises(ValueError, match=r"^step 2 writes cell 2, outside the 2 cells of initial_memory$"):
        plot_trace(result, [1, 0])


def test_plot_needs_the_plot_extra(monkeypatch):
    from modeling_synthesizer import plotting

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "synthesizer\[plot\]"'):
        plotting.plot_trace([], [0])
