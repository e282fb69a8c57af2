"""Results joined with hyperparameters: every run's loss log next to the params that produced it.

torchtune's `DiskLogger` writes `log_<unix time>.txt` into the run's log_dir (by default
`<output_dir>/logs`), one line per logged step: `Step 12 | loss:1.23 lr:0.0003 ...`. Each run of
run_mapping.yaml becomes one row: its params, its status, how many steps it logged, its final and
best loss, and for an experiment with evaluation its eval status and one column per metric
(train.scores), with the base model's evaluation as a last row of its own. Missing, empty or
cut-off logs are reported as such; reading results never fails because a run did. A run's losses
are those of its latest attempt: a log older than the attempt's start (its marker's `started`) is
an earlier attempt's, and a failed or running attempt that has logged nothing yet shows none.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any

from ttwriter.folder.layout import BASE_MODEL, epoch_folder
from ttwriter.folder.markers import DONE, FAILED, RUNNING, read_marker
from ttwriter.folder.read import ExperimentFolder, FolderRun, read_experiment_folder
from ttwriter.formats import params_text
from ttwriter.slurm.status import local_state
from ttwriter.train.scores import EVAL_STATUSES, EvalResult, collect_evaluations, metric_names
from ttwriter.yaml_io import dump_scalar, read_yaml

PARTIAL, NO_LOG = "partial", "no log"
"""Result states besides the markers' done, failed and running: training stopped before its
end without a marker saying so, or no loss log at all."""
STATUSES = (DONE, FAILED, RUNNING, PARTIAL, NO_LOG)
BASE_MODEL_STATUS = "base model"
"""The training status of the base model's row in results.csv: the control, never trained."""

_STEP_LINE = re.compile(r"^Step ([0-9]{1,18}) \| (.*)$")  # a longer step number is not a record


@dataclasses.dataclass(frozen=True)
class LossLog:
    """The loss curve of one DiskLogger file."""

    path: Path
    steps: tuple[int, ...]
    losses: tuple[float, ...]
    skipped_lines: int
    """Lines that are not a complete `Step N | loss:...` record (such as one being written)."""
    bad_byte: int | None = None
    """Offset of the first byte that is not UTF-8, if any (the log is read anyway, such lines
    counted as skipped unless their record still reads)."""


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One row of the results table."""

    run_id: str
    params: dict[str, Any]
    status: str
    """done, failed, running, partial (the log stops before training finished) or 'no log'."""
    log: LossLog | None
    n_logs: int
    """How many DiskLogger files the run has; more than one after a rerun (the newest is used)."""
    exit_code: int | None = None
    earlier: Path | None = None
    """The newest loss log of an earlier attempt, when the latest attempt (its marker says when it
    started) has logged none: its losses are not this attempt's, so `log` is None."""

    @property
    def steps(self) -> int | None:
        return self.log.steps[-1] if self.log and self.log.steps else None

    @property
    def final_loss(self) -> float | None:
        return self.log.losses[-1] if self.log and self.log.losses else None

    @property
    def best(self) -> tuple[int, float] | None:
        """(step, loss) of the lowest finite loss."""
        if not self.log:
            return None
        finite = [
            (loss, step)
            for step, loss in zip(self.log.steps, self.log.losses, strict=True)
            if math.isfinite(loss)
        ]
        if not finite:
            return None
        loss, step = min(finite)
        return step, loss

    @property
    def best_loss(self) -> float | None:
        best = self.best
        return best[1] if best else None

    @property
    def best_step(self) -> int | None:
        best = self.best
        return best[0] if best else None


