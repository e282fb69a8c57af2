"""ttwriter: one experiment definition in, a validated sweep of torchtune configs out."""

from ttwriter._version import __version__
from ttwriter.errors import (
    BaseConfigNotFoundError,
    ConfigWriterError,
    EmptyVariableError,
    ExperimentDirError,
    ExperimentLoadError,
    ExperimentProblemsError,
    ExperimentSchemaError,
    InvalidRunsError,
    LineageError,
    MergeError,
    OutputExistsError,
    OutputWriteError,
    SlurmError,
    TooManyRunsError,
    TorchtuneValidationError,
    TypeMismatchError,
    UnknownKeyError,
    ValidationError,
)
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.loading import LoadedExperiment, load_experiment
from ttwriter.experiment.sample import Sample
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.experiment.tracking import Tracking
from ttwriter.folder.runs import RunRecord
from ttwriter.generate import GenerationResult, generate_configs
from ttwriter.sweep.keys import ALIASES
from ttwriter.validation.report import Finding, RunValidation, ValidationSummary

__all__ = [
    "ALIASES",
    "BaseConfigNotFoundError",
    "ConfigWriterError",
    "EmptyVariableError",
    "Evaluation",
    "Experiment",
    "ExperimentDirError",
    "ExperimentLoadError",
    "ExperimentProblemsError",
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
    "Sample",
    "SlurmConfig",
    "SlurmError",
    "TooManyRunsError",
    "TorchtuneValidationError",
    "Tracking",
    "TypeMismatchError",
    "UnknownKeyError",
    "ValidationError",
    "ValidationSummary",
    "__version__",
    "generate_configs",
    "load_experiment",
]
