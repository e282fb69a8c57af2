"""Start-up constraints of torchtune's dataset builders (and the `load_dataset` they call).

Each function is one constraint a builder raises on when the recipe instantiates the dataset;
which builder a node is comes from its `_component_` path, and omitted arguments take the
builder's default (read from torchtune's source). These apply to every recipe, a user's own
included. See startup.checks for the design and docs/validation.md for the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ttwriter.errors import did_you_mean, join_key
from ttwriter.validation.components import component_nodes
from ttwriter.validation.report import Finding
from ttwriter.validation.startup.checks import (
    StartupCheck,
    argument,
    component,
    error,
    show,
    torchtune_name,
    truthy,
)

_PACKS = frozenset(
    {
        "alpaca_dataset",
        "alpaca_cleaned_dataset",
        "chat_dataset",
        "grammar_dataset",
        "instruct_dataset",
        "samsum_dataset",
        "slimorca_dataset",
        "text_completion_dataset",
    }
)
"""Dataset builders that wrap their data in a PackedDataset of `tokenizer.max_seq_len`."""
_PREFERENCE = frozenset({"preference_dataset", "hh_rlhf_helpful_dataset", "stack_exchange_paired_dataset"})
_MULTIMODAL = frozenset(
    {"llava_instruct_dataset", "multimodal_chat_dataset", "the_cauldron_dataset", "vqa_dataset"}
)
_LOCAL_LOADERS = frozenset({"json", "csv", "text", "parquet", "arrow"})
"""Hugging Face loaders that read `data_files`, whose splits are therefore known from the config."""


def _datasets(cfg: dict[str, Any], names: frozenset[str]) -> Iterator[tuple[str, dict[str, Any], str]]:
    for path, node in component_nodes(cfg.get("dataset"), "dataset"):
        name = torchtune_name(node)
        if name in names:
            yield path, node, name


def packed_needs_max_seq_len(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    tokenizer = cfg.get("tokenizer")
    if component(tokenizer) is None or argument(tokenizer, "max_seq_len") is not None:  # type: ignore[arg-type]
        return []  # a length, or a default that cannot be read here
    assert isinstance(tokenizer, dict)
    length = "null" if "max_seq_len" in tokenizer else "not set (its default is null)"
    return [
        error(
            [join_key(path, "packed"), "tokenizer.max_seq_len"],
            f"{join_key(path, 'packed')} is true but tokenizer.max_seq_len is {length}",
            "PackedDataset requires a max_seq_len to be set on the tokenizer.",
            f"set tokenizer.max_seq_len to the length to pack to (e.g. 2048), or {join_key(path, 'packed')}: false",
        )
        for path, node, _ in _datasets(cfg, _PACKS)
        if truthy(argument(node, "packed"))
    ]


def _packing_refused(cfg: dict[str, Any], builders: frozenset[str], raises: str, fix: str) -> list[Finding]:
    """`packed: true` on a builder that refuses packing; `fix` names the key as `{key}`."""
    return [
        error(
            [join_key(path, "packed")],
            f"{join_key(path, 'packed')} is true on {name}",
            raises,
            fix.format(key=join_key(path, "packed")),
        )
        for path, node, name in _datasets(cfg, builders)
        if truthy(node.get("packed"))
    ]


def packed_preference_dataset(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _packing_refused(
        cfg, _PREFERENCE, "Packed is currently not supported for preference datasets.", "remove {key}"
    )


def packed_multimodal_dataset(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    return _packing_refused(
        cfg, _MULTIMODAL, "Multimodal datasets don't support packing yet.", "set {key}: false"
    )


def concat_packed_and_unpacked(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    datasets = cfg.get("dataset")
    if not isinstance(datasets, list) or not all(component(d) for d in datasets):
        return []
    packed = [truthy(argument(d, "packed")) for d in datasets]
    if not any(packed) or all(packed):
        return []
    keys = [f"dataset[{i}].packed" for i in range(len(datasets))]
    state = ", ".join(f"{k}: {show(p)}" for k, p in zip(keys, packed, strict=True))
    return [
        error(
            keys,
            f"the datasets of the list mix packed and unpacked ({state})",
            "ConcatDataset can't process a mix of packed and non-packed datasets.",
            "give every dataset of the list the same packed value",
        )
    ]


_COLUMN_MAPS: dict[str, tuple[tuple[str, ...], bool]] = {
    "instruct_dataset": (("input", "output"), False),
    "grammar_dataset": (("input", "output"), False),
    "vqa_dataset": (("input", "output"), False),
    "samsum_dataset": (("input", "output"), True),
    "slimorca_dataset": (("conversations",), True),
    "multimodal_chat_dataset": (("conversations",), True),
    "llava_instruct_dataset": (("conversations",), True),
    "preference_dataset": (("chosen", "rejected"), True),
    "hh_rlhf_helpful_dataset": (("chosen", "rejected"), True),
    "the_cauldron_dataset": (("images", "texts"), False),
}
"""Builder -> the keys its message transform requires of a given column_map, and whether an
empty map counts as not given (`if column_map:`) rather than given (`is not None`)."""


def column_map_keys(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    for path, node, name in _datasets(cfg, frozenset(_COLUMN_MAPS)):
        column_map = node.get("column_map")
        required, empty_is_unset = _COLUMN_MAPS[name]
        if not isinstance(column_map, dict) or (empty_is_unset and not column_map):
            continue
        here = join_key(path, "column_map")
        for key in required:
            if key in column_map:
                continue
            raises = (
                f"column_map must map '{key}' to your expected column name if specified"
                if name == "the_cauldron_dataset"
                else f"Expected a key of '{key}' in column_map but found dict_keys({list(column_map)!r})."
            )
            hint = did_you_mean(key, [k for k in column_map if k not in required])
            fix = f"map {key!r} to the column that holds it: {here}.{key}: <column>"
            findings.append(
                error([here], f"{here} has no {key!r} key", raises, fix + (f" ({hint})" if hint else ""))
            )
        image_dir = node.get("image_dir")
        if name == "vqa_dataset" and image_dir is not None and "image" not in column_map:
            findings.append(
                error(
                    [here, join_key(path, "image_dir")],
                    f"{join_key(path, 'image_dir')} is set but {here} has no 'image' key",
                    f"image_dir is specified as {image_dir} but 'image' is not in column_map. "
                    "Please specify an 'image' key in column_map.",
                    f"add {here}.image: <the column with the image paths>",
                )
            )
    return findings


def chat_conversation_style(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    findings = []
    for path, node, _ in _datasets(cfg, frozenset({"chat_dataset"})):
        style = node.get("conversation_style")
        if isinstance(style, str) and style not in ("sharegpt", "openai"):
            hint = did_you_mean(style, ["sharegpt", "openai"], capital=True)
            findings.append(
                error(
                    [join_key(path, "conversation_style")],
                    f"{join_key(path, 'conversation_style')} is {style!r}",
                    f"Unsupported conversation style: {style}",
                    hint or "use 'sharegpt' or 'openai'",
                )
            )
    return findings


def local_split(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    """A split a local data file does not have: `load_dataset` fails before any training."""
    findings = []
    for path, node in component_nodes(cfg.get("dataset"), "dataset"):
        if torchtune_name(node) is None or argument(node, "source") not in _LOCAL_LOADERS:
            continue
        files = node.get("data_files")
        if isinstance(files, (str, list)):
            splits = ["train"]
        elif isinstance(files, dict):
            splits = [str(k) for k in files]
        else:
            continue
        split = argument(node, "split")
        if not isinstance(split, str):
            continue
        for part in split.split("+"):
            base = part.split("[", 1)[0].strip()
            if base and base not in splits:
                findings.append(
                    error(
                        [join_key(path, "split"), join_key(path, "data_files")],
                        f"{join_key(path, 'split')} is {split!r} but {join_key(path, 'data_files')} only gives "
                        f"the split{'s' * (len(splits) != 1)} {', '.join(splits)}",
                        f'Unknown split "{base}". Should be one of {splits!r}.',
                        f"set {join_key(path, 'split')}: train (a slice such as 'train[:10%]' also works), "
                        f"or give data_files as a mapping, e.g. {{{base}: <file>}}",
                    )
                )
    return findings


_DATA = "torchtune.datasets"
DATASET_CHECKS = (
    StartupCheck(packed_needs_max_seq_len, f"{_DATA}.alpaca_dataset and the other SFT builders, packed=True"),
    StartupCheck(packed_preference_dataset, f"{_DATA}.PreferenceDataset.__init__"),
    StartupCheck(packed_multimodal_dataset, f"{_DATA}.multimodal builders, packed=True"),
    StartupCheck(concat_packed_and_unpacked, f"{_DATA}.ConcatDataset.__init__"),
    StartupCheck(column_map_keys, "torchtune.data message transforms (InputOutputToMessages, ...).__init__"),
    StartupCheck(chat_conversation_style, f"{_DATA}.chat_dataset"),
    StartupCheck(local_split, "datasets.load_dataset, called by every dataset builder"),
)
