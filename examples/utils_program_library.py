"""Evaluating a saved program-library checkpoint: what `examples/run_program_library.py` (and
`examples/build_synthesizer_bert_256.py`, which calls it) does with the folder it saved. It lives apart, as
transformers' `run_qa.py` keeps its post-processing in `utils_qa.py`, so that the script reads top to bottom as
arguments, library, tokenizer, datasets, model, Trainer, save, results.

- The one evaluation (`evaluate_saved`): the folder is loaded as a user loads it (`pipeline("subleq-execution",
  model=<folder>, trust_remote_code=True)`) and every trained and held-out phrasing, the paraphrases and the
  descriptions of unknown tasks (`program_library_evaluation.json`, next to this file) are run with one definition
  of a right run (`runs_right`). `release_metrics` counts the report; `release_is_exact` says whether a build passes.
- The count-the-ones baselines (`--baselines`, `run_baseline`): networks with the backbone's sizes map a bit sequence
  as text ("1 0 1 1") to its number of ones, trained end to end on every sequence of length <= 8 but a held-out
  quarter of the length-8 ones; evaluated on those held out and on random sequences of lengths 16 and 32, where the
  Synthesizer runs `count_ones_32` on the same inputs, zero-padded to 32 bits.
- The model card's text (`release_card`, `fill_card`): the program table, usage code that runs as written, and the
  results as `model-index` metadata.

The scripts import it as `from utils_program_library import ...`: `python examples/run_program_library.py` puts the
script's own folder first on sys.path, and pytest has `examples/` on its pythonpath. Bench scripts read the results
file instead.
"""

import itertools
import json
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from huggingface_hub import EvalResult
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from modeling_synthesizer.program_library import LibraryProgram, load_program
from modeling_synthesizer.subleq import run_subleq
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.model_card import ModelCardSpec, synthesizer_summary


logger = logging.getLogger(__name__)

# Descriptions written for the evaluation, not for training: `paraphrases` (four per built-in program, as a user might
# ask for the task; none is one of the library's own descriptions, trained or held out), which matching must run as
# their program or refuse, never as another; and `unknown_descriptions`, tasks no library program does, which a
# release must refuse rather than run its nearest program (a few far from every program, the weather or a joke; most
# near misses, a library task's words around another task: the minimum of the list, the zeros in the bits).
EVALUATION_DATA = Path(__file__).with_name("program_library_evaluation.json")
with open(EVALUATION_DATA, encoding="utf-8") as file:
    _evaluation_data = json.load(file)
UNKNOWN_DESCRIPTIONS = tuple(_evaluation_data["unknown_descriptions"])
PARAPHRASES = {name: tuple(texts) for name, texts in _evaluation_data["paraphrases"].items()}


# What a checkpoint must decode and run

# Instructions past a program's end are (0, 0, 0): HALT. Library programs always halt on their own (the assembler
# encodes the last instruction's fall-through as C = 0), so the padding is never executed; training it too makes
# the decoded L-instruction program comparable, exactly, with the assembled one.
PADDING_INSTRUCTION = (0, 0, 0)


def padded_program(program: LibraryProgram, data_memory_size: int, max_program_length: int) -> list[tuple]:
    """The assembled program (k = `data_memory_size`) padded with HALT (0, 0, 0) to `max_program_length` instructions.

    Raises:
        AssemblyError: if the program does not fit k cells or L instructions.
    """
    instructions = program.assemble(data_memory_size, max_program_length).program
    return list(instructions) + [PADDING_INSTRUCTION] * (max_program_length - len(instructions))


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


# Running descriptions through the pipeline

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


# The evaluation: trained and held-out phrasings, paraphrases, unknown descriptions

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


def _is_builtin(program) -> bool:
    # The paraphrases are written for the built-in programs: a user's program of the same name is another task.
    try:
        return load_program(program.name).source == program.source
    except KeyError:
        return False


