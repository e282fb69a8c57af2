"""The output folder under faults: concurrent generations, signals, killed processes, full disks.

Generations run as real processes. A generation is held half-way (after its first config file) by
a small wrapper, so the tests can do what a second user, a training job or `kill` would do at that
moment, then let it go on. File-system faults use small tmpfs mounts (skipped where mounting is
not allowed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BASE, REPO
from ttwriter import Experiment, OutputExistsError, OutputWriteError, SlurmError, generate_configs
from ttwriter import generate as generate_module
from ttwriter.folder.atomic import AtomicFolder
from ttwriter.folder.claim import HOST, lock_path
from ttwriter.folder.layout import MAPPING_FILE, SNAPSHOT_FILE
from ttwriter.sweep.base_config import resolve_config_name

SMALL = f"experiment_name: small\nbase_config: {BASE}\nvariables:\n  lora_rank: [8, 16]\n"
OTHER = f"experiment_name: other\nbase_config: {BASE}\nvariables:\n  lora_rank: [4, 8, 32]\n"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

HOLD = """
import datetime, sys, time, pathlib
import ttwriter.folder.writer as writer
import ttwriter.generate as generate
ready, go, now = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
if now:  # the same second for every process that is given it
    class Fixed(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromisoformat(now)
    generate.dt = type("dt", (), {"datetime": Fixed})
write = writer.write_file
def held(path, text):
    write(path, text)
    if not ready.exists():
        ready.write_text("")
        while not go.exists():
            time.sleep(0.02)
writer.write_file = held
from ttwriter.cli.main import main
sys.exit(main(sys.argv[4:]))
"""


class Held:
    """A `ttwriter` generation in its own process, stopped after writing its first config."""

    def __init__(self, control: Path, *argv: str, cwd: Path | None = None, now: str = "") -> None:
        control.mkdir(exist_ok=True)
        n = len(list(control.iterdir()))
        self.ready, self.go = control / f"ready{n}", control / f"go{n}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(self.ready), str(self.go), now, *argv],
            cwd=cwd,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                out, err = self.process.communicate()
                pytest.fail(f"the held generation did not start writing:\n{out}{err}")
            time.sleep(0.02)

    def release(self) -> subprocess.CompletedProcess:
        self.go.write_text("")
        return self.finish()

    def send(self, signum: int) -> subprocess.CompletedProcess:
        self.process.send_signal(signum)
        return self.finish()

    def finish(self) -> subprocess.CompletedProcess:
        out, err = self.process.communicate(timeout=60)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)


def ttwriter(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ttwriter", *argv],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def experiment(folder: Path, text: str = SMALL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "experiment.yaml").write_text(text, encoding="utf-8")
    return folder / "experiment.yaml"


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders): to see that nothing changed."""
    found: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = Path(path).read_bytes()
    return found


def mapping(folder: Path) -> dict:
    import yaml

    return yaml.safe_load((folder / MAPPING_FILE).read_text())


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def tmpfs():
    """Mount a small tmpfs: `tmpfs(path, size="256k", read_only=False)`; skips where not allowed."""
    mounted: list[Path] = []

    def mount(path: Path, size: str = "1m", read_only: bool = False) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        path.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"a tmpfs cannot be mounted here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


# --- concurrent generations ----------------------------------------------------------------------


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "both with --force"])
def test_a_second_generation_into_a_folder_being_written_exits_2_and_the_first_completes(tmp_path, force):
    first_source, second_source = experiment(tmp_path / "a"), experiment(tmp_path / "b", OTHER)
    out = tmp_path / "out"
    first = Held(tmp_path / "ctl", str(first_source), "--output-dir", str(out), "--no-validate", *force)

    second = ttwriter(str(second_source), "--output-dir", str(out), "--no-validate", *force)
    done = first.release()

    assert second.returncode == 2
    assert f"error: {out}: another ttwriter (pid {first.process.pid} on {HOST}, since " in second.stderr
    assert f"if no ttwriter runs there, delete {tmp_path / '.out.ttwriter-lock'}" in second.stderr
    assert done.returncode == 0, done.stderr
    assert mapping(out)["experiment"] == "small"
    assert entries(tmp_path) == ["a", "b", "ctl", "out"]


