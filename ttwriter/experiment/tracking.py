"""Where every run's metrics go besides ttwriter's own loss log: an experiment tracker.

A frozen dataclass like `SlurmConfig`, set in Python (`tracking=Tracking(backend="wandb")`), in
experiment.yaml (a `tracking:` section) or on the command line (`--tracking.backend mlflow`).
Values are checked here for their shape (every problem at once, a misspelled setting among them:
experiment.schema); whether the backend's package is installed is checked when the sweep is
generated (ttwriter.tracking.check), because that depends on the machine. How a backend becomes a
run's `metric_logger` node is ttwriter.tracking.node's business.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ttwriter.errors import ExperimentSchemaError, Problems
from ttwriter.experiment.schema import ConfigClass, choice_setting, text_setting

DISK, WANDB, MLFLOW, TENSORBOARD = "disk", "wandb", "mlflow", "tensorboard"
BACKENDS = (DISK, WANDB, MLFLOW, TENSORBOARD)
"""`disk` is torchtune's DiskLogger alone; the others log there too (so `ttwriter results` works)."""


def _error(message: str, field: str, fix: str) -> ExperimentSchemaError:
    return ExperimentSchemaError(message, path=(*Tracking.SECTION, field), fix=fix)


def _text(value: Any, field: str, example: str) -> str | None:
    if value is None:
        return None
    return text_setting(value, field, f"e.g. tracking.{field}: {example}", _error)


@dataclasses.dataclass(frozen=True)
class Tracking(ConfigClass):
    """Which experiment tracker every run logs to, besides ttwriter's own loss log (docs/tracking.md)."""

    SECTION: ClassVar[tuple[str, ...]] = ("tracking",)

    backend: str = DISK
    """`disk` (default: the loss log only), `wandb`, `mlflow` or `tensorboard`; all but disk need `pip install 'ttwriter[tracking]'`."""

    project: str | None = None
    """W&B project, MLflow experiment name; default: the experiment name."""

    uri: str | None = None
    """MLflow tracking URI, e.g. http://mlflow.internal:5000; default: a SQLite store in the experiment folder."""

    entity: str | None = None
    """W&B entity (user or team); default: your W&B default entity."""

    tags: tuple[str, ...] = ()
    """Tags every run gets in the tracker, besides the experiment's own `tags`."""

    def __post_init__(self) -> None:
        """Check every setting; all problems found are raised together (see experiment.schema)."""
        problems = Problems()
        with problems.collect():
            choice_setting(
                self.backend,
                BACKENDS,
                "tracking backend",
                "backend",
                "tracking.backend is one of " + ", ".join(BACKENDS),
                _error,
            )
        for field, example in (
            ("project", "my_project"),
            ("uri", "sqlite:///mlflow.db"),
            ("entity", "my_team"),
        ):
            with problems.collect():
                _text(getattr(self, field), field, example)
        with problems.collect():
            if self.uri is not None and self.backend in BACKENDS and self.backend != MLFLOW:
                raise _error(
                    f"uri is MLflow's tracking URI, but the backend is {self.backend}",
                    "uri",
                    "leave uri out, or set tracking.backend: mlflow",
                )
        with problems.collect():
            if self.entity is not None and self.backend in BACKENDS and self.backend != WANDB:
                raise _error(
                    f"entity is a W&B entity, but the backend is {self.backend}",
                    "entity",
                    "leave entity out, or set tracking.backend: wandb",
                )
        with problems.collect():
            tags = (self.tags,) if isinstance(self.tags, str) else self.tags
            if not isinstance(tags, (list, tuple)):
                raise _error(
                    f"tags must be a list of strings, got {tags!r}", "tags", "e.g. tracking.tags: [lora]"
                )
            object.__setattr__(self, "tags", tuple(str(_text(t, "tags", "lora")) for t in tags))
        problems.raise_if_any()

    @property
    def enabled(self) -> bool:
        """True when runs log to a tracker besides the loss log."""
        return self.backend != DISK
