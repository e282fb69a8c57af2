"""Reading and writing YAML the way torchtune reads it.

torchtune loads configs with OmegaConf, whose YAML dialect differs from PyYAML's defaults in two
ways that matter: `3e-4` is a float (PyYAML says string) and `2025-11-12` is a string (PyYAML says
date). ttwriter reads experiment.yaml and base configs with OmegaConf's rules, so what a researcher
writes means what torchtune will see, and writes configs that OmegaConf reads back unchanged.

Reading also keeps the line of every key, for error messages, and refuses duplicate keys, which
PyYAML silently resolves by keeping the last one. Whatever the text, reading ends quickly with
data or an error naming the line: nesting, aliases, long integers and NUL bytes are bounded here
(see ttwriter.safe_read for the limits).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ttwriter.errors import COMMAND_LINE, ExperimentLoadError, KeyPath
from ttwriter.safe_read import MAX_DEPTH, MAX_INT_DIGITS, int_fits, read_text

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


class _Limits(yaml.MarkedYAMLError):
    """A document ttwriter refuses to build: too deep, too long an integer, a NUL byte."""

    def __init__(self, problem: str, mark: Any, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    digits = len(node.value.lstrip("+-").replace("_", ""))
    if digits > MAX_INT_DIGITS:
        raise _Limits(
            f"an integer with {digits} digits (more than {MAX_INT_DIGITS}, Python's limit)",
            node.start_mark,
            f"quote it to keep it as text ('{node.value[:20]}...'), or write it as a float",
        )
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    if not int_fits(value):  # 0x... and 0b... integers are not limited on reading, only on writing
        raise _Limits(
            f"an integer longer than {MAX_INT_DIGITS} decimal digits, which cannot be written back",
            node.start_mark,
            f"quote it to keep it as text ('{node.value[:20]}...'), or write it as a float",
        )
    return value


@dataclasses.dataclass(frozen=True)
class AliasUse:
    """`*name` in the text: where, the node it stands for, and the node it stands in."""

    anchor: str
    mark: Any  # yaml.Mark, or libyaml's
    node: yaml.Node
    parent: yaml.Node | None


class _Loader(yaml.SafeLoader):
    """SafeLoader with OmegaConf's scalar rules (exponent floats, no timestamps) that stops at
    MAX_DEPTH levels, before its recursive composer reaches Python's recursion limit, and records
    where each alias is used, for the error about an expansion."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.alias_uses: list[AliasUse] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node: Any = super().compose_node(parent, index)
            self.alias_uses.append(AliasUse(str(event.anchor), event.start_mark, node, parent))
            return node
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _too_deep(event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
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


def _too_deep(mark: Any) -> _Limits:
    return _Limits(
        f"lists and mappings nested more than {MAX_DEPTH} levels deep",
        mark,
        "flatten the value that starts on that line (torchtune configs nest a few levels)",
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


MIN_EXPANSION = 10_000
EXPANSION_FACTOR = 20
"""A document whose aliases (`*name`) expand it to more than MIN_EXPANSION values and more than
EXPANSION_FACTOR times the values it writes is refused: every later step (freezing, merging,
dumping each run) would copy the whole expansion ("billion laughs")."""


def _is_plain_tree(root: yaml.Node) -> bool:
    """The common case, checked fast (validation reads every run's config): no node is reached
    twice (no aliases), no NUL byte, nesting within MAX_DEPTH. False means: look closer."""
    seen: set[int] = set()
    stack = [(root, 0)]
    scalar, mapping = yaml.ScalarNode, yaml.MappingNode
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            return False
        seen.add(id(node))
        if node.__class__ is scalar:
            if "\0" in node.value:
                return False
            continue
        depth += 1
        if depth > MAX_DEPTH:
            return False
        if node.__class__ is mapping:
            for key, value in node.value:
                stack.append((key, depth))
                stack.append((value, depth))
        else:
            stack.extend((item, depth) for item in node.value)
    return True


def _check_graph(root: yaml.Node, alias_uses: Sequence[AliasUse]) -> None:
    """Visit every node once, however often aliases repeat it: refuse an alias inside its own
    anchor, nesting deeper than MAX_DEPTH, a NUL byte, and an expansion far larger than the text."""
    if not alias_uses and _is_plain_tree(root):
        return
    shape: dict[int, tuple[int, int]] = {}  # id(node) -> (levels of nesting, values it expands to)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            kids = [shape[id(k)] for k in _children(node)]
            height = 0 if isinstance(node, yaml.ScalarNode) else 1 + max((h for h, _ in kids), default=0)
            shape[key] = (height, 1 + sum(n for _, n in kids))
            continue
        if key in shape:
            continue
        if key in open_nodes:
            raise _Limits(
                "an alias refers to the anchor it is inside of, so the value contains itself",
                node.start_mark,
                "an anchor (&name) cannot be used (*name) inside its own value: write the inner "
                "value out instead",
            )
        if isinstance(node, yaml.ScalarNode) and "\0" in node.value:
            raise _Limits(
                f"a NUL byte (\\0) in {node.value!r}: no path or setting can hold one",
                node.start_mark,
                f"remove it: {node.value.replace(chr(0), '')!r}",
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in shape)
    height, total = shape[id(root)]
    if height > MAX_DEPTH:  # through aliases: the text itself is checked while it is composed
        # Down the deepest path; blame the first alias on it, which the text nests too deep.
        uses = {(id(use.parent), id(use.node)): use.mark for use in alias_uses}
        node, mark = root, None
        for _ in range(MAX_DEPTH):
            child = max(_children(node), key=lambda n: shape[id(n)][0])
            mark = mark or uses.get((id(node), id(child)))
            node = child
        raise _too_deep(mark or node.start_mark)
    written = len(shape)
    if total > MIN_EXPANSION and total > EXPANSION_FACTOR * written:
        largest = [(shape[id(u.node)][1], -i, u.anchor, u.mark) for i, u in enumerate(alias_uses)]
        where, fix, mark = "", "write the repeated values out instead of aliasing them", root.start_mark
        if largest:
            size, _, anchor, mark = max(largest)
            where = f"; alias *{anchor} alone stands for {size:,} values"
            fix = f"write the value of &{anchor} out where it is needed, without aliases inside it"
        raise _Limits(
            f"aliases expand this document to {total:,} values from {written:,} written{where}: "
            "every later step would copy them all",
            mark,
            fix,
        )


def _key_lines(root: yaml.Node, source: str) -> dict[KeyPath, int]:
    """The line of each key, and duplicates refused naming both lines. Each mapping is visited
    once: keys reached only through an alias keep the line of the alias's parent key."""
    lines: dict[KeyPath, int] = {}
    visited: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    while stack:
        node, prefix = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        children: list[tuple[yaml.Node, KeyPath]] = []
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
                children.append((value_node, (*prefix, key)))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*prefix, str(index))) for index, item in enumerate(node.value)]
        stack.extend(reversed(children))  # in document order: an anchor before its aliases
    return lines


