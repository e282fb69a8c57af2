"""lm_eval's task names without importing lm_eval: what its YAMLs declare, includes followed,
the same list its TaskManager makes, cached per install."""

from __future__ import annotations

import json
import textwrap

import pytest

from ttwriter.evaluate import lm_eval_tasks


def _write(folder, name, text):
    (folder / name).write_text(textwrap.dedent(text))
    return folder / name


def test_tasks_groups_and_tags_are_read_through_includes(tmp_path):
    _write(tmp_path, "_common_yaml", "tag:\n  - family\n  - other\ndoc_to_text: !function utils.doc\n")
    files = [
        _write(tmp_path, "a.yaml", "include: _common_yaml\ntask: alpha\n"),
        _write(tmp_path, "b.yaml", "task: beta\ntag: single\nprocess_docs: !function utils.process\n"),
        _write(tmp_path, "g.yaml", "group: both\ntask:\n  - alpha\n  - beta\n"),
        _write(tmp_path, "broken.yaml", "task: [unclosed\n"),
        _write(tmp_path, "template.yaml", "dataset_path: json\n"),
    ]
    assert lm_eval_tasks.names_in_yamls(files) == {"alpha", "beta", "both", "family", "other", "single"}


@pytest.mark.xdist_group("lm_eval")  # with the other test that asks TaskManager: imported once
def test_the_scan_finds_exactly_the_tasks_lm_evals_task_manager_knows():
    folder = lm_eval_tasks._tasks_folder()
    assert folder is not None
    scanned = lm_eval_tasks.names_in_yamls(lm_eval_tasks.yaml_files(folder))
    assert len(scanned) > 1000
    assert scanned == lm_eval_tasks.task_manager_names(None)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A small stand-in for lm_eval's tasks folder (the real one takes seconds to scan), and a
    cache folder of this test's own."""
    folder = tmp_path / "lm_eval" / "tasks"
    folder.mkdir(parents=True)
    _write(folder, "a.yaml", "task: alpha\n")
    _write(folder, "b.yaml", "task: beta\ntag: both\n")
    monkeypatch.setattr(lm_eval_tasks, "_tasks_folder", lambda: folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def test_the_list_is_cached_per_install_and_replaced_once_confirmed(installed, tmp_path, monkeypatch):
    first = lm_eval_tasks.shipped_tasks()
    assert first == lm_eval_tasks.KnownTasks(frozenset({"alpha", "beta", "both"}), False)
    (cache,) = (tmp_path / "cache" / "ttwriter").glob("lm_eval_tasks-*.json")
    assert json.loads(cache.read_text())["folder"] == str(installed)

    def no_scan(files):
        raise AssertionError("the cached list should have been used")

    monkeypatch.setattr(lm_eval_tasks, "names_in_yamls", no_scan)
    assert lm_eval_tasks.shipped_tasks() == first
    monkeypatch.setattr(lm_eval_tasks, "task_manager_names", lambda include_path: {"alpha", "only_code"})
    assert lm_eval_tasks.confirm_shipped_tasks().names == {"alpha", "only_code"}
    assert lm_eval_tasks.shipped_tasks() == lm_eval_tasks.KnownTasks(frozenset({"alpha", "only_code"}), True)


def test_an_unwritable_cache_only_costs_the_scan(installed, tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file: no folder can be made in it
    assert lm_eval_tasks.shipped_tasks().names == {"alpha", "beta", "both"}
