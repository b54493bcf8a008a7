"""Building and checking a library checkpoint (`examples/run_program_library.py`, and the release
`synthesizer-bert-256` it builds through `examples/build_synthesizer_bert_256.py`): its training rows, its one
evaluation through the pipeline as a user runs it (by description, on named inputs), and its model card.

- `oversampled_rows`: the rows of one epoch, each program's own instructions repeated so that the HALT padding
  (most of the L = 256 rows of every program) does not dominate training.
- `evaluate_library`: every phrasing (trained and held out) and every paraphrase decoded, matched and run on named
  inputs. One definition of a right run (`runs_right`): it halted, it ran the program its description names, and its
  `outputs` equal the expected ones: the program's declared tests, and random inputs against its Python reference
  where it has one (`expected_program`); a program known only from a checkpoint's `known_programs` is checked
  against its declared instructions on the reference machine (`known_expected_program`). Descriptions of tasks the
  library does not have (`UNKNOWN_DESCRIPTIONS`) must be refused.
- `release_metrics` / `eval_results`: the counts of that report, and the same as `model-index` results.
- `release_card`: the card, with a table of what the checkpoint runs and usage code that runs as written.

Not part of the remote code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from huggingface_hub import EvalResult

from modeling_synthesizer.program_library import LibraryProgram
from modeling_synthesizer.subleq import run_subleq

from .library import PADDING_INSTRUCTION, padded_program
from .model_card import ModelCardSpec, synthesizer_summary


# Descriptions of tasks no library program does: a release must refuse every one rather than run its nearest program.
# Some are far from every program (the weather, a joke); most are near misses, a library task's words around another
# task (the minimum of the list, the zeros in the bits, descending order).
UNKNOWN_DESCRIPTIONS = (
    "translate this sentence into French",
    "what is the weather like today?",
    "what time is it?",
    "draw a picture of a cat",
    "tell me a joke",
    "divide a by b",
    "find the minimum of the list",
    "subtract b from a",
    "sort the list in descending order",
    "count the zeros in the bits",
    "what is the median of these numbers?",
    "compute the average of the list",
    "is n a prime number?",
    "compute the factorial of n",
    "what is a to the power of b?",
    "square the number",
    "find the greatest common divisor of a and b",
    "remove the duplicates from the list",
    "how many numbers in the list are negative?",
    "what is the remainder when a is divided by b?",
    "round x to the nearest ten",
    "check whether the list is sorted",
    "what day of the week is it?",
    "spell out the number in words",
)

# Paraphrases of the library's programs, four each, written as a user might ask for the task (none is one of the
# library's own descriptions, trained or held out): matching must run each as its program or refuse it, never run it
# as another program.
PARAPHRASES = {
    "count_ones": (
        "how many ones are there in the bits?",
        "count the 1s in this sequence",
        "give me the number of set bits",
        "how many of these bits are ones?",
    ),
    "add": (
        "what is the sum of a and b?",
        "add b to a",
        "a plus b",
        "calculate a + b",
    ),
    "multiply": (
        "what is the product of a and b?",
        "multiply b by a",
        "a times b",
        "calculate a * b",
    ),
    "maximum": (
        "what is the biggest number in the list?",
        "find the largest value",
        "return the max of the list",
        "which value in the list is highest?",
    ),
    "sum": (
        "add all the numbers in the list together",
        "what is the sum of the list?",
        "total up the numbers",
        "compute the sum of all the values",
    ),
    "reverse": (
        "reverse the order of the list",
        "write the list backwards",
        "put the numbers in reverse order",
        "flip the list",
    ),
    "absolute": (
        "what is the absolute value of x?",
        "compute |x|",
        "remove the sign of x",
        "give the magnitude of the number",
    ),
    "sort": (
        "sort the numbers in ascending order",
        "arrange the list from lowest to highest",
        "put the values in increasing order",
        "order these numbers from smallest to largest",
    ),
    "fibonacci": (
        "what is the nth Fibonacci number?",
        "compute fibonacci(n)",
        "give the Fibonacci number for n",
        "find the n-th number in the Fibonacci sequence",
    ),
    "count_ones_32": (
        "how many ones are in the 32 bits?",
        "count the 1s in a 32-bit sequence",
        "what is the number of set bits in the 32 bits?",
        "count how many of the thirty-two bits are set",
    ),
}

TASK_TYPE = "subleq-execution"
DATASET_TYPE = "program-library"


def oversampled_rows(program_lengths: Sequence[int], max_program_length: int, repeats: int) -> list[int]:
    """
    Row indices of one training epoch over program-major rows (L rows per phrasing): every row once, and each of a
    program's own instructions `repeats - 1` more times. At L = 256 the library's programs have 3 to 33 instructions,
    so without this about 94% of the rows would be the same HALT padding.

    Args:
        program_lengths: the number of real (assembled) instructions of each phrasing's program, in row order.
        max_program_length: L, the rows per phrasing.
        repeats: how often each real instruction appears per epoch (1: every row once).

    Raises:
        ValueError: if `repeats` < 1 or a program is longer than L.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if any(not 0 <= n <= max_program_length for n in program_lengths):
        raise ValueError(f"program lengths {list(program_lengths)} must be within 0..{max_program_length}")
    rows = list(range(len(program_lengths) * max_program_length))
    for phrasing, length in enumerate(program_lengths):
        start = phrasing * max_program_length
        rows += list(range(start, start + length)) * (repeats - 1)
    return rows


