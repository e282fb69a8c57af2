"""The `tracking` field: values checked with key and fix, set in Python, experiment.yaml and on
the command line, inherited by children; what generation writes for a tracked sweep (the
TeeLogger node, run names holding the run id, run_mapping's tracker record); a backend whose
package is missing stops generation with how to install it."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from tests.conftest import TINY_FAMILY
from ttwriter import ConfigWriterError, Experiment, Tracking, generate_configs, load_experiment
from ttwriter.errors import each_problem
from ttwriter.yaml_io import read_yaml

SWEEP = TINY_FAMILY / "lora_rank_lr_02_01.py"


def _problems(**fields) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigWriterError) as raised:
        Tracking(**fields)

    return [(p.key, p.message, p.fix) for p in each_problem(raised.value)]


def test_every_bad_setting_is_named_with_its_key_and_a_fix_together():
    assert _problems(backend="wandbb", uri="sqlite:///x.db", tags=["ok", 3]) == [
        (
            "tracking.backend",
            "unknown tracking backend 'wandbb'; did you mean 'wandb'?",
            "tracking.backend is one of disk, wandb, mlflow, tensorboard",
        ),
        ("tracking.tags", "tags must be a non-empty string, got 3", "e.g. tracking.tags: lora"),
    ]
    assert _problems(backend="wandb", uri="http://x") == [
        (
            "tracking.uri",
            "uri is MLflow's tracking URI, but the backend is wandb, which does not use it",
            "leave uri out, or set tracking.backend: mlflow",
        )
    ]
    assert _problems(backend="mlflow", entity="team") == [
        (
            "tracking.entity",
            "entity is a W&B entity, but the backend is mlflow, which does not use it",
            "leave entity out, or set tracking.backend: wandb",
        )
    ]


def test_a_misspelled_setting_gets_did_you_mean():
    ((key, message, _),) = _problems(backend="mlflow", projet="p")
    assert (key, message) == ("tracking.projet", "unknown field 'projet'; did you mean 'project'?")


def test_tracking_defaults_to_disk_and_children_inherit_it():
    parent = Experiment(
        name="p", base_config="llama3_2/1B_lora_single_device", tracking={"backend": "mlflow"}
    )
    assert Experiment(name="d", base_config="llama3_2/1B_lora_single_device").tracking == Tracking()
    assert parent.tracking == Tracking(backend="mlflow")
    child = dataclasses.replace(parent, name="c")
    assert child.tracking.backend == "mlflow" and not Tracking().enabled


def test_yaml_tracking_section(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text(
        "experiment_name: y\nbase_config: llama3_2/1B_lora_single_device\n"
        "tracking:\n  backend: wandb\n  project: proj\n  entity: team\n  tags: [a, b]\n"
    )
    assert load_experiment(path).experiment.tracking == Tracking(
        backend="wandb", project="proj", entity="team", tags=("a", "b")
    )


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """The tiny 2x2 sweep generated with --tracking.backend mlflow (not validated, not trained)."""
    from ttwriter.cli.main import main

    folder = tmp_path_factory.mktemp("tracked") / "sweep"
    argv = [str(SWEEP), "--tracking.backend", "mlflow", "--tracking.tags", "t1", "--output-dir", str(folder)]
    assert main([*argv, "--no-validate"]) == 0
    return folder


def test_each_tracked_run_logs_through_a_tee_of_the_disk_log_and_the_tracker(tracked):
    config, _ = read_yaml(tracked / "configs" / "run_002.yaml")
    assert config["metric_logger"] == {
        "_component_": "ttwriter.tracking.logger.TeeLogger",
        "log_dir": "${output_dir}/logs",
        "tracker": {
            "_component_": "torchtune.training.metric_logging.MLFlowLogger",
            "experiment_name": "tiny_rank_x_lr",
            "tracking_uri": f"sqlite:///{tracked}/tracking/mlflow.db",
            "run_name": "tiny_rank_x_lr/run_002",
        },
        "run": {
            "experiment": "tiny_rank_x_lr",
            "experiment_dir": str(tracked),
            "run_id": "run_002",
            "params": {"lora_rank": 16, "learning_rate": 0.001},
            "tags": ["tiny", "cpu", "lora", "t1"],
        },
    }


def test_run_mapping_records_where_the_tracker_holds_each_run(tracked):
    mapping, _ = read_yaml(tracked / "run_mapping.yaml")
    assert [run["tracker"] for run in mapping["runs"]] == [
        {
            "backend": "mlflow",
            "name": f"tiny_rank_x_lr/run_00{i}",
            "experiment": "tiny_rank_x_lr",
            "uri": f"sqlite:///{tracked}/tracking/mlflow.db",
        }
        for i in range(4)
    ]


def test_the_snapshot_regenerates_the_tracking(tracked, tmp_path):
    again = generate_configs(tracked / "experiment.json", output_dir=tmp_path / "again", validate=False)
    config, _ = read_yaml(again.experiment_dir / "configs" / "run_000.yaml")
    assert config["metric_logger"]["tracker"]["run_name"] == "tiny_rank_x_lr/run_000"


@pytest.mark.parametrize(
    ("backend", "logger", "args"),
    [
        ("wandb", "WandBLogger", {"project": "tiny_rank_x_lr", "group": "tiny_rank_x_lr"}),
        ("tensorboard", "TensorBoardLogger", {"organize_logs": False}),
    ],
)
def test_each_backend_names_its_torchtune_logger(tmp_path, backend, logger, args):
    from ttwriter.cli.main import main

    folder = tmp_path / backend
    assert (
        main([str(SWEEP), "--tracking.backend", backend, "--output-dir", str(folder), "--no-validate"]) == 0
    )
    tracker = read_yaml(folder / "configs" / "run_001.yaml")[0]["metric_logger"]["tracker"]
    assert tracker["_component_"] == f"torchtune.training.metric_logging.{logger}"
    assert args.items() <= tracker.items()
    if backend == "wandb":
        assert tracker["name"] == "tiny_rank_x_lr/run_001"
        assert tracker["tags"] == ["tiny", "cpu", "lora", "run_001"]
        assert tracker["log_dir"] == f"{folder}/tracking/wandb"
    else:
        assert tracker["log_dir"] == f"{folder}/tracking/tensorboard/run_001"


def test_a_backend_whose_package_is_missing_stops_generation_with_how_to_install(
    tmp_path, run_cli, monkeypatch
):
    monkeypatch.setitem(sys.modules, "wandb", None)  # Python's own "cannot be imported here"
    result = run_cli(
        str(SWEEP), "--tracking.backend", "wandb", "--output-dir", str(tmp_path / "x"), "--dry-run"
    )
    assert result.code == 2
    assert result.err.splitlines()[-2:] == [
        "error: command line: tracking.backend: tracking backend wandb needs the Python package wandb, "
        "which is not installed here",
        "  fix: pip install 'ttwriter[tracking]' (wandb, mlflow and tensorboard), or tracking.backend: disk",
    ]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "fields, key, message, fix",
    [
        (
            {"backend": "tensorboard", "project": "p"},
            "tracking.project",
            "project is the W&B project or MLflow experiment name, but the backend is tensorboard, "
            "which does not use it",
            "leave project out, or set tracking.backend: wandb or mlflow",
        ),
        (
            {"project": "p"},
            "tracking.project",
            "project is the W&B project or MLflow experiment name, but the backend is disk, "
            "which does not use it",
            "leave project out, or set tracking.backend: wandb or mlflow",
        ),
        (
            {"tags": ["a"]},
            "tracking.tags",
            "tags are labels of the tracker's runs, but the backend is disk, which does not use them",
            "leave tags out, or set tracking.backend: wandb, mlflow or tensorboard",
        ),
        (
            {"backend": "tensorboard", "uri": "http://x"},
            "tracking.uri",
            "uri is MLflow's tracking URI, but the backend is tensorboard, which does not use it",
            "leave uri out, or set tracking.backend: mlflow",
        ),
        (
            {"backend": "disk", "entity": "team"},
            "tracking.entity",
            "entity is a W&B entity, but the backend is disk, which does not use it",
            "leave entity out, or set tracking.backend: wandb",
        ),
    ],
    ids=["project-tensorboard", "project-disk", "tags-disk", "uri-tensorboard", "entity-disk"],
)
def test_a_setting_the_backend_ignores_is_an_error_not_silently_unused(fields, key, message, fix):
    assert _problems(**fields) == [(key, message, fix)]


@pytest.mark.parametrize(
    "uri",
    [
        "http://mlflow.internal:5000",
        "https://x",
        "sqlite:////data/mlflow.db",
        "postgresql+psycopg2://u@h/db",
        "file:///data/mlruns",
        "databricks",
        "/data/mlruns",
        "~/mlruns",
    ],
)
def test_an_mlflow_uri_mlflow_accepts_is_kept(uri):
    assert Tracking(backend="mlflow", uri=uri).uri == uri


_URI_FIX = (
    "give a tracking server (http://mlflow.internal:5000), a database (sqlite:////data/mlflow.db), "
    "an absolute folder (/data/mlruns), or leave uri out for a SQLite store in the experiment folder"
)


@pytest.mark.parametrize(
    "uri, message",
    [
        (
            "notaurl",
            "uri 'notaurl' is neither a URI nor an absolute path, so MLflow would make a folder of "
            "that name wherever each run starts",
        ),
        ("htp://x:5000", "uri 'htp://x:5000' is not a tracking URI MLflow accepts (scheme htp:)"),
    ],
)
def test_an_mlflow_uri_that_is_neither_a_uri_nor_a_path_is_an_error(uri, message):
    assert _problems(backend="mlflow", uri=uri) == [("tracking.uri", message, _URI_FIX)]


def test_a_tracking_setting_the_backend_ignores_is_refused_on_the_command_line(run_cli):
    result = run_cli(str(SWEEP), "--tracking.backend", "tensorboard", "--tracking.project", "p", "--dry-run")

    assert result.code == 2
    assert result.err == (
        "error: command line: tracking.project: project is the W&B project or MLflow experiment name, "
        "but the backend is tensorboard, which does not use it\n"
        "  fix: leave project out, or set tracking.backend: wandb or mlflow\n"
    )
