"""The error tree's shared words (key paths, "did you mean"), locating errors where they are made,
and collecting every problem into one error."""

from __future__ import annotations

import pytest

from ttwriter.errors import (
    ConfigWriterError,
    ExperimentProblemsError,
    ExperimentSchemaError,
    Location,
    Problems,
    UnknownKeyError,
    ValidationError,
    close_matches,
    did_you_mean,
    join_key,
    key_path,
    locating,
    suggestion,
)


@pytest.mark.parametrize(
    ("parts", "prefix", "text"),
    [
        (("runs", 3, "params"), "", "runs[3].params"),
        ((0, "packed"), "dataset", "dataset[0].packed"),
        ((), "controls", "controls"),
        ((2,), "", "[2]"),
    ],
)
def test_key_paths_are_dotted_with_list_indexes_in_brackets(parts, prefix, text):
    assert key_path(parts, prefix) == text


def test_one_level_down_a_key_path():
    assert [join_key("", "model"), join_key("model", "lora_rank"), join_key("dataset", 1)] == [
        "model",
        "model.lora_rank",
        "dataset[1]",
    ]


def test_did_you_mean_names_the_closest_spellings():
    assert did_you_mean("lora_rnak", ["lora_rank", "lora_alpha", "epochs"]) == (
        "did you mean 'lora_rank' or 'lora_alpha'?"
    )
    assert did_you_mean("lora_rnak", ["lora_rank"], capital=True) == "Did you mean 'lora_rank'?"
    assert did_you_mean("zzz", ["lora_rank"]) is None


@pytest.mark.parametrize(
    "word, candidates, matches",
    [
        ("name", ["experiment_name", "sample", "seed"], ["experiment_name"]),
        ("rank", ["lora_rank", "model.lora_rank", "tags"], ["lora_rank", "model.lora_rank"]),
        ("base.file", ["base_config_file", "base_dir", "notes"], ["base_config_file"]),
        ("epoch", ["epochs", "max_steps_per_epoch", "seed"], ["epochs", "max_steps_per_epoch"]),
        ("lora_rnak", ["lora_rank", "lora_alpha", "model"], ["lora_rank", "lora_alpha"]),
        ("experiment_name", ["name", "notes", "date"], ["name"]),
        ("model.lora_rnak", ["model", "model.lora_rank"], ["model.lora_rank"]),
        ("lr", ["lr_scheduler", "optimizer"], []),
    ],
    ids=[
        "a name part",
        "two keys with the part",
        "parts in order",
        "a near spelling first",
        "a typo",
        "the other way round",
        "not the first key of a path",
        "too short",
    ],
)
def test_a_candidate_that_has_the_word_as_name_parts_or_is_its_parts_is_close_too(word, candidates, matches):
    # Letters alone make 'name' closest to 'sample' (0.6) and far from 'experiment_name' (0.42).
    assert close_matches(word, candidates) == matches


def test_a_suggestion_of_chosen_names_can_show_them_as_they_are():
    assert suggestion(["a.b", "a.c"], show=str) == "did you mean a.b or a.c?"
    assert suggestion([]) is None


def test_an_error_says_where_then_what_then_the_fix():
    error = ConfigWriterError("is not a number", file="exp.yaml", line=3, key="controls.lr", fix="write 1e-4")

    assert str(error) == "exp.yaml:3: controls.lr: is not a number\n  fix: write 1e-4"


# --- located where raised -------------------------------------------------------------------------


def test_an_error_with_a_key_path_is_located_by_the_active_locator():
    written = {("controls", "optimizer", "lr"): Location("exp.yaml", 7)}

    with locating(written.get):
        error = ConfigWriterError("is not a number", path=("controls", "optimizer.lr"), fix="write 1e-4")

    assert (error.file, error.line, error.key, error.path) == (
        "exp.yaml",
        7,
        "controls.optimizer.lr",
        ("controls", "optimizer", "lr"),
    )
    assert str(error) == "exp.yaml:7: controls.optimizer.lr: is not a number\n  fix: write 1e-4"