def program_inputs(program: LibraryProgram, seed: int, count: int) -> list[dict]:
    """`count` random inputs of `program` (the same for every phrasing, and for the card), drawn with `seed`; none for
    a program without a Python reference or input ranges (it is checked by its declared tests only)."""
    if getattr(program, "reference", None) is None or not program.inputs:
        return []
    rng = random.Random(f"{seed}-{program.name}")
    return [program.random_inputs(rng) for _ in range(count)]


@dataclass(frozen=True)
class ExpectedProgram:
    """What the evaluation checks a program against.

    Attributes:
        name: the program's name, which its descriptions must run as.
        instructions: its L instructions, padded with HALT, as the network must decode them.
        length: its own instructions (the rest is padding).
        runs: `(named inputs, expected outputs)` pairs; a run is right when its `outputs` hold every expected one.
    """

    name: str
    instructions: list[tuple[int, int, int]]
    length: int
    runs: list[tuple[dict, dict]]


def expected_program(program: LibraryProgram, data_memory_size: int, max_program_length: int, input_seed: int,
                     num_inputs: int) -> ExpectedProgram:
    """A library program's checks: each declared test (`program.tests`), then `num_inputs` random inputs against its
    Python reference where it has one (`program_inputs`)."""
    runs = [(dict(test.inputs), dict(test.outputs)) for test in getattr(program, "tests", ())]
    runs += [(values, program.reference(**values)) for values in program_inputs(program, input_seed, num_inputs)]
    assembled = program.assemble(data_memory_size, max_program_length)
    return ExpectedProgram(program.name, padded_program(program, data_memory_size, max_program_length),
                           len(assembled.program), runs)


def known_expected_program(entry: dict, max_steps: int) -> ExpectedProgram:
    """A checkpoint's `known_programs` entry as an `ExpectedProgram`: its declared instructions, and one run, on the
    inputs its stored memory holds, whose outputs are those of the declared instructions on the reference machine.
    An entry without named outputs (a memorization checkpoint's program) has no run: it is checked by its exact
    decoding alone.

    Raises:
        SubleqError: if the declared instructions do not run on the stored memory (a damaged entry).
    """
    instructions = [tuple(int(operand) for operand in instruction) for instruction in entry["instructions"]]
    if not entry.get("outputs") or entry.get("memory") is None:
        return ExpectedProgram(entry["name"], instructions, len(instructions), [])
    memory = [int(cell) for cell in entry["memory"]]
    final = run_subleq(instructions, memory, max_steps=max_steps).memory

    def cells(named: dict, values: list[int]) -> dict:
        read = {}
        for name, (address, length) in named.items():
            read[name] = values[address] if length == 1 else [int(v) for v in values[address:address + length]]
        return read

    length = len(instructions)
    while length and instructions[length - 1] == PADDING_INSTRUCTION:
        length -= 1
    return ExpectedProgram(entry["name"], instructions, length,
                           [(cells(entry.get("inputs") or {}, memory), cells(entry.get("outputs") or {}, final))])


