"""The base config of a written folder, read back to tell a key typed into a config by hand from
one the base config had: where it is looked for, and what re-validation checks when the base
config changed or is gone (a key typed by hand is then a warning, not an error).

The sweeps start from a copy of the shipped llama3_2/1B_lora_single_device config given as
`base_config_file` (copied into the folder as generation does), so the tests can change it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import BASE
from ttwriter import generate_configs
from ttwriter.folder.snapshot import read_snapshot
from ttwriter.registry import shipped_configs
from ttwriter.validation.base_keys import base_keys
from ttwriter.validation.state import read_state
from ttwriter.yaml_io import read_yaml

SHIPPED = shipped_configs()[BASE].path
SHIPPED_KEYS = frozenset(read_yaml(SHIPPED)[0])


@pytest.fixture
def custom(tmp_path):
    """A validated 2-run sweep from a custom base config; returns (folder, the base config)."""
    base = tmp_path / "my_base.yaml"
    shutil.copy(SHIPPED, base)
    result = generate_configs(
        {
            "experiment_name": "custom",
            "base_config_file": str(base),
            "variables": {"lora_rank": [8, 16]},
            "slurm": {"gpus_per_run": 0},
        },
        output_dir=tmp_path / "exp",
    )
    assert result.validation.summary_line() == "2/2 configs valid"
    return result.experiment_dir, base


def keys_of(folder):
    return base_keys(folder, read_snapshot(folder / "experiment.json"))


def type_x(folder):
    with open(folder / "configs" / "run_001.yaml", "a") as config:
        config.write("x: 1\n")


# --- where the base config is found ---------------------------------------------------------------


def test_a_shipped_base_config_is_read_where_it_was(tmp_path):
    folder = generate_configs(
        {"experiment_name": "s", "base_config": BASE, "variables": {"lora_rank": [8]}},
        output_dir=tmp_path / "s",
        validate=False,
    ).experiment_dir

    found = keys_of(folder)

    assert (found.name, found.keys, found.why_unknown) == (BASE, SHIPPED_KEYS, "")


def test_a_custom_base_config_is_read_where_it_was(custom):
    folder, base = custom

    found = keys_of(folder)

    assert (found.name, found.keys) == (str(base), SHIPPED_KEYS)


def test_a_custom_base_config_changed_or_gone_is_read_from_its_copy_in_the_folder(custom):
    folder, base = custom
    base.write_text(base.read_text() + "x: 1\n")
    changed = keys_of(folder)
    base.unlink()
    gone = keys_of(folder)

    assert changed.keys == gone.keys == SHIPPED_KEYS
    assert (folder / "my_base.yaml").is_file()


def test_a_base_config_that_changed_is_not_read(custom):
    folder, base = custom
    (folder / "my_base.yaml").unlink()
    before = read_snapshot(folder / "experiment.json").provenance.base_config_sha256
    base.write_text(base.read_text() + "x: 1\n")

    found = keys_of(folder)

    assert found.keys is None
    assert found.why_unknown.startswith(
        f"changed since the folder was written ({base}: sha256 {before[:12]}... then, "
    )


def test_a_base_config_that_is_gone_is_not_read(custom):
    folder, base = custom
    (folder / "my_base.yaml").unlink()
    base.unlink()

    found = keys_of(folder)

    assert (found.keys, found.why_unknown) == (None, f"is gone ({base} does not exist)")


@pytest.mark.parametrize(
    "base_config, why",
    [
        (None, "is not recorded (experiment.json has no provenance.base_config)"),
        ({"name": "mine"}, "has no sha256 in experiment.json to recognise it by"),
    ],
)
def test_a_snapshot_that_does_not_record_the_base_config_leaves_its_keys_unknown(custom, base_config, why):
    folder, _ = custom
    path = folder / "experiment.json"
    data = json.loads(path.read_text())
    if base_config is None:
        del data["provenance"]["base_config"]
    else:
        data["provenance"]["base_config"] = base_config
    path.write_text(json.dumps(data))

    found = keys_of(folder)

    assert (found.keys, found.why_unknown) == (None, why)


# --- what re-validation checks then ---------------------------------------------------------------


def test_a_key_typed_by_hand_is_an_error_while_the_copy_in_the_folder_is_the_base_config(run_cli, custom):
    folder, base = custom
    base.unlink()
    type_x(folder)

    result = run_cli("submit", str(folder), "--dry-run")

    assert result.code == 2
    assert "1 of 2 runs to submit failed validation: run_001\n" in result.err
    assert f"  run_001: x: configs/run_001.yaml has 'x', which is in neither the base config {base} " in (
        result.err
    )


@pytest.mark.parametrize("change", ["changed", "gone"])
def test_a_key_typed_by_hand_is_a_warning_when_the_base_config_changed_or_is_gone(run_cli, custom, change):
    folder, base = custom
    (folder / "my_base.yaml").unlink()
    if change == "gone":
        base.unlink()
    else:
        base.write_text(base.read_text() + "# edited\n")
    type_x(folder)

    result = run_cli("submit", str(folder), "--dry-run")

    assert result.code == 0, result.err
    assert f"Validation: 2/2 configs valid (details: {folder}/validation_report.txt)" in result.out
    runs = json.loads((folder / "validation_report.json").read_text())["runs"]
    (finding,) = [f for f in runs[1]["findings"] if f["key"] == "x"]
    assert all(run.ok for run in read_state(folder).runs.values())
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(
        "configs/run_001.yaml has 'x', which the experiment did not set and recipe "
        f"lora_finetune_single_device never reads; whether it comes from the base config {base} "
        f"cannot be told: it {'is gone' if change == 'gone' else 'changed since the folder was written'} ("
    )
    assert (
        finding["fix"]
        == f"Remove 'x' if it was typed by hand; restore the base config {base} to have it checked"
    )
    assert not [f for f in runs[0]["findings"] if f["key"] == "x"]