def test_an_explicit_file_wins_and_no_locator_means_no_location():
    with locating(lambda path: Location("elsewhere.yaml", 1)):
        explicit = ConfigWriterError("bad", file="base.yaml", line=3, path=("epochs",))
    unlocated = ConfigWriterError("bad", path=("epochs",))

    assert (explicit.file, explicit.line) == ("base.yaml", 3)
    assert (unlocated.file, unlocated.line, str(unlocated)) == (None, None, "epochs: bad")


def test_a_location_can_put_the_key_under_the_section_its_file_keeps_the_fields_in():
    with locating(lambda path: Location("experiment.json", 4, key_prefix="experiment")):
        error = ConfigWriterError("bad", path=("controls", "epochs"))

    assert str(error) == "experiment.json:4: experiment.controls.epochs: bad"


def test_locating_ends_with_its_block():
    with locating(lambda path: Location("a.yaml")):
        with locating(lambda path: Location("b.yaml")):
            inner = ConfigWriterError("x", path=("k",))
        outer = ConfigWriterError("x", path=("k",))
    after = ConfigWriterError("x", path=("k",))

    assert (inner.file, outer.file, after.file) == ("b.yaml", "a.yaml", None)


# --- every problem in one go ---------------------------------------------------------------------


def test_one_collected_problem_is_raised_as_itself():
    problems = Problems()
    with problems.collect():
        raise UnknownKeyError("key 'lora_rnak' is not in the base config", path=("controls", "lora_rnak"))

    with pytest.raises(UnknownKeyError, match=r"^controls.lora_rnak: key 'lora_rnak'"):
        problems.raise_if_any()


def test_several_problems_are_one_error_listing_each_with_its_location_and_fix():
    problems = Problems()
    for key, line in (("lora_rnak", 4), ("epocs", 5)):
        with problems.collect():
            raise UnknownKeyError(
                f"key {key!r} is not in the base config",
                file="exp.yaml",
                line=line,
                key=f"controls.{key}",
                fix="fix it",
            )
    with problems.collect():
        pass  # a check that finds nothing adds nothing

    with pytest.raises(ExperimentProblemsError) as info:
        problems.raise_if_any()

    assert isinstance(info.value, ValidationError)
    assert [p.key for p in info.value.problems] == ["controls.lora_rnak", "controls.epocs"]
    assert str(info.value) == (
        "the experiment has 2 problems:\n"
        "  exp.yaml:4: controls.lora_rnak: key 'lora_rnak' is not in the base config\n"
        "    fix: fix it\n"
        "  exp.yaml:5: controls.epocs: key 'epocs' is not in the base config\n"
        "    fix: fix it"
    )


def test_collected_problems_are_flattened_and_said_once():
    first = ExperimentSchemaError("a", key="x")
    second = ExperimentSchemaError("b", key="y")
    problems = Problems([first])
    problems.add(ExperimentProblemsError([ExperimentSchemaError("a", key="x"), second]))

    assert problems.found == (first, second)
    assert Problems().error() is None
    Problems().raise_if_any()  # nothing found: nothing raised


def test_a_collector_lets_other_exceptions_through():
    problems = Problems()
    with pytest.raises(KeyError):
        with problems.collect():
            raise KeyError("a bug is not a problem of the experiment")
    assert not problems


def test_a_note_is_added_to_a_new_error_of_the_same_class():
    error = UnknownKeyError("cannot replace the folder", file="/out", fix="choose another --output-dir")

    noted = error.adding(" (the old folder is kept at /out.old)")

    assert type(noted) is UnknownKeyError and noted is not error
    assert (
        str(noted)
        == "/out: cannot replace the folder (the old folder is kept at /out.old)\n  fix: choose another --output-dir"
    )
    assert str(error) == "/out: cannot replace the folder\n  fix: choose another --output-dir"
