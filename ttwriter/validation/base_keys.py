"""The top-level keys of the base config a written folder was generated from, read back when the
folder is validated again (validation.gate), so that a key typed into a config by hand is told
from one the base config or the experiment set (validation.recipe checks it as if the experiment
had set it).

experiment.json records the base config's name, path and sha256 (folder.snapshot). The file is
looked for where it was, then as its copy in the folder (a custom `base_config_file` is copied
there), then by its name among the configs torchtune ships; the first whose sha256 is the recorded
one is read, as YAML (nothing is imported). When none is, the keys are unknown and `why_unknown`
says why; the check then warns instead (validation.recipe).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ttwriter.errors import ConfigWriterError
from ttwriter.folder.layout import SNAPSHOT_FILE
from ttwriter.registry import shipped_configs
from ttwriter.safe_read import sha256_file
from ttwriter.yaml_io import read_yaml

if TYPE_CHECKING:
    from ttwriter.folder.snapshot import Snapshot


@dataclasses.dataclass(frozen=True)
class BaseKeys:
    """What a written folder's configs were generated from, as far as its top-level keys go."""

    folder: Path
    """The experiment folder, to show its configs by their path inside it."""
    name: str
    """The base config as experiment.json names it (`llama3_2/1B_lora_single_device` or a path)."""
    keys: frozenset[str] | None
    """Its top-level keys; None when the file it was cannot be found."""
    why_unknown: str = ""
    """When `keys` is None, why, as the end of 'the base config ...': 'is gone (...)'."""

    def shown(self, path: Path) -> str:
        """A config's path as the findings name it: inside the folder (`configs/run_001.yaml`)."""
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return str(path)


def base_keys(folder: Path, snapshot: Snapshot | None) -> BaseKeys:
    """The top-level keys of the base config `snapshot` records, read from the file it was."""
    record = snapshot.provenance.data.get("base_config") if snapshot is not None else None
    if not isinstance(record, dict):
        return BaseKeys(folder, "", None, f"is not recorded ({SNAPSHOT_FILE} has no provenance.base_config)")
    given = record.get("name")
    name = given if isinstance(given, str) else str(record.get("path") or "")
    recorded = record.get("sha256")
    if not isinstance(recorded, str) or not recorded:
        return BaseKeys(folder, name, None, f"has no sha256 in {SNAPSHOT_FILE} to recognise it by")
    seen: list[tuple[Path, str]] = []
    tried: set[Path] = set()
    for path in _candidates(folder, snapshot, record, name, recorded):
        if path in tried or not path.is_file():
            continue
        tried.add(path)
        try:
            sha = sha256_file(path)
        except OSError:
            continue
        if sha != recorded:
            seen.append((path, sha))
            continue
        try:
            data, _ = read_yaml(path)
        except (ConfigWriterError, OSError, UnicodeDecodeError) as exc:
            return BaseKeys(folder, name, None, f"cannot be read ({path}: {' '.join(str(exc).split())})")
        if not isinstance(data, dict):
            return BaseKeys(folder, name, None, f"is not a YAML mapping ({path})")
        return BaseKeys(folder, name, frozenset(str(k) for k in data))
    if seen:
        path, sha = seen[0]
        return BaseKeys(
            folder,
            name,
            None,
            f"changed since the folder was written ({path}: sha256 {recorded[:12]}... then, {sha[:12]}... now)",
        )
    return BaseKeys(folder, name, None, f"is gone ({record.get('path') or name} does not exist)")


def _candidates(
    folder: Path, snapshot: Snapshot | None, record: dict, name: str, recorded: str
) -> Iterator[Path]:
    """Where the base config may be: where it was, its copy in the folder, torchtune's by name
    (looked up only when the others are not it)."""
    if isinstance(record.get("path"), str) and record["path"]:
        yield Path(record["path"])
    copies = snapshot.provenance.source_files if snapshot is not None else {}
    yield from (folder / copy for copy, sha in copies.items() if sha == recorded)
    try:
        shipped = shipped_configs().get(name)
    except ConfigWriterError:  # torchtune is not installed: validation says so itself
        return
    if shipped is not None:
        yield shipped.path
