"""What "the tiny 2x2 sweep trained" means, checked the same way after `ttwriter run` and SLURM.

The sweep is experiments/tiny/cpu/lora_rank_lr_02_01.py: lora_rank [4, 16] x learning_rate
[1e-3, 1e-2], one epoch of 16 steps on the tiny assets.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from tests.conftest import TINY_FAMILY

SWEEP = TINY_FAMILY / "lora_rank_lr_02_01.py"
PARAMS = [(4, 0.001), (4, 0.01), (16, 0.001), (16, 0.01)]
RUN_IDS = [f"run_00{i}" for i in range(len(PARAMS))]
STEPS = 16
"""128 examples / batch size 8, one epoch."""


def losses(disk_log: Path) -> list[float]:
    """The losses of a torchtune DiskLogger file, read independently of ttwriter.results."""
    return [float(m) for m in re.findall(r"^Step \d+ \| loss:(\S+) ", disk_log.read_text(), re.M)]


def disk_log(folder: Path, run_id: str) -> Path:
    (log,) = (folder / "runs" / run_id / "logs").glob("log_*.txt")
    return log


def check_every_run_trained(folder: Path) -> None:
    """Exit 0 recorded, a complete loss log, and an adapter of the run's own rank in its own folder."""
    import torch

    for run_id, (rank, _) in zip(RUN_IDS, PARAMS, strict=True):
        log = (folder / "logs" / f"{run_id}.out").read_text()
        marker = folder / "status" / f"{run_id}.done"
        assert marker.is_file(), log
        assert "exit_code=0\n" in marker.read_text()
        assert f"=== ttwriter: {run_id} done at " in log
        assert len(losses(disk_log(folder, run_id))) == STEPS
        adapter = torch.load(folder / "runs" / run_id / "epoch_0" / "adapter_model.pt", weights_only=True)
        lora_a = [v for k, v in adapter.items() if k.endswith("q_proj.lora_a.weight")]
        assert len(lora_a) == 2 and all(w.shape == (rank, 64) for w in lora_a)


def check_results(folder: Path, run_cli) -> list[dict[str, str]]:
    """`ttwriter results`: four done rows, params joined, finite losses equal to the logs'."""
    result = run_cli("results", str(folder))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Results of tiny_rank_x_lr: 4 runs, 4 done"
    with open(folder / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run_id"], int(r["lora_rank"]), float(r["learning_rate"])) for r in rows] == [
        (run_id, rank, lr) for run_id, (rank, lr) in zip(RUN_IDS, PARAMS, strict=True)
    ]
    for row in rows:
        logged = losses(disk_log(folder, row["run_id"]))
        assert (row["status"], row["steps"]) == ("done", str(STEPS))
        assert math.isfinite(float(row["final_loss"])) and math.isfinite(float(row["best_loss"]))
        assert float(row["final_loss"]) == logged[-1]
        assert float(row["best_loss"]) == min(logged)
        assert logged[-1] < logged[0]  # every run learned something
    assert (folder / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    return rows
