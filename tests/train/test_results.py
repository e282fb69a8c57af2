"""`ttwriter results`: every run's loss log joined with its params, whatever state the runs are in.

These tests write DiskLogger files by hand (the format torchtune writes), so they cover missing,
partial, failed and rerun logs without training; test_run_local.py reads real ones.
"""

from __future__ import annotations

import csv
import math

import pytest

from tests.conftest import TINY_FAMILY
from ttwriter import generate_configs
from ttwriter.train.results import collect_results, parse_disk_log

SWEEP = TINY_FAMILY / "lora_rank_lr_02_01.py"


def _log(losses: list[float], lr: float = 0.001) -> str:
    return "".join(
        f"Step {step} | loss:{loss} lr:{lr} tokens_per_second_per_gpu:1234.5 \n"
        for step, loss in enumerate(losses, start=1)
    )


def _write_log(folder, run_id: str, text: str, stamp: int = 1795245594):
    logs = folder / "runs" / run_id / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"log_{stamp}.txt").write_text(text)
    return logs / f"log_{stamp}.txt"


def _mark(folder, run_id: str, state: str, code: int) -> None:
    (folder / "status").mkdir(exist_ok=True)
    (folder / "status" / f"{run_id}.{state}").write_text(f"run={run_id}\njob=local_0\nexit_code={code}\n")


@pytest.fixture
def sweep(tmp_path):
    """The tiny 2x2 sweep, generated (not trained): run_000 .. run_003."""
    return generate_configs(SWEEP, output_dir=tmp_path / "sweep", validate=False).experiment_dir


