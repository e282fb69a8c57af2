"""Start-up constraints of torchtune's model, checkpointer and loss builders.

LoRA builders refuse an empty `lora_attn_modules` and, where the output projection is tied to
the embeddings, `apply_lora_to_output`; checkpointers refuse model types and file lists they
cannot read; SymmetricKLLoss refuses a ratio outside [0, 1]. A misspelled LoRA module name is
worse than an error: torchtune ignores it. These apply to every recipe, a user's own included.
See startup.checks for the design.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

from ttwriter.errors import did_you_mean, join_key
from ttwriter.validation.components import component_nodes
from ttwriter.validation.report import ERROR, Finding
from ttwriter.validation.startup.checks import (
    CHECK,
    StartupCheck,
    component,
    error,
    number,
    show,
    torchtune_name,
    truthy,
)

LORA_ATTN_MODULES = ("q_proj", "k_proj", "v_proj", "output_proj")
"""`torchtune.modules.peft.LORA_ATTN_MODULES` (a Literal); tests pin it to torchtune's."""
MODEL_TYPES = (
    "GEMMA",
    "GEMMA2",
    "LLAMA2",
    "LLAMA3",
    "LLAMA3_2",
    "LLAMA3_VISION",
    "MISTRAL",
    "PHI3_MINI",
    "PHI4",
    "REWARD",
    "QWEN2",
    "CLIP_TEXT",
    "T5_ENCODER",
)
"""Member names of `torchtune.training.checkpointing.ModelType`; tests pin it to torchtune's."""


