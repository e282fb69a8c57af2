"""Finding the base config: torchtune's registry by name, or a YAML file of the researcher's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ttwriter import BaseConfigNotFoundError, ExperimentLoadError
from ttwriter.registry import shipped_configs, shipped_recipes
from ttwriter.sweep.base_config import load_base_config, resolve_config_name

NAME = "llama3_2/1B_lora_single_device"
INSTALLED = sorted(n for n, c in shipped_configs().items() if c.path.is_file())
NOT_INSTALLED = sorted(n for n, c in shipped_configs().items() if not c.path.is_file())
NO_RUN_COMMAND = {"llama3_3/70B_full_multinode"}
"""Shipped configs whose header has no `tune run` line (it launches with sbatch)."""


def test_resolving_and_loading_a_config_does_not_import_torch(tmp_path):
    (tmp_path / "mine.yaml").write_text("epochs: 1\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from ttwriter.registry import shipped_configs
        from ttwriter.sweep.base_config import load_base_config
        assert len(shipped_configs()) > 100
        load_base_config({NAME!r}, None, None, Path("."))
        load_base_config(None, "mine.yaml", "full_finetune_single_device", Path({str(tmp_path)!r}))
        print(sorted(m for m in ("torch", "torchtune") if m in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_name_resolves_to_its_file_and_recipe():
    base = load_base_config(NAME, None, None, Path("."))
    assert base.name == NAME
    assert base.path.parts[-3:] == ("configs", "llama3_2", "1B_lora_single_device.yaml")
    assert (base.recipe, base.distributed) == ("lora_finetune_single_device", False)
    assert base.data["model"]["lora_rank"] == 64
    line = (
        base.path.read_text(encoding="utf-8")
        .splitlines()
        .index("  lora_rank: 64  # higher increases accuracy and memory")
    )
    assert base.lines[("model", "lora_rank")] == line + 1


@pytest.mark.parametrize(
    "name, recipe, distributed",
    [
        ("llama3_2/1B_lora", "lora_finetune_distributed", True),
        ("llama3_2/1B_full_single_device", "full_finetune_single_device", False),
        ("llama3_1/8B_full_dpo", "full_dpo_distributed", True),
        ("qwen2/1.5_to_0.5B_KD_lora_single_device", "knowledge_distillation_single_device", False),
    ],
)
def test_the_recipe_is_the_one_tune_ls_pairs_with_the_config(name, recipe, distributed):
    base = load_base_config(name, None, None, Path("."))
    assert (base.recipe, base.distributed) == (recipe, distributed)


def test_the_base_is_read_with_omegaconf_rules():
    base = load_base_config(NAME, None, None, Path("."))
    assert base.data["optimizer"]["lr"] == 3e-4  # written 3e-4: a float, not a string
    assert base.data["metric_logger"]["log_dir"] == "${output_dir}/logs"


def test_an_unknown_name_lists_the_same_family_and_close_matches():
    with pytest.raises(BaseConfigNotFoundError) as info:
        resolve_config_name("llama3_2/1B_lora_single_devic")
    family = [n for n in sorted(shipped_configs()) if n.startswith("llama3_2/")]
    assert str(info.value) == (
        "base_config: torchtune has no config named 'llama3_2/1B_lora_single_devic'.\n"
        "  Configs starting with 'llama3_2/':\n"
        + "".join(f"      - {n}\n" for n in family)
        + "  Did you mean 'llama3_2/1B_lora_single_device' or 'llama3_2/1B_qlora_single_device' "
        "or 'llama3_2/3B_lora_single_device'?\n"
        "  fix: run 'tune ls' for the full list, or use base_config_file for your own YAML"
    )


def test_a_family_name_alone_lists_its_configs():
    with pytest.raises(
        BaseConfigNotFoundError, match=r"Configs starting with 'llama3_2/':\n      - llama3_2/1B_full\n"
    ):
        resolve_config_name("llama3_2")


def test_a_name_like_nothing_says_where_to_look():
    with pytest.raises(BaseConfigNotFoundError) as info:
        load_base_config("nothing/at_all", None, None, Path("."))
    assert str(info.value) == (
        "base_config: torchtune has no config named 'nothing/at_all'.\n"
        "  fix: run 'tune ls' for the full list, or use base_config_file for your own YAML"
    )


@pytest.mark.parametrize("name", NOT_INSTALLED)
def test_a_registry_name_whose_file_is_not_installed_is_not_found(name):
    # torchtune 0.6.1 lists llama2/7B_full_early_exit but its wheel does not ship the YAML.
    with pytest.raises(
        BaseConfigNotFoundError,
        match=rf"^base_config: torchtune lists {name!r}, but its file .* is not installed",
    ):
        load_base_config(name, None, None, Path("."))


# ---------------------------------------------------------------- base_config_file


def test_a_base_config_file_is_relative_to_the_given_folder(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.yaml").write_text("epochs: 2\nlr: 1e-4\n", encoding="utf-8")
    base = load_base_config(None, "configs/mine.yaml", None, tmp_path)
    assert base.path == tmp_path / "configs" / "mine.yaml"
    assert base.name == str(tmp_path / "configs" / "mine.yaml")
    assert base.data == {"epochs": 2, "lr": 1e-4}
    assert (base.recipe, base.distributed) == (None, False)


def test_a_missing_base_config_file_is_not_found(tmp_path):
    with pytest.raises(BaseConfigNotFoundError) as info:
        load_base_config(None, "nope.yaml", None, tmp_path)
    assert str(info.value) == (
        f"base_config_file: base_config_file {str(tmp_path / 'nope.yaml')!r} does not exist\n"
        "  fix: paths are relative to the experiment file; check the spelling, "
        "or use base_config with a name from 'tune ls'"
    )


def test_a_base_config_file_that_is_not_a_mapping_is_refused(tmp_path):
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(
        BaseConfigNotFoundError, match=r"^base_config_file: base config .* is not a YAML mapping"
    ):
        load_base_config(None, "list.yaml", None, tmp_path)


def test_a_broken_base_config_file_names_its_line(tmp_path):
    (tmp_path / "broken.yaml").write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(
        ExperimentLoadError, match=r"broken.yaml:2: a: duplicate key 'a' \(first on line 1, again on line 2\)"
    ):
        load_base_config(None, "broken.yaml", None, tmp_path)


def test_the_sha256_changes_with_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("epochs: 1\n", encoding="utf-8")
    first = load_base_config(None, "mine.yaml", None, tmp_path).sha256
    path.write_text("epochs: 2\n", encoding="utf-8")
    assert load_base_config(None, "mine.yaml", None, tmp_path).sha256 != first


# ---------------------------------------------------------------- recipes


@pytest.mark.parametrize(
    "recipe, distributed",
    [("full_finetune_single_device", False), ("lora_finetune_distributed", True), ("dev/generate_v2", False)],
)
def test_the_recipe_can_be_overridden_by_name(recipe, distributed):
    base = load_base_config(NAME, None, recipe, Path("."))
    assert (base.recipe, base.distributed) == (recipe, distributed)


def test_a_recipe_file_is_relative_to_the_given_folder(tmp_path):
    (tmp_path / "my_recipe_distributed.py").write_text("", encoding="utf-8")
    base = load_base_config(NAME, None, "my_recipe_distributed.py", tmp_path)
    assert (base.recipe, base.distributed) == (str(tmp_path / "my_recipe_distributed.py"), True)


def test_an_unknown_recipe_is_an_error_with_a_suggestion():
    with pytest.raises(BaseConfigNotFoundError) as info:
        load_base_config(NAME, None, "lora_finetune_single_devic", Path("."))
    assert str(info.value) == (
        "recipe: torchtune has no recipe named 'lora_finetune_single_devic'; did you mean "
        "'lora_finetune_single_device' or 'full_finetune_single_device' or "
        "'ppo_full_finetune_single_device'?\n"
        "  fix: use a recipe name from 'tune ls' or the path of your own recipe .py file"
    )


def test_a_missing_recipe_file_is_an_error(tmp_path):
    with pytest.raises(BaseConfigNotFoundError, match=r"^recipe: recipe file '.*missing.py' does not exist"):
        load_base_config(NAME, None, "missing.py", tmp_path)


@pytest.mark.parametrize("name", INSTALLED)
def test_the_recipe_of_a_tune_cp_copy_is_read_from_its_header(tmp_path, name):
    shipped = shipped_configs()[name]
    shutil.copyfile(shipped.path, tmp_path / "copy.yaml")  # what `tune cp` does
    base = load_base_config(None, "copy.yaml", None, tmp_path)
    if name in NO_RUN_COMMAND:
        assert (base.recipe, base.distributed) == (None, False)
    else:
        assert (base.recipe, base.distributed) == (shipped.recipe, shipped.distributed)


@pytest.mark.parametrize(
    "header, recipe",
    [
        ("#   tune run lora_finetune_single_device --config x\n", "lora_finetune_single_device"),
        (
            "#   tune run --nproc_per_node 2 lora_finetune_distributed --config x\n",
            "lora_finetune_distributed",
        ),
        (
            "#   tune run --nnodes 1 --nproc_per_node 4 full_finetune_distributed --config x\n",
            "full_finetune_distributed",
        ),
        ("#   tune run dev/generate_v2 --config x\n", "dev/generate_v2"),
        ("#   tune run my_own_recipe --config x\n", None),
        ("# no command here\n", None),
    ],
)
def test_the_recipe_is_guessed_from_a_tune_run_comment(tmp_path, header, recipe):
    (tmp_path / "mine.yaml").write_text(header + "epochs: 1\n", encoding="utf-8")
    base = load_base_config(None, "mine.yaml", None, tmp_path)
    assert base.recipe == recipe
    assert base.distributed == bool(recipe and shipped_recipes()[recipe])


def test_an_explicit_recipe_wins_over_the_header(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "# tune run lora_finetune_single_device --config x\nepochs: 1\n", encoding="utf-8"
    )
    base = load_base_config(None, "mine.yaml", "full_finetune_distributed", tmp_path)
    assert (base.recipe, base.distributed) == ("full_finetune_distributed", True)
