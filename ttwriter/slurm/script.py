"""submit.sbatch: one SLURM job array that trains every run of a sweep, one array task per run.

The script is self-contained, so what `sbatch` copies at submission is exactly what runs: the table
that maps `SLURM_ARRAY_TASK_ID` to a run (id, absolute config path, output_dir) is written into it
from the same records as run_mapping.yaml, in the same order. Nothing is parsed on the compute
node (no Python or YAML reader needed there), and paths of any spelling survive because every
value is a single-quoted shell word.

Quoting rules: every value in a `#SBATCH` line is one shell word (`shlex.quote`; sbatch reads
quotes the way the shell does) and may not contain a line break; every value the shell sees is a
quoted assignment; setup lines and the training command, which are shell code on purpose, run
through `eval` of a quoted string, so a broken line fails that run instead of the script's
structure, and `{placeholders}` in the command become quoted variables, never pasted text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ttwriter._version import __version__
from ttwriter.errors import SlurmError
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.folder import markers
from ttwriter.folder.layout import LOG_PATTERN, LOG_SUFFIX, LOGS_DIR, MAPPING_FILE, SCRIPT_FILE, STATUS_DIR
from ttwriter.folder.runs import RunRecord
from ttwriter.placeholders import names, substitute
from ttwriter.registry import shipped_recipes

NO_RECIPE = "# ttwriter: recipe unknown"
"""Written into a script whose command needs {recipe} when the experiment's recipe is unknown."""

