"""Benchmark: from `ttwriter submit` to the last score, for the tiny 2-run sweep with evaluation.

    .venv/bin/python bench/eval_loop.py                              # print the results
    .venv/bin/python bench/eval_loop.py --update-doc docs/benchmarks.md

The sweep is experiments/tiny/cpu/letters_inspect_03_01.py: two learning rates, each run trained
with `tune run` (one epoch, 16 steps, CPU) and evaluated with inspect-ai on the letters task
(10 samples), plus the untrained base model, on the one-node SLURM of scripts/slurm_local.sh
(started if needed, as root). The clock starts when `ttwriter submit` is started and stops when
the last `status/<id>.eval.done` appears, polled every 0.1 s; the times in between say where it
goes. For comparison, the same sweep is then trained and evaluated here with `ttwriter run`
(one after another, no scheduler). Nothing here asserts: the numbers are for a person to judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SWEEP = REPO / "experiments" / "tiny" / "cpu" / "letters_inspect_03_01.py"
RUNS = ("run_000", "run_001")
TARGETS = (*RUNS, "base_model")
DOC_BEGIN = "<!-- bench-eval:begin (written by bench/eval_loop.py --update-doc; do not edit) -->"
DOC_END = "<!-- bench-eval:end -->"
WAIT_SECONDS = 900


def _ttwriter(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttwriter", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def _environment() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _ensure_slurm() -> None:
    script = REPO / "scripts" / "slurm_local.sh"
    if subprocess.run(["bash", str(script), "status"], capture_output=True).returncode == 0:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            "SLURM is not running and starting it needs root: sudo bash scripts/slurm_local.sh up"
        )
    up = subprocess.run(["bash", str(script), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise SystemExit(f"SLURM could not be started: {up.stderr.strip()[-500:]}")


def _generate(folder: Path, assets: Path, env: dict[str, str]) -> None:
    made = _ttwriter(str(SWEEP), "--controls.tiny-assets", str(assets), "--output-dir", str(folder), env=env)
    if made.returncode != 0:
        raise SystemExit(f"generation failed:\n{made.stdout}{made.stderr}")


def one_loop(scratch: Path, assets: Path, n: int, env: dict[str, str]) -> dict[str, float]:
    """Submit the sweep and time what happens, in seconds since submit was started."""
    folder = scratch / f"slurm_{n}"
    _generate(folder, assets, env)
    status = folder / "status"
    events = {
        **{f"{r} trained": status / f"{r}.done" for r in RUNS},
        **{f"{t} evaluation started": status / f"{t}.eval.running" for t in TARGETS},
        **{f"{t} scored": status / f"{t}.eval.done" for t in TARGETS},
    }
    failed = [status / f"{r}.failed" for r in RUNS] + [status / f"{t}.eval.failed" for t in TARGETS]
    seen: dict[str, float] = {}
    start = time.monotonic()
    submitted = _ttwriter("submit", str(folder), env=env)
    seen["submit returned"] = time.monotonic() - start
    if submitted.returncode != 0:
        raise SystemExit(f"submit failed:\n{submitted.stdout}{submitted.stderr}")
    while len([k for k in seen if k.endswith("scored")]) < len(TARGETS):
        now = time.monotonic() - start
        for name, path in events.items():
            if name not in seen and (
                path.exists() or (name.endswith("started") and path.with_suffix(".done").exists())
            ):
                seen[name] = now
        broken = [p.name for p in failed if p.exists()]
        if broken:
            raise SystemExit(f"{', '.join(broken)} in {folder}: see its logs/")
        if now > WAIT_SECONDS:
            raise SystemExit(f"no last score after {WAIT_SECONDS} s: {seen}")
        time.sleep(0.1)
    return seen


def local_loop(scratch: Path, assets: Path, env: dict[str, str]) -> float:
    folder = scratch / "local"
    _generate(folder, assets, env)
    start = time.monotonic()
    ran = _ttwriter("run", str(folder), env=env)
    if ran.returncode != 0:
        raise SystemExit(f"ttwriter run failed:\n{ran.stdout}{ran.stderr}")
    return time.monotonic() - start


def render(loops: list[dict[str, float]], local: float | None, facts: dict[str, str]) -> str:
    lines = ["### Machine", "", *(f"- {k}: {v}" for k, v in facts.items()), ""]
    lines += [
        "### 4. Evaluation: from `ttwriter submit` to the last score (tiny 2-run sweep)",
        "",
        f"{len(loops)} submission{'s' if len(loops) > 1 else ''} of `experiments/tiny/cpu/letters_inspect_03_01.py` "
        "(2 runs and the base model, inspect-ai, 10 samples each) to the local one-node SLURM (2 CPUs); "
        "seconds since `ttwriter submit` was started:",
        "",
        "| moment | " + " | ".join(f"run {i + 1}" for i in range(len(loops))) + " | median |",
        "|---|" + "---:|" * (len(loops) + 1),
    ]
    names = [k for k in loops[0] if all(k in loop for loop in loops)]
    for name in sorted(names, key=lambda k: statistics.median(loop[k] for loop in loops)):
        values = [loop[name] for loop in loops]
        lines.append(
            f"| {name} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {statistics.median(values):.1f} |"
        )
    last = statistics.median(max(v for k, v in loop.items() if k.endswith("scored")) for loop in loops)
    lines += ["", f"- **submit to last score: {last:.1f} s** (median)"]
    if local is not None:
        lines.append(
            f"- the same sweep with `ttwriter run` here (train, evaluate, one after another, no scheduler): "
            f"{local:.1f} s"
        )
    lines += [
        "- each evaluation is a fresh `python -m inspect_ai eval` process: importing inspect-ai, "
        "transformers and torch and loading the model is most of its time, the 10 samples a small part",
        "- the eval array's tasks wait for their own training task (`--dependency=aftercorr`) and start "
        "within a second of it; the base model's evaluation waits for no training, only for a free CPU: "
        "submitted last, it ran after the runs' evaluations on this 2-CPU node",
    ]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, str]:
    import importlib.metadata

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load average at start (1/5/15 min)": load,
        "cores": str(os.cpu_count()),
        "torch / torchtune": f"{version('torch')} / {version('torchtune')}",
        "inspect-ai / lm-eval / transformers": f"{version('inspect-ai')} / {version('lm-eval')} / {version('transformers')}",
    }


def update_doc(path: Path, body: str) -> None:
    block = f"{DOC_BEGIN}\n\nReproduce with `.venv/bin/python bench/eval_loop.py --update-doc {path}`.\n\n{body}\n{DOC_END}"
    text = path.read_text(encoding="utf-8")
    if DOC_BEGIN not in text or DOC_END not in text:
        text = text.rstrip("\n") + f"\n\n{DOC_BEGIN}\n{DOC_END}\n"
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    path.write_text(head + block + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="submissions to time (each about a minute)")
    parser.add_argument("--no-local", action="store_true", help="skip the `ttwriter run` comparison")
    parser.add_argument("--update-doc", type=Path, help="write the results into this markdown file")
    args = parser.parse_args()
    _ensure_slurm()
    facts = machine()
    env = _environment()
    scratch = Path(tempfile.mkdtemp(prefix="ttwriter-bench-eval-"))
    try:
        assets = scratch / "assets"
        built = _ttwriter("tiny-assets", str(assets), env=env)
        if built.returncode != 0:
            raise SystemExit(built.stderr)
        loops = []
        for n in range(args.repeat):
            print(f"submission {n + 1}/{args.repeat} ...", file=sys.stderr)
            loops.append(one_loop(scratch, assets, n, env))
        local = None
        if not args.no_local:
            print("ttwriter run ...", file=sys.stderr)
            local = local_loop(scratch, assets, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    body = render(loops, local, facts)
    print(body)
    if args.update_doc:
        update_doc(args.update_doc, body)


if __name__ == "__main__":
    main()
