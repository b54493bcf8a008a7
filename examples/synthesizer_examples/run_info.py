"""What a results file records about its run: the command that reproduces it and the machine it ran on."""

import os
import platform
import shlex
import sys

import torch
import transformers


def launch_command(script: str, argv: list[str] | None = None) -> str:
    """`python <script> <arguments>` of this run (with `OMP_NUM_THREADS=...` when it is set), as a results file
    records it. `script` is the path from the repository root, e.g. `examples/build_synthesizer_bert_256.py`."""
    command = f"python {script} " + shlex.join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("OMP_NUM_THREADS"):
        command = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " + command
    return command.rstrip()


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


__all__ = ["launch_command", "machine_description"]