@dataclasses.dataclass(frozen=True)
class ExperimentResults:
    folder: ExperimentFolder
    runs: tuple[RunResult, ...]
    evaluations: dict[str, EvalResult] = dataclasses.field(default_factory=dict)
    """Run id (and `base_model`) -> its evaluation; empty for an experiment without evaluation."""

    @property
    def metric_names(self) -> tuple[str, ...]:
        return metric_names(self.evaluations.values())

    @property
    def base_model(self) -> EvalResult | None:
        return self.evaluations.get(BASE_MODEL)

    def eval_counts(self) -> dict[str, int]:
        found = [e.status for e in self.evaluations.values()]
        return {s: n for s in EVAL_STATUSES if (n := found.count(s))}

    @property
    def param_names(self) -> tuple[str, ...]:
        names = list(self.folder.variables)
        for run in self.runs:
            names += [k for k in run.params if k not in names]
        return tuple(names)

    def counts(self) -> dict[str, int]:
        return {s: n for s in STATUSES if (n := sum(r.status == s for r in self.runs))}


def parse_disk_log(path: Path) -> LossLog:
    """Read a DiskLogger file; lines that are not complete step records are counted, not fatal."""
    steps: list[int] = []
    losses: list[float] = []
    skipped = 0
    try:
        data = path.read_bytes()
    except OSError:
        return LossLog(path, (), (), 0)
    bad_byte = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # one damaged line must not hide the rest of the curve
        bad_byte = exc.start
        text = data.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1].strip():  # no line break yet: torchtune is still writing this record
        skipped += 1
    for line in lines[:-1]:
        match = _STEP_LINE.match(line.strip())
        metrics = _metrics(match.group(2)) if match else {}
        if match is None or "loss" not in metrics:
            skipped += bool(line.strip())
            continue
        steps.append(int(match.group(1)))
        losses.append(metrics["loss"])
    return LossLog(path, tuple(steps), tuple(losses), skipped, bad_byte)


def _metrics(text: str) -> dict[str, float]:
    found = {}
    for token in text.split():
        name, sep, value = token.partition(":")
        if not sep:
            continue
        try:
            found[name] = float(value)
        except ValueError:
            continue
    return found


def find_disk_logs(output_dir: Path) -> list[Path]:
    """DiskLogger files under a run's output_dir, oldest first (the name holds the start time)."""
    if not output_dir.is_dir():
        return []

    def order(path: Path) -> tuple[int, float, str]:
        stamp = path.stem.removeprefix("log_")
        return (int(stamp) if stamp.isdigit() else 0, path.stat().st_mtime, str(path))

    return sorted((p for p in output_dir.rglob("log_*.txt") if p.is_file()), key=order)


def _final_checkpoint(run: FolderRun, output_dir: Path) -> bool:
    """torchtune saves `epoch_<n>` at the end of every epoch: the last one means training ended."""
    try:
        config, _ = read_yaml(run.config_path)
        epochs = int(config["epochs"])
    except Exception:  # no config, no epochs key: this signal is simply not available
        return False
    return (output_dir / epoch_folder(epochs - 1)).is_dir()


def _log_start(path: Path) -> float:
    """When a DiskLogger file was started: the unix time in its name, else when it was last written."""
    stamp = path.stem.removeprefix("log_")
    return int(stamp) if stamp.isdigit() else path.stat().st_mtime


def _attempt_logs(logs: list[Path], started: dt.datetime | None) -> list[Path]:
    """The logs the attempt that started at `started` wrote (every log when that is not known)."""
    if started is None:
        return logs
    since = math.floor(started.timestamp())  # DiskLogger names its file by the whole second
    return [p for p in logs if _log_start(p) >= since]


