"""Seeds on the command line: the same seeds as the file would give (docs/sweeps.md#replicates),
and `--variables.seed` answered with `--replicates`."""

from __future__ import annotations

import re

import pytest

from tests.conftest import EXAMPLES

SWEEPS = EXAMPLES / "sweeps"
TINY = EXAMPLES / "tiny" / "cpu"


def seeds(out: str) -> list[int]:
    return [int(s) for s in re.findall(r"^  run_\d+ .* seed=(\d+)", out, re.M)]


def test_a_seed_control_with_a_count_of_replicates_is_the_first_seed_in_the_file(run_cli):
    result = run_cli(
        str(SWEEPS / "replicates_06_03.py"), "--dry-run", "--no-validate"
    )  # seed 100, replicates 3

    assert result.code == 0, result.err
    assert seeds(result.out) == [100, 101, 102] * 3


@pytest.mark.parametrize(
    "experiment, flags, expected",
    [
        (SWEEPS / "replicates_06_03.py", ["--controls.seed", "7"], [7, 8, 9] * 3),
        (SWEEPS / "baseline_01_01.py", ["--replicates", "2", "--set", "seed=5"], [5, 6]),
        (TINY / "baseline_01_01.py", ["--set", "seed=5", "--replicates", "2"], [5, 6]),
    ],
    ids=["controls-flag", "set-with-replicates", "tiny"],
)
def test_a_seed_given_on_the_command_line_counts_replicates_from_it_as_in_the_file(
    run_cli, experiment, flags, expected
):
    result = run_cli(str(experiment), *flags, "--dry-run", "--no-validate")

    assert result.code == 0, result.err
    assert seeds(result.out) == expected


def test_a_seed_typed_next_to_a_list_of_seeds_is_refused_with_the_replicates_that_give_it(run_cli):
    result = run_cli(
        str(SWEEPS / "baseline_01_01.py"), "--replicates", "11", "12", "--set", "seed=5", "--dry-run"
    )

    assert result.code == 2
    assert result.err == (
        "error: command line: controls.seed: seed 5 would never be used: replicates list the seeds "
        "each run takes (11, 12)\n"
        "  fix: for the seeds 5 .. 6, give replicates as a count, which starts at the seed: "
        "--replicates 2, or list them: --replicates 5 6\n"
    )


def test_a_seed_control_in_the_file_next_to_a_list_of_seeds_is_a_note(run_cli):
    result = run_cli(
        str(SWEEPS / "replicates_06_03.py"), "--replicates", "11", "12", "--dry-run", "--no-validate"
    )

    assert result.code == 0, result.err
    assert seeds(result.out) == [11, 12] * 3
    assert (
        "note: replicates list the seeds (11, 12), so control 'seed' (seed 100) is not used; "
        "with a count (replicates: N) it would be the first seed"
    ) in result.out + result.err


@pytest.mark.parametrize(
    "flags, why, fixed",
    [
        (
            ["--replicates", "2", "--variables.seed", "1", "2", "--dry-run"],
            "seed cannot be a variable together with replicates, which set each run's seed",
            "--replicates 1 2 --dry-run",
        ),
        (
            ["--variables.seed", "1", "2", "--dry-run"],
            "a sweep's seeds are not a variable: replicates run every condition once per seed",
            "--replicates 1 2 --dry-run",
        ),
        (
            ["--variables.seed=3", "--dry-run"],
            "a sweep's seeds are not a variable: replicates run every condition once per seed",
            "--replicates '[3]' --dry-run",  # one value alone would be a count
        ),
    ],
    ids=["with-replicates", "alone", "one-seed"],
)
def test_variables_seed_is_answered_with_the_replicates_that_give_those_seeds(run_cli, flags, why, fixed):
    experiment = str(TINY / "lora_rank_lr_02_01.py")

    result = run_cli(experiment, *flags)

    assert result.code == 2
    assert result.err == (
        f"error: ttwriter {experiment} has no option '--variables.seed': {why}\n"
        f"  fix: ttwriter {experiment} {fixed} (each condition runs once per seed; docs/sweeps.md#replicates)\n"
    )
    assert "--sample.seed" not in result.err


def test_the_fixed_command_for_variables_seed_runs_those_seeds(run_cli):
    result = run_cli(
        str(TINY / "lora_rank_lr_02_01.py"), "--replicates", "1", "2", "--dry-run", "--no-validate"
    )

    assert result.code == 0, result.err
    assert seeds(result.out) == [1, 2] * 4
