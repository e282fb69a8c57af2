"""Start-up constraints of torchtune's shipped recipes: what `__init__`, `setup` and `_setup_*`
raise on before the first step, for values the config alone decides.

Each check names the recipes (`tune ls` names) whose source holds it; `marker` is the verbatim
source text, and a test pins every recipe set to the recipes that contain it. A user's own
recipe file gets none of these (its checks are its own). See startup.checks for the design.
"""

from __future__ import annotations

from typing import Any

from ttwriter.errors import did_you_mean
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.report import Finding
from ttwriter.validation.startup.checks import (
    UNKNOWN,
    StartupCheck,
    builder_default,
    component,
    device_type,
    error,
    number,
    recipes,
    show,
    truthy,
)

PRECISIONS = ("fp16", "bf16", "fp32", "fp64")
"""Keys of `torchtune.training.precision.PRECISION_STR_TO_DTYPE`; tests pin it to torchtune's."""
_TORCH_NAMES = {"float16": "fp16", "half": "fp16", "bfloat16": "bf16", "float32": "fp32", "float": "fp32"}
_TORCH_NAMES |= {"float64": "fp64", "double": "fp64"}
_FULL_FP16 = "full fp16 training is not supported with this recipe. Please use bf16 or fp32 instead."
_LORA_FP16 = "fp16 precision is not supported in this recipe. Please use fp32 or bf16."
_CLIP_BWD = (
    "Gradient clipping is not supported with optimizer in bwd."
    "Please set clip_grad_norm=None, or optimizer_in_bwd=False."
)
_ACCUMULATE_BWD = (
    "Gradient accumulation is not supported with optimizer in bwd."
    "Please set gradient_accumulation_steps=1, or optimizer_in_bwd=False."
)
_OFFLOAD_CUDA = "enable_activation_offloading should only be True when training on CUDA"
_OFFLOAD_AC = "enable_activation_offloading should only be True when enable_activation_checkpointing is True"
_NPU = "NPU does not support model compilation. Please set `compile: False` in the config."
_LEFT_PAD = "left_pad_sequence collator is only for inference."
_LORA_MODEL_KEYS = ("lora_rank", "lora_alpha", "lora_attn_modules", "apply_lora_to_mlp")


def _fp16(cfg: dict[str, Any], recipe: str | None, raises: str) -> list[Finding]:
    if cfg.get("dtype") != "fp16":
        return []
    return [
        error(["dtype"], f"dtype is fp16 and recipe {recipe} refuses it", raises, "set dtype: bf16 (or fp32)")
    ]


