"""Rebuild ttwriter/validation/components_table.json.gz from the installed torch and torchtune.

    .venv/bin/python scripts/build_component_table.py        # or: make component-table

Run it after changing the pinned torch or torchtune version (tests/validation/test_table.py fails
until the shipped table matches what is installed). See docs/validation.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ttwriter.validation.table import TABLE_FILE  # noqa: E402
from ttwriter.validation.table_build import write_table  # noqa: E402

if __name__ == "__main__":
    start = time.perf_counter()
    data = write_table()
    print(
        f"{TABLE_FILE}: {len(data['components'])} components at {len(data['paths'])} paths in "
        f"{len(data['modules'])} modules, for {data['versions']} "
        f"({TABLE_FILE.stat().st_size / 1024:.0f} KB, {time.perf_counter() - start:.1f} s)"
    )
