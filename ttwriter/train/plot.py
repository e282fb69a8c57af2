"""loss_curves.png: one loss curve per run, labelled by the params that made it.

matplotlib is imported here only, when a plot is asked for, with the file-only Agg backend (no
display needed on a cluster login node).
"""

from __future__ import annotations

from pathlib import Path

from ttwriter.folder.layout import PLOT_FILE
from ttwriter.train.results import ExperimentResults, run_label


def plot_loss_curves(results: ExperimentResults, path: Path | None = None) -> tuple[Path | None, str | None]:
    """Write the plot; returns (path, None), or (None, why not) when there is nothing to draw."""
    curves = [run for run in results.runs if run.log and run.log.steps]
    if not curves:
        return None, f"no run has a loss log yet, so no {PLOT_FILE} was written"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None, f"matplotlib is not installed, so no {PLOT_FILE} was written (pip install matplotlib)"

    path = path or results.folder.path / PLOT_FILE
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        for run in curves:
            assert run.log is not None
            label = f"{run.run_id}: {run_label(run)}".replace("$", r"\$")  # text, not mathtext
            if run.status != "done":
                label += f" ({run.status})"
            ax.plot(run.log.steps, run.log.losses, label=label, linewidth=1.5)
        title = f"{results.folder.experiment}: training loss"
        if results.folder.smoke:
            title += " (smoke runs)"
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="best")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path, None
