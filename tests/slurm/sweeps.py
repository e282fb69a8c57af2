"""Helpers for the SLURM tests: small generated sweeps whose training command is a fake trainer.

The fake trainer is a few lines of sh. It records what it was given (config path, run id, output
dir, working folder, $FOO) in <output dir>/ran.txt, prints a line to its log and exits 0, except
for the run whose config says `lora_rank: 32`, which exits 1 until the file `allow_rank_32` exists
next to the trainer. While a file `hold` exists there, it waits (30 s at most) before training.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from tests.conftest import BASE
from ttwriter import generate_configs
from ttwriter.generate import GenerationResult

RANKS = [8, 16, 32, 64]
FAILING_RUN = "run_002"
"""lora_rank 32, the third value."""
MISSPELLED_OPTIMIZER = {
    "optimizer._component_": ["torch.optim.AdamW", "torch.optim.AdamWW", "torch.optim.Adam"]
}
"""`variables` of a sweep whose run_001 fails validation (a misspelled optimizer), the others pass."""

_TRAINER = """#!/bin/sh
config="$1"; run_id="$2"; out="$3"
mkdir -p "$out" || exit 5
printf '%s\\n' "$config" "$run_id" "$out" "$(pwd)" "${FOO-}" > "$out/ran.txt"
n=0
while [ -e HOLD ] && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
if grep -q '^  lora_rank: 32$' "$config" && [ ! -e ALLOW ]; then
    echo "fake trainer: lora_rank 32 diverged" >&2
    exit 1
fi
echo "fake trainer: trained $run_id with $config"
"""


def write_trainer(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fake_train.sh"
    text = _TRAINER.replace("ALLOW", shlex.quote(str(folder / "allow_rank_32")))
    path.write_text(text.replace("HOLD", shlex.quote(str(folder / "hold"))), encoding="utf-8")
    return path


def trainer_command(folder: Path) -> str:
    """A slurm.command running the fake trainer written into `folder`."""
    return f"sh {shlex.quote(str(write_trainer(folder)))} {{config}} {{run_id}} {{output_dir}}"


def make_sweep(
    root: Path,
    folder: Path | None = None,
    *,
    ranks: list[int] | None = None,
    name: str = "fake",
    controls: dict | None = None,
    variables: dict | None = None,
    validate: bool = True,
    evaluation: dict | None = None,
    **slurm: object,
) -> GenerationResult:
    """Generate a lora_rank sweep whose runs call the fake trainer on CPU (validated, as
    `ttwriter submit` wants it; `validate=False` is a folder written with --no-validate), with
    the experiment's `evaluation` if given."""
    settings = {"gpus_per_run": 0, "command": trainer_command(root), **slurm}
    experiment = {
        "experiment_name": name,
        "base_config": BASE,
        "variables": variables or {"lora_rank": ranks or RANKS},
        "controls": controls or {},
        "slurm": settings,
        **({"evaluation": evaluation} if evaluation else {}),
    }
    return generate_configs(experiment, output_dir=folder or root / "exp", validate=validate)


def run_task(folder: Path, task: int | str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one array task of submit.sbatch with bash, outside SLURM (as its header suggests)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    environment.update(SLURM_ARRAY_TASK_ID=str(task), **env)
    return subprocess.run(
        ["bash", str(folder / "submit.sbatch")],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ran(result: GenerationResult, run_id: str) -> list[str]:
    """What the fake trainer recorded for a run: config, run id, output dir, cwd, $FOO."""
    run = next(r for r in result.runs if r.id == run_id)
    return (Path(run.output_dir) / "ran.txt").read_text(encoding="utf-8").splitlines()