def evaluate_saved(output_dir: str, model_args, data_args, training_args, tokenizer, programs, phrasings,
                   seconds: dict) -> tuple[dict, dict | None]:
    """`(report, baseline)`: the report of the one evaluation (`evaluate_library`) of the checkpoint saved in
    `output_dir`, loaded with its own code as a user loads it (the known programs it was taught from, then the
    library's), and the end-to-end baselines' comparison (or None)."""
    # The folder's own code, as a user loads it (config.json names the pipeline in custom_pipelines).
    pipe = pipeline("subleq-execution", model=output_dir, trust_remote_code=True, device=-1)
    start = time.time()
    k, length = data_args.data_memory_size, data_args.max_program_length
    targets = [known_expected_program(entry, data_args.max_steps_per_run) for entry in data_args.known]
    targets += [expected_program(program, k, length, data_args.input_seed, data_args.num_inputs)
                for program in programs]
    all_phrasings = {entry["name"]: {"trained": list(entry["descriptions"]), "held_out": []}
                     for entry in data_args.known}
    all_phrasings.update(phrasings)
    paraphrases = {program.name: PARAPHRASES[program.name] for program in programs
                   if program.name in PARAPHRASES and _is_builtin(program)}
    report = evaluate_library(pipe, targets, all_phrasings, data_args.max_steps_per_run,
                              {"min_margin": model_args.min_margin,
                               "min_match_confidence": model_args.min_match_confidence},
                              data_args.unknown_descriptions, paraphrases, data_args.stepwise_check_inputs)
    seconds["evaluate"] = time.time() - start
    baseline = None
    if data_args.baseline:
        baseline = run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings)
    return report, baseline


# The report's counts, the verdict on a build, and its printed summary

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


def build_failure(results: dict, output_dir: str, results_file: str) -> str | None:
    """The error line of a build that is not exact, or None: an instruction exact match below 100%, or a trained
    phrasing (of an old or a new program) that does not decode exactly or does not run right."""
    training, counts = results["training"], results["metrics"]
    if training["final_exact_match"] == 1.0 and release_is_exact(counts):
        return None
    wrong = [f"{name}: {p['description']!r}" + (f" (refused: {p['refusal']})" if p.get("refusal") else
                                                 f" (first wrong run: {p['failures'][0]})" if p["failures"] else "")
             for name, entry in results["report"]["programs"].items() for p in entry["trained"]
             if not (p["decoded_exactly"] and p["runs_right"])]
    return (f"error: the build did not memorize every trained phrasing exactly ({counts}; instruction exact match "
            f"{training['final_exact_match']:.4f} after {training['global_step']} steps; not right: "
            f"{'; '.join(wrong[:3]) or 'none'}): nothing was pushed. Train longer (--num_train_epochs) or see "
            f"{results_file} in {output_dir}")


def print_summary(results: dict) -> None:
    """Prints a build's results: each program's phrasings decoded exactly and run right, the counts, the baselines."""
    for name, entry in results["report"]["programs"].items():
        cells = [f"{split} {sum(p['decoded_exactly'] for p in entry[split])}/{len(entry[split])} decoded exactly, "
                 f"{sum(p['runs_right'] for p in entry[split])}/{len(entry[split])} run right"
                 for split in ("trained", "held_out")]
        print(f"{name}: " + "; ".join(cells))
    for name, (count, total) in results["metrics"].items():
        print(f"{name}: {count}/{total}")
    for row in (results.get("baseline") or {}).get("rows", []):
        baselines = ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in row["baseline_accuracies"].items())
        print(f"count ones, {row['inputs']}: baselines {baselines}; Synthesizer {row['synthesizer_accuracy']:.3f}")


# The baselines: the backbone's sizes, trained end to end on bits -> count

