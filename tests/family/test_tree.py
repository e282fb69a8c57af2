"""family.tree: every file of a family under its parent; broken files flagged, never hiding the rest."""

from __future__ import annotations

import pytest

from tests.conftest import LLAMA_1B
from tests.family.sources import EXECUTED, base_src, child_src, marking, write_family
from ttwriter import LineageError
from ttwriter.errors import ExperimentLoadError, UnknownKeyError
from ttwriter.family.compare import summary
from ttwriter.family.tree import family_tree


def shape(tree) -> list[tuple]:
    return [(n.depth, n.path.name, n.parent.name if n.parent else None) for n in tree.nodes]


def test_the_shipped_family_is_a_chain_with_its_runs_and_changes():
    tree = family_tree(LLAMA_1B / "rank_x_lr_03_02.py")  # any file of the folder

    assert tree.folder == LLAMA_1B
    assert shape(tree) == [
        (0, "baseline_01_01.py", None),
        (1, "lora_rank_02_01.py", "baseline_01_01.py"),
        (2, "rank_x_lr_03_02.py", "lora_rank_02_01.py"),
    ]
    assert [n.plan.n_runs for n in tree.nodes] == [1, 4, 6]
    assert tree.nodes[0].changes is None
    assert summary(list(tree.nodes[2].changes)) == (
        "variables.model.lora_rank [8, 16, 32, 64] -> [8, 32]; +variables.optimizer.lr [0.0001, 0.0003, 0.001]"
    )
    assert (tree.n_runs, tree.flagged) == (11, [])


def test_siblings_follow_their_parent_by_id_and_a_second_base_starts_its_own_tree(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "wd_03_01.py": child_src(name="wd"),
            "lora_02_01.py": child_src(name="lora"),
            "deep_04_02.py": child_src("lora_02_01", "deep"),
            "other_05_05.py": base_src("other"),
        },
    )

    assert shape(family_tree(fam)) == [
        (0, "baseline_01_01.py", None),
        (1, "lora_02_01.py", "baseline_01_01.py"),
        (2, "deep_04_02.py", "lora_02_01.py"),
        (1, "wd_03_01.py", "baseline_01_01.py"),
        (0, "other_05_05.py", None),
    ]


def test_a_duplicate_id_flags_both_files_and_the_rest_of_the_folder_loads(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(name="lora"),
            "lora2_02_01.py": child_src(name="lora2"),
            "deep_03_02.py": child_src("lora_02_01", "deep"),
            "wd_04_01.py": child_src(name="wd", changes="controls={'epochs': 2}"),
        },
    )

    tree = family_tree(fam)
    nodes = {n.path.name: n for n in tree.nodes}

    duplicate = "id 02 is used twice in this folder: lora2_02_01.py and lora_02_01.py"
    assert nodes["lora_02_01.py"].error.message == duplicate
    assert nodes["lora2_02_01.py"].error.message == duplicate
    assert nodes["deep_03_02.py"].error.message == (
        "deep_03_02.py declares parent id 02, which 2 files have: lora2_02_01.py and lora_02_01.py"
    )
    assert nodes["deep_03_02.py"].depth == 0  # no one parent to show it under
    assert [n.plan.n_runs for n in (nodes["baseline_01_01.py"], nodes["wd_04_01.py"])] == [1, 1]
    assert summary(list(nodes["wd_04_01.py"].changes)) == "controls.epochs 1 -> 2"
    assert len(tree.flagged) == 3


def test_every_kind_of_broken_file_is_flagged_with_its_own_error_and_never_executed(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "wrong_02_01.py": marking("from lora_03_01 import experiment as parent\nexperiment = parent\n"),
            "lora_03_01.py": child_src(name="lora"),
            "below_04_02.py": marking(child_src("wrong_02_01", "below")),
            "orphan_05_09.py": marking(child_src(name="orphan")),
            "a_06_07.py": marking(child_src("b_07_06", "a")),
            "b_07_06.py": marking(child_src("a_06_07", "b")),
            "lora-v2.py": marking(child_src(name="v2")),
            "common.py": "HELPER = 1\n",
        },
    )

    tree = family_tree(fam)
    nodes = {n.path.name: n for n in tree.nodes}

    assert not (fam / EXECUTED).exists()
    assert nodes["wrong_02_01.py"].error.message == (
        "wrong_02_01.py declares parent baseline_01_01.py but imports lora_03_01.py"
    )
    assert nodes["wrong_02_01.py"].error.line == 3
    assert (nodes["below_04_02.py"].blocked_by, nodes["below_04_02.py"].error) == (
        fam / "wrong_02_01.py",
        None,
    )
    assert nodes["below_04_02.py"].depth == 2
    assert nodes["orphan_05_09.py"].error.message.startswith(
        "orphan_05_09.py declares parent id 09, but no file"
    )
    assert nodes["a_06_07.py"].error.message == "lineage loops: a_06_07.py -> b_07_06.py -> a_06_07.py"
    assert nodes["b_07_06.py"].error.message == "lineage loops: b_07_06.py -> a_06_07.py -> b_07_06.py"
    assert (
        nodes["lora-v2.py"].error.message == "file name 'lora-v2.py' does not follow <name>_<id>_<parent>.py"
    )
    assert "common.py" not in nodes
    assert all(isinstance(n.error, LineageError) for n in tree.flagged if n.error)
    assert nodes["lora_03_01.py"].plan.n_runs == 1
    assert len(tree.flagged) == 6


def test_a_file_that_fails_to_load_or_to_plan_is_flagged_and_its_siblings_are_not(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "raises_02_01.py": child_src(name="raises", changes="variables=1 / 0"),
            "typo_03_01.py": child_src(name="typo", changes="controls={'lora_rnak': 8}"),
            "fine_04_01.py": child_src(name="fine", changes="variables={'lora_rank': [4, 8]}"),
        },
    )

    nodes = {n.path.name: n for n in family_tree(fam).nodes}

    assert isinstance(nodes["raises_02_01.py"].error, ExperimentLoadError)
    assert (
        nodes["raises_02_01.py"].error.message
        == "executing the experiment failed: ZeroDivisionError: division by zero"
    )
    assert isinstance(nodes["typo_03_01.py"].error, UnknownKeyError)
    assert nodes["typo_03_01.py"].error.key == "controls.lora_rnak"
    assert nodes["fine_04_01.py"].plan.n_runs == 2


@pytest.mark.parametrize("style", ["sibling", "package"])
def test_non_identifier_folders_and_both_import_styles_work(tmp_path, style):
    folder = tmp_path / ("qwen_0.5b" if style == "sibling" else "experiments/sft/qwen")
    parent = "baseline_01_01" if style == "sibling" else "experiments.sft.qwen.baseline_01_01"
    fam = write_family(folder, {"baseline_01_01.py": base_src(), "lora_02_01.py": child_src(parent, "lora")})

    tree = family_tree(fam)

    assert shape(tree) == [(0, "baseline_01_01.py", None), (1, "lora_02_01.py", "baseline_01_01.py")]
    assert tree.flagged == []


def test_a_folder_without_python_experiments_is_an_error(tmp_path):
    (tmp_path / "experiment.yaml").write_text("experiment_name: x\n", encoding="utf-8")

    with pytest.raises(
        LineageError, match=r"no Python experiment \(<name>_<id>_<parent>.py\) in this folder"
    ):
        family_tree(tmp_path)
