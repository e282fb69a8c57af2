"""What is wrong with a command line, in ttwriter's words: the errors every command's parsing
raises, and the options and words a command does not take, with "did you mean".

Nothing here imports tyro (cli._parser does), so the dispatcher and `ttwriter --help` stay fast.
"""

from __future__ import annotations

import re
import shlex

from ttwriter.errors import ConfigWriterError, close_matches
from ttwriter.formats import listed


class HelpShown(Exception):
    """--help was printed; the command is done (exit 0)."""


class ArgumentError(ConfigWriterError):
    """The command line itself is wrong: an unknown command or option, a missing or malformed
    value, options that contradict each other."""


_FLAG = re.compile(r"(--?[A-Za-z][\w.-]*)(=.*)?", re.S)
"""An option as typed: `--name`, `-h`, `--name=value` (not `-1e-4` or `--- note`)."""


def normal(flag: str) -> str:
    """A flag as parsing compares it: `_` and `-` are the same (tyro accepts `--dry_run`)."""
    return flag.replace("_", "-")


def unknown_flags(
    argv: list[str], known: dict[str, bool], prog: str, shown: list[str]
) -> ArgumentError | None:
    """The options in `argv` that `prog` does not have (and switches given a value), each with the
    closest of `known` (flag -> whether it takes a value). The fix is `prog` and `shown` (what the
    user typed) with each replaced, when every one has a close flag."""
    by_normal = {normal(flag): flag for flag in known}
    unknown, valued, fixed, replaced = [], [], list(shown), True
    takes_value = False
    for token in argv:
        match = _FLAG.fullmatch(token)
        if match is None or takes_value:  # a word, or the value of the option before it
            takes_value = False
            continue
        flag, value = match.groups()
        real = by_normal.get(normal(flag))
        if real is not None:
            takes_value = known[real] and value is None
            if value is not None and not known[real]:
                valued.append(f"{real} takes no value (got {token!r})")
                fixed = [real if t == token else t for t in fixed]
            continue
        close = close_matches(normal(flag), by_normal, n=1)
        unknown.append((flag, by_normal[close[0]] if close else None))
        if close:
            fixed = [by_normal[close[0]] + (value or "") if t == token else t for t in fixed]
        else:
            replaced = False
    if not unknown and not valued:
        return None
    problems = []
    if len(unknown) == 1:
        flag, meant = unknown[0]
        problems.append(f"{prog} has no option {flag!r}" + (f"; did you mean {meant!r}?" if meant else ""))
    elif unknown:
        named = [f"{flag!r}" + (f" (did you mean {meant!r}?)" if meant else "") for flag, meant in unknown]
        problems.append(f"{prog} has no options {listed(named)}")
    see = f"'{prog} --help' lists its options"
    fix = f"{prog} {shlex.join(fixed)} ({see})" if replaced else see
    return ArgumentError("; ".join(problems + valued), fix=fix)


def unexpected(words: list[str], prog: str) -> ArgumentError:
    """Words left over: a second folder, a value after a switch."""
    return ArgumentError(
        f"{prog} does not take {listed([repr(w) for w in words])}",
        fix=f"remove {'it' if len(words) == 1 else 'them'}, or quote a value that has spaces "
        f"('{prog} --help' shows what it takes)",
    )
