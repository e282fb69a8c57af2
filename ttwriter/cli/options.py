"""Every command's options but generate's, as frozen dataclasses parsed by cli._parser: the field
docstrings are each command's --help, and a flag two commands share is declared once, so `DIR`,
`--runs`, `--failed`, `--dry-run` and `--ignore-validation` mean the same wherever they appear.

(generate's options depend on the experiment: cli.overrides builds them.)
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Annotated, Any

import tyro

from ttwriter.cli._arguments import ArgumentError, normal
from ttwriter.cli._parser import Dir, RunIds, Switch, flags_of
from ttwriter.folder.read import parse_run_ids
from ttwriter.slurm.choose import check_choice
from ttwriter.validation.gate import IGNORE_HELP

IgnoreValidation = Annotated[
    bool, tyro.conf.arg(help=f"{IGNORE_HELP[0].upper()}{IGNORE_HELP[1:]}.", help_behavior_hint="")
]
"""The validation gate's one override (validation.gate), as `submit` and `run` take it."""


@dataclasses.dataclass(frozen=True)
class FolderOptions:
    """`status`: an experiment folder, and nothing else."""

    dir: Dir
    """The experiment folder ttwriter wrote (outputs/<name>_<timestamp>)."""


@dataclasses.dataclass(frozen=True)
class StartOptions(FolderOptions):
    """`submit` and `run`, the two commands that start runs: which runs, and the same flags."""

    runs: RunIds = ()
    """Only these runs, by id: --runs run_000,run_003 (or --runs repeated); a done run trains again."""
    failed: Switch = False
    """Only the runs that did not complete: neither done nor still queued (failed, lost, never run)."""
    dry_run: Switch = False
    """Print what would start (submit: the sbatch command; run: each run's command) and start nothing."""
    ignore_validation: IgnoreValidation = False

    def run_ids(self, command: str) -> list[str] | None:
        """The run ids given with --runs, None for none; with --failed too, an error (slurm.choose)."""
        return _run_ids(self.runs, self.failed, command, self.dir)


def _run_ids(runs: tuple[str, ...], failed: bool, command: str, typed_dir: str) -> list[str] | None:
    if not runs:
        return None
    check_choice(runs, failed, command=command, typed_dir=typed_dir)
    ids = [i for value in runs for i in parse_run_ids(value) or []]
    if not ids:
        raise ArgumentError(
            f"--runs needs run ids, got {' '.join(repr(v) for v in runs)}",
            fix=f"e.g. ttwriter {command} {shlex.quote(typed_dir)} --runs run_000,run_003",
        )
    return list(dict.fromkeys(ids))


@dataclasses.dataclass(frozen=True)
class SubmitOptions(StartOptions):
    """`submit`: StartOptions, and whether the evaluations go with the runs."""

    no_eval: Switch = False
    """Train only, no evaluation, even if the experiment has one."""


@dataclasses.dataclass(frozen=True)
class RunOptions(SubmitOptions):
    """`run`: SubmitOptions, and evaluating alone."""

    eval_only: Switch = False
    """Evaluate only, no training: the chosen runs whose training is done (with --failed, the evaluations not done)."""


@dataclasses.dataclass(frozen=True)
class EvaluateOptions(FolderOptions):
    """`evaluate`: which evaluations."""

    runs: RunIds = ()
    """Only these, by id: --runs run_000,base_model; a done evaluation is done again. Default: every run whose training is done, and the base model, refused once one of them is evaluated."""
    failed: Switch = False
    """Only the evaluations that did not complete (of the runs whose training is done, and the base model): neither done nor still queued."""

    def run_ids(self) -> list[str] | None:
        """The ids given with --runs (`base_model` among them), None for none; with --failed too, an error."""
        return _run_ids(self.runs, self.failed, "evaluate", self.dir)


