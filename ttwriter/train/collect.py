"""Results across experiments: every run of every experiment folder in one table.

"Make collecting and joining all metrics and hparams post hoc very low friction": given folders
(experiment folders, or parents holding many), each run becomes one row with its experiment, the
file it was written in and that file's parent, its run id, the union of every experiment's swept
params (a value an experiment fixed as a control fills its column too; empty where it set none),
status and losses, and the eval metrics of those that have them. The rows are what
`ttwriter results DIR DIR ...` prints, filters (`--where`), sorts (`--sort`) and writes (`--csv`);
each experiment's question and hypothesis travel with it, so a reader sees what was asked next
to what came out. One experiment's own table is train.results; this module only joins them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ttwriter.errors import ExperimentDirError, did_you_mean
from ttwriter.folder.layout import BASE_MODEL, MAPPING_FILE
from ttwriter.folder.moved import Moved
from ttwriter.folder.read import ExperimentFolder
from ttwriter.formats import counted, listed
from ttwriter.train.results import BASE_MODEL_STATUS, ExperimentResults, RunResult, collect_results
from ttwriter.yaml_io import dump_scalar, parse_scalar

LEADING = ("experiment", "file", "parent", "run_id")
"""The columns that say where a row comes from."""
TRAILING = ("status", "steps", "final_loss", "best_loss")
"""The columns every run has, after its params."""
EVAL_STATUS = "eval_status"
"""Before the metrics, when an experiment evaluates: a failed evaluation and one not run yet both
have no scores, and only this column tells them apart."""
FOLDER = "experiment_dir"
CONTEXT = ("question", "hypothesis", FOLDER)
"""Written to the CSV (one value per experiment, repeated), not to the terminal table."""


@dataclasses.dataclass(frozen=True)
class ExperimentInfo:
    """What a reader needs beside an experiment's rows: where it comes from and what it asked."""

    name: str
    path: Path
    file: str
    parent: str
    question: str
    hypothesis: str
    n_runs: int


@dataclasses.dataclass(frozen=True)
class Joined:
    """The rows of every experiment, with the columns they share."""

    experiments: tuple[ExperimentInfo, ...]
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    """Column -> value (None where the row has none); params and metrics as their own types."""
    moved: tuple[Moved, ...] = ()
    """The folders read that were moved or copied since they were written (folder.moved)."""
    unmatched: str | None = None
    """Why `where` left no row, when it did: `no run has lora_rank=17; its values: 8, 16, 32`."""
    evaluated: bool = False
    """Whether any experiment evaluates (then the eval_status column is shown)."""

    @property
    def n_runs(self) -> int:
        """The rows that are runs of a sweep (not an experiment's base_model row)."""
        return sum(row["run_id"] != BASE_MODEL for row in self.rows)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*LEADING, *self.params, *TRAILING, *((EVAL_STATUS,) if self.evaluated else ()), *self.metrics)

    def where(self, conditions: Sequence[tuple[str, str]]) -> Joined:
        """The rows whose column KEY equals VALUE (read as YAML, so `1e-3` matches 0.001), for
        each condition; an unknown key is an ExperimentDirError with "did you mean". A value no
        row has is no error (`status=failed` when none failed is an answer): `unmatched` says
        which condition left no row and the values its column has."""
        rows = list(self.rows)
        unmatched = None
        for index, (key, value) in enumerate(conditions):
            self._check_key(key, "--where", f"{key}={value}")
            wanted = parse_scalar(value)
            kept = [r for r in rows if _equal(r.get(key), wanted)]
            if rows and not kept:
                unmatched = _no_match(key, value, rows, conditions[:index])
            rows = kept
        return dataclasses.replace(self, rows=tuple(rows), unmatched=unmatched)

    def sorted(self, key: str) -> Joined:
        """The rows by `key`, smallest first; numbers by value, rows without one last."""
        self._check_key(key, "--sort", key)
        return dataclasses.replace(self, rows=tuple(sorted(self.rows, key=lambda row: _order(row.get(key)))))

    def _check_key(self, key: str, flag: str, typed: str) -> None:
        if key in self.columns:
            return
        hint = did_you_mean(key, self.columns)
        raise ExperimentDirError(
            f"{flag} {typed}: the table has no column {key!r}" + (f"; {hint}" if hint else ""),
            fix="columns: " + ", ".join(self.columns),
        )

    def csv(self) -> str:
        """Every column, then the experiment's question, hypothesis and folder: one file for pandas."""
        info = {str(e.path): e for e in self.experiments}
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*self.columns, *CONTEXT])
        for row in self.rows:
            found = info[row[FOLDER]]
            context = (found.question, found.hypothesis, str(found.path))
            writer.writerow([_csv_cell(row.get(c)) for c in self.columns] + list(context))
        return buffer.getvalue()

    def table(self) -> list[str]:
        """The rows as aligned text lines, for the terminal (numbers right-aligned)."""
        header = [c.replace("_", " ") if c in TRAILING else c for c in self.columns]
        cells = [[_text_cell(row.get(c), c) for c in self.columns] for row in self.rows]
        numeric = {
            i for i, c in enumerate(self.columns) if c in ("steps", "final_loss", "best_loss", *self.metrics)
        }
        widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
        return [
            "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in [header, *cells]
        ]


