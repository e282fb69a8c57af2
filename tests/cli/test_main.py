"""The entry point: usage, --version, the spellings of a generation, `python -m ttwriter`."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PY_EXAMPLE, YAML_EXAMPLE
from ttwriter import __version__


def test_no_arguments_exits_2_with_usage(run_cli):
    result = run_cli()

    assert result.code == 2
    assert result.err.startswith("usage: ttwriter [generate] PATH [OVERRIDES]")
    assert result.out == ""


def test_only_flags_and_no_path_exits_2(run_cli):
    result = run_cli("--dry-run")

    assert result.code == 2
    assert result.err == (
        "error: no experiment file given\n  fix: ttwriter PATH, where PATH is a .py experiment, "
        "an experiment.yaml or an experiment.json (ttwriter --help)\n"
    )


def test_version(run_cli):
    result = run_cli("--version")

    assert (result.code, result.out) == (0, f"ttwriter {__version__}\n")


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
