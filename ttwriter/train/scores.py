"""Evaluation results joined with the runs: each run's scores (and the base model's) as
`ttwriter results` shows them, from the eval markers and the scores.json of each checkpoint.

Reading never fails because an evaluation did: one not yet run, still running, failed, or whose
scores.json is missing or damaged has a status that says so and no scores. Metric names are
`<task>/<metric>` (`letters/accuracy`); when the experiment evaluates several checkpoints per run,
each is a column of its own, `letters/accuracy@epoch_1`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from ttwriter.evaluate.plan import EvalRecord
from ttwriter.folder import markers
from ttwriter.folder.layout import SCORES_FILE
from ttwriter.folder.read import ExperimentFolder

NOT_RUN, NO_SCORES = "not run", "no scores"
"""Eval states besides the markers' done, failed and running: never started, or marked done
without a readable scores.json."""
EVAL_STATUSES = (markers.DONE, markers.FAILED, markers.RUNNING, NO_SCORES, NOT_RUN)
STDERR_SUFFIX = "stderr"


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """A run's (or the base model's) evaluation as the results show it."""

    target: str
    status: str
    scores: dict[str, float]
    """Column name -> value; empty unless the evaluation is done."""
    exit_code: int | None = None


def _read_scores(path: Path) -> dict[str, float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scores = data.get("scores") if isinstance(data, Mapping) else None
    if not isinstance(scores, Mapping):
        return None
    return {
        str(k): float(v) for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def eval_result(folder: ExperimentFolder, record: EvalRecord) -> EvalResult:
    marker = markers.read_marker(folder.path, record.target, markers.EVALUATION)
    if marker is None:
        return EvalResult(record.target, NOT_RUN, {})
    if marker.state != markers.DONE:
        return EvalResult(record.target, marker.state, {}, marker.exit_code)
    several = len(record.checkpoints) > 1
    scores: dict[str, float] = {}
    for checkpoint in record.checkpoints:
        found = _read_scores(Path(checkpoint.results) / SCORES_FILE)
        if found is None:
            return EvalResult(record.target, NO_SCORES, {}, marker.exit_code)
        scores.update({f"{k}@{checkpoint.label}" if several else k: v for k, v in found.items()})
    return EvalResult(record.target, markers.DONE, scores, marker.exit_code)


def collect_evaluations(folder: ExperimentFolder) -> dict[str, EvalResult]:
    """Every run's evaluation, then the base model's (when the experiment has them), by id."""
    if not folder.evaluates:
        return {}
    records = [r.evaluation for r in folder.runs if r.evaluation is not None]
    if folder.base_eval is not None:
        records.append(folder.base_eval)
    return {record.target: eval_result(folder, record) for record in records}


def metric_names(results: Iterable[EvalResult]) -> tuple[str, ...]:
    """Every metric any evaluation reported, in the order they first appear."""
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.scores))
    return tuple(names)


def main_metric(names: tuple[str, ...], wanted: str | None) -> tuple[str | None, str | None]:
    """(the metric the plot shows, a note when `wanted` is not among the names). Default: the
    first metric that is not a standard error, of the last checkpoint when there are several."""
    if wanted is not None:
        matching = [n for n in names if n == wanted or n.split("@")[0] == wanted]
        if matching:
            return matching[-1], None
        from ttwriter.errors import did_you_mean

        hint = did_you_mean(wanted, [n.split("@")[0] for n in names])
        note = f"evaluation.metric {wanted!r} is not among the scores" + (f"; {hint}" if hint else "")
        return _default(names), note
    return _default(names), None


def _default(names: tuple[str, ...]) -> str | None:
    plain = [n for n in names if not n.split("@")[0].endswith(STDERR_SUFFIX)] or list(names)
    if not plain:
        return None
    first = plain[0].split("@")[0]
    same = [n for n in plain if n.split("@")[0] == first]
    return same[-1]
