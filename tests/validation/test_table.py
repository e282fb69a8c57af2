"""The component table: shipped as the installed packages give it, and validating with it finds
exactly what importing every component finds, without importing torch.

One fresh process (imported_worker.py, session fixture) validates every config with imports,
imports the recipes' key constants and rebuilds the table, so torch is imported once for all of
it (about 25 s).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, PY_EXAMPLE, YAML_EXAMPLE
from ttwriter import generate_configs
from ttwriter.registry import module_constant, recipe_source, shipped_configs, shipped_recipes
from ttwriter.validation.environment import packaged_builders
from ttwriter.validation.table import TABLE_FILE, component_table, installed_versions
from ttwriter.validation.validate import ValidationContext, validate_configs
from ttwriter.yaml_io import dump_yaml, load_config_file

# One pytest-xdist worker takes them all, so the worker process (the `imported` fixture) runs once.
pytestmark = pytest.mark.xdist_group("component_table")

WORKER = Path(__file__).with_name("imported_worker.py")
REPO = Path(__file__).resolve().parent.parent.parent

# Configs broken the ways validation must catch, each a change to the base config: every check
# that reads a component, with components the table covers, ones it does not, and none at all.
BROKEN: dict[str, dict[str, object]] = {
    "misspelled_argument": {"model.lora_rnk": 8},
    "quoted_number": {"optimizer.lr": "3e-4", "optimizer.weight_decya": 0.1},
    "misspelled_class": {"optimizer._component_": "torch.optim.AdamWW"},
    "misspelled_builder": {"model._component_": "torchtune.models.llama3_2.lora_llama3_2_1bb"},
    "misspelled_module": {"model._component_": "torchtune.model.llama3_2.lora_llama3_2_1b"},
    "kwargs_near_miss_in_a_list": {
        "dataset": [
            {"_component_": "torchtune.datasets.alpaca_dataset", "packd": True},
            {"_component_": "torchtune.datasets.alpaca_cleaned_dataset", "split": 3, "column_map": "x"},
        ]
    },
    "missing_dependency": {"model._component_": "torchtune.models.llama3_2_vision.llama3_2_vision_11b"},
    "not_installed": {"optimizer._component_": "bitsandbytes.optim.PagedAdamW8bit"},
    "loggers": {"metric_logger._component_": "torchtune.training.metric_logging.WandBLogger"},
    "tensorboard": {"metric_logger._component_": "torchtune.training.metric_logging.TensorBoardLogger"},
    "loss_argument": {"loss.num_output_chunk": 8},
    "scheduler_partial": {
        "lr_scheduler": {
            "_component_": "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup",
            "num_warmup_step": 100,
        }
    },
    "empty_and_relative_paths": {"loss._component_": "", "profiler": {"_component_": "torchtune..training"}},
    "users_own_module": {"clip": {"_component_": "json.JSONDecoder", "strict": "yes", "strct": 1}},
    "private_module": {"optimizer._component_": "torch.optim.adamw.AdamW", "optimizer.fused": "no"},
}


def _set(config: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


@pytest.fixture(scope="session")
def configs(tmp_path_factory) -> list[tuple[str, str, str | None]]:
    """(name, path, recipe) of every shipped torchtune config, our examples' runs, and BROKEN."""
    folder = tmp_path_factory.mktemp("table_configs")
    shipped = shipped_configs()
    jobs = [(name, str(c.path), c.recipe) for name, c in sorted(shipped.items()) if c.path.is_file()]
    for example in (PY_EXAMPLE, PY_EXAMPLE.with_name("rank_x_lr_03_02.py"), YAML_EXAMPLE):
        result = generate_configs(example, folder / example.stem, validate=False)
        jobs += [(f"{example.stem}/{r.id}", str(r.config_path), result.recipe) for r in result.runs]
    base = load_config_file(shipped[BASE].path)
    for name, changes in BROKEN.items():
        config = json.loads(json.dumps(base))
        for dotted, value in changes.items():
            _set(config, dotted, value)
        path = folder / f"{name}.yaml"
        path.write_text(dump_yaml(config), encoding="utf-8")
        jobs.append((f"broken/{name}", str(path), shipped[BASE].recipe))
    return jobs


def _recipe_constants() -> list[tuple[str, str]]:
    """Every upper-case name a shipped recipe imports from a module (`PROFILER_KEY`)."""
    found = set()
    for recipe in shipped_recipes():
        tree = ast.parse(recipe_source(recipe).read_bytes())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {(node.module, a.name) for a in node.names if a.name.isupper()}
    return sorted(found)


