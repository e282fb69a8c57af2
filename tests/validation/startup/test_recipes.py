"""Recipes' start-up constraints: one test per constraint, from a realistic mistake.

Each mistake is made on a real shipped config through ttwriter's generate path. Where this
machine can run the check (a CPU, no GPU), the same mistake on the tiny CPU config is handed to
the real recipe class, in-process, to show it raises what the finding quotes.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import yaml

from tests.conftest import BASE
from tests.validation.startup.helpers import generated, quoted, startup, tiny
from ttwriter.registry import recipe_source
from ttwriter.sweep.base_config import resolve_config_name

FULL = "llama3_2/1B_full_single_device"
PPO = "mistral/7B_full_ppo_low_memory"


def recipe_class(recipe: str, name: str) -> Any:
    """A class of torchtune's recipe file (the recipes folder is not a package)."""
    path = recipe_source(recipe)
    assert path is not None
    spec = importlib.util.spec_from_file_location(f"_recipe_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def recipe_raises(result, recipe: str, name: str) -> str:
    """What the recipe's `__init__` raises for the first run's config."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(result.runs[0].config_path)
    with pytest.raises(Exception) as raised:
        recipe_class(recipe, name)(cfg)
    return str(raised.value)


def shipped(name: str) -> dict[str, Any]:
    return yaml.safe_load(resolve_config_name(name).path.read_text())


@pytest.mark.training  # builds or loads the tiny model with torch
def test_fp16_is_refused_by_the_lora_recipe(tmp_path, tiny_assets, offline):
    result = generated(tmp_path, BASE, controls={"dtype": "fp16"})

    assert startup(result) == [
        (
            "dtype",
            "dtype is fp16 and recipe lora_finetune_single_device refuses it, so the run would stop at start-up: "
            '"fp16 precision is not supported in this recipe. Please use fp32 or bf16."',
            "set dtype: bf16 (or fp32)",
        )
    ]
    on_tiny = tiny(tmp_path, tiny_assets, controls={"dtype": "fp16"})
    raised = recipe_raises(on_tiny, "lora_finetune_single_device", "LoRAFinetuneRecipeSingleDevice")
    assert raised == quoted(startup(on_tiny)[0][1])


@pytest.mark.training  # builds or loads the tiny model with torch
def test_fp16_is_refused_by_the_full_recipe(tmp_path, tiny_assets, offline):
    result = generated(tmp_path, FULL, controls={"dtype": "fp16"})

    ((key, message, _),) = startup(result)
    assert key == "dtype"
    assert quoted(message) == (
        "full fp16 training is not supported with this recipe. Please use bf16 or fp32 instead."
    )
    on_tiny = tiny(tmp_path, tiny_assets, recipe="full_finetune_single_device", controls={"dtype": "fp16"})
    raised = recipe_raises(on_tiny, "full_finetune_single_device", "FullFinetuneRecipeSingleDevice")
    assert raised == quoted(message)


UNKNOWN_DTYPE = (
    "dtype is 'bfloat16', so the run would stop at start-up: "
    '"Dtype bfloat16 must be one of fp16, bf16, fp32, fp64 for finetuning."'
)


def test_a_dtype_torchtune_does_not_know_is_an_error(tmp_path):
    result = generated(tmp_path, BASE, controls={"dtype": "bfloat16"})

    assert startup(result) == [("dtype", UNKNOWN_DTYPE, "Write bf16")]


@pytest.mark.training  # imports torchtune (and torch) to see what it raises
def test_a_dtype_torchtune_does_not_know_raises_what_the_check_quotes():
    from torchtune.training import get_dtype

    with pytest.raises(ValueError) as raised:
        get_dtype("bfloat16")
    assert str(raised.value) == quoted(UNKNOWN_DTYPE)


@pytest.mark.training  # builds or loads the tiny model with torch
def test_gradient_clipping_with_the_optimizer_in_backward_is_an_error(tmp_path, tiny_assets, offline):
    result = generated(tmp_path, FULL, controls={"clip_grad_norm": 1.0})

    assert startup(result) == [
        (
            "optimizer_in_bwd, clip_grad_norm",
            "optimizer_in_bwd is true and clip_grad_norm is 1.0, so the run would stop at start-up: "
            '"Gradient clipping is not supported with optimizer in bwd.'
            'Please set clip_grad_norm=None, or optimizer_in_bwd=False."',
            "set clip_grad_norm: null, or optimizer_in_bwd: false",
        )
    ]
    controls = {"+optimizer_in_bwd": True, "clip_grad_norm": 1.0}
    on_tiny = tiny(tmp_path, tiny_assets, recipe="full_finetune_single_device", controls=controls)
    raised = recipe_raises(on_tiny, "full_finetune_single_device", "FullFinetuneRecipeSingleDevice")
    assert raised == quoted(startup(on_tiny)[0][1])


@pytest.mark.training  # builds or loads the tiny model with torch
def test_gradient_accumulation_with_the_optimizer_in_backward_is_an_error(tmp_path, tiny_assets, offline):
    result = generated(tmp_path, FULL, controls={"gradient_accumulation_steps": 8})

    batch = shipped(FULL)["batch_size"]
    assert startup(result) == [
        (
            "optimizer_in_bwd, gradient_accumulation_steps",
            "optimizer_in_bwd is true and gradient_accumulation_steps is 8, so the run would stop at start-up: "
            '"Gradient accumulation is not supported with optimizer in bwd.'
            'Please set gradient_accumulation_steps=1, or optimizer_in_bwd=False."',
            f"set gradient_accumulation_steps: 1 (and batch_size: {batch * 8} to keep the effective batch), "
            "or optimizer_in_bwd: false",
        )
    ]
    controls = {"+optimizer_in_bwd": True, "gradient_accumulation_steps": 8}
    on_tiny = tiny(tmp_path, tiny_assets, recipe="full_finetune_single_device", controls=controls)
    raised = recipe_raises(on_tiny, "full_finetune_single_device", "FullFinetuneRecipeSingleDevice")
    assert raised == quoted(startup(on_tiny)[0][1])


@pytest.mark.training  # builds or loads the tiny model with torch
def test_activation_offloading_on_a_cpu_is_an_error(tmp_path, tiny_assets, offline):
    controls = {
        "device": "cpu",
        "enable_activation_offloading": True,
        "enable_activation_checkpointing": True,
    }
    result = generated(tmp_path, BASE, controls=controls)

    assert startup(result) == [
        (
            "enable_activation_offloading, device",
            "enable_activation_offloading is true and device is 'cpu', so the run would stop at start-up: "
            '"enable_activation_offloading should only be True when training on CUDA"',
            "set enable_activation_offloading: false, or device: cuda",
        )
    ]
    on_tiny = tiny(tmp_path, tiny_assets, controls={k: v for k, v in controls.items() if k != "device"})
    raised = recipe_raises(on_tiny, "lora_finetune_single_device", "LoRAFinetuneRecipeSingleDevice")
    assert raised == quoted(startup(on_tiny)[0][1])


def test_activation_offloading_without_activation_checkpointing_is_an_error(tmp_path):
    # The recipe checks the device first; this machine has no GPU to reach the second check.
    result = generated(tmp_path, BASE, controls={"enable_activation_offloading": True})

    assert startup(result) == [
        (
            "enable_activation_offloading, enable_activation_checkpointing",
            "enable_activation_offloading is true and enable_activation_checkpointing is false, so the run "
            'would stop at start-up: "enable_activation_offloading should only be True when '
            'enable_activation_checkpointing is True"',
            "set enable_activation_checkpointing: true, or enable_activation_offloading: false",
        )
    ]


def test_compile_on_an_npu_is_an_error(tmp_path):
    result = generated(tmp_path, BASE, controls={"device": "npu", "compile": True})

    assert startup(result) == [
        (
            "compile, device",
            "compile is true and device is 'npu', so the run would stop at start-up: "
            '"NPU does not support model compilation. Please set `compile: False` in the config."',
            "set compile: false",
        )
    ]


@pytest.mark.training  # builds or loads the tiny model with torch
def test_the_generation_collator_in_a_training_recipe_is_an_error(tmp_path, tiny_assets, offline):
    from omegaconf import OmegaConf
    from torchtune import config as tt_config

    collate = "torchtune.data.left_pad_sequence"
    result = generated(tmp_path, BASE, controls={"+collate_fn": collate})

    assert startup(result) == [
        (
            "collate_fn",
            "collate_fn is 'torchtune.data.left_pad_sequence', a collator for generation, so the run would stop "
            'at start-up: "left_pad_sequence collator is only for inference."',
            "set collate_fn: torchtune.data.padded_collate_sft (or remove it: that is the default)",
        )
    ]
    on_tiny = tiny(tmp_path, tiny_assets, controls={"+collate_fn": collate})
    cfg = OmegaConf.load(on_tiny.runs[0].config_path)
    recipe = recipe_class("lora_finetune_single_device", "LoRAFinetuneRecipeSingleDevice")
    half_built = recipe.__new__(recipe)  # _setup_data needs only the tokenizer of a set-up recipe
    half_built._tokenizer = tt_config.instantiate(cfg.tokenizer)
    with pytest.raises(RuntimeError) as raised:
        half_built._setup_data(
            cfg.dataset, shuffle=True, batch_size=cfg.batch_size, collate_fn=cfg.collate_fn
        )
    assert str(raised.value) == quoted(startup(on_tiny)[0][1])


def test_a_lora_recipe_needs_the_lora_arguments_in_the_config_not_the_builders_defaults(tmp_path):
    from omegaconf import OmegaConf

    result = generated(tmp_path, BASE, delete=("model.lora_alpha",))

    assert startup(result) == [
        (
            "model.lora_alpha",
            "model.lora_alpha is not set, and recipe lora_finetune_single_device reads it from the config "
            '(the builder\'s default is 16), so the run would stop at start-up: "Missing key lora_alpha"',
            "set model.lora_alpha explicitly, e.g. model.lora_alpha: 16",
        )
    ]
    model = OmegaConf.load(result.runs[0].config_path).model
    with pytest.raises(Exception) as raised:
        model.lora_alpha  # noqa: B018 - what the recipe's _setup_model does
    assert str(raised.value).startswith(quoted(startup(result)[0][1]))


def test_a_model_without_lora_in_a_lora_recipe_is_an_error(tmp_path):
    model = {"_component_": "torchtune.models.llama3_2.llama3_2_1b"}
    result = generated(tmp_path, BASE, delete=("model",), controls={"model": model})

    assert startup(result) == [
        (
            "model._component_",
            "model llama3_2_1b has no LoRA, but recipe lora_finetune_single_device trains LoRA adapters, so the "
            'run would stop at start-up: "Missing key lora_rank"',
            "use model._component_: torchtune.models.llama3_2.lora_llama3_2_1b with lora_attn_modules, "
            "apply_lora_to_mlp, lora_rank and lora_alpha",
        )
    ]


def test_tensor_parallel_without_a_plan_or_with_a_fused_optimizer_is_an_error(tmp_path):
    result = generated(tmp_path, "llama3_2/1B_full", controls={"+tensor_parallel_dim": 2})

    assert [(k, quoted(m)) for k, m, _ in startup(result)] == [
        (
            "tensor_parallel_dim, tensor_parallel_plan",
            "Tensor Parallel plan needs to be provided when tensor parallel is enabled.",
        ),
        (
            "tensor_parallel_dim, optimizer.fused",
            "Tensor parallelism is currently incompatible with fused optimizer.",
        ),
    ]
    assert [f for _, _, f in startup(result)] == [
        "set tensor_parallel_plan: {_component_: <the model family's plan, e.g. "
        "torchtune.models.llama3.base_llama_tp_plan>}, or tensor_parallel_dim: 1",
        "set optimizer.fused: false, or tensor_parallel_dim: 1",
    ]


def ppo_raises(result) -> str:
    """What PPO's _setup_training_parameters raises (its batch checks come before any data)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(result.runs[0].config_path)
    recipe = recipe_class("ppo_full_finetune_single_device", "PPOFullFinetuneRecipeSingleDevice")
    half_built = recipe.__new__(recipe)
    half_built._optimizer_in_bwd = cfg.optimizer_in_bwd
    with pytest.raises(ValueError) as raised:
        half_built._setup_training_parameters(cfg)
    return str(raised.value)


@pytest.mark.parametrize(
    "controls, key, raises, fix",
    [
        (
            {"forward_batch_size": 48},
            "batch_size, forward_batch_size",
            "batch_size (128) must be exactly divisible by forward_batch_size (48).",
            "make batch_size a multiple of forward_batch_size, e.g. batch_size: 144",
        ),
        (
            {"ppo_batch_size": 96},
            "batch_size, ppo_batch_size",
            "batch_size (128) must be exactly divisible by ppo_batch_size (96).",
            "make batch_size a multiple of ppo_batch_size, e.g. batch_size: 192",
        ),
        (
            {"gradient_accumulation_steps": 3, "optimizer_in_bwd": False},
            "ppo_batch_size, gradient_accumulation_steps",
            "ppo_batch_size (128) must be exactly divisible by gradient_accumulation_steps (3).",
            "make ppo_batch_size a multiple of gradient_accumulation_steps, e.g. ppo_batch_size: 129",
        ),
    ],
)
def test_ppo_batch_sizes_that_do_not_divide_are_an_error(tmp_path, controls, key, raises, fix):
    result = generated(tmp_path, PPO, controls=controls)

    ((found_key, message, found_fix),) = startup(result)
    assert (found_key, quoted(message), found_fix) == (key, raises, fix)
    assert ppo_raises(result) == raises


def test_ppo_with_fewer_samples_than_one_batch_is_an_error(tmp_path):
    result = generated(tmp_path, PPO, controls={"num_steps": 100})

    assert startup(result) == [
        (
            "num_steps, batch_size",
            "num_steps 100 is less than batch_size 128, so there are 0 PPO steps, so the run would stop at "
            'start-up: "num_steps 100 must be greater than the batch size 128."',
            "set num_steps to at least 128 (it counts samples, not steps)",
        )
    ]


def test_packing_in_the_multi_dataset_recipe_is_an_error(tmp_path):
    result = generated(tmp_path, "dev/11B_lora_multi_dataset", controls={"dataloader.packed": True})

    assert startup(result) == [
        (
            "dataloader.packed",
            'dataloader.packed is true, so the run would stop at start-up: "Packing not yet supported"',
            "set dataloader.packed: false",
        )
    ]
