"""The two evaluation harnesses as ttwriter drives them: the package, the command, the scores.

Each harness runs as its own command-line program (`python -m inspect_ai eval ...`,
`python -m lm_eval ...`) in a subprocess, so the eval job is exactly the command a researcher
would type, recorded in run_mapping.yaml, and a harness crash is a failed eval, never a crashed
ttwriter. `python` in a recorded command is the interpreter that runs `ttwriter evaluate`.

Scores are read back here with each harness's own reader (inspect: `inspect_ai.log`; lm_eval:
its results JSON) and named `<task>/<metric>` (`letters/accuracy`, `tiny_sums/acc`), the column
names of `ttwriter results`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.experiment.evaluation import INSPECT, LM_EVAL, TASK_FILE_SEPARATOR, Evaluation
from ttwriter.yaml_io import dump_scalar

PYTHON = "python"
"""argv[0] of a recorded command: the interpreter running `ttwriter evaluate` takes its place."""


@dataclasses.dataclass(frozen=True)
class Harness:
    """One evaluation harness: how it is installed, started, and where its results are."""

    name: str
    """As `evaluation.harness` spells it."""
    package: str
    """The import name, checked with importlib.util.find_spec (nothing imported)."""
    distribution: str
    """The name pip installs (part of ttwriter[eval])."""
    module: str
    """What `python -m` runs."""


HARNESSES = {
    INSPECT: Harness(INSPECT, "inspect_ai", "inspect-ai", "inspect_ai"),
    LM_EVAL: Harness(LM_EVAL, "lm_eval", "lm-eval", "lm_eval"),
}
INSTALL_HINT = "pip install 'ttwriter[eval]' (inspect-ai and lm-eval with versions that work together)"


def task_name(task: str) -> str:
    """The name a task's metrics are filed under: `letters` for `tasks/letters.py@letters` or
    `pkg/letters`, the name itself for lm_eval."""
    if TASK_FILE_SEPARATOR in task:
        return task.rsplit(TASK_FILE_SEPARATOR, 1)[1]
    if task.endswith(".py"):
        return Path(task).stem
    return task.rsplit("/", 1)[-1]


def _value(value: Any) -> str:
    """A model argument as both harnesses read it (YAML scalars: true, 1e-05, bfloat16)."""
    return dump_scalar(value) if not isinstance(value, str) else value


def command(evaluation: Evaluation, model_dir: str, results_dir: str, device: str) -> list[str]:
    """The harness command that evaluates the model in `model_dir`, writing into `results_dir`."""
    if evaluation.harness == INSPECT:
        argv = [PYTHON, "-m", HARNESSES[INSPECT].module, "eval", *evaluation.tasks]
        argv += ["--model", "hf/local", "-M", f"model_path={model_dir}", "-M", f"device={device}"]
        if evaluation.batch_size is not None:
            argv += ["-M", f"batch_size={evaluation.batch_size}"]
        for key, value in evaluation.model_args.items():
            argv += ["-M", f"{key}={_value(value)}"]
        if evaluation.limit is not None:
            argv += ["--limit", str(evaluation.limit)]
        if evaluation.max_tokens is not None:
            argv += ["--max-tokens", str(evaluation.max_tokens)]
        argv += ["--log-dir", results_dir, "--display", "plain"]
        return [*argv, *evaluation.args]
    model_args = ",".join(
        [f"pretrained={model_dir}", *(f"{k}={_value(v)}" for k, v in evaluation.model_args.items())]
    )
    argv = [PYTHON, "-m", HARNESSES[LM_EVAL].module, "--model", "hf", "--model_args", model_args]
    argv += ["--tasks", ",".join(evaluation.tasks)]
    if evaluation.include_path is not None:
        argv += ["--include_path", evaluation.include_path]
    argv += ["--device", device]
    if evaluation.batch_size is not None:
        argv += ["--batch_size", str(evaluation.batch_size)]
    if evaluation.limit is not None:
        argv += ["--limit", str(evaluation.limit)]
    if evaluation.max_tokens is not None:
        argv += ["--gen_kwargs", f"max_gen_toks={evaluation.max_tokens}"]
    argv += ["--output_path", results_dir]
    return [*argv, *evaluation.args]


def working_dir(evaluation: Evaluation, results_dir: str) -> str:
    """Where the harness runs: lm_eval in include_path, so the relative `data_files` of a task
    YAML shipped beside its data are found (inspect resolves a task's files from the task file)."""
    if evaluation.harness == LM_EVAL and evaluation.include_path is not None:
        return evaluation.include_path
    return results_dir


class ScoresError(Exception):
    """The harness finished but its results cannot be read as scores (the message says why)."""


def read_scores(evaluation: Evaluation, results_dir: Path) -> dict[str, float]:
    """`{"<task>/<metric>": value}` from what the harness wrote into `results_dir` (its newest
    output per task); raises ScoresError when a task has no complete result."""
    if evaluation.harness == INSPECT:
        return _inspect_scores(evaluation, results_dir)
    return _lm_eval_scores(evaluation, results_dir)


def _inspect_scores(evaluation: Evaluation, results_dir: Path) -> dict[str, float]:
    from inspect_ai.log import list_eval_logs, read_eval_log

    wanted = [task_name(t) for t in evaluation.tasks]
    newest: dict[str, Any] = {}
    log: Any
    for info in list_eval_logs(str(results_dir), recursive=False):  # newest first
        log = read_eval_log(info, header_only=True)
        name = task_name(log.eval.task)
        if name not in newest:
            newest[name] = log
    scores: dict[str, float] = {}
    for name in wanted:
        log = newest.get(name)
        if log is None:
            raise ScoresError(f"inspect wrote no log for task {name!r} into {results_dir}")
        if log.status != "success" or log.results is None:
            error = getattr(log, "error", None)
            why = f": {error.message}" if error is not None else ""
            raise ScoresError(f"inspect's log of task {name!r} says {log.status}{why}")
        several = len(log.results.scores) > 1
        for score in log.results.scores:
            for metric, value in score.metrics.items():
                scores[f"{name}/{score.name}/{metric}" if several else f"{name}/{metric}"] = float(
                    value.value
                )
    return scores


def _lm_eval_scores(evaluation: Evaluation, results_dir: Path) -> dict[str, float]:
    found = sorted(results_dir.rglob("results_*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    if not found:
        raise ScoresError(f"lm_eval wrote no results_*.json under {results_dir}")
    try:
        data = json.loads(found[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoresError(f"{found[-1]} cannot be read: {exc}") from None
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, Mapping):
        raise ScoresError(f"{found[-1]} has no 'results' mapping")
    scores: dict[str, float] = {}
    for task in evaluation.tasks:
        metrics = results.get(task)
        if not isinstance(metrics, Mapping):
            raise ScoresError(f"{found[-1]} has no results for task {task!r}")
        for key, value in metrics.items():
            metric, _, filter_name = str(key).partition(",")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # alias, sample counts as strings, "N/A" stderr
            shown = metric if filter_name in ("", "none") else f"{metric},{filter_name}"
            scores[f"{task}/{shown}"] = float(value)
    return scores
