"""Logger nodes checked argument by argument: what WandBLogger hands to wandb.init must be one
of wandb.init's parameters, or the run dies at start with a TypeError."""

from __future__ import annotations

import pytest

from tests.conftest import TINY_BASE
from ttwriter.validation.logger import LoggerChecker

WANDB = "torchtune.training.metric_logging.WandBLogger"


def test_an_argument_wandb_init_does_not_take_is_an_error_and_a_misspelling_gets_did_you_mean():
    node = {"_component_": WANDB, "project": "p", "run_title": "x", "nme": "run", "mode": "offline"}
    findings = LoggerChecker().check({"metric_logger": node})
    assert [(f.severity.value, f.key, f.message, f.fix.split(":")[0]) for f in findings] == [
        (
            "error",
            "metric_logger.run_title",
            "WandBLogger passes 'run_title' to wandb.init, which has no such parameter: the run "
            "would die at start with a TypeError",
            "wandb.init takes",
        ),
        (
            "error",
            "metric_logger.nme",
            "WandBLogger passes 'nme' to wandb.init, which has no such parameter: the run would die at "
            "start with a TypeError",
            "did you mean 'name'?",
        ),
    ]
    assert "name, notes, tags, config" in findings[0].fix
    # Another tracker's word for the run's name is wandb's name: 'name' is a name part of it.
    (finding,) = LoggerChecker().check({"metric_logger": {"_component_": WANDB, "experiment_name": "x"}})
    assert (finding.key, finding.fix) == ("metric_logger.experiment_name", "did you mean 'name'?")


def test_a_tracked_node_is_looked_into_and_ignored_arguments_are_warnings():
    node = {
        "_component_": "ttwriter.tracking.logger.TeeLogger",
        "log_dir": "/tmp/logs",
        "tracker": {"_component_": WANDB, "project": "p", "experiment_name": "x"},
    }
    (finding,) = LoggerChecker().check({"metric_logger": node})
    assert finding.key == "metric_logger.tracker.experiment_name"
    disk = {"_component_": "torchtune.training.metric_logging.DiskLogger", "log_dir": "/x", "log_dri": "/y"}
    (warning,) = LoggerChecker().check({"metric_logger": disk})
    assert (warning.severity.value, warning.key, warning.fix) == (
        "warning",
        "metric_logger.log_dri",
        "did you mean 'log_dir'?",
    )


@pytest.mark.training  # builds or loads the tiny model with torch
def test_generation_reports_it_in_the_validation_of_the_run(tmp_path, run_cli, tiny_assets):
    base = TINY_BASE.read_text().replace(
        "_component_: torchtune.training.metric_logging.DiskLogger",
        "_component_: torchtune.training.metric_logging.WandBLogger\n  experiment_name: tiny",
    )
    (tmp_path / "wb.yaml").write_text(base)
    (tmp_path / "wb_01_01.py").write_text(
        "from ttwriter import Experiment\n"
        "experiment = Experiment(name='wb', base_config_file='wb.yaml', recipe='lora_finetune_single_device',"
        f" controls={{'tiny_assets': {str(tiny_assets)!r}}})\n"
    )
    result = run_cli(str(tmp_path / "wb_01_01.py"), "--output-dir", str(tmp_path / "out"))
    assert result.code == 1, result.err
    assert (
        "  error   metric_logger.experiment_name (run_000): WandBLogger passes 'experiment_name' to "
        "wandb.init, which has no such parameter: the run would die at start with a TypeError\n"
    ) in result.out
