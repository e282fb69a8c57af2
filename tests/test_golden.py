"""Golden files for what users read: generated configs, the run mapping and key errors (every
command's --help and argument errors: tests/cli/test_goldens.py).

The expected texts live in tests/golden/. After an intended change to any of them, regenerate
them all and review the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py tests/cli/test_goldens.py

Machine-specific parts are replaced by tokens before comparing: the experiment folder by
<EXPERIMENT_DIR>, a test's temporary folder by <TMP>, this repository by <REPO> and the ttwriter
version by <VERSION>.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BASE, PY_EXAMPLE, REPO
from ttwriter import __version__

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def normalise(text: str, **tokens: Path) -> str:
    """Replace each path by its <TOKEN>, longest first, and the version by <VERSION>."""
    for token, path in sorted(tokens.items(), key=lambda kv: -len(str(kv[1]))):
        for spelling in {str(path), str(path.resolve())}:
            text = text.replace(spelling, f"<{token}>")
    return text.replace(f"ttwriter {__version__}", "ttwriter <VERSION>")


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), (
        f"no golden file {path}; create it with UPDATE_GOLDEN=1 (see this module's docstring)"
    )
    assert actual == path.read_text(encoding="utf-8")


# --- generated files and terminal output of the example ------------------------------------------


@pytest.fixture(scope="module")
def example_output(tmp_path_factory):
    """The Python example generated once through the CLI (without validation): folder and stdout."""
    import io

    from ttwriter.cli.main import main

    out_dir = tmp_path_factory.mktemp("golden") / "lora_rank"
    out = io.StringIO()
    code = main([str(PY_EXAMPLE), "--output-dir", str(out_dir), "--no-validate"], out=out, err=io.StringIO())
    assert code == 0
    return out_dir, out.getvalue()


@pytest.mark.parametrize("name", ["configs/run_000.yaml", "run_mapping.yaml"])
def test_example_generated_files(example_output, name):
    out_dir, _ = example_output

    text = (out_dir / name).read_text(encoding="utf-8")

    check_golden(f"lora_rank_02_01/{Path(name).name}", normalise(text, EXPERIMENT_DIR=out_dir))


def test_example_terminal_output(example_output):
    out_dir, stdout = example_output

    check_golden("lora_rank_02_01/stdout.txt", normalise(stdout, EXPERIMENT_DIR=out_dir, REPO=REPO))


# --- error messages ------------------------------------------------------------------------------

BASE_PY = (
    "from ttwriter import Experiment\n\n"
    f"experiment = Experiment(name='baseline', base_config={BASE!r}, controls={{'epochs': 1}})\n"
)
CHILD_PY = (
    "from dataclasses import replace\n\n"
    "from {parent} import experiment as parent\n\n"
    "experiment = replace(parent, name='{name}', variables={{'lora_rank': [8, 16]}})\n"
)

ERRORS = {
    "unknown_key": (
        {
            "experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  epochs: 1\n  lora_rnak: 8\n",
        },
        "experiment.yaml",
    ),
    "unknown_top_level_key": (
        {"experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\ncontrolls:\n  epochs: 1\n"},
        "experiment.yaml",
    ),
    "type_mismatch": (
        {"experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  learning_rate: '3e-4'\n"},
        "experiment.yaml",
    ),
    "unknown_base_config": (
        {"experiment.yaml": "experiment_name: a\nbase_config: llama3_2/1B_lora_single_devise\n"},
        "experiment.yaml",
    ),
    "duplicate_yaml_key": (
        {
            "experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n"
            "  epochs: 1\n  batch_size: 2\n  epochs: 3\n",
        },
        "experiment.yaml",
    ),
    "empty_variable": (
        {"experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\nvariables:\n  lora_rank: []\n"},
        "experiment.yaml",
    ),
    "too_many_runs": (
        {
            "experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\nvariables:\n  lora_rank: [8, 16, 32]\n"
            "replicates: 1000000000\n",
        },
        "experiment.yaml",
    ),
    "lineage_wrong_parent": (
        {
            "baseline_01_01.py": BASE_PY,
            "lora_02_01.py": CHILD_PY.format(parent="baseline_01_01", name="lora"),
            "lr_03_01.py": CHILD_PY.format(parent="lora_02_01", name="lr"),
        },
        "lr_03_01.py",
    ),
    "two_problems": (
        {
            "experiment.yaml": f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  lora_rnak: 8\n"
            "variables:\n  learnig_rate: [1.0e-4, 3.0e-4]\n",
        },
        "experiment.yaml",
    ),
    "misspelled_field_in_python": (
        {
            "baseline_01_01.py": BASE_PY,
            "lora_02_01.py": "from dataclasses import replace\n\n"
            "from baseline_01_01 import experiment as parent\n\n"
            "experiment = replace(\n    parent,\n    name='lora',\n    variable={'lora_rank': [8, 16]},\n)\n",
        },
        "lora_02_01.py",
    ),
    "torchtune_config_as_path": (
        {
            "my_lora.yaml": "output_dir: /tmp/out\nmodel:\n  _component_: torchtune.models.llama3_2.lora_llama3_2_1b\n"
            "  lora_rank: 8\ntokenizer:\n  _component_: torchtune.models.llama3.llama3_tokenizer\n"
        },
        "my_lora.yaml",
    ),
    "exception_in_experiment": (
        {
            "baseline_01_01.py": BASE_PY,
            "lora_02_01.py": CHILD_PY.format(parent="baseline_01_01", name="lora")
            + "rank = parent.lora_rank\n",
        },
        "lora_02_01.py",
    ),
}


@pytest.mark.parametrize("files, target", ERRORS.values(), ids=ERRORS.keys())
def test_error_messages(tmp_path, run_cli, files, target, request):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    result = run_cli(str(tmp_path / target), "--output-dir", str(tmp_path / "out"), "--no-validate")

    assert result.code == 2
    assert not (tmp_path / "out").exists()
    check_golden(f"errors/{request.node.callspec.id}.txt", normalise(result.err, TMP=tmp_path))


def _moved(folder: Path) -> list[str]:
    folder.rename(folder.with_name("moved"))
    return ["submit", str(folder.with_name("moved")), "--dry-run"]


def _config_deleted(folder: Path) -> list[str]:
    (folder / "configs" / "run_002.yaml").unlink()
    return ["submit", str(folder), "--dry-run"]


def _param_renamed(folder: Path) -> list[str]:
    mapping = folder / "run_mapping.yaml"
    mapping.write_text(mapping.read_text().replace("  params:", "  param:", 1))
    return ["status", str(folder)]


FOLDER_ERRORS = {"moved_folder": _moved, "deleted_config": _config_deleted, "param_renamed": _param_renamed}
"""Key errors of a written folder: what the user did to it -> the command that then refuses it."""


@pytest.mark.parametrize("damage", FOLDER_ERRORS.values(), ids=FOLDER_ERRORS.keys())
def test_folder_error_messages(tmp_path, run_cli, damage, request):
    written = run_cli(str(PY_EXAMPLE), "--output-dir", str(tmp_path / "written"), "--no-validate")
    assert written.code == 0, written.err

    result = run_cli(*damage(tmp_path / "written"))

    assert (result.code, result.out) == (2, "")
    check_golden(f"errors/{request.node.callspec.id}.txt", normalise(result.err, TMP=tmp_path))