def _no_match(key: str, value: str, rows: Sequence[dict[str, Any]], before: Sequence[tuple[str, str]]) -> str:
    """`no run has lora_rank=17; its values: 8, 16, 32`, among the rows the conditions before it kept."""
    among = (
        (f" among the {counted(len(rows))} with " + " and ".join(f"{k}={v}" for k, v in before))
        if before
        else ""
    )
    present = [r[key] for r in rows if r.get(key) is not None and r.get(key) != ""]
    values = list(dict.fromkeys(_csv_cell(v) for v in sorted(present, key=_order)))
    text = f"no run has {key}={value}{among}; "
    if not values:
        return text + f"no run has a value for {key}"
    text += f"its values: {listed(values)}"
    if len(present) < len(rows):
        text += f" (and none in {counted(len(rows) - len(present))}: --where {key}= keeps those)"
    if isinstance(parse_scalar(value), (int, float)):  # 16 for 17 would be a guess, not a spelling
        return text
    hint = did_you_mean(value, values)
    return text + (f"; {hint}" if hint else "")


def _order(value: Any) -> tuple[int, float, str]:
    """Numbers by value, then text; None, empty and NaN last (how --sort orders a column)."""
    if value is None or value == "":
        return (2, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "") if not math.isnan(value) else (2, 0.0, "")
    return (1, 0.0, str(value))


def _equal(value: Any, wanted: Any) -> bool:
    if value is None:
        return wanted is None or wanted == ""
    if isinstance(value, (int, float)) and isinstance(wanted, (int, float)) and not isinstance(value, bool):
        return float(value) == float(wanted)
    return value == wanted or dump_scalar(value) == dump_scalar(wanted) or str(value) == str(wanted)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return dump_scalar(value)


def _text_cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if column in ("final_loss", "best_loss") and isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, float) and column not in LEADING:
        return f"{value:.4g}" if column not in ("steps",) else str(value)
    if isinstance(value, str):
        return value
    return dump_scalar(value)


# --- finding and reading the folders -------------------------------------------------------------


def experiment_folders(paths: Iterable[str | Path]) -> list[Path]:
    """The experiment folders among `paths` and under them (a parent holding many), each once,
    in the order given (a parent's experiments by name). A path with none is an ExperimentDirError."""
    found: list[Path] = []
    for given in paths:
        root = Path(given).expanduser().resolve()
        if not root.is_dir():
            raise ExperimentDirError(
                f"{given} is not a folder",
                file=root,
                fix="give experiment folders, or a folder that holds them",
            )
        here = []
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
            if MAPPING_FILE in files:
                here.append(Path(folder))
                subfolders[:] = []  # an experiment folder's runs/ hold no experiments
        if not here:
            raise ExperimentDirError(
                f"{given} holds no ttwriter experiment folder (none has a {MAPPING_FILE})",
                file=root,
                fix="give the folders ttwriter wrote (outputs/<name>_<timestamp>), or their parent",
            )
        found += [p for p in sorted(here) if p not in found]
    return found


def is_experiment_folder(path: str | Path) -> bool:
    """A folder ttwriter wrote (it has run_mapping.yaml): `ttwriter results DIR` shows its own results."""
    return (Path(path).expanduser() / MAPPING_FILE).is_file()


def holds_experiments(path: str | Path) -> bool:
    """A folder that is no experiment folder itself but holds some (`ttwriter results PARENT`)."""
    root = Path(path).expanduser()
    if not root.is_dir() or (root / MAPPING_FILE).is_file():
        return False
    return any(MAPPING_FILE in files for _, _, files in os.walk(root))


def asked(question: str, hypothesis: str) -> list[str]:
    """`question: ...` and `hypothesis: ...` of an experiment, as lines above its table."""
    return [
        f"  {name + ':':<11} {text}"
        for name, text in (("question", question), ("hypothesis", hypothesis))
        if text
    ]


