"""`ttwriter tree`, `ttwriter diff` and `ttwriter new`: their arguments and what they print.

Their options are cli.options' dataclasses, parsed by cli._parser. The work is in family/ (tree,
compare, scaffold) and experiment.lineage; what they raise the dispatcher (cli.main) turns into
`error: ...` and exit code 2. `tree` exits 1 when a file is flagged, `diff` when the experiments
differ (cli.exit_codes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ttwriter.cli._arguments import ArgumentError
from ttwriter.cli._output import pasteable, relative
from ttwriter.cli._parser import parse
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text
from ttwriter.cli.options import DiffOptions, NewOptions, TreeOptions
from ttwriter.errors import ConfigWriterError, each_problem
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.loading import LoadedExperiment, load_experiment
from ttwriter.family.compare import MISSING, Change, compare, config_diff, plan_for_comparison, show, summary
from ttwriter.family.scaffold import new_experiment
from ttwriter.family.tree import FamilyTree, Node, family_tree
from ttwriter.folder.layout import SNAPSHOT_FILE
from ttwriter.formats import counted

TREE_DESCRIPTION = (
    "Print a family of Python experiments as a tree: each file under its parent, with its "
    "experiment name, its run count and what it changes against its parent (controls and "
    "variables by resolved key path). A file that breaks the lineage rules (a bad name, a wrong "
    "import, a missing or shared parent id, a duplicate id) or does not load is flagged with its "
    "error, and the rest of the family is shown all the same. Nothing is written.\n\n"
    f"{exit_codes_text('tree')}"
)
DIFF_DESCRIPTION = (
    "Print what an experiment changes against its parent (the file its name says it derives "
    "from), or against OTHER: every field, control, variable, delete and slurm setting that "
    "differs, old and new value, controls and variables by resolved key path ('lr' in one and "
    "'optimizer.lr' in the other are one key). --configs also diffs the generated config of the "
    f"first run of each.\n\n{exit_codes_text('diff')}"
)
NEW_DESCRIPTION = (
    "Write the next experiment of PARENT's family: NAME_<next id>_<parent id>.py in PARENT's "
    "folder (the next free id, padded as the family pads), importing PARENT the way PARENT "
    "imports its own parent and deriving with dataclasses.replace(parent, name=NAME), with "
    "comments where to change variables and controls. It makes the same runs as PARENT until "
    f"you edit it. An existing file is never replaced.\n\n{exit_codes_text('new')}"
)


# --- tree -----------------------------------------------------------------------------------------


def tree_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter tree PATH [--json]`: exit code 1 when a file is flagged."""
    args = parse(TreeOptions, argv, prog="ttwriter tree", description=TREE_DESCRIPTION, out=out)
    tree = family_tree(Path(args.path))
    if args.json:
        print(json.dumps(tree_json(tree), indent=2, default=show), file=out)
    else:
        for line in tree_lines(tree, _graph(out)):
            print(line, file=out)
    return EXIT_SOME_FAILED if tree.flagged else EXIT_OK


_UNICODE = ("├─ ", "└─ ", "│  ", "   ")
_ASCII = ("|- ", "`- ", "|  ", "   ")


def _graph(out: TextIO) -> tuple[str, str, str, str]:
    """The tree's lines drawn with box characters where `out` can print them."""
    try:
        "".join(_UNICODE).encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return _ASCII
    return _UNICODE


