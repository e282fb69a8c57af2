"""Results over replicates: the runs of a sweep grouped by condition, with mean, spread and n.

A sweep with `replicates` records each run's condition id in run_mapping.yaml (`c000`: the same
for every replicate of one condition, which differ only in their seed). Here the runs of a
condition become one row: the condition's params (without the seed), and for the final loss and
every eval metric the mean, the standard deviation and n, over the runs that have a value: the
final loss of a run that is done, a metric of an evaluation that is (a failed or unfinished
replicate lowers n instead of hiding the condition, and its losses, however far it got, are not
averaged with finished ones). The standard deviation
is the sample one (n - 1 in the denominator), empty for n = 1. The loss plot uses the same groups
for a mean curve with a band of one standard deviation.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import statistics
from typing import Any

from ttwriter.formats import params_text
from ttwriter.train.results import DONE, ExperimentResults, RunResult
from ttwriter.yaml_io import dump_scalar

SEED = "seed"
"""The param replicates differ in; left out of a condition's params."""
FINAL_LOSS = "final_loss"


@dataclasses.dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for n < 2) and n of one measure over a condition's runs."""

    mean: float | None
    std: float | None
    n: int


def stat(values: list[float]) -> Stat:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return Stat(None, None, 0)
    return Stat(statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else None, len(finite))


@dataclasses.dataclass(frozen=True)
class ConditionResult:
    condition: str
    params: dict[str, Any]
    runs: tuple[RunResult, ...]
    stats: dict[str, Stat]
    """`final_loss` and every eval metric -> its statistics over the runs."""


def _finished(runs: tuple[RunResult, ...] | list[RunResult]) -> list[RunResult]:
    """The runs whose training is done: the only ones a condition's loss statistics count."""
    return [r for r in runs if r.status == DONE]


def by_condition(results: ExperimentResults) -> list[ConditionResult]:
    """The runs grouped by their condition id, in sweep order; empty for a sweep without replicates."""
    ids = {run.id: run.condition for run in results.folder.runs}
    groups: dict[str, list[RunResult]] = {}
    for run in results.runs:
        condition = ids.get(run.run_id)
        if condition is not None:
            groups.setdefault(condition, []).append(run)
    out = []
    for condition, runs in groups.items():
        measures = {FINAL_LOSS: [r.final_loss for r in _finished(runs) if r.final_loss is not None]}
        for metric in results.metric_names:
            scores = (results.evaluations.get(r.run_id) for r in runs)
            measures[metric] = [s.scores[metric] for s in scores if s is not None and metric in s.scores]
        params = {k: v for k, v in runs[0].params.items() if k != SEED}
        out.append(ConditionResult(condition, params, tuple(runs), {k: stat(v) for k, v in measures.items()}))
    return out


def _param_names(groups: list[ConditionResult]) -> list[str]:
    names: list[str] = []
    for group in groups:
        names += [k for k in group.params if k not in names]
    return names


def _measures(results: ExperimentResults) -> list[str]:
    return [FINAL_LOSS, *results.metric_names]


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def conditions_csv(results: ExperimentResults, groups: list[ConditionResult]) -> str:
    """results_by_condition.csv: condition, its params, runs, then mean, std and n of each measure."""
    names = _param_names(groups)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    measures = _measures(results)
    writer.writerow(
        ["condition", *names, "runs", *(f"{m}_{part}" for m in measures for part in ("mean", "std", "n"))]
    )
    for group in groups:
        cells: list[Any] = [group.condition]
        cells += [dump_scalar(group.params[n]) if n in group.params else "" for n in names]
        cells.append(len(group.runs))
        for measure in measures:
            s = group.stats[measure]
            cells += [_number(s.mean), _number(s.std), s.n]
        writer.writerow(cells)
    return buffer.getvalue()


def _shown(s: Stat, digits: str) -> str:
    if s.mean is None:
        return "-"
    text = f"{s.mean:{digits}}"
    return text + (f" ± {s.std:{digits}}" if s.std is not None else "")


def conditions_table(results: ExperimentResults, groups: list[ConditionResult]) -> list[str]:
    """The per-condition table as aligned text lines: `final loss` and each metric as mean ± std, and n."""
    names = _param_names(groups)
    measures = _measures(results)
    header = ["condition", *names, "runs"]
    for measure in measures:
        header += ["final loss" if measure == FINAL_LOSS else measure, "n"]
    rows = []
    for group in groups:
        row = [group.condition, *(dump_scalar(group.params[n]) if n in group.params else "-" for n in names)]
        row.append(str(len(group.runs)))
        for measure in measures:
            s = group.stats[measure]
            row += [_shown(s, ".4f" if measure == FINAL_LOSS else ".4g"), str(s.n)]
        rows.append(row)
    numeric = set(range(len(names) + 1, len(header)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]


@dataclasses.dataclass(frozen=True)
class MeanCurve:
    """A condition's loss curve: the mean over its runs at the steps they all logged, and the spread."""

    label: str
    steps: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    n: int


def mean_curves(groups: list[ConditionResult]) -> list[MeanCurve]:
    """One mean curve per condition with logged runs (steps every such run logged)."""
    curves = []
    for group in groups:
        logs = [r.log for r in _finished(group.runs) if r.log and r.log.steps]
        if not logs:
            continue
        common = set(logs[0].steps).intersection(*(set(log.steps) for log in logs[1:]))
        steps = tuple(sorted(common))
        by_step = [dict(zip(log.steps, log.losses, strict=True)) for log in logs]
        mean, std = [], []
        for step in steps:
            values = [losses[step] for losses in by_step]
            mean.append(statistics.fmean(values))
            std.append(statistics.stdev(values) if len(values) > 1 else 0.0)
        label = f"{group.condition}: {params_text(group.params, ', ')} (n={len(logs)})"
        curves.append(MeanCurve(label, steps, tuple(mean), tuple(std), len(logs)))
    return curves
