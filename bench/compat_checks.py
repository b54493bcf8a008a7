# Copyright 2026 The Synthesizer authors. Licensed under the Apache License, Version 2.0.
"""The checks of `bench/compat.py`, run in one Python process: what a user with only torch and transformers does with
a release checkpoint and a memorization checkpoint. Writes one JSON object to `--report`: check name ->
`{"ok": true, "value"}` or `{"ok": false, "error", "traceback"}`.

    python -I bench/compat_checks.py --release DIR --memorized DIR --report FILE
    PYTHONPATH=. python -s -P bench/compat_checks.py --release DIR --memorized DIR --report FILE --package

Without `--package` (the clean environments), everything loads through the checkpoints' own code
(`trust_remote_code=True`). With `--package`, the package's classes (importable on `PYTHONPATH`) load the folders
instead, which
gives the outputs the others are compared with; the checks by repo id and the model cards' code (verbatim, so remote
code) run the same way in both.

The repo ids are read from `hub_repo_id` in each folder's `compat.json`; `HF_HOME` must name a cache that holds them
(`HF_HUB_OFFLINE=1`). This file imports only the standard library, torch and transformers: it runs in environments
where nothing of this project is installed.
"""

import argparse
import contextlib
import io
import json
import random
import re
import sys
import traceback
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModel, AutoTokenizer, pipeline


TASK = "subleq-execution"
CHECKS = ("config", "model", "tokenizer", "hub_cache", "pipeline", "named_io", "refusals", "traces", "model_card")
# The data memory of the memorization checkpoint's runs (k = 256 cells), as its card writes one.
MEMORY_RULE = (7, 13, 6)  # cell i holds (7 i) % 13 - 6
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
UNKNOWN = "translate this sentence into French"


class Loader:
    """Loads a checkpoint folder through its own code, or (with `package`) through the installed package."""

    def __init__(self, package: bool):
        self.use_package = package

    @property
    def package(self):
        """The package, imported at first use (so that a release it refuses fails each check), or None."""
        if not self.use_package:
            return None
        import modeling_synthesizer

        return modeling_synthesizer

    def config(self, path):
        if self.package:
            return self.package.SynthesizerConfig.from_pretrained(path)
        return AutoConfig.from_pretrained(path, trust_remote_code=True)

    def model(self, path):
        if self.package:
            return self.package.SynthesizerForSubleq.from_pretrained(path).eval()
        return AutoModel.from_pretrained(path, trust_remote_code=True).eval()

    def pipeline(self, path):
        if self.package:
            return pipeline(TASK, model=self.model(path), tokenizer=str(path))
        return pipeline(TASK, model=str(path), trust_remote_code=True)


def describe_config(config) -> dict:
    return {
        "class": type(config).__name__,
        "model_type": config.model_type,
        "backbone": config.get_text_config().model_type,
        "data_memory_size": config.data_memory_size,
        "max_program_length": config.max_program_length,
        "pooling": config.pooling,
        "known_programs": [program["name"] for program in config.known_programs or []],
        "input": config.format_input(3, "add two numbers"),
    }


def descriptions_of(config) -> list[str]:
    return [program["descriptions"][0] for program in config.known_programs]


def encode(tokenizer, config, description: str) -> dict:
    texts = [config.format_input(pc, description) for pc in range(1, config.max_program_length + 1)]
    return tokenizer(texts, add_special_tokens=config.add_special_tokens, padding=True, return_tensors="pt")


def describe_model(model, tokenizer) -> dict:
    """The class and the three heads' logits on every instruction of every known program's first description."""
    config, logits = model.config, {}
    with torch.no_grad():
        for description in descriptions_of(config):
            outputs = model(**encode(tokenizer, config, description))
            logits[description] = [outputs.a_logits.tolist(), outputs.b_logits.tolist(), outputs.c_logits.tolist()]
    return {"class": type(model).__name__, "logits": logits}


def describe_tokenizer(tokenizer, config) -> dict:
    return {
        "class_is_fast": bool(getattr(tokenizer, "is_fast", False)),
        "vocab_size": len(tokenizer),
        "ids": {description: encode(tokenizer, config, description)["input_ids"].tolist()
                for description in descriptions_of(config)},
    }