def tree_lines(tree: FamilyTree, graph: tuple[str, str, str, str] = _UNICODE) -> list[str]:
    """The tree as the terminal shows it: a header, then one line per file (two when flagged)."""
    tee, elbow, bar, blank = graph
    by_path = {node.path: node for node in tree.nodes}
    siblings: dict[Path | None, list[Node]] = {}
    for node in tree.nodes:
        siblings.setdefault(node.parent, []).append(node)

    def is_last(node: Node) -> bool:
        return siblings[node.parent][-1] is node

    def above(node: Node) -> str:
        """The bars of the node's ancestors, each where its siblings continue below."""
        parts = []
        ancestor = by_path.get(node.parent) if node.parent else None
        while ancestor is not None and ancestor.depth > 0:
            parts.append(blank if is_last(ancestor) else bar)
            ancestor = by_path.get(ancestor.parent) if ancestor.parent else None
        return "".join(reversed(parts))

    rows = []
    for node in tree.nodes:
        own = (elbow if is_last(node) else tee) if node.depth > 0 else ""
        below = (blank if is_last(node) else bar) if node.depth > 0 else ""
        below += bar.rstrip() if siblings.get(node.path) else ""
        rows.append((above(node) + own + node.path.name, above(node) + below, node))
    width = max(len(left) for left, _, _ in rows)
    names = [n.plan.experiment.name for n in tree.nodes if n.plan is not None]
    name_width = max(map(len, names), default=0)
    run_width = max((len(counted(n.plan.n_runs)) for n in tree.nodes if n.plan is not None), default=0)

    n_files, flagged = len(tree.nodes), len(tree.flagged)
    header = f"{relative(tree.folder)}/: {counted(n_files, 'experiment')}, {counted(tree.n_runs)}"
    lines = [header + (f"; {flagged} flagged" if flagged else "")]
    for left, continued, node in rows:
        if node.plan is not None:
            what = f"{node.plan.experiment.name:<{name_width}}  {counted(node.plan.n_runs):<{run_width}}  "
            lines.append(f"{left:<{width}}  {what}{_node_summary(node)}".rstrip())
        elif node.error is not None:
            for i, problem in enumerate(each_problem(node.error)):
                message, fix = _problem(node, problem)
                first, *more = message.split("\n")
                lines.append(f"{left if i == 0 else continued:<{width}}  error: {first}".rstrip())
                lines += [f"{continued:<{width}}         {line}".rstrip() for line in more]
                if fix:
                    lines.append(f"{continued:<{width}}    fix: {fix}".rstrip())
        else:
            assert node.blocked_by is not None
            lines.append(f"{left:<{width}}  not loaded: its lineage is broken at {node.blocked_by.name}")
    if flagged:
        lines.append(
            f"{flagged} of {counted(n_files, 'file')} flagged: ttwriter refuses to load them until they are fixed"
        )
    return lines


def _node_summary(node: Node) -> str:
    assert node.plan is not None
    if node.file is not None and node.file.is_base:
        base = node.plan.base.name
        return f"base: {relative(Path(base)) if Path(base).is_absolute() else base}"
    if node.changes is None:
        return "(its parent did not load: nothing to compare with)"
    return summary(list(node.changes))


def _problem(node: Node, error: ConfigWriterError) -> tuple[str, str | None]:
    """One problem's message with its coordinates, said from this file's line: the file only
    when it is another one, then the line and the key."""
    where = []
    if error.file and Path(error.file).resolve() != node.path.resolve():
        elsewhere = Path(error.file)
        where.append(
            elsewhere.name if elsewhere.parent.resolve() == node.path.parent.resolve() else error.file
        )
    if error.line:
        where.append(f"line {error.line}")
    if error.key:
        where.append(error.key)
    return ": ".join([*where, error.message]), error.fix


def tree_json(tree: FamilyTree) -> dict[str, Any]:
    """The tree for scripts: the folder, totals and one object per file in tree order."""
    return {
        "folder": str(tree.folder),
        "experiments": len(tree.nodes),
        "runs": tree.n_runs,
        "flagged": len(tree.flagged),
        "files": [_node_json(node) for node in tree.nodes],
    }


def _node_json(node: Node) -> dict[str, Any]:
    plan, file, error = node.plan, node.file, node.error
    return {
        "file": node.path.name,
        "id": file.id if file else None,
        "parent_id": file.parent if file else None,
        "depth": node.depth,
        "under": node.parent.name if node.parent else None,
        "name": plan.experiment.name if plan else None,
        "runs": plan.n_runs if plan else None,
        "base_config": plan.base.name if plan else None,
        "summary": _node_summary(node) if plan else None,
        "changes": [_change_json(c) for c in node.changes] if node.changes is not None else None,
        "errors": [
            {
                "type": type(problem).__name__,
                "message": problem.message,
                "file": problem.file,
                "line": problem.line,
                "key": problem.key,
                "fix": problem.fix,
            }
            for problem in (each_problem(error) if error is not None else ())
        ],
        "blocked_by": node.blocked_by.name if node.blocked_by else None,
    }