_UNCLOSED = {
    "while parsing a flow sequence": ("list", "]"),
    "while parsing a flow mapping": ("mapping", "}"),
    "while scanning a quoted scalar": ("quoted text", None),
}
"""Errors PyYAML reports where the text ends or goes on, for something opened earlier."""


def _yaml_error(exc: yaml.YAMLError, source: str, flag: str | None, text: str) -> ExperimentLoadError:
    """The error for text PyYAML cannot read; `flag` is the command-line flag it was given for."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ExperimentLoadError(
            f"not valid YAML: {exc}", file=source, key=flag, fix=_quote_fix(flag, text)
        )
    problem = " ".join(p for p in (exc.context, exc.problem) if p)
    mark = exc.problem_mark or exc.context_mark
    lines = text.splitlines()
    fix = _quote_fix(flag, text) if flag is not None else "check indentation and quoting on that line"
    if isinstance(exc, _Limits):
        fix = exc.fix
    elif exc.context in _UNCLOSED and exc.context_mark is not None:
        # Where it opens, not where the text ends: that may be past the last line.
        mark = exc.context_mark
        what, closer = _UNCLOSED[exc.context]
        opened = lines[mark.line].split(" #")[0].rstrip() if mark.line < len(lines) else ""
        opener = opened[mark.column : mark.column + 1]
        problem = f"the {what} opened with {opener!r}{' on this line' * (flag is None)} is never closed"
        if flag is None:
            end = closer or opener
            fix = (
                f"close it: {opened.strip()}{end}"
                if opened and not opened.endswith(",")
                else f"close it with {end!r} where it ends"
            )
    elif "'\\t'" in (exc.problem or ""):
        problem = "a tab character, which YAML does not allow for indentation"
        if flag is None:
            fix = "YAML does not allow tabs for indentation: use spaces"
    elif "constructor for the tag" in (exc.problem or "") and flag is None:
        fix = "only plain YAML is accepted: remove the tag (the !!... before the value)"
    line = None
    if mark is not None and flag is None:
        line = min(mark.line + 1, max(len(lines), 1))  # never past the end of the file
    return ExperimentLoadError(
        problem if isinstance(exc, _Limits) else f"not valid YAML: {problem}",
        file=source,
        line=line,
        key=flag,
        fix=fix,
    )


def _quote_fix(flag: str | None, text: str) -> str:
    if flag is None:
        return "check indentation and quoting on that line"
    quoted = shlex.quote(json.dumps(text, ensure_ascii=False))  # a YAML double-quoted string
    return f"the value is read as YAML; to pass it as text, quote it: {flag}{'=' if ' ' in flag else ' '}{quoted}"


def parse_yaml(text: str, source: str = "<string>") -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return the data and the 1-based line of every key path.

    `source` names the text (a file) in errors. The work is bounded by the text's size: each node
    is visited once however often aliases repeat it, and a document that aliases would expand far
    beyond its text is refused.
    """
    return _parse(text, source, None)


def _parse(text: str, source: str, flag: str | None) -> tuple[Any, dict[KeyPath, int]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_graph(node, loader.alias_uses)
        lines = _key_lines(node, source)
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, flag, text) from None
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


_CLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_config_file(path: Path) -> Any:
    """A generated config as OmegaConf would read it (`3e-4` a float), parsed by libyaml, with the
    same bounds as `parse_yaml` (a config edited by hand could hold anything)."""
    loader = _CLoader(read_text(path))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, ())
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, str(path), None, "") from None
    finally:
        loader.dispose()


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read a UTF-8 YAML file with OmegaConf's scalar rules; see `parse_yaml`."""
    return parse_yaml(read_text(path), str(path))


def parse_scalar(text: str, key: str | None = None) -> Any:
    """Read one command-line value as YAML would: `1e-4` is a float, `null` is None, `[4, 8]` a list.

    `key` is the flag as the user gave it (`--set epochs`, `--controls.lr`), for errors, which
    name the command line."""
    value, _ = _parse(text, COMMAND_LINE, key)
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
