"""Expanding an experiment into runs against the real llama3_2/1B_lora_single_device base."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import (
    Experiment,
    ExperimentProblemsError,
    ExperimentSchemaError,
    TypeMismatchError,
    UnknownKeyError,
)
from ttwriter.sweep.base_config import BaseConfig, load_base_config
from ttwriter.sweep.plan import expand_sweep

EXPERIMENT_DIR = Path("/sweeps/exp")


@pytest.fixture(scope="module")
def base() -> BaseConfig:
    return load_base_config(BASE, None, None, Path("."))


def plan(base: BaseConfig, **fields):
    return expand_sweep(Experiment(name="exp", base_config=BASE, **fields), base, EXPERIMENT_DIR)


def runs(base: BaseConfig, **fields):
    return list(plan(base, **fields).runs())


def log_dirs(base: BaseConfig, log_dir: str, **fields) -> list[str]:
    controls = {"metric_logger": {"log_dir": log_dir}}
    return [r.config["metric_logger"]["log_dir"] for r in runs(base, controls=controls, **fields)]


# ---------------------------------------------------------------- runs and ids


def test_runs_are_the_cartesian_product_with_the_first_variable_outermost(base):
    ranks, rates, packed = [8, 16], [1e-4, 3e-4, 1e-3], [True, False]
    result = runs(base, variables={"lora_rank": ranks, "learning_rate": rates, "packed": packed})
    assert [tuple(r.params.values()) for r in result] == list(itertools.product(ranks, rates, packed))
    assert [r.id for r in result] == [f"run_{i:03d}" for i in range(12)]
    assert [r.index for r in result] == list(range(12))


def test_each_run_config_holds_its_variable_values(base):
    result = runs(base, variables={"lora_rank": [8, 16], "learning_rate": [1e-4, 3e-4]})
    assert [(r.config["model"]["lora_rank"], r.config["optimizer"]["lr"]) for r in result] == [
        (8, 1e-4),
        (8, 3e-4),
        (16, 1e-4),
        (16, 3e-4),
    ]


def test_runs_do_not_share_config_objects(base):
    first, second = runs(base, variables={"lora_rank": [8, 16]})
    first.config["model"]["lora_attn_modules"].append("k_proj")
    assert second.config["model"]["lora_attn_modules"] == ["q_proj", "v_proj", "output_proj"]
    assert base.data["model"]["lora_attn_modules"] == ["q_proj", "v_proj", "output_proj"]


def test_no_variables_make_exactly_one_run_equal_to_base_plus_controls(base):
    result = runs(base, controls={"epochs": 3})
    assert len(result) == 1
    (run,) = result
    assert (run.id, run.params) == ("run_000", {})
    expected = {**base.data, "epochs": 3, "output_dir": str(EXPERIMENT_DIR / "runs" / "run_000")}
    assert run.config == expected


@pytest.mark.parametrize(
    "n_seeds, first, last",
    [(10, "run_000", "run_009"), (1000, "run_000", "run_999"), (1001, "run_0000", "run_1000")],
)
def test_run_ids_widen_past_a_thousand_runs(base, n_seeds, first, last):
    ids = [r.id for r in runs(base, variables={"seed": list(range(n_seeds))})]
    assert (ids[0], ids[-1], len(ids)) == (first, last, n_seeds)
    assert len({len(i) for i in ids}) == 1  # all ids the same width, so they sort in run order


@pytest.mark.parametrize(
    "variables, params",
    [
        ({"lora_rank": [8]}, {"lora_rank": 8}),
        ({"model.lora_rank": [8]}, {"model.lora_rank": 8}),
        ({"model": {"lora_rank": [8]}}, {"model.lora_rank": 8}),
        ({"lr": [3e-4]}, {"lr": 3e-4}),
        ({"compile": [True]}, {"compile": True}),
        ({"lora_attn_modules": [["q_proj"]]}, {"lora_attn_modules": ["q_proj"]}),
        ({"dataset": [{"packed": True}]}, {"dataset": {"packed": True}}),
    ],
)
def test_params_use_the_names_as_written_with_real_types(base, variables, params):
    (run,) = runs(base, variables=variables)
    assert run.params == params
    assert [type(v) for v in run.params.values()] == [type(v) for v in params.values()]


def test_a_dict_valued_variable_merges_into_the_base_node(base):
    (run,) = runs(base, variables={"dataset": [{"packed": True}]})
    assert run.config["dataset"] == {
        "_component_": "torchtune.datasets.alpaca_cleaned_dataset",
        "packed": True,
    }


def test_deletes_and_controls_apply_to_every_run(base):
    result = runs(base, delete=["profiler"], controls={"epochs": 2}, variables={"lora_rank": [8, 16]})
    assert all("profiler" not in r.config and r.config["epochs"] == 2 for r in result)


# ---------------------------------------------------------------- variables and controls together


def test_a_variable_overriding_a_control_wins_with_a_note(base):
    sweep = plan(base, controls={"model.lora_rank": 4}, variables={"lora_rank": [8, 16]})
    assert sweep.notes == (
        "variable 'lora_rank' overrides control 'model.lora_rank' (model.lora_rank): "
        "each run uses the variable's value",
    )
    assert [r.config["model"]["lora_rank"] for r in sweep.runs()] == [8, 16]


def test_no_notes_when_nothing_is_overridden(base):
    assert plan(base, controls={"epochs": 2}, variables={"lora_rank": [8]}).notes == ()


def test_two_spellings_of_one_variable_are_an_error_because_an_axis_would_vanish(base):
    with pytest.raises(
        ExperimentSchemaError,
        match=r"^variables\.lr: 'learning_rate' and 'lr' both sweep 'optimizer\.lr'\n  fix: keep one of them",
    ):
        plan(base, variables={"learning_rate": [1e-4, 3e-4], "lora_rank": [8, 16], "lr": [1e-3]})


@pytest.mark.parametrize(
    "section, value, path, winner, note",
    [
        (
            "controls",
            {"lr": 1e-4, "optimizer": {"lr": 2e-4}},
            ("optimizer", "lr"),
            2e-4,
            "controls set optimizer.lr as 'lr' and then 'optimizer.lr'; the later value wins",
        ),
        (
            "controls",
            {"learning_rate": 1e-4, "lr": 2e-4},
            ("optimizer", "lr"),
            2e-4,
            "controls set optimizer.lr as 'learning_rate' and then 'lr'; the later value wins",
        ),
        (
            "controls",
            {"dataset": {"packed": False}, "dataset.packed": True},
            ("dataset", "packed"),
            True,
            "controls set dataset.packed as 'dataset.packed' twice (nested and dotted); the later value wins",
        ),
    ],
)
def test_two_spellings_of_one_key_the_later_wins_and_a_note_says_so(base, section, value, path, winner, note):
    # A child writes {**parent.controls, "lr": 1e-4} where the parent wrote learning_rate.
    result = plan(base, **{section: value})
    assert result.notes == (note,)
    assigned = result.variables if section == "variables" else result.controls
    assert [(a.path, a.value) for a in assigned if a.path == path] == [(path, winner)]


@pytest.mark.parametrize(
    "deletes, message",
    [
        (
            ("profiler", "profiler.enabled"),
            "delete lists 'profiler.enabled', which is inside 'profiler', deleted too",
        ),
        (
            ("profiler.enabled", "profiler"),
            "delete lists 'profiler.enabled', which is inside 'profiler', deleted too",
        ),
        (("seed", "seed"), "delete lists 'seed' twice"),
    ],
)
def test_overlapping_deletes_are_an_error_that_names_both(base, deletes, message):
    with pytest.raises(ExperimentSchemaError, match=rf"^delete\.[\w.]+: {message}"):
        plan(base, delete=deletes)


def test_a_node_deleted_then_set_again_keeps_its_place(base):
    dataset = {"_component_": "torchtune.datasets.alpaca_dataset", "source": "json"}
    result = plan(base, delete=("dataset",), controls={"dataset": dataset})
    assert list(result.common) == list(base.data)
    assert result.common["dataset"] == dataset


def test_placeholders_in_variable_values_are_filled_and_params_keep_what_was_written(base):
    result = plan(base, variables={"lora_rank": [8, 16], "+data": ["/d/{lora_rank}/{run_id}.json"]})
    runs = list(result.runs())
    assert [r.config["data"] for r in runs] == ["/d/8/run_000.json", "/d/16/run_001.json"]
    assert runs[0].params == {"lora_rank": 8, "+data": "/d/{lora_rank}/{run_id}.json"}


def test_floats_in_placeholders_read_like_python(base):
    result = plan(base, variables={"lr": [1e-5]}, controls={"+tag": "lr{lr}"})
    assert next(iter(result.runs())).config["tag"] == "lr1e-05"


def test_unknown_keys_in_any_section_are_errors(base):
    with pytest.raises(UnknownKeyError, match=r"^variables.lora_rnak: .*did you mean 'lora_rank'"):
        plan(base, variables={"lora_rnak": [8]})
    with pytest.raises(UnknownKeyError, match=r"^controls.epoch: .*did you mean 'epochs'"):
        plan(base, controls={"epoch": 2})
    with pytest.raises(UnknownKeyError, match=r"^delete.profilr: key 'profilr' is not in the base config"):
        plan(base, delete=["profilr"])


# ---------------------------------------------------------------- placeholders


def test_placeholders_are_filled_per_run(base):
    assert log_dirs(
        base, "/logs/{experiment_name}/{run_id}/rank{lora_rank}", variables={"lora_rank": [8, 16]}
    ) == [
        "/logs/exp/run_000/rank8",
        "/logs/exp/run_001/rank16",
    ]


@pytest.mark.parametrize(
    "variables, template, filled",
    [
        ({"learning_rate": [1e-4]}, "lr{learning_rate}", "lr0.0001"),
        ({"compile": [True]}, "c{compile}", "ctrue"),
        ({"dtype": ["fp32"]}, "{dtype}", "fp32"),
        ({"model.lora_rank": [8]}, "r{model.lora_rank}", "r8"),
        ({"model": {"lora_rank": [8]}}, "r{model.lora_rank}", "r8"),
        ({"lora_attn_modules": [["q_proj", "v_proj"]]}, "{lora_attn_modules}", "[q_proj, v_proj]"),
    ],
)
def test_placeholders_are_formatted_like_yaml_values(base, variables, template, filled):
    assert log_dirs(base, "/logs/" + template, variables=variables) == ["/logs/" + filled]


def test_placeholders_in_lists_are_filled(base):
    controls = {"checkpointer": {"checkpoint_files": ["{run_id}.safetensors", "fixed.safetensors"]}}
    result = runs(base, controls=controls, variables={"lora_rank": [8, 16]})
    assert [r.config["checkpointer"]["checkpoint_files"] for r in result] == [
        ["run_000.safetensors", "fixed.safetensors"],
        ["run_001.safetensors", "fixed.safetensors"],
    ]


@pytest.mark.parametrize(
    "template, filled",
    [
        ("${output_dir}/logs", "${output_dir}/logs"),
        ("${output_dir}/{run_id}", "${output_dir}/run_000"),
        ("${oc.env:HOME}/{lora_rank}", "${oc.env:HOME}/8"),
    ],
)
def test_omegaconf_interpolations_are_left_as_written(base, template, filled):
    assert log_dirs(base, template, variables={"lora_rank": [8]}) == [filled]


@pytest.mark.parametrize(
    "template, filled",
    [
        ("/x/{{lora_rank}}/{lora_rank}", "/x/{lora_rank}/8"),
        ("/x/{{literal}}", "/x/{literal}"),
        ("/x/{{literal}}/{run_id}", "/x/{literal}/run_000"),
        ("/x/{{", "/x/{"),
    ],
)
def test_doubled_braces_are_literal_braces(base, template, filled):
    assert log_dirs(base, template, variables={"lora_rank": [8]}) == [filled]


def test_a_placeholder_inside_doubled_braces_is_filled_like_str_format(base):
    assert log_dirs(base, "/x/{{{lora_rank}}}", variables={"lora_rank": [8]}) == ["/x/{8}"]


def test_a_nested_interpolation_is_left_as_written_next_to_a_placeholder(base):
    template = "${oc.env:SCRATCH,${oc.env:HOME}}/{run_id}"
    assert log_dirs(base, template, variables={"lora_rank": [8]}) == [
        "${oc.env:SCRATCH,${oc.env:HOME}}/run_000"
    ]


def test_text_in_single_braces_that_is_no_name_is_left_alone(base):
    assert log_dirs(base, "/x/{}/{a b}", variables={"lora_rank": [8]}) == ["/x/{}/{a b}"]


def test_an_unknown_placeholder_is_an_error_with_a_suggestion(base):
    with pytest.raises(ExperimentSchemaError) as info:
        plan(base, controls={"metric_logger": {"log_dir": "/x/{lora_rnak}"}}, variables={"lora_rank": [8]})
    assert str(info.value) == (
        "controls.metric_logger.log_dir: unknown placeholder {lora_rnak}; did you mean 'lora_rank'?\n"
        "  fix: placeholders are {run_id}, {experiment_name} and variable names: "
        "{experiment_name}, {lora_rank}, {run_id}; write {{ and }} for literal braces"
    )


def test_a_nested_variable_is_a_placeholder_by_its_dotted_name_only(base):
    with pytest.raises(
        ExperimentSchemaError, match=r"unknown placeholder \{lora_rank\}; did you mean 'model.lora_rank'\?"
    ):
        plan(
            base,
            controls={"metric_logger": {"log_dir": "/x/{lora_rank}"}},
            variables={"model": {"lora_rank": [8]}},
        )


# ---------------------------------------------------------------- output_dir


def test_each_run_gets_its_own_output_dir_under_the_experiment_dir(base):
    result = runs(base, variables={"lora_rank": [8, 16]})
    assert [r.output_dir for r in result] == [str(EXPERIMENT_DIR / "runs" / f"run_00{i}") for i in range(2)]
    assert [r.config["output_dir"] for r in result] == [r.output_dir for r in result]


@pytest.mark.parametrize(
    "output_dir, variables, expected",
    [
        ("/out", {"lora_rank": [8, 16]}, ["/out/run_000", "/out/run_001"]),
        ("/out/", {"lora_rank": [8, 16]}, ["/out/run_000", "/out/run_001"]),
        ("/out", {}, ["/out/run_000"]),
        ("/out/{run_id}", {"lora_rank": [8, 16]}, ["/out/run_000", "/out/run_001"]),
        ("/out/r{lora_rank}", {"lora_rank": [8, 16]}, ["/out/r8", "/out/r16"]),
        ("/out/{experiment_name}", {"lora_rank": [8]}, ["/out/exp/run_000"]),
        (
            "/out/r{lora_rank}",
            {"lora_rank": [8, 16], "lr": [1e-4, 2e-4]},
            ["/out/r8/run_000", "/out/r8/run_001", "/out/r16/run_002", "/out/r16/run_003"],
        ),
        (
            "/out/r{lora_rank}_lr{lr}",
            {"lora_rank": [8, 16], "lr": [1e-4, 2e-4]},
            ["/out/r8_lr0.0001", "/out/r8_lr0.0002", "/out/r16_lr0.0001", "/out/r16_lr0.0002"],
        ),
        ("${oc.env:SCRATCH}/ft", {"lora_rank": [8]}, ["${oc.env:SCRATCH}/ft/run_000"]),
    ],
)
def test_a_user_output_dir_gets_the_run_id_unless_it_is_already_unique(base, output_dir, variables, expected):
    result = runs(base, controls={"output_dir": output_dir}, variables=variables)
    assert [r.output_dir for r in result] == expected
    assert [r.config["output_dir"] for r in result] == expected


@pytest.mark.parametrize(
    "output_dir, expected",
    [("checkpoints", "checkpoints/run_000"), ("./a/b", "a/b/run_000"), ("c/{run_id}", "c/run_000")],
)
def test_a_relative_output_dir_is_made_absolute_under_the_experiment_dir(base, output_dir, expected):
    (run,) = runs(base, controls={"output_dir": output_dir})
    assert Path(run.output_dir).is_absolute()
    assert Path(run.output_dir) == EXPERIMENT_DIR / expected


def test_output_dir_as_a_variable_is_used_as_given(base):
    result = runs(base, variables={"output_dir": ["/abs/a", "rel/b"]})
    assert [r.output_dir for r in result] == ["/abs/a", str(EXPERIMENT_DIR / "rel/b")]


def test_interpolations_of_output_dir_in_the_base_are_kept(base):
    (run,) = runs(base, controls={"output_dir": "/out"})
    assert run.config["metric_logger"]["log_dir"] == "${output_dir}/logs"
    assert run.config["checkpointer"]["output_dir"] == "${output_dir}"


# ---------------------------------------------------------------- type errors at plan time


@pytest.mark.parametrize(
    "variables, origin, message",
    [
        (
            {"lora_rank": [8, 16, "32"]},
            "variables.lora_rank",
            "'model.lora_rank' is int 64 in the base config, but the experiment sets str '32'",
        ),
        (
            {"lora_rank": [8], "dtype": ["bf16", 32]},
            "variables.dtype",
            "'dtype' is str 'bf16' in the base config, but the experiment sets int 32",
        ),
        (
            {"compile": [True, 1]},
            "variables.compile",
            "'compile' is bool False in the base config, but the experiment sets int 1",
        ),
        (
            {"dataset": [{"packed": True}, {"packed": "yes"}]},
            "variables.dataset",
            "'dataset.packed' is bool False in the base config, but the experiment sets str 'yes'",
        ),
    ],
)
def test_a_bad_variable_value_fails_at_plan_time_even_if_it_is_the_last(base, variables, origin, message):
    with pytest.raises(TypeMismatchError, match=rf"^{origin}: {message}"):
        plan(base, variables=variables)


def test_a_bad_control_value_fails_at_plan_time(base):
    with pytest.raises(
        TypeMismatchError,
        match=r"^controls.epochs: 'epochs' is int 1 in the base config, but the experiment sets str 'two'",
    ):
        plan(base, controls={"epochs": "two"})


def test_a_placeholder_in_a_number_field_fails_at_plan_time(base):
    with pytest.raises(
        TypeMismatchError,
        match=r"^controls.epochs: 'epochs' is int 1 in the base config, but the experiment sets str '\{lora_rank\}'",
    ):
        plan(base, controls={"epochs": "{lora_rank}"}, variables={"lora_rank": [8]})


SWEEP_SHAPES = [
    dict(variables={"lora_rank": [8, 16, 32], "learning_rate": [1e-4, 3e-4], "seed": [0, 1]}),
    dict(variables={"lora_rank": [4, 8]}, controls={"output_dir": "/scratch/{experiment_name}/r{lora_rank}"}),
    dict(variables={"output_dir": ["/a", "rel/b"]}, controls={"+note": "{run_id}"}),
    dict(controls={"epochs": 3}),
]


@pytest.mark.parametrize("fields", SWEEP_SHAPES)
def test_describe_gives_each_runs_id_params_and_output_dir_without_making_it(base, fields):
    sweep = plan(base, **fields)

    described = [sweep.describe(i) for i in range(sweep.n_runs)]

    assert described == [(r.id, r.params, r.output_dir) for r in sweep.runs()]
    with pytest.raises(IndexError):
        sweep.describe(sweep.n_runs)


@pytest.mark.parametrize("fields", SWEEP_SHAPES)
def test_shared_runs_equal_copied_runs_and_share_only_untouched_sections(base, fields):
    sweep = plan(base, **fields)

    for shared, copied in zip(sweep.runs(share_unchanged=True), sweep.runs(), strict=True):
        assert shared == copied
        for key, value in shared.config.items():
            if key in sweep.varying_keys or key not in sweep.common:
                assert value is not sweep.common.get(key) or not isinstance(value, (dict, list))
            else:
                assert value is sweep.common[key]
    assert sweep.common == plan(base, **fields).common  # nothing wrote into the shared sections


# ---------------------------------------------------------------- every problem at once


def test_every_key_problem_of_the_sweep_is_reported_together(base):
    with pytest.raises(ExperimentProblemsError) as info:
        plan(
            base,
            delete=["profiler.enabeld"],
            controls={"lora_rnak": 8, "epochs": "2", "metric_logger": {"log_dir": "/logs/{rnu_id}"}},
            variables={"learnig_rate": [1e-4], "batch_size": [4, "eight"]},
        )

    assert [(type(p).__name__, p.key) for p in info.value.problems] == [
        ("UnknownKeyError", "delete.profiler.enabeld"),
        ("UnknownKeyError", "controls.lora_rnak"),
        ("UnknownKeyError", "variables.learnig_rate"),
        ("ExperimentSchemaError", "controls.metric_logger.log_dir"),
        ("TypeMismatchError", "controls.epochs"),
        ("TypeMismatchError", "variables.batch_size"),
    ]
    assert [p.fix for p in info.value.problems][-2:] == [
        "write 2 without quotes",
        "give a number, like the base config's 4",
    ]


def test_one_key_problem_is_raised_as_its_own_class(base):
    with pytest.raises(UnknownKeyError, match=r"^controls.lora_rnak: key 'lora_rnak'"):
        plan(base, controls={"lora_rnak": 8, "epochs": 2})


def test_a_control_the_sweep_never_uses_is_an_error_only_when_the_command_line_set_it(base):
    experiment = Experiment(
        name="exp", base_config=BASE, controls={"lora_rank": 4}, variables={"lora_rank": [8, 16]}
    )

    from_file = expand_sweep(experiment, base, EXPERIMENT_DIR)
    with pytest.raises(ExperimentSchemaError) as info:
        expand_sweep(experiment, base, EXPERIMENT_DIR, lambda path: path == ("controls", "lora_rank"))

    assert from_file.notes[0].startswith("variable 'lora_rank' overrides control 'lora_rank'")
    assert str(info.value) == (
        "controls.lora_rank: 'lora_rank' is swept by variable 'lora_rank', so this value would never be used\n"
        "  fix: give its values with --variables.lora-rank VALUE [VALUE ...]"
    )
