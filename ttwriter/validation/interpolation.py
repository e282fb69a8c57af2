"""Resolving a config's interpolations (`${output_dir}`, `${oc.env:VAR}`) the way torchtune will,
so every other check sees the values a run gets; one that does not resolve is a finding.

Generated configs mostly hold `${output_dir}`-style references; those are resolved directly, in
microseconds, and only anything else (resolvers, relative or nested interpolations, references to
references) goes through OmegaConf, which costs milliseconds per run.
"""

from __future__ import annotations

import re
from typing import Any

from ttwriter.errors import join_key
from ttwriter.validation.report import ERROR, WARNING, Finding


class _Unresolved:
    """Stands for a value whose interpolation did not resolve (reported on its own)."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED = _Unresolved()

_ROOT = re.compile(r"\$\{([A-Za-z_]\w*)")
_SIMPLE_REF = re.compile(r"\$\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}")


def resolve(cfg: Any, omegaconf: Any) -> tuple[Any, list[Finding]]:
    """The OmegaConf config as plain data with interpolations resolved; unresolvable ones are
    UNRESOLVED and reported at their key."""
    findings: list[Finding] = []

    def raw(node: Any, key: Any) -> str:
        try:
            return str(node._get_node(key)._value())
        except Exception:  # internal API moved: the message just shows less
            return "?"

    def walk(node: Any, path: str) -> Any:
        keys = list(node.keys()) if omegaconf.is_dict(node) else list(range(len(node)))
        out: dict[Any, Any] | list[Any] = {} if omegaconf.is_dict(node) else []
        for key in keys:
            here = join_key(path, key)
            try:
                value = node[key]
            except Exception as exc:
                text = raw(node, key)
                env = "oc.env" in text
                findings.append(
                    Finding(
                        WARNING if env else ERROR,
                        "interpolation",
                        here,
                        f"{text!r} does not resolve: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                        "set the environment variable where the job runs, or give a default: ${oc.env:VAR,default}"
                        if env
                        else "point the interpolation at a key that exists, e.g. ${output_dir}",
                    )
                )
                value = UNRESOLVED
            if omegaconf.is_config(value):
                value = walk(value, here)
            if isinstance(out, dict):
                out[key] = value
            else:
                out.append(value)
        return out

    return walk(cfg, ""), findings


def resolve_simple(raw: Any) -> Any:
    """Resolve `${a.b}` references without OmegaConf, or None when anything else is used."""
    if not isinstance(raw, dict):
        return None

    def lookup(dotted: str) -> Any:
        node: Any = raw
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node:
                raise KeyError(dotted)
            node = node[key]
        if isinstance(node, str) and "${" in node or isinstance(node, (dict, list)):
            raise KeyError(dotted)  # a chain or a container: leave it to OmegaConf
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and "${" in node:
            if _SIMPLE_REF.sub("", node).count("${"):
                raise KeyError(node)
            whole = _SIMPLE_REF.fullmatch(node)
            if whole:
                return lookup(whole.group(1))
            return _SIMPLE_REF.sub(lambda m: str(lookup(m.group(1))), node)
        return node

    try:
        return walk(raw)
    except KeyError:
        return None


def contains_unresolved(node: Any) -> bool:
    """Whether a resolved value holds an interpolation that did not resolve, at any depth."""
    if node is UNRESOLVED:
        return True
    if isinstance(node, dict):
        return any(contains_unresolved(v) for v in node.values())
    if isinstance(node, list):
        return any(contains_unresolved(v) for v in node)
    return False


def interpolation_roots(node: Any) -> set[str]:
    """The top-level keys a raw config's interpolations refer to (`${output_dir}/x` -> output_dir)."""
    if isinstance(node, str):
        return set(_ROOT.findall(node))
    if isinstance(node, dict):
        return set().union(set(), *(interpolation_roots(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(set(), *(interpolation_roots(v) for v in node))
    return set()
