"""What is wrong with a command line, in ttwriter's words: the errors every command's parsing
raises, and the options and words a command does not take, with "did you mean".

Nothing here imports tyro (cli._parser does), so the dispatcher and `ttwriter --help` stay fast.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from ttwriter.errors import ConfigWriterError, close_matches
from ttwriter.formats import listed


class HelpShown(Exception):
    """--help was printed; the command is done (exit 0)."""


class ArgumentError(ConfigWriterError):
    """The command line itself is wrong: an unknown command or option, a missing or malformed
    value, options that contradict each other."""


FLAG = re.compile(r"(--?[A-Za-z][\w.-]*)(=.*)?", re.S)
"""An option as typed: `--name`, `-h`, `--name=value` (not `-1e-4` or `--- note`)."""


def normal(flag: str) -> str:
    """A flag as parsing compares it: `_` and `-` are the same (tyro accepts `--dry_run`)."""
    return flag.replace("_", "-")


def unknown_flags(
    argv: list[str],
    known: dict[str, bool],
    prog: str,
    shown: list[str],
    elsewhere: Callable[[str], dict[str, bool]] | None = None,
) -> ArgumentError | None:
    """The options in `argv` that `prog` does not have (and switches given a value), each with the
    closest of `known` (flag -> whether it takes a value). The fix is `prog` and `shown` (what the
    user typed) with each replaced, when every one has a close flag. `elsewhere` names the other
    commands that have a flag exactly, and whether it takes a value there (cli.options.
    commands_taking): an option of another command is said to be one, with that command as the
    fix, instead of a near spelling of this one's."""
    by_normal = {normal(flag): flag for flag in known}
    unknown: list[tuple[str, str | None, list[str]]] = []
    valued, fixed, replaced = [], list(shown), True
    takes_value = False
    moved: tuple[str, list[str]] | None = None  # the other command's flag and what follows it
    for i, token in enumerate(argv):
        match = FLAG.fullmatch(token)
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
        taking = elsewhere(flag) if elsewhere else {}
        others = list(taking)
        if others:
            unknown.append((flag, None, others))
            following = argv[i + 1 : i + 2] if value is None and taking[others[0]] else []
            moved = (others[0], [token, *(w for w in following if not w.startswith("-"))])
            replaced = False
            continue
        close = close_matches(normal(flag), by_normal, n=1)
        unknown.append((flag, by_normal[close[0]] if close else None, []))
        if close:
            fixed = [by_normal[close[0]] + (value or "") if t == token else t for t in fixed]
        else:
            replaced = False
    if not unknown and not valued:
        return None
    problems = []
    if len(unknown) == 1:
        flag, meant, others = unknown[0]
        problems.append(f"{prog} has no option {flag!r}" + _hint(meant, others, "; "))
    elif unknown:
        named = [f"{flag!r}" + _hint(meant, others, " (", ")") for flag, meant, others in unknown]
        problems.append(f"{prog} has no options {listed(named)}")
    see = f"'{prog} --help' lists its options"
    if len(unknown) == 1 and moved is not None:
        from ttwriter.cli.main import ARGUMENTS

        command, words = moved
        fix = (
            f"ttwriter {command} {ARGUMENTS.get(command, 'DIR')} {shlex.join(words)} "
            f"('ttwriter {command} --help' lists its options)"
        )
    else:
        fix = f"{prog} {shlex.join(fixed)} ({see})" if replaced else see
    return ArgumentError("; ".join(problems + valued), fix=fix)


def _hint(meant: str | None, others: list[str], before: str, after: str = "") -> str:
    """`did you mean '--dry-run'?`, or `it is an option of 'ttwriter run' and 'ttwriter submit'`."""
    if others:
        return f"{before}it is an option of {listed([repr('ttwriter ' + c) for c in others])}{after}"
    return f"{before}did you mean {meant!r}?{after}" if meant else ""


def unexpected(words: list[str], prog: str) -> ArgumentError:
    """Words left over: a second folder, a value after a switch."""
    return ArgumentError(
        f"{prog} does not take {listed([repr(w) for w in words])}",
        fix=f"remove {'it' if len(words) == 1 else 'them'}, or quote a value that has spaces "
        f"('{prog} --help' shows what it takes)",
    )
