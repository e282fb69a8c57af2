"""`ttwriter PATH`: exit codes, what it prints, dry runs, overrides and per-experiment --help."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import BASE, LLAMA_1B, PY_EXAMPLE, YAML_EXAMPLE


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def collapse(text: str) -> str:
    """tyro's help as plain words: no box drawing, no wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


# --- exit codes ----------------------------------------------------------------------------------


def test_success_exits_0_and_says_what_was_loaded_how_many_runs_and_where(tmp_path, run_cli):
    out = tmp_path / "out"

    result = run_cli(str(PY_EXAMPLE), "--output-dir", str(out), "--no-validate")

    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out == (
        f"Loaded Python experiment {PY_EXAMPLE}\n"
        "  lineage: baseline_01_01.py -> lora_rank_02_01.py\n"
        f"  command-line overrides: --output-dir {out}\n"
        f"Base config: {BASE} (recipe: lora_finetune_single_device)\n"
        f"Wrote 4 runs to {out}/\n"
        "  run_000  lora_rank=8\n"
        "  run_001  lora_rank=16\n"
        "  run_002  lora_rank=32\n"
        "  run_003  lora_rank=64\n"
        "Validation: skipped (--no-validate); ttwriter submit and run validate it first\n"
        f"Run one: tune run lora_finetune_single_device --config {out}/configs/run_000.yaml\n"
    )
    assert sorted(p.name for p in (out / "configs").iterdir()) == [f"run_00{i}.yaml" for i in range(4)]


def test_configs_that_fail_validation_exit_1_with_the_problems_and_are_still_written(tmp_path, run_cli):
    source = write(
        tmp_path / "exp" / "experiment.yaml",
        f"experiment_name: typo\nbase_config: {BASE}\nvariables:\n  lora_rank: [8, 16]\n"
        "controls:\n  model:\n    lora_rnk: 8\n",
    )
    out = tmp_path / "out"

    result = run_cli(str(source), "--output-dir", str(out))

    assert result.code == 1
    lines = result.out.splitlines()
    after = lines[lines.index(f"Validation: 0/2 configs valid (details: {out}/validation_report.txt)") + 1 :]
    # each distinct problem once, errors first, with the runs it affects and a fix
    assert after[:2] == [
        "  error   model.lora_rnk (all 2 runs): lora_llama3_2_1b has no parameter 'lora_rnk'",
        "          fix: did you mean 'lora_rank'?",
    ]
    assert (out / "configs" / "run_001.yaml").is_file()
    assert (out / "validation_report.txt").read_text().endswith("\n0/2 configs valid\n")


def test_valid_configs_exit_0_with_the_validation_summary(tmp_path, run_cli):
    out = tmp_path / "out"

    result = run_cli(str(YAML_EXAMPLE), "--output-dir", str(out))

    assert result.code == 0, result.err
    assert f"Validation: 4/4 configs valid (details: {out}/validation_report.txt)\n" in result.out


BAD_INPUTS = {
    "missing file": ("nowhere.py", "{tmp}/nowhere.py: no such file"),
    "unknown key": (
        f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  lora_rnak: 8\n",
        "{path}:4: controls.lora_rnak: key 'lora_rnak' is not in the base config",
    ),
    "unknown base config": (
        "experiment_name: a\nbase_config: llama3_2/1B_lora_single_devise\n",
        "{path}:2: base_config: torchtune has no config named 'llama3_2/1B_lora_single_devise'.",
    ),
    "empty variable": (
        f"experiment_name: a\nbase_config: {BASE}\nvariables:\n  lora_rank: []\n",
        "{path}:4: variables.lora_rank: variable has no values",
    ),
    "type mismatch": (
        f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  epochs: one\n",
        "{path}:4: controls.epochs: 'epochs' is int 1 in the base config, but the experiment sets str 'one'",
    ),
}


@pytest.mark.parametrize("content, start", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_with_an_error_line_no_traceback_and_nothing_written(
    tmp_path, run_cli, monkeypatch, content, start
):
    monkeypatch.chdir(tmp_path)
    if content.endswith(".py"):
        path = tmp_path / content
    else:
        path = write(tmp_path / "experiment.yaml", content)

    result = run_cli(str(path), "--no-validate")

    assert result.code == 2
    assert result.err.startswith("error: " + start.format(tmp=tmp_path, path=path)), result.err
    assert "\n  fix: " in result.err
    assert "Traceback" not in result.err + result.out
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        [] if content.endswith(".py") else ["experiment.yaml"]
    )


