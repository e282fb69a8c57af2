"""family.scaffold: the next file of a family, which loads and makes its parent's runs, and never
replaces anything."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import LLAMA_1B
from tests.family.sources import base_src, child_src, write_family
from ttwriter import LineageError, load_experiment
from ttwriter.errors import ExperimentLoadError, OutputExistsError
from ttwriter.family import scaffold
from ttwriter.family.compare import compare, config_diff, plan_for_comparison
from ttwriter.family.scaffold import new_experiment


@pytest.fixture
def llama(tmp_path):
    """A copy of the shipped family, to write into."""
    return shutil.copytree(LLAMA_1B, tmp_path / "llama_1b")


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_new_file_takes_the_next_id_derives_from_its_parent_and_makes_the_same_runs(llama):
    made = new_experiment(llama / "rank_x_lr_03_02.py", "warmup")

    assert made.path == llama / "warmup_04_03.py"
    assert (made.id, made.parent.path.name, made.n_runs) == ("04", "rank_x_lr_03_02.py", 6)
    parent = plan_for_comparison(load_experiment(llama / "rank_x_lr_03_02.py"))
    child = plan_for_comparison(load_experiment(made.path))
    assert [c.key for c in compare(parent, child)] == ["name"]
    assert [r.params for r in child.runs()] == [r.params for r in parent.runs()]
    assert config_diff(parent, child, "a", "b") == []
    assert load_experiment(made.path).lineage == (
        "baseline_01_01.py",
        "lora_rank_02_01.py",
        "rank_x_lr_03_02.py",
        "warmup_04_03.py",
    )


def test_the_new_file_shows_where_to_change_variables_and_controls(llama):
    text = new_experiment(llama / "lora_rank_02_01.py", "alpha").path.read_text(encoding="utf-8")

    assert "from lora_rank_02_01 import experiment as parent\n" in text
    assert 'experiment = replace(\n    parent,\n    name="alpha",\n' in text
    assert "    # The parent sweeps lora_rank [8, 16, 32, 64].\n" in text
    assert '    # variables={**parent.variables, "lora_rank": [8, 16, 32, 64]},\n' in text
    assert "    # The parent sets learning_rate, epochs, batch_size, dataset, lora_alpha.\n" in text
    assert '    # controls={**parent.controls, "learning_rate": 0.0003},\n' in text


def test_uncommenting_the_examples_gives_a_valid_experiment(llama):
    made = new_experiment(llama / "baseline_01_01.py", "first")
    text = made.path.read_text(encoding="utf-8")
    made.path.write_text(
        text.replace("    # variables=", "    variables=").replace("    # controls=", "    controls=")
    )

    assert load_experiment(made.path).experiment.variables == {"learning_rate": (0.0003,)}


@pytest.mark.parametrize("style", ["sibling", "package"])
def test_the_import_style_is_the_parents_and_non_identifier_folders_work(tmp_path, style):
    folder = tmp_path / ("qwen_0.5b" if style == "sibling" else "experiments/sft/qwen")
    prefix = "" if style == "sibling" else "experiments.sft.qwen."
    fam = write_family(
        folder, {"baseline_01_01.py": base_src(), "lora_02_01.py": child_src(f"{prefix}baseline_01_01")}
    )

    made = new_experiment(fam / "lora_02_01.py", "next")

    assert f"from {prefix}lora_02_01 import experiment as parent\n" in made.path.read_text(encoding="utf-8")
    assert load_experiment(made.path).experiment.name == "next"


def test_a_base_parent_is_imported_as_a_sibling(tmp_path):
    fam = write_family(tmp_path / "experiments" / "fam", {"baseline_01_01.py": base_src()})

    made = new_experiment(fam / "baseline_01_01.py", "next")

    assert made.path.name == "next_02_01.py"
    assert "from baseline_01_01 import experiment as parent\n" in made.path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "names, parent, expected",
    [
        (["base_1_1.py"], "base_1_1.py", "n_2_1.py"),
        (["base_001_001.py", "x_2_1.py"], "x_2_1.py", "n_003_002.py"),
        (["baseline_01_01.py", "orphan_04_07.py"], "baseline_01_01.py", "n_08_01.py"),
    ],
)
def test_the_next_id_is_padded_as_the_family_pads(tmp_path, names, parent, expected):
    sources = {name: base_src() if name.startswith("base") else child_src(names[0][:-3]) for name in names}
    fam = write_family(tmp_path / "fam", sources)

    assert new_experiment(fam / parent, "n").path.name == expected


@pytest.mark.parametrize("kind", ["file", "dangling link", "folder"])
def test_an_existing_entry_of_that_name_is_never_replaced(llama, monkeypatch, kind):
    target = llama / "next_04_03.py"
    if kind == "file":  # one that no scan saw: written between the scan and the write
        write = scaffold.write_new_file
        monkeypatch.setattr(scaffold, "write_new_file", lambda p, t: (p.write_text("mine\n"), write(p, t))[1])
    elif kind == "dangling link":
        target.symlink_to(llama / "nowhere.py")
    else:
        target.mkdir()

    with pytest.raises(OutputExistsError) as info:
        new_experiment(llama / "rank_x_lr_03_02.py", "next")

    assert info.value.message == "next_04_03.py is already there; it is never replaced"
    assert info.value.fix == "give another --name, or move that file away first"
    if kind == "file":
        assert target.read_text() == "mine\n"
    elif kind == "dangling link":
        assert os.readlink(target) == str(llama / "nowhere.py")
    assert not (llama / "nowhere.py").exists()
    assert [n for n in files(llama) if n.startswith(".")] == []


def test_without_hard_links_the_file_is_still_created_exclusively(llama, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)

    made = new_experiment(llama / "lora_rank_02_01.py", "nolink")
    with pytest.raises(OutputExistsError):
        scaffold.write_new_file(made.path, "again\n")

    assert load_experiment(made.path).experiment.name == "nolink"
    assert [n for n in files(llama) if n.startswith(".")] == []


@pytest.mark.parametrize(
    "name, fixed", [("lora-v2", "lora_v2"), ("2lr", "exp_2lr"), ("a b", "a_b"), ("", "my_experiment")]
)
def test_a_name_that_breaks_the_pattern_is_refused_with_a_fix(llama, name, fixed):
    before = files(llama)

    with pytest.raises(LineageError) as info:
        new_experiment(llama / "lora_rank_02_01.py", name)

    assert info.value.message == f"name {name!r} cannot be the <name> of a file name <name>_<id>_<parent>.py"
    assert info.value.fix == f"use letters, digits and '_' only, not starting with a digit: e.g. {fixed!r}"
    assert files(llama) == before


def test_a_parent_whose_lineage_is_broken_gets_no_child(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {"baseline_01_01.py": base_src(), "lora_02_01.py": base_src("lora"), "x_03_03.py": base_src("x")},
    )

    with pytest.raises(
        LineageError, match="lora_02_01.py declares parent baseline_01_01.py but does not import it"
    ):
        new_experiment(fam / "lora_02_01.py", "next")

    assert files(fam) == ["baseline_01_01.py", "lora_02_01.py", "x_03_03.py"]


def test_a_parent_that_does_not_load_gets_no_child(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": "raise ValueError('broken')\n"})

    with pytest.raises(ExperimentLoadError, match="ValueError: broken"):
        new_experiment(fam / "baseline_01_01.py", "next")

    assert files(fam) == ["baseline_01_01.py"]


def test_a_new_file_that_would_not_load_is_removed_again(llama, monkeypatch):
    broken = "from lora_rank_02_01 import experiment as parent\nraise RuntimeError('bad text')\n"
    monkeypatch.setattr(scaffold, "scaffold_text", lambda *args: broken)

    with pytest.raises(ExperimentLoadError, match="bad text"):
        new_experiment(llama / "lora_rank_02_01.py", "next")

    assert files(llama) == ["baseline_01_01.py", "lora_rank_02_01.py", "rank_x_lr_03_02.py"]