def memory(config) -> list[int]:
    factor, modulus, shift = MEMORY_RULE
    return [(factor * i) % modulus - shift for i in range(config.data_memory_size)]


def plain(result) -> dict:
    """A pipeline result with its floats rounded where numerics may differ across releases (confidences)."""
    return json.loads(json.dumps(result))


def described(error: Exception) -> dict:
    """What a user sees of an error: its type, whether it is a ValueError, its message."""
    return {"type": type(error).__name__, "value_error": isinstance(error, ValueError), "message": str(error)}


def outcome(call) -> dict:
    """`{"result": ...}` of `call()`, or `{"error": ...}` when it raises (a refusal is an outcome to compare too)."""
    try:
        return {"result": plain(call())}
    except Exception as error:  # noqa: BLE001 - recorded, and compared like a result
        return {"error": described(error)}


def error_of(call) -> dict:
    """The error `call()` raises, or `{"type": None}` when it runs."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the check records what a user would see
        return described(error)
    return {"type": None}


def random_inputs(program: dict, rng: random.Random) -> dict:
    """Named input values of `program`: an int for one cell, a list for an array."""
    values = {}
    for name, (_, length) in sorted(program["inputs"].items()):
        cells = [rng.randint(-30, 30) for _ in range(length)]
        values[name] = cells[0] if length == 1 else cells
    return values


class Checks:
    def __init__(self, loader: Loader, release: Path, memorized: Path):
        self.loader, self.release, self.memorized = loader, release, memorized
        self.repo_ids = {folder: json.loads((folder / "compat.json").read_text())["hub_repo_id"]
                         for folder in (release, memorized)}

    def config(self):
        return {folder.name: describe_config(self.loader.config(folder)) for folder in (self.release, self.memorized)}

    def model(self):
        described = {}
        for folder in (self.release, self.memorized):
            described[folder.name] = describe_model(self.loader.model(folder), AutoTokenizer.from_pretrained(folder))
        return described

    def tokenizer(self):
        return {folder.name: describe_tokenizer(AutoTokenizer.from_pretrained(folder), self.loader.config(folder))
                for folder in (self.release, self.memorized)}

    def hub_cache(self):
        """By repo id, as the cards load them: the config, the model's logits, the tokenizer and one pipeline run."""
        described = {}
        for folder, repo_id in self.repo_ids.items():
            config = AutoConfig.from_pretrained(repo_id, trust_remote_code=True)
            model = AutoModel.from_pretrained(repo_id, trust_remote_code=True).eval()
            tokenizer = AutoTokenizer.from_pretrained(repo_id)
            run = pipeline(TASK, model=repo_id, trust_remote_code=True)
            description = descriptions_of(config)[0]
            described[folder.name] = {
                "config": describe_config(config),
                "model": describe_model(model, tokenizer),
                "tokenizer": describe_tokenizer(tokenizer, config),
                "run": outcome(lambda: run(description, max_steps=1000)),
            }
        return described

    def pipeline(self):
        """Every memorized program, by each strategy, one at a time and batched; a generator; whole decodes."""
        run = self.loader.pipeline(self.memorized)
        config = run.model.config
        descriptions, cells = descriptions_of(config), memory(config)
        ran = {}
        for strategy in ("lazy", "decoded", "stepwise"):
            ran[strategy] = [plain(run(description, memory=cells, max_steps=1000, strategy=strategy))
                             for description in descriptions]
            ran[f"{strategy}, batch_size 2"] = plain(run(descriptions, memory=cells, max_steps=1000,
                                                         strategy=strategy, batch_size=2))
        ran["generator"] = plain(list(run((description for description in descriptions), memory=cells,
                                          max_steps=1000)))
        ran["decode_program"] = {description: [list(row) for row in run.decode_program(description)]
                                 for description in descriptions}
        return ran

    def named_io(self):
        """Every release program on random named inputs; also as a batch of input dicts, and without inputs."""
        run = self.loader.pipeline(self.release)
        rng, ran = random.Random(0), {}
        items = []
        for program in run.model.config.known_programs:
            for description in program["descriptions"]:
                inputs = random_inputs(program, rng)
                ran[f"{description} {inputs}"] = plain(run(description, inputs=inputs))
                items.append({"description": description, "inputs": inputs})
            ran[f"{program['name']} without inputs"] = outcome(lambda: run(program["descriptions"][0]))
        ran["batch"] = plain(run(items, batch_size=3))
        return ran

    def refusals(self):
        release, memorized = self.loader.pipeline(self.release), self.loader.pipeline(self.memorized)
        description = descriptions_of(release.model.config)[0]
        program = descriptions_of(memorized.model.config)[0]
        cells = memory(memorized.model.config)
        return {
            "unknown description": error_of(lambda: release(UNKNOWN)),
            "unknown in a list": error_of(lambda: release([description, UNKNOWN])),
            "unknown token": error_of(lambda: memorized("[PROG_99]", memory=cells)),
            "decode_program unknown": error_of(lambda: release.decode_program(UNKNOWN)),
            "unknown input name": error_of(lambda: release(description, inputs={"no_such_input": 1})),
            "inputs of no known program": error_of(
                lambda: release(UNKNOWN, inputs={"a": 1}, allow_unknown=True)),
            "memory of the wrong length": error_of(lambda: memorized(program, memory=[0, 1, 2])),
            "non-integer cell": error_of(lambda: memorized(program, memory=["x"] + cells[1:])),
            "unknown strategy": error_of(lambda: memorized(program, memory=cells, strategy="fastest")),
            "negative max_steps": error_of(lambda: memorized(program, memory=cells, max_steps=-1)),
            "unknown keyword": error_of(lambda: memorized(program, memory=cells, speed=3)),
            "empty description": error_of(lambda: memorized("  ", memory=cells)),
            "below min_confidence": error_of(lambda: memorized(program, memory=cells, min_confidence=1.0)),
            "allow_unknown runs": error_of(lambda: release(UNKNOWN, allow_unknown=True)),
        }

    def traces(self):
        memorized, release = self.loader.pipeline(self.memorized), self.loader.pipeline(self.release)
        config = memorized.model.config
        ran = {description: plain(memorized(description, memory=memory(config), max_steps=200, return_trace=True))
               for description in descriptions_of(config)}
        rng = random.Random(1)
        for program in release.model.config.known_programs:
            description = program["descriptions"][0]
            ran[description] = plain(release(description, inputs=random_inputs(program, rng), return_trace=True))
        return ran

    def model_card(self):
        """Each card's Python blocks, run verbatim (by repo id, from the cache); what they print."""
        printed = {}
        for folder in (self.release, self.memorized):
            code = "\n".join(PYTHON_BLOCK.findall((folder / "README.md").read_text()))
            if self.repo_ids[folder] not in code:
                raise ValueError(f"the card of {folder.name} does not load {self.repo_ids[folder]}")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{folder.name}/README.md", "exec"), {"__name__": "__main__"})
            printed[folder.name] = out.getvalue().splitlines()
        return printed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", type=Path, required=True, help="The tiny release checkpoint folder.")
    parser.add_argument("--memorized", type=Path, required=True, help="The tiny memorization checkpoint folder.")
    parser.add_argument("--report", type=Path, required=True, help="Where the JSON report goes.")
    parser.add_argument("--package", action="store_true",
                        help="Load the folders with the package's classes (`modeling_synthesizer`, importable).")
    parser.add_argument("--checks", default=",".join(CHECKS), help="Comma-separated checks to run (default: all).")
    args = parser.parse_args(argv)
    names = args.checks.split(",")
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        parser.error(f"--checks: unknown checks {unknown}; the checks are {', '.join(CHECKS)}")
    torch.manual_seed(0)
    checks = Checks(Loader(args.package), args.release.resolve(), args.memorized.resolve())
    report = {"transformers": transformers.__version__, "torch": torch.__version__, "checks": {}}
    for name in names:
        try:
            report["checks"][name] = {"ok": True, "value": getattr(checks, name)()}
        except Exception as error:  # one check's failure must not hide the others'
            report["checks"][name] = {"ok": False, "error": f"{type(error).__name__}: {error}",
                                      "traceback": traceback.format_exc(limit=-4)}
    args.report.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
