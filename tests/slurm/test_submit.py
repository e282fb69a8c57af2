"""`ttwriter submit` and `ttwriter status` where no cluster is needed: choosing runs, dry runs,
markers written by tasks run with bash, and every error a user can make.

The real submissions are in test_slurm_cluster.py.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.slurm.sweeps import make_sweep, run_task
from ttwriter.cli.main import USAGE


@pytest.fixture
def sweep(tmp_path):
    return make_sweep(tmp_path, max_parallel=2)


@pytest.fixture
def no_slurm(tmp_path, monkeypatch):
    """A PATH with the shell tools but none of SLURM's commands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash", "mkdir", "printf", "grep", "date", "uname", "rm", "mv", "cat"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_submit_and_status_are_listed_in_the_usage():
    assert "ttwriter submit DIR [--runs run_000,run_003 | --failed] [--dry-run]" in USAGE
    assert "ttwriter status DIR" in USAGE


def test_dry_run_prints_the_sbatch_command_and_submits_nothing(run_cli, sweep):
    folder = sweep.experiment_dir

    result = run_cli("submit", str(folder), "--dry-run")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Dry run: would submit 4 runs of fake (run_000, run_001, run_002, run_003) with:"
    assert lines[1].endswith(f"sbatch --parsable --array=0-3%2 {folder}/submit.sbatch")
    assert lines[2] == "Nothing was submitted."
    assert not (folder / "submissions.jsonl").exists()


def test_submit_takes_the_parallel_limit_from_the_mapping_never_from_the_script(run_cli, sweep):
    script = sweep.experiment_dir / "submit.sbatch"
    script.write_text(script.read_text().replace("#SBATCH --array=0-3%2\n", "#SBATCH --array=0-3%7\n"))

    result = run_cli("submit", str(sweep.experiment_dir), "--dry-run")

    assert result.code == 0, result.err
    assert "--array=0-3%2 " in result.out


def test_dry_run_of_chosen_runs_keeps_the_scripts_parallel_limit_when_it_matters(run_cli, sweep):
    folder = str(sweep.experiment_dir)

    three = run_cli("submit", folder, "--runs", "run_000,run_001,run_003", "--dry-run")
    two = run_cli("submit", folder, "--runs", "run_003,run_001", "--dry-run")

    assert "--array=0-1,3%2 " in three.out
    assert "--array=1,3 " in two.out
    assert "(run_001, run_003)" in two.out


def test_status_of_a_fresh_folder_says_nothing_was_submitted(run_cli, sweep):
    result = run_cli("status", str(sweep.experiment_dir))

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"fake: 4 runs in {sweep.experiment_dir}"
    assert lines[1].split() == ["run_000", "not", "submitted", "-", "lora_rank=8"]
    assert lines[-2:] == ["4 not submitted", f"Submit them: ttwriter submit {sweep.experiment_dir}"]


def test_status_reads_the_markers_of_tasks_that_ran(run_cli, sweep, tmp_path, no_slurm):
    folder = sweep.experiment_dir
    run_task(folder, 0, tmp_path)
    run_task(folder, 2, tmp_path)

    result = run_cli("status", str(folder))

    assert result.code == 1, result.err  # run_002 failed
    rows = [line.split()[:3] for line in result.out.splitlines()[1:5]]
    assert rows == [
        ["run_000", "done", "-"],
        ["run_001", "not", "submitted"],
        ["run_002", "failed", "-"],
        ["run_003", "not", "submitted"],
    ]
    assert f"(exit 1; log: {folder}/logs/run_002.out)" not in result.out  # bash wrote no SLURM log
    assert "lora_rank=32  (exit 1)" in result.out
    assert "1 done, 1 failed, 2 not submitted" in result.out
    assert f"Submit the runs that did not complete: ttwriter submit {folder} --failed" in result.out


def test_failed_means_every_run_that_did_not_complete_and_a_plain_submit_refuses_done_runs(
    run_cli, sweep, tmp_path, no_slurm
):
    folder = sweep.experiment_dir
    run_task(folder, 0, tmp_path)
    run_task(folder, 2, tmp_path)

    failed = run_cli("submit", str(folder), "--failed", "--dry-run")
    everything = run_cli("submit", str(folder), "--dry-run")
    named = run_cli("submit", str(folder), "--runs", "run_000", "--dry-run")

    assert failed.code == 0, failed.err
    assert failed.out.splitlines()[:2] == [
        "Leaving out 1 run: run_000 (done)",
        "Dry run: would submit 3 runs of fake (run_001, run_002, run_003) with:",
    ]
    assert "--array=1-3%2 " in failed.out
    assert everything.code == 2
    assert everything.err == (
        f"error: {folder}: 1 of 4 runs are already done: run_000\n"
        f"  fix: ttwriter submit {folder} --failed for the 3 runs that did not complete; to train "
        "done ones again, name them: --runs run_000\n"
    )
    assert (
        named.out.splitlines()[0] == "note: run_000 had finished; it trains again and its result is replaced"
    )


def test_status_without_squeue_cannot_tell_queued_from_lost(run_cli, sweep, no_slurm):
    folder = sweep.experiment_dir
    record = {"job_id": 7, "array": "0-3", "runs": ["run_001"], "submitted_utc": "2026-01-01T00:00:00Z"}
    (folder / "submissions.jsonl").write_text(json.dumps(record) + "\n")

    result = run_cli("status", str(folder))

    assert result.code == 0, result.err
    assert "run_001  unknown" in result.out
    assert "submitted; squeue cannot say whether it is queued" in result.out
    assert "note: squeue is not on PATH, so pending and running jobs cannot be seen" in result.out


