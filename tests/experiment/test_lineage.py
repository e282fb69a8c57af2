"""Lineage from file names alone: a family folder is scanned and followed without running a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttwriter import LineageError
from ttwriter.errors import ExperimentProblemsError
from ttwriter.experiment.lineage import check_imports, parse_file_name, scan_family

NEVER_RUN = "raise SystemExit('this file must not be executed')\n"


def scan(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return scan_family(tmp_path)


def test_the_chain_runs_from_the_base_to_the_file_without_executing_any(tmp_path):
    family = scan(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": "from baseline_01_01 import experiment as parent\n" + NEVER_RUN,
            "rank_03_02.py": "from lora_02_01 import experiment as parent\n" + NEVER_RUN,
            "common.py": NEVER_RUN,
        },
    )

    chain = family.chain(parse_file_name(tmp_path / "rank_03_02.py"))

    assert [f.path.name for f in chain] == ["baseline_01_01.py", "lora_02_01.py", "rank_03_02.py"]
    assert [f.id for f in family.files] == [1, 2, 3]
    assert family.misnamed == ()


def test_a_child_that_imports_another_sibling_than_its_parent_is_named(tmp_path):
    family = scan(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": NEVER_RUN,
            "rank_03_02.py": "from baseline_01_01 import experiment as parent\n",
        },
    )

    with pytest.raises(
        LineageError, match="rank_03_02.py declares parent lora_02_01.py but imports baseline_01_01.py"
    ):
        check_imports(family.with_id(3)[0], family)


def test_a_name_outside_the_pattern_is_not_part_of_the_family():
    assert parse_file_name(Path("lora-v2.py")) is None


def test_a_duplicate_id_is_the_problem_of_the_files_that_share_it_and_no_other(tmp_path):
    family = scan(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": "from baseline_01_01 import experiment as parent\n",
            "lora2_02_01.py": "from baseline_01_01 import experiment as parent\n",
            "rank_03_02.py": "from lora_02_01 import experiment as parent\n",
            "solo_05_05.py": NEVER_RUN,
        },
    )
    problems = {f.path.name: family.problem(f) for f in family.files}

    assert {name: p.message if p else None for name, p in problems.items()} == {
        "baseline_01_01.py": None,
        "lora2_02_01.py": "id 02 is used twice in this folder: lora2_02_01.py and lora_02_01.py",
        "lora_02_01.py": "id 02 is used twice in this folder: lora2_02_01.py and lora_02_01.py",
        "rank_03_02.py": "rank_03_02.py declares parent id 02, which 2 files have: lora2_02_01.py and lora_02_01.py",
        "solo_05_05.py": None,
    }
    assert problems["lora_02_01.py"].file == str(tmp_path / "lora_02_01.py")
    assert (
        problems["lora_02_01.py"].fix
        == "give one of them a free id (ids are scoped per folder; next free: 06)"
    )


def test_a_file_leading_into_a_loop_is_refused_for_its_ancestor(tmp_path):
    family = scan(
        tmp_path,
        {
            "a_02_03.py": "from b_03_02 import experiment as parent\n",
            "b_03_02.py": "from a_02_03 import experiment as parent\n",
            "c_04_02.py": "from a_02_03 import experiment as parent\n",
        },
    )
    a, b, c = family.files

    assert family.problem(a).message == "lineage loops: a_02_03.py -> b_03_02.py -> a_02_03.py"
    assert family.problem(b).message == "lineage loops: b_03_02.py -> a_02_03.py -> b_03_02.py"
    assert family.problem(c) is None
    assert family.broken_ancestor(c) == a
    with pytest.raises(LineageError, match="lineage loops: a_02_03.py"):
        family.chain(c)


def test_files_outside_the_pattern_count_as_misnamed_experiments_only_when_they_define_one(tmp_path):
    family = scan(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "common.py": "DATA = '/data/x.json'\n",
            "lora-v2.py": "from baseline_01_01 import experiment as parent\nexperiment = parent\n",
            "typed.py": "experiment: object = None\n",
            "broken.py": "def (:\n",
        },
    )

    assert [p.name for p in family.misnamed] == ["lora-v2.py", "typed.py"]


@pytest.mark.parametrize(
    "names, width, next_id",
    [
        (["baseline_01_01.py", "lora_02_01.py"], 2, 3),
        (["base_1_1.py", "x_2_1.py"], 1, 3),
        (["base_001_001.py", "x_2_1.py"], 3, 3),
        (["baseline_01_01.py", "orphan_04_07.py"], 2, 8),
    ],
)
def test_the_next_id_follows_every_id_and_parent_and_is_padded_as_the_family_pads(
    tmp_path, names, width, next_id
):
    family = scan(tmp_path, dict.fromkeys(names, NEVER_RUN))

    assert (family.width, family.next_id()) == (width, next_id)


def test_the_import_prefix_is_how_a_child_imports_its_parent(tmp_path):
    folder = tmp_path / "experiments" / "sft" / "fam"
    folder.mkdir(parents=True)
    family = scan(
        folder,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": "from experiments.sft.fam.baseline_01_01 import experiment as parent\n",
            "rank_03_02.py": "import dataclasses\nfrom lora_02_01 import experiment as parent\n",
        },
    )
    base, lora, rank = family.files

    assert [family.problem(f) for f in family.files] == [None, None, None]
    assert (family.import_prefix(base), family.import_prefix(lora), family.import_prefix(rank)) == (
        "",
        "experiments.sft.fam",
        "",
    )


def test_loading_a_file_reports_the_problems_of_its_whole_chain_together(tmp_path):
    family = scan(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": "from rank_03_02 import experiment as parent\n",
            "rank_03_02.py": NEVER_RUN,
        },
    )

    with pytest.raises(ExperimentProblemsError) as info:
        family.chain(family.with_id(3)[0])

    assert [p.message for p in info.value.problems] == [
        "rank_03_02.py declares parent lora_02_01.py but does not import it",
        "lora_02_01.py declares parent baseline_01_01.py but imports rank_03_02.py",
    ]
