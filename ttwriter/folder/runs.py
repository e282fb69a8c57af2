"""The runs of a written experiment folder: `RunRecord` as generation returns them, `FolderRun` as
they are read back.

A run of a written folder is its id, its config file, the output_dir torchtune writes to and its
variable values; read back from run_mapping.yaml it also carries its array task index (task i of
submit.sbatch is run i of the mapping), which `submit`, `status` and `ttwriter run` all need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttwriter.folder.layout import config_rel

if TYPE_CHECKING:
    from ttwriter.evaluate.plan import EvalRecord
    from ttwriter.sweep.plan import SweepPlan


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run as a user sees it: its id, config file, training output folder and variable values."""

    id: str
    config_path: Path
    output_dir: str
    params: dict[str, Any]
    condition: str | None = dataclasses.field(default=None, kw_only=True)
    """The condition id (`c000`) the replicates of one condition share; None without replicates."""
    replicate: int | None = dataclasses.field(default=None, kw_only=True)
    """The replicate index 0..R-1; None without replicates."""


@dataclasses.dataclass(frozen=True)
class FolderRun(RunRecord):
    """A run read back from a written folder, with its array task index (its place in the sweep)."""

    task: int
    evaluation: EvalRecord | None = None
    """What the run's evaluation does (run_mapping.yaml's `eval`); None without evaluation."""


class RunRecords(Sequence[RunRecord]):
    """The runs of a sweep as records, made from the plan when read instead of kept in memory.

    A sweep of any size costs the same memory; reading a record recomputes its run (microseconds).
    """

    def __init__(self, plan: SweepPlan, experiment_dir: Path) -> None:
        self._plan = plan
        self._experiment_dir = experiment_dir

    def __len__(self) -> int:
        return self._plan.n_runs

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        index = index + len(self) if index < 0 else index
        run_id, params, output_dir = self._plan.describe(index)
        condition, replicate = self._plan.condition_of(index)
        return RunRecord(
            run_id,
            self._experiment_dir / config_rel(run_id),
            output_dir,
            params,
            condition=condition,
            replicate=replicate,
        )

    def __iter__(self) -> Iterator[RunRecord]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RunRecords: {len(self)} runs of {self._plan.experiment.name!r}>"
