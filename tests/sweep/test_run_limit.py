"""The most runs a sweep may have: refused from the counts alone, before anything per run, with
the arithmetic and a fix in the experiment's own values. None of these tests makes a run: a
regression would show as a test that takes forever, so the CLI one runs with a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, PY_EXAMPLE, REPO
from ttwriter import Experiment, TooManyRunsError, ValidationError
from ttwriter.sweep.base_config import BaseConfig, load_base_config
from ttwriter.sweep.plan import expand_sweep
from ttwriter.sweep.run_limit import MAX_RUNS, Factor, check_run_count, count_text

THOUSAND = list(range(1, 1001))


@pytest.fixture(scope="module")
def base() -> BaseConfig:
    return load_base_config(BASE, None, None, Path("."))


def refusal(base: BaseConfig, **fields) -> TooManyRunsError:
    with pytest.raises(TooManyRunsError) as info:
        expand_sweep(Experiment(name="exp", base_config=BASE, **fields), base, Path("/sweeps/exp"))
    return info.value


def test_the_limit_is_100000_runs_and_a_sweep_of_exactly_that_many_is_made(base):
    assert MAX_RUNS == 100_000
    assert issubclass(TooManyRunsError, ValidationError)
    plan = expand_sweep(
        Experiment(
            name="exp", base_config=BASE, variables={"lora_rank": list(range(1, 101))}, replicates=1000
        ),
        base,
        Path("/sweeps/exp"),
    )
    assert plan.n_runs == MAX_RUNS


def test_a_billion_replicates_are_refused_with_the_arithmetic_and_the_count_that_fits(base):
    error = refusal(base, variables={"lora_rank": [8, 16, 32, 64]}, replicates=1_000_000_000)

    assert (error.key, error.message, error.fix) == (
        "replicates",
        "4 values of lora_rank x 1,000,000,000 replicates = 4,000,000,000 runs, "
        "over the limit of 100,000 runs a sweep may have",
        "lower replicates to at most 25000 (4 x 25000 = 100,000 runs), "
        "or split the sweep into several experiments",
    )


def test_a_grid_of_10_to_the_12_runs_is_refused_before_its_exclusions_are_looked_at(base):
    # exclude() visits every grid point: 10^12 of them would never finish.
    error = refusal(
        base,
        variables={"lora_rank": THOUSAND, "lora_alpha": THOUSAND, "epochs": THOUSAND, "batch_size": THOUSAND},
        exclude=[{"lora_rank": 8}],
        derived={"lora_dropout": "lora_rank / 10000"},
    )

    assert (error.key, error.message, error.fix) == (
        "variables.lora_rank",
        "1,000 x 1,000 x 1,000 x 1,000 variables = 1,000,000,000,000 runs before exclusions, "
        "over the limit of 100,000 runs a sweep may have",
        "make the product at most 100,000: fewer values for lora_rank (1,000), lora_alpha (1,000), "
        "epochs (1,000), batch_size (1,000), or split the sweep into several experiments",
    )


def test_linked_entries_draws_and_listed_seeds_count_too(base):
    error = refusal(
        base,
        variables={"lora_rank": [8, 16]},
        linked={"schedule": [{"learning_rate": i / 1e6, "num_warmup_steps": 10} for i in range(1, 101)]},
        sample={"num_samples": 200, "params": {"weight_decay": {"uniform": [0.0, 0.1]}}},
        replicates=[11, 22, 33],
    )

    assert (error.key, error.message, error.fix) == (
        "sample.num_samples",
        "2 values of lora_rank x 100 entries of linked schedule x 200 draws x 3 replicates = 120,000 runs, "
        "over the limit of 100,000 runs a sweep may have",
        "lower sample.num_samples to at most 166 (600 x 166 = 99,600 runs), "
        "or split the sweep into several experiments",
    )


@pytest.mark.parametrize(
    "factors, key, fix",
    [
        (
            [
                Factor("linked", "schedule", 400, ("linked", "schedule")),
                Factor("draws", "sample.num_samples", 500, ("sample", "num_samples")),
            ],
            "sample.num_samples",
            "lower sample.num_samples to at most 250 (400 x 250 = 100,000 runs)",
        ),
        (
            [
                Factor("variable", "lr", 3, ("variables", "lr")),
                Factor("linked", "schedule", 40_000, ("linked", "schedule")),
            ],
            "linked.schedule",
            "give linked schedule at most 33333 of its 40,000 entries (3 x 33333 = 99,999 runs)",
        ),
        (
            [
                Factor("variable", "lr", 7, ("variables", "lr")),
                Factor("replicates", "replicates", 20_000, ("replicates",), True),
            ],
            "replicates",
            "keep at most 14285 of the 20,000 seeds in replicates (7 x 14285 = 99,995 runs)",
        ),
    ],
    ids=["draws", "linked", "listed seeds"],
)
def test_the_fix_lowers_the_largest_count_that_can_fit_alone(factors, key, fix):
    with pytest.raises(TooManyRunsError) as info:
        check_run_count(factors)

    assert (info.value.key, info.value.fix) == (key, fix + ", or split the sweep into several experiments")


def test_counts_too_long_to_write_are_shown_rounded():
    # A 4300-digit replicates count times a grid has no decimal text at all (Python refuses it).
    assert [count_text(n) for n in (999, 10**6, 3 * 10**30, 10**4400)] == [
        "999",
        "1,000,000",
        "about 3.0e+30",
        "about 1.0e+4400",
    ]
    with pytest.raises(TooManyRunsError, match=r"= about 1\.0e\+4303 runs"):
        check_run_count(
            [
                Factor("variable", "v", 1000, ("variables", "v")),
                Factor("replicates", "replicates", 10**4300, ("replicates",)),
            ]
        )


def test_the_cli_refuses_a_billion_replicates_at_once_with_exit_2_and_writes_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ttwriter", str(PY_EXAMPLE), "--replicates", "1000000000", "--dry-run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,  # not a speed goal: without the limit this ran until killed
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: command line: replicates: 4 values of lora_rank x 1,000,000,000 replicates = 4,000,000,000 runs, "
        "over the limit of 100,000 runs a sweep may have",
        "  fix: lower replicates to at most 25000 (4 x 25000 = 100,000 runs), or split the sweep into several experiments",
    ]
    assert list(tmp_path.iterdir()) == []
