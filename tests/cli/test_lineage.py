"""`ttwriter tree`, `diff` and `new`: what they print (golden files of the shipped family
experiments/sft/llama_1b/ in tests/golden/lineage/) and their exit codes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import LLAMA_1B, REPO, YAML_EXAMPLE
from tests.family.sources import base_src, child_src, write_family
from tests.test_golden import check_golden, normalise
from ttwriter.cli.main import main

FAMILY = "experiments/sft/llama_1b"
"""The shipped family as the README's commands type it, from the repository root."""


@pytest.fixture
def at_repo(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """A copy of the shipped family at the same relative path, in a folder of its own."""
    shutil.copytree(LLAMA_1B, tmp_path / FAMILY)
    monkeypatch.chdir(tmp_path)
    return tmp_path / FAMILY


# --- tree -----------------------------------------------------------------------------------------


def test_tree_of_the_shipped_family(run_cli, at_repo):
    result = run_cli("tree", FAMILY)

    assert (result.code, result.err) == (0, "")
    check_golden("lineage/tree.txt", result.out)


def test_tree_as_json_for_scripts(run_cli, at_repo):
    result = run_cli("tree", f"{FAMILY}/lora_rank_02_01.py", "--json")

    assert (result.code, result.err) == (0, "")
    data = json.loads(result.out)
    assert [(f["file"], f["depth"], f["runs"]) for f in data["files"]] == [
        ("baseline_01_01.py", 0, 1),
        ("lora_rank_02_01.py", 1, 4),
        ("rank_x_lr_03_02.py", 2, 6),
    ]
    assert (data["runs"], data["flagged"]) == (11, 0)
    check_golden("lineage/tree.json", normalise(result.out, REPO=REPO))


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """A family where a duplicate id breaks two files and an orphan a third; a second base and
    its child are unrelated to them."""
    monkeypatch.chdir(tmp_path)
    return write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(name="lora"),
            "lora2_02_01.py": child_src(name="lora2"),
            "orphan_03_09.py": child_src(name="orphan"),
            "solo_04_04.py": base_src("solo", variables="{'lora_rank': [4, 8]}"),
            "wd_05_04.py": child_src(
                "solo_04_04", "wd", "variables={**parent.variables, 'weight_decay': [0.0, 0.01]}"
            ),
        },
    )


def test_tree_flags_broken_files_shows_the_rest_and_exits_1(run_cli, broken):
    result = run_cli("tree", "fam")

    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        "fam/: 6 experiments, 7 runs; 3 flagged",
        "baseline_01_01.py  baseline  1 run   base: llama3_2/1B_lora_single_device",
        "├─ lora2_02_01.py  error: id 02 is used twice in this folder: lora2_02_01.py and lora_02_01.py",
        "│                    fix: give one of them a free id (ids are scoped per folder; next free: 10)",
        "└─ lora_02_01.py   error: id 02 is used twice in this folder: lora2_02_01.py and lora_02_01.py",
        "                     fix: give one of them a free id (ids are scoped per folder; next free: 10)",
        f"orphan_03_09.py    error: orphan_03_09.py declares parent id 09, but no file in {broken} has id 09 "
        "(files: baseline_01_01.py, lora2_02_01.py, lora_02_01.py, orphan_03_09.py, solo_04_04.py, wd_05_04.py)",
        "                     fix: rename the file so its last number is the id of the file it derives from",
        "solo_04_04.py      solo      2 runs  base: llama3_2/1B_lora_single_device",
        "└─ wd_05_04.py     wd        4 runs  +variables.optimizer.weight_decay [0.0, 0.01]",
        "3 of 6 files flagged: ttwriter refuses to load them until they are fixed",
    ]


def test_tree_draws_with_ascii_where_the_terminal_cannot_print_box_characters(broken):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")

    code = main(["tree", "fam"], out=out, err=io.StringIO())
    out.flush()

    assert code == 1
    assert "|- lora2_02_01.py" in raw.getvalue().decode("ascii")
    assert "`- wd_05_04.py" in raw.getvalue().decode("ascii")


def test_tree_of_a_folder_without_python_experiments_is_bad_input(run_cli, at_repo):
    result = run_cli("tree", str(YAML_EXAMPLE.parent))

    assert (result.code, result.out) == (2, "")
    assert "no Python experiment (<name>_<id>_<parent>.py) in this folder" in result.err


# --- diff -----------------------------------------------------------------------------------------


def test_diff_against_the_parent(run_cli, at_repo):
    result = run_cli("diff", f"{FAMILY}/lora_rank_02_01.py")

    assert (result.code, result.err) == (1, "")
    check_golden("lineage/diff.txt", result.out)


def test_diff_with_the_first_runs_configs(run_cli, at_repo):
    result = run_cli("diff", f"{FAMILY}/rank_x_lr_03_02.py", "--configs")

    assert (result.code, result.err) == (1, "")
    check_golden("lineage/diff_configs.txt", result.out)