def _change_json(change: Change) -> dict[str, Any]:
    values = {side: thaw(v) for side, v in (("old", change.old), ("new", change.new)) if v is not MISSING}
    return {
        "key": change.key,
        "change": change.kind,
        **values,
        **({"note": change.note} if change.note else {}),
    }


# --- diff -----------------------------------------------------------------------------------------


def diff_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter diff FILE [OTHER] [--configs]`: exit code 1 when they differ, as diff does."""
    args = parse(DiffOptions, argv, prog="ttwriter diff", description=DIFF_DESCRIPTION, out=out)
    new = load_experiment(args.file)
    if args.other is not None:
        old = load_experiment(args.other)
        new_label, old_label = _label(new), _label(old)
        header = f"{new_label} against {old_label}"
    else:
        old = _parent(new, args.file)
        new_label, old_label = _label(new, name_only=True), _label(old, name_only=True)
        header = f"{new_label} against its parent {old_label}"
    old_plan, new_plan = plan_for_comparison(old), plan_for_comparison(new)
    changes = compare(old_plan, new_plan)
    print(f"{header}: {counted(len(changes), 'difference') if changes else 'no differences'}", file=out)
    for change in changes:
        print(diff_line(change), file=out)
    if changes:
        runs = (old_plan.n_runs, new_plan.n_runs)
        print(f"runs: {runs[0]} -> {runs[1]}" if runs[0] != runs[1] else f"runs: {runs[0]} in both", file=out)
    differs = bool(changes)
    if args.configs:
        lines = config_diff(old_plan, new_plan, old_label, new_label)
        if lines:
            print("config of the first run, as torchtune reads it:", file=out)
            for line in lines:
                print(line, file=out)
        else:
            print("config of the first run: the same", file=out)
        differs = differs or bool(lines)
    return EXIT_SOME_FAILED if differs else EXIT_OK


def diff_line(change: Change) -> str:
    """`+ key: new`, `- key: old` or `  key: old -> new`, with the note that explains it."""
    note = f" ({change.note})" if change.note else ""
    if change.kind == "added":
        return f"+ {change.key}: {show(change.new)}{note}"
    if change.kind == "removed":
        return f"- {change.key}: {show(change.old)}{note}"
    return f"  {change.key}: {show(change.old)} -> {show(change.new)}{note}"


def _label(loaded: LoadedExperiment, name_only: bool = False) -> str:
    assert loaded.path is not None
    return loaded.path.name if name_only else relative(loaded.path)


def _parent(loaded: LoadedExperiment, typed: str) -> LoadedExperiment:
    """The experiment `loaded` derives from, by its file name."""
    fix = f"name the experiment to compare with: ttwriter diff {pasteable(Path(typed))} OTHER"
    if loaded.kind != "python":
        what = "an experiment.yaml" if loaded.kind == "yaml" else f"an {SNAPSHOT_FILE}"
        raise ArgumentError(
            f"{typed} is {what}: only a Python experiment's file name names a parent", fix=fix
        )
    if len(loaded.sources) < 2:
        raise ArgumentError(f"{typed} is a base (parent == id): it has no parent to compare with", fix=fix)
    return load_experiment(loaded.sources[-2])


# --- new ------------------------------------------------------------------------------------------


def new_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter new PARENT --name NAME`."""
    args = parse(NewOptions, argv, prog="ttwriter new", description=NEW_DESCRIPTION, out=out)
    made = new_experiment(Path(args.parent), args.name)
    print(
        f"Wrote {relative(made.path)} (id {made.id}, derived from {made.parent.path.name})",
        file=out,
    )
    print(f"  it makes the same runs as its parent ({counted(made.n_runs)}) until you edit it", file=out)
    print(f"Edit it, then see what it changes: ttwriter diff {pasteable(made.path)}", file=out)
    return EXIT_OK