def folder_asked(folder: ExperimentFolder) -> list[str]:
    """`asked` for one experiment folder, from its experiment.json."""
    fields = folder.snapshot.experiment if folder.snapshot else {}
    return asked(str(fields.get("question") or ""), str(fields.get("hypothesis") or ""))


def _info(results: ExperimentResults) -> ExperimentInfo:
    folder = results.folder
    snapshot = folder.snapshot
    fields = snapshot.experiment if snapshot else {}
    lineage = list(snapshot.provenance.lineage) if snapshot else []
    return ExperimentInfo(
        name=folder.experiment,
        path=folder.path,
        file=lineage[-1] if lineage else "",
        parent=lineage[-2] if len(lineage) > 1 else "",
        question=str(fields.get("question") or ""),
        hypothesis=str(fields.get("hypothesis") or ""),
        n_runs=len(results.runs),
    )


def _controls(results: ExperimentResults) -> dict[str, Any]:
    snapshot = results.folder.snapshot
    controls = snapshot.experiment.get("controls") if snapshot else None
    return dict(controls) if isinstance(controls, dict) else {}


def _row(
    info: ExperimentInfo, run: RunResult, results: ExperimentResults, params: Sequence[str]
) -> dict[str, Any]:
    controls = _controls(results)
    row: dict[str, Any] = {"experiment": info.name, "file": info.file or None, "parent": info.parent or None}
    row["run_id"] = run.run_id
    row[FOLDER] = str(info.path)
    for name in params:
        row[name] = run.params[name] if name in run.params else controls.get(name)
    row.update(status=run.status, steps=run.steps, final_loss=run.final_loss, best_loss=run.best_loss)
    return row | _evaluated(results, run.run_id)


def _evaluated(results: ExperimentResults, target: str) -> dict[str, Any]:
    """A row's eval_status and scores (none for an experiment without evaluation)."""
    evaluation = results.evaluations.get(target)
    if evaluation is None:
        return {}
    return {EVAL_STATUS: evaluation.status, **evaluation.scores}


def _base_model_row(info: ExperimentInfo, results: ExperimentResults) -> dict[str, Any]:
    """The base model's evaluation, the control the runs are compared with: no params, no losses,
    status `base model` as in one experiment's own table."""
    row: dict[str, Any] = {"experiment": info.name, "file": info.file or None, "parent": info.parent or None}
    row.update(run_id=BASE_MODEL, status=BASE_MODEL_STATUS)
    row[FOLDER] = str(info.path)
    return row | _evaluated(results, BASE_MODEL)


def join_results(paths: Iterable[str | Path]) -> Joined:
    """Every run of every experiment folder found in `paths`, as one table, each experiment's
    base-model evaluation as a `base_model` row after its runs."""
    return join([collect_results(folder) for folder in experiment_folders(paths)])


def choose(
    results: ExperimentResults, conditions: Sequence[tuple[str, str]], sort: str | None
) -> tuple[ExperimentResults, Joined]:
    """One experiment's runs as `--where` keeps and `--sort` orders them, by the joined table's
    columns and rules (one folder and many are filtered alike), and that table (for `--csv`)."""
    joined = join([results]).where(conditions)
    if sort:
        joined = joined.sorted(sort)
    by_id = {run.run_id: run for run in results.runs}
    kept = tuple(by_id[row["run_id"]] for row in joined.rows if row["run_id"] in by_id)  # not base_model
    return dataclasses.replace(results, runs=kept), joined


def join(collected: Sequence[ExperimentResults]) -> Joined:
    """The runs of experiments already read, as one table."""
    params: list[str] = []
    metrics: list[str] = []
    for results in collected:
        params += [p for p in results.param_names if p not in params]
        metrics += [m for m in results.metric_names if m not in metrics]
    taken = {*LEADING, *TRAILING, EVAL_STATUS}
    params = [p for p in params if p not in taken]
    metrics = [m for m in metrics if m not in taken and m not in params]
    infos, rows = [], []
    for results in collected:
        info = _info(results)
        infos.append(info)
        rows += [_row(info, run, results, params) for run in results.runs if run.run_id != BASE_MODEL]
        if results.base_model is not None:
            rows.append(_base_model_row(info, results))
    moved = tuple(r.folder.moved for r in collected if r.folder.moved is not None)
    evaluated = any(r.evaluations for r in collected)
    return Joined(tuple(infos), tuple(params), tuple(metrics), tuple(rows), moved, evaluated=evaluated)