def _is_machine_error(error: Exception) -> bool:
    # The pipeline loaded with trust_remote_code raises its own copy of SubleqError: compare by name.
    return any(cls.__name__ == "SubleqError" for cls in type(error).__mro__)


def is_refusal(error: Exception) -> bool:
    # The pipeline's RunRefused, of the package or of the folder's own code (compared by name, as above).
    return any(cls.__name__ == "RunRefused" for cls in type(error).__mro__)


def run_named(pipe, description: str, inputs: list[dict], max_steps: int, strategy: str = "lazy",
              **matching) -> list[dict | None]:
    """The pipeline's results for `description` on each of `inputs` (named input values), in one batch; a run that
    overflows int64 (only a wrongly decoded program can) is None. `matching`: the pipeline's opt-in `min_margin`
    and `min_match_confidence`.

    Raises:
        ValueError: any other error of the pipeline (a refusal, a bad input).
    """
    items = [{"description": description, "inputs": values} for values in inputs]
    if not items:
        return []
    try:
        return pipe(items, max_steps=max_steps, strategy=strategy, batch_size=len(items), **matching)
    except ValueError as error:
        if not _is_machine_error(error):
            raise
    results = []  # one overflow fails the whole batch: run one by one
    for item in items:
        try:
            results.append(pipe(item, max_steps=max_steps, strategy=strategy, **matching))
        except ValueError as error:
            if not _is_machine_error(error):
                raise
            results.append(None)
    return results


def runs_right(result: dict | None, name: str, expected: dict) -> bool:
    """The one definition of a right run: it halted (not out of steps), it ran the program `name` its description
    names, and its `outputs` hold every expected output."""
    if result is None or result["halt_reason"] != "halt" or result.get("program") != name:
        return False
    outputs = result.get("outputs") or {}
    return all(key in outputs and outputs[key] == value for key, value in expected.items())


def _most_likely(match: dict) -> str | None:
    # Scores (best first) exist for descriptions matched or refused by likelihood, not for trained ones.
    return next(iter(match["scores"]), None) if match["scores"] else match["program"]


def evaluate_phrasing(pipe, program: ExpectedProgram, description: str, max_steps: int, matching: dict,
                      library: dict | None = None) -> dict:
    """
    One phrasing as a user runs it: what the network decodes from it as given, which known program the pipeline
    matches it to with the opt-in `matching` thresholds (or whether it refuses it), and how many runs on the named
    inputs of `program.runs` are right (`runs_right`). `library`: name -> padded instructions of every program, to
    say which one a wrong decoding equals.
    A phrasing "runs right" when the pipeline runs it as `program` and every run is right; it "runs wrong" when the
    pipeline runs it (not refused) and any run is not right, or it runs as another program: the silent wrong answers
    that matching must prevent. `failures` shows up to three runs that were not right, with their actual outputs.
    """
    padded = program.instructions
    decoded = [tuple(instruction) for instruction in pipe.decode_program(description, allow_unknown=True)]
    match = pipe.match_program(description, **matching)
    refused, refusal, results = match["how"] == "refused", None, []
    if not refused:
        try:
            results = run_named(pipe, description, [values for values, _ in program.runs], max_steps, **matching)
        except ValueError as error:
            # A checkpoint refuses a known program its network no longer decodes as declared: refused, not run.
            if not is_refusal(error):
                raise
            refused, refusal = True, str(error)
    failures = [{"inputs": values, "expected": expected,
                 "actual": None if result is None else result.get("outputs"),
                 "halt_reason": None if result is None else result["halt_reason"],
                 "ran": None if result is None else result.get("program")}
                for result, (values, expected) in zip(results, program.runs)
                if not runs_right(result, program.name, expected)]
    correct = len(results) - len(failures)
    right = not refused and match["program"] == program.name and correct == len(program.runs)
    scores = list(match["scores"] or ())
    return {
        "description": description,
        "decoded_exactly": decoded == padded,
        "wrong_instructions": sum(d != t for d, t in zip(decoded, padded)),
        "program_instructions_right": decoded[: program.length] == padded[: program.length],
        "decodes_as": next((name for name, other in (library or {}).items() if decoded == other), None),
        "decision": "refused" if refused else match["how"],  # "exact" (a trained phrasing), "likely" or "refused"
        "runs_as": None if refusal else match["program"],
        "most_likely": _most_likely(match),
        "margin": match["margin"],
        "runner_up": scores[1] if len(scores) > 1 else None,
        "runs_right": right,
        "runs_wrong": not refused and not right,
        "correct_outputs": int(correct),
        "inputs": len(program.runs),
        "failures": failures[:3],
        "refusal": refusal,
    }


