"""Run in a fresh process by test_table.py: import the constants recipes name keys by, validate
configs importing every component (no table), then rebuild the component table from the
installed packages. One process, so torch is imported
once for both.

    python imported_worker.py JOBS.json OUT.json TABLE.json.gz
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path


def main() -> None:
    jobs, out, table = (Path(a) for a in sys.argv[1:4])
    from ttwriter.validation.validate import ValidationContext, validate_configs

    findings = {}
    groups: dict[str | None, list[tuple[str, Path]]] = {}
    data = json.loads(jobs.read_text())
    constants = {}
    for module, name in data["constants"]:
        value = getattr(importlib.import_module(module), name, None)
        constants[f"{module}.{name}"] = value if isinstance(value, str) else None
    for name, path, recipe in data["configs"]:
        groups.setdefault(recipe, []).append((name, Path(path)))
    for recipe, group in groups.items():  # one sweep per recipe, as test_table.py validates them
        summary = validate_configs(group, ValidationContext(recipe=recipe, use_table=False))
        findings |= {run["id"]: run["findings"] for run in summary.as_json()["runs"]}
    from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES

    from ttwriter.validation.table_build import build_table, dump_table

    table.write_bytes(dump_table(build_table()))
    out.write_text(
        json.dumps(
            {"findings": findings, "builders": sorted(_PACKAGED_DATASETS_MODULES), "constants": constants}
        )
    )


if __name__ == "__main__":
    main()
