"""What is committed: no file holds the markers of an unresolved merge."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

_MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def test_no_committed_file_holds_merge_conflict_markers():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    found = []
    for name in filter(None, listed.decode().split("\0")):
        path = REPO / name
        if path.suffix not in {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".sh", ".json", ""}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}" for m in _MARKER.finditer(text)]
    assert found == [], f"merge-conflict markers left in: {', '.join(found)}"