# The program that runs the baseline's inputs: counts the ones of up to 32 bits (shorter inputs zero-padded).
LONG_COUNT_PROGRAM = "count_ones_32"
# name -> (column label, model); the counts go up to 32 (LONG_COUNT_PROGRAM's width).
BASELINES = {
    "absolute": ("{backbone}, learned absolute positions",
                 "AutoModelForSequenceClassification of the Synthesizer's backbone config: learned absolute "
                 "positions, the [CLS] pooler, 33 classes"),
    "rotary": ("RoFormer, rotary positions",
               "RoFormerForSequenceClassification with the backbone's sizes: rotary positions, the [CLS] token, "
               "33 classes"),
    "no_positions": ("{backbone}, no positions, sum pooling",
                     "AutoModel of the Synthesizer's backbone config with its position embeddings zeroed and frozen "
                     "(a bag of tokens), its outputs summed over the tokens, and a linear regression on the count, "
                     "rounded"),
}


def baseline_names(data_args) -> list[str]:
    """The `--baselines` to train (none with `--no_baseline`); raises ValueError on an unknown name."""
    if not data_args.baseline:
        return []
    names = [name.strip() for name in data_args.baselines.split(",") if name.strip()]
    unknown = [name for name in names if name not in BASELINES]
    if unknown or not names:
        raise ValueError(f"--baselines takes a comma-separated list of {', '.join(BASELINES)}, got "
                         f"{data_args.baselines!r} (--no_baseline for none)")
    return list(dict.fromkeys(names))


def bits_to_text(bits: Sequence[int]) -> str:
    """The baseline's input text: `[1, 0, 1]` -> `"1 0 1"`."""
    return " ".join(str(bit) for bit in bits)


def count_ones_splits(
    train_max_length: int = 8,
    held_out_fraction: float = 0.25,
    long_lengths: Sequence[int] = (16, 32),
    num_long: int = 1000,
    seed: int = 0,
) -> dict[str, list[list[int]]]:
    """
    Bit sequences for the count-the-ones comparison.

    - `"train"`: every sequence of length 1..`train_max_length`, except the held-out ones (the baseline learns from
      all the short sequences there are).
    - `"held_out_<train_max_length>"`: `held_out_fraction` of the sequences of length `train_max_length`, drawn
      with `seed`: same length as training, never seen.
    - `"length_<n>"` for each of `long_lengths`: `num_long` uniformly random sequences of length n (longer than any
      training sequence).

    Raises:
        ValueError: for a fraction outside (0, 1) or a long length not above `train_max_length`.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    if any(length <= train_max_length for length in long_lengths):
        raise ValueError(f"long_lengths {list(long_lengths)} must all exceed train_max_length {train_max_length}")
    rng = random.Random(seed)
    longest = [list(bits) for bits in itertools.product((0, 1), repeat=train_max_length)]
    rng.shuffle(longest)
    cut = round(len(longest) * held_out_fraction)
    held_out, kept = longest[:cut], longest[cut:]
    shorter = [list(bits) for length in range(1, train_max_length)
               for bits in itertools.product((0, 1), repeat=length)]
    splits = {"train": shorter + kept, f"held_out_{train_max_length}": held_out}
    for length in long_lengths:
        splits[f"length_{length}"] = [[rng.randint(0, 1) for _ in range(length)] for _ in range(num_long)]
    return splits


def build_count_ones_dataset(sequences: Sequence[Sequence[int]]) -> Dataset:
    """Rows `text` ("1 0 1 1") and `label` (the number of ones) for `AutoModelForSequenceClassification`."""
    return Dataset.from_dict({"text": [bits_to_text(bits) for bits in sequences],
                              "label": [int(sum(bits)) for bits in sequences]})


class NoPositionCounter(nn.Module):
    """The `no_positions` baseline: `AutoModel.from_config(config)` with its position embeddings zeroed and frozen,
    so that each token's output depends on the multiset of tokens only, summed over the non-padding tokens, and a
    linear regression on the count (mean squared error). Its `logits` are the predicted counts, shape `(batch,)`:
    unlike a classifier's, they are not bounded by the counts seen in training."""

    def __init__(self, config):
        super().__init__()
        self.backbone = AutoModel.from_config(config)
        positions = getattr(getattr(self.backbone, "embeddings", None), "position_embeddings", None)
        if not isinstance(positions, nn.Embedding):
            raise ValueError(f"the no_positions baseline needs learned position embeddings to zero "
                             f"(embeddings.position_embeddings); {config.model_type} has none")
        nn.init.zeros_(positions.weight)
        positions.weight.requires_grad_(False)
        self.head = nn.Linear(config.hidden_size, 1)

    def forward(self, input_ids, attention_mask=None, labels=None):
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        # Every token at position 0 (a zero vector): no length limit from the position table either.
        hidden = self.backbone(input_ids=input_ids, attention_mask=mask,
                               position_ids=torch.zeros_like(input_ids)).last_hidden_state
        counts = self.head((hidden * mask.unsqueeze(-1).to(hidden.dtype)).sum(1)).squeeze(-1)
        loss = None if labels is None else nn.functional.mse_loss(counts, labels.to(counts.dtype))
        return SequenceClassifierOutput(loss=loss, logits=counts)


