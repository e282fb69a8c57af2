"""The names in an experiment folder: one list of ttwriter's own, and copies that never take them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import BASE, REPO
from ttwriter import Experiment, generate_configs
from ttwriter.folder.layout import FOLDER_ENTRIES, SCRIPT_FILE
from ttwriter.sweep.base_config import resolve_config_name


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def a_base_named(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copy(resolve_config_name(BASE).path, path)
    return path


@pytest.mark.parametrize("name", [*sorted(FOLDER_ENTRIES), "Submit.sbatch"])
def test_a_base_config_named_like_a_folder_entry_is_copied_under_another_name(tmp_path, name):
    base = a_base_named(tmp_path / "bases", name)

    result = generate_configs(
        Experiment(name="clash", base_config_file=str(base)), output_dir=tmp_path / "out", validate=False
    )

    out = result.experiment_dir
    assert (out / f"source_{name}").read_bytes() == base.read_bytes()
    assert (out / SCRIPT_FILE).read_text().startswith("#!/bin/bash")
    assert (out / "configs" / "run_000.yaml").is_file()
    snapshot = json.loads((out / "experiment.json").read_text())
    assert snapshot["provenance"]["source_files"] == {f"source_{name}": sha256(base)}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "configs",
            "experiment.json",
            "logs",
            "run_mapping.yaml",
            "submit.sbatch",
            "validation_report.json",
            "validation_report.txt",
        ]
        + [f"source_{name}"]
    )


def test_a_snapshot_finds_its_base_copied_under_another_name(tmp_path):
    base = a_base_named(tmp_path / "bases", "submissions.jsonl")
    first = generate_configs(
        Experiment(name="clash", base_config_file=str(base)), output_dir=tmp_path / "a", validate=False
    )
    base.unlink()  # on the cluster: only the folder is there

    again = generate_configs(
        first.experiment_dir / "experiment.json", output_dir=tmp_path / "b", validate=False
    )

    assert again.base_config == str(tmp_path / "a" / "source_submissions.jsonl")
    assert (tmp_path / "b" / "source_submissions.jsonl").read_bytes() == (
        tmp_path / "a" / "source_submissions.jsonl"
    ).read_bytes()


def test_two_sources_with_one_name_are_both_copied(tmp_path):
    base = a_base_named(tmp_path / "bases", "experiment.yaml")
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "experiment.yaml").write_text(
        f"experiment_name: twins\nbase_config_file: {base}\n", encoding="utf-8"
    )

    result = generate_configs(folder / "experiment.yaml", output_dir=tmp_path / "out", validate=False)

    files = json.loads((result.experiment_dir / "experiment.json").read_text())["provenance"]["source_files"]
    assert files == {
        "experiment.yaml": sha256(folder / "experiment.yaml"),
        "source_experiment.yaml": sha256(base),
    }


def test_every_entry_a_folder_gets_over_its_life_is_in_the_list(tmp_path, run_cli):
    """Generate, train (a stand-in that logs like torchtune), read the results: whatever lands in
    the folder is named in FOLDER_ENTRIES, apart from the copied sources."""
    out = tmp_path / "out"
    logs = "{output_dir}/logs"
    stand_in = f"test -f {{config}} && mkdir -p {logs} && printf 'Step 1 | loss:1.5\\nStep 2 | loss:1.25\\n' > {logs}/log_1.txt"
    generated = run_cli(
        str(REPO / "experiments" / "tiny" / "cpu" / "lora_rank_lr_02_01.py"),
        "--no-validate",
        "--slurm.command",
        stand_in,
        "--output-dir",
        str(out),
    )
    assert generated.code == 0, generated.err
    assert run_cli("run", str(out)).code == 0
    assert run_cli("results", str(out)).code == 0

    sources = json.loads((out / "experiment.json").read_text())["provenance"]["source_files"]
    present = {p.name for p in out.iterdir()} - set(sources)
    assert present <= FOLDER_ENTRIES
    assert {"configs", "runs", "logs", "status", "results.csv", "submit.sbatch"} <= present