_VARIABLE = {
    "recipe": "RECIPE",
    "config": "CONFIG",
    "run_id": "RUN_ID",
    "output_dir": "OUTPUT_DIR",
    "nproc": "NPROC",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def array_spec(tasks: Sequence[int], max_parallel: int | None = None) -> str:
    """`--array` value: `0-3`, `1,3`, `0-2,5`, with `%N` when at most N may run at once."""
    ordered = sorted(set(tasks))
    if not ordered:
        raise ValueError("a job array needs at least one task")
    parts: list[str] = []
    start = prev = ordered[0]
    for task in [*ordered[1:], None]:
        if task is not None and task == prev + 1:
            prev = task
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if task is not None:
            start = prev = task
    return ",".join(parts) + (f"%{max_parallel}" if max_parallel else "")


def idle_gpus(slurm: SlurmConfig, recipe: str | None, distributed: bool) -> tuple[str, ...]:
    """Warnings (one line each) when each run would hold more GPUs than its command can use.

    A single-device recipe started as `tune run {recipe}` runs one process on one GPU, whatever
    --gres asks for; the other GPUs of every run sit idle. A command that passes {nproc} on is
    the user's own launcher and is left alone, and so is one that does not run the recipe.
    """
    template = slurm.training_command(distributed)
    placeholders = names(template)
    if slurm.gpus_per_run <= 1 or recipe is None or distributed:
        return ()
    if "recipe" not in placeholders or "nproc" in placeholders:
        return ()
    name = recipe.rsplit("/", 1)[-1]
    twin = name.replace("single_device", "distributed")
    other = (
        f"the distributed recipe {twin} with one of its configs"
        if twin != name and twin in shipped_recipes()
        else "a distributed recipe"
    )
    n = slurm.gpus_per_run
    return (
        f"slurm.gpus_per_run is {n}, but {name} runs on a single device: each run would "
        f"hold {n} GPUs and leave {n - 1} idle; fix: set slurm.gpus_per_run: 1, or use {other} "
        f"(ttwriter starts it with --nproc_per_node {n})",
    )


def shell_command(template: str) -> str:
    """The template as shell code, each `{placeholder}` a double-quoted variable: `"$CONFIG"`."""
    return substitute(template, {name: f'"${variable}"' for name, variable in _VARIABLE.items()})


def one_line(value: str, what: str) -> str:
    """A value for a `#SBATCH` line or a comment: a line break there would start shell code."""
    if _CONTROL.search(value):
        raise SlurmError(
            f"{what} {value!r} contains a line break or control character, which a job script "
            "cannot hold safely",
            fix=f"choose a {what} without control characters",
        )
    return value


def sbatch_line(option: str, value: str | int) -> str:
    return f"#SBATCH --{option}={shlex.quote(one_line(str(value), option))}"


def resource_lines(slurm: SlurmConfig, gpus: int) -> list[str]:
    """The `#SBATCH` lines of what each task asks for (partition, time, `gpus` GPUs, ...) and the
    experiment's own sbatch_lines."""
    lines = []
    for option, value in (
        ("partition", slurm.partition),
        ("account", slurm.account),
        ("qos", slurm.qos),
        ("time", slurm.time),
        ("gres", f"gpu:{gpus}" if gpus else None),
        ("cpus-per-task", slurm.cpus_per_task),
        ("mem", slurm.mem),
        ("constraint", slurm.constraint),
    ):
        if value is not None:
            lines.append(sbatch_line(option, value))
    return lines + [f"#SBATCH {one_line(line.strip(), 'sbatch line')}" for line in slurm.sbatch_lines]


def array_lines(
    slurm: SlurmConfig, job_name: str, tasks: int, output: str, folder: str, gpus: int
) -> list[str]:
    """The #SBATCH lines every ttwriter job array shares (training and evaluation): one node and
    one task per array task, logs appended, the folder as working directory, then the resources."""
    return [
        sbatch_line("job-name", job_name),
        sbatch_line("array", array_spec(range(tasks), slurm.max_parallel)),
        sbatch_line("output", output),
        sbatch_line("open-mode", "append"),
        sbatch_line("chdir", folder),
        sbatch_line("nodes", 1),
        sbatch_line("ntasks", 1),
        *resource_lines(slurm, gpus),
    ]


# Opens the shell `case` that maps an array task to its run; each script adds one line per run.
TASK_CASE = (
    f"# Array task -> run, as in {MAPPING_FILE}.",
    'TASK="${SLURM_ARRAY_TASK_ID:-}"',
    'case "$TASK" in',
)


def log_pattern(experiment_dir: Path, run_ids: Iterable[str], suffix: str = LOG_SUFFIX) -> str:
    """`<dir>/logs/run_%3a.out`: SLURM pads the task id to the run id's width, so it names the run."""
    widths: set[int] = set()
    for run_id in run_ids:  # one pass, nothing kept per run
        if not re.fullmatch(r"run_\d+", run_id):
            raise ValueError(f"run ids must be run_<digits>, got {run_id!r}")
        widths.add(len(run_id) - len("run_"))
    if len(widths) != 1:
        raise ValueError(f"run ids must all have one width, got widths {sorted(widths)}")
    folder = str(experiment_dir / LOGS_DIR)
    if "\\" in folder:
        raise SlurmError(
            "the experiment folder path contains a backslash, which turns off SLURM's file name "
            f"patterns, so runs could not log to {LOG_PATTERN}",
            file=experiment_dir,
            fix="choose an --output-dir without a backslash",
        )
    return folder.replace("%", "%%") + f"/run_%{widths.pop()}a{suffix}"


def sbatch_chunks(
    experiment_dir: Path,
    experiment_name: str,
    runs: Sequence[RunRecord],
    recipe: str | None,
    distributed: bool,
    slurm: SlurmConfig,
) -> Iterator[str]:
    """submit.sbatch piece by piece, one line per run in the middle, so a sweep of any size is
    written without holding the whole script in memory. `runs` is read twice (ids, then lines)."""
    if not runs:
        raise ValueError("a sweep has at least one run")
    experiment_dir = Path(experiment_dir)
    folder = one_line(str(experiment_dir), "experiment folder")
    template = slurm.training_command(distributed)
    needs_recipe = "recipe" in names(template)
    last = len(runs) - 1
    q = shlex.quote

    lines = [
        "#!/bin/bash",
        f"# Generated by ttwriter {__version__} for experiment {experiment_name}: one SLURM array task per run.",
        f"# Submit:  ttwriter submit {q(folder)}",
        f"#     or:  sbatch {q(folder + '/' + SCRIPT_FILE)}   (from any directory)",
        f"# Follow:  ttwriter status {q(folder)}",
        f"# Task i trains run i of {MAPPING_FILE} and logs to {LOG_PATTERN}. {STATUS_DIR}/<run id>.{markers.DONE}",
        f"# is written only when training exits 0; otherwise {STATUS_DIR}/<run id>.{markers.FAILED} holds the exit code.",
        f"# Debug one run without SLURM: SLURM_ARRAY_TASK_ID=0 bash {SCRIPT_FILE}",
        *array_lines(
            slurm,
            slurm.job_name or experiment_name,
            len(runs),
            log_pattern(experiment_dir, (r.id for r in runs)),
            folder,
            slurm.gpus_per_run,
        ),
        "",
        f"EXPERIMENT_DIR={q(folder)}",
        f"RECIPE={q(recipe or '')}",
        f"NPROC={max(1, slurm.gpus_per_run)}",
        "",
        *TASK_CASE,
    ]
    yield "\n".join(lines) + "\n"
    for i, r in enumerate(runs):
        yield f"    {i}) RUN_ID={q(r.id)} CONFIG={q(str(r.config_path))} OUTPUT_DIR={q(str(r.output_dir))} ;;\n"
    lines = [
        "    *)",
        f"        echo \"ttwriter: array task '$TASK' is not a run of this sweep (tasks 0-{last}); "
        'submit this file with sbatch" >&2',
        "        exit 2 ;;",
        "esac",
        _body(),
    ]
    if slurm.setup:
        lines.append("# Setup (slurm.setup): each line runs as written; a failing line fails the run.")
        lines += [f'eval {q(line)} || finish $? "setup line {n}"' for n, line in enumerate(slurm.setup, 1)]
        lines.append("")
    lines.append(
        '[ -f "$CONFIG" ] || { echo "ttwriter: $CONFIG does not exist; regenerate the experiment '
        'folder" >&2; finish 2 config; }'
    )
    lines.append("")
    if needs_recipe and recipe is None:
        lines += [
            NO_RECIPE,
            'echo "ttwriter: the recipe of this experiment is unknown, so there is nothing to run; '
            "set 'recipe' in the experiment and regenerate\" >&2",
            "finish 2 recipe",
        ]
    else:
        lines += [
            "# Training (slurm.command); {placeholders} are the quoted variables set above.",
            f"COMMAND={q(shell_command(template))}",
            *(['echo "recipe:     $RECIPE"'] if needs_recipe else []),
            'echo "command:    $COMMAND"',
            'eval "$COMMAND"',
            "finish $? training",
        ]
    yield "\n".join(lines) + "\n"


def _body() -> str:
    """The part of the script every run shares: where markers go, `mark` and `finish`, the start."""
    return "\n".join(
        [
            "",
            'JOB="${SLURM_ARRAY_JOB_ID:-local}_$TASK"',
            markers.shell_status_dir(),
            'export TTWRITER_EXPERIMENT_DIR="$EXPERIMENT_DIR" TTWRITER_RUN_ID="$RUN_ID" TTWRITER_CONFIG="$CONFIG" \\',
            '    TTWRITER_OUTPUT_DIR="$OUTPUT_DIR"',
            "",
            markers.shell_mark_function(),
            "# finish CODE STAGE: record the result (done only for exit code 0) and end the task with CODE.",
            "finish() {",
            '    if [ "$1" -eq 0 ]; then',
            f"        mark {markers.DONE} {markers.EXIT_CODE}=0",
            "        echo \"=== ttwriter: $RUN_ID done at $(date '+%F %T') ===\"",
            "    else",
            f'        mark {markers.FAILED} "{markers.EXIT_CODE}=$1" "{markers.STAGE}=$2"',
            "        echo \"=== ttwriter: $RUN_ID FAILED in $2 with exit code $1 at $(date '+%F %T') ===\"",
            "    fi",
            '    exit "$1"',
            "}",
            "",
            'mkdir -p "$STATUS" || exit 1',
            f"mark {markers.RUNNING}",
            "echo \"=== ttwriter: $RUN_ID (array task $TASK, job $JOB) on $(uname -n) at $(date '+%F %T') ===\"",
            'echo "config:     $CONFIG"',
            'echo "output_dir: $OUTPUT_DIR"',
            "# scancel and the time limit send SIGTERM: let training stop, then record the failure.",
            "trap 'echo \"ttwriter: SIGTERM received (scancel or time limit)\" >&2' TERM",
            "",
        ]
    )
