"""What a results file records about its run (the command that reproduces it and the machine it ran on), with every
secret redacted, and how the scripts write such files (atomically, so that a crash never leaves half of one)."""

import json
import os
import platform
import re
import shlex
import sys
import tempfile

import torch
import transformers


REDACTED = "<redacted>"
# Environment variables a recorded command starts with: those that change what a run computes or how fast.
RECORDED_ENVIRONMENT = ("OMP_NUM_THREADS",)


def is_secret_name(name: str) -> bool:
    """
    Whether an argument, setting or environment variable called `name` holds a secret: one of its words (split at
    `_`, `-` or any other non-alphanumeric character) ends in `token` or `key` (`--hub_token`, `HF_TOKEN`,
    `WANDB_API_KEY`, `apikey`) or contains `secret` or starts with `passw`. `tokenizer_name` (a tokenizer, not a
    token) and counts such as `include_num_input_tokens_seen` are not secrets.
    """
    words = re.split(r"[^a-z0-9]+", name.lower())
    return any(word.endswith(("token", "key")) or "secret" in word or word.startswith("passw") for word in words)


def redact_argv(argv: list[str]) -> list[str]:
    """`argv` with the value of every secret option (`is_secret_name`) replaced by `<redacted>`, in both forms:
    `--hub_token VALUE` and `--hub_token=VALUE`."""
    redacted, hide_next = [], False
    for arg in argv:
        if hide_next:
            redacted.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and is_secret_name(arg.lstrip("-").partition("=")[0]):
            option, has_value, _ = arg.partition("=")
            if has_value:
                arg = f"{option}={REDACTED}"
            else:
                hide_next = True
        redacted.append(arg)
    return redacted


def redact_environment(environment: dict[str, str]) -> dict[str, str]:
    """`environment` with the value of every secret variable (`is_secret_name`) replaced by `<redacted>`."""
    return {name: REDACTED if is_secret_name(name) else value for name, value in environment.items()}


def redact_settings(settings):
    """A copy of `settings` (JSON-like: dicts, lists, values) in which the value of every secret key
    (`is_secret_name`), at any depth, is `<redacted>`."""
    if isinstance(settings, dict):
        return {key: REDACTED if isinstance(key, str) and is_secret_name(key) and value is not None
                else redact_settings(value) for key, value in settings.items()}
    if isinstance(settings, list | tuple):
        return [redact_settings(value) for value in settings]
    return settings


def redact_command(command: str) -> str:
    """A recorded command line (`NAME=value ... python script.py --flag value ...`) with its secret environment
    values and option values redacted; returned unchanged when it holds none (or does not split as a shell line)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    prefix = 0
    while prefix < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[prefix]):
        prefix += 1
    environment = redact_environment(dict(word.split("=", 1) for word in words[:prefix]))
    arguments = redact_argv(words[prefix:])
    if [f"{name}={value}" for name, value in environment.items()] + arguments == words:
        return command
    return "".join(f"{name}={shlex.quote(value)} " for name, value in environment.items()) + shlex.join(arguments)


def redact_results(results: dict) -> dict:
    """A copy of a run's results file (`results`) to commit elsewhere: every secret setting (`redact_settings`) and
    its recorded `command` (`redact_command`) redacted. A run writes its results redacted already; a results file of
    an older run may not be, and nothing committed may hold a token."""
    results = redact_settings(results)
    if isinstance(results.get("command"), str):
        results["command"] = redact_command(results["command"])
    return results

def launch_command(script: str, argv: list[str] | None = None) -> str:
    """`python <script> <arguments>` of this run (with `OMP_NUM_THREADS=...` when it is set), as a results file
    records it, secrets redacted (`redact_argv`, `redact_environment`). `script` is the path from the repository
    root, e.g. `examples/build_synthesizer_bert_256.py`."""
    command = f"python {script} " + shlex.join(redact_argv(sys.argv[1:] if argv is None else list(argv)))
    environment = redact_environment({name: os.environ[name] for name in RECORDED_ENVIRONMENT
                                      if os.environ.get(name)})
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in environment.items())
    return (prefix + command).rstrip()


def machine_description() -> str:
    """The CPU, its cores and its load as the run starts (shared machines are slower), and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, load average {load:.1f} at start, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, Python "
            f"{platform.python_version()}")


class PicklesWithoutSecrets:
    """
    A mixin for `TrainingArguments`: pickled, the arguments leave out the value of every secret field
    (`is_secret_name`: `hub_token`). The Trainer pickles its arguments into `training_args.bin` in every checkpoint
    and in `output_dir`, and `push_to_hub` uploads that file; in the process, `args.hub_token` stays set, so pushing
    still authenticates with it.
    """

    def __getstate__(self):
        state = dict(self.__dict__)
        for name, value in state.items():
            if value is not None and is_secret_name(name):
                state[name] = None
        return state


def write_json_atomic(path: str, payload, **dump_kwargs) -> None:
    """
    Writes `payload` as JSON to `path` through a temporary file in the same folder and `os.replace`: a reader (or a
    rerun after a crash) sees the old file or the whole new one, never a truncated one.

    Raises:
        OSError: if the folder cannot be written.
        TypeError: if `payload` is not JSON-serializable (nothing is written then).
    """
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(payload, f, **dump_kwargs)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
