#!/usr/bin/env python
"""Executed subleq instructions per second: the "subleq-execution" pipeline against the bare machines.

Engines:
  1. stepwise pipeline: one forward pass per executed step (the paper's loop), all running inputs together;
  2. decoded pipeline (`strategy="decoded"`): decode the L instructions once, then run the machine; decode
     included (the default strategy, "lazy", decodes a description whole too when at least L inputs share it);
  3. reference machine: `run_subleq` on the true program, one input at a time;
  4. batched machine: `run_subleq_batch` on the true programs, all inputs in one call, default engine (on CPU
     tensors the numba kernel of `fast_subleq.py` when numba is installed, compiled in memory once at the start:
     the compile is timed and reported, and excluded from every timed run);
  5. batched machine, tensor path: the same call with `engine="tensor"` (lock step on torch tensors: the engine
     for GPU tensors, without numba, and in a checkpoint's remote code);
  6. decoded pipeline, remote code: the decoded pipeline with the fast kernel unregistered, as a process that has
     only a checkpoint's code runs it (few inputs on the reference machine, many on the tensor path).

Workloads:
  (a) one long-running program: multiplication by repeated addition (`programs/multiply.asm`, 5 instructions over
      k = 8 cells), memorized by a small Synthesizer trained here with `examples/run_program_memorization.py`,
      run on a = 3, b = 50,000: 100,002 executed steps. The stepwise pipeline is timed on its first
      `--stepwise_steps` steps only (a forward pass per step makes the whole run take minutes); its rate is
      instructions / time over those steps.
  (b) 1,000 random programs (L = 16, k = 16), one random memory each (cells in [-20, 20]; memories whose run
      would overflow int64 are redrawn), in one batch, `--batch_max_steps` budget: engines 3 and 4 (no model has
      memorized these programs, so the pipelines are not timed here). (b x 10): the same with 10 memories per
      program, 10,000 rows, to show how the batched machine scales with rows.
  (c) the memorized multiply program on 1,000 random memories (a in [0, 20], b in [0, 200]) in one batch: all
      engines; the pipelines batch the 1,000 inputs (stepwise: one forward pass per step for all running).

Every engine's final memories, step counts and halt reasons are asserted equal before anything is reported. Times
are `time.perf_counter`, best of `--repeats`. Writes `execution.json`, `execution.md` and `execution.png` to
`bench/results/`, and with `--trace_png` a picture of the memorized multiply program's trace (a = 3, b = 4).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python bench/execution.py --trace_png docs/trace.png

The default run takes a few minutes on a 2-core CPU (most of it the stepwise pipeline and the tensor path on (a)).
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch


ROOT = Path(__file__).resolve().parent.parent

from transformers import pipeline  # noqa: E402

import modeling_synthesizer.subleq as subleq_module  # noqa: E402
from modeling_synthesizer import SubleqError, SynthesizerForSubleq, run_subleq, run_subleq_batch  # noqa: E402
from modeling_synthesizer.program_library import load_program  # noqa: E402


try:
    from modeling_synthesizer import fast_subleq  # noqa: E402
except ImportError:  # numba is not installed: the batched machine runs its tensor path
    fast_subleq = None
from synthesizer_examples.memorization import build_memorization_dataset, make_random_programs  # noqa: E402


DESCRIPTION = "[MULTIPLY]"
BIG_BUDGET = 10**8  # every workload's runs end well before this; only (b) uses its own budget
TARGETS = {
    "decoded_over_stepwise": 100.0,  # (a): decoded at least 100x the stepwise pipeline
    "decoded_time_over_reference": 3.0,  # (a): decoded within 3x of the reference machine, decode included
    "batched_over_reference": 10.0,  # (b): batched machine at least 10x the reference, per executed instruction
}
ENGINES = ("stepwise pipeline", "decoded pipeline", "reference machine", "batched machine",
           "batched machine, tensor path", "decoded pipeline, remote code")


def best_of(repeats, function):
    """(best wall time in seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def as_runs(results):
    """(memory, steps, halt_reason) per input, from pipeline dicts, SubleqResults or a SubleqBatchResult."""
    if hasattr(results, "to_results"):
        results = results.to_results()
    runs = []
    for r in results:
        if isinstance(r, dict):
            runs.append((r["memory"], r["steps"], r["halt_reason"]))
        else:
            runs.append((list(r.memory), r.steps, r.halt_reason))
    return runs


def entry(engine, seconds, instructions, note=""):
    return {"engine": engine, "seconds": seconds, "instructions": instructions,
            "instructions_per_s": instructions / seconds, "note": note}


def memorize_multiply(work_dir: Path, seed: int):
    """Train a small Synthesizer on the multiply program until it reproduces all its instructions."""
    assembled = load_program("multiply").assemble(data_memory_size=8)
    program = [tuple(x) for x in assembled.program]
    records = [{"description": DESCRIPTION, "program": [list(x) for x in program]}]
    build_memorization_dataset(records).save_to_disk(str(work_dir / "data"))
    checkpoint = work_dir / "multiply"
    started = time.perf_counter()
    subprocess.run([
        sys.executable, str(ROOT / "examples" / "run_program_memorization.py"),
        "--output_dir", str(checkpoint), "--dataset_name", str(work_dir / "data"),
        "--data_memory_size", "8", "--hidden_size", "64", "--num_hidden_layers", "2", "--num_attention_heads", "2",
        "--intermediate_size", "128", "--learning_rate", "3e-3", "--dropout", "0", "--label_smoothing", "0",
        "--per_device_train_batch_size", str(len(program)), "--num_train_epochs", "500", "--save_strategy", "no",
        "--logging_strategy", "no", "--disable_tqdm", "true", "--report_to", "none", "--log_level", "warning",
        "--seed", str(seed),
    ], check=True)
    results = json.loads((checkpoint / "memorization_results.json").read_text())
    if results["final_exact_match"] != 1.0:
        raise RuntimeError(f"the multiply program was not memorized: {results}")
    training = {"global_step": results["global_step"], "train_runtime_s": results["train_runtime_s"],
                "wall_s": round(time.perf_counter() - started, 1)}
    product, _ = assembled.outputs["product"]
    model = SynthesizerForSubleq.from_pretrained(checkpoint, memory_image=list(assembled.memory), output_cell=product)
    pipe = pipeline("subleq-execution", model=model, tokenizer=str(checkpoint), device=-1)
    if pipe.decode_program(DESCRIPTION) != program:
        raise RuntimeError("decode_program differs from the multiply program")
    return assembled, program, pipe, training


def workload_a(assembled, program, pipe, args):
    memory = assembled.with_inputs(a=args.multiply_a, b=args.multiply_b)
    out = {"description": f"multiply (5 instructions, k = 8) on a = {args.multiply_a}, b = {args.multiply_b}"}
    t_ref, ref = best_of(args.repeats, lambda: run_subleq(program, memory, BIG_BUDGET))
    if ref.halt_reason != "halt" or ref.steps < 10_000:
        raise RuntimeError(f"workload (a) must halt after >= 10,000 steps, got {ref.steps} ({ref.halt_reason})")
    if assembled.read_outputs(ref.memory)["product"] != args.multiply_a * args.multiply_b:
        raise RuntimeError("the multiply program computed a wrong product")
    steps = ref.steps
    t_dec, dec = best_of(args.repeats, lambda: pipe(DESCRIPTION, memory=memory, max_steps=BIG_BUDGET,
                                                    strategy="decoded"))
    with without_fast_kernel():
        t_remote, remote = best_of(args.repeats, lambda: pipe(DESCRIPTION, memory=memory, max_steps=BIG_BUDGET,
                                                              strategy="decoded"))
    programs, memories = torch.tensor([program]), torch.tensor([memory])
    t_bat, bat = best_of(args.repeats, lambda: run_subleq_batch(programs, memories, BIG_BUDGET))
    saved = subleq_module.BATCH_TAIL_ROWS
    subleq_module.BATCH_TAIL_ROWS = 0  # keep the single row on tensors (by default it goes to the reference loop)
    try:
        t_tensor, tensor = best_of(1, lambda: run_subleq_batch(programs, memories, BIG_BUDGET, engine="tensor"))
    finally:
        subleq_module.BATCH_TAIL_ROWS = saved
    expected = as_runs([ref])
    for name, result in (("decoded", [dec]), ("batched", bat), ("batched tensor path", tensor),
                         ("decoded, remote code", [remote])):
        if as_runs(result) != expected:
            raise AssertionError(f"(a): {name} differs from the reference machine")
    if dec["output"] != args.multiply_a * args.multiply_b:
        raise AssertionError("(a): the pipeline's output is not the product")

    cap = min(args.stepwise_steps, steps)
    t_step, stepwise = best_of(1, lambda: pipe(DESCRIPTION, memory=memory, max_steps=cap, strategy="stepwise"))
    if as_runs([stepwise]) != as_runs([run_subleq(program, memory, cap)]):
        raise AssertionError("(a): stepwise differs from the reference machine on its first steps")
    small = assembled.with_inputs(a=args.multiply_a, b=20)  # a whole run, to the halt, with both strategies
    stepwise_run = pipe(DESCRIPTION, memory=small, strategy="stepwise")
    decoded_run = pipe(DESCRIPTION, memory=small, strategy="decoded")
    if not as_runs([stepwise_run]) == as_runs([decoded_run]) == as_runs([run_subleq(program, small)]):
        raise AssertionError("(a): stepwise and decoded differ on a whole run")

    out["executed_steps"] = steps
    out["engines"] = [
        entry(ENGINES[0], t_step, cap, f"first {cap:,} of the {steps:,} steps (max_steps={cap}); one run"),
        entry(ENGINES[1], t_dec, steps, "tokenize + one forward pass of L = 5 rows + batched machine"),
        entry(ENGINES[2], t_ref, steps),
        entry(ENGINES[3], t_bat, steps, f"one row; {batched_engine()}"),
        entry(ENGINES[4], t_tensor, steps, "BATCH_TAIL_ROWS = 0 (one row on tensors); one run; informational"),
        entry(ENGINES[5], t_remote, steps, "decode + reference machine (one input, no fast kernel)"),
    ]
    return out


def random_batch(num_programs, memories_per_program, length, k, max_steps, seed):
    programs = make_random_programs(num_programs, length, k, seed)
    rng = random.Random(seed + 1)
    rows_programs, rows_memories = [], []
    for program in programs:
        for _ in range(memories_per_program):
            while True:
                memory = [rng.randint(-20, 20) for _ in range(k)]
                try:
                    run_subleq(program, memory, max_steps)
                    break
                except SubleqError:  # this memory makes the program overflow int64: draw another
                    pass
            rows_programs.append(program)
            rows_memories.append(memory)
    return rows_programs, rows_memories


def workload_b(args, memories_per_program):
    length, k, n = args.program_length, args.data_memory_size, args.num_programs
    programs, memories = random_batch(n, memories_per_program, length, k, args.batch_max_steps, args.seed)
    t_ref, ref = best_of(args.repeats, lambda: [run_subleq(p, m, args.batch_max_steps)
                                                for p, m in zip(programs, memories)])
    programs_t, memories_t = torch.tensor(programs), torch.tensor(memories)
    t_bat, bat = best_of(args.repeats, lambda: run_subleq_batch(programs_t, memories_t, args.batch_max_steps))
    t_tensor, tensor = best_of(
        args.repeats, lambda: run_subleq_batch(programs_t, memories_t, args.batch_max_steps, engine="tensor")
    )
    for name, result in (("batched", bat), ("batched tensor path", tensor)):
        if as_runs(result) != as_runs(ref):
            raise AssertionError(f"(b): the {name} machine differs from the reference machine")
    reasons = {}
    for r in ref:
        reasons[r.halt_reason] = reasons.get(r.halt_reason, 0) + 1
    steps = sum(r.steps for r in ref)
    return {
        "description": f"{n:,} random programs (L = {length}, k = {k}) x {memories_per_program} random "
                       f"memor{'y' if memories_per_program == 1 else 'ies'} each = {len(programs):,} rows, "
                       f"max_steps = {args.batch_max_steps:,}",
        "rows": len(programs), "executed_steps": steps, "halt_reasons": reasons,
        "engines": [entry(ENGINES[2], t_ref, steps, "a Python loop over the rows"),
                    entry(ENGINES[3], t_bat, steps, f"one call; {batched_engine()}"),
                    entry(ENGINES[4], t_tensor, steps, "one call")],
    }


def workload_c(assembled, program, pipe, args):
    rng = random.Random(args.seed + 2)
    memories = [assembled.with_inputs(a=rng.randint(0, 20), b=rng.randint(0, 200)) for _ in range(args.batch_inputs)]
    inputs = [{"description": DESCRIPTION, "memory": m} for m in memories]
    t_ref, ref = best_of(args.repeats, lambda: [run_subleq(program, m, BIG_BUDGET) for m in memories])
    programs_t, memories_t = torch.tensor([program] * len(memories)), torch.tensor(memories)
    t_bat, bat = best_of(args.repeats, lambda: run_subleq_batch(programs_t, memories_t, BIG_BUDGET))
    t_tensor, tensor = best_of(args.repeats, lambda: run_subleq_batch(programs_t, memories_t, BIG_BUDGET,
                                                                      engine="tensor"))
    one_batch = dict(max_steps=BIG_BUDGET, batch_size=len(inputs))  # all inputs in one _forward
    t_dec, dec = best_of(args.repeats, lambda: pipe(inputs, strategy="decoded", **one_batch))
    with without_fast_kernel():
        t_remote, remote = best_of(args.repeats, lambda: pipe(inputs, strategy="decoded", **one_batch))
    t_step, stepwise = best_of(1, lambda: pipe(inputs, strategy="stepwise", **one_batch))
    expected = as_runs(ref)
    for name, result in (("batched", bat), ("batched tensor path", tensor), ("decoded", dec), ("stepwise", stepwise),
                         ("decoded, remote code", remote)):
        if as_runs(result) != expected:
            raise AssertionError(f"(c): {name} differs from the reference machine")
    steps = sum(r.steps for r in ref)
    return {
        "description": f"the memorized multiply program on {len(memories):,} random memories (a in [0, 20], "
                       "b in [0, 200]) in one batch",
        "rows": len(memories), "executed_steps": steps, "longest_run": max(r.steps for r in ref),
        "engines": [
            entry(ENGINES[0], t_step, steps, "one forward pass per step for all running inputs; one run"),
            entry(ENGINES[1], t_dec, steps, "decode once + batched machine"),
            entry(ENGINES[2], t_ref, steps, "a Python loop over the inputs"),
            entry(ENGINES[3], t_bat, steps, f"one call; {batched_engine()}"),
            entry(ENGINES[4], t_tensor, steps, "one call"),
            entry(ENGINES[5], t_remote, steps,
                  f"decode once + tensor path ({len(memories):,} inputs, no fast kernel)"),
        ],
    }


def compile_fast_kernel() -> dict:
    """Compile the numba kernel before anything is timed (numba compiles in memory on the first call of a process)."""
    if fast_subleq is None:
        return {"available": False, "unavailable_because": "numba is not installed (pip install synthesizer[fast])",
                "compile_s": None}
    import numba

    return {"available": True, "numba": numba.__version__, "compile_s": round(fast_subleq.compile_kernel(), 3)}


@contextmanager
def without_fast_kernel():
    """Run as a checkpoint's remote code does: no fast kernel registered with the batched machine."""
    saved = subleq_module._cpu_kernel
    subleq_module.register_cpu_kernel(None)
    try:
        yield
    finally:
        subleq_module.register_cpu_kernel(saved)


def batched_engine() -> str:
    """Which engine the default `run_subleq_batch` call ran on CPU tensors."""
    return "numba kernel" if subleq_module.cpu_kernel_available() else "tensor path (numba not installed)"


def rate(workload, engine):
    return next(e["instructions_per_s"] for e in workload["engines"] if e["engine"] == engine)


def machine_info():
    return {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(), "torch": torch.__version__, "os.cpu_count()": os.cpu_count(),
        "torch.get_num_threads()": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def write_markdown(report, path):
    lines = ["# Execution speed: the subleq-execution pipeline against the bare machines", ""]
    lines += ["Executed subleq instructions per second (higher is better), best of "
              f"{report['settings']['repeats']} unless the note says one run. Every engine's final memories, step "
              "counts and halt reasons were checked equal to the reference machine's before timing was reported.",
              ""]
    lines += ["## Targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for name, t in report["targets"].items():
        lines.append(f"| {t['what']} | {t['measured']:,.1f}x | {t['goal']} | {'yes' if t['met'] else '**no**'} |")
    lines.append("")
    for key, title in (("a", "(a) one long-running program"), ("b", "(b) 1,000 random programs in one batch"),
                       ("b_x10", "(b x 10) 1,000 random programs x 10 memories"),
                       ("c", "(c) one memorized program, 1,000 memories in one batch")):
        workload = report["workloads"][key]
        ref = rate(workload, "reference machine")
        lines += [f"## {title}", "", workload["description"] + f"; {workload['executed_steps']:,} executed steps"
                  + (f", halt reasons {workload['halt_reasons']}" if "halt_reasons" in workload else "") + ".", "",
                  "| engine | instructions timed | seconds | instructions/s | vs reference machine | note |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        for e in workload["engines"]:
            lines.append(f"| {e['engine']} | {e['instructions']:,} | {e['seconds']:.4f} | "
                         f"{e['instructions_per_s']:,.0f} | {e['instructions_per_s'] / ref:.3g}x | {e['note']} |")
        lines.append("")
    lines += ["## Notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    lines += ["## How it was run", "", "```bash", report["command"], "```", "",
              f"Training the multiply model: {report['training']}.", "", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in report["machine"].items()] + [""]
    path.write_text("\n".join(lines))


def write_png(report, path):
    from matplotlib.figure import Figure

    keys = [("a", "(a) long program"), ("b", "(b) 1,000 programs"), ("b_x10", "(b x 10) 10,000 rows"),
            ("c", "(c) 1 program x 1,000")]
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    width = 0.14
    colors = ("#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
    for j, engine in enumerate(ENGINES):
        xs, ys = [], []
        for i, (key, _) in enumerate(keys):
            found = [e for e in report["workloads"][key]["engines"] if e["engine"] == engine]
            if found:
                xs.append(i + (j - (len(ENGINES) - 1) / 2) * width)
                ys.append(found[0]["instructions_per_s"])
        bars = ax.bar(xs, ys, width, label=engine, color=colors[j])
        ax.bar_label(bars, labels=[f"{y:.2g}" for y in ys], fontsize=7, rotation=90, padding=2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([label for _, label in keys])
    ax.set_ylabel("executed instructions / s (log)")
    ax.set_title(f"subleq execution speed (decoded / stepwise on (a): {report['decoded_over_stepwise']:,.0f}x)")
    ax.legend(fontsize=8, loc="upper left", ncols=3)
    ax.set_ylim(top=ax.get_ylim()[1] * 300)  # room for the legend above the tallest bars
    fig.savefig(path, dpi=120)


def make_notes(workloads, targets, kernel, machine_before) -> list[str]:
    a, b, b10, c = (workloads[key] for key in ("a", "b", "b_x10", "c"))
    ref_b = rate(b, ENGINES[2])
    if kernel["available"]:
        fast = (f"On CPU tensors it runs the numba kernel (`modeling_synthesizer/fast_subleq.py`, numba "
                f"{kernel['numba']}: one compiled loop per row; compiled in memory on the first call of a process, "
                f"here in {kernel['compile_s']} s, outside every timing; nothing is cached on disk)")
    else:
        fast = f"The fast kernel was UNAVAILABLE here ({kernel['unavailable_because']}): it ran the tensor path"
    return [
        "The machine is a shared 2-core VM on which other jobs ran at the same time (load averages before and "
        f"after: {machine_before['load_average_1_5_15']} and {machine_info()['load_average_1_5_15']}); "
        "all engines ran in one process, one after the other, so ratios are more trustworthy than absolute rates.",
        f"(b): the batched machine reaches {targets['batched_over_reference']['measured']:.1f}x the reference machine "
        f"({'met' if targets['batched_over_reference']['met'] else 'short of'} the 10x target). {fast}, against the "
        f"reference machine's pure-Python loop (about {ref_b / 1e6:.1f} M instructions/s). The tensor path (lock "
        f"step on torch tensors) reaches {rate(b, ENGINES[4]) / ref_b:.2f}x on (b) and "
        f"{rate(b10, ENGINES[4]) / rate(b10, ENGINES[2]):.2f}x on (b x 10): each of its steps costs microseconds of "
        "operator overhead whatever the number of rows, which 1,000 rows cannot amortize.",
        "What a remote-code user gets (a process with only a checkpoint's code, `trust_remote_code=True`, or one "
        "without numba): no fast kernel. `run_subleq_batch` runs the tensor path "
        f"({rate(b, ENGINES[4]) / 1e6:.1f} M instructions/s on (b), {rate(c, ENGINES[4]) / 1e6:.1f} M on (c)); the "
        "decoded pipeline runs up to 16 inputs on the reference machine (one input on (a): "
        f"{rate(a, ENGINES[5]) / 1e6:.1f} M instructions/s with decoding, the bare reference machine "
        f"{rate(a, ENGINES[2]) / 1e6:.1f} M) and more on the tensor path ({c['rows']:,} inputs on (c): "
        f"{rate(c, ENGINES[5]) / 1e6:.1f} M instructions/s with decoding). Rows \"decoded pipeline, remote code\".",
        "(a): with the kernel, the decoded pipeline runs even one input on the batched machine; its time, decode "
        f"included, is {targets['decoded_time_over_reference']['measured']:.2f}x the bare reference machine's. The "
        "tensor-path row keeps the single row on tensors (`BATCH_TAIL_ROWS = 0`; by default the tensor path hands "
        "so few rows to the reference loop).",
        "(a): the stepwise pipeline was timed on its first steps only; its rate is instructions/s over those steps "
        "and each step is one forward pass of the 2-layer, 64-wide model (two tokens per input).",
        "(b) times no pipeline: no model here memorized 1,000 random programs. (c) shows both pipelines batching "
        "1,000 inputs of one memorized program.",
    ]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--multiply_a", type=int, default=3)
    parser.add_argument("--multiply_b", type=int, default=50_000, help="(a) executes 2 b + 2 steps")
    parser.add_argument("--stepwise_steps", type=int, default=2_000, help="(a): steps timed for the stepwise pipeline")
    parser.add_argument("--num_programs", type=int, default=1_000)
    parser.add_argument("--program_length", type=int, default=16)
    parser.add_argument("--data_memory_size", type=int, default=16)
    parser.add_argument("--batch_max_steps", type=int, default=2_000)
    parser.add_argument("--batch_inputs", type=int, default=1_000, help="(c): memories in the batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--trace_png", default=None, help="also draw the multiply trace (a = 3, b = 4) here")
    return parser.parse_args(argv)


def run_workloads(args):
    """Compile the fast kernel, memorize the multiply program and time every workload: (kernel, training,
    workloads). The memorized model lives in a temporary folder, so everything that uses it runs in here."""
    with tempfile.TemporaryDirectory() as work_dir:
        kernel = compile_fast_kernel()
        print(f"fast kernel: {kernel}", flush=True)
        assembled, program, pipe, training = memorize_multiply(Path(work_dir), args.seed)
        print(f"memorized the multiply program: {training}", flush=True)
        workloads = {"a": workload_a(assembled, program, pipe, args)}
        print("(a) done", flush=True)
        workloads["b"] = workload_b(args, 1)
        workloads["b_x10"] = workload_b(args, 10)
        print("(b) done", flush=True)
        workloads["c"] = workload_c(assembled, program, pipe, args)
        print("(c) done", flush=True)
        if args.trace_png:
            draw_multiply_trace(assembled, pipe, args.trace_png)
    return kernel, training, workloads


def draw_multiply_trace(assembled, pipe, path):
    """The pipeline's trace of the memorized multiply program on a = 3, b = 4, drawn by `plot_trace`."""
    from modeling_synthesizer.plotting import plot_trace

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    memory = assembled.with_inputs(a=3, b=4)
    record = pipe(DESCRIPTION, memory=memory, return_trace=True)
    names = {address: name for name, address in assembled.data_symbols.items() if address < len(memory)}
    plot_trace(record, memory, path, cell_names=names,
               title=f"pipeline('subleq-execution'): {DESCRIPTION}, a = 3, b = 4 -> product {record['output']}")


def measure_targets(workloads) -> dict:
    """Each entry of TARGETS: what it compares, the measured ratio, the goal and whether it was met."""
    a = workloads["a"]
    decoded_over_stepwise = rate(a, "decoded pipeline") / rate(a, "stepwise pipeline")
    decoded_time_over_reference = rate(a, "reference machine") / rate(a, "decoded pipeline")
    batched_over_reference = rate(workloads["b"], "batched machine") / rate(workloads["b"], "reference machine")
    return {
        "decoded_over_stepwise": {"what": "(a) decoded pipeline / stepwise pipeline, instructions per second",
                                  "measured": decoded_over_stepwise, "goal": ">= 100x",
                                  "met": decoded_over_stepwise >= TARGETS["decoded_over_stepwise"]},
        "decoded_time_over_reference": {
            "what": "(a) decoded pipeline time / reference machine time, decode included",
            "measured": decoded_time_over_reference, "goal": "<= 3x",
            "met": decoded_time_over_reference <= TARGETS["decoded_time_over_reference"]},
        "batched_over_reference": {"what": "(b) batched machine / reference machine, instructions per second",
                                   "measured": batched_over_reference, "goal": ">= 10x",
                                   "met": batched_over_reference >= TARGETS["batched_over_reference"]},
    }


def write_report(report, output_dir: Path):
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "execution.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, output_dir / "execution.md")
    write_png(report, output_dir / "execution.png")


def main(argv=None):
    args = parse_args(argv)
    machine_before = machine_info()
    kernel, training, workloads = run_workloads(args)
    targets = measure_targets(workloads)
    report = {
        "decoded_over_stepwise": targets["decoded_over_stepwise"]["measured"],
        "decoded_time_over_reference": targets["decoded_time_over_reference"]["measured"],
        "batched_over_reference": targets["batched_over_reference"]["measured"],
        "targets": targets,
        "workloads": workloads,
        "training": training,
        "fast_kernel": kernel,
        # Paths as given, not absolute: the report names no machine's folders.
        "settings": {**vars(args), "output_dir": os.path.relpath(args.output_dir, ROOT)},
        "command": " ".join(["OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python bench/execution.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_before,
        "notes": make_notes(workloads, targets, kernel, machine_before),
    }
    write_report(report, Path(args.output_dir))
    for name, t in targets.items():
        print(f"{name}: {t['measured']:,.2f}x (goal {t['goal']}): {'met' if t['met'] else 'MISSED'}")
    return report


if __name__ == "__main__":
    main()
