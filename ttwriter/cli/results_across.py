"""`ttwriter results DIR DIR ...`: the joined table of several experiments, and what it prints.

Each experiment is introduced by its name, file and parent, question and hypothesis; then one
table holds every run of them all (train.collect does the join, the filters and the CSV). One
folder's results (cli.train) write --csv FILE with the same functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ttwriter.cli.exit_codes import EXIT_OK
from ttwriter.cli.options import ResultsOptions
from ttwriter.errors import ExperimentDirError
from ttwriter.formats import counted
from ttwriter.train.collect import Joined, asked, join_results
from ttwriter.train.compare_plot import plot_comparison


def _introduce(joined: Joined) -> list[str]:
    lines = []
    for info in joined.experiments:
        came = info.file + (f" <- {info.parent}" if info.parent else "")
        lines.append(f"{info.name}  ({counted(info.n_runs)}{', ' + came if came else ''}; {info.path})")
        lines += asked(info.question, info.hypothesis)
    return lines


def results_across(args: ResultsOptions, out: TextIO, err: TextIO) -> int:
    """Join, filter, sort, print; then --csv FILE and the comparison plot beside it."""
    joined = join_results(args.dirs)
    for moved in joined.moved:
        print(moved.warning(), file=err)
    total = joined.n_runs
    joined = joined.where(args.conditions())
    if args.sort:
        joined = joined.sorted(args.sort)
    csv_path = write_csv(joined, args.csv)
    n = len(joined.experiments)
    shown = f"{counted(joined.n_runs)}" + (f" of {total}" if joined.n_runs != total else "")
    print(f"Results of {counted(n, 'experiment')}: {shown}", file=out)
    for line in _introduce(joined):
        print(line, file=out)
    print("", file=out)
    for line in joined.table():
        print(f"  {line}", file=out)
    if joined.unmatched:
        print(f"note: {joined.unmatched}", file=out)
    if csv_path is None:
        print("Write them: --csv FILE (the comparison plot goes beside it, FILE with .png)", file=out)
        return EXIT_OK
    print_written_csv(joined, csv_path, args.no_plot, out)
    return EXIT_OK


def write_csv(joined: Joined, csv: str | None) -> Path | None:
    """--csv FILE: the rows shown, every column; None without --csv. Called before anything is
    printed, so a FILE that cannot be written is an error (exit 2) with nothing else done."""
    if csv is None:
        return None
    csv_path = Path(csv).expanduser()
    try:
        csv_path.write_text(joined.csv(), encoding="utf-8")
    except OSError as exc:
        raise ExperimentDirError(
            f"cannot write {csv_path}: {exc.strerror or exc}",
            file=csv_path,
            fix="choose a --csv FILE in a folder you can write",
        ) from None
    return csv_path


def print_written_csv(joined: Joined, csv_path: Path, no_plot: bool, out: TextIO) -> None:
    """The comparison plot beside --csv FILE (unless --no-plot), and `Wrote FILE and FILE.png`."""
    written = [str(csv_path)]
    if not no_plot:
        png, problem = plot_comparison(joined, csv_path.with_suffix(".png"))
        if png is not None:
            written.append(str(png))
        if problem:
            print(f"note: {problem}", file=out)
    print("Wrote " + " and ".join(written), file=out)
