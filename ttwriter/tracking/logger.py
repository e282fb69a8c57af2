"""The logger a tracked run's config names: torchtune's DiskLogger and a tracker's logger at once.

torchtune instantiates `metric_logger` without instantiating nodes inside it, so this logger
makes its `tracker` node itself (with torchtune's own `config.instantiate`). The DiskLogger is
always there: `ttwriter results` reads its log whatever the tracker, and never depends on a
remote service. When the tracker's run starts it gets what a reader needs to place it: the
experiment, the run id and its variable values, the lineage and git commit recorded in the
experiment folder's experiment.json, and tags. Imported by `tune run` in the training process
(the venv's python, so ttwriter is importable there); torch and torchtune are already loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.folder.layout import SNAPSHOT_FILE


def run_facts(run: Mapping[str, Any]) -> dict[str, str]:
    """Flat `ttwriter.*` facts about the run, as strings: what every tracker can hold as tags."""
    facts = {
        "ttwriter.experiment": str(run.get("experiment", "")),
        "ttwriter.run_id": str(run.get("run_id", "")),
        "ttwriter.experiment_dir": str(run.get("experiment_dir", "")),
    }
    for key, value in dict(run.get("params") or {}).items():
        facts[f"ttwriter.params.{key}"] = json.dumps(value) if not isinstance(value, str) else value
    snapshot = Path(str(run.get("experiment_dir", ""))) / SNAPSHOT_FILE
    try:
        provenance = json.loads(snapshot.read_text(encoding="utf-8")).get("provenance", {})
    except (OSError, ValueError, AttributeError):
        provenance = {}
    lineage = provenance.get("lineage") or []
    if lineage:
        facts["ttwriter.lineage"] = " <- ".join(str(x) for x in lineage)
    git = provenance.get("git") or {}
    if isinstance(git, dict) and git.get("commit"):
        facts["ttwriter.git_commit"] = str(git["commit"]) + (" (dirty)" if git.get("dirty") else "")
    if run.get("tags"):
        facts["ttwriter.tags"] = ",".join(str(t) for t in run["tags"])
    return facts


class TeeLogger:
    """torchtune's MetricLoggerInterface over a DiskLogger (`log_dir`) and a tracker (`tracker`)."""

    def __init__(
        self,
        log_dir: str,
        tracker: Mapping[str, Any],
        run: Mapping[str, Any] | None = None,
        filename: str | None = None,
    ) -> None:
        from omegaconf import OmegaConf
        from torchtune import config
        from torchtune.training.metric_logging import DiskLogger

        self._disk = DiskLogger(log_dir=log_dir, filename=filename)
        uri = str(tracker.get("tracking_uri") or "")
        if uri.startswith("sqlite:///"):  # SQLite makes the file, not its folder
            Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self._tracker = config.instantiate(OmegaConf.create(dict(tracker)))
        self._facts = run_facts(run or {})
        self._record(self._facts)

    def _record(self, facts: dict[str, str]) -> None:
        """The run's facts in the tracker: W&B config and summary, MLflow tags, TensorBoard text."""
        name = type(self._tracker).__name__
        if name == "WandBLogger":
            wandb = self._tracker._wandb
            if wandb.run is not None:
                wandb.run.config.update({"ttwriter": facts}, allow_val_change=True)
        elif name == "MLFlowLogger":
            mlflow = self._tracker._mlflow
            if mlflow.active_run() is not None:
                mlflow.set_tags(facts)
        elif name == "TensorBoardLogger":
            writer = self._tracker._writer
            if writer is not None:
                writer.add_text("ttwriter", "\n".join(f"    {k}: {v}" for k, v in facts.items()), 0)

    def log(self, name: str, data: Any, step: int) -> None:
        self._disk.log(name, data, step)
        self._tracker.log(name, data, step)

    def log_dict(self, payload: Mapping[str, Any], step: int) -> None:
        self._disk.log_dict(payload, step)
        self._tracker.log_dict(payload, step)

    def log_config(self, config: Any) -> None:
        self._disk.log_config(config)
        self._tracker.log_config(config)

    def close(self) -> None:
        try:
            self._tracker.close()
        finally:
            self._disk.close()
