"""What torchtune ships, read without importing torch: recipes, the keys they read, `tune`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ttwriter.registry import (
    add_tune_to_path,
    is_distributed,
    recipe_keys,
    shipped_configs,
    shipped_recipes,
    torchtune_root,
)


def test_a_shipped_recipe_requires_what_it_reads_without_a_default():
    keys = recipe_keys("lora_finetune_single_device")
    assert {"batch_size", "epochs", "model", "optimizer", "tokenizer"} <= keys.required
    assert "clip_grad_norm" in keys.reads - keys.required  # cfg.get("clip_grad_norm", None)


def test_keys_named_by_imported_constants_count_as_read():
    # lora_finetune_distributed reads cfg.get(PROFILER_KEY, None), PROFILER_KEY = "profiler"
    assert "profiler" in recipe_keys("lora_finetune_distributed").reads


def test_a_users_recipe_file_is_read_too(tmp_path):
    recipe = tmp_path / "r.py"
    recipe.write_text(
        "KEY = 'warmup'\n"
        "def main(cfg):\n"
        "    if 'tag' in cfg:\n"
        "        print(cfg.tag)\n"
        "    return cfg['model'], cfg.get(KEY), getattr(cfg, 'x', 1)\n"
    )
    keys = recipe_keys(str(recipe))
    assert keys.required == {"model"}
    assert keys.reads == {"model", "warmup", "tag", "x"}


def test_an_unknown_recipe_has_no_keys():
    assert recipe_keys("no_such_recipe") is None


def test_keys_named_by_imported_constants_are_missed_when_nothing_may_be_imported():
    keys = recipe_keys("lora_finetune_distributed", follow_imports=False)

    assert "profiler" not in keys.reads
    assert {"epochs", "max_steps_per_epoch", "compile"} <= keys.reads


def test_reading_what_a_recipe_reads_without_following_imports_imports_no_torch():
    script = (
        "import sys\n"
        "from ttwriter.registry import recipe_keys\n"
        "assert recipe_keys('lora_finetune_distributed', follow_imports=False)\n"
        "print(sorted(m for m in ('torch', 'torchtune') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("recipe", "distributed"),
    [
        ("lora_finetune_single_device", False),
        ("lora_finetune_distributed", True),
        ("/home/me/my_distributed_recipe.py", True),
        ("/home/me/my_recipe.py", False),
        ("no_such_recipe", False),
        (None, False),
    ],
)
def test_which_recipes_are_distributed(recipe, distributed):
    assert is_distributed(recipe) is distributed


def test_every_shipped_recipe_has_its_source_next_to_torchtune():
    recipes = torchtune_root().parent / "recipes"

    assert all((recipes / f"{name}.py").is_file() for name in shipped_recipes())


def fake_tune(folder: Path) -> Path:
    folder.mkdir()
    tune = folder / "tune"
    tune.write_text("#!/bin/sh\n")
    tune.chmod(0o755)
    return folder


def test_tune_next_to_this_python_goes_first_on_a_path_without_it(tmp_path, monkeypatch):
    here = fake_tune(tmp_path / "venv_bin")
    monkeypatch.setattr(sys, "executable", str(here / "python"))
    env = {"PATH": str(tmp_path / "empty")}

    added = add_tune_to_path(env)

    assert added == str(here)
    assert env["PATH"] == os.pathsep.join([str(here), str(tmp_path / "empty")])


def test_a_path_that_finds_tune_is_left_alone(tmp_path, monkeypatch):
    here = fake_tune(tmp_path / "venv_bin")
    other = fake_tune(tmp_path / "other_bin")
    monkeypatch.setattr(sys, "executable", str(here / "python"))
    env = {"PATH": str(other)}

    assert add_tune_to_path(env) is None
    assert env == {"PATH": str(other)}


def test_an_empty_path_gets_the_folder_alone(tmp_path, monkeypatch):
    here = fake_tune(tmp_path / "venv_bin")
    monkeypatch.setattr(sys, "executable", str(here / "python"))
    env: dict[str, str] = {}

    add_tune_to_path(env)

    assert env == {"PATH": str(here)}


def test_the_registry_lists_every_config_tune_ls_prints():
    installed = [c for c in shipped_configs().values() if c.path.is_file()]

    assert len(shipped_configs()) == 156
    assert len(installed) == 155  # torchtune 0.6.1 does not ship llama2/7B_full_early_exit's YAML