def test_two_default_folder_sweeps_in_the_same_second_get_distinct_folders(tmp_path):
    source = experiment(tmp_path / "exp")
    work = tmp_path / "work"
    work.mkdir()
    now = "2026-01-02T03:04:05"
    first = Held(tmp_path / "ctl", str(source), "--no-validate", cwd=work, now=now)
    second = Held(tmp_path / "ctl", str(source), "--no-validate", cwd=work, now=now)

    second_done, first_done = second.release(), first.release()

    assert (first_done.returncode, second_done.returncode) == (0, 0)
    assert "Wrote 2 runs to outputs/small_20260102_030405/" in first_done.stdout
    assert "Wrote 2 runs to outputs/small_20260102_030405_2/" in second_done.stdout
    for name in ("small_20260102_030405", "small_20260102_030405_2"):
        folder = work / "outputs" / name
        assert mapping(folder)["experiment_dir"] == str(folder)
        assert f"output_dir: {folder}/runs/run_000\n" in (folder / "configs" / "run_000.yaml").read_text()
    assert entries(work / "outputs") == ["small_20260102_030405", "small_20260102_030405_2"]


def test_a_default_folder_claimed_between_planning_and_writing_moves_on_to_2(tmp_path, monkeypatch):
    """The race the folder check alone cannot win: both sweeps chose the folder before either
    claimed it. The claim decides, and the configs name the folder they are really in."""
    monkeypatch.chdir(tmp_path)
    plan_sweep = generate_module.plan_sweep
    other: list[AtomicFolder] = []

    def plan_then_lose_the_folder(*args, **kwargs):
        plan = plan_sweep(*args, **kwargs)
        other.append(AtomicFolder(plan.experiment_dir, force=False))
        other[0].__enter__()  # another sweep claims it now, and is still writing
        return plan

    monkeypatch.setattr(generate_module, "plan_sweep", plan_then_lose_the_folder)
    result = generate_configs(Experiment(name="race", base_config=BASE), validate=False)
    other[0].__exit__(None, None, None)

    taken = other[0].final
    assert result.experiment_dir == taken.with_name(taken.name + "_2")
    assert mapping(result.experiment_dir)["experiment_dir"] == str(result.experiment_dir)
    assert json.loads((result.experiment_dir / SNAPSHOT_FILE).read_text())["provenance"][
        "experiment_dir"
    ] == str(result.experiment_dir)
    assert entries(tmp_path / "outputs") == sorted([taken.name, result.experiment_dir.name])


def test_a_folder_made_by_someone_else_during_a_generation_is_kept(tmp_path):
    source = experiment(tmp_path / "exp")
    out = tmp_path / "out"
    held = Held(tmp_path / "ctl", str(source), "--output-dir", str(out), "--no-validate")
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")

    done = held.release()

    assert done.returncode == 2
    assert done.stderr == (
        f"error: {out}: while ttwriter was writing, something else wrote into the output folder "
        "(notes.txt); it was left as it is and the new configs were discarded\n"
        "  fix: choose another --output-dir (or find out what else writes there) and generate again\n"
    )
    assert tree(out) == {"notes.txt": b"mine"}
    assert entries(tmp_path) == ["ctl", "exp", "out"]


@pytest.mark.parametrize(
    "appears, message",
    [
        ("runs/run_000/adapter_model.pt", "output folder holds results of earlier runs in runs/"),
        ("logs/run_000.out", "output folder holds results of earlier runs in logs/"),
        ("status/run_000.done", "output folder holds results of earlier runs in status/"),
        ("submissions.jsonl", "output folder was submitted to SLURM (submissions.jsonl)"),
        ("notes.txt", "output folder holds notes.txt, which ttwriter did not write"),
    ],
    ids=["checkpoint", "log", "status marker", "submission", "someone's file"],
)
def test_results_that_appear_during_a_force_regeneration_are_never_deleted(tmp_path, appears, message):
    source = experiment(tmp_path / "exp")
    out = tmp_path / "out"
    assert ttwriter(str(source), "--output-dir", str(out), "--no-validate").returncode == 0
    held = Held(
        tmp_path / "ctl",
        str(experiment(tmp_path / "new", OTHER)),
        "--output-dir",
        str(out),
        "--force",
        "--no-validate",
    )
    (out / appears).parent.mkdir(parents=True, exist_ok=True)
    (out / appears).write_bytes(b"a result")
    before = tree(out)

    done = held.release()

    assert done.returncode == 2
    assert done.stderr.startswith(
        f"error: {out}: while ttwriter was writing, the folder changed: {message}"
    ), done.stderr
    assert "; it was left as it is and the new configs were discarded\n" in done.stderr
    assert tree(out) == before
    assert mapping(out)["experiment"] == "small"
    assert entries(tmp_path) == ["ctl", "exp", "new", "out"]


