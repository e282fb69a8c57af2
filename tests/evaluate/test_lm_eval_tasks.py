"""lm_eval's task names without importing lm_eval: what its YAMLs declare, includes followed,
the same list its TaskManager makes, cached per install."""

from __future__ import annotations

import json
import textwrap

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


def test_the_scan_finds_exactly_the_tasks_lm_evals_task_manager_knows():
    folder = lm_eval_tasks._tasks_folder()
    assert folder is not None
    scanned = lm_eval_tasks.names_in_yamls(lm_eval_tasks.yaml_files(folder))
    assert len(scanned) > 1000
    assert scanned == lm_eval_tasks.task_manager_names(None)


def test_the_list_is_cached_per_install_and_replaced_once_confirmed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = lm_eval_tasks.shipped_tasks()
    (cache,) = (tmp_path / "ttwriter").glob("lm_eval_tasks-*.json")
    assert json.loads(cache.read_text())["confirmed"] is False
    assert "hellaswag" in first.names

    def no_scan(files):
        raise AssertionError("the cached list should have been used")

    monkeypatch.setattr(lm_eval_tasks, "names_in_yamls", no_scan)
    assert lm_eval_tasks.shipped_tasks() == first
    monkeypatch.setattr(lm_eval_tasks, "task_manager_names", lambda include_path: {"hellaswag", "only_code"})
    assert lm_eval_tasks.confirm_shipped_tasks().names == {"hellaswag", "only_code"}
    assert lm_eval_tasks.shipped_tasks() == lm_eval_tasks.KnownTasks(
        frozenset({"hellaswag", "only_code"}), True
    )


def test_an_unwritable_cache_only_costs_the_scan(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file: no folder can be made in it
    assert "hellaswag" in lm_eval_tasks.shipped_tasks().names
