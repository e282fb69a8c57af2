"""Checks across the runs of a sweep: each run writes its own output folder, outside the checkpoint
it loads, and no two runs are the same config.

Two runs with one output_dir overwrite each other's checkpoints; an output_dir inside the
checkpoint folder writes into the checkpoint being loaded; two identical configs train the same
thing twice (a variable whose key the recipe ignores, or a value listed twice).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ttwriter.validation.report import ERROR, Finding

_SECTION_TEXTS = 64
"""Sections whose JSON text is kept while they come back: a sweep's shared sections (the same
objects in every run) are encoded once; what varies is encoded per run."""


class CrossRunChecks:
    """Sees every run of a sweep once (`add`), then says what is wrong between them (`findings`)."""

    def __init__(self) -> None:
        self._output_dirs: dict[str, list[str]] = {}
        self._hashes: dict[str, list[str]] = {}
        self._texts: collections.OrderedDict[int, tuple[Any, bytes]] = collections.OrderedDict()
        self._resolved: dict[str, Path] = {}

    def _config_hash(self, raw: dict[str, Any]) -> str:
        """Equal for configs equal apart from `output_dir`, whatever their key order."""
        digest = hashlib.sha256()
        for key in sorted(k for k in raw if k != "output_dir"):
            value = raw[key]
            cached = self._texts.get(id(value))
            if cached is None or cached[0] is not value:
                text = json.dumps([key, value], sort_keys=True, default=str).encode()
                if isinstance(value, (dict, list)):
                    self._texts[id(value)] = (value, text)
                    if len(self._texts) > _SECTION_TEXTS:  # the least recently seen goes
                        self._texts.popitem(last=False)
            else:
                text = cached[1]
                self._texts.move_to_end(id(value))
            digest.update(text)
            digest.update(b"\n")
        return digest.hexdigest()

    def _resolve(self, path: str) -> Path:
        if path not in self._resolved:
            if len(self._resolved) >= _SECTION_TEXTS:
                self._resolved.clear()
            self._resolved[path] = Path(path).resolve()
        return self._resolved[path]

    def add(self, run_id: str, plain: dict[str, Any], raw: dict[str, Any]) -> list[Finding]:
        """Record one run; returns what is wrong with it on its own (its output inside its checkpoint)."""
        findings = []
        output_dir = plain.get("output_dir")
        if isinstance(output_dir, str):
            # Runs write side by side (<folder>/runs/<run id>): the folder is resolved once, and
            # the last part, which does not exist yet when a sweep is generated, joined to it.
            head, tail = os.path.split(output_dir.rstrip("/"))
            simple = tail not in ("", ".", "..") and not os.path.islink(output_dir)
            output = self._resolve(head or ".") / tail if simple else Path(output_dir).resolve()
            self._output_dirs.setdefault(str(output), []).append(run_id)
            checkpoint_dir = (
                (plain.get("checkpointer") or {}).get("checkpoint_dir")
                if isinstance(plain.get("checkpointer"), dict)
                else None
            )
            if isinstance(checkpoint_dir, str) and output.is_relative_to(self._resolve(checkpoint_dir)):
                findings.append(
                    Finding(
                        ERROR,
                        "sweep",
                        "output_dir",
                        f"output_dir {output_dir!r} is inside checkpointer.checkpoint_dir {checkpoint_dir!r}: "
                        "saving would write into the checkpoint being loaded",
                        "put output_dir outside the checkpoint folder",
                    )
                )
        self._hashes.setdefault(self._config_hash(raw), []).append(run_id)
        return findings

    def findings(self) -> dict[str, list[Finding]]:
        """Run id -> what is wrong between it and other runs, in the order the runs were added."""
        shared = [(runs, _same_output(runs, folder)) for folder, runs in self._output_dirs.items()]
        shared += [(runs, _same_config(runs)) for runs in self._hashes.values()]
        found: dict[str, list[Finding]] = {}
        for runs, finding in shared:
            if len(runs) > 1:
                for run_id in runs:
                    found.setdefault(run_id, []).append(finding)
        return found


def _same_output(runs: list[str], folder: str) -> Finding:
    return Finding(
        ERROR,
        "sweep",
        "output_dir",
        f"runs {', '.join(runs)} all write to {folder}: checkpoints would overwrite each other",
        "leave output_dir to ttwriter, or put {run_id} in it",
    )


def _same_config(runs: list[str]) -> Finding:
    return Finding(
        ERROR,
        "sweep",
        "",
        f"runs {', '.join(runs)} have identical configs: the sweep would train the same thing twice",
        "check that every variable really changes the config (a key the recipe ignores, or duplicate values)",
    )