def test_force_refuses_a_ttwriter_folder_holding_a_file_it_did_not_write(tmp_path, run_cli):
    out = tmp_path / "out"
    generate_configs(experiment(tmp_path / "exp"), output_dir=out, validate=False)
    (out / "analysis.ipynb").write_text("{}", encoding="utf-8")
    before = tree(out)

    result = run_cli(str(tmp_path / "exp" / "experiment.yaml"), "--output-dir", str(out), "--force")

    assert result.code == 2
    assert result.err == (
        f"error: {out}: output folder holds analysis.ipynb, which ttwriter did not write; --force "
        "replaces only ttwriter's own files\n"
        "  fix: move them out of the folder first, or choose another --output-dir\n"
    )
    assert tree(out) == before


# --- signals and killed processes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "signum, code, said",
    [
        (signal.SIGTERM, 143, "interrupted by SIGTERM; nothing was written\n"),
        (signal.SIGINT, 130, "interrupted; nothing was written\n"),
        (signal.SIGHUP, 129, "interrupted by SIGHUP; nothing was written\n"),
    ],
    ids=["SIGTERM", "SIGINT", "SIGHUP"],
)
def test_a_signal_mid_generation_leaves_nothing_behind(tmp_path, signum, code, said):
    source = experiment(tmp_path / "exp")
    out = tmp_path / "new1" / "new2" / "out"
    held = Held(tmp_path / "ctl", str(source), "--output-dir", str(out), "--no-validate")
    assert entries(out.parent) == [".out.ttwriter-lock", *[n for n in entries(out.parent) if "-tmp-" in n]]

    done = held.send(signum)

    assert (done.returncode, done.stderr) == (code, said)
    assert entries(tmp_path) == ["ctl", "exp"]


def test_a_signal_during_the_commit_waits_for_it_and_says_the_folder_is_written(
    tmp_path, run_cli, monkeypatch
):
    from ttwriter.folder import claim as folder_claim

    release = folder_claim.release

    def signalled_mid_commit(lock, record):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the folder is being put in place
        release(lock, record)

    monkeypatch.setattr(folder_claim, "release", signalled_mid_commit)
    out = tmp_path / "out"

    result = run_cli(str(experiment(tmp_path / "exp")), "--output-dir", str(out), "--no-validate")

    assert (result.code, result.err) == (
        130,
        f"interrupted just after the folder was complete: {out}/ is written\n",
    )
    assert mapping(out)["n_runs"] == 2 and len(entries(out / "configs")) == 2
    assert entries(tmp_path) == ["exp", "out"]


def test_the_next_generation_removes_what_a_killed_one_left(tmp_path):
    source = experiment(tmp_path / "exp")
    outputs = tmp_path / "outputs"
    held = Held(tmp_path / "ctl", str(source), "--output-dir", str(outputs / "a"), "--no-validate")
    done = held.send(signal.SIGKILL)
    left = entries(outputs)

    after_other = ttwriter(str(source), "--output-dir", str(outputs / "b"), "--no-validate")
    after_same = ttwriter(str(source), "--output-dir", str(outputs / "a"), "--no-validate")

    assert done.returncode == -signal.SIGKILL
    assert left[0] == ".a.ttwriter-lock" and left[1].startswith(f".a.ttwriter-tmp-{held.process.pid}@{HOST}.")
    assert after_other.returncode == 0 and after_same.returncode == 0, after_other.stderr + after_same.stderr
    assert entries(outputs) == ["a", "b"]


def test_a_folder_set_aside_by_a_killed_force_regeneration_is_put_back(tmp_path):
    parent = tmp_path / "outputs"
    first = generate_configs(experiment(tmp_path / "exp"), output_dir=parent / "x", validate=False)
    before = tree(first.experiment_dir)
    aside = parent / f".x.ttwriter-old-{dead_pid()}@{HOST}.abc123"
    first.experiment_dir.rename(aside)  # killed between moving the old folder aside and the new in

    result = generate_configs(experiment(tmp_path / "exp"), output_dir=parent / "y", validate=False)

    assert tree(parent / "x") == before
    assert f"put back {parent / 'x'}, left aside by an interrupted ttwriter" in result.notes
    assert entries(parent) == ["x", "y"]


