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
import re
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


_USED_BY = {
    "project": ((WANDB, MLFLOW), "the W&B project or MLflow experiment name"),
    "uri": ((MLFLOW,), "MLflow's tracking URI"),
    "entity": ((WANDB,), "a W&B entity"),
    "tags": ((WANDB, MLFLOW, TENSORBOARD), "labels of the tracker's runs"),
}
"""Each setting: the backends that use it (node.tracker_args, logger.TeeLogger) and what it is.
Any other backend ignores it, so setting it there is an error: it would be silently unused."""

_MLFLOW_SCHEMES = re.compile(r"file:|(https?|sqlite|postgresql|mysql|mssql|databricks|uc)(\+\w+)?://", re.I)
"""The URI schemes an MLflow tracking URI starts with: its file and HTTP stores, the SQLAlchemy
databases of its database store (with a driver: postgresql+psycopg2://) and Databricks."""


def _check_used(tracking: Tracking, field: str) -> None:
    backends, meaning = _USED_BY[field]
    value = getattr(tracking, field)
    if value in (None, (), []) or tracking.backend not in BACKENDS or tracking.backend in backends:
        return
    names = " or ".join(backends) if len(backends) < 3 else ", ".join(backends[:-1]) + " or " + backends[-1]
    raise _error(
        f"{field} {'are' if field == 'tags' else 'is'} {meaning}, but the backend is {tracking.backend}, "
        f"which does not use {'them' if field == 'tags' else 'it'}",
        field,
        f"leave {field} out, or set tracking.backend: {names}",
    )


def _check_mlflow_uri(uri: str) -> None:
    """A URI MLflow accepts as its tracking URI, or an absolute path (a folder of runs): a relative
    path would be read from wherever each run starts, and a word such as `mlfow` is no store."""
    if _MLFLOW_SCHEMES.match(uri) or uri in ("databricks", "uc") or uri.startswith(("/", "~")):
        return
    scheme = re.match(r"([A-Za-z][\w+.-]*):", uri)
    raise _error(
        f"uri {uri!r} is "
        + (
            f"not a tracking URI MLflow accepts (scheme {scheme.group(1)}:)"
            if scheme
            else "neither a URI nor an absolute path, so MLflow would make a folder of that name "
            "wherever each run starts"
        ),
        "uri",
        "give a tracking server (http://mlflow.internal:5000), a database (sqlite:////data/mlflow.db), "
        "an absolute folder (/data/mlruns), or leave uri out for a SQLite store in the experiment folder",
    )


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
        for field in _USED_BY:
            with problems.collect():
                _check_used(self, field)
        with problems.collect():
            if self.uri is not None and self.backend == MLFLOW:
                _check_mlflow_uri(self.uri)
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