def test_dry_run_prints_the_run_table_and_writes_nothing(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_cli(str(LLAMA_1B / "rank_x_lr_03_02.py"), "--dry-run")

    assert result.code == 0, result.err
    table = result.out.split("(nothing written)\n")[1]
    assert table == (
        "  run_000  lora_rank=8  learning_rate=0.0001\n"
        "  run_001  lora_rank=8  learning_rate=0.0003\n"
        "  run_002  lora_rank=8  learning_rate=0.001\n"
        "  run_003  lora_rank=32  learning_rate=0.0001\n"
        "  run_004  lora_rank=32  learning_rate=0.0003\n"
        "  run_005  lora_rank=32  learning_rate=0.001\n"
        "Validation: 6/6 configs valid "
    )
    assert re.search(r"^Dry run: would write 6 runs to outputs/rank_x_lr_\d{8}_\d{6}/ ", result.out, re.M)
    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_finds_what_validation_finds_and_writes_nothing(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_cli(str(PY_EXAMPLE), "--set", "optimizer.weight_decy=0.1", "--dry-run")

    assert result.code == 1, result.err
    assert "Validation: 0/4 configs valid (nothing written)\n" in result.out
    assert (
        "  error   optimizer.weight_decy (all 4 runs): AdamW has no parameter 'weight_decy'\n"
        "          fix: did you mean 'weight_decay'?\n"
    ) in result.out
    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_with_no_validate_only_plans(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_cli(str(PY_EXAMPLE), "--set", "optimizer.weight_decy=0.1", "--dry-run", "--no-validate")

    assert result.code == 0, result.err
    assert "Validation" not in result.out
    assert list(tmp_path.iterdir()) == []


def test_a_variable_that_overrides_a_control_is_noted(tmp_path, run_cli):
    result = run_cli(str(LLAMA_1B / "rank_x_lr_03_02.py"), "--dry-run", "--output-dir", str(tmp_path / "o"))

    assert (
        "note: variable 'learning_rate' overrides control 'learning_rate' (optimizer.lr): "
        "each run uses the variable's value\n"
    ) in result.out


def test_no_validate_never_imports_torch(tmp_path):
    script = (
        "import sys\n"
        "from ttwriter.cli.main import main\n"
        f"code = main([{str(PY_EXAMPLE)!r}, '--output-dir', {str(tmp_path / 'o')!r}, '--no-validate'])\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchtune', 'torchao')))\n"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert done.stdout.splitlines()[-1] == "0 []"
    assert (tmp_path / "o" / "configs" / "run_000.yaml").is_file()


# --- overrides -----------------------------------------------------------------------------------

OVERRIDES = ("--controls.learning-rate", "1e-4", "--variables.lora-rank", "4", "8", "--name", "quick")


@pytest.mark.parametrize("source", [PY_EXAMPLE, YAML_EXAMPLE], ids=["python", "yaml"])
def test_overrides_change_the_generated_configs(tmp_path, run_cli, source):
    out = tmp_path / "out"

    result = run_cli(str(source), *OVERRIDES, "--output-dir", str(out), "--no-validate")

    assert result.code == 0, result.err
    configs = sorted((out / "configs").iterdir())
    assert [p.name for p in configs] == ["run_000.yaml", "run_001.yaml"]
    runs = [OmegaConf.load(p) for p in configs]
    assert [(r.model.lora_rank, r.optimizer.lr) for r in runs] == [(4, 1e-4), (8, 1e-4)]
    assert "# experiment: quick\n" in configs[0].read_text()
    snapshot = json.loads((out / "experiment.json").read_text())
    assert snapshot["experiment"]["name"] == "quick"
    # tool switches (--no-validate) are how it ran, not what it generated: not recorded as overrides
    assert snapshot["provenance"]["cli_overrides"] == [*OVERRIDES, "--output-dir", str(out)]


def test_overrides_of_nested_controls_and_metadata(tmp_path, run_cli):
    out = tmp_path / "out"

    result = run_cli(
        str(PY_EXAMPLE),
        "--controls.dataset.data-files",
        "/data/other.json",
        "--question",
        "Does it still work?",
        "--output-dir",
        str(out),
        "--no-validate",
    )

    assert result.code == 0, result.err
    assert OmegaConf.load(out / "configs" / "run_000.yaml").dataset.data_files == "/data/other.json"
    assert (
        json.loads((out / "experiment.json").read_text())["experiment"]["question"] == "Does it still work?"
    )


def test_a_misspelled_override_flag_exits_2_and_names_the_real_flag(tmp_path, run_cli, capsys):
    out = str(tmp_path / "o")

    result = run_cli(str(PY_EXAMPLE), "--controls.learning-rat", "1e-4", "--output-dir", out)

    assert result.code == 2
    assert result.err == (
        f"error: ttwriter {PY_EXAMPLE} has no option '--controls.learning-rat'; did you mean "
        "'--controls.learning-rate'?\n"
        f"  fix: ttwriter {PY_EXAMPLE} --controls.learning-rate 1e-4 --output-dir {out} "
        f"('ttwriter {PY_EXAMPLE} --help' lists its options)\n"
    )
    assert capsys.readouterr() == ("", "")  # tyro printed nothing to the process's streams
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "flags, message, fix",
    [
        (
            ["--slurm.gpus-per-run", "two"],
            "--slurm.gpus-per-run takes a whole number, not 'two'",
            "give --slurm.gpus-per-run a whole number, e.g. --slurm.gpus-per-run 1 (its value now)",
        ),
        (
            ["--name"],
            "--name needs a value",
            "give --name a value ('ttwriter {path} --help' says what it takes)",
        ),
        (
            ["--dry-run=yes"],
            "--dry-run takes no value (got '--dry-run=yes')",
            "ttwriter {path} --dry-run ('ttwriter {path} --help' lists its options)",
        ),
        (
            ["stray"],
            "ttwriter {path} does not take 'stray'",
            "remove it, or quote a value that has spaces ('ttwriter {path} --help' shows what it takes)",
        ),
        (
            ["--sett", "epochs=1"],
            "ttwriter {path} has no option '--sett'; did you mean '--set'?",
            "ttwriter {path} --set epochs=1 ('ttwriter {path} --help' lists its options)",
        ),
    ],
    ids=["not an int", "no value", "switch with a value", "stray word", "misspelled --set"],
)
def test_a_flag_tyro_rejects_is_an_error_line_with_a_fix(tmp_path, run_cli, capsys, flags, message, fix):
    result = run_cli(str(PY_EXAMPLE), *flags)

    assert result.code == 2
    path = PY_EXAMPLE
    assert result.err == f"error: {message.format(path=path)}\n  fix: {fix.format(path=path)}\n"
    assert capsys.readouterr() == ("", "")


def test_a_variable_overridden_with_no_values_exits_2(tmp_path, run_cli):
    result = run_cli(str(PY_EXAMPLE), "--variables.lora-rank", "--output-dir", str(tmp_path / "o"))

    assert result.code == 2
    assert result.err == (
        "error: command line: variables.lora_rank: variable has no values, so the sweep would have no runs\n"
        "  fix: give lora_rank at least one value, or remove it\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_bad_override_value_exits_2_naming_the_key(tmp_path, run_cli):
    result = run_cli(str(PY_EXAMPLE), "--controls.epochs", "many", "--output-dir", str(tmp_path / "o"))

    assert result.code == 2
    assert result.err.startswith(
        # the bad value came from the command line, not from the file that sets epochs
        "error: command line: controls.epochs: 'epochs' is int 1 in the base config, but the experiment sets str 'many'\n"
    )
    assert not (tmp_path / "o").exists()


def test_override_problems_and_the_files_problems_are_reported_together(tmp_path, run_cli):
    path = write(
        tmp_path / "experiment.yaml",
        f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  epochs: 1\n  lora_rnak: 8\n",
    )

    out = tmp_path / "out"
    result = run_cli(
        str(path), "--name", "a b", "--set", "epocs=2", "--slurm.time", "soon", "--output-dir", str(out)
    )

    assert result.code == 2
    assert result.err.replace(str(path), "<PATH>") == (
        "error: the experiment has 4 problems:\n"
        "  command line: name: experiment name 'a b' is not a safe folder name\n"
        "    fix: use letters, digits, '_', '-', '.' and '+' only, starting with a letter, digit or '_', "
        "e.g. 'a_b'\n"
        "  command line: slurm.time: time 'soon' is not a SLURM time limit\n"
        "    fix: use minutes, HH:MM:SS or D-HH:MM:SS, e.g. '04:00:00'\n"
        "  <PATH>:5: controls.lora_rnak: key 'lora_rnak' is not in the base config; "
        "did you mean 'lora_rank' or 'lora_alpha'?\n"
        "    fix: fix the spelling, or write '+lora_rnak' to add a new key on purpose\n"
        "  command line: controls.epocs: key 'epocs' is not in the base config; did you mean 'epochs'?\n"
        "    fix: fix the spelling, or write '+epocs' to add a new key on purpose\n"
    )
    assert not out.exists()


def test_a_slurm_setting_from_a_flag_is_located_on_the_command_line(tmp_path, run_cli):
    result = run_cli(str(PY_EXAMPLE), "--slurm.time", "soon", "--dry-run")

    assert result.code == 2
    assert result.err == (
        "error: command line: slurm.time: time 'soon' is not a SLURM time limit\n"
        "  fix: use minutes, HH:MM:SS or D-HH:MM:SS, e.g. '04:00:00'\n"
    )


def test_help_for_an_experiment_with_problems_shows_the_problems(tmp_path, run_cli):
    path = write(tmp_path / "experiment.yaml", f"experiment_name: a b\nbase_config: {BASE}\n")

    result = run_cli(str(path), "--help")

    assert result.code == 2
    assert result.err == (
        f"error: {path}:1: name: experiment name 'a b' is not a safe folder name\n"
        "  fix: use letters, digits, '_', '-', '.' and '+' only, starting with a letter, digit or '_', "
        "e.g. 'a_b'\n"
    )


def test_path_help_lists_the_experiments_fields_with_docstrings_and_current_values(
    tmp_path, run_cli, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)

    result = run_cli(str(PY_EXAMPLE), "--help")

    help_text = collapse(result.out)
    assert result.code == 0
    assert (result.err, capsys.readouterr()) == ("", ("", ""))
    for expected in [
        "--name STR Experiment name; names the output folder",
        "(default: lora_rank)",
        "--question STR The research question this experiment answers.",
        "(default: 'How does LoRA rank change final loss at a fixed alpha?')",
        "--variables.lora-rank",
        "values of variable 'lora_rank', one run per value (default: 8 16 32 64)",
        "--controls.learning-rate FLOAT control 'learning_rate' (default: 0.0003)",
        "--controls.dataset.data-files STR control 'dataset.data_files' (default: /data/alpaca_sample.json)",
        "--no-validate",
    ]:
        assert expected in help_text
    assert list(tmp_path.iterdir()) == []


def test_path_help_for_a_yaml_experiment(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")

    result = run_cli(str(YAML_EXAMPLE), "--help")

    help_text = collapse(result.out)
    assert result.code == 0
    assert "--controls.lora-alpha INT control 'lora_alpha' (default: 16)" in help_text
    assert "--base-config {None}|STR" in help_text


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is when a researcher runs ttwriter."""

    def isatty(self) -> bool:
        return True


def test_a_long_sweep_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    from ttwriter.cli.main import main

    variables = ["--variables.lora-rank", *map(str, range(1, 61))]
    terminal, piped = _Terminal(), io.StringIO()
    main(
        [str(YAML_EXAMPLE), *variables, "--output-dir", str(tmp_path / "a"), "--no-validate"],
        out=io.StringIO(),
        err=terminal,
    )
    main(
        [str(YAML_EXAMPLE), *variables, "--output-dir", str(tmp_path / "b"), "--no-validate"],
        out=io.StringIO(),
        err=piped,
    )

    assert terminal.getvalue().endswith("\r  write    [##############################] 60/60\n")
    assert terminal.getvalue().count("\r") > 1  # it advanced, it did not just print the end
    assert piped.getvalue() == ""


def test_set_reaches_keys_the_experiment_does_not_name(tmp_path, run_cli):
    out = tmp_path / "out"
    result = run_cli(
        str(PY_EXAMPLE),
        "--set",
        "epochs=3",
        "--set=optimizer.weight_decay=0.1",
        "--output-dir",
        str(out),
        "--no-validate",
    )

    assert result.code == 0
    run = OmegaConf.load(out / "configs" / "run_000.yaml")
    assert (run.epochs, run.optimizer.weight_decay) == (3, 0.1)
    snapshot = json.loads((out / "experiment.json").read_text())
    assert snapshot["experiment"]["controls"]["epochs"] == 3
    assert snapshot["provenance"]["cli_overrides"][:3] == [
        "--set",
        "epochs=3",
        "--set=optimizer.weight_decay=0.1",
    ]


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--set", "epocs=3"],
            "error: command line: controls.epocs: key 'epocs' is not in the base config; did you mean 'epochs'?",
        ),
        (["--set", "epochs"], "error: command line: --set needs KEY=VALUE, got 'epochs'"),
    ],
)
def test_a_bad_set_exits_2_blaming_the_command_line(tmp_path, run_cli, flags, message):
    result = run_cli(str(PY_EXAMPLE), *flags, "--output-dir", str(tmp_path / "o"))

    assert result.code == 2
    assert result.err.splitlines()[0] == message
    assert not (tmp_path / "o").exists()


def test_a_command_line_value_for_a_swept_key_is_an_error_not_a_silent_no_op(tmp_path, run_cli):
    result = run_cli(str(PY_EXAMPLE), "--set", "lora_rank=4", "--output-dir", str(tmp_path / "o"))

    assert result.code == 2
    assert result.err == (
        "error: command line: controls.lora_rank: 'lora_rank' is swept by variable 'lora_rank', "
        "so this value would never be used\n"
        "  fix: give its values with --variables.lora-rank VALUE [VALUE ...]\n"
    )


def test_an_output_folder_that_cannot_be_created_exits_2(tmp_path, run_cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")

    result = run_cli(str(PY_EXAMPLE), "--output-dir", str(blocker / "out"), "--no-validate")

    assert result.code == 2
    assert result.err.startswith(f"error: {blocker / 'out'}: cannot create the output folder:")
    assert "fix: choose an --output-dir in a folder you can write to" in result.err


@pytest.mark.parametrize(
    "given", ["", "run_mapping.yaml", "configs/run_001.yaml"], ids=["folder", "mapping", "config"]
)
def test_an_experiment_folder_or_its_files_given_as_the_experiment_say_what_they_are(
    tmp_path, run_cli, given
):
    folder = tmp_path / "out"
    assert run_cli(str(YAML_EXAMPLE), "--output-dir", str(folder), "--no-validate").code == 0
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    result = run_cli(str(folder / given) if given else str(folder))

    what = (
        "an experiment folder"
        if not given
        else f"{given.rsplit('/', 1)[-1]} of the experiment folder {folder}"
    )
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: {folder / given if given else folder}: this is {what} ttwriter wrote, not an experiment\n"
        f"  fix: follow its runs with ttwriter status {folder} (or submit, run, results); regenerate it with "
        f"ttwriter {folder}/experiment.json\n"
    )
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_copy_of_the_experiment_in_its_folder_still_loads(tmp_path, run_cli):
    folder = tmp_path / "out"
    assert run_cli(str(PY_EXAMPLE), "--output-dir", str(folder), "--no-validate").code == 0

    result = run_cli(str(folder / PY_EXAMPLE.name), "--dry-run", "--no-validate")

    assert result.code == 0, result.err


def test_the_overrides_line_shows_a_long_list_of_values_cut_and_counted(tmp_path, run_cli):
    values = [str(v) for v in range(1, 3001)]

    result = run_cli(
        str(PY_EXAMPLE), "--variables.lora-rank", *values, "--name", "q", "--dry-run", "--no-validate"
    )

    assert result.code == 0, result.err
    assert (
        "  command-line overrides: --variables.lora-rank 1 2 3 4 5 6 7 8 9 10 11 12 ... (2988 more) --name q\n"
    ) in result.out
