"""Reading and writing YAML the way torchtune reads it.

torchtune loads configs with OmegaConf, whose YAML dialect differs from PyYAML's defaults in two
ways that matter: `3e-4` is a float (PyYAML says string) and `2025-11-12` is a string (PyYAML says
date). ttwriter reads experiment.yaml and base configs with OmegaConf's rules, so what a researcher
writes means what torchtune will see, and writes configs that OmegaConf reads back unchanged.

Reading also keeps the line of every key, for error messages, and refuses duplicate keys, which
PyYAML silently resolves by keeping the last one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ttwriter.errors import ExperimentLoadError

KeyPath = tuple[str, ...]

# OmegaConf's float resolver (omegaconf/_yaml.py): exponent floats without a dot are floats.
_FLOAT_TAG = "tag:yaml.org,2002:float"
_FLOAT_RE = re.compile(
    """^(?:
     [-+]?[0-9]+(?:_[0-9]+)*\\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
    |\\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\\.[0-9_]*
    |[-+]?\\.(?:inf|Inf|INF)
    |\\.(?:nan|NaN|NAN))$""",
    re.X,
)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader with OmegaConf's scalar rules: exponent floats, no timestamps."""


_Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


# libyaml's emitter when PyYAML has it: same output, about 6x faster, which large sweeps notice.
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):  # type: ignore[valid-type, misc]
    """SafeDumper that quotes every string a YAML or OmegaConf reader would take for another type."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
_Dumper.add_representer(tuple, yaml.SafeDumper.represent_list)


def _represent_mapping(dumper: yaml.SafeDumper, data: Mapping[str, Any]) -> yaml.Node:
    return dumper.represent_dict(dict(data))


_Dumper.add_multi_representer(Mapping, _represent_mapping)


def _key_lines(node: yaml.Node, source: str, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    """Record the line of each key and refuse duplicates, naming both lines."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = ".".join((*prefix, key))
                raise ExperimentLoadError(
                    f"duplicate key {dotted!r} (first on line {seen[key]}, again on line {line}); "
                    "YAML would silently keep only the last one",
                    file=source,
                    line=line,
                    key=dotted,
                    fix="remove one of the two, or merge their contents",
                )
            seen[key] = line
            lines[(*prefix, key)] = line
            _key_lines(value_node, source, (*prefix, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _key_lines(item, source, (*prefix, str(index)), lines)


def parse_yaml(text: str, source: str = "<string>") -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return the data and the 1-based line of every key path."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is None:
            return None, lines
        _key_lines(node, source, (), lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ExperimentLoadError(
            f"not valid YAML: {problem}",
            file=source,
            line=mark.line + 1 if mark else None,
            fix="check indentation and quoting on that line; only plain YAML is accepted (no !!python tags)",
        ) from None
    except yaml.YAMLError as exc:
        raise ExperimentLoadError(f"not valid YAML: {exc}", file=source) from None
    finally:
        loader.dispose()


# libyaml's parser with the same scalar rules, for reading back configs ttwriter wrote (no lines
# needed, no duplicates possible): validation of large sweeps reads every run's file.
_CLoader: type[Any] = type("_CLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
_CLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
_CLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _CLoader.yaml_implicit_resolvers.items()
}


def load_config_file(path: Path) -> Any:
    """A generated config as OmegaConf would read it (`3e-4` a float), parsed by libyaml."""
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_CLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read a YAML file with OmegaConf's scalar rules; see `parse_yaml`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentLoadError(f"cannot read file: {exc.strerror}", file=path) from None
    return parse_yaml(text, str(path))


def parse_scalar(text: str) -> Any:
    """Read one command-line value as YAML would: `1e-4` is a float, `null` is None, `[4, 8]` a list."""
    value, _ = parse_yaml(text)
    return "" if value is None and text.strip() not in ("null", "~", "Null", "NULL") else value


def dump_yaml(data: Any) -> str:
    """Block-style YAML, keys in insertion order, every ambiguous string quoted."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")


def writes_plain(text: str) -> bool:
    """Whether `dump_yaml` writes this string as it is, unquoted, wherever it stands in block style.

    Conservative, for fast paths: letters, digits and `_./-` only, not starting with a digit, `.`
    or `-`, and not a word YAML would read as another type (`yes`, `null`). False means: dump it.
    """
    return _PLAIN.fullmatch(text) is not None and not any(
        regexp.match(text) for _, regexp in _Dumper.yaml_implicit_resolvers.get(text[0], ())
    )


def dump_scalar(value: Any) -> str:
    """One value in flow style, for `--help` defaults and run tables: `0.0003`, `[4, 8]`, `null`."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1_000_000)
    text = text.strip()
    return text[: -len("...")].strip() if text.endswith("...") else text