def run_result(folder: ExperimentFolder, run: FolderRun) -> RunResult:
    """Status and loss curve of one run, from its markers, logs and checkpoints. Only the logs its
    latest attempt wrote are its losses: an earlier attempt's log is named (`earlier`), not used."""
    output_dir = Path(run.output_dir)
    if not output_dir.is_absolute():
        output_dir = folder.path / output_dir
    logs = find_disk_logs(output_dir)
    marker = read_marker(folder.path, run.id)
    current = _attempt_logs(logs, marker.started if marker else None)
    log = parse_disk_log(current[-1]) if current else None
    earlier = logs[-1] if logs and not current else None
    state, code = (marker.state, marker.exit_code) if marker else (None, None)
    named = marker is not None and marker.local and marker.pid is not None
    if marker is not None and named and state == RUNNING and local_state(marker) == FAILED:
        state = FAILED  # the local ttwriter it names is gone: the run is lost
    if state in (FAILED, RUNNING):
        status = state
    elif log is None:
        status = NO_LOG
    elif state == DONE:
        status = state
    elif log.steps and _final_checkpoint(run, output_dir):
        status = DONE
    else:
        status = PARTIAL
    return RunResult(run.id, run.params, status, log, len(logs), code, earlier)


def collect_results(experiment_dir: str | Path) -> ExperimentResults:
    """One `RunResult` per run of the folder's run_mapping.yaml, in sweep order, with the
    evaluations when the experiment has them."""
    folder = read_experiment_folder(experiment_dir, "results", moved_ok=True)  # it only reads
    return ExperimentResults(
        folder, tuple(run_result(folder, run) for run in folder.runs), collect_evaluations(folder)
    )


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _eval_cells(results: ExperimentResults, target: str, empty: str, number) -> list[str]:
    """The eval status and one cell per metric (`empty` where there is no score)."""
    if not results.evaluations:
        return []
    found = results.evaluations.get(target)
    if found is None:
        return [empty] * (1 + len(results.metric_names))
    return [
        found.status,
        *(number(found.scores[m]) if m in found.scores else empty for m in results.metric_names),
    ]


def results_csv(results: ExperimentResults) -> str:
    """The table as CSV: run_id, one column per param, status, steps, final/best loss, log; then,
    with evaluation, eval_status and one column per metric, and a `base_model` row (status
    `base model`: it is not trained)."""
    names = results.param_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    evaluated = ["eval_status", *results.metric_names] if results.evaluations else []
    writer.writerow(
        ["run_id", *names, "status", "steps", "final_loss", "best_loss", "best_step", "log", *evaluated]
    )
    for run in results.runs:
        writer.writerow(
            [
                run.run_id,
                *(dump_scalar(run.params[n]) if n in run.params else "" for n in names),
                run.status,
                "" if run.steps is None else run.steps,
                _number(run.final_loss),
                _number(run.best_loss),
                "" if run.best_step is None else run.best_step,
                str(run.log.path) if run.log else "",
                *_eval_cells(results, run.run_id, "", _number),
            ]
        )
    if results.base_model is not None:
        writer.writerow(
            [BASE_MODEL, *([""] * len(names)), BASE_MODEL_STATUS, "", "", "", "", ""]
            + _eval_cells(results, BASE_MODEL, "", _number)
        )
    return buffer.getvalue()


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def results_table(results: ExperimentResults) -> list[str]:
    """The table as aligned text lines, for the terminal."""
    names = results.param_names
    metrics = results.metric_names
    evaluated = ["eval", *metrics] if results.evaluations else []
    header = ["run", *names, "status", "steps", "final loss", "best loss", *evaluated]
    rows = [
        [
            run.run_id,
            *(dump_scalar(run.params[n]) if n in run.params else "-" for n in names),
            run.status,
            "-" if run.steps is None else str(run.steps),
            _loss(run.final_loss),
            _loss(run.best_loss),
            *_eval_cells(results, run.run_id, "-", _score),
        ]
        for run in results.runs
    ]
    if results.base_model is not None:
        rows.append(
            ["base model", *(["-"] * len(names)), "not trained", "-", "-", "-"]
            + _eval_cells(results, BASE_MODEL, "-", _score)
        )
    first = len(names) + 2  # steps; then final loss, best loss, eval status, the metrics
    numeric = {first, first + 1, first + 2, *range(first + 4, first + 4 + len(metrics))}
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def run_label(run: RunResult) -> str:
    """`lora_rank=4, learning_rate=0.001`: how a run is named in plots."""
    return params_text(run.params, ", ") or run.run_id
