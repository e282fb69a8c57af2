"""A family folder as a tree: every experiment file under its parent, with its run count and what
it changes against that parent, and every file that breaks the rules flagged with its own error.

The folder is scanned once (experiment.lineage); a file with a problem of its own (a bad name, a
wrong import, a missing or shared parent id, a duplicate id, a loop) is flagged, and so is a file
that fails to load or to plan; the files below a file whose lineage is broken are shown but not
loaded (the loader would refuse them). Nothing else stops: one bad file never hides the rest.
Run counts come from the plan (base config and keys resolved, nothing written, no torch).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ttwriter.errors import ConfigWriterError, ExperimentLoadError, LineageError
from ttwriter.experiment.lineage import ExperimentFile, Family, misnamed_error, scan_family
from ttwriter.experiment.loading import load_experiment
from ttwriter.family.compare import Change, compare, plan_for_comparison
from ttwriter.sweep.plan import SweepPlan


@dataclasses.dataclass(frozen=True)
class Node:
    """One file of the family, where the tree shows it."""

    path: Path
    depth: int
    """0 for a root (a base, or a file that cannot be placed under a parent)."""
    parent: Path | None
    """The file it is shown under."""
    file: ExperimentFile | None
    """What its name says; None for a file outside the naming pattern."""
    plan: SweepPlan | None = None
    """Its sweep, when it loaded and planned."""
    changes: tuple[Change, ...] | None = None
    """What it changes against `parent`, when both planned."""
    error: ConfigWriterError | None = None
    """Why it is flagged: its own lineage problem, or what loading or planning it raised."""
    blocked_by: Path | None = None
    """The ancestor whose broken lineage keeps this file from loading."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.blocked_by is None


@dataclasses.dataclass(frozen=True)
class FamilyTree:
    folder: Path
    nodes: tuple[Node, ...]
    """In display order: each file after its parent, siblings by id and name."""

    @property
    def flagged(self) -> list[Node]:
        return [n for n in self.nodes if not n.ok]

    @property
    def n_runs(self) -> int:
        return sum(n.plan.n_runs for n in self.nodes if n.plan is not None)


def family_folder(path: Path) -> Path:
    """The family folder of `path`: itself if it is a folder, else the folder holding it."""
    if not path.exists():
        raise ExperimentLoadError(
            "no such file or folder",
            file=path,
            fix="give a family folder (e.g. experiments/sft/llama_1b) or a file in it",
        )
    return (path if path.is_dir() else path.parent).resolve()


def family_tree(path: Path) -> FamilyTree:
    """The family of `path` (a folder, or a file in it); raises only when it holds no experiment."""
    folder = family_folder(path)
    family = scan_family(folder)
    if not family.files and not family.misnamed:
        raise LineageError(
            "no Python experiment (<name>_<id>_<parent>.py) in this folder",
            file=folder,
            fix="give the folder of a family of Python experiments; an experiment.yaml has no "
            "lineage (ttwriter PATH --dry-run shows its runs)",
        )
    placed = _placed(family)
    nodes: dict[Path, Node] = {}
    for file, depth in placed:
        parent = family.parent_of(file)
        nodes[file.path] = _node(file, depth, parent, family, nodes)
    for path in family.misnamed:
        nodes[path] = Node(path, 0, None, None, error=misnamed_error(path))
    return FamilyTree(folder, tuple(nodes.values()))


def _placed(family: Family) -> list[tuple[ExperimentFile, int]]:
    """Every file with its depth, in display order: roots (bases, and files with no one parent)
    by id, each followed by its children; then whatever a loop kept from being reached."""
    children: dict[Path, list[ExperimentFile]] = {}
    roots = []
    for file in sorted(family.files, key=lambda f: (f.id, f.path.name)):
        parent = family.parent_of(file)
        if parent is None:
            roots.append(file)
        else:
            children.setdefault(parent.path, []).append(file)
    order: list[tuple[ExperimentFile, int]] = []
    seen: set[Path] = set()

    def visit(file: ExperimentFile, depth: int) -> None:
        if file.path in seen:
            return
        seen.add(file.path)
        order.append((file, depth))
        for child in children.get(file.path, []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    for file in sorted(family.files, key=lambda f: (f.id, f.path.name)):
        visit(file, 0)  # on a loop: shown from its first file, the loop cut where it closes
    return order


def _node(
    file: ExperimentFile, depth: int, parent: ExperimentFile | None, family: Family, done: dict[Path, Node]
) -> Node:
    shown_under = parent.path if parent is not None and depth > 0 else None
    problem = family.problem(file)
    if problem is not None:
        return Node(file.path, depth, shown_under, file, error=problem)
    broken = family.broken_ancestor(file)
    if broken is not None:
        return Node(file.path, depth, shown_under, file, blocked_by=broken.path)
    try:
        plan = plan_for_comparison(load_experiment(file.path))
    except ConfigWriterError as exc:
        return Node(file.path, depth, shown_under, file, error=exc)
    parent_node = done.get(parent.path) if parent is not None else None
    changes = None
    if parent_node is not None and parent_node.plan is not None:
        changes = tuple(compare(parent_node.plan, plan))
    return Node(file.path, depth, shown_under, file, plan, changes)