def _models(cfg: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every torchtune LoRA model builder node (`lora_*`, `qlora_*`), at any depth."""
    for path, node in component_nodes(cfg):
        name = torchtune_name(node)
        if name and name.startswith(("lora_", "qlora_")) and component(node).startswith("torchtune.models."):  # type: ignore[union-attr]
            yield path, node, name


def lora_attn_modules_empty(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return [
        error(
            [join_key(path, "lora_attn_modules")],
            f"{join_key(path, 'lora_attn_modules')} is empty",
            f"Must pass one or more of typing.Literal{list(LORA_ATTN_MODULES)!r} as lora_modules",
            f"list at least one of {', '.join(LORA_ATTN_MODULES)}, e.g. ['q_proj', 'v_proj']",
        )
        for path, node, _ in _models(cfg)
        if node.get("lora_attn_modules") == []
        and not component(node).startswith(("torchtune.models.llama3_2_vision.", "torchtune.models.clip."))  # type: ignore[union-attr]
    ]


def lora_attn_modules_unknown(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    """Not a start-up error: torchtune tests `"q_proj" in lora_attn_modules`, so a misspelled
    name silently trains without LoRA on that projection."""
    findings = []
    for path, node, _ in _models(cfg):
        modules = node.get("lora_attn_modules")
        for i, module in enumerate(modules if isinstance(modules, list) else []):
            if isinstance(module, str) and module not in LORA_ATTN_MODULES:
                hint = did_you_mean(module, LORA_ATTN_MODULES, n=1, capital=True)
                here = join_key(join_key(path, "lora_attn_modules"), i)
                findings.append(
                    Finding(
                        ERROR,
                        CHECK,
                        here,
                        f"{module!r} is not one of {', '.join(LORA_ATTN_MODULES)}: torchtune silently "
                        "ignores it, so no LoRA adapter would be trained there",
                        hint or f"use one of {', '.join(LORA_ATTN_MODULES)}",
                    )
                )
    return findings


_TIED = (
    "apply_lora_to_output is currently not supporting in llama3.2 1b and 3b,"
    "as the projection layer weights are tied to the embeddings"
)
_TIED_QWEN = "apply_lora_to_output is incompatible with tie_word_embeddings, as there would be no output to apply lora to!"
_TIED_OUTPUT = {
    **dict.fromkeys(
        ["lora_llama3_2", "lora_llama3_2_1b", "lora_llama3_2_3b", "qlora_llama3_2_1b", "qlora_llama3_2_3b"],
        _TIED,
    ),
    **dict.fromkeys(
        ["lora_qwen2_5_0_5b", "lora_qwen2_5_1_5b_base", "lora_qwen2_5_1_5b_instruct", "lora_qwen2_5_3b"],
        _TIED_QWEN,
    ),
}
"""LoRA builders whose output projection is tied to the embeddings (tests build each one)."""


def lora_output_tied(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    for path, node, name in _models(cfg):
        raises = _TIED_OUTPUT.get(name)
        if name == "lora_qwen2" and truthy(node.get("tie_word_embeddings")):
            raises = _TIED_QWEN
        if raises and truthy(node.get("apply_lora_to_output")):
            findings.append(
                error(
                    [join_key(path, "apply_lora_to_output")],
                    f"{join_key(path, 'apply_lora_to_output')} is true on {name}, whose output "
                    "projection is the embedding matrix",
                    raises,
                    f"set {join_key(path, 'apply_lora_to_output')}: false",
                )
            )
    return findings


def _checkpointers(cfg: dict[str, Any], names: set[str]) -> Iterator[tuple[str, dict[str, Any], str]]:
    for path, node in component_nodes(cfg):
        name = torchtune_name(node)
        if name in names:
            yield path, node, name


def checkpoint_single_file(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    for path, node, name in _checkpointers(
        cfg, {"FullModelTorchTuneCheckpointer", "FullModelMetaCheckpointer"}
    ):
        files = node.get("checkpoint_files")
        if isinstance(files, (list, dict)) and len(files) != 1:
            findings.append(
                error(
                    [join_key(path, "checkpoint_files")],
                    f"{join_key(path, 'checkpoint_files')} has {len(files)} entries and {name} reads one file",
                    "Currently we only support reading from a single checkpoint file. "
                    f"Got {len(files)} files instead.",
                    "list the one checkpoint file, or use torchtune.training.FullModelHFCheckpointer "
                    "for sharded Hugging Face checkpoints",
                )
            )
    return findings


def checkpoint_model_type(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    names = {"FullModelHFCheckpointer", "FullModelMetaCheckpointer", "FullModelTorchTuneCheckpointer"}
    for path, node, _ in _checkpointers(cfg, names):
        model_type = node.get("model_type")
        if isinstance(model_type, str) and model_type not in MODEL_TYPES:
            if model_type.upper() in MODEL_TYPES:
                fix = f"write it in capitals: {model_type.upper()}"
            else:
                hint = did_you_mean(model_type.upper(), MODEL_TYPES, capital=True)
                fix = hint or f"use one of {', '.join(MODEL_TYPES)}"
            findings.append(
                error(
                    [join_key(path, "model_type")],
                    f"{join_key(path, 'model_type')} {model_type!r} is not a torchtune ModelType",
                    f"KeyError: {model_type!r}",
                    fix,
                )
            )
    return findings


def checkpoint_files_format(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    """`checkpoint_files: {filename_format, max_filename}`, the short form for many shards."""
    findings = []
    for path, node, _ in _checkpointers(cfg, {"FullModelHFCheckpointer"}):
        files = node.get("checkpoint_files")
        if not isinstance(files, dict):
            continue
        here = join_key(path, "checkpoint_files")
        if "filename_format" not in files or "max_filename" not in files:
            missing = [k for k in ("filename_format", "max_filename") if k not in files]
            findings.append(
                error(
                    [here],
                    f"{here} has no {' or '.join(missing)}",
                    "Must pass 'filename_format' and 'max_filename' keys to generate checkpoint filenames",
                    f"give {here} both, e.g. filename_format: model-{{}}-of-{{}}.safetensors, "
                    'max_filename: "00004"',
                )
            )
            continue
        biggest = files["max_filename"]
        if not isinstance(biggest, str):
            findings.append(
                error(
                    [join_key(here, "max_filename")],
                    f"{join_key(here, 'max_filename')} is the {type(biggest).__name__} {show(biggest)}",
                    f"`max_filename` must be a string, but found {type(biggest)} instead.",
                    'quote it as the last file name spells it, e.g. max_filename: "00030" (unquoted, YAML '
                    "reads it as a number, and one with a leading 0 in octal)",
                )
            )
        pattern = files["filename_format"]
        if isinstance(pattern, str) and (count := _placeholders(pattern)) != 2:
            findings.append(
                error(
                    [join_key(here, "filename_format")],
                    f"{join_key(here, 'filename_format')} {pattern!r} has {count} placeholders",
                    "Filename format string must have exactly two placeholders, e.g. 'file_{i}_of_{n_files}.pth'",
                    "use one {} for the shard number and one for the count, e.g. model-{}-of-{}.safetensors",
                )
            )
    return findings


def _placeholders(pattern: str) -> int | None:
    try:
        return sum(field is not None for _, field, _, _ in string.Formatter().parse(pattern))
    except ValueError:
        return None


def sym_kd_ratio_range(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    for path, node in component_nodes(cfg):
        ratio = number(node.get("sym_kd_ratio"))
        if (
            torchtune_name(node) in ("SymmetricKLLoss", "SymmetricKLWithChunkedOutputLoss")
            and ratio is not None
            and not 0.0 <= ratio <= 1.0
        ):
            findings.append(
                error(
                    [join_key(path, "sym_kd_ratio")],
                    f"{join_key(path, 'sym_kd_ratio')} is {ratio}",
                    "sym_kd_ratio must be in the range [0, 1]",
                    "give a ratio between 0 (reverse KL) and 1 (forward KL)",
                )
            )
    return findings


MODEL_CHECKS = (
    StartupCheck(lora_attn_modules_empty, "torchtune.models.*.lora_*_self_attention"),
    StartupCheck(lora_attn_modules_unknown, "torchtune.models.* LoRA builders (silently ignored)"),
    StartupCheck(
        lora_output_tied, "torchtune.models.llama3_2.lora_llama3_2, torchtune.models.qwen2.lora_qwen2"
    ),
    StartupCheck(checkpoint_single_file, "torchtune.training.FullModel{TorchTune,Meta}Checkpointer.__init__"),
    StartupCheck(
        checkpoint_model_type, "torchtune.training.FullModel*Checkpointer.__init__: ModelType[model_type]"
    ),
    StartupCheck(checkpoint_files_format, "torchtune.training.FormattedCheckpointFiles.from_dict"),
    StartupCheck(sym_kd_ratio_range, "torchtune.modules.loss.SymmetricKLLoss.__init__"),
)