def test_submit_without_sbatch_says_where_to_run_it(run_cli, sweep, no_slurm):
    result = run_cli("submit", str(sweep.experiment_dir))

    assert result.code == 2
    assert result.err == (
        "error: sbatch is not on PATH, so the runs cannot be submitted\n"
        "  fix: run this on a login node of your SLURM cluster (or load its module); for a local "
        "one-node test cluster run scripts/slurm_local.sh up as root; --dry-run shows the command\n"
    )


def test_a_dry_run_without_sbatch_shows_the_command_and_says_the_real_submit_would_be_refused(
    run_cli, sweep, no_slurm
):
    result = run_cli("submit", str(sweep.experiment_dir), "--dry-run")

    assert result.code == 0, result.err
    assert result.out.splitlines()[1].startswith("  sbatch --parsable --array=0-3%2 ")
    assert result.out.endswith(
        "Nothing was submitted.\nnote: sbatch is not on PATH here, so the real submit would be refused: "
        "run it on a login node of your SLURM cluster\n"
    )


def test_resubmitting_without_squeue_is_refused_so_no_run_is_queued_twice(run_cli, sweep, no_slurm):
    folder = sweep.experiment_dir
    record = {"job_id": 7, "array": "0-3", "runs": ["run_000"], "submitted_utc": "2026-01-01T00:00:00Z"}
    (folder / "submissions.jsonl").write_text(json.dumps(record) + "\n")

    result = run_cli("submit", str(folder), "--failed")

    assert result.code == 2
    assert result.err.startswith(f"error: {folder}: cannot tell which runs are still queued: squeue is not")


def test_unknown_run_ids_are_refused_with_a_suggestion(run_cli, sweep):
    result = run_cli("submit", str(sweep.experiment_dir), "--runs", "run_001,run_3", "--dry-run")

    assert result.code == 2
    assert result.err.startswith(
        f"error: {sweep.experiment_dir}/run_mapping.yaml: no run 'run_3' in this experiment; "
        "did you mean 'run_003'"
    )
    assert result.err.endswith("\n  fix: run ids go from run_000 to run_003\n")


def test_runs_and_failed_together_are_refused(run_cli, sweep):
    folder = sweep.experiment_dir

    result = run_cli("submit", str(folder), "--runs", "run_001", "--failed")

    assert result.code == 2
    assert result.err == (
        "error: --runs and --failed choose runs in two ways\n"
        f"  fix: use one: ttwriter submit {folder} --failed, or ttwriter submit {folder} --runs run_001\n"
    )


@pytest.mark.parametrize("command", ["submit", "status"])
def test_not_an_experiment_folder(run_cli, tmp_path, command):
    (tmp_path / "experiment.yaml").write_text("experiment_name: x\n")

    missing = run_cli(command, str(tmp_path / "nope"))
    plain = run_cli(command, str(tmp_path))
    source = run_cli(command, str(tmp_path / "experiment.yaml"))

    assert [r.code for r in (missing, plain, source)] == [2, 2, 2]
    assert missing.err == (
        f"error: {tmp_path}/nope: no such folder\n"
        "  fix: give the folder ttwriter wrote (the one with run_mapping.yaml and configs/), "
        "e.g. outputs/<name>_<timestamp>\n"
    )
    assert plain.err.startswith(
        f"error: {tmp_path}: not a ttwriter experiment folder: it has no run_mapping.yaml"
    )
    assert source.err == (
        f"error: {tmp_path}/experiment.yaml: this is a file, not an experiment folder\n"
        f"  fix: generate the sweep first (ttwriter {tmp_path}/experiment.yaml), then give the folder it writes\n"
    )


def test_unknown_recipe_is_refused_before_sbatch(run_cli, tmp_path):
    from ttwriter import generate_configs

    base = tmp_path / "my_base.yaml"
    base.write_text("output_dir: /tmp/x\nmodel:\n  lora_rank: 8\n")
    result = generate_configs(
        {"experiment_name": "custom", "base_config_file": str(base)},
        output_dir=tmp_path / "exp",
        validate=False,
    )

    submitted = run_cli("submit", str(result.experiment_dir))

    assert submitted.code == 2
    assert submitted.err == (
        f"error: {result.experiment_dir}: recipe: the recipe of this experiment is unknown "
        "(run_mapping.yaml has recipe: null), so submit.sbatch has no training command to run\n"
        "  fix: set `recipe` in the experiment (a name from 'tune ls' or the path of your recipe .py) "
        "and regenerate, or set slurm.command to a command without {recipe}\n"
    )


def test_usage_errors_and_help_go_to_the_given_streams(run_cli, sweep, capsys):
    bad = run_cli("submit", str(sweep.experiment_dir), "--fialed")
    helped = run_cli("status", "--help")

    assert bad.code == 2
    assert bad.err == (
        "error: ttwriter submit has no option '--fialed'; did you mean '--failed'?\n"
        f"  fix: ttwriter submit {sweep.experiment_dir} --failed ('ttwriter submit --help' lists its options)\n"
    )
    assert helped.code == 0
    assert helped.out.startswith("usage: ttwriter status [-h] DIR\n")
    assert capsys.readouterr() == ("", "")  # nothing reached the process's own streams


def test_status_exits_1_when_a_run_failed_and_0_while_runs_are_only_pending(
    run_cli, sweep, tmp_path, no_slurm
):
    folder = sweep.experiment_dir
    run_task(folder, 0, tmp_path)  # done

    pending = run_cli("status", str(folder))
    run_task(folder, 2, tmp_path)  # fails
    failed = run_cli("status", str(folder))

    assert (pending.code, failed.code) == (0, 1)
    assert "1 done, 3 not submitted" in pending.out
    assert "1 done, 1 failed, 2 not submitted" in failed.out
