"""No input makes ttwriter hang or crash: hostile inputs through the whole command line.

Each class of input has its unit tests next to the module that handles it (test_yaml_io,
test_load_python, test_experiment, test_experiment_folder, ...). Here each class is driven through
the CLI once, end to end: exit code 2, the file or key and a fix in the message, no traceback,
and nothing written. The alias bomb runs in a subprocess with a generous timeout, so that a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, REPO, YAML_EXAMPLE

RECIPE = "lora_finetune_single_device"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def refused(result, tmp_path: Path, *expected: str) -> None:
    """Exit 2, one error with each expected piece, a fix, and no output folder."""
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("error: ")
    for piece in expected:
        assert piece in result.err, result.err
    assert "\n  fix: " in result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "outputs").exists()


def cli(run_cli, tmp_path: Path, path: Path, *flags: str):
    return run_cli(str(path), "--no-validate", "--output-dir", str(tmp_path / "out"), *flags)


# ---------------------------------------------------------------- 1. bounded work


def test_a_683_byte_alias_bomb_exits_2_at_once_instead_of_hanging(tmp_path):
    bomb = ['lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    text = f"experiment_name: x\nbase_config: {BASE}\ncontrols:\n  +bomb:\n" + "".join(
        f"    {line}\n" for line in bomb
    )
    path = write(tmp_path / "experiment.yaml", text)
    assert len(text.encode()) < 700

    result = subprocess.run(
        [sys.executable, "-m", "ttwriter", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,  # not a speed goal: a hang would otherwise stop the suite
    )

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}:13: aliases expand this document to ")
    assert "alias *h alone stands for 48,427,561 values" in result.stderr


THOUSAND = "[" + ", ".join(str(i) for i in range(1, 1001)) + "]"


@pytest.mark.parametrize(
    "text, flags, expected",
    [
        (
            "variables:\n  lora_rank: [8, 16, 32]\n",
            ("--replicates", "1000000000"),
            "error: command line: replicates: 3 values of lora_rank x 1,000,000,000 replicates = "
            "3,000,000,000 runs, over the limit of 100,000 runs",
        ),
        (
            "variables:\n  lora_rank: [8, 16, 32]\n"
            + "".join(f"  {key}: {THOUSAND}\n" for key in ("lora_alpha", "epochs", "batch_size"))
            + "exclude:\n  - {lora_rank: 8}\nreplicates: 1000000000\n",
            (),
            ":10: replicates: 3 x 1,000 x 1,000 x 1,000 variables x 1,000,000,000 replicates = "
            "3,000,000,000,000,000,000 runs before exclusions, over the limit of 100,000 runs",
        ),
    ],
    ids=["a billion replicates", "10^18 runs of a grid with exclusions"],
)
def test_a_sweep_of_billions_of_runs_exits_2_at_once_instead_of_running_for_ever(
    tmp_path, text, flags, expected
):
    path = write(tmp_path / "experiment.yaml", f"experiment_name: x\nbase_config: {BASE}\n{text}")

    result = subprocess.run(
        [sys.executable, "-m", "ttwriter", str(path), "--dry-run", *flags],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,  # not a speed goal: without the limit these ran until killed
    )

    assert result.returncode == 2, result.stderr
    assert expected in result.stderr.splitlines()[0]
    assert "\n  fix: " in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.yaml"]


@pytest.mark.parametrize("where", ["experiment", "base config"])
def test_nesting_past_the_limit_exits_2_naming_the_file_and_line(tmp_path, run_cli, where):
    deep = "[" * 60 + "]" * 60
    if where == "experiment":
        path = write(
            tmp_path / "experiment.yaml",
            f"experiment_name: x\nbase_config: {BASE}\ncontrols:\n  +d: {deep}\n",
        )
        bad = path
    else:
        bad = write(tmp_path / "base.yaml", f"epochs: 1\ndeep: {deep}\n")
        path = write(
            tmp_path / "experiment.yaml",
            f"experiment_name: x\nbase_config_file: base.yaml\nrecipe: {RECIPE}\n",
        )

    result = cli(run_cli, tmp_path, path)

    refused(result, tmp_path, f"error: {bad}:", "lists and mappings nested more than 50 levels deep")


@pytest.mark.parametrize(
    "kind",
    ["yaml", "python", "set"],
    ids=["experiment.yaml", "Python experiment", "--set on the command line"],
)
def test_an_integer_past_4300_digits_exits_2(tmp_path, run_cli, kind):
    digits = "7" * 5000
    flags: tuple[str, ...] = ()
    if kind == "yaml":
        path = write(
            tmp_path / "experiment.yaml",
            f"experiment_name: x\nbase_config: {BASE}\ncontrols:\n  seed: {digits}\n",
        )
        expected = (f"{path}:4:", "an integer with 5000 digits")
    elif kind == "python":
        path = write(
            tmp_path / "fam" / "big_01_01.py",
            f"from ttwriter import Experiment\nexperiment = Experiment(name='x', base_config={BASE!r}, "
            "controls={'seed': 7 ** 6000})\n",
        )
        expected = (f"{path}:2: controls.seed: an integer longer than 4300 digits",)
    else:
        path = YAML_EXAMPLE
        flags = ("--set", f"seed={digits}")
        expected = ("error: command line: --set seed: an integer with 5000 digits",)

    refused(cli(run_cli, tmp_path, path, *flags), tmp_path, *expected)


@pytest.mark.parametrize(
    "line, key, fix",
    [
        ('base_config_file: "my\\0base.yaml"', "", "remove it: 'mybase.yaml'"),
        ('recipe: "my\\0recipe.py"', "", "remove it: 'myrecipe.py'"),
        ('output:\n  experiment_dir: "out\\0put"', "", "remove it: 'output'"),
        ('output:\n  base_dir: "out\\0put"', "", "remove it: 'output'"),
        ('controls:\n  tokenizer:\n    path: "/models/tok\\0.model"', "", "remove it: '/models/tok.model'"),
    ],
    ids=["base_config_file", "recipe", "experiment_dir", "base_dir", "a path in controls"],
)
def test_a_nul_byte_in_a_path_exits_2_with_the_path_without_it(tmp_path, run_cli, line, key, fix):
    base = f"base_config: {BASE}\n" if "base_config_file" not in line else ""
    path = write(tmp_path / "experiment.yaml", f"experiment_name: x\n{base}{line}\n")

    refused(cli(run_cli, tmp_path, path), tmp_path, f"error: {path}:", "a NUL byte (\\0)", f"fix: {fix}")


def test_a_nul_byte_in_a_command_line_value_names_the_flag(tmp_path, run_cli):
    result = cli(run_cli, tmp_path, YAML_EXAMPLE, "--set", 'tokenizer.path="/tok\\0.model"')
    refused(result, tmp_path, "error: command line: --set tokenizer.path: a NUL byte")


# ---------------------------------------------------------------- 2. encodings


@pytest.mark.parametrize("which", ["experiment.yaml", "base config", "Python experiment", "Python parent"])
def test_a_file_that_is_not_utf8_exits_2_naming_file_byte_and_line(tmp_path, run_cli, which):
    latin = "notes: caf\u00e9\n".encode("latin-1")
    if which == "experiment.yaml":
        path = bad = write(
            tmp_path / "experiment.yaml", f"experiment_name: x\nbase_config: {BASE}\n".encode() + latin
        )
        line = 3
    elif which == "base config":
        bad = write(tmp_path / "base.yaml", b"epochs: 1\n# " + latin)
        path = write(
            tmp_path / "experiment.yaml",
            f"experiment_name: x\nbase_config_file: base.yaml\nrecipe: {RECIPE}\n",
        )
        line = 2
    else:
        base = f"from ttwriter import Experiment\nexperiment = Experiment(name='x', base_config={BASE!r})\n"
        child = "from dataclasses import replace\nfrom x_01_01 import experiment as parent\nexperiment = replace(parent)\n"
        bad = write(tmp_path / "fam" / "x_01_01.py", base.encode() + b"# " + latin)
        path = write(tmp_path / "fam" / "y_02_01.py", child)
        line = 3
        if which == "Python experiment":
            write(bad, base)
            bad = write(path, child.encode() + b"# " + latin)
            line = 4

    result = cli(run_cli, tmp_path, path)

    refused(
        result,
        tmp_path,
        f"error: {bad}:{line}: not UTF-8 text: byte 0xe9 at byte offset",
        f"(line {line}, column",
    )


# ---------------------------------------------------------------- 8. printed commands paste as they are

AWKWARD = 'it\'s a "sweep" with $HOME & spaces'


def words(line: str, prefix: str) -> list[str]:
    """The shell words of a printed command, after checking that bash reads it as one command."""
    assert line.startswith(prefix), line
    command = line[len(prefix) :]
    check = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    return shlex.split(command)


def test_printed_commands_are_shell_quoted_for_paths_with_spaces_quotes_and_dollars(
    tmp_path, run_cli, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / AWKWARD
    result = run_cli(str(YAML_EXAMPLE), "--no-validate", "--output-dir", str(folder))
    assert result.code == 0, result.err
    config = folder / "configs" / "run_000.yaml"

    run_one = next(line for line in result.out.splitlines() if line.startswith("Run one: "))
    assert words(run_one, "Run one: ") == [
        "tune",
        "run",
        RECIPE,
        "--config",
        f"{AWKWARD}/configs/run_000.yaml",
    ]

    header = next(line for line in config.read_text().splitlines() if line.startswith("# run with: "))
    assert words(header, "# run with: ") == ["tune", "run", RECIPE, "--config", str(config)]

    dry = run_cli("run", str(folder), "--dry-run")
    assert dry.code == 0, dry.err
    line = next(line for line in dry.out.splitlines() if line.startswith("  run_000  "))
    assert words(line, "  run_000  ") == ["tune", "run", RECIPE, "--config", str(config)]

    status = run_cli("status", str(folder))
    hint = next(line for line in status.out.splitlines() if line.startswith("Submit them: "))
    assert words(hint, "Submit them: ") == ["ttwriter", "submit", AWKWARD]


@pytest.mark.parametrize("call", ["generate_configs", "read_experiment_folder", "build_tiny_assets"])
def test_a_nul_byte_in_a_path_given_in_code_is_a_ttwriter_error(tmp_path, call):
    from ttwriter import ConfigWriterError, generate_configs
    from ttwriter.folder.read import read_experiment_folder
    from ttwriter.train.tiny_assets import build_tiny_assets

    bad = f"{tmp_path}/a\0b"
    calls = {
        "generate_configs": lambda: generate_configs(YAML_EXAMPLE, output_dir=bad, validate=False),
        "read_experiment_folder": lambda: read_experiment_folder(bad),
        "build_tiny_assets": lambda: build_tiny_assets(bad),
    }
    with pytest.raises(ConfigWriterError) as info:
        calls[call]()
    assert "contains a NUL byte (\\0), which no path can hold" in info.value.message
    assert info.value.fix == f"remove it: {f'{tmp_path}/ab'!r}"
    assert list(tmp_path.iterdir()) == []
