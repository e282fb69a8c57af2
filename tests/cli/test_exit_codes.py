"""cli.exit_codes: every command documents its exit codes in its --help, from the one table."""

from __future__ import annotations

import pytest

from ttwriter.cli.exit_codes import SOME_FAILED, exit_codes_text
from ttwriter.cli.main import GENERATE, SUBCOMMANDS, USAGE


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_table_has_every_command():
    assert list(SOME_FAILED) == [GENERATE, *SUBCOMMANDS]


@pytest.mark.parametrize("command", [GENERATE, *SUBCOMMANDS])
def test_each_commands_help_says_what_its_exit_codes_mean(run_cli, command):
    helped = run_cli(command, "--help")

    assert words(exit_codes_text(command)) in words(helped.out)
    if SOME_FAILED[command] is None:
        assert " 1 " not in exit_codes_text(command)
    else:
        assert f"{command}: {SOME_FAILED[command]}" in words(USAGE)
