"""loss_curves.png: one loss curve per run, labelled by the params that made it; and for an
experiment with evaluation, eval_scores.png: the main metric against the swept variables.

matplotlib is imported here only, when a plot is asked for, with the file-only Agg backend (no
display needed on a cluster login node).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttwriter.folder.layout import PLOT_FILE, SCORES_PLOT_FILE
from ttwriter.formats import params_text
from ttwriter.train.conditions import by_condition, mean_curves
from ttwriter.train.results import ExperimentResults, run_label
from ttwriter.train.scores import main_metric


def pyplot(file_name: str) -> tuple[Any, str | None]:
    """matplotlib.pyplot on the file-only Agg backend, or (None, why no `file_name` was written)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None, f"matplotlib is not installed, so no {file_name} was written (pip install matplotlib)"
    return plt, None


def text(value: str) -> str:
    """`value` shown as written: a `$` in a run id or param would otherwise start mathtext."""
    return value.replace("$", r"\$")


def _finish(fig: Any, ax: Any, path: Path, title: str, x_label: str, y_label: str) -> None:
    ax.set_title(text(title))
    ax.set_xlabel(text(x_label))
    ax.set_ylabel(text(y_label))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    fig.savefig(path)


def plot_loss_curves(results: ExperimentResults, path: Path | None = None) -> tuple[Path | None, str | None]:
    """Write the plot; returns (path, None), or (None, why not) when there is nothing to draw."""
    curves = [run for run in results.runs if run.log and run.log.steps]
    if not curves:
        return None, f"no run has a loss log yet, so no {PLOT_FILE} was written"
    plt, missing = pyplot(PLOT_FILE)
    if plt is None:
        return None, missing

    path = path or results.folder.path / PLOT_FILE
    means = mean_curves(by_condition(results))
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        for curve in means if any(c.n > 1 for c in means) else ():  # replicates: mean and spread
            low = [m - s for m, s in zip(curve.mean, curve.std, strict=True)]
            high = [m + s for m, s in zip(curve.mean, curve.std, strict=True)]
            (line,) = ax.plot(curve.steps, curve.mean, label=text(curve.label), linewidth=1.5)
            ax.fill_between(curve.steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        for run in curves if not any(c.n > 1 for c in means) else ():
            assert run.log is not None
            label = text(f"{run.run_id}: {run_label(run)}")
            if run.status != "done":
                label += f" ({run.status})"
            ax.plot(run.log.steps, run.log.losses, label=label, linewidth=1.5)
        title = f"{results.folder.experiment}: training loss"
        if results.folder.smoke:
            title += " (smoke runs)"
        _finish(fig, ax, path, title, "step", "loss")
    finally:
        plt.close(fig)
    return path, None


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_scores(results: ExperimentResults, path: Path | None = None) -> tuple[Path | None, str | None]:
    """eval_scores.png: the main metric (evaluation.metric, else the first) against the first
    swept variable, one line per value of the others, the base model as a dashed line.

    Returns (path, None), or (None, why not) when there is nothing to draw.
    """
    evaluation = results.folder.evaluation
    metric, note = main_metric(results.metric_names, evaluation.metric if evaluation else None)
    if metric is None:
        return None, note or f"no evaluation has scores yet, so no {SCORES_PLOT_FILE} was written"
    scored = [
        (run, results.evaluations[run.run_id].scores[metric])
        for run in results.runs
        if run.run_id in results.evaluations and metric in results.evaluations[run.run_id].scores
    ]
    base = results.base_model
    if not scored and (base is None or metric not in base.scores):
        return None, f"no evaluation has a {metric} score yet, so no {SCORES_PLOT_FILE} was written"
    plt, missing = pyplot(SCORES_PLOT_FILE)
    if plt is None:
        return None, missing

    variables = list(results.folder.variables) or [n for n in results.param_names]
    x_name = variables[0] if variables else None
    x_values: list[Any] = (
        [run.params.get(x_name) for run, _ in scored] if x_name else [r.run_id for r, _ in scored]
    )
    numeric = _numeric(x_values)
    positions = {v: i for i, v in enumerate(dict.fromkeys(map(str, x_values)))}
    lines: dict[str, list[tuple[Any, float]]] = {}
    for (run, value), x in zip(scored, x_values, strict=True):
        others = {k: v for k, v in run.params.items() if k != x_name}
        label = params_text(others, ", ") or metric
        lines.setdefault(label, []).append((x if numeric else positions[str(x)], value))
    path = path or results.folder.path / SCORES_PLOT_FILE
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        for label, points in lines.items():
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=text(label))
        if base is not None and metric in base.scores:
            ax.axhline(base.scores[metric], color="grey", linestyle="--", label="base model (not fine-tuned)")
        spread = [float(v) for v in x_values] if numeric else []
        if spread and min(spread) > 0 and max(spread) / min(spread) >= 10:  # learning rates
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(list(positions.values()), list(positions.keys()))
        title = f"{results.folder.experiment}: {metric}"
        if results.folder.smoke:
            title += " (smoke runs)"
        _finish(fig, ax, path, title, x_name or "run", metric)
    finally:
        plt.close(fig)
    return path, note