def evaluate_library(pipe, programs: Sequence[ExpectedProgram], phrasings: dict, max_steps: int, matching: dict,
                     unknown_descriptions: Sequence[str] = (), paraphrases: dict | None = None,
                     stepwise_check_inputs: int = 0) -> dict:
    """
    The one evaluation of a library checkpoint: per program, every trained and held-out phrasing
    (`evaluate_phrasing`) on the same runs; every paraphrase; and whether each of `unknown_descriptions` is refused.

    Args:
        pipe: a `subleq-execution` pipeline of the saved checkpoint, as a user loads it.
        programs: the programs to check (`expected_program`, `known_expected_program`).
        phrasings: program name -> `{"trained": [...], "held_out": [...]}`.
        matching: the opt-in `min_margin` and `min_match_confidence` the unseen descriptions are matched with (the
            checkpoint's default refuses every one of them).
        paraphrases: program name -> paraphrases of it (`PARAPHRASES` for the built-in library).
        stepwise_check_inputs: runs per program also made with `strategy="stepwise"` (one forward pass per step),
            whose results must equal those of the default strategy (`stepwise_agrees`).
    """
    library = {program.name: program.instructions for program in programs}
    report = {"programs": {}, "paraphrases": [], "unknown": []}
    for program in programs:
        entry = {"instructions": program.length, "runs": len(program.runs)}
        for split in ("trained", "held_out"):
            entry[split] = [evaluate_phrasing(pipe, program, description, max_steps, matching, library)
                            for description in phrasings[program.name].get(split, ())]
        # Only a phrasing that runs (not refused) can be compared run for run.
        if stepwise_check_inputs and program.runs and entry["trained"] and entry["trained"][0]["runs_right"]:
            first = phrasings[program.name]["trained"][0]
            few = [values for values, _ in program.runs[:stepwise_check_inputs]]
            entry["stepwise_agrees"] = (run_named(pipe, first, few, max_steps)
                                        == run_named(pipe, first, few, max_steps, strategy="stepwise"))
        report["programs"][program.name] = entry
        report["paraphrases"] += [
            {"program": program.name, **evaluate_phrasing(pipe, program, description, max_steps, matching, library)}
            for description in (paraphrases or {}).get(program.name, ())
        ]
    for description in unknown_descriptions:
        match = pipe.match_program(description, **matching)
        report["unknown"].append({"description": description, "refused": match["how"] == "refused",
                                  "runs_as": match["program"], "most_likely": _most_likely(match),
                                  "margin": match["margin"]})
    return report


