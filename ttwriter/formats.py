"""The few text formats every layer writes: a run's params, lists that end in "N more", counts,
nouns with their article, and UTC timestamps.

A run's params appear in each config's header, the run tables, `ttwriter status`, `ttwriter run`
and the loss plot; lists of run ids and file names appear in errors and summaries; timestamps go
into experiment.json, submissions.jsonl, completion markers and logs. Each is written here once,
so they read the same everywhere (and a shell line that writes a timestamp uses the same format).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ttwriter.yaml_io import dump_scalar

LIST_LIMIT = 5
"""Most items a list in a message names before it says `and N more`."""

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How ttwriter writes a moment: `2026-11-21T07:22:45Z` (strftime and `date -u +...` alike)."""


def params_text(
    params: Mapping[str, Any], sep: str = "  ", scalar: Callable[[str, Any], str] | None = None
) -> str:
    """`lora_rank=8  learning_rate=0.0003`: each variable value as YAML writes it (`scalar(key,
    value)` when given, a faster equivalent); empty for a run without variables."""
    if scalar is None:
        return sep.join(f"{k}={dump_scalar(v)}" for k, v in params.items())
    return sep.join(f"{k}={scalar(k, v)}" for k, v in params.items())


def listed(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """`a, b, c`, or `a, b, c, d, e and 3 more` when there are more than `limit`."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def counted(n: int, noun: str = "run") -> str:
    """`1 run`, `4 runs`."""
    return f"{n} {noun}{'s' * (n != 1)}"


def a_noun(noun: str) -> str:
    """`a list`, `an int`."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def utc_now() -> str:
    """This moment in UTC, as `UTC_FORMAT` writes it."""
    return dt.datetime.now(dt.timezone.utc).strftime(UTC_FORMAT)
