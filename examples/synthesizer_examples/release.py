"""The release checkpoint `synthesizer-bert-256` (`examples/build_synthesizer_bert_256.py`): its training rows, its
evaluation through the pipeline as a user runs it (by description, on named inputs), and its model card.

- `oversampled_rows`: the rows of one epoch, each program's own instructions repeated so that the HALT padding
  (most of the L = 256 rows of every program) does not dominate training.
- `evaluate_release`: every phrasing (trained and held out) and every paraphrase (`PARAPHRASES`) decoded, matched
  and run on random named inputs, each result's `outputs` compared with the program's Python reference; descriptions
  of tasks the library does not have (`UNKNOWN_DESCRIPTIONS`) must be refused.
- `release_metrics` / `eval_results`: the counts of that report, and the same as `model-index` results.
- `release_card`: the card, with a table of what the checkpoint runs and usage code that runs as written.

Not part of the remote code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from huggingface_hub import EvalResult

from modeling_synthesizer.program_library import LibraryProgram

from .library import padded_program
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
    """`count` random inputs of `program` (the same for every phrasing, and for the card), drawn with `seed`."""
    rng = random.Random(f"{seed}-{program.name}")
    return [program.random_inputs(rng) for _ in range(count)]


def _is_machine_error(error: Exception) -> bool:
    # The pipeline loaded with trust_remote_code raises its own copy of SubleqError: compare by name.
    return any(cls.__name__ == "SubleqError" for cls in type(error).__mro__)


def run_named(pipe, description: str, inputs: list[dict], max_steps: int, **matching) -> list[dict | None]:
    """The pipeline's results for `description` on each of `inputs` (named input values), in one batch; a run that
    overflows int64 (only a wrongly decoded program can) is None. `matching`: the pipeline's opt-in `min_margin`
    and `min_match_confidence`.

    Raises:
        ValueError: any other error of the pipeline (a refusal, a bad input).
    """
    items = [{"description": description, "inputs": values} for values in inputs]
    try:
        return pipe(items, max_steps=max_steps, batch_size=len(items), **matching)
    except ValueError as error:
        if not _is_machine_error(error):
            raise
    results = []  # one overflow fails the whole batch: run one by one
    for item in items:
        try:
            results.append(pipe(item, max_steps=max_steps, **matching))
        except ValueError as error:
            if not _is_machine_error(error):
                raise
            results.append(None)
    return results


def _most_likely(match: dict) -> str | None:
    # Scores (best first) exist for descriptions matched or refused by likelihood, not for trained ones.
    return next(iter(match["scores"]), None) if match["scores"] else match["program"]


def evaluate_phrasing(pipe, program: LibraryProgram, padded: list[tuple], description: str, inputs: list[dict],
                      max_steps: int, matching: dict) -> dict:
    """
    One phrasing as a user runs it: what the network decodes from it as given, which known program the pipeline
    matches it to with the opt-in `matching` thresholds (or whether it refuses it), and how many runs on named
    `inputs` end with the reference's outputs.
    A phrasing "runs wrong" when the pipeline runs it (not refused) and any output is wrong, or it runs as another
    program: the silent wrong answers that matching must prevent.
    """
    decoded = [tuple(instruction) for instruction in pipe.decode_program(description, allow_unknown=True)]
    match = pipe.match_program(description, **matching)
    correct = 0
    if match["how"] != "refused" and match["program"] == program.name:
        results = run_named(pipe, description, inputs, max_steps, **matching)
        correct = sum(result is not None and result["halt_reason"] == "halt"
                      and result["outputs"] == program.reference(**values)
                      for result, values in zip(results, inputs))
    refused = match["how"] == "refused"
    return {
        "description": description,
        "decoded_exactly": decoded == padded,
        "wrong_instructions": sum(d != t for d, t in zip(decoded, padded)),
        "decision": match["how"],  # "exact" (a trained phrasing), "likely" or "refused"
        "runs_as": match["program"],
        "most_likely": _most_likely(match),
        "margin": match["margin"],
        "runs_right": not refused and correct == len(inputs),
        "runs_wrong": not refused and correct < len(inputs),
        "correct_outputs": int(correct),
        "inputs": len(inputs),
    }


def evaluate_release(pipe, programs: Sequence[LibraryProgram], phrasings: dict, data_memory_size: int,
                     max_program_length: int, num_inputs: int, input_seed: int, max_steps: int,
                     unknown_descriptions: Sequence[str], matching: dict, paraphrases: dict | None = None) -> dict:
    """
    The release's report: per program, every trained and held-out phrasing and every paraphrase
    (`evaluate_phrasing`) on the same `num_inputs` random named inputs; and whether each of `unknown_descriptions` is
    refused.

    Args:
        pipe: a `subleq-execution` pipeline of the saved checkpoint.
        phrasings: program name -> `{"trained": [...], "held_out": [...]}`.
        matching: the opt-in `min_margin` and `min_match_confidence` the unseen descriptions are matched with (the
            checkpoint's default refuses every one of them).
        paraphrases: program name -> paraphrases of it; defaults to `PARAPHRASES` of the programs evaluated.
    """
    if paraphrases is None:
        paraphrases = {program.name: PARAPHRASES[program.name] for program in programs if program.name in PARAPHRASES}
    report = {"programs": {}, "paraphrases": [], "unknown": []}
    for program in programs:
        padded = padded_program(program, data_memory_size, max_program_length)
        inputs = program_inputs(program, input_seed, num_inputs)
        entry = {"instructions": len(program.assemble(data_memory_size, max_program_length).program)}
        for split in ("trained", "held_out"):
            entry[split] = [evaluate_phrasing(pipe, program, padded, description, inputs, max_steps, matching)
                            for description in phrasings[program.name][split]]
        report["programs"][program.name] = entry
        report["paraphrases"] += [
            {"program": program.name,
             **evaluate_phrasing(pipe, program, padded, description, inputs, max_steps, matching)}
            for description in paraphrases.get(program.name, ())
        ]
    for description in unknown_descriptions:
        match = pipe.match_program(description, **matching)
        report["unknown"].append({"description": description, "refused": match["how"] == "refused",
                                  "runs_as": match["program"], "most_likely": _most_likely(match),
                                  "margin": match["margin"]})
    return report


def release_metrics(report: dict) -> dict:
    """The report's counts: `{name: [count, out of]}` for exact decoding and right outputs of the trained phrasings,
    the held-out phrasings and the paraphrases run right / refused / run wrong, and the descriptions of unknown tasks
    refused / run (a report without paraphrases, from an earlier build, counts none)."""
    entries = report["programs"].values()
    trained = [p for entry in entries for p in entry["trained"]]
    held_out = [p for entry in entries for p in entry["held_out"]]
    paraphrases = report.get("paraphrases", [])
    unknown = report["unknown"]
    counts = {
        "trained phrasings decoded exactly": [sum(p["decoded_exactly"] for p in trained), len(trained)],
        "right outputs on random inputs, trained phrasings": [sum(p["correct_outputs"] for p in trained),
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
    """Whether every trained phrasing decodes exactly and every run of one ends with the right outputs."""
    return all(count == total for count, total in (metrics["trained phrasings decoded exactly"],
                                                   metrics["right outputs on random inputs, trained phrasings"]))


# model-index metric type of each count (https://hf.co/metrics names where one fits).
_METRIC_TYPES = {
    "trained phrasings decoded exactly": "exact_match",
    "right outputs on random inputs, trained phrasings": "accuracy",
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


def program_table(programs: Sequence[LibraryProgram], phrasings: dict, data_memory_size: int,
                  max_program_length: int) -> str:
    """Markdown: each program with its first description, its inputs and outputs (name: cells), its size."""
    lines = ["| program | run it as | inputs (cells) | outputs (cells) | instructions |",
             "| --- | --- | --- | --- | ---: |"]
    for program in programs:
        assembled = program.assemble(data_memory_size, max_program_length)

        def cells(named):
            return ", ".join(f"`{name}` ({length})" for name, (_, length) in named.items())

        lines.append(f"| {program.name} | \"{phrasings[program.name]['trained'][0]}\" | {cells(assembled.inputs)} | "
                     f"{cells(assembled.outputs)} | {len(assembled.program)} |")
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
    """`(first trained description, inputs, expected outputs)` of each program: its first random input of
    `program_inputs`, one of those the evaluation runs."""
    examples = []
    for program in programs:
        values = program_inputs(program, input_seed, 1)[0]
        examples.append((phrasings[program.name]["trained"][0], values, program.reference(**values)))
    return examples


def release_card(config, programs: Sequence[LibraryProgram], phrasings: dict, data_memory_size: int,
                 max_program_length: int, input_seed: int, training_settings: dict) -> ModelCardSpec:
    """The release's card, its usage running `card_examples`; once the evaluation is done, set its usage again with
    a refused description (`release_usage`) and fill `results` and `eval_results`."""
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=(
            f"Runs {len(programs)} programs of the Synthesizer program library, each named by a few natural-language "
            "descriptions, on named inputs: `run(description, inputs={...})` writes the inputs into the program's "
            "data memory, runs the program the network decodes, and returns `outputs` (read from the program's "
            "output cells) beside `memory`, `steps` and `halt_reason`. A description runs only when it is one of "
            "the trained descriptions below (`config.known_programs`); anything else raises `RunRefused` (a "
            "`ValueError`). Passing `min_margin=10, min_match_confidence=0.1` opts in to matching an unseen phrasing "
            "to the known program most likely under the network; the Results show how often that goes wrong. "
            "Every input a program declares must be given: a run with none of them (and no `memory`) is refused, "
            "naming them.\n\n"
            + program_table(programs, phrasings, data_memory_size, max_program_length)
        ),
        usage=release_usage(card_examples(programs, phrasings, input_seed), None),
        script="examples/build_synthesizer_bert_256.py",
        training_settings=training_settings,
    )


__all__ = [
    "PARAPHRASES",
    "UNKNOWN_DESCRIPTIONS",
    "card_examples",
    "eval_results",
    "evaluate_phrasing",
    "evaluate_release",
    "oversampled_rows",
    "program_inputs",
    "program_table",
    "release_card",
    "release_is_exact",
    "release_metrics",
    "release_usage",
    "run_named",
]
