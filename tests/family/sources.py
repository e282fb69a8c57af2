"""Experiment files for family tests: a base, a child of any parent, and a folder of them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BASE

EXECUTED = "executed.marker"
"""A file an experiment writes beside itself when it is executed (see `marking`)."""


def base_src(name: str = "baseline", controls: str = "{'epochs': 1}", variables: str = "{}") -> str:
    return (
        "from ttwriter import Experiment\n"
        "\n"
        f"experiment = Experiment(name={name!r}, base_config={BASE!r}, controls={controls}, "
        f"variables={variables})\n"
    )


def child_src(parent: str = "baseline_01_01", name: str = "child", changes: str = "") -> str:
    return (
        "from dataclasses import replace\n"
        "\n"
        f"from {parent} import experiment as parent\n"
        "\n"
        f"experiment = replace(parent, name={name!r}{', ' + changes if changes else ''})\n"
    )


def marking(source: str) -> str:
    """`source`, which leaves EXECUTED in its folder when it runs."""
    return f"import pathlib\npathlib.Path(__file__).with_name({EXECUTED!r}).touch()\n{source}"


def write_family(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
