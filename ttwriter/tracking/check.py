"""What generation checks about `Experiment.tracking` on this machine: the backend's package.

A tracker that is not installed would make every run die at start-up, after waiting in the
queue; found here, it is an experiment problem (exit 2) with the command that installs it.
Found without importing the package (importlib.util.find_spec), so generation stays fast.
"""

from __future__ import annotations

import importlib.util
import sys

from ttwriter.errors import ConfigWriterError, ExperimentSchemaError
from ttwriter.experiment.tracking import Tracking
from ttwriter.tracking.node import PACKAGES

INSTALL_HINT = "pip install 'ttwriter[tracking]' (wandb, mlflow and tensorboard), or tracking.backend: disk"


def installed(package: str) -> bool:
    """Whether `import package` can work here, found without importing it (a name set to None in
    sys.modules is Python's own "cannot be imported")."""
    if package in sys.modules:
        return sys.modules[package] is not None
    return importlib.util.find_spec(package) is not None


def check_tracking(tracking: Tracking) -> list[ConfigWriterError]:
    """The problems that would keep the tracker from starting in a run; none for `disk`."""
    if not tracking.enabled:
        return []
    package = PACKAGES[tracking.backend]
    if installed(package):
        return []
    return [
        ExperimentSchemaError(
            f"tracking backend {tracking.backend} needs the Python package {package}, which is not "
            "installed here",
            path=("tracking", "backend"),
            fix=INSTALL_HINT,
        )
    ]
