"""How an experiment's runs are scheduled on SLURM: one job array, one task per run.

A frozen dataclass like `Experiment`, set in Python (`slurm=SlurmConfig(partition="gpu")`), in
experiment.yaml (a `slurm:` section) or on the command line (`--slurm.partition gpu`). Values are
checked here (every problem at once, a misspelled setting among them: experiment.schema) and quoted
when the job script is written, so no value can inject shell.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

from ttwriter.errors import ExperimentSchemaError, Problems, did_you_mean
from ttwriter.experiment.schema import ConfigClass
from ttwriter.placeholders import NAME, tokens

_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")
COMMAND_PLACEHOLDERS = ("recipe", "config", "run_id", "output_dir", "nproc")
"""What `{name}` may stand for in `command` (ttwriter.placeholders); `${VAR}` is shell and left alone."""
DEFAULT_COMMAND = "tune run {recipe} --config {config}"
DISTRIBUTED_COMMAND = "tune run --nproc_per_node {nproc} {recipe} --config {config}"


def _path(field: str) -> tuple[str, ...]:
    return (*SlurmConfig.SECTION, field)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return (\\r)", "\t": "a tab", "\0": "a NUL byte"}


def _check_control(value: str, field: str) -> None:
    """A value written into the job script as one line: a control character there would end the
    line (a line break, `\\r` for a shell reading the script) or be invisible in the error."""
    found = _CONTROL.search(value)
    if found is None:
        return
    char = found.group()
    what = _CONTROL_NAMES.get(char, f"the control character {char!r}")
    cleaned = _CONTROL.sub("", re.split(r"[\r\n]", value.strip())[0]).strip()  # a line break: keep line 1
    raise ExperimentSchemaError(
        f"{field} {value!r} contains {what}, which a job script cannot hold on one line",
        path=_path(field),
        fix=f"write it without control characters, e.g. slurm.{field}: {cleaned!r}",
    )


@dataclasses.dataclass(frozen=True)
class SlurmConfig(ConfigClass):
    """SLURM settings for the job array that runs every run of the sweep."""

    SECTION: ClassVar[tuple[str, ...]] = ("slurm",)

    job_name: str | None = None
    """Job name shown by squeue; default: the experiment name."""

    partition: str | None = None
    """Partition (queue) to submit to; default: the cluster's default partition."""

    account: str | None = None
    """Account to charge, if your cluster requires one."""

    qos: str | None = None
    """Quality of service, if your cluster uses them."""

    time: str | None = None
    """Time limit per run, e.g. 04:00:00 or 1-00:00:00; default: the partition's limit."""

    gpus_per_run: int = 1
    """GPUs per run; distributed recipes run with `tune run --nproc_per_node <gpus_per_run>`. 0 for CPU."""

    cpus_per_task: int | None = None
    """CPU cores per run (data loading workers live here)."""

    mem: str | None = None
    """Memory per run, e.g. 64G."""

    constraint: str | None = None
    """Node feature constraint, e.g. a100."""

    max_parallel: int | None = None
    """At most this many runs at once (the %N of --array=0-9%N); default: no limit."""

    setup: tuple[str, ...] = ()
    """Shell lines run before training, e.g. 'module load cuda' or 'source ~/venvs/tt/bin/activate'."""

    sbatch_lines: tuple[str, ...] = ()
    """Extra #SBATCH options, e.g. '--mail-type=END' (written as '#SBATCH --mail-type=END')."""

    command: str = DEFAULT_COMMAND
    """Command that trains one run; {recipe}, {config}, {run_id}, {output_dir} and {nproc} are filled in."""

    def __post_init__(self) -> None:
        """Check every setting; all problems found are raised together (see experiment.schema)."""
        problems = Problems()
        for field in ("job_name", "partition", "account", "qos", "time", "mem", "constraint"):
            with problems.collect():
                value = getattr(self, field)
                if value is None:
                    continue
                if not isinstance(value, str) or not value.strip():
                    raise ExperimentSchemaError(
                        f"{field} must be a one-line string, got {value!r}",
                        path=_path(field),
                        fix=f"quote the value of slurm.{field}, or leave it out",
                    )
                _check_control(value, field)
                if field == "time" and not _TIME.match(value):
                    raise ExperimentSchemaError(
                        f"time {value!r} is not a SLURM time limit",
                        path=_path("time"),
                        fix="use minutes, HH:MM:SS or D-HH:MM:SS, e.g. '04:00:00'",
                    )
        for field, minimum in (("gpus_per_run", 0), ("cpus_per_task", 1), ("max_parallel", 1)):
            with problems.collect():
                value = getattr(self, field)
                if value is None and field != "gpus_per_run":
                    continue
                if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                    raise ExperimentSchemaError(
                        f"{field} must be a whole number >= {minimum}, got {value!r}",
                        path=_path(field),
                        fix=f"e.g. slurm.{field}: {max(minimum, 1)}",
                    )
        for field in ("setup", "sbatch_lines"):
            with problems.collect():
                value = getattr(self, field)
                if isinstance(value, str):
                    value = (value,)
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise ExperimentSchemaError(
                        f"{field} must be a list of strings, got {value!r}",
                        path=_path(field),
                        fix=f"e.g. slurm.{field}: ['...']",
                    )
                object.__setattr__(self, field, tuple(value))
                for line in value:
                    if field == "setup" and "\0" in line:
                        _check_control(line, "setup")
                    elif field == "sbatch_lines":
                        _check_control(line, "sbatch_lines")
                        if not line.strip().startswith("-"):
                            raise ExperimentSchemaError(
                                f"sbatch line {line!r} is not an sbatch option",
                                path=_path("sbatch_lines"),
                                fix="write the option only, e.g. '--mail-type=END'",
                            )
        with problems.collect():
            self._check_command()
        problems.raise_if_any()

    def _check_command(self) -> None:
        placeholders = (
            [p for kind, p in tokens(self.command) if kind == NAME] if isinstance(self.command, str) else []
        )
        for name in placeholders:
            if name not in COMMAND_PLACEHOLDERS:
                hint = did_you_mean(name, COMMAND_PLACEHOLDERS)
                raise ExperimentSchemaError(
                    f"unknown placeholder {{{name}}} in command {self.command!r}"
                    + (f"; {hint}" if hint else ""),
                    path=_path("command"),
                    fix="placeholders are " + ", ".join("{" + n + "}" for n in COMMAND_PLACEHOLDERS),
                )
        if isinstance(self.command, str):
            _check_control(self.command.replace("\t", " "), "command")
        if "config" not in placeholders or "\n" in self.command:
            raise ExperimentSchemaError(
                f"command {self.command!r} must be one line and contain {{config}}",
                path=_path("command"),
                fix="e.g. 'tune run {recipe} --config {config}'",
            )

    def training_command(self, distributed: bool) -> str:
        """The command template a run uses: distributed recipes get `--nproc_per_node` by default."""
        if distributed and self.command == DEFAULT_COMMAND:
            return DISTRIBUTED_COMMAND
        return self.command
