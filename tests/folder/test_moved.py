"""A folder moved or copied away from where it was written: every path in it still names the old
place, so the commands that train, evaluate or submit refuse it (exit 2, naming both folders), and
`status` and `results` read it where it is, with a warning. A symlink to the folder is the folder.

The folders are real: the lora_rank sweep of tests.slurm.sweeps, whose training is a fake trainer
(a few lines of sh), so `ttwriter run` takes milliseconds.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.slurm.sweeps import make_sweep
from ttwriter.folder.read import read_experiment_folder

ACTING = {
    "run": ("run", "--dry-run"),
    "submit": ("submit", "--dry-run"),
    "evaluate": ("evaluate",),
}
"""Every command that would write into the folder (`run` and `submit` without --dry-run too)."""


@pytest.fixture
def original(tmp_path):
    return make_sweep(tmp_path, tmp_path / "written").experiment_dir


def refusal(old, new, command: str, copied: bool = False, fix: str | None = None) -> str:
    how = "copied here (the original is still there)" if copied else "moved here"
    back = f"work in the original ({old})" if copied else f"move it back (mv {new} {old})"
    again = fix or f"regenerate it in place: ttwriter {new}/experiment.json --output-dir {new} --force"
    return (
        f"error: {new}: this folder was written for {old} and has been {how}: its configs, "
        f"submit.sbatch and run_mapping.yaml still name {old}, so `ttwriter {command}` would write "
        f"its results there\n  fix: {back}, or {again}\n"
    )


@pytest.mark.parametrize("command", ACTING)
def test_a_moved_folder_is_refused_by_every_command_that_acts_on_it(run_cli, original, tmp_path, command):
    moved = tmp_path / "moved"
    original.rename(moved)
    result = run_cli(*ACTING[command][:1], str(moved), *ACTING[command][1:])
    assert (result.code, result.out) == (2, "")
    assert result.err == refusal(original, moved, command)


def test_a_copy_is_refused_and_nothing_lands_in_the_original(run_cli, original, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    result = run_cli("run", str(copy))
    assert result.code == 2
    assert result.err == refusal(original, copy, "run", copied=True)
    assert not (original / "status").exists() and not (original / "runs").exists()
    assert not any((original / "logs").iterdir())


@pytest.mark.parametrize("command", [("status",), ("results", "--no-plot")])
def test_status_and_results_read_a_moved_folder_and_warn(run_cli, original, tmp_path, command):
    written = run_cli(command[0], str(original), *command[1:])
    moved = tmp_path / "moved"
    original.rename(moved)
    result = run_cli(command[0], str(moved), *command[1:])
    assert result.code == written.code == 0
    assert result.out == written.out.replace(str(original), str(moved))
    assert result.err == (
        f"warning: {moved}: this folder was written for {original} and has been moved here: its "
        f"configs, submit.sbatch and run_mapping.yaml still name {original}; reading it here, but its "
        f"jobs would write into {original}\n"
        f"  fix: move it back (mv {moved} {original}), or regenerate it in place: ttwriter "
        f"{moved}/experiment.json --output-dir {moved} --force\n"
    )


def test_results_of_a_moved_folder_are_read_from_its_own_runs(run_cli, original, tmp_path):
    logs = original / "runs" / "run_001" / "logs"
    logs.mkdir(parents=True)
    (logs / "log_1795245594.txt").write_text("Step 1 | loss:2.5 lr:0.001 \nStep 2 | loss:2.0 lr:0.001 \n")
    moved = tmp_path / "moved"
    original.rename(moved)
    folder = read_experiment_folder(moved, "results", moved_ok=True)
    assert folder.moved is not None and folder.moved.old == original
    assert folder.runs[1].output_dir == str(moved / "runs" / "run_001")
    result = run_cli("results", str(moved), "--no-plot")
    assert result.code == 0
    assert "  run_001  16         partial      2      2.0000     2.0000" in result.out.splitlines()


def test_a_symlink_to_the_folder_is_the_folder(run_cli, original, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(original)
    for argv in (("status", str(link)), ("submit", str(link), "--dry-run"), ("run", str(link), "--dry-run")):
        result = run_cli(*argv)
        assert (result.code, result.err) == (0, ""), argv


def test_a_folder_written_through_a_symlink_is_read_where_it_resolves(run_cli, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "real")
    folder = make_sweep(tmp_path, tmp_path / "via" / "exp").experiment_dir
    for given in (folder, tmp_path / "real" / "exp"):
        result = run_cli("submit", str(given), "--dry-run")
        assert (result.code, result.err) == (0, ""), given


def test_regenerating_a_moved_folder_in_place_makes_it_usable_there(run_cli, original, tmp_path):
    moved = tmp_path / "moved"
    original.rename(moved)
    regenerated = run_cli(str(moved / "experiment.json"), "--output-dir", str(moved), "--force")
    assert regenerated.code == 0, regenerated.err
    mapping = yaml.safe_load((moved / "run_mapping.yaml").read_text())
    assert mapping["experiment_dir"] == str(moved)
    assert str(original) not in (moved / "submit.sbatch").read_text()
    assert str(original) not in (moved / "configs" / "run_000.yaml").read_text()
    trained = run_cli("run", str(moved), "--runs", "run_000")
    assert trained.code == 0, trained.err
    assert (moved / "status" / "run_000.done").is_file()
    assert (moved / "runs" / "run_000" / "ran.txt").is_file()
    assert not original.exists()


def test_a_moved_folder_with_results_is_never_replaced_and_the_fix_says_so(run_cli, original, tmp_path):
    trained = run_cli("run", str(original), "--runs", "run_000")
    assert trained.code == 0, trained.err
    moved = tmp_path / "moved"
    original.rename(moved)
    result = run_cli("run", str(moved), "--runs", "run_001")
    assert result.err == refusal(
        original,
        moved,
        "run",
        fix=f"regenerate it into a new folder: ttwriter {moved}/experiment.json --output-dir <new folder> "
        "(--force would not replace this one: output folder holds results of earlier runs in runs/; "
        "replacing it would lose them)",
    )
    replaced = run_cli(str(moved / "experiment.json"), "--output-dir", str(moved), "--force")
    assert replaced.code == 2
    assert (moved / "runs" / "run_000" / "ran.txt").is_file()
    assert (moved / "status" / "run_000.done").is_file()
    elsewhere = run_cli(str(moved / "experiment.json"), "--output-dir", str(tmp_path / "new"))
    assert elsewhere.code == 0, elsewhere.err
    assert run_cli("run", str(tmp_path / "new"), "--dry-run").code == 0


def test_a_folder_that_records_no_experiment_dir_is_not_checked(run_cli, original, tmp_path):
    mapping = original / "run_mapping.yaml"
    mapping.write_text(
        "".join(
            line for line in mapping.read_text().splitlines(True) if not line.startswith("experiment_dir:")
        )
    )
    moved = tmp_path / "moved"
    original.rename(moved)
    result = run_cli("status", str(moved))
    assert (result.code, result.err) == (0, "")


def test_results_across_experiments_warn_about_each_moved_one(run_cli, original, tmp_path):
    other = make_sweep(tmp_path, tmp_path / "other", name="other").experiment_dir
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    original.rename(shelf / "written")
    result = run_cli("results", str(shelf), str(other))
    assert result.code == 0, result.err
    assert result.err.startswith(
        f"warning: {shelf / 'written'}: this folder was written for {original} and has been moved here"
    )
    assert result.err.count("warning: ") == 1