def build_baseline(name: str, model_args, tokenizer, num_labels: int) -> nn.Module:
    """The untrained `name` baseline (see BASELINES) with the Synthesizer's backbone sizes."""
    backbone = backbone_config(model_args, tokenizer)
    if name == "absolute":
        return AutoModelForSequenceClassification.from_config(AutoConfig.for_model(**backbone, num_labels=num_labels))
    if name == "rotary":
        config = AutoConfig.for_model(**{**backbone, "model_type": "roformer"}, num_labels=num_labels)
        return AutoModelForSequenceClassification.from_config(config)
    return NoPositionCounter(AutoConfig.for_model(**backbone))


def train_baseline(name, model_args, data_args, training_args, tokenizer, train_dataset, num_labels: int):
    """`(trainer, final training loss)` of the `name` baseline, on one process."""
    set_seed(training_args.seed)
    model = build_baseline(name, model_args, tokenizer, num_labels)
    args = TrainingArguments(
        output_dir=os.path.join(training_args.output_dir, "baseline", name),
        learning_rate=data_args.baseline_learning_rate,
        num_train_epochs=data_args.baseline_epochs,
        per_device_train_batch_size=data_args.baseline_batch_size,
        per_device_eval_batch_size=training_args.per_device_eval_batch_size,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="epoch",
        seed=training_args.seed,
        use_cpu=training_args.use_cpu,
        disable_tqdm=training_args.disable_tqdm,
        log_level=training_args.log_level,
        report_to=[],
    )
    trainer = Trainer(model=model, args=args, train_dataset=train_dataset, processing_class=tokenizer)
    return trainer, trainer.train().training_loss


def predicted_counts(trainer, dataset) -> np.ndarray:
    """A baseline's counts on `dataset`: a classifier's most likely class, or a regression's rounded output."""
    predictions = np.asarray(trainer.predict(dataset).predictions)
    return predictions.argmax(-1) if predictions.ndim == 2 else np.rint(predictions).astype(int)


def compare_on(name, sequences, dataset, trainers: dict, pipe, description, width, max_steps) -> dict:
    """One row of the comparison: each baseline and the Synthesizer (zero-padded to `width` bits) on `sequences`."""
    truth = np.asarray([sum(bits) for bits in sequences])
    predicted = {baseline: predicted_counts(trainer, dataset) for baseline, trainer in trainers.items()}
    inputs = [{"bits": list(bits) + [0] * (width - len(bits))} for bits in sequences]
    try:
        results = run_named(pipe, description, inputs, max_steps)
    except ValueError as error:  # a checkpoint that does not hold the program refuses it: no run is right
        if not is_refusal(error):
            raise
        results = [None] * len(inputs)
    synthesizer = [r["outputs"]["count"] if runs_right(r, LONG_COUNT_PROGRAM, {}) else None for r in results]
    return {
        "inputs": name,
        "sequences": len(sequences),
        "lengths": sorted({len(bits) for bits in sequences}),
        "baseline_accuracies": {baseline: float((counts == truth).mean()) for baseline, counts in predicted.items()},
        "baseline_largest_counts": {baseline: int(counts.max()) for baseline, counts in predicted.items()},
        "synthesizer_accuracy": float(np.mean([s == t for s, t in zip(synthesizer, truth)])),
        "true_counts_range": [int(truth.min()), int(truth.max())],
    }


