"""Lineage from file names alone: a family folder is scanned and followed without running a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttwriter import LineageError
from ttwriter.experiment.lineage import chain_to_base, check_imports, parse_file_name, scan_folder

NEVER_RUN = "raise SystemExit('this file must not be executed')\n"


def family(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return scan_folder(tmp_path)


def test_the_chain_runs_from_the_base_to_the_file_without_executing_any(tmp_path):
    by_id = family(
        tmp_path,
        {
            "baseline_01_01.py": NEVER_RUN,
            "lora_02_01.py": "from baseline_01_01 import experiment as parent\n" + NEVER_RUN,
            "rank_03_02.py": "from lora_02_01 import experiment as parent\n" + NEVER_RUN,
            "common.py": NEVER_RUN,
        },
    )

    chain = chain_to_base(parse_file_name(tmp_path / "rank_03_02.py"), by_id)
    for file in chain:
        check_imports(file, by_id)

    assert [f.path.name for f in chain] == ["baseline_01_01.py", "lora_02_01.py", "rank_03_02.py"]
    assert sorted(by_id) == [1, 2, 3]


def test_a_child_that_imports_another_sibling_than_its_parent_is_named(tmp_path):
    by_id = family(
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
        check_imports(by_id[3], by_id)


def test_a_name_outside_the_pattern_is_not_part_of_the_family():
    assert parse_file_name(Path("lora-v2.py")) is None
