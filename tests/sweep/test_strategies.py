"""Sweep strategies against the real llama3_2/1B_lora_single_device base: linked, derived,
exclude, sample, replicates; their run order, params, config values and every bad input."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, EXAMPLES, REPO
from ttwriter import Experiment, ExperimentSchemaError, UnknownKeyError, generate_configs
from ttwriter.errors import ConfigWriterError, each_problem
from ttwriter.sweep.base_config import BaseConfig, load_base_config
from ttwriter.sweep.plan import expand_sweep

PY_ALL = EXAMPLES / "sweeps" / "all_strategies_07_01.py"
YAML_ALL = EXAMPLES / "yaml" / "sweep_strategies" / "experiment.yaml"
SCHEDULE = [
    {"learning_rate": 1e-4, "num_warmup_steps": 50},
    {"learning_rate": 3e-4, "num_warmup_steps": 100},
]
WD = {"weight_decay": {"log_uniform": [1e-4, 1e-1], "digits": 2}}


@pytest.fixture(scope="module")
def base() -> BaseConfig:
    return load_base_config(BASE, None, None, Path("."))


def plan(base: BaseConfig, **fields):
    return expand_sweep(Experiment(name="exp", base_config=BASE, **fields), base, Path("/sweeps/exp"))


def runs(base: BaseConfig, **fields):
    return list(plan(base, **fields).runs())


def problems(base: BaseConfig, **fields) -> list[ConfigWriterError]:
    with pytest.raises(ConfigWriterError) as info:
        plan(base, **fields)
    return list(each_problem(info.value))


def messages(base: BaseConfig, **fields) -> list[tuple[str | None, str, str | None]]:
    return [(p.key, p.message, p.fix) for p in problems(base, **fields)]


# ---------------------------------------------------------------- the issue's example, in order


def test_the_issue_example_makes_12_runs_grid_then_draws_then_replicates_innermost(base):
    plan_ = plan(
        base,
        variables={"lora_rank": [8, 16]},
        linked={"schedule": SCHEDULE},
        derived={"lora_alpha": "2 * lora_rank"},
        exclude=[{"lora_rank": 16, "learning_rate": 3e-4}],
        sample={"num_samples": 2, "seed": 0, "params": WD},
        replicates=2,
    )
    result = list(plan_.runs())
    assert plan_.n_runs == len(result) == 12
    assert plan_.space.count_text() == "12 runs = (4 grid - 1 excluded) x 2 draws x 2 replicates"
    grid = [(8, 1e-4, 50), (8, 3e-4, 100), (16, 1e-4, 50)]  # (16, 3e-4) excluded
    draws = sorted(
        {r.params["weight_decay"] for r in result}, key=[r.params["weight_decay"] for r in result].index
    )
    assert len(draws) == 2
    expected = [
        (rank, lr, warmup, wd, seed, 2 * rank)
        for (rank, lr, warmup), wd, seed in itertools.product(grid, draws, [0, 1])
    ]
    assert [tuple(r.params.values()) for r in result] == expected
    assert list(result[0].params) == [
        "lora_rank", "learning_rate", "num_warmup_steps", "weight_decay", "seed", "lora_alpha"
    ]  # fmt: skip
    assert [(r.condition, r.replicate) for r in result] == [
        (f"c{c:03d}", k) for c in range(6) for k in range(2)
    ]
    for run in result:
        config = run.config
        assert config["model"]["lora_rank"] == run.params["lora_rank"]
        assert config["model"]["lora_alpha"] == run.params["lora_alpha"]
        assert config["optimizer"]["lr"] == run.params["learning_rate"]
        assert config["optimizer"]["weight_decay"] == run.params["weight_decay"]
        assert config["lr_scheduler"]["num_warmup_steps"] == run.params["num_warmup_steps"]
        assert config["seed"] == run.params["seed"]


def test_describe_gives_the_same_params_as_runs_for_every_index(base):
    plan_ = plan(
        base, variables={"lora_rank": [8, 16]}, sample={"num_samples": 3, "params": WD}, replicates=[5, 9]
    )
    assert [plan_.describe(i)[1] for i in range(plan_.n_runs)] == [r.params for r in plan_.runs()]


# ---------------------------------------------------------------- linked


def test_linked_keys_resolve_like_controls_and_misspelled_ones_say_did_you_mean(base):
    (first, second) = runs(
        base,
        linked={
            "pair": [{"lr": 1e-4, "optimizer.weight_decay": 0.1}, {"lr": 1e-3, "optimizer.weight_decay": 0.0}]
        },
    )
    assert (first.config["optimizer"]["lr"], first.config["optimizer"]["weight_decay"]) == (1e-4, 0.1)
    assert second.params == {"lr": 1e-3, "optimizer.weight_decay": 0.0}
    (problem,) = problems(base, linked={"schedule": [{"num_warmup_step": 5}, {"num_warmup_step": 9}]})
    assert isinstance(problem, UnknownKeyError)
    assert problem.key == "linked.schedule.num_warmup_step"
    assert "did you mean 'num_warmup_steps'" in problem.message


def test_a_linked_axis_whose_entries_set_different_keys_is_refused():
    with pytest.raises(ExperimentSchemaError) as info:
        Experiment(name="e", base_config=BASE, linked={"schedule": [{"lr": 1e-4, "warmup": 5}, {"lr": 3e-4}]})
    assert (info.value.key, info.value.message, info.value.fix) == (
        "linked.schedule[1]",
        "entry 1 of linked axis 'schedule' sets different keys than entry 0 (lacks warmup)",
        "every entry of 'schedule' sets the same keys: lr, warmup",
    )


def test_a_key_set_by_a_variable_and_a_linked_axis_is_refused(base):
    assert messages(base, variables={"lr": [1e-4, 1e-3]}, linked={"s": [{"learning_rate": 1e-4}, {"learning_rate": 2e-4}]}) == [
        (
            "linked.s.learning_rate",
            "linked key (axis 's') 'learning_rate' sets 'optimizer.lr', which variable 'lr' sets too",
            "set 'learning_rate' in one place only: remove it from linked or from variable",
        )
    ]  # fmt: skip


# ---------------------------------------------------------------- derived


def test_derived_values_from_a_callable_and_an_expression_agree(base):
    by_callable = runs(
        base, variables={"lora_rank": [4, 8]}, derived={"lora_alpha": lambda p: p["lora_rank"] * 2 + 1}
    )
    by_text = runs(base, variables={"lora_rank": [4, 8]}, derived={"lora_alpha": "lora_rank * 2 + 1"})
    assert [r.config for r in by_callable] == [r.config for r in by_text]
    assert [r.params["lora_alpha"] for r in by_text] == [9, 17]


def test_a_derived_key_that_is_also_a_variable_is_refused(base):
    assert messages(base, variables={"lora_alpha": [8, 16]}, derived={"lora_alpha": "8"}) == [
        (
            "derived.lora_alpha",
            "derived key 'lora_alpha' is also variable 'lora_alpha': a run cannot take both values",
            "remove 'lora_alpha' from variables (to compute it) or from derived (to sweep it)",
        )
    ]


def test_an_unknown_name_in_a_derived_expression_says_did_you_mean(base):
    ((key, message, fix),) = messages(
        base, variables={"lora_rank": [8]}, derived={"lora_alpha": "2 * lora_rnk"}
    )
    assert key == "derived.lora_alpha"
    assert (
        message == "derived expression '2 * lora_rnk' uses unknown name 'lora_rnk'; did you mean 'lora_rank'?"
    )
    assert fix == "names are the run's params: lora_rank"


def test_a_callable_reading_a_missing_param_names_the_run(base):
    (problem,) = problems(
        base, variables={"lora_rank": [8]}, derived={"lora_alpha": lambda p: 2 * p["lora_rnk"]}
    )
    assert problem.run_id == "run_000"
    assert (
        "reads param 'lora_rnk', which this run does not have; did you mean 'lora_rank'?" in problem.message
    )


def test_a_callable_giving_what_no_config_can_hold_names_the_run(base):
    (problem,) = problems(
        base, variables={"lora_rank": [8]}, derived={"lora_alpha": lambda p: 10 ** (5000 + p["lora_rank"])}
    )
    assert (problem.run_id, problem.message, problem.fix) == (
        "run_000",
        "derived 'lora_alpha' gives an integer longer than 4300 digits, which cannot be written "
        "for params lora_rank=8",
        "write it as a float or a string",
    )


# ---------------------------------------------------------------- exclude


def test_an_exclusion_that_matches_nothing_is_a_typo_with_the_values_that_exist(base):
    assert messages(base, variables={"lora_rank": [8, 16]}, exclude=[{"lora_rank": 17}]) == [
        (
            "exclude[0].lora_rank",
            "exclude item 0 matches no run: lora_rank is never 17; did you mean '16'?",
            "use one of the values of lora_rank: 8, 16",
        )
    ]
    ((key, message, _),) = messages(base, variables={"lora_rank": [8, 16]}, exclude=[{"lora_rnk": 8}])
    assert (key, message) == (
        "exclude[0].lora_rnk",
        "exclude item 0 names 'lora_rnk', which is not a grid param; did you mean 'lora_rank'?",
    )


def test_a_sweep_that_excludes_every_run_is_refused(base):
    assert messages(
        base, variables={"lora_rank": [8, 16]}, exclude=[{"lora_rank": 8}, {"lora_rank": 16}]
    ) == [
        (
            "exclude",
            "exclude drops every one of the 2 grid points, so the sweep would have no runs",
            "remove an exclude item, or add values to the variables",
        )
    ]


# ---------------------------------------------------------------- sample


def test_draws_are_the_same_for_every_grid_point_and_within_their_bounds(base):
    result = runs(
        base, variables={"lora_rank": [8, 16, 32]}, sample={"num_samples": 5, "seed": 3, "params": WD}
    )
    per_rank = [
        [r.params["weight_decay"] for r in result if r.params["lora_rank"] == rank] for rank in (8, 16, 32)
    ]
    assert per_rank[0] == per_rank[1] == per_rank[2]
    assert len(set(per_rank[0])) == 5 and all(1e-4 <= wd <= 1e-1 for wd in per_rank[0])
    other_seed = runs(base, variables={"lora_rank": [8]}, sample={"num_samples": 5, "seed": 4, "params": WD})
    assert [r.params["weight_decay"] for r in other_seed] != per_rank[0]


def test_draws_do_not_depend_on_the_hash_seed(base):
    here = [
        r.params
        for r in runs(
            base,
            sample={
                "num_samples": 4,
                "seed": 11,
                "params": {**WD, "batch_size": {"int_uniform": [1, 64]}, "packed": {"choice": [True, False]}},
            },
        )
    ]
    code = (
        "from ttwriter.experiment.sample import Sample\n"
        "from ttwriter.sweep.sample import draw\n"
        f"s = Sample(num_samples=4, seed=11, params={{**{WD!r}, 'batch_size': {{'int_uniform': [1, 64]}}, "
        "'packed': {'choice': [True, False]}})\n"
        "print([draw(11, k, s.distributions()) for k in range(4)])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == repr(here)


@pytest.mark.parametrize(
    "sample, key, message, fix",
    [
        ({"num_samples": 0, "params": WD}, "sample.num_samples", "sample.num_samples is 0, so the sweep would have no runs",
         "draw at least once: sample.num_samples: 1 (or leave sample out)"),
        ({"num_samples": 8}, "sample.num_samples",
         "sample.num_samples is 8, but sample.params names no key to draw, so nothing is drawn: "
         "each grid point would run once, not 8 times",
         "name the keys to draw, e.g. sample.params: {weight_decay: {log_uniform: [1.0e-4, 1.0e-1]}}; "
         "to repeat each run with other seeds, use replicates: 8 instead"),
        ({"seed": 1}, "sample.seed",
         "sample.seed is 1, but sample.params names no key to draw, so nothing is drawn: the seed would change nothing",
         "name the keys to draw, e.g. sample.params: {weight_decay: {log_uniform: [1.0e-4, 1.0e-1]}}; "
         "to repeat each run with other seeds, use replicates: 3 instead"),
        ({"params": {"lr": {"uniform": [1e-3, 1e-4]}}}, "sample.params.lr.uniform", "uniform has low 0.001 above high 0.0001",
         "swap them: lr: {uniform: [0.0001, 0.001]}"),
        ({"params": {"lr": {"log_uniform": [0, 1e-3]}}}, "sample.params.lr.log_uniform", "log_uniform needs positive bounds, got low 0",
         "use a positive low bound, e.g. lr: {log_uniform: [1e-06, 0.001]}"),
        ({"params": {"lr": {"log_unifrom": [1e-5, 1e-3]}}}, "sample.params.lr.log_unifrom",
         "unknown distribution setting 'log_unifrom'; did you mean 'log_uniform'?",
         "distributions: uniform, log_uniform, int_uniform, choice; rounding: round (decimals) or digits (significant)"),
    ],
)  # fmt: skip
def test_bad_samples_are_refused_with_a_fix_in_their_own_values(sample, key, message, fix):
    with pytest.raises(ExperimentSchemaError) as info:
        Experiment(name="e", base_config=BASE, sample=sample)
    assert (info.value.key, info.value.message, info.value.fix) == (key, message, fix)


@pytest.mark.parametrize("sample", [{}, {"num_samples": 1}, {"num_samples": 1, "seed": 0}])
def test_a_sample_that_asks_for_no_draws_needs_no_params(sample):
    assert Experiment(name="e", base_config=BASE, sample=sample).sample.params == {}


def test_num_samples_without_params_on_the_command_line_is_refused_with_the_other_problems(run_cli):
    result = run_cli(
        str(EXAMPLES / "yaml" / "lora_rank" / "experiment.yaml"),
        "--sample.num-samples",
        "8",
        "--sample.seed",
        "1",
        "--replicates",
        "0",
        "--dry-run",
    )

    assert result.code == 2
    assert result.err == (
        "error: the experiment has 2 problems:\n"
        "  command line: sample.num_samples: sample.num_samples is 8, but sample.params names no key to draw, "
        "so nothing is drawn: each grid point would run once, not 8 times\n"
        "    fix: name the keys to draw, e.g. sample.params: {weight_decay: {log_uniform: [1.0e-4, 1.0e-1]}}; "
        "to repeat each run with other seeds, use replicates: 8 instead\n"
        "  command line: replicates: replicates is 0, so the sweep would have no runs\n"
        "    fix: run each condition at least once: replicates: 1 (or leave replicates out)\n"
    )


@pytest.mark.parametrize(
    "doc_line, argv, count",
    [
        ("ttwriter experiments/yaml/sweep_strategies/experiment.yaml --sample.num-samples 8 --sample.seed 1",
         [str(YAML_ALL), "--sample.num-samples", "8", "--sample.seed", "1"],
         "  48 runs = (4 grid - 1 excluded) x 8 draws x 2 replicates"),
        ("ttwriter experiment.yaml --sample.num-samples 8 --sample.params '{learning_rate: {log_uniform: [1.0e-5, 1.0e-3]}}'",
         [str(EXAMPLES / "yaml" / "lora_rank" / "experiment.yaml"), "--sample.num-samples", "8",
          "--sample.params", "{learning_rate: {log_uniform: [1.0e-5, 1.0e-3]}}"],
         "  32 runs = 4 grid x 8 draws"),
    ],
)  # fmt: skip
def test_the_sample_command_lines_of_the_sweeps_doc_make_the_draws_they_ask_for(
    run_cli, tmp_path, doc_line, argv, count
):
    assert doc_line in (REPO / "docs" / "sweeps.md").read_text()

    result = run_cli(*argv, "--dry-run", "--output-dir", str(tmp_path / "o"))

    assert result.code == 0, result.err
    assert count in result.out.splitlines()


# ---------------------------------------------------------------- replicates


def test_replicates_count_from_0_or_from_the_seed_control_or_are_listed(base):
    assert [r.params["seed"] for r in runs(base, variables={"lora_rank": [8, 16]}, replicates=3)] == [
        0,
        1,
        2,
    ] * 2
    assert [r.params["seed"] for r in runs(base, controls={"seed": 100}, replicates=2)] == [100, 101]
    listed = runs(base, variables={"lora_rank": [8, 16]}, replicates=[11, 22])
    assert [(r.condition, r.replicate, r.params["seed"], r.config["seed"]) for r in listed] == [
        ("c000", 0, 11, 11), ("c000", 1, 22, 22), ("c001", 0, 11, 11), ("c001", 1, 22, 22)
    ]  # fmt: skip


def test_replicates_and_a_swept_seed_cannot_both_set_it(base):
    ((key, message, _),) = messages(base, variables={"seed": [1, 2]}, replicates=2)
    assert (key, message) == ("replicates", "replicates set the seed, which variable 'seed' sets too")


# ---------------------------------------------------------------- Python and YAML, snapshots, the CLI


def test_python_and_yaml_give_byte_identical_configs_and_the_snapshot_regenerates_them(tmp_path):
    folder = tmp_path / "exp"
    made = {}
    for source in (PY_ALL, YAML_ALL, folder / "experiment.json"):
        if source.name == "experiment.json":
            generate_configs(source, output_dir=tmp_path / "again", validate=False)
            source_folder = tmp_path / "again"
        else:
            generate_configs(source, output_dir=folder, validate=False, force=True)
            source_folder = folder
        texts = {p.name: p.read_bytes() for p in sorted((source_folder / "configs").iterdir())}
        made[source.name] = {k: v.replace(str(source_folder).encode(), b"<DIR>") for k, v in texts.items()}
        if source == PY_ALL:
            snapshot = (folder / "experiment.json").read_text()
            assert '"lora_alpha": {\n        "per_run": [\n          16,' in snapshot  # the callable's values
    assert len(made[PY_ALL.name]) == 12
    assert made[PY_ALL.name] == made[YAML_ALL.name] == made["experiment.json"]
    mapping = (tmp_path / "again" / "run_mapping.yaml").read_text()
    assert "runs_by: 12 runs = (4 grid - 1 excluded) x 2 draws x 2 replicates\n" in mapping
    assert "  condition: c005\n  replicate: 1\n" in mapping


def test_every_sweeps_example_generates(tmp_path):
    counts = {}
    for path in sorted((EXAMPLES / "sweeps").glob("*_*_*.py")):
        counts[path.name] = len(generate_configs(path, output_dir=tmp_path / path.stem, validate=False).runs)
    assert counts == {
        "all_strategies_07_01.py": 12,
        "baseline_01_01.py": 1,
        "derived_alpha_03_01.py": 3,
        "exclude_04_01.py": 5,
        "linked_schedule_02_01.py": 2,
        "replicates_06_03.py": 9,
        "sampled_wd_05_01.py": 8,
    }


def test_dry_run_shows_the_count_arithmetic_and_the_overrides_change_it(run_cli, tmp_path):
    result = run_cli(
        str(YAML_ALL),
        "--dry-run",
        "--output-dir",
        str(tmp_path / "o"),
        "--replicates",
        "3",
        "--sample.num-samples",
        "4",
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "  36 runs = (4 grid - 1 excluded) x 4 draws x 3 replicates" in lines
    assert lines[lines.index("  36 runs = (4 grid - 1 excluded) x 4 draws x 3 replicates") + 1].startswith(
        "  run_000  c000 r0  lora_rank=8  learning_rate=0.0001  num_warmup_steps=50  weight_decay="
    )
    assert "  run_035  c011 r2  lora_rank=16" in result.out


BAD_YAML = {
    "exclusion matching nothing": (
        "variables:\n  lora_rank: [8, 16]\nexclude:\n  - {lora_rank: 17}\n",
        ":4: exclude[0].lora_rank: exclude item 0 matches no run: lora_rank is never 17; did you mean '16'?",
        "  fix: use one of the values of lora_rank: 8, 16",
    ),
    "linked entries with different keys": (
        "linked:\n  schedule:\n    - {lr: 1.0e-4, num_warmup_steps: 5}\n    - {lr: 3.0e-4}\n",
        ":2: linked.schedule[1]: entry 1 of linked axis 'schedule' sets different keys than entry 0 (lacks num_warmup_steps)",
        "  fix: every entry of 'schedule' sets the same keys: lr, num_warmup_steps",
    ),
    "derived key also a variable": (
        "variables:\n  lora_rank: [8, 16]\nderived:\n  lora_rank: '2 * 8'\n",
        ":4: derived.lora_rank: derived key 'lora_rank' is also variable 'lora_rank': a run cannot take both values",
        "  fix: remove 'lora_rank' from variables (to compute it) or from derived (to sweep it)",
    ),
    "unknown name in a derived expression": (
        "variables:\n  lora_rank: [8, 16]\nderived:\n  lora_alpha: 2 * lora_rnak\n",
        ":4: derived.lora_alpha: derived expression '2 * lora_rnak' uses unknown name 'lora_rnak'; did you mean 'lora_rank'?",
        "  fix: names are the run's params: lora_rank",
    ),
    "low above high": (
        "sample:\n  params:\n    weight_decay: {uniform: [0.5, 0.1]}\n",
        ":3: sample.params.weight_decay.uniform: uniform has low 0.5 above high 0.1",
        "  fix: swap them: weight_decay: {uniform: [0.1, 0.5]}",
    ),
    "non-positive log bound": (
        "sample:\n  params:\n    weight_decay: {log_uniform: [-1, 0.1]}\n",
        ":3: sample.params.weight_decay.log_uniform: log_uniform needs positive bounds, got low -1",
        "  fix: use a positive low bound, e.g. weight_decay: {log_uniform: [0.0001, 0.1]}",
    ),
    "num_samples 0": (
        "sample:\n  num_samples: 0\n  params:\n    weight_decay: {uniform: [0.0, 0.1]}\n",
        ":2: sample.num_samples: sample.num_samples is 0, so the sweep would have no runs",
        "  fix: draw at least once: sample.num_samples: 1 (or leave sample out)",
    ),
    "a derived value too long to write, each exponent small": (
        "variables:\n  lora_rank: [8]\nderived:\n  lora_alpha: '(((lora_rank ** 64) ** 64) ** 64) ** 64'\n",
        ":4: run_000: derived.lora_alpha: derived 'lora_alpha' failed for params lora_rank=8: "
        "ValueError: ((lora_rank ** 64) ** 64) ** 64 has more than 4300 digits",
        "  fix: make it give a value for every run's params",
    ),
    "a derived division by zero": (
        "variables:\n  lora_rank: [8]\nderived:\n  lora_alpha: lora_rank / 0\n",
        ":4: run_000: derived.lora_alpha: derived 'lora_alpha' failed for params lora_rank=8: "
        "ZeroDivisionError: division by zero",
        "  fix: make it give a value for every run's params",
    ),
    "everything excluded": (
        "variables:\n  lora_rank: [8]\nexclude:\n  - {lora_rank: 8}\n",
        ":3: exclude: exclude drops every one of the 1 grid points, so the sweep would have no runs",
        "  fix: remove an exclude item, or add values to the variables",
    ),
}


@pytest.mark.parametrize("text, error, fix", BAD_YAML.values(), ids=BAD_YAML.keys())
def test_each_bad_input_exits_2_with_its_line_and_a_fix(tmp_path, run_cli, text, error, fix):
    path = tmp_path / "experiment.yaml"
    path.write_text(f"experiment_name: bad\nbase_config: {BASE}\n" + text)
    shift = 2  # the two lines above
    result = run_cli(str(path), "--dry-run", "--output-dir", str(tmp_path / "o"))
    assert result.code == 2
    assert "Traceback" not in result.err
    line, _, rest = error[1:].partition(":")
    assert result.err.splitlines()[:2] == [f"error: {path}:{int(line) + shift}:{rest}", fix]
    assert not (tmp_path / "o").exists()
