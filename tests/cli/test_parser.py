"""cli._parser, the one parser of every command: help on the given stream, tyro's rejections and
unknown options in ttwriter's `error:` / `fix:` shape, the flags of an options class, `--runs`."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import re

import pytest

from tests.conftest import PY_EXAMPLE
from ttwriter.cli import _parser
from ttwriter.cli._parser import ArgumentError, HelpShown, flags_of, parse
from ttwriter.cli.main import SUBCOMMANDS
from ttwriter.cli.options import (
    COMMAND_OPTIONS,
    FolderOptions,
    ResultsOptions,
    StartOptions,
    TinyAssetsOptions,
)

CLASSES = [StartOptions, FolderOptions, ResultsOptions, TinyAssetsOptions]


def submit(*argv: str) -> StartOptions:
    return parse(StartOptions, argv, prog="ttwriter submit", description="Submit.", out=io.StringIO())


def help_text(cls: type) -> str:
    out = io.StringIO()
    with pytest.raises(HelpShown):
        parse(cls, ["--help"], prog="ttwriter x", description="X.", out=out)
    return out.getvalue()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_the_flags_of_a_class_are_the_ones_its_help_lists(cls):
    listed = {
        flag
        for line in help_text(cls).splitlines()
        if line.strip().startswith("-")
        for flag in re.findall(r"(?<![\w-])--?[a-z][\w.-]*", line.strip().split("  ")[0])
    }

    assert set(flags_of(cls, pairs=False)) == listed


def test_help_goes_to_the_given_stream_wrapped_and_without_trailing_blanks(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()

    with pytest.raises(HelpShown):
        parse(StartOptions, ["DIR", "--help"], prog="ttwriter submit", description="word " * 30, out=out)

    lines = out.getvalue().splitlines()
    assert (
        lines[0]
        == "usage: ttwriter submit [-h] DIR [--runs IDS] [--failed] [--dry-run] [--ignore-validation]"
    )
    assert lines[2] == ("word " * 12).strip()  # filled to 59 columns, not one long line
    assert all(line == line.rstrip() for line in lines)
    assert capsys.readouterr() == ("", "")


def test_runs_may_be_comma_separated_and_repeated_and_repeats_count_once():
    args = submit("DIR", "--runs", "run_003,run_000", "--runs", "run_003", "--runs", " run_001 ")

    assert args.dir == "DIR"
    assert args.run_ids("submit") == ["run_003", "run_000", "run_001"]
    assert submit("DIR").run_ids("submit") is None


def test_runs_without_ids_is_an_error_with_an_example():
    with pytest.raises(ArgumentError) as caught:
        submit("DIR", "--runs", ",").run_ids("submit")

    assert str(caught.value) == (
        "--runs needs run ids, got ','\n  fix: e.g. ttwriter submit DIR --runs run_000,run_003"
    )


def test_the_folder_after_runs_is_never_taken_for_a_run_id():
    args = submit("--runs", "run_001", "outputs/x")

    assert (args.dir, args.runs) == ("outputs/x", ("run_001",))


def test_an_unknown_option_names_the_closest_and_fixes_the_command_line():
    with pytest.raises(ArgumentError) as caught:
        submit("outputs/my sweep", "--rnus=run_001", "--dryrun")

    assert caught.value.message == (
        "ttwriter submit has no options '--rnus' (did you mean '--runs'?), '--dryrun' (did you mean '--dry-run'?)"
    )
    assert caught.value.fix == (
        "ttwriter submit 'outputs/my sweep' --runs=run_001 --dry-run ('ttwriter submit --help' lists its options)"
    )


def test_an_option_nothing_resembles_points_to_help():
    with pytest.raises(ArgumentError) as caught:
        submit("DIR", "--zzz")

    assert str(caught.value) == (
        "ttwriter submit has no option '--zzz'\n  fix: 'ttwriter submit --help' lists its options"
    )


def test_underscores_in_a_flag_are_accepted_as_tyro_accepts_them():
    assert submit("DIR", "--dry_run").dry_run is True


def test_a_missing_folder_says_what_it_is_from_the_fields_docstring():
    with pytest.raises(ArgumentError) as caught:
        submit("--dry-run")

    assert str(caught.value) == (
        "ttwriter submit needs DIR, the experiment folder ttwriter wrote (outputs/<name>_<timestamp>)\n"
        "  fix: ttwriter submit DIR --dry-run"
    )


def test_without_tyros_hook_a_rejection_is_still_an_error_line_on_no_stream_of_the_process(
    monkeypatch, capsys
):
    monkeypatch.setattr(_parser, "_on_parse_error", lambda hook: contextlib.nullcontext())

    with pytest.raises(ArgumentError) as caught:
        submit("DIR", "--runs")

    assert str(caught.value) == (
        "ttwriter submit: Missing value for argument '--runs'. Expected 1 values.\n"
        "  fix: 'ttwriter submit --help' lists what it takes"
    )
    assert capsys.readouterr() == ("", "")


def test_without_tyros_hook_unknown_options_still_come_first(monkeypatch):
    monkeypatch.setattr(_parser, "_on_parse_error", lambda hook: contextlib.nullcontext())

    with pytest.raises(ArgumentError, match="has no option '--rnus'; did you mean '--runs'"):
        submit("--rnus", "run_000", "DIR")


@dataclasses.dataclass(frozen=True)
class Inner:
    gpus_per_run: int = 1
    _component_: str = "x"


@dataclasses.dataclass(frozen=True)
class Outer:
    slurm: Inner
    dry_run: bool = False
    validate: bool = True


def test_the_flags_of_a_class_with_pairs_and_nested_classes():
    assert flags_of(Outer) == {
        "-h": False,
        "--help": False,
        "--slurm.gpus-per-run": True,
        "--slurm._component_": True,
        "--dry-run": False,
        "--no-dry-run": False,
        "--validate": False,
        "--no-validate": False,
    }
    assert set(flags_of(Outer, pairs=False)) == {
        "-h",
        "--help",
        "--slurm.gpus-per-run",
        "--slurm._component_",
        "--dry-run",
        "--no-validate",
    }


# --- an option of another command ----------------------------------------------------------------


def test_each_command_parses_the_options_class_the_table_names():
    assert set(COMMAND_OPTIONS) == set(SUBCOMMANDS)
    for name, (module, function, _) in SUBCOMMANDS.items():
        source = inspect.getsource(getattr(__import__(module, fromlist=[function]), function))
        assert re.search(rf"\bparse\(\s*{COMMAND_OPTIONS[name].__name__}\b", source), name


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["{example}", "--runs", "run_000"],
            "error: ttwriter {example} has no option '--runs'; it is an option of 'ttwriter submit', "
            "'ttwriter run', 'ttwriter evaluate'\n"
            "  fix: ttwriter submit DIR --runs run_000 ('ttwriter submit --help' lists its options)\n",
        ),
        (
            ["status", "--force", "outputs/x"],
            "error: ttwriter status has no option '--force'; it is an option of 'ttwriter generate'\n"
            "  fix: ttwriter generate PATH --force ('ttwriter generate --help' lists its options)\n",
        ),
        (
            ["submit", "outputs/x", "--dry-rn"],
            "error: ttwriter submit has no option '--dry-rn'; did you mean '--dry-run'?\n"
            "  fix: ttwriter submit outputs/x --dry-run ('ttwriter submit --help' lists its options)\n",
        ),
    ],
    ids=["generate --runs", "status --force", "a near spelling"],
)
def test_an_option_of_another_command_names_that_command_instead_of_a_near_spelling(run_cli, argv, expected):
    example = str(PY_EXAMPLE)
    result = run_cli(*(a.format(example=example) for a in argv))

    assert (result.code, result.out) == (2, "")
    assert result.err == expected.format(example=example)