def test_a_replaced_folder_left_by_a_killed_force_regeneration_is_removed(tmp_path):
    parent = tmp_path / "outputs"
    old = generate_configs(experiment(tmp_path / "exp"), output_dir=parent / "old", validate=False)
    generate_configs(experiment(tmp_path / "exp"), output_dir=parent / "x", validate=False)
    aside = parent / f".x.ttwriter-old-{dead_pid()}@{HOST}.abc123"
    old.experiment_dir.rename(aside)  # killed after the new x was in place, before tidying up

    generate_configs(experiment(tmp_path / "exp"), output_dir=parent / "y", validate=False)

    assert entries(parent) == ["x", "y"]


def test_a_lock_of_another_host_is_never_taken_over(tmp_path, run_cli):
    out = tmp_path / "out"
    lock = lock_path(out)
    lock.write_text(json.dumps({"pid": dead_pid(), "host": "elsewhere", "started": "2026-01-02 03:04:05"}))

    result = run_cli(str(experiment(tmp_path / "exp")), "--output-dir", str(out), "--no-validate")

    assert result.code == 2
    assert f"another ttwriter (pid {json.loads(lock.read_text())['pid']} on elsewhere, since " in result.err
    assert entries(tmp_path) == [".out.ttwriter-lock", "exp"]


def test_an_error_after_the_claim_removes_the_parent_folders_it_created(tmp_path):
    broken = Experiment(name="nl", base_config=BASE, output_dir=str(tmp_path / "new1" / "new2" / "a\nb"))

    with pytest.raises(SlurmError, match="contains a line break"):
        generate_configs(broken, validate=False)

    assert entries(tmp_path) == []


