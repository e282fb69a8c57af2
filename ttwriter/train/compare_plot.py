"""The one plot of `ttwriter results DIR DIR ...`: every run's final loss, side by side by
experiment, and below it the main eval metric of the runs that have one.

matplotlib is imported here only, when the plot is asked for, with the file-only Agg backend.
"""

from __future__ import annotations

from pathlib import Path

from ttwriter.formats import params_text
from ttwriter.train.collect import LEADING, TRAILING, Joined
from ttwriter.train.plot import pyplot, text


def _label(row: dict, params: tuple[str, ...]) -> str:
    values = {p: row[p] for p in params if row.get(p) is not None}
    return f"{row['run_id']}" + (f"\n{params_text(values, ', ')}" if values else "")


def plot_comparison(joined: Joined, path: Path) -> tuple[Path | None, str | None]:
    """Write the plot to `path`; returns (path, None), or (None, why not) when nothing has a loss."""
    rows = [r for r in joined.rows if r.get("final_loss") is not None]
    if not rows:
        return None, f"no run has a loss log yet, so no {path.name} was written"
    plt, missing = pyplot(path.name)
    if plt is None:
        return None, missing
    panels: list[tuple[str, str, list[dict]]] = [("final_loss", "final loss", rows)]
    if joined.metrics:  # the first eval metric, for the runs that have a score
        metric = joined.metrics[0]
        scored = [r for r in rows if isinstance(r.get(metric), (int, float))]
        if scored:
            panels.append((metric, metric, scored))
    names = list(dict.fromkeys(r["experiment"] for r in rows))
    colors = {name: f"C{i % 10}" for i, name in enumerate(names)}
    shown = [p for p in joined.params if p not in (*LEADING, *TRAILING)]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(max(6, 0.8 * len(rows) + 2), 4 * len(panels)), dpi=100, squeeze=False
    )
    try:
        for ax, (column, title, panel_rows) in zip(axes[:, 0], panels, strict=True):
            xs = range(len(panel_rows))
            ax.bar(xs, [r[column] for r in panel_rows], color=[colors[r["experiment"]] for r in panel_rows])
            ax.set_xticks(
                list(xs),
                [text(_label(r, tuple(shown))) for r in panel_rows],
                fontsize="x-small",
            )
            ax.set_title(text(title))
            ax.grid(True, axis="y", alpha=0.3)
        handles = [plt.Rectangle((0, 0), 1, 1, color=colors[n]) for n in names]
        axes[0, 0].legend(handles, names, fontsize="small", loc="best")
        fig.suptitle(text(f"{len(names)} experiment{'s' * (len(names) != 1)}: final loss by run"))
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path, None
