"""Applying values to a config: the merge rules of the spec.

Dicts merge deeply; scalars and lists replace. A value may change type only in harmless ways:
`None` on either side accepts anything, an int may become a float and back, and an OmegaConf
interpolation (`${output_dir}`) may stand for anything. Every other type change (a string for a
float, a list for a dict) is a `TypeMismatchError` naming the key path: it is almost always a typo
or a quoting mistake that would otherwise surface hours later on the cluster.
"""

from __future__ import annotations

from typing import Any

from ttwriter.errors import KeyPath, MergeError, TypeMismatchError, ValuePath, did_you_mean
from ttwriter.formats import a_noun


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def compatible(old: Any, new: Any) -> bool:
    """Whether `new` may replace `old` without changing what kind of value the key holds."""
    if old is None or new is None or _is_interpolation(old) or _is_interpolation(new):
        return True
    return _kind(old) == _kind(new)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def set_path(config: dict[str, Any], path: KeyPath, value: Any, origin: ValuePath) -> None:
    """Set `path` to `value`, merging dicts deeply and checking types on the way.

    `origin` is where the value is in the experiment (`('controls', 'lora_rank')`): errors name
    it, and are located where it is written.
    """
    node = config
    for depth, key in enumerate(path[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        elif not isinstance(child, dict):
            here = ".".join(path[: depth + 1])
            raise TypeMismatchError(
                f"{here!r} is {_describe(child)} in the config, so it has no key {path[depth + 1]!r}",
                path=origin,
                fix=f"set {here!r} itself, or check the key path",
            )
        node = child
    _merge_into(node, path[-1], value, path, origin)


def _merge_into(node: dict[str, Any], key: str, value: Any, path: KeyPath, origin: ValuePath) -> None:
    if key not in node:
        node[key] = _copy(value)
        return
    old = node[key]
    if isinstance(old, dict) and isinstance(value, dict):
        for sub_key, sub_value in value.items():
            _merge_into(old, sub_key, sub_value, (*path, sub_key), origin)
        return
    if not compatible(old, value):
        dotted = ".".join(path)
        raise TypeMismatchError(
            f"{dotted!r} is {_describe(old)} in the base config, but the experiment sets {_describe(value)}",
            path=origin,
            fix=_type_fix(old, value),
        )
    node[key] = _copy(value)


def _type_fix(old: Any, new: Any) -> str:
    """What to write instead, in the researcher's own value where it can be read as the type."""
    if isinstance(new, str) and isinstance(old, bool):
        word = new.strip().lower()
        if word in ("true", "false"):
            return f"write {word} without quotes"
        return f"give true or false, like the base config's {str(old).lower()}"
    if isinstance(new, str) and isinstance(old, (int, float)):
        spelled = _number_spellings(new)
        if spelled:
            return f"write {' or '.join(spelled)} without quotes"
        return f"give a number, like the base config's {old!r}"
    if isinstance(old, str):
        return f"quote the value so it stays a string (e.g. '{new}')"
    return f"give {a_noun(_kind(old))}, like the base config's {old!r}"


def _number_spellings(text: str) -> list[str]:
    """How to write the number in `text` so that every YAML reader takes it for one: `2`;
    `0.0003` or `3.0e-4` for `3e-4` (YAML 1.1 readers take an exponent without a dot for text)."""
    text = text.strip()
    try:
        int(text.replace("_", ""), 10)
        return [text]
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return []
    if number != number or number in (float("inf"), float("-inf")):
        return []
    mantissa, e, exponent = text.lower().partition("e")
    if not e:
        return [text]
    dotted = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    plain = repr(number)
    return [plain, dotted] if "e" not in plain else [dotted]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def delete_path(config: dict[str, Any], path: KeyPath, origin: ValuePath) -> None:
    """Remove `path` from the config; a path that is not there is an error, not a no-op."""
    node: Any = config
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            here = ".".join(path[: depth + 1])
            hint = did_you_mean(key, node) if isinstance(node, dict) else None
            raise MergeError(
                f"cannot delete {'.'.join(path)!r}: {here!r} is not in the base config"
                + (f"; {hint}" if hint else ""),
                path=origin,
                fix="check the dotted path against the base config",
            )
        if depth == len(path) - 1:
            del node[key]
        else:
            node = node[key]


def copy_config(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a parsed YAML config (dicts, lists and scalars only), faster than deepcopy."""
    return _copy(config)


def copy_value(value: Any) -> Any:
    """A deep copy of any parsed YAML value: a dict, a list or a scalar (returned as it is)."""
    return _copy(value)
