"""Whether an experiment's evaluation can start, checked when the sweep is generated.

An eval job that cannot start is found out only after training, hours later; so before anything
is written: the harness is installed (`importlib.util.find_spec`, nothing imported), every task
exists and every run saves checkpoints the harness can load (evaluate.plan.check_config). Each
problem is an `ExperimentSchemaError` at its key (`evaluation.tasks`), with "did you mean" for a
misspelled task; all of them are returned together.

inspect tasks are checked without importing anything: `file.py@name` must be a file that defines
a function `name` decorated with `@task` (read with `ast`), `file.py` alone must define at least
one, and `package/name` must come from a package that registers inspect tasks (an `inspect_ai`
entry point). lm_eval task names are looked up in the names its task YAMLs declare
(evaluate.lm_eval_tasks) and those of include_path.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttwriter.errors import ConfigWriterError, ExperimentSchemaError, close_matches, did_you_mean, suggestion
from ttwriter.evaluate import lm_eval_tasks
from ttwriter.evaluate.harness import HARNESSES, INSTALL_HINT
from ttwriter.evaluate.plan import check_config, resolved, run_record
from ttwriter.experiment.evaluation import INSPECT, LM_EVAL, TASK_FILE_SEPARATOR, Evaluation
from ttwriter.safe_read import read_python_source

if TYPE_CHECKING:
    from ttwriter.sweep.plan import SweepPlan


def _tasks_error(message: str, fix: str) -> ExperimentSchemaError:
    return ExperimentSchemaError(message, path=("evaluation", "tasks"), fix=fix)


def harness_installed(name: str) -> bool:
    """Whether the harness's package can be imported here (found, not imported)."""
    try:
        return importlib.util.find_spec(HARNESSES[name].package) is not None
    except (ImportError, ValueError):  # a broken install, or a module named like it without a spec
        return False


