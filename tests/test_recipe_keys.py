"""Which keys a recipe reads, from its source."""

from __future__ import annotations

from ttwriter.registry import recipe_keys


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