def fp16_refused_full(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _fp16(cfg, recipe, _FULL_FP16)


def fp16_refused_lora(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _fp16(cfg, recipe, _LORA_FP16)


def dtype_known(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    dtype = cfg.get("dtype")
    if dtype is None or dtype is UNRESOLVED or dtype in PRECISIONS:
        return []
    short = _TORCH_NAMES.get(str(dtype).removeprefix("torch."))
    hint = f"Write {short}" if short else did_you_mean(str(dtype), PRECISIONS, capital=True)
    return [
        error(
            ["dtype"],
            f"dtype is {show(dtype)}",
            f"Dtype {dtype} must be one of {', '.join(PRECISIONS)} for finetuning.",
            hint or f"use one of {', '.join(PRECISIONS)}",
        )
    ]


def clip_with_optimizer_in_bwd(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    clip = cfg.get("clip_grad_norm")
    if not truthy(cfg.get("optimizer_in_bwd")) or clip is None or clip is UNRESOLVED:
        return []
    return [
        error(
            ["optimizer_in_bwd", "clip_grad_norm"],
            f"optimizer_in_bwd is true and clip_grad_norm is {show(clip)}",
            _CLIP_BWD,
            "set clip_grad_norm: null, or optimizer_in_bwd: false",
        )
    ]


def accumulation_with_optimizer_in_bwd(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    steps = number(cfg.get("gradient_accumulation_steps"))
    if not truthy(cfg.get("optimizer_in_bwd")) or steps is None or steps <= 1:
        return []
    return [
        error(
            ["optimizer_in_bwd", "gradient_accumulation_steps"],
            f"optimizer_in_bwd is true and gradient_accumulation_steps is {steps}",
            _ACCUMULATE_BWD,
            f"set gradient_accumulation_steps: 1 (and batch_size: {_times(cfg.get('batch_size'), steps)} "
            "to keep the effective batch), or optimizer_in_bwd: false",
        )
    ]


def _times(batch: Any, steps: int | float) -> str:
    size = number(batch)
    return str(int(size * steps)) if size is not None else f"{steps} x batch_size"


def offloading_needs_cuda(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    if not truthy(cfg.get("enable_activation_offloading")):
        return []
    device = cfg.get("device")
    if recipe == "full_finetune_distributed":
        wrong = device != "cuda"  # this recipe compares the config string itself
    else:
        wrong = device_type(device) not in (None, "cuda")  # no device: torchtune picks one here
    if not wrong or device is UNRESOLVED:
        return []
    return [
        error(
            ["enable_activation_offloading", "device"],
            f"enable_activation_offloading is true and device is {show(device)}",
            _OFFLOAD_CUDA,
            "set enable_activation_offloading: false, or device: cuda",
        )
    ]


def offloading_needs_checkpointing(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    if not truthy(cfg.get("enable_activation_offloading")) or truthy(
        cfg.get("enable_activation_checkpointing")
    ):
        return []
    state = (
        show(cfg["enable_activation_checkpointing"])
        if "enable_activation_checkpointing" in cfg
        else "not set"
    )
    return [
        error(
            ["enable_activation_offloading", "enable_activation_checkpointing"],
            f"enable_activation_offloading is true and enable_activation_checkpointing is {state}",
            _OFFLOAD_AC,
            "set enable_activation_checkpointing: true, or enable_activation_offloading: false",
        )
    ]


def compile_on_npu(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    if cfg.get("device") != "npu" or not truthy(cfg.get("compile")):
        return []
    return [error(["compile", "device"], "compile is true and device is 'npu'", _NPU, "set compile: false")]


def left_pad_collate(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    on_dataloader = recipe == "dev/lora_finetune_distributed_multi_dataset"
    key = "dataloader.collate_fn" if on_dataloader else "collate_fn"
    holder = cfg.get("dataloader") if on_dataloader else cfg
    collate = holder.get("collate_fn") if isinstance(holder, dict) else None
    if not isinstance(collate, str) or "left_pad_sequence" not in collate:
        return []
    return [
        error(
            [key],
            f"{key} is {collate!r}, a collator for generation",
            _LEFT_PAD,
            f"set {key}: torchtune.data.padded_collate_sft (or remove it: that is the default)",
        )
    ]


def lora_model_keys(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    """LoRA recipes read `cfg_model.lora_rank` and three more: the builder's default is not enough."""
    model = cfg.get("model")
    dotted = component(model)
    if dotted is None:
        return []
    assert isinstance(model, dict)
    module, name = dotted.rsplit(".", 1)
    if not name.startswith(("lora_", "qlora_")) and dotted.startswith("torchtune."):
        lora = f"{module}.lora_{name}"
        if builder_default(lora, "lora_rank") is not UNKNOWN:
            missing = [k for k in _LORA_MODEL_KEYS if k not in model]
            if not missing:
                return []  # LoRA arguments on a model without LoRA: the component check reports them
            return [
                error(
                    ["model._component_"],
                    f"model {name} has no LoRA, but recipe {recipe} trains LoRA adapters",
                    f"Missing key {missing[0]}",
                    f"use model._component_: {lora} with lora_attn_modules, apply_lora_to_mlp, lora_rank "
                    "and lora_alpha",
                )
            ]
    findings = []
    for key in _LORA_MODEL_KEYS:
        if key in model:
            continue
        default = builder_default(dotted, key)
        shown = f" (the builder's default is {show(default)})" if default is not UNKNOWN else ""
        findings.append(
            error(
                [f"model.{key}"],
                f"model.{key} is not set, and recipe {recipe} reads it from the config{shown}",
                f"Missing key {key}",
                f"set model.{key} explicitly"
                + (f", e.g. model.{key}: {show(default)}" if default is not UNKNOWN else ""),
            )
        )
    return findings


def tensor_parallel_plan(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    dim = number(cfg.get("tensor_parallel_dim"))
    if dim is None or dim <= 1 or cfg.get("tensor_parallel_plan") is not None:
        return []
    return [
        error(
            ["tensor_parallel_dim", "tensor_parallel_plan"],
            f"tensor_parallel_dim is {dim} and there is no tensor_parallel_plan",
            "Tensor Parallel plan needs to be provided when tensor parallel is enabled.",
            "set tensor_parallel_plan: {_component_: <the model family's plan, e.g. "
            "torchtune.models.llama3.base_llama_tp_plan>}, or tensor_parallel_dim: 1",
        )
    ]


def tensor_parallel_fused(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    dim = number(cfg.get("tensor_parallel_dim"))
    optimizer = cfg.get("optimizer")
    if dim is None or dim <= 1 or not isinstance(optimizer, dict) or not truthy(optimizer.get("fused")):
        return []
    return [
        error(
            ["tensor_parallel_dim", "optimizer.fused"],
            f"tensor_parallel_dim is {dim} and optimizer.fused is true",
            "Tensor parallelism is currently incompatible with fused optimizer.",
            "set optimizer.fused: false, or tensor_parallel_dim: 1",
        )
    ]


def _divides(cfg: dict[str, Any], big: str, small: str) -> list[Finding]:
    whole, part = number(cfg.get(big)), number(cfg.get(small))
    if whole is None or not part or whole % part == 0:
        return []
    return [
        error(
            [big, small],
            f"{big} {whole} is not a multiple of {small} {part}",
            f"{big} ({whole}) must be exactly divisible by {small} ({part}).",
            f"make {big} a multiple of {small}, e.g. {big}: {int(whole // part + 1) * int(part)}",
        )
    ]


def ppo_forward_batch(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _divides(cfg, "batch_size", "forward_batch_size")


def ppo_batch(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _divides(cfg, "batch_size", "ppo_batch_size")


def ppo_accumulation(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _divides(cfg, "ppo_batch_size", "gradient_accumulation_steps")


def ppo_num_steps(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    steps, batch = number(cfg.get("num_steps")), number(cfg.get("batch_size"))
    if steps is None or not batch or steps // batch != 0:
        return []
    return [
        error(
            ["num_steps", "batch_size"],
            f"num_steps {steps} is less than batch_size {batch}, so there are 0 PPO steps",
            f"num_steps {steps} must be greater than the batch size {batch}.",
            f"set num_steps to at least {batch} (it counts samples, not steps)",
        )
    ]


def multi_dataset_packed(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    loader = cfg.get("dataloader")
    if not isinstance(loader, dict) or not truthy(loader.get("packed")):
        return []
    return [
        error(
            ["dataloader.packed"],
            "dataloader.packed is true",
            "Packing not yet supported",
            "set dataloader.packed: false",
        )
    ]


ALL_RECIPES = recipes(
    """full_finetune_single_device full_finetune_distributed lora_finetune_single_device lora_finetune_distributed
    lora_dpo_single_device lora_dpo_distributed full_dpo_distributed ppo_full_finetune_single_device
    knowledge_distillation_single_device knowledge_distillation_distributed qat_distributed qat_lora_finetune_distributed
    generate eleuther_eval quantize dev/lora_finetune_distributed_multi_dataset
    dev/generate_v2 dev/generate_v2_distributed dev/early_exit_finetune_distributed"""
)
"""Every recipe torchtune 0.6.1 ships (`tune ls`), for checks that hold in all of them."""

_FULL_FP16_RECIPES = recipes(
    """full_finetune_single_device full_finetune_distributed lora_finetune_distributed lora_dpo_distributed
    full_dpo_distributed ppo_full_finetune_single_device qat_distributed qat_lora_finetune_distributed
    dev/lora_finetune_distributed_multi_dataset dev/early_exit_finetune_distributed"""
)
_KD_LORA = recipes(
    """lora_finetune_single_device lora_dpo_single_device knowledge_distillation_single_device knowledge_distillation_distributed"""
)
_IN_BWD = recipes(
    """full_finetune_single_device full_finetune_distributed full_dpo_distributed qat_distributed
    dev/early_exit_finetune_distributed"""
)
_OFFLOADING = recipes(
    """full_finetune_single_device full_finetune_distributed lora_finetune_single_device lora_finetune_distributed
    lora_dpo_single_device lora_dpo_distributed full_dpo_distributed qat_distributed
    qat_lora_finetune_distributed dev/lora_finetune_distributed_multi_dataset dev/early_exit_finetune_distributed"""
)
_SFT_DATA = recipes(
    """full_finetune_single_device full_finetune_distributed lora_finetune_single_device lora_finetune_distributed
    qat_distributed qat_lora_finetune_distributed dev/lora_finetune_distributed_multi_dataset dev/early_exit_finetune_distributed"""
)
_LORA_MODEL = recipes(
    """lora_finetune_single_device lora_finetune_distributed lora_dpo_single_device lora_dpo_distributed
    knowledge_distillation_single_device knowledge_distillation_distributed qat_lora_finetune_distributed dev/lora_finetune_distributed_multi_dataset"""
)
_NPU_RECIPES = recipes(
    "full_finetune_single_device lora_finetune_single_device knowledge_distillation_single_device"
)
_PPO = recipes("ppo_full_finetune_single_device")
_TP = recipes("full_finetune_distributed")
_MULTI = recipes("dev/lora_finetune_distributed_multi_dataset")
_SETUP = "recipe _setup_training_parameters"
RECIPE_CHECKS = (
    StartupCheck(fp16_refused_full, "recipe __init__", _FULL_FP16_RECIPES, _FULL_FP16),
    StartupCheck(fp16_refused_lora, "recipe __init__", _KD_LORA, _LORA_FP16),
    StartupCheck(
        dtype_known, "torchtune.training.get_dtype, in recipe __init__", ALL_RECIPES, "training.get_dtype("
    ),
    StartupCheck(clip_with_optimizer_in_bwd, "recipe __init__", _IN_BWD, _CLIP_BWD.split("Please")[0]),
    StartupCheck(
        accumulation_with_optimizer_in_bwd,
        "recipe __init__",
        _IN_BWD | _PPO,
        _ACCUMULATE_BWD.split("Please")[0],
    ),
    StartupCheck(offloading_needs_cuda, "recipe __init__", _OFFLOADING, _OFFLOAD_CUDA),
    StartupCheck(offloading_needs_checkpointing, "recipe __init__", _OFFLOADING, _OFFLOAD_AC),
    StartupCheck(compile_on_npu, "recipe setup", _NPU_RECIPES, _NPU),
    StartupCheck(left_pad_collate, "recipe _setup_data", _SFT_DATA, _LEFT_PAD),
    StartupCheck(
        lora_model_keys, "recipe _setup_model (cfg_model.lora_rank, ...)", _LORA_MODEL, "cfg_model.lora_rank"
    ),
    StartupCheck(tensor_parallel_plan, "recipe __init__", _TP, "Tensor Parallel plan needs"),
    StartupCheck(tensor_parallel_fused, "recipe __init__", _TP, "incompatible with fused optimizer"),
    StartupCheck(ppo_forward_batch, _SETUP, _PPO, "forward_batch_size ({"),
    StartupCheck(ppo_batch, _SETUP, _PPO, "ppo_batch_size ({self._ppo_batch_size})."),
    StartupCheck(ppo_accumulation, _SETUP, _PPO, "by gradient_accumulation_steps ({"),
    StartupCheck(ppo_num_steps, _SETUP, _PPO, "must be greater than the batch size"),
    StartupCheck(multi_dataset_packed, "recipe _setup_data", _MULTI, "Packing not yet supported"),
)
