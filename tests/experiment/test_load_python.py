"""Python experiments: `<name>_<id>_<parent>.py` files, their lineage, and isolated loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, REPO
from ttwriter import ExperimentLoadError, ExperimentSchemaError, LineageError, load_experiment


def base_src(name: str = "baseline", epochs: int = 1) -> str:
    return (
        "from ttwriter import Experiment\n"
        "\n"
        f"experiment = Experiment(\n"
        f"    name={name!r},\n"
        f"    base_config={BASE!r},\n"
        f"    controls={{'epochs': {epochs}, 'dataset': {{'split': 'train'}}}},\n"
        ")\n"
    )


def child_src(parent: str = "baseline_01_01", name: str = "child", extra: str = "") -> str:
    return (
        "from dataclasses import replace\n"
        "\n"
        f"from {parent} import experiment as parent\n"
        "\n"
        f"experiment = replace(parent, name={name!r}, variables={{'lora_rank': [8, 16]}})\n"
        f"{extra}"
    )


def write_family(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def local_modules(stems: set[str]) -> set[str]:
    """Modules in sys.modules that come from experiment files (or an `experiments` package)."""
    return {m for m in sys.modules if m.split(".")[-1] in stems or m.split(".")[0] == "experiments"}


# --- deriving a child from its parent ------------------------------------------------------------


def test_child_derives_from_its_parent_through_a_sibling_import(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base_src(), "lora_02_01.py": child_src()})

    loaded = load_experiment(fam / "lora_02_01.py")

    assert loaded.experiment.name == "child"
    assert dict(loaded.experiment.variables) == {"lora_rank": (8, 16)}
    assert loaded.experiment.controls["epochs"] == 1
    assert loaded.experiment.base_config == BASE
    assert loaded.kind == "python"


def test_child_derives_from_its_parent_through_a_package_absolute_import(tmp_path):
    fam = write_family(
        tmp_path / "experiments" / "sft" / "fam",
        {
            "baseline_01_01.py": base_src(epochs=3),
            "lora_02_01.py": child_src(parent="experiments.sft.fam.baseline_01_01"),
        },
    )

    loaded = load_experiment(fam / "lora_02_01.py")

    assert loaded.experiment.name == "child"
    assert loaded.experiment.controls["epochs"] == 3
    assert loaded.lineage == ("baseline_01_01.py", "lora_02_01.py")


def test_folder_name_that_is_not_an_identifier_works_with_sibling_imports(tmp_path):
    fam = write_family(
        tmp_path / "experiments" / "sft" / "qwen_0.5b",
        {"baseline_01_01.py": base_src(epochs=2), "lora_02_01.py": child_src()},
    )

    loaded = load_experiment(fam / "lora_02_01.py")

    assert loaded.experiment.controls["epochs"] == 2
    assert loaded.lineage == ("baseline_01_01.py", "lora_02_01.py")


def test_lineage_chain_and_sources_run_from_the_root_to_the_loaded_file(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(name="lora"),
            "lora_lr_03_02.py": child_src(parent="lora_02_01", name="lora_lr"),
            "unrelated_04_01.py": child_src(name="unrelated"),
        },
    )

    loaded = load_experiment(fam / "lora_lr_03_02.py")

    assert loaded.lineage == ("baseline_01_01.py", "lora_02_01.py", "lora_lr_03_02.py")
    assert loaded.sources == (fam / "baseline_01_01.py", fam / "lora_02_01.py", fam / "lora_lr_03_02.py")
    assert loaded.experiment.name == "lora_lr"


def test_base_file_has_a_lineage_of_itself(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base_src()})

    loaded = load_experiment(fam / "baseline_01_01.py")

    assert loaded.lineage == ("baseline_01_01.py",)
    assert loaded.sources == (fam / "baseline_01_01.py",)


# --- isolation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["sibling", "package-absolute"])
def test_two_families_with_the_same_base_file_name_each_get_their_own_parent(tmp_path, style):
    stems = {"baseline_01_01", "lora_02_01"}
    before = local_modules(stems)
    children = []
    for family, epochs in (("one", 1), ("two", 2)):
        if style == "sibling":
            folder, parent = tmp_path / family / "llama", "baseline_01_01"
        else:
            folder = tmp_path / family / "experiments" / "sft" / "llama"
            parent = "experiments.sft.llama.baseline_01_01"
        write_family(
            folder, {"baseline_01_01.py": base_src(epochs=epochs), "lora_02_01.py": child_src(parent=parent)}
        )
        children.append(folder / "lora_02_01.py")

    first = load_experiment(children[0]).experiment
    second = load_experiment(children[1]).experiment
    first_again = load_experiment(children[0]).experiment

    assert [first.controls["epochs"], second.controls["epochs"], first_again.controls["epochs"]] == [1, 2, 1]
    assert local_modules(stems) == before


def test_editing_a_parent_between_two_loads_is_seen_by_the_child(tmp_path, monkeypatch):
    # Even where Python writes bytecode caches (the default outside this test environment).
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    fam = write_family(
        tmp_path / "fam", {"baseline_01_01.py": base_src(epochs=1), "lora_02_01.py": child_src()}
    )
    assert load_experiment(fam / "lora_02_01.py").experiment.controls["epochs"] == 1

    (fam / "baseline_01_01.py").write_text(base_src(epochs=2), encoding="utf-8")

    assert load_experiment(fam / "lora_02_01.py").experiment.controls["epochs"] == 2
    assert sorted(p.name for p in fam.iterdir()) == ["baseline_01_01.py", "lora_02_01.py"]


def test_a_child_cannot_mutate_its_parents_data(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(extra="parent.controls['dataset']['split'] = 'test'\n"),
        },
    )

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "lora_02_01.py")

    assert str(info.value) == (
        f"{fam / 'lora_02_01.py'}:6: executing the experiment failed: TypeError: "
        "'FrozenDict' object does not support item assignment\n"
        "  fix: fix the error at that line"
    )
    assert load_experiment(fam / "baseline_01_01.py").experiment.controls["dataset"]["split"] == "train"


def test_a_derived_experiment_does_not_change_its_parent(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(
                extra="experiment = replace(experiment, controls={**parent.controls, 'epochs': 9})\n"
                "assert parent.controls['epochs'] == 1\n"
            ),
        },
    )

    assert load_experiment(fam / "lora_02_01.py").experiment.controls["epochs"] == 9
    assert load_experiment(fam / "baseline_01_01.py").experiment.controls["epochs"] == 1


# --- lineage errors ------------------------------------------------------------------------------

LINEAGE_ERRORS = {
    "file name without ids": (
        {"baseline.py": base_src()},
        "baseline.py",
        "{dir}/baseline.py: file name 'baseline.py' does not follow <name>_<id>_<parent>.py\n"
        "  fix: name a base like baseline_01_01.py (parent == id) and a child like lora_02_01.py "
        "(id 02, derived from 01)",
    ),
    "duplicate id": (
        {"baseline_01_01.py": base_src(), "other_01_01.py": base_src()},
        "other_01_01.py",
        "{dir}/other_01_01.py: id 01 is used twice in this folder: baseline_01_01.py and other_01_01.py\n"
        "  fix: give one of them a free id (ids are scoped per folder; next free: 02)",
    ),
    "parent id used twice": (
        {"baseline_01_01.py": base_src(), "other_01_01.py": base_src(), "lora_02_01.py": child_src()},
        "lora_02_01.py",
        "{dir}/lora_02_01.py: lora_02_01.py declares parent id 01, which 2 files have: "
        "baseline_01_01.py and other_01_01.py\n"
        "  fix: give all but one of them a free id (ids are scoped per folder; next free: 03)",
    ),
    "declared parent missing": (
        {"baseline_01_01.py": base_src(), "lora_03_02.py": child_src()},
        "lora_03_02.py",
        "{dir}/lora_03_02.py: lora_03_02.py declares parent id 02, but no file in {dir} has id 02 "
        "(files: baseline_01_01.py, lora_03_02.py)\n"
        "  fix: rename the file so its last number is the id of the file it derives from",
    ),
    "loop": (
        {"a_02_03.py": child_src(parent="b_03_02"), "b_03_02.py": child_src(parent="a_02_03")},
        "a_02_03.py",
        "{dir}/a_02_03.py: lineage loops: a_02_03.py -> b_03_02.py -> a_02_03.py\n"
        "  fix: the chain must end at a base file whose parent equals its id, like baseline_01_01.py",
    ),
    "child imports another sibling": (
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(),
            "lr_03_01.py": child_src(parent="lora_02_01"),
        },
        "lr_03_01.py",
        "{dir}/lr_03_01.py:3: lr_03_01.py declares parent baseline_01_01.py but imports lora_02_01.py\n"
        "  fix: import from baseline_01_01, or rename the file to lr_03_02.py",
    ),
    "child imports nothing": (
        {"baseline_01_01.py": base_src(), "lora_02_01.py": base_src(name="lora")},
        "lora_02_01.py",
        "{dir}/lora_02_01.py: lora_02_01.py declares parent baseline_01_01.py but does not import it\n"
        "  fix: derive from it: 'from baseline_01_01 import experiment as parent' and "
        "'experiment = replace(parent, ...)'",
    ),
    "base imports a sibling": (
        {"baseline_01_01.py": base_src(), "other_02_02.py": child_src()},
        "other_02_02.py",
        "{dir}/other_02_02.py:3: other_02_02.py is a base (parent == id) but imports baseline_01_01.py\n"
        "  fix: rename it to other_02_01.py to record that it derives from that file",
    ),
    "ancestor imports the wrong sibling": (
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(),
            "wrong_03_01.py": child_src(parent="lora_02_01"),
            "leaf_04_03.py": child_src(parent="wrong_03_01"),
        },
        "leaf_04_03.py",
        "{dir}/wrong_03_01.py:3: wrong_03_01.py declares parent baseline_01_01.py but imports lora_02_01.py\n"
        "  fix: import from baseline_01_01, or rename the file to wrong_03_02.py",
    ),
}


@pytest.mark.parametrize("files, target, expected", LINEAGE_ERRORS.values(), ids=LINEAGE_ERRORS.keys())
def test_lineage_errors_name_the_file_and_a_fix(tmp_path, files, target, expected):
    fam = write_family(tmp_path / "fam", files)

    with pytest.raises(LineageError) as info:
        load_experiment(fam / target)

    assert str(info.value) == expected.format(dir=fam)


def test_a_duplicate_id_blocks_only_the_files_whose_lineage_it_breaks(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(),
            "dup_03_02.py": child_src(parent="lora_02_01", name="dup"),
            "other_03_02.py": child_src(parent="lora_02_01", name="other"),
            "leaf_04_03.py": child_src(parent="dup_03_02", name="leaf"),
        },
    )

    assert load_experiment(fam / "lora_02_01.py").lineage == ("baseline_01_01.py", "lora_02_01.py")
    assert load_experiment(fam / "baseline_01_01.py").experiment.name == "baseline"
    for blocked, message in (
        ("dup_03_02.py", "id 03 is used twice in this folder: dup_03_02.py and other_03_02.py"),
        ("other_03_02.py", "id 03 is used twice in this folder: dup_03_02.py and other_03_02.py"),
        (
            "leaf_04_03.py",
            "leaf_04_03.py declares parent id 03, which 2 files have: dup_03_02.py and other_03_02.py",
        ),
    ):
        with pytest.raises(LineageError) as info:
            load_experiment(fam / blocked)
        assert (info.value.file, info.value.message) == (str(fam / blocked), message)


def test_importing_an_experiment_from_another_folder_is_a_lineage_error(tmp_path):
    write_family(tmp_path / "experiments" / "sft" / "other", {"baseline_01_01.py": base_src()})
    fam = write_family(
        tmp_path / "experiments" / "sft" / "fam",
        {
            "baseline_01_01.py": base_src(),
            "lora_02_01.py": child_src(parent="experiments.sft.other.baseline_01_01"),
        },
    )

    with pytest.raises(LineageError) as info:
        load_experiment(fam / "lora_02_01.py")

    assert str(info.value) == (
        f"{fam}/lora_02_01.py:3: imports experiment 'experiments.sft.other.baseline_01_01' from another "
        "folder; ids and parents are scoped per folder\n"
        "  fix: derive from a file in the same folder, or start a new family folder with its own base "
        "(name_01_01.py)"
    )


# --- errors while executing the file -------------------------------------------------------------


def test_an_exception_in_the_experiment_file_reports_that_file_and_line(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {"baseline_01_01.py": base_src(), "lora_02_01.py": child_src(extra="raise ValueError('boom')\n")},
    )

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "lora_02_01.py")

    assert str(info.value) == (
        f"{fam}/lora_02_01.py:6: executing the experiment failed: ValueError: boom\n"
        "  fix: fix the error at that line"
    )
    assert "Traceback" not in str(info.value)


def test_an_exception_in_a_parent_file_reports_the_parent_and_its_line(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {"baseline_01_01.py": base_src() + "1 / 0\n", "lora_02_01.py": child_src()},
    )

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "lora_02_01.py")

    assert str(info.value) == (
        f"{fam}/baseline_01_01.py:8: executing the experiment failed: ZeroDivisionError: division by zero\n"
        "  fix: fix the error at that line"
    )


def test_a_syntax_error_reports_file_and_line(tmp_path):
    fam = write_family(
        tmp_path / "fam", {"baseline_01_01.py": "from ttwriter import Experiment\nexperiment = (\n"}
    )

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "baseline_01_01.py")

    assert str(info.value) == (
        f"{fam}/baseline_01_01.py:2: Python syntax error: '(' was never closed\n  fix: fix the syntax on that line"
    )


def test_an_invalid_experiment_field_in_a_child_points_at_the_child(tmp_path):
    fam = write_family(
        tmp_path / "fam",
        {"baseline_01_01.py": base_src(), "lora_02_01.py": child_src(name="a/b")},
    )

    with pytest.raises(ExperimentSchemaError) as info:
        load_experiment(fam / "lora_02_01.py")

    assert str(info.value).startswith(
        f"{fam}/lora_02_01.py:5: name: experiment name 'a/b' is not a safe folder name\n  fix: "
    )


@pytest.mark.parametrize(
    "text, fix",
    [
        (
            "x = 1\n",
            "add 'experiment = Experiment(name=..., base_config=...)' or 'experiment = replace(parent, ...)'",
        ),
        (base_src().replace("experiment =", "config ="), "rename 'config' to 'experiment'"),
    ],
    ids=["nothing", "named config"],
)
def test_a_file_without_experiment_says_how_to_define_it(tmp_path, text, fix):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": text})

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "baseline_01_01.py")

    assert str(info.value) == (
        f"{fam}/baseline_01_01.py: the file must define a module-level 'experiment' "
        f"(a ttwriter.Experiment); found nothing\n  fix: {fix}"
    )


def test_experiment_of_the_wrong_type_names_what_was_found(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": "experiment = {'name': 'x'}\n"})

    with pytest.raises(ExperimentLoadError, match=r"found dict\n"):
        load_experiment(fam / "baseline_01_01.py")


# --- encodings: as Python itself decodes a source file --------------------------------------------


def experiment_src(notes: str) -> str:
    return f"from ttwriter import Experiment\nexperiment = Experiment(name='x', base_config={BASE!r}, notes={notes!r})\n"


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + experiment_src("caf\u00e9").encode("utf-8"),
        b"# -*- coding: latin-1 -*-\n" + experiment_src("caf\u00e9").encode("latin-1"),
        b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n"
        + experiment_src("caf\u00e9").encode("cp1252"),
    ],
    ids=["utf-8 BOM", "PEP 263 line", "PEP 263 second line"],
)
def test_a_bom_or_a_coding_line_loads_as_python_reads_it(tmp_path, data):
    path = tmp_path / "fam" / "baseline_01_01.py"
    path.parent.mkdir()
    path.write_bytes(data)
    namespace: dict = {}
    exec(compile(data, str(path), "exec"), namespace)  # what Python itself makes of the file

    loaded = load_experiment(path)

    assert loaded.experiment.notes == namespace["experiment"].notes == "caf\u00e9"


def test_a_child_with_a_coding_line_derives_from_its_parent(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base_src()})
    (fam / "lora_02_01.py").write_bytes(
        b"# coding: latin-1\n"
        + child_src(extra="experiment = replace(experiment, notes='\u00e9t\u00e9')\n").encode("latin-1")
    )
    assert load_experiment(fam / "lora_02_01.py").experiment.notes == "\u00e9t\u00e9"


def test_bytes_that_are_not_utf8_name_the_byte_its_line_and_both_fixes(tmp_path):
    path = tmp_path / "fam" / "baseline_01_01.py"
    path.parent.mkdir()
    path.write_bytes(experiment_src("caf\u00e9").encode("latin-1"))

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(path)

    offset = experiment_src("caf").encode().index(b"caf") + 3
    assert str(info.value) == (
        f"{path}:2: not UTF-8 text: byte 0xe9 at byte offset {offset} (line 2, column {offset - 31}) "
        "cannot be decoded (invalid continuation byte)\n"
        "  fix: save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 baseline_01_01.py > "
        "fixed_baseline_01_01.py, or declare its encoding on its first line: # -*- coding: latin-1 -*-"
    )


def test_a_parent_that_is_not_utf8_is_named_when_its_child_is_loaded(tmp_path):
    fam = write_family(tmp_path / "fam", {"lora_02_01.py": child_src()})
    (fam / "baseline_01_01.py").write_bytes(b"# caf\xe9\n" + base_src().encode())

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "lora_02_01.py")
    assert (info.value.file, info.value.line) == (str(fam / "baseline_01_01.py"), 1)


def test_an_unknown_coding_line_is_an_error_on_its_line(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": "#!/usr/bin/env python\n# coding: klingon\n"})
    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "baseline_01_01.py")
    assert str(info.value) == (
        f"{fam}/baseline_01_01.py:2: bad encoding declaration: unknown encoding: klingon\n"
        "  fix: declare an encoding Python knows (# -*- coding: utf-8 -*-), or remove the line"
    )


def test_a_nul_byte_in_the_source_is_an_error_on_its_line(tmp_path):
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base_src() + "x = 1\0\n"})
    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "baseline_01_01.py")
    assert (info.value.line, info.value.message) == (8, "Python source cannot contain a NUL byte")


# --- files that would end the process --------------------------------------------------------------


@pytest.mark.parametrize(
    "statement, what",
    [
        ("raise GeneratorExit", "GeneratorExit"),
        ("raise SystemExit(4)", "SystemExit: 4"),
        ("import sys; sys.exit('bye')", "SystemExit: bye"),
    ],
)
@pytest.mark.parametrize("fork", [True, False], ids=["fork", "no fork"])
def test_a_base_exception_that_is_not_an_exception_is_a_load_error(
    tmp_path, monkeypatch, statement, what, fork
):
    if not fork:
        monkeypatch.delattr("os.fork", raising=False)
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base_src() + statement + "\n"})

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(fam / "baseline_01_01.py")

    assert str(info.value) == (
        f"{fam}/baseline_01_01.py:8: executing the experiment failed: {what}\n  fix: fix the error at that line"
    )


def ttwriter_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process: a file that ends its process must not end the test run."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "ttwriter", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the forked trial load needs os.fork")
@pytest.mark.parametrize(
    "parent_extra, child_extra, where, message, fix",
    [
        (
            "",
            "import os\nos._exit(3)\n",
            "lora_02_01.py:7",
            "executing the experiment called os._exit(3), which ends the process at once (no error, no cleanup)",
            "remove the os._exit() call; to refuse to load, raise an exception with a message",
        ),
        (
            "import os as _os\n_os._exit(0)\n",
            "",
            "baseline_01_01.py:9",
            "executing the experiment called os._exit(0), which ends the process at once (no error, no cleanup)",
            "remove the os._exit() call; to refuse to load, raise an exception with a message",
        ),
        (
            "",
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
            "lora_02_01.py",
            "executing the experiment did not finish: the process executing it was killed by SIGKILL",
            "an experiment file should only define 'experiment'; to see where it stops, run: "
            "python {fam}/lora_02_01.py",
        ),
        (
            "",
            "import posix\nposix._exit(5)\n",
            "lora_02_01.py",
            "executing the experiment did not finish: it ended the process executing it with exit code 5",
            "an experiment file should only define 'experiment'; to see where it stops, run: "
            "python {fam}/lora_02_01.py",
        ),
    ],
    ids=["os._exit in the file", "os._exit in its parent", "a signal", "posix._exit"],
)
def test_a_file_that_ends_the_process_is_reported_with_exit_2_and_nothing_written(
    tmp_path, parent_extra, child_extra, where, message, fix
):
    fam = write_family(
        tmp_path / "fam",
        {"baseline_01_01.py": base_src() + parent_extra, "lora_02_01.py": child_src(extra=child_extra)},
    )

    result = ttwriter_cli(str(fam / "lora_02_01.py"), "--no-validate", "--output-dir", "out", cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: {fam}/{where}: {message}\n  fix: {fix.format(fam=fam)}\n"
    assert not (tmp_path / "out").exists()


def test_the_experiment_is_made_in_process_and_its_output_printed_once(tmp_path, capfd):
    """The trial child's output is discarded and its objects thrown away: callables survive."""
    fam = write_family(
        tmp_path / "fam",
        {
            "baseline_01_01.py": "import dataclasses\nfrom typing import Callable\n"
            "from ttwriter import Experiment\n\n"
            "@dataclasses.dataclass(frozen=True)\nclass WithHook(Experiment):\n"
            "    hook: Callable[[int], int] = lambda n: n\n\n"
            "print('loading the experiment')\n"
            f"experiment = WithHook(name='x', base_config={BASE!r}, hook=lambda n: n * 2)\n"
        },
    )

    loaded = load_experiment(fam / "baseline_01_01.py")

    assert loaded.experiment.hook(21) == 42
    assert capfd.readouterr().out == "loading the experiment\n"
