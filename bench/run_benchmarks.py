"""Benchmarks for the "Speed" goals of ttwriter, measured side by side in one run.

    .venv/bin/python bench/run_benchmarks.py                     # print the results
    .venv/bin/python bench/run_benchmarks.py --update-doc docs/benchmarks.md

1. CLI start-up: `ttwriter --help` and `ttwriter <example> --dry-run`, best of N, and whether
   torch / torchtune were imported (goal: < 0.5 s, no torch).
2. Generation without validation for sweeps of 1,000 and 10,000 runs, each in a fresh process
   (a plain grid, then a sampled sweep with every strategy: linked, exclude, draws, replicates, derived):
   wall time, time per run, peak RSS growth and the tracemalloc peak during generation, and what
   the returned result still holds (goals: 10,000 runs < 10 s, time linear in runs, memory flat).
3. Validation without importing torch (issue 14), each in fresh processes, side by side:
   `ttwriter <example>` validated and with `--no-validate`, best of N (goal: within 2x); a
   1,000-run sweep validated and not (goal: validated < 1 s); a 256-run sweep's validation against
   the per-file `tune validate` loop, timed on a sample of files and extrapolated (goal: > 2,000x
   per config); tracemalloc's peak while 1,000 and 10,000 runs are validated (goal: flat).

Every measurement runs in a subprocess of this script (`--worker ...`), so imports and peak memory
are those of a fresh process. Nothing here asserts: the numbers are printed, with the goals beside
them, for a person to judge. The test suite has no timing assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "experiments" / "sft" / "llama_1b" / "lora_rank_02_01.py"
BIN = Path(sys.executable).parent
HEAVY_MODULES = ("torch", "torchtune", "torchao", "omegaconf")
DOC_BEGIN = "<!-- bench:begin (written by bench/run_benchmarks.py --update-doc; do not edit) -->"
DOC_END = "<!-- bench:end -->"

CONTROLS = {
    "epochs": 1,
    "batch_size": 4,
    "dataset": {
        "_component_": "torchtune.datasets.alpaca_dataset",
        "source": "json",
        "data_files": "/data/alpaca_sample.json",
        "split": "train",
    },
}


# Ten values for each variable, in this order: a sweep of 10**k runs uses the first k variables, so
# every size has the same number of values per variable and only the number of runs changes.
TEN_VALUES = {
    "lora_rank": [2 * (i + 1) for i in range(10)],
    "learning_rate": [round(1e-5 * (i + 1), 8) for i in range(10)],
    "seed": list(range(10)),
    "weight_decay": [round(0.01 * i, 4) for i in range(10)],
    "gradient_accumulation_steps": list(range(1, 11)),
    "lora_alpha": [8 * (i + 1) for i in range(10)],
}


def sweep_experiment(n_runs: int, name: str = "bench"):
    """A LoRA sweep of `n_runs`: a power of ten from 10 to 10**6, or a multiple of 32 (validation)."""
    from ttwriter import Experiment

    k = len(str(n_runs)) - 1
    if n_runs == 10**k and 1 <= k <= len(TEN_VALUES):
        variables = dict(list(TEN_VALUES.items())[:k])
    elif n_runs % 32 == 0:  # rank x learning rate x seeds, as a researcher would validate it
        variables = {
            "lora_rank": [4, 8, 16, 32],
            "learning_rate": [1e-5, 3e-5, 1e-4, 3e-4],
            "seed": list(range(n_runs // 16)),
        }
    else:
        raise SystemExit(f"cannot make a sweep of {n_runs} runs: use 10, 100, ... 10**6 or 32 * k")
    return Experiment(
        name=name, base_config="llama3_2/1B_lora_single_device", controls=CONTROLS, variables=variables
    )


def sampled_experiment(n_runs: int, name: str = "bench_sampled"):
    """A sweep of `n_runs` (a multiple of 20) using every strategy: lora_rank (4) x a linked schedule
    (3) minus 2 excluded = 10 grid points, x n_runs / 20 draws of learning rate and weight decay,
    x 2 replicates, lora_alpha derived from the rank."""
    from ttwriter import Experiment, Sample

    if n_runs % 20:
        raise SystemExit(f"cannot make a sampled sweep of {n_runs} runs: use a multiple of 20")
    return Experiment(
        name=name,
        base_config="llama3_2/1B_lora_single_device",
        controls=CONTROLS,
        variables={"lora_rank": [4, 8, 16, 32]},
        linked={
            "schedule": [
                {"num_warmup_steps": 50, "epochs": 1},
                {"num_warmup_steps": 100, "epochs": 2},
                {"num_warmup_steps": 200, "epochs": 3},
            ]
        },
        exclude=[{"lora_rank": 32, "epochs": 3}, {"lora_rank": 4, "epochs": 3}],
        derived={"lora_alpha": "2 * lora_rank"},
        sample=Sample(
            num_samples=n_runs // 20,
            seed=0,
            params={
                "learning_rate": {"log_uniform": [1e-5, 1e-3], "digits": 3},
                "weight_decay": {"uniform": [0.0, 0.1], "round": 4},
            },
        ),
        replicates=2,
    )


# --- workers: run in a fresh subprocess, print one JSON object ----------------------------------


def worker_imports(args: list[str]) -> dict:
    """Run the CLI in-process (stdout discarded) and report which heavy modules it imported."""
    import io

    from ttwriter.cli.main import main

    code = main(args, out=io.StringIO(), err=io.StringIO())
    return {"exit": code, "imported": [m for m in HEAVY_MODULES if m in sys.modules]}


def worker_generate(n_runs: int, trace: bool, scratch: str, kind: str = "grid") -> dict:
    """Generate one sweep under `scratch`; with `trace`, tracemalloc peaks while writing and after."""
    from ttwriter import generate_configs

    folder = Path(tempfile.mkdtemp(prefix=f"generate_{n_runs}_", dir=scratch))
    # Warm up (base config read, modules imported, caches filled) and flush earlier writes: untimed.
    generate_configs(sweep_experiment(32, "warmup"), folder / "warmup", validate=False)
    experiment = sampled_experiment(n_runs) if kind == "sampled" else sweep_experiment(n_runs)
    gc.collect()
    os.sync()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peaks = {}
    progress = None
    if trace:
        import tracemalloc

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "write" and done == total:  # every run written: what follows is apart
                peaks["trace_peak_writing"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()

        tracemalloc.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = generate_configs(experiment, folder / "out", validate=False, progress=progress)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "n_runs": len(result.runs),
        "seconds": seconds,
        "user_seconds": after.ru_utime - before.ru_utime,
        "sys_seconds": after.ru_stime - before.ru_stime,
    }
    if trace:
        gc.collect()
        with_result, peak_after = tracemalloc.get_traced_memory()
        del result
        gc.collect()
        out |= peaks
        out["trace_peak_after"] = peak_after
        out["trace_held_by_result"] = with_result - tracemalloc.get_traced_memory()[0]
    out["rss_growth_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    out["torch_imported"] = "torch" in sys.modules
    out["files"] = sum(1 for _ in (folder / "out" / "configs").iterdir())
    return out


def worker_validate(n_runs: int, sample: int, scratch: str) -> dict:
    """The sweep with and without validation in one fresh process; a sample of its files."""
    from ttwriter import generate_configs

    folder = Path(tempfile.mkdtemp(prefix=f"validate_{n_runs}_", dir=scratch))
    experiment = sweep_experiment(n_runs)
    start = time.perf_counter()
    generate_configs(experiment, folder / "plain", validate=False)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    result = generate_configs(experiment, folder / "validated", validate=True)
    validated = time.perf_counter() - start
    runs = list(result.runs)
    step = max(1, len(runs) // sample)
    return {
        "n_runs": len(runs),
        "plain_seconds": plain,
        "validated_seconds": validated,
        "torch_imported": "torch" in sys.modules,
        "summary": result.validation.summary_line() if result.validation else None,
        "sample_files": [str(r.config_path) for r in runs[::step][:sample]],
    }


def worker_sweep(n_runs: int, validate: bool, trace: bool, scratch: str) -> dict:
    """One `generate_configs` of `n_runs` in this fresh process, validated or not; with `trace`,
    the growth of the process's peak RSS while the runs are validated (tracemalloc would make a
    10,000-run validation take minutes)."""
    from ttwriter import generate_configs

    folder = Path(tempfile.mkdtemp(prefix=f"sweep_{n_runs}_", dir=scratch))
    experiment = sweep_experiment(n_runs)
    marks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "write" and done == total:  # what follows is validation
            marks["before_validation"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if stage == "validate" and done == total:
            marks["after_validation"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = generate_configs(
        experiment, folder / "out", validate=validate, progress=progress if trace else None
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    out = {"n_runs": len(result.runs), "seconds": seconds, "torch_imported": "torch" in sys.modules}
    out["cpu_seconds"] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    out["summary"] = result.validation.summary_line() if result.validation else None
    if trace:
        out["rss_growth_kb"] = marks["after_validation"] - marks["before_validation"]
        out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def run_worker(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, cwd=REPO
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- measurements --------------------------------------------------------------------------------


def best_wall(cmd: list[str], repeat: int) -> tuple[float, int]:
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return min(times), code


def ttwriter_command() -> list[str]:
    script = BIN / "ttwriter"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ttwriter"]


def bench_cli(repeat: int, scratch: str) -> list[dict]:
    rows = []
    dry = [str(EXAMPLE), "--dry-run", "--output-dir", str(Path(scratch) / "dry")]
    for label, args in (("ttwriter --help", ["--help"]), ("ttwriter <example> --dry-run", dry)):
        seconds, code = best_wall([*ttwriter_command(), *args], repeat)
        imports = run_worker("imports", json.dumps(args))
        rows.append({"what": label, "seconds": seconds, "exit": code, "imported": imports["imported"]})
    python_floor, _ = best_wall([sys.executable, "-c", "pass"], repeat)
    rows.append(
        {"what": "python -c pass (interpreter floor)", "seconds": python_floor, "exit": 0, "imported": []}
    )
    return rows


def bench_generation(sizes: list[int], scratch: str, kind: str = "grid") -> list[dict]:
    rows = []
    for n in sizes:
        timed = run_worker("generate", str(n), "0", scratch, kind)
        traced = run_worker("generate", str(n), "1", scratch, kind)
        rows.append({**timed, **{k: v for k, v in traced.items() if k.startswith("trace_")}})
    return rows


def bench_without_torch(repeat: int, sweep_runs: int, memory_sizes: list[int], scratch: str) -> dict:
    """The example with and without validation (CLI), a sweep validated and not, and memory."""
    example = {}
    for label, extra in (("validated", []), ("no_validate", ["--no-validate"])):
        out = Path(scratch) / f"example_{label}"
        cmd = [*ttwriter_command(), str(EXAMPLE), "--output-dir", str(out), "--force", *extra]
        example[label], example[f"{label}_exit"] = best_wall(cmd, repeat)
    sweep = {
        label: min(
            (run_worker("sweep", str(sweep_runs), flag, "0", scratch) for _ in range(3)),
            key=lambda r: r["seconds"],
        )
        for label, flag in (("validated", "1"), ("no_validate", "0"))
    }
    memory = [run_worker("sweep", str(n), "1", "1", scratch) for n in memory_sizes]
    return {"example": example, "sweep": sweep, "memory": memory, "repeat": repeat}


def bench_validation(n_runs: int, sample: int, scratch: str) -> dict:
    inproc = run_worker("validate", str(n_runs), str(sample), scratch)
    per_file, codes = [], []
    for path in inproc["sample_files"]:
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "tune"), "validate", path], capture_output=True, cwd=REPO)
        per_file.append(time.perf_counter() - start)
        codes.append(proc.returncode)
    return {
        **inproc,
        "tune_per_file": per_file,
        "tune_exit_codes": codes,
        "validation_seconds": inproc["validated_seconds"] - inproc["plain_seconds"],
    }


# --- report ----------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load average at start (1/5/15 min)": load,
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": version("torch"),
        "torchtune": version("torchtune"),
        "pyyaml": version("pyyaml") + (" (libyaml)" if _has_libyaml() else " (pure Python)"),
        "ttwriter": f"{version('ttwriter')} at {commit or '?'}",
    }


def _has_libyaml() -> bool:
    import yaml

    return hasattr(yaml, "CSafeDumper")


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1024**2:.1f} MB"


def _generation(gen: list[dict]) -> list[str]:
    """The generation table, and how time and memory scale from the first size to the last."""
    lines: list[str] = []
    lines += [
        "| runs | wall time | CPU user + sys | per run (wall) | files | peak RSS growth "
        "| tracemalloc peak while writing the runs | tracemalloc peak after (submit.sbatch, snapshot) "
        "| held by the result | torch |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in gen:
        lines.append(
            f"| {row['n_runs']:,} | {row['seconds']:.2f} s "
            f"| {row['user_seconds']:.2f} + {row['sys_seconds']:.2f} s "
            f"| {1e6 * row['seconds'] / row['n_runs']:.0f} µs | {row['files']:,} "
            f"| {row['rss_growth_kb'] / 1024:.1f} MB | {_mb(row.get('trace_peak_writing', 0))} "
            f"| {_mb(row['trace_peak_after'])} | {row['trace_held_by_result'] / 1024:.1f} KB "
            f"| {'imported' if row['torch_imported'] else 'not imported'} |"
        )
    if len(gen) >= 2:
        small, big = gen[0], gen[-1]
        scale = big["n_runs"] / small["n_runs"]

        def ratio(key: str) -> float:
            return big.get(key, 0) / (small.get(key) or float("nan"))

        lines += [
            "",
            f"- {scale:.0f}x the runs ({small['n_runs']:,} -> {big['n_runs']:,}) took {ratio('seconds'):.1f}x "
            f"the wall time and {ratio('user_seconds'):.1f}x the user CPU time ({scale:.0f}x is linear; "
            "the system time is the kernel creating files and varies with the disk's other work)",
            f"- memory for {scale:.0f}x the runs (1.00x is flat): tracemalloc peak while writing the "
            f"runs {ratio('trace_peak_writing'):.2f}x, peak after them {ratio('trace_peak_after'):.2f}x, "
            f"held by the result {ratio('trace_held_by_result'):.2f}x, peak RSS growth "
            f"{ratio('rss_growth_kb'):.2f}x",
        ]
    return lines


def render(
    facts: dict, cli: list[dict], gen: list[dict], val: dict | None, fast: dict | None, sampled: list[dict]
) -> str:
    lines = ["### Machine", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines += ["", "### 1. CLI start-up (goal: < 0.5 s, torch not imported)", ""]
    lines += ["| command | best wall time | exit | heavy modules imported |", "|---|---:|---:|---|"]
    for row in cli:
        imported = ", ".join(row["imported"]) or "none"
        lines.append(f"| `{row['what']}` | {row['seconds']:.3f} s | {row['exit']} | {imported} |")

    lines += ["", "### 2. Generation without validation (goal: 10,000 runs < 10 s, linear, flat memory)", ""]
    lines += _generation(gen)
    if sampled:
        lines += [
            "",
            "### 2b. A sampled sweep with every strategy (same goals)",
            "",
            "lora_rank (4) x a linked schedule (3) minus 2 excluded = 10 grid points, x runs/20 draws of "
            "learning rate and weight decay, x 2 replicates, lora_alpha derived (`sampled_experiment`).",
            "",
        ]
        lines += _generation(sampled)

    if fast is not None:
        ex, sw = fast["example"], fast["sweep"]
        v, p = sw["validated"], sw["no_validate"]
        lines += ["", "### 3. Validation without importing torch (issue 14)", ""]
        lines += [
            "| | validated | `--no-validate` | ratio | goal | torch imported (validated) |",
            "|---|---:|---:|---:|---|---|",
            f"| `ttwriter <example>` (4 runs; console script, best of {fast['repeat']}) | {ex['validated']:.3f} s "
            f"| {ex['no_validate']:.3f} s | {ex['validated'] / ex['no_validate']:.2f}x | within 2x | "
            f"{'yes' if fast['memory'] and fast['memory'][0]['torch_imported'] else 'no'} |",
            f"| `generate_configs` of {v['n_runs']:,} runs (fresh process, best of 3): wall | {v['seconds']:.2f} s "
            f"| {p['seconds']:.2f} s | {v['seconds'] / p['seconds']:.2f}x | validated < 1 s | "
            f"{'yes' if v['torch_imported'] else 'no'} |",
            f"| the same: CPU time (user + sys), which contention inflates far less | {v['cpu_seconds']:.2f} s "
            f"| {p['cpu_seconds']:.2f} s | {v['cpu_seconds'] / p['cpu_seconds']:.2f}x | | |",
            "",
            f"- exit codes of the example: {ex['validated_exit']} (validated), {ex['no_validate_exit']} "
            f"(`--no-validate`); the {v['n_runs']:,}-run verdict: {v['summary']}",
        ]
        if fast["memory"]:
            lines += [
                "",
                "| validated runs | validation time | growth of the peak RSS while validating | peak RSS of the process |",
                "|---:|---:|---:|---:|",
            ]
            for row in fast["memory"]:
                lines.append(
                    f"| {row['n_runs']:,} | {row['seconds']:.2f} s (whole generation) "
                    f"| {row['rss_growth_kb'] / 1024:.1f} MB | {row['peak_rss_kb'] / 1024:.0f} MB |"
                )
    if val is not None:
        n = val["n_runs"]
        tune_each = statistics.mean(val["tune_per_file"])
        ours_each = val["validation_seconds"] / n
        lines += [
            "",
            f"### 4. Validating a {n}-run sweep against `tune validate` (goal: > 2,000x per config)",
            "",
        ]
        lines += [
            "| | total | per config |",
            "|---|---:|---:|",
            f"| ttwriter, one process (`generate_configs(validate=True)` minus the same without "
            f"validation; the component table read, torch imported: {'yes' if val['torch_imported'] else 'no'}) "
            f"| {val['validation_seconds']:.2f} s | {1e3 * ours_each:.2f} ms |",
            f"| ttwriter, whole `generate_configs(validate=True)` | {val['validated_seconds']:.2f} s "
            f"| {1e3 * val['validated_seconds'] / n:.1f} ms |",
            f"| `tune validate FILE` per file, mean of {len(val['tune_per_file'])} files, "
            f"extrapolated to {n} | {tune_each * n:.0f} s (extrapolated) | {1e3 * tune_each:.0f} ms |",
            "",
            f"- ratio per config: **{tune_each / ours_each:.0f}x** (validation only), "
            f"{tune_each * n / val['validated_seconds']:.0f}x (whole generation with validation)",
            f"- ttwriter's verdict: {val['summary']}; `tune validate` exit codes on the sample: "
            f"{val['tune_exit_codes']}",
            f"- `tune validate` was run on {len(val['tune_per_file'])} of the {n} files "
            "(spread over the sweep) and its per-file time extrapolated; each call imports torch anew",
        ]
    return "\n".join(lines) + "\n"


def update_doc(path: Path, body: str, command: str) -> None:
    block = f"{DOC_BEGIN}\n\nReproduce with `{command}`.\n\n{body}\n{DOC_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{DOC_BEGIN}\n{DOC_END}\n"
    if DOC_BEGIN not in text or DOC_END not in text:
        text = text.rstrip("\n") + f"\n\n{DOC_BEGIN}\n{DOC_END}\n"
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    path.write_text(head + block + tail, encoding="utf-8")


def main() -> None:
    # Every child measured compiles ttwriter once and then reuses the bytecode cache, as a user's
    # Python does; a shell that sets PYTHONDONTWRITEBYTECODE would make each start compile all of it.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 10_000], help="sweep sizes (powers of ten)"
    )
    parser.add_argument(
        "--sampled-sizes",
        type=int,
        nargs="*",
        default=[1_000, 10_000],
        help="sizes of the sampled sweep with every strategy (multiples of 20; none: skip)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="best of N for the CLI timings")
    parser.add_argument("--validate-runs", type=int, default=256, help="size of the validated sweep")
    parser.add_argument("--tune-sample", type=int, default=5, help="files timed with `tune validate`")
    parser.add_argument(
        "--memory-sizes", type=int, nargs="+", default=[1_000, 10_000], help="validated sweeps traced"
    )
    parser.add_argument("--skip-validation", action="store_true", help="skip parts 3 and 4 (slow)")
    parser.add_argument("--update-doc", type=Path, help="write the results into this markdown file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "imports":
            out = worker_imports(json.loads(rest[0]))
        elif kind == "generate":
            out = worker_generate(int(rest[0]), rest[1] == "1", rest[2], *rest[3:])
        elif kind == "sweep":
            out = worker_sweep(int(rest[0]), rest[1] == "1", rest[2] == "1", rest[3])
        else:
            out = worker_validate(int(rest[0]), int(rest[1]), rest[2])
        print(json.dumps(out))
        return

    facts = machine()
    # Every output goes here and is deleted only at the end: deleting thousands of files slows
    # the file system for a while, which would land in the next measurement.
    scratch = tempfile.mkdtemp(prefix="ttwriter-bench-")
    try:
        print("1/4 CLI start-up ...", file=sys.stderr)
        cli = bench_cli(args.repeat, scratch)
        print("2/4 generation ...", file=sys.stderr)
        gen = bench_generation(args.sizes, scratch)
        sampled = bench_generation(args.sampled_sizes, scratch, "sampled") if args.sampled_sizes else []
        fast = None
        val = None
        if not args.skip_validation:
            print("3/4 validation without torch ...", file=sys.stderr)
            fast = bench_without_torch(args.repeat, 1_000, args.memory_sizes, scratch)
            print("4/4 against tune validate (it imports torch for every file) ...", file=sys.stderr)
            val = bench_validation(args.validate_runs, args.tune_sample, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    body = render(facts, cli, gen, val, fast, sampled)
    print(body)
    if args.update_doc:
        command = ".venv/bin/python bench/run_benchmarks.py" + (
            f" --update-doc {args.update_doc}" if args.update_doc else ""
        )
        update_doc(args.update_doc, body, command)
        print(f"(written to {args.update_doc})", file=sys.stderr)


if __name__ == "__main__":
    main()
