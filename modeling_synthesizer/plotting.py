"""Pictures of subleq executions. Needs matplotlib: `pip install "synthesizer[plot]"`.

Not part of the remote code: matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

import os


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            'Drawing an execution trace needs matplotlib, which is in the "plot" extra: '
            'pip install "synthesizer[plot]"'
        ) from error
    return Figure


def _trace_steps(trace) -> list[dict]:
    """A pipeline result (dict with "trace"), a `SubleqResult` with a trace, or a list of steps -> list of dicts."""
    if isinstance(trace, dict):
        if trace.get("trace") is None:
            raise ValueError("this result has no trace: run the pipeline with return_trace=True")
        trace = trace["trace"]
    elif hasattr(trace, "halt_reason"):
        if trace.trace is None:
            raise ValueError("this result has no trace: run with return_trace=True")
        trace = trace.trace
    return [step if isinstance(step, dict) else step.to_dict() for step in trace]


def memory_over_time(initial_memory, trace) -> list[list[int]]:
    """Data memory before the first step and after each executed step: `steps + 1` rows of k cells."""
    memory = [int(value) for value in initial_memory]
    rows = [list(memory)]
    for step in _trace_steps(trace):
        memory[step["b"]] = step["value"]
        rows.append(list(memory))
    return rows


def plot_trace(result, initial_memory, path: str | os.PathLike | None = None, title: str | None = None,
               max_steps_shown: int = 400, cell_names: dict[int, str] | None = None):
    """
    Draw an execution trace: data memory over time as a heatmap (one row per step, one column per cell), the
    instruction number C_t executed at each step beside it, and an outline on the cell each step wrote.

    Args:
        result: a pipeline result of `pipe(..., return_trace=True)`, a `SubleqResult` of
            `run_subleq(..., return_trace=True)`, or its list of trace steps.
        initial_memory: the data memory the run started from (k integers): the trace records only writes.
        path: where to write the picture (PNG, or any format matplotlib infers from the suffix). None: don't save.
        title: the figure title.
        max_steps_shown: draw at most this many steps (the first ones) and say so in the title; long runs make
            unreadable pictures.
        cell_names: optional names of cells for the x axis, e.g. `{0: "a", 1: "b", 2: "product"}`.

    Returns:
        The matplotlib `Figure` (not attached to pyplot, so it works without a display).

    Raises:
        ImportError: if matplotlib is missing (`pip install "synthesizer[plot]"`).
        ValueError: if `result` carries no trace, or a write lies outside `initial_memory`.
    """
    Figure = _require_matplotlib()
    steps = _trace_steps(result)
    k = len(initial_memory)
    _check_writes_inside(steps, k)
    total = len(steps)
    steps = steps[:max_steps_shown]
    rows = memory_over_time(initial_memory, steps)  # [shown + 1, k]

    height = min(2.0 + 0.22 * len(rows), 14.0)
    width = min(3.5 + 0.55 * k, 16.0)
    fig = Figure(figsize=(width, height), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[1, max(k, 4)])
    ax_pc = fig.add_subplot(grid[0, 0])
    ax_mem = fig.add_subplot(grid[0, 1], sharey=ax_pc)
    _draw_memory(fig, ax_mem, rows, steps, cell_names or {})
    _draw_instructions(ax_pc, steps, len(rows))

    shown = f" (first {len(steps)} of {total} steps)" if total > len(steps) else f" ({total} steps)"
    fig.suptitle((title or "subleq execution trace") + shown)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _check_writes_inside(steps: list[dict], k: int) -> None:
    for number, step in enumerate(steps, 1):
        if not 0 <= step["b"] < k:
            raise ValueError(f"step {number} writes cell {step['b']}, outside the {k} cells of initial_memory")


def _draw_memory(fig, ax_mem, rows: list[list[int]], steps: list[dict], names: dict[int, str]) -> None:
    """The memory heatmap (one row per step), values written in when they fit, and the written cells outlined."""
    from matplotlib.patches import Rectangle

    k = len(rows[0])
    peak = max((abs(value) for row in rows for value in row), default=0) or 1
    image = ax_mem.imshow(rows, aspect="auto", cmap="RdBu_r", vmin=-peak, vmax=peak, interpolation="nearest")
    fig.colorbar(image, ax=ax_mem, label="cell value", shrink=0.8)
    if rows and len(rows) <= 40 and k <= 24:
        for t, row in enumerate(rows):
            for cell, value in enumerate(row):
                ax_mem.text(cell, t, str(value), ha="center", va="center", fontsize=7,
                            color="white" if abs(value) > 0.6 * peak else "black")
    for t, step in enumerate(steps, 1):  # outline the cell each step wrote
        ax_mem.add_patch(Rectangle((step["b"] - 0.5, t - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.2))
    ax_mem.set_xticks(range(k))
    ax_mem.set_xticklabels([names.get(cell, str(cell)) for cell in range(k)], rotation=90 if names else 0)
    ax_mem.set_xlabel("data-memory cell (outlined: the cell written at that step)")
    ax_mem.tick_params(axis="y", labelleft=False)


def _draw_instructions(ax_pc, steps: list[dict], num_rows: int) -> None:
    """The C_t column: the instruction of the step that produced each row (row 0 is the initial memory)."""
    instructions = [None] + [step["instruction"] for step in steps]
    top = max((c for c in instructions if c is not None), default=1)
    ax_pc.imshow([[c or 0] for c in instructions], aspect="auto", cmap="viridis", vmin=0, vmax=top,
                 interpolation="nearest")
    if num_rows <= 80:
        for t, c in enumerate(instructions):
            ax_pc.text(0, t, "start" if c is None else str(c), ha="center", va="center", fontsize=7,
                       color="white" if c is None or c < 0.6 * top else "black")
    ax_pc.set_xticks([0])
    ax_pc.set_xticklabels(["C_t"])
    ax_pc.set_ylabel("step")


__all__ = ["memory_over_time", "plot_trace"]
