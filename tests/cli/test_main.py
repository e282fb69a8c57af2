"""The entry point: usage, --version, help at every level, misspelled commands and options,
the spellings of a generation, `python -m ttwriter`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PY_EXAMPLE, YAML_EXAMPLE
from ttwriter import __version__
from ttwriter.cli.main import SUBCOMMANDS


def test_no_arguments_exits_2_with_usage(run_cli):
    result = run_cli()

    assert result.code == 2
    assert result.err.startswith("usage: ttwriter [generate] PATH [OVERRIDES]")
    assert result.err.endswith(
        "\n\nerror: no experiment file given\n  fix: ttwriter PATH, where PATH is a .py experiment, "
        "an experiment.yaml or an experiment.json (ttwriter --help)\n"
    )
    assert result.out == ""


def test_only_flags_and_no_path_exits_2(run_cli):
    result = run_cli("--dry-run")

    assert result.code == 2
    assert result.err == (
        "error: no experiment file given\n  fix: ttwriter PATH, where PATH is a .py experiment, "
        "an experiment.yaml or an experiment.json (ttwriter --help)\n"
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(run_cli, flag):
    result = run_cli(flag)

    assert (result.code, result.out, result.err) == (0, f"ttwriter {__version__}\n", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["help"],
        ["generate", "--help"],
        ["generate", "-h"],
        ["--no-validate", "--help"],
        *([name, "--help"] for name in SUBCOMMANDS),
        *(["help", name] for name in SUBCOMMANDS),
        [str(YAML_EXAMPLE), "--help"],
        ["generate", str(YAML_EXAMPLE), "-h"],
    ],
    ids=lambda argv: " ".join(a.rsplit("/", 1)[-1] for a in argv),
)
def test_help_works_at_every_level_and_goes_to_the_given_stdout(run_cli, capsys, argv):
    result = run_cli(*argv)

    assert result.code == 0
    assert result.out.startswith("usage: ttwriter")
    assert result.err == ""
    assert capsys.readouterr() == ("", "")


def test_help_of_a_command_is_the_same_however_it_is_asked_for(run_cli):
    assert run_cli("help", "run").out == run_cli("run", "--help").out == run_cli("run", "x", "-h").out


@pytest.mark.parametrize(
    "argv, error",
    [
        (
            ["stauts", "outputs/x"],
            "error: ttwriter has no command 'stauts'; did you mean 'status'?\n  fix: ttwriter status outputs/x\n",
        ),
        (
            ["tiny_assets", "a"],
            "error: ttwriter has no command 'tiny_assets'; did you mean 'tiny-assets'?\n"
            "  fix: ttwriter tiny-assets a\n",
        ),
        (
            ["sumbit"],
            "error: ttwriter has no command 'sumbit'; did you mean 'submit'?\n  fix: ttwriter submit\n",
        ),
        (
            ["frobnicate"],
            "error: 'frobnicate' is neither a command nor an experiment file\n"
            "  fix: the commands are generate, submit, status, run, results, evaluate, tiny-assets, tree, diff, new; an experiment "
            "is a .py file, an experiment.yaml or an experiment.json (ttwriter --help)\n",
        ),
        (
            ["--verison"],
            "error: ttwriter has no option '--verison'; did you mean '--version'?\n"
            "  fix: ttwriter --version ('ttwriter --help' lists its options)\n",
        ),
        (
            ["--dry-runn", "--output-dir", "o"],
            "error: ttwriter has no option '--dry-runn'; did you mean '--dry-run'?\n"
            "  fix: ttwriter --dry-run --output-dir o ('ttwriter --help' lists its options)\n",
        ),
    ],
    ids=["command", "underscore", "no arguments after it", "unknown word", "top-level flag", "generate flag"],
)
def test_a_misspelled_command_or_option_says_what_was_meant(run_cli, capsys, argv, error):
    result = run_cli(*argv)

    assert (result.code, result.out, result.err) == (2, "", error)
    assert capsys.readouterr() == ("", "")


def test_a_file_named_like_a_command_is_an_experiment_not_a_command(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stauts").write_text("experiment_name: x\n")

    result = run_cli("stauts")

    assert result.code == 2
    assert "no command" not in result.err


def test_generate_is_an_alias(tmp_path, run_cli):
    plain = run_cli(str(PY_EXAMPLE), "--dry-run", "--output-dir", str(tmp_path / "o"))
    alias = run_cli("generate", str(PY_EXAMPLE), "--dry-run", "--output-dir", str(tmp_path / "o"))

    assert alias.code == plain.code == 0
    assert alias.out == plain.out


def test_options_may_come_before_the_path(tmp_path, run_cli):
    result = run_cli("--no-validate", "--output-dir", str(tmp_path / "o"), str(YAML_EXAMPLE))

    assert result.code == 0, result.err
    assert (tmp_path / "o" / "configs" / "run_003.yaml").is_file()


def test_python_dash_m_ttwriter_runs_the_cli(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ttwriter",
            str(YAML_EXAMPLE),
            "--no-validate",
            "--output-dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
    assert f"Wrote 4 runs to {tmp_path / 'o'}/\n" in done.stdout
