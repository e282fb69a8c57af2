"""The start-up check registry: which checks run for which recipe, and that its tables are torchtune's.

Each recipe check names the shipped recipes it applies to; these tests pin every such set to
the recipes whose source really holds the check, and every constant the checks copy from
torchtune (precisions, model types, LoRA module names, quantizer modes) to torchtune's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing

import pytest

from tests.conftest import BASE
from ttwriter import Experiment, generate_configs
from ttwriter.registry import recipe_source, shipped_recipes
from ttwriter.validation.startup.checks import UNKNOWN, all_checks, builder_default, startup_findings
from ttwriter.validation.startup.models import LORA_ATTN_MODULES, MODEL_TYPES
from ttwriter.validation.startup.quantization import QUANTIZER_MODES
from ttwriter.validation.startup.recipes import PRECISIONS

RECIPE_CHECKS = [c for c in all_checks() if c.recipes is not None]


@pytest.mark.parametrize("check", RECIPE_CHECKS, ids=lambda c: c.run.__name__)
def test_each_recipe_check_applies_exactly_to_the_shipped_recipes_whose_source_holds_it(check):
    holding = {
        name
        for name in shipped_recipes()
        if check.marker in recipe_source(name).read_text(encoding="utf-8")  # type: ignore[union-attr]
    }
    assert check.marker and check.recipes == holding


@pytest.mark.training  # imports torchtune (and torch) to read its own constants
def test_the_constants_the_checks_copy_are_torchtunes_own():
    from torchtune.modules.peft import LORA_ATTN_MODULES as TORCHTUNE_LORA_MODULES
    from torchtune.training.checkpointing import ModelType
    from torchtune.training.precision import PRECISION_STR_TO_DTYPE
    from torchtune.training.quantization import _quantizer_to_mode

    assert PRECISIONS == tuple(PRECISION_STR_TO_DTYPE)
    assert MODEL_TYPES == tuple(ModelType.__members__)
    assert LORA_ATTN_MODULES == typing.get_args(TORCHTUNE_LORA_MODULES)
    assert QUANTIZER_MODES == {cls.__name__: mode for cls, mode in _quantizer_to_mode.items()}


def test_the_spec_example_packed_on_a_tokenizer_without_max_seq_len_is_no_longer_4_of_4_valid(tmp_path):
    experiment = Experiment(
        name="packed",
        base_config=BASE,
        controls={"dataset.packed": True},
        variables={"lora_rank": [4, 8, 16, 32]},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert result.validation.summary_line() == "0/4 configs valid"
    report = json.loads((tmp_path / "out" / "validation_report.json").read_text())
    startup = [f for run in report["runs"] for f in run["findings"] if f["check"] == "startup"]
    assert [f["key"] for f in startup] == ["dataset.packed, tokenizer.max_seq_len"] * 4


def test_a_users_own_recipe_file_gets_the_builder_checks_only(tmp_path):
    recipe = tmp_path / "my_recipe.py"
    recipe.write_text("def recipe_main(cfg):\n    return cfg.dtype, cfg.dataset, cfg.tokenizer, cfg.model\n")
    config = {
        "dtype": "fp16",  # lora_finetune_single_device refuses it; a user's own recipe may not
        "dataset": {"_component_": "torchtune.datasets.alpaca_dataset", "packed": True},
        "tokenizer": {"_component_": "torchtune.models.llama3.llama3_tokenizer", "max_seq_len": None},
    }

    own = startup_findings(config, str(recipe))
    shipped = startup_findings(config, "lora_finetune_single_device")

    assert [f.key for f in own] == ["dataset.packed, tokenizer.max_seq_len"]
    assert [f.key for f in shipped] == ["dataset.packed, tokenizer.max_seq_len", "dtype"]


@pytest.mark.parametrize(
    "dotted, param, default",
    [
        ("torchtune.models.llama3.llama3_tokenizer", "max_seq_len", None),  # re-exported from a submodule
        ("torchtune.models.t5.t5_tokenizer", "max_seq_len", 512),
        ("torchtune.datasets.alpaca_cleaned_dataset", "source", "yahma/alpaca-cleaned"),  # a partial
        ("torchtune.datasets.alpaca_cleaned_dataset", "packed", False),
        ("torchtune.models.llama3_2.lora_llama3_2_1b", "lora_alpha", 16),
    ],
)
def test_builder_defaults_are_read_from_torchtunes_source(dotted, param, default):
    assert builder_default(dotted, param) == default


@pytest.mark.parametrize(
    "dotted, param",
    [
        ("torchtune.models.llama3_2.lora_llama3_2_1b", "lora_attn_modules"),  # required: no default
        ("torchtune.models.llama3_2.lora_llama3_2_1b", "no_such_parameter"),
        ("torchtune.models.llama3_2.no_such_builder", "max_seq_len"),
        ("mypackage.my_tokenizer", "max_seq_len"),
    ],
)
def test_a_default_that_cannot_be_read_is_unknown_so_no_check_relies_on_it(dotted, param):
    assert builder_default(dotted, param) is UNKNOWN


def test_the_checks_import_neither_torch_nor_torchtune():
    code = (
        "import sys\n"
        "from ttwriter.validation.startup.checks import startup_findings\n"
        "cfg = {'dtype': 'fp16', 'dataset': {'_component_': 'torchtune.datasets.alpaca_dataset', 'packed': True},\n"
        "       'tokenizer': {'_component_': 'torchtune.models.llama3.llama3_tokenizer'}}\n"
        "print(len(startup_findings(cfg, 'lora_finetune_single_device')))\n"
        "print(sorted(m for m in ('torch', 'torchtune') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["2", "[]"]
