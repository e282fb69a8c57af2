"""The one `{name}` grammar of ttwriter's templates: config values, the output folder, the training
command.

- `{name}` is a placeholder: a letter or `_`, then letters, digits, `_` and `.` (variables may
  have dotted names, `{dataset.packed}`);
- `{{` and `}}` are literal braces, as in `str.format`;
- `${...}` is copied through untouched, braces nested inside it too: an OmegaConf interpolation
  in a config value, a shell variable in the training command. The output folder, which is
  neither, reads `$` as a plain character (`interpolations=False`);
- any other `{...}` is not a placeholder. In a config value or the command it is text (a JSON
  string stays JSON, shell braces stay shell); the output folder, whose names are few and fixed,
  asks for `strict` tokens, and reports such a group as an unknown placeholder.

Each caller decides which names exist (`run_id`, `experiment_name` and the variables for config
values; `experiment_name` and `timestamp` for the output folder; `recipe`, `config`, ... for the
command) and how a value is written in place of its placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

TEXT, NAME, MALFORMED = "text", "name", "malformed"
"""Kinds of token: literal text, a placeholder's name, a `{...}` group that is not a placeholder."""

_NAME = re.compile(r"\{([A-Za-z_][\w.]*)\}")
_GROUP = re.compile(r"\{([^{}]*)\}")


def tokens(text: str, *, interpolations: bool = True, strict: bool = False) -> list[tuple[str, str]]:
    """`text` as (kind, piece) tokens, left to right; see the module docstring for the grammar."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if interpolations and text.startswith("${", i):
            depth, j = 0, i + 1
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append((TEXT, text[i:j]))
            i = j
        elif text.startswith(("{{", "}}"), i):
            out.append((TEXT, text[i]))
            i += 2
        elif (match := _NAME.match(text, i)) is not None:
            out.append((NAME, match.group(1)))
            i = match.end()
        elif strict and (match := _GROUP.match(text, i)) is not None:
            out.append((MALFORMED, match.group(1)))
            i = match.end()
        else:
            out.append((TEXT, text[i]))
            i += 1
    return out


def names(value: Any, *, interpolations: bool = True) -> set[str]:
    """The placeholder names in a string, or anywhere in a config value (dicts and lists)."""
    if isinstance(value, str):
        return {piece for kind, piece in tokens(value, interpolations=interpolations) if kind == NAME}
    if isinstance(value, dict):
        return set().union(*(names(v, interpolations=interpolations) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(names(v, interpolations=interpolations) for v in value))
    return set()


def unknown(text: str, allowed: Collection[str], *, interpolations: bool = True) -> list[str]:
    """Placeholders of `text` that are not `allowed`, and (strict) groups that are not placeholders."""
    return [
        piece
        for kind, piece in tokens(text, interpolations=interpolations, strict=True)
        if kind == MALFORMED or (kind == NAME and piece not in allowed)
    ]


def substitute(
    value: Any,
    values: Mapping[str, Any],
    write: Callable[[Any], str] = str,
    *,
    interpolations: bool = True,
) -> Any:
    """`value` with every placeholder replaced by `write(values[name])`, in strings at any depth
    of dicts and lists; `{{` and `}}` become single braces. Unknown names are a KeyError: check
    them first."""
    if isinstance(value, str):
        return "".join(
            write(values[piece]) if kind == NAME else piece
            for kind, piece in tokens(value, interpolations=interpolations)
        )
    if isinstance(value, dict):
        return {k: substitute(v, values, write, interpolations=interpolations) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values, write, interpolations=interpolations) for v in value]
    return value


def is_template(value: Any) -> bool:
    """Whether a value changes when placeholders are filled in: it has one, or escaped braces."""
    text = str(value)
    return bool(names(value)) or "{{" in text or "}}" in text