def test_diff_exits_0_when_the_experiments_are_the_same_as_written_in_any_format(run_cli, at_repo):
    result = run_cli("diff", f"{FAMILY}/lora_rank_02_01.py", str(YAML_EXAMPLE.relative_to(REPO)), "--configs")

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"{FAMILY}/lora_rank_02_01.py against experiments/yaml/lora_rank/experiment.yaml: no differences\n"
        "config of the first run: the same\n"
    )


def test_diff_against_a_snapshot_names_what_the_snapshot_pinned(run_cli, at_repo, tmp_path):
    folder = tmp_path / "out"
    assert run_cli(f"{FAMILY}/lora_rank_02_01.py", "--no-validate", "--output-dir", str(folder)).code == 0

    result = run_cli("diff", str(folder / "experiment.json"), f"{FAMILY}/lora_rank_02_01.py", "--configs")

    assert result.code == 1
    assert result.out.splitlines() == [
        f"{folder}/experiment.json against {FAMILY}/lora_rank_02_01.py: 1 difference",
        f"  output_dir: None -> {str(folder)!r}",
        "runs: 4 in both",
        "config of the first run: the same",
    ]


@pytest.mark.parametrize(
    "file, message",
    [
        (f"{FAMILY}/baseline_01_01.py", "is a base (parent == id): it has no parent to compare with"),
        (
            "experiments/yaml/lora_rank/experiment.yaml",
            "is an experiment.yaml: only a Python experiment's file name names a parent",
        ),
    ],
)
def test_diff_without_other_needs_a_parent(run_cli, at_repo, file, message):
    result = run_cli("diff", file)

    assert (result.code, result.out) == (2, "")
    assert (
        result.err
        == f"error: {file} {message}\n  fix: name the experiment to compare with: ttwriter diff {file} OTHER\n"
    )


# --- new ------------------------------------------------------------------------------------------


def test_new_writes_the_next_file_of_the_family(run_cli, copied):
    result = run_cli("new", f"{FAMILY}/rank_x_lr_03_02.py", "--name", "warmup")

    assert (result.code, result.err) == (0, "")
    check_golden("lineage/new.txt", result.out)
    check_golden("lineage/warmup_04_03.py.txt", (copied / "warmup_04_03.py").read_text(encoding="utf-8"))
    diffed = run_cli("diff", f"{FAMILY}/warmup_04_03.py", "--configs")
    assert diffed.out.splitlines() == [
        "warmup_04_03.py against its parent rank_x_lr_03_02.py: 1 difference",
        "  name: 'rank_x_lr' -> 'warmup'",
        "runs: 6 in both",
        "config of the first run: the same",
    ]


def test_new_never_replaces_what_is_there(run_cli, copied):
    (copied / "warmup_04_03.py").symlink_to("elsewhere.py")

    result = run_cli("new", f"{FAMILY}/rank_x_lr_03_02.py", "--name", "warmup")

    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: {copied}/warmup_04_03.py: warmup_04_03.py is already there; it is never replaced\n"
        "  fix: give another --name, or move that file away first\n"
    )
    assert not (copied / "elsewhere.py").exists()


def test_new_refuses_a_name_that_breaks_the_pattern(run_cli, copied):
    result = run_cli("new", f"{FAMILY}/rank_x_lr_03_02.py", "--name", "warm-up")

    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: name 'warm-up' cannot be the <name> of a file name <name>_<id>_<parent>.py\n"
        "  fix: use letters, digits and '_' only, not starting with a digit: e.g. 'warm_up'\n"
    )
    assert sorted(p.name for p in copied.iterdir()) == sorted(p.name for p in LLAMA_1B.iterdir())


# --- no torch -------------------------------------------------------------------------------------


def test_the_lineage_commands_never_import_torch(copied):
    script = (
        "import io, sys\n"
        "from ttwriter.cli.main import main\n"
        "codes = [main(argv, out=io.StringIO(), err=io.StringIO()) for argv in (\n"
        f"    ['tree', {FAMILY!r}],\n"
        f"    ['diff', '{FAMILY}/rank_x_lr_03_02.py', '--configs'],\n"
        f"    ['new', '{FAMILY}/rank_x_lr_03_02.py', '--name', 'next'],\n"
        ")]\n"
        "print(codes, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchtune', 'torchao')))\n"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert done.stdout.splitlines()[-1] == "[0, 1, 0] []"
    assert (copied / "next_04_03.py").is_file()


def test_tree_names_every_problem_of_a_flagged_file_with_its_fix(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "typo_02_01.py": child_src(name="typo", changes="controls={'lora_rnak': 8, 'epochz': 2}"),
        },
    )

    result = run_cli("tree", "fam")

    assert result.code == 1
    assert result.out.splitlines()[2:6] == [
        "└─ typo_02_01.py   error: line 5: controls.lora_rnak: key 'lora_rnak' is not in the base config; "
        "did you mean 'lora_rank' or 'lora_alpha'?",
        "                     fix: fix the spelling, or write '+lora_rnak' to add a new key on purpose",
        "                   error: line 5: controls.epochz: key 'epochz' is not in the base config; did you mean 'epochs'?",
        "                     fix: fix the spelling, or write '+epochz' to add a new key on purpose",
    ]