@pytest.fixture(scope="session")
def imported(configs, tmp_path_factory) -> dict:
    """What the worker found by importing, and the table it rebuilt."""
    folder = tmp_path_factory.mktemp("imported")
    (folder / "jobs.json").write_text(json.dumps({"configs": configs, "constants": _recipe_constants()}))
    subprocess.run(
        [sys.executable, str(WORKER), folder / "jobs.json", folder / "out.json", folder / "table.json.gz"],
        check=True,
        cwd=REPO,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    return {**json.loads((folder / "out.json").read_text()), "table": (folder / "table.json.gz").read_bytes()}


@pytest.mark.training  # the `imported` worker imports torch and torchtune in full
def test_the_shipped_table_is_the_one_the_installed_packages_give(imported):
    assert component_table() is not None, f"the shipped table is not for {installed_versions()}"
    assert imported["table"] == TABLE_FILE.read_bytes(), (
        "ttwriter/validation/components_table.json.gz is stale: run `make component-table`"
    )


@pytest.mark.training  # the `imported` worker imports torch and torchtune in full
def test_validation_with_the_table_finds_what_importing_every_component_finds(configs, imported):
    with_table = {}
    groups: dict[str | None, list[tuple[str, Path]]] = {}
    for name, path, recipe in configs:
        groups.setdefault(recipe, []).append((name, Path(path)))
    for recipe, group in groups.items():  # one sweep per recipe, as the worker validates them
        summary = validate_configs(group, ValidationContext(recipe=recipe))
        with_table |= {run["id"]: run["findings"] for run in summary.as_json()["runs"]}

    assert with_table == imported["findings"]
    # and the broken configs were caught, each the way it is broken
    messages = {name: " | ".join(f["message"] for f in found) for name, found in with_table.items()}
    assert "lora_llama3_2_1b has no parameter 'lora_rnk'" in messages["broken/misspelled_argument"]
    assert (
        "str '3e-4' does not fit AdamW's parameter lr: float | torch.Tensor"
        in messages["broken/quoted_number"]
    )
    assert "'torch.optim.AdamWW' does not exist" in messages["broken/misspelled_class"]
    assert (
        "'torchtune.model.llama3_2.lora_llama3_2_1b' does not exist" in messages["broken/misspelled_module"]
    )
    assert (
        "'packd' would be passed to alpaca_dataset through **kwargs"
        in messages["broken/kwargs_near_miss_in_a_list"]
    )
    assert "needs 'torchvision', which is not installed" in messages["broken/missing_dependency"]
    assert "package 'bitsandbytes' is not installed" in messages["broken/not_installed"]
    assert "ValueError: Empty path" in messages["broken/empty_and_relative_paths"]
    assert "JSONDecoder has no parameter 'strct'" in messages["broken/users_own_module"]
    assert "does not fit AdamW's parameter fused" in messages["broken/private_module"]
    example = [f for name, found in with_table.items() if name.startswith("lora_rank_02_01/") for f in found]
    # data paths not on this machine (and, validated with the shipped configs, the sweep checks)
    assert example and {f["severity"] for f in example if f["check"] != "sweep"} == {"warning"}


@pytest.mark.training  # the `imported` worker imports torch and torchtune in full
def test_constants_recipes_import_are_read_from_source_as_importing_them_gives(imported):
    pairs = _recipe_constants()
    assert ("torchtune.training", "PROFILER_KEY") in pairs
    assert {f"{m}.{n}": module_constant(m, n) for m, n in pairs} == imported["constants"]


@pytest.mark.training  # the `imported` worker imports torch and torchtune in full
def test_datasets_builder_names_read_from_source_are_the_imported_ones(imported):
    assert sorted(packaged_builders()) == imported["builders"]


def test_validated_generation_of_the_examples_and_the_broken_configs_import_no_torch(configs, tmp_path):
    broken = [(name, path) for name, path, _ in configs if name.startswith("broken/")]
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ttwriter import generate_configs\n"
        "from ttwriter.validation.table import component_table\n"
        "from ttwriter.validation.validate import ValidationContext, validate_configs\n"
        f"for i, example in enumerate([{str(PY_EXAMPLE)!r}, {str(YAML_EXAMPLE)!r}]):\n"
        f"    result = generate_configs(example, {str(tmp_path)!r} + f'/out{{i}}', validate=True)\n"
        "    assert result.validation is not None and result.validation.n_total == len(result.runs)\n"
        f"broken = validate_configs([(n, Path(p)) for n, p in {broken!r}], ValidationContext('lora_finetune_single_device'))\n"
        "assert not broken.ok\n"
        "print(component_table() is not None)\n"
        "print(sorted(m for m in ('torch', 'torchtune', 'torchao', 'datasets') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )

    assert result.stdout.split("\n")[-3:] == ["True", "[]", ""]
