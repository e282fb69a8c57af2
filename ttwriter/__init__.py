"""ttwriter: one experiment definition in, a validated sweep of torchtune configs out."""

from ttwriter._version import __version__
from ttwriter.errors import (
    BaseConfigNotFoundError,
    ConfigWriterError,
    EmptyVariableError,
    ExperimentDirError,
    ExperimentLoadError,
    ExperimentSchemaError,
    InvalidRunsError,
    LineageError,
    MergeError,
    OutputExistsError,
    OutputWriteError,
    SlurmError,
    TorchtuneValidationError,
    TypeMismatchError,
    UnknownKeyError,
    ValidationError,
)
from ttwriter.experiment import Experiment
from ttwriter.generate import GenerationResult, RunRecord, generate_configs
from ttwriter.keys import ALIASES
from ttwriter.loading import LoadedExperiment, load_experiment
from ttwriter.slurm_config import SlurmConfig
from ttwriter.validation import Finding, RunValidation, ValidationSummary

__all__ = [
    "ALIASES",
    "BaseConfigNotFoundError",
    "ConfigWriterError",
    "EmptyVariableError",
    "Experiment",
    "ExperimentDirError",
    "ExperimentLoadError",
    "ExperimentSchemaError",
    "Finding",
    "GenerationResult",
    "InvalidRunsError",
    "LineageError",
    "LoadedExperiment",
    "MergeError",
    "OutputExistsError",
    "OutputWriteError",
    "RunRecord",
    "RunValidation",
    "SlurmConfig",
    "SlurmError",
    "TorchtuneValidationError",
    "TypeMismatchError",
    "UnknownKeyError",
    "ValidationError",
    "ValidationSummary",
    "__version__",
    "generate_configs",
    "load_experiment",
]