def _rows(folder) -> list[dict[str, str]]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_every_state_of_a_run_is_one_row_and_none_is_a_crash(sweep, run_cli):
    # run_000: finished (final epoch checkpoint saved, no marker: launched by hand)
    done_log = _write_log(sweep, "run_000", _log([5.8, 5.2, 4.9, 5.0]))
    (sweep / "runs" / "run_000" / "epoch_0").mkdir()
    # run_001: cut off while a line was being written
    _write_log(sweep, "run_001", _log([5.9, 5.5]) + "Step 3 | loss:5.")
    # run_002: never ran
    # run_003: failed after two steps
    _write_log(sweep, "run_003", _log([5.7, 6.1]))
    _mark(sweep, "run_003", "failed", 1)

    result = run_cli("results", str(sweep))
    assert result.code == 0, result.err
    assert result.out.splitlines()[:8] == [
        "Results of tiny_rank_x_lr: 4 runs, 1 done, 1 failed, 1 partial, 1 no log",
        "  question:   Does the tiny model's loss respond to LoRA rank and learning rate?",
        "  hypothesis: The higher learning rate lowers the final loss at both ranks.",
        "  run      lora_rank  learning_rate  status   steps  final loss  best loss",
        "  run_000  4          0.001          done         4      5.0000     4.9000",
        "  run_001  4          0.01           partial      2      5.5000     5.5000",
        "  run_002  16         0.001          no log       -           -          -",
        "  run_003  16         0.01           failed       2      6.1000     5.7000",
    ]
    assert f"note: run_003 failed; see {sweep}/logs/run_003.out" in result.out
    assert result.out.endswith(f"Wrote results.csv and loss_curves.png to {sweep}/\n")
    assert _rows(sweep) == [
        {"run_id": "run_000", "lora_rank": "4", "learning_rate": "0.001", "status": "done", "steps": "4",
         "final_loss": "5.0", "best_loss": "4.9", "best_step": "3", "log": str(done_log)},
        {"run_id": "run_001", "lora_rank": "4", "learning_rate": "0.01", "status": "partial", "steps": "2",
         "final_loss": "5.5", "best_loss": "5.5", "best_step": "2",
         "log": str(sweep / "runs/run_001/logs/log_1795245594.txt")},
        {"run_id": "run_002", "lora_rank": "16", "learning_rate": "0.001", "status": "no log", "steps": "",
         "final_loss": "", "best_loss": "", "best_step": "", "log": ""},
        {"run_id": "run_003", "lora_rank": "16", "learning_rate": "0.01", "status": "failed", "steps": "2",
         "final_loss": "6.1", "best_loss": "5.7", "best_step": "1",
         "log": str(sweep / "runs/run_003/logs/log_1795245594.txt")},
    ]  # fmt: skip
    assert (sweep / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markers_say_done_or_running_when_there_is_no_checkpoint_to_tell(sweep):
    _write_log(sweep, "run_000", _log([5.0, 4.0]))
    _mark(sweep, "run_000", "done", 0)
    _write_log(sweep, "run_001", _log([5.0]))
    _mark(sweep, "run_001", "running", 0)
    statuses = [r.status for r in collect_results(sweep).runs]
    assert statuses == ["done", "running", "no log", "no log"]


def test_a_failed_run_without_a_log_is_failed_not_missing(sweep):
    _mark(sweep, "run_002", "failed", 2)
    run = collect_results(sweep).runs[2]
    assert (run.status, run.exit_code, run.steps, run.final_loss) == ("failed", 2, None, None)


def test_after_a_rerun_the_newest_log_counts_and_the_table_says_so(sweep, run_cli):
    _write_log(sweep, "run_000", _log([9.0, 8.0]), stamp=1795245000)
    _write_log(sweep, "run_000", _log([5.0, 4.0, 3.0]), stamp=1795246000)
    result = run_cli("results", str(sweep))
    assert "note: run_000 has 2 loss logs (rerun); the newest is used" in result.out
    assert (_rows(sweep)[0]["steps"], _rows(sweep)[0]["final_loss"]) == ("3", "3.0")


def test_nan_losses_are_kept_as_final_but_never_best(sweep):
    _write_log(sweep, "run_000", _log([5.0, 4.0, float("nan")]))
    run = collect_results(sweep).runs[0]
    assert math.isnan(run.final_loss)
    assert (run.best_step, run.best_loss) == (2, 4.0)


def test_with_no_logs_at_all_there_is_a_table_but_no_plot(sweep, run_cli):
    result = run_cli("results", str(sweep))
    assert result.code == 0
    assert "4 runs, 4 no log" in result.out
    assert "note: no run has a loss log yet, so no loss_curves.png was written" in result.out
    assert result.out.endswith(f"Wrote results.csv to {sweep}/\n")
    assert not (sweep / "loss_curves.png").exists()


def test_no_plot_writes_only_the_csv(sweep, run_cli):
    _write_log(sweep, "run_000", _log([5.0, 4.0]))
    assert run_cli("results", str(sweep), "--no-plot").code == 0
    assert (sweep / "results.csv").is_file() and not (sweep / "loss_curves.png").exists()


def test_smoke_results_say_they_are_smoke(tmp_path, run_cli):
    folder = generate_configs(SWEEP, output_dir=tmp_path / "s", validate=False, smoke=True).experiment_dir
    result = run_cli("results", str(folder), "--no-plot")
    assert result.out.splitlines()[0] == (
        "Results of tiny_rank_x_lr: 4 runs, 4 no log (smoke runs: for checking the pipeline, not for results)"
    )


def test_parse_disk_log_reads_torchtune_lines_and_counts_the_rest(tmp_path):
    path = tmp_path / "log_1.txt"
    path.write_text(
        "Step 1 | loss:2.5 lr:0.0003 tokens_per_second_per_gpu:100.0 peak_memory_active:1.2 \n"
        "\nsomething else\nStep 5 | loss:1.25 lr:0.0002 \nStep 6 | lr:0.0001 \n"
    )
    log = parse_disk_log(path)
    assert (log.steps, log.losses, log.skipped_lines) == ((1, 5), (2.5, 1.25), 2)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "{p}/missing: no such folder"),
        (lambda p: p, "{p}: not a ttwriter experiment folder: it has no run_mapping.yaml"),
    ],
)
def test_results_of_something_that_is_not_an_experiment_folder(tmp_path, run_cli, make, message):
    result = run_cli("results", str(make(tmp_path)))
    assert result.code == 2
    assert result.err == (
        "error: " + message.format(p=tmp_path) + "\n  fix: give the folder ttwriter wrote (the one with "
        "run_mapping.yaml and configs/), e.g. outputs/<name>_<timestamp>\n"
    )