def release_metrics(report: dict) -> dict:
    """The report's counts: `{name: [count, out of]}` for exact decoding, runs right and right outputs of the
    trained phrasings, the held-out phrasings and the paraphrases run right / refused / run wrong, and the
    descriptions of unknown tasks refused / run (a report without paraphrases counts none)."""
    entries = report["programs"].values()
    trained = [p for entry in entries for p in entry["trained"]]
    held_out = [p for entry in entries for p in entry["held_out"]]
    paraphrases = report.get("paraphrases", [])
    unknown = report["unknown"]
    counts = {
        "trained phrasings decoded exactly": [sum(p["decoded_exactly"] for p in trained), len(trained)],
        "trained phrasings run right": [sum(p["runs_right"] for p in trained), len(trained)],
        "right outputs, trained phrasings": [sum(p["correct_outputs"] for p in trained),
                                             sum(p["inputs"] for p in trained)],
    }
    for label, phrasings in (("held-out phrasings", held_out), ("paraphrases", paraphrases)):
        counts[f"{label} run right"] = [sum(p["runs_right"] for p in phrasings), len(phrasings)]
        counts[f"{label} refused"] = [sum(p["decision"] == "refused" for p in phrasings), len(phrasings)]
        counts[f"{label} run wrong"] = [sum(p["runs_wrong"] for p in phrasings), len(phrasings)]
    counts["unknown descriptions refused"] = [sum(u["refused"] for u in unknown), len(unknown)]
    counts["unknown descriptions run"] = [sum(not u["refused"] for u in unknown), len(unknown)]
    return counts


def release_is_exact(metrics: dict) -> bool:
    """Whether every trained phrasing decodes exactly and runs right (halted, as its program, every output right),
    and every unknown description is refused."""
    keys = ("trained phrasings decoded exactly", "trained phrasings run right", "right outputs, trained phrasings",
            "unknown descriptions refused")
    return all(metrics[key][0] == metrics[key][1] for key in keys if key in metrics)


# model-index metric type of each count (https://hf.co/metrics names where one fits).
_METRIC_TYPES = {
    "trained phrasings decoded exactly": "exact_match",
    "trained phrasings run right": "accuracy",
    "right outputs, trained phrasings": "accuracy",
    "right outputs on random inputs, trained phrasings": "accuracy",  # reports written before declared tests
    "held-out phrasings run right": "accuracy",
    "held-out phrasings refused": "refusal_rate",
    "held-out phrasings run wrong": "error_rate",
    "paraphrases run right": "accuracy",
    "paraphrases refused": "refusal_rate",
    "paraphrases run wrong": "error_rate",
    "unknown descriptions refused": "refusal_rate",
    "unknown descriptions run": "error_rate",
}


def eval_results(metrics: dict, num_programs: int) -> list[EvalResult]:
    """`release_metrics` as `model-index` results (fractions), for `ModelCardData(eval_results=...)`."""
    return [
        EvalResult(task_type=TASK_TYPE, task_name="Running memorized subleq programs", dataset_type=DATASET_TYPE,
                   dataset_name=f"Synthesizer program library ({num_programs} programs)",
                   metric_type=_METRIC_TYPES[name], metric_name=name,
                   metric_value=round(count / total, 4) if total else 0.0)
        for name, (count, total) in metrics.items()
    ]


def program_table(known_programs: Sequence[dict]) -> str:
    """Markdown: each of a checkpoint's `known_programs` with its first description, its inputs and outputs (name:
    cells), and its own instructions (without the HALT padding)."""
    lines = ["| program | run it as | inputs (cells) | outputs (cells) | instructions |",
             "| --- | --- | --- | --- | ---: |"]

    def cells(named):
        return ", ".join(f"`{name}` ({length})" for name, (_, length) in (named or {}).items())

    for entry in known_programs:
        instructions = [tuple(instruction) for instruction in entry["instructions"]]
        while instructions and instructions[-1] == PADDING_INSTRUCTION:
            instructions.pop()
        lines.append(f"| {entry['name']} | \"{entry['descriptions'][0]}\" | {cells(entry.get('inputs'))} | "
                     f"{cells(entry.get('outputs'))} | {len(instructions)} |")
    return "\n".join(lines)