@dataclasses.dataclass(frozen=True)
class ResultsOptions:
    """`results`: one experiment folder, or several (and parents of many) joined in one table."""

    dirs: Annotated[
        tyro.conf.Positional[tuple[str, ...]], tyro.conf.arg(metavar="DIR [DIR ...]", help_behavior_hint="")
    ]
    """Experiment folders ttwriter wrote (outputs/<name>_<timestamp>), or folders holding them; several are joined in one table."""
    no_plot: Switch = False
    """Do not write the plot (loss_curves.png; for several experiments, the comparison PNG beside --csv)."""
    csv: Annotated[str | None, tyro.conf.arg(metavar="FILE", help_behavior_hint="")] = None
    """Write the rows shown, with every column of the joined table, to FILE (and the comparison plot beside it, FILE with .png)."""
    sort: Annotated[str | None, tyro.conf.arg(metavar="KEY", help_behavior_hint="")] = None
    """Order the table by a column, smallest first, e.g. --sort final_loss."""
    where: Annotated[
        tuple[str, ...], tyro.conf.UseAppendAction, tyro.conf.arg(metavar="KEY=VALUE", help_behavior_hint="")
    ] = ()
    """Keep the rows whose column KEY equals VALUE (read as YAML), e.g. --where lora_rank=16; repeatable."""

    def __post_init__(self) -> None:
        if not self.dirs:
            raise ArgumentError(
                "ttwriter results needs DIR, an experiment folder ttwriter wrote (or a folder holding several)",
                fix="ttwriter results DIR [DIR ...]",
            )

    @property
    def joined(self) -> bool:
        """Whether this asks for the joined table of several folders rather than one folder's own
        results (--where, --sort and --csv choose and write the rows of either)."""
        return len(self.dirs) > 1

    @property
    def chooses(self) -> bool:
        """Whether --where, --sort or --csv choose or write rows (through the joined table's
        columns, for one folder as for several)."""
        return self.csv is not None or self.sort is not None or bool(self.where)

    def conditions(self) -> list[tuple[str, str]]:
        """--where as (key, value) pairs; one without `=` is an ArgumentError."""
        pairs = []
        for item in self.where:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ArgumentError(
                    f"--where needs KEY=VALUE, got {item!r}",
                    fix=f"e.g. --where {key.strip() or 'status'}=done",
                )
            pairs.append((key.strip(), value))
        return pairs


@dataclasses.dataclass(frozen=True)
class TinyAssetsOptions:
    """`tiny-assets`."""

    dir: Dir
    """The folder to write the assets into (created if missing)."""


def _positional(metavar: str) -> Any:
    return tyro.conf.arg(metavar=metavar, help_behavior_hint="")


@dataclasses.dataclass(frozen=True)
class TreeOptions:
    """`tree`."""

    path: Annotated[tyro.conf.Positional[str], _positional("PATH")]
    """A family folder of Python experiments (experiments/sft/llama_1b), or any file in it."""
    json: Switch = False
    """Print the family as JSON (one object per file, in tree order), for scripts."""


@dataclasses.dataclass(frozen=True)
class DiffOptions:
    """`diff`."""

    file: Annotated[tyro.conf.Positional[str], _positional("FILE")]
    """The experiment to show the changes of: a .py experiment, an experiment.yaml or an experiment.json."""
    other: Annotated[tyro.conf.Positional[str | None], _positional("[OTHER]")] = None
    """Compare against this experiment (a sibling, any experiment file, an experiment.json snapshot) instead of FILE's parent."""
    configs: Switch = False
    """Also diff the generated config of the first run of each: what torchtune will see."""


@dataclasses.dataclass(frozen=True)
class NewOptions:
    """`new`."""

    parent: Annotated[tyro.conf.Positional[str], _positional("PARENT")]
    """The experiment file to derive from; the new file goes into its folder."""
    name: Annotated[str, tyro.conf.arg(metavar="NAME", help_behavior_hint="")]
    """The new experiment's name, which also names its file NAME_<next id>_<parent id>.py (letters, digits and _)."""


COMMAND_OPTIONS: dict[str, type] = {
    "submit": SubmitOptions,
    "status": FolderOptions,
    "run": RunOptions,
    "evaluate": EvaluateOptions,
    "results": ResultsOptions,
    "tiny-assets": TinyAssetsOptions,
    "tree": TreeOptions,
    "diff": DiffOptions,
    "new": NewOptions,
}
"""Each command's options, as its module parses them (tests/cli/test_parser.py checks they agree)."""


def commands_taking(flag: str) -> dict[str, bool]:
    """The commands that have `flag` -> whether it takes a value there, generate first: `--runs`
    given to generate is an option of submit and run, which helps more than "did you mean
    '--dry-run'"."""
    from ttwriter.cli.generate import generic_flags
    from ttwriter.cli.main import GENERATE

    tables = {GENERATE: generic_flags()}
    tables.update({name: flags_of(cls, pairs=False) for name, cls in COMMAND_OPTIONS.items()})
    wanted = normal(flag)
    found = {name: [v for f, v in flags.items() if normal(f) == wanted] for name, flags in tables.items()}
    return {name: values[0] for name, values in found.items() if values}