def decorated_tasks(source: str) -> list[str]:
    """The names of the functions a Python source decorates with inspect's `@task` (or
    `@task(name=...)`: then that name), in file order."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            named = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
            if named != "task":
                continue
            name = node.name
            for keyword in call.keywords if call else ():
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    name = str(keyword.value.value)
            names.append(name)
    return names


def _inspect_task(task: str, original: str) -> ExperimentSchemaError | None:
    """The problem with one inspect task (absolute paths, as resolved; `original` as written)."""
    file, sep, name = task.rpartition(TASK_FILE_SEPARATOR)
    if not sep:
        file, name = task, ""
    if file.endswith(".py"):
        path = Path(file)
        if not path.is_file():
            return _tasks_error(
                f"inspect task file {path} does not exist",
                f"task files are relative to the experiment file; fix the path in {original!r}",
            )
        try:
            defined = decorated_tasks(read_python_source(path, ExperimentSchemaError))
        except SyntaxError as exc:
            return _tasks_error(
                f"{path} is not valid Python: line {exc.lineno}: {exc.msg}", "fix the task file"
            )
        except ConfigWriterError as exc:
            return _tasks_error(f"{path} cannot be read: {exc.message}", exc.fix or "fix the task file")
        if not defined:
            return _tasks_error(
                f"{path} defines no @task function",
                "decorate the function that returns the Task with @task (from inspect_ai import task)",
            )
        if name and name not in defined:
            hint = did_you_mean(name, defined)
            return _tasks_error(
                f"{path} has no @task {name!r}" + (f"; {hint}" if hint else ""),
                f"its tasks: {', '.join(defined)}; write {Path(original.rpartition(TASK_FILE_SEPARATOR)[0]).as_posix()}"
                f"{TASK_FILE_SEPARATOR}{defined[0]}",
            )
        return None
    package, slash, _ = task.partition("/")
    if not slash or not package:
        return _tasks_error(
            f"inspect task {original!r} is neither a task file nor a registry name",
            "write file.py@task (a file relative to the experiment file) or package/task (an "
            "installed package of inspect tasks, e.g. inspect_evals/gsm8k)",
        )
    providers = sorted({ep.name for ep in importlib.metadata.entry_points(group="inspect_ai")})
    if package not in providers:
        hint = did_you_mean(package, providers)
        installed = f"installed: {', '.join(providers)}" if providers else "none is installed"
        return _tasks_error(
            f"no installed package provides inspect tasks named {package!r} ({installed})"
            + (f"; {hint}" if hint else ""),
            f"install it (e.g. pip install {package.replace('_', '-')}), or point at a task file: file.py@task",
        )
    return None


def _lm_eval_problems(evaluation: Evaluation) -> list[ExperimentSchemaError]:
    include = Path(evaluation.include_path) if evaluation.include_path else None
    if include is not None and not include.is_dir():
        what = "is not a folder" if include.exists() else "does not exist"
        return [
            ExperimentSchemaError(
                f"include_path {include} {what}",
                path=("evaluation", "include_path"),
                fix="give the folder of your task YAMLs, relative to the experiment file",
            )
        ]
    shipped = lm_eval_tasks.shipped_tasks()
    own = lm_eval_tasks.names_in_yamls(lm_eval_tasks.yaml_files(include)) if include is not None else set()
    known = set(shipped.names) | own
    unknown = [t for t in evaluation.tasks if t not in known]
    if unknown and not shipped.confirmed:  # the scan reads YAMLs only: ask lm_eval itself
        known |= lm_eval_tasks.confirm_shipped_tasks().names
        unknown = [t for t in unknown if t not in known]
    if unknown and include is not None:  # a task of include_path only lm_eval's code can name
        known |= lm_eval_tasks.task_manager_names(evaluation.include_path)
        unknown = [t for t in unknown if t not in known]
    problems = []
    for task in unknown:
        hint = suggestion(close_matches(task, known))
        where = f"lm_eval's tasks or {include}" if include else "lm_eval's tasks"
        problems.append(
            _tasks_error(
                f"lm_eval has no task {task!r} (looked in {where})" + (f"; {hint}" if hint else ""),
                "use a name from `lm_eval --tasks list`"
                + (
                    ", or a task: name of a YAML in include_path"
                    if include
                    else ", or set include_path to your task YAMLs"
                ),
            )
        )
    return problems


def check_evaluation(
    evaluation: Evaluation, written: Evaluation | None = None
) -> list[ExperimentSchemaError]:
    """Every problem that would keep the evaluation from starting, besides the runs' configs.

    `evaluation` has its paths resolved (evaluate.plan.resolve_paths); `written` is the same as
    the experiment wrote it, for messages.
    """
    written = written or evaluation
    found = HARNESSES[evaluation.harness]
    if not harness_installed(evaluation.harness):
        return [
            ExperimentSchemaError(
                f"harness {evaluation.harness} needs the Python package {found.distribution} "
                f"(import name {found.package}), which is not installed here",
                path=("evaluation", "harness"),
                fix=INSTALL_HINT,
            )
        ]
    if evaluation.harness == LM_EVAL:
        return _lm_eval_problems(evaluation)
    assert evaluation.harness == INSPECT
    problems = [
        _inspect_task(task, original) for task, original in zip(evaluation.tasks, written.tasks, strict=True)
    ]
    return [p for p in problems if p is not None]


_CHECKPOINT_KEYS = frozenset({"checkpointer", "epochs", "save_adapter_weights_only", "device"})
"""Top-level config keys that decide what a run saves and where: when a variable sweeps one,
every run is checked, else the first stands for all."""
MOST_RUNS_SHOWN = 3


def check_shared(
    evaluation: Evaluation, config: dict[str, Any], varying: frozenset[str]
) -> list[ExperimentSchemaError]:
    """What the config every run shares keeps from being evaluated, for a sweep whose runs cannot
    be made (sweep.shared); nothing when a run may change a key the check reads."""
    if varying & _CHECKPOINT_KEYS:
        return []
    return check_config(evaluation, config, None)


def check_runs(evaluation: Evaluation, plan: SweepPlan) -> list[ExperimentSchemaError]:
    """What in the runs' configs keeps their checkpoints (or the base model) from being evaluated."""
    varying = bool(plan.varying_keys & _CHECKPOINT_KEYS)
    problems: list[ExperimentSchemaError] = []
    bases: dict[str, str] = {}
    for run in plan.runs(share_unchanged=True):
        found = check_config(evaluation, run.config, run.id if varying else None)
        if not found:
            try:
                run_record(evaluation, run.id, run.config, run.output_dir)
                if evaluation.base_model:
                    bases.setdefault(str(resolved(run.config, "checkpointer.checkpoint_dir")), run.id)
            except ExperimentSchemaError as exc:
                found = [exc]
        problems += found
        if not varying or len({p.run_id for p in problems}) >= MOST_RUNS_SHOWN:
            break
    if len(bases) > 1:
        (first, a), (second, b) = list(bases.items())[:2]
        problems.append(
            ExperimentSchemaError(
                f"base_model evaluates one base model, but the runs start from different ones "
                f"({a}: {first}, {b}: {second})",
                path=("evaluation", "base_model"),
                fix="set base_model: false, or sweep the base model in separate experiments",
            )
        )
    return problems