def run_baseline(model_args, data_args, training_args, tokenizer, pipe, phrasings) -> dict:
    """The baselines' comparison with the Synthesizer: each of `--baselines` trained on `count_ones_splits`, then it
    and `pipe` (`LONG_COUNT_PROGRAM` by its first trained phrasing) on every split (`compare_on`)."""
    width = load_program(LONG_COUNT_PROGRAM).inputs["bits"].length  # --baseline_long_lengths are at most this
    splits = count_ones_splits(data_args.baseline_train_max_length, data_args.baseline_held_out_fraction,
                               data_args.long_lengths(),
                               data_args.baseline_num_long, seed=data_args.input_seed)
    tokenized = {name: build_count_ones_dataset(seqs).map(lambda batch: tokenizer(batch["text"]), batched=True,
                                                          remove_columns=["text"])
                 for name, seqs in splits.items()}
    trainers, models = {}, {}
    for name in baseline_names(data_args):
        start = time.time()
        trainers[name], train_loss = train_baseline(name, model_args, data_args, training_args, tokenizer,
                                                    tokenized["train"], width + 1)  # counts 0..32
        label, model = BASELINES[name]
        models[name] = {"label": label.format(backbone=model_args.backbone_type.upper()), "model": model,
                        "global_step": trainers[name].state.global_step, "final_train_loss": train_loss,
                        "train_seconds": round(time.time() - start, 1)}
    description = phrasings[LONG_COUNT_PROGRAM]["trained"][0]
    rows = [compare_on(name, sequences, tokenized[name], trainers, pipe, description, width,
                       data_args.max_steps_per_run) for name, sequences in splits.items()]
    logger.info("baselines vs synthesizer: %s", rows)
    return {
        "task": "bit sequence as text ('1 0 1 1 ...') -> number of ones (0 to 32)",
        "models": models,
        "synthesizer_program": LONG_COUNT_PROGRAM,
        "synthesizer_description": description,
        "example_input": bits_to_text(splits["train"][-1]),
        "train_sequences": len(splits["train"]),
        "train_max_length": data_args.baseline_train_max_length,
        "epochs": data_args.baseline_epochs,
        "learning_rate": data_args.baseline_learning_rate,
        "batch_size": data_args.baseline_batch_size,
        "rows": rows,
    }


# The model card

TASK_TYPE = "subleq-execution"
DATASET_TYPE = "program-library"


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


def release_card(config, programs: Sequence[LibraryProgram], phrasings: dict, input_seed: int,
                 training_settings: dict, script: str) -> ModelCardSpec:
    """A library checkpoint's card: a table of every program it knows (`config.known_programs`), its usage running
    `card_examples` of `programs` (the ones just taught); `fill_card` completes it once the evaluation is done."""
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


def fill_card(card: ModelCardSpec, config, programs: Sequence[LibraryProgram], phrasings: dict, input_seed: int,
              report: dict, counts: dict, steps_to_100) -> None:
    """`release_card`'s card once the saved folder is evaluated: its usage also shows the refusal of an unknown
    description the checkpoint refused, and its results are the report's counts (`release_metrics`), also as
    `model-index` results, and the steps to 100% exact match."""
    refused = next((u["description"] for u in report["unknown"] if u["refused"]), None)
    card.usage = release_usage(card_examples(programs, phrasings, input_seed), refused)
    card.results.update({name: f"{count}/{total}" for name, (count, total) in counts.items()})
    card.results["steps to 100% exact match"] = steps_to_100
    card.eval_results = eval_results(counts, len(config.known_programs))