def test_an_interruption_removes_the_parent_folders_it_created(tmp_path):
    def interrupt(stage, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_configs(
            experiment(tmp_path / "exp"), output_dir=tmp_path / "new1" / "new2" / "o", progress=interrupt
        )

    assert entries(tmp_path) == ["exp"]


# --- file-system faults --------------------------------------------------------------------------


def test_a_disk_that_fills_up_mid_write_exits_2_and_leaves_nothing(tmp_path, tmpfs, run_cli):
    disk = tmpfs(tmp_path / "disk", size="192k")
    source = experiment(tmp_path / "exp", SMALL.replace("[8, 16]", str(list(range(1, 120)))))

    result = run_cli(str(source), "--output-dir", str(disk / "new" / "out"), "--no-validate")

    assert result.code == 2
    assert result.err.startswith(f"error: {disk / 'new' / 'out'}: writing the output folder failed (")
    written = re.escape(str(disk / "new" / "out"))
    assert re.search(
        rf"\({written}/(configs/run_\d+\.yaml|run_mapping\.yaml): No space left on device\); ", result.err
    )
    assert "); nothing was left behind\n" in result.err
    assert f"  fix: free space on the disk of {disk / 'new'} (or raise your quota)" in result.err
    assert entries(disk) == []


def _same_failure(run_cli, tmp_path, source: Path, out: Path, *flags: str) -> str:
    """Run the dry run and the real run; both must fail alike and change nothing."""
    before = tree(tmp_path)
    dry = run_cli(str(source), "--output-dir", str(out), "--dry-run", *flags)
    real = run_cli(str(source), "--output-dir", str(out), "--no-validate", *flags)
    assert (dry.code, real.code) == (2, 2), dry.err + real.err
    assert dry.err == real.err
    assert tree(tmp_path) == before
    return real.err


@pytest.mark.parametrize(
    "make_out, says",
    [
        (
            lambda tmp: tmp / ("x" * 300),
            "the name xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... is 300 bytes long",
        ),
        (lambda tmp: tmp.joinpath(*["d" * 200] * 21), "this file system allows 4095"),
        (lambda tmp: tmp / "afile" / "out", "cannot create the output folder: {tmp}/afile is a file"),
        (lambda tmp: tmp / "afile", "output path exists and is not a folder"),
    ],
    ids=["name too long", "path too long", "a file on the way", "a file"],
)
def test_the_dry_run_fails_where_the_real_run_would(tmp_path, run_cli, make_out, says):
    source = experiment(tmp_path / "exp")
    (tmp_path / "afile").write_text("a file", encoding="utf-8")

    err = _same_failure(run_cli, tmp_path, source, make_out(tmp_path))

    assert says.replace("{tmp}", str(tmp_path)) in err


def test_the_dry_run_counts_the_longest_file_the_folder_will_hold(tmp_path, run_cli):
    """The folder's own path fits; the copy of a base config with a long name would not."""
    base = tmp_path / ("b" * 200 + ".yaml")
    shutil.copy(resolve_config_name(BASE).path, base)
    source = experiment(tmp_path / "exp", f"experiment_name: long\nbase_config_file: {base}\n")
    out = tmp_path
    while len(str(out)) < 3950 - 200:
        out = out / ("d" * 200)
    out = out / ("e" * (3950 - len(str(out)) - 1))

    err = _same_failure(run_cli, tmp_path, source, out)

    assert "cannot create the output folder: its files would have paths of " in err


def test_the_dry_run_fails_like_the_real_run_while_another_generation_writes(tmp_path, run_cli):
    out = tmp_path / "out"
    with AtomicFolder(out, force=False):
        err = _same_failure(run_cli, tmp_path, experiment(tmp_path / "exp"), out)
    assert f"error: {out}: another ttwriter (pid {os.getpid()} on {HOST}, since " in err


def test_a_read_only_parent_fails_alike_in_the_dry_run_and_the_real_run(tmp_path, tmpfs, run_cli):
    source = experiment(tmp_path / "exp")
    read_only = tmpfs(tmp_path / "ro", read_only=True)

    err = _same_failure(run_cli, tmp_path, source, read_only / "new" / "out")

    assert err == (
        f"error: {read_only / 'new' / 'out'}: cannot create the output folder: {read_only} is on a "
        "read-only file system\n  fix: choose an --output-dir in a folder you can write to\n"
    )


def test_a_writable_folder_in_a_read_only_one_is_refused_with_a_folder_inside_as_the_fix(
    tmp_path, tmpfs, run_cli
):
    source = experiment(tmp_path / "exp")
    parent = tmpfs(tmp_path / "shared")
    (parent / "mine").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(parent)], check=True)
    mine = tmpfs(parent / "mine")  # a writable folder of its own, in a folder that is not

    err = _same_failure(run_cli, tmp_path, source, mine)
    inside = run_cli(str(source), "--output-dir", str(mine / "sweep"), "--no-validate")

    assert err == (
        f"error: {mine}: cannot create the output folder: {parent} is on a read-only file system\n"
        f"  fix: write into a folder inside it: --output-dir {mine / 'sweep'}\n"
    )
    assert inside.code == 0 and (mine / "sweep" / MAPPING_FILE).is_file()


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["empty", "an earlier output, --force"])
def test_an_output_folder_that_is_a_mount_point_fails_alike_in_both_runs(tmp_path, tmpfs, run_cli, force):
    source = experiment(tmp_path / "exp")
    mount = tmpfs(tmp_path / "mnt")
    if force:  # an earlier output in it: only a rename could replace it, and a mount cannot move
        for name in (SNAPSHOT_FILE, MAPPING_FILE):
            (mount / name).write_text("{}", encoding="utf-8")

    err = _same_failure(run_cli, tmp_path, source, mount, *force)

    assert err == (
        f"error: {mount}: the output folder is a mount point, and ttwriter puts a finished folder in "
        "place by renaming it, which a mount point does not allow\n"
        f"  fix: choose a folder inside it, e.g. --output-dir {mount / 'sweep'}\n"
    )


def test_a_path_that_fits_exactly_is_written(tmp_path):
    """The length checks are the file system's, not stricter: a 255-byte name is fine."""
    out = tmp_path / ("y" * 255)

    result = generate_configs(experiment(tmp_path / "exp"), output_dir=out, validate=False)

    assert (result.experiment_dir / MAPPING_FILE).is_file()
    assert entries(tmp_path) == ["exp", "y" * 255]


def test_a_folder_write_error_is_an_output_write_error(tmp_path, tmpfs):
    disk = tmpfs(tmp_path / "disk", size="64k")
    source = experiment(tmp_path / "exp", SMALL.replace("[8, 16]", str(list(range(1, 60)))))

    with pytest.raises(OutputWriteError) as info:
        generate_configs(source, output_dir=disk / "out", validate=False)

    assert not isinstance(info.value, OutputExistsError)
    assert info.value.file == str(disk / "out")