def release_usage(examples: list[tuple[str, dict, dict]], refused: str | None):
    """
    The card's usage code: load the checkpoint by name, run each `(description, inputs, expected outputs)` of
    `examples` on its named inputs and print `description inputs -> outputs`; then, given `refused` (an unknown
    description this checkpoint refuses), show the refusal (`refused: ...`).
    """

    def usage(repo_id: str) -> str:
        lines = [
            "from transformers import AutoModel, pipeline",
            "",
            f'model = AutoModel.from_pretrained("{repo_id}", trust_remote_code=True)',
            f'run = pipeline("subleq-execution", model="{repo_id}", trust_remote_code=True)',
            'print(len(model.config.known_programs), "programs:", '
            '", ".join(program["name"] for program in model.config.known_programs))',
            "",
            "examples = [",
        ]
        for description, inputs, expected in examples:
            lines.append(f"    ({description!r}, {inputs!r}),  # -> {expected}")
        lines += [
            "]",
            "for description, inputs in examples:",
            "    result = run(description, inputs=inputs)  # also: result['memory'], result['steps']",
            '    print(description, inputs, "->", result["outputs"])',
        ]
        if refused is not None:
            lines += [
                "",
                "try:  # a description it was not trained on, and close to none of its programs",
                f"    run({refused!r})",
                "except ValueError as refusal:  # RunRefused",
                '    print("refused:", refusal)',
            ]
        return "\n".join(lines)

    return usage


def card_examples(programs: Sequence[LibraryProgram], phrasings: dict, input_seed: int) -> list[tuple]:
    """`(first trained description, inputs, expected outputs)` of each program that has a run to show: its first
    declared test, or else its first random input of `program_inputs`; both are among the runs the evaluation
    checks."""
    examples = []
    for program in programs:
        tests = getattr(program, "tests", ())
        if tests:
            examples.append((phrasings[program.name]["trained"][0], dict(tests[0].inputs), dict(tests[0].outputs)))
            continue
        for values in program_inputs(program, input_seed, 1):
            examples.append((phrasings[program.name]["trained"][0], values, program.reference(**values)))
    return examples


def release_card(config, programs: Sequence[LibraryProgram], phrasings: dict, data_memory_size: int,
                 max_program_length: int, input_seed: int, training_settings: dict,
                 script: str = "examples/build_synthesizer_bert_256.py") -> ModelCardSpec:
    """A library checkpoint's card: a table of every program it knows (`config.known_programs`), its usage running
    `card_examples` of `programs` (the ones just taught); once the evaluation is done, set its usage again with a
    refused description (`release_usage`) and fill `results` and `eval_results`. `data_memory_size` and
    `max_program_length` are kept for callers; the table reads k and L's programs from the config."""
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=(
            f"Runs {len(config.known_programs)} programs, each named by a few natural-language "
            "descriptions, on named inputs: `run(description, inputs={...})` writes the inputs into the program's "
            "data memory, runs the program the network decodes, and returns `outputs` (read from the program's "
            "output cells) beside `memory`, `steps` and `halt_reason`. A description runs only when it is one of "
            "the trained descriptions below (`config.known_programs`); anything else raises `RunRefused` (a "
            "`ValueError`). Passing `min_margin=10, min_match_confidence=0.1` opts in to matching an unseen phrasing "
            "to the known program most likely under the network; the Results show how often that goes wrong. "
            "Every input a program declares must be given: a run with none of them (and no `memory`) is refused, "
            "naming them.\n\n"
            + program_table(config.known_programs)
        ),
        usage=release_usage(card_examples(programs, phrasings, input_seed), None),
        script=script,
        training_settings=training_settings,
    )


__all__ = [
    "PARAPHRASES",
    "UNKNOWN_DESCRIPTIONS",
    "card_examples",
    "eval_results",
    "evaluate_library",
    "evaluate_phrasing",
    "expected_program",
    "ExpectedProgram",
    "is_refusal",
    "known_expected_program",
    "oversampled_rows",
    "program_inputs",
    "program_table",
    "release_card",
    "release_is_exact",
    "release_metrics",
    "release_usage",
    "run_named",
    "runs_right",
]
