"""The instructor's dry run: execute every lesson headless, keep the results and the verdicts.

    python -m looplab.course --scale workshop --out build/course/workshop   (or: make course)

Each notebook in ``lessons/`` runs top to bottom in a fresh kernel with ``LOOPLAB_SCALE`` set;
the executed notebook and an HTML rendering land in the output folder, with

* ``summary.csv``: wall time, peak memory (the kernel and this process, sampled every 0.2 s),
  status and number of verdicts per lesson, and the lesson's time scaled to the reference machine;
* ``headlines.json`` / ``headlines.md``: every headline verdict the lessons recorded (see
  :mod:`looplab.verdict`), one row per verdict, with the machine's measured fp32 matmul rate so
  that times can be compared across machines. An instructor reads ``headlines.md`` before class.

The exit status is 1 if a lesson failed, if a ``must_hold`` verdict does not hold, or (at workshop
and full scale) if a lesson that has headline results recorded none. A lesson whose time, scaled
to the reference machine (:data:`REFERENCE_FLOPS`), exceeds its budget is flagged, not failed:
machines differ, and the flag says by how much.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

from ..config import SCALE_NAMES, scale_name
from ..verdict import HEADLINES_ENV, Verdict, read

__all__ = ["REFERENCE_FLOPS", "BUDGET_S", "SCIENCE_LESSONS", "tree_rss", "lesson_number", "run_notebook",
           "machine", "check_budgets", "problems", "write_headlines", "main"]

# A 2-core learner's laptop as the course sizes it: about 165 GFLOP/s of fp32 matmul over 2 threads.
REFERENCE_FLOPS = 165e9
# Seconds each lesson may take at workshop scale on the reference machine (lesson number -> s).
BUDGET_S = {"00": 60, "01": 120, "02": 300, "03": 900, "04": 600, "05": 600}
# Lessons whose story rests on computed results: at workshop/full scale each must record verdicts.
SCIENCE_LESSONS = ("02", "03", "04", "05")


def tree_rss(proc) -> int:
    """Resident bytes of a ``psutil.Process`` and all its descendants (0 for any that vanished)."""
    import psutil
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


class _PeakRSS:
    """Samples the resident memory of this process and all its children (the kernel) until stopped."""

    def __init__(self, every: float = 0.2):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            import psutil
        except ImportError:   # psutil comes with jupyter; without it, no memory figure
            return
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(me))
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=2)


def lesson_number(path: Path) -> str:
    """``"03"`` for ``03_an_llm_runs_the_experiments.ipynb``."""
    return path.name.split("_", 1)[0]


def run_notebook(path: Path, out_dir: Path, scale: str, timeout: int = 1800) -> dict:
    """Execute one notebook at ``scale``; write ``<name>.ipynb``, ``<name>.html`` and its verdicts."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    verdicts = out_dir / "verdicts" / f"{path.stem}.jsonl"
    verdicts.parent.mkdir(parents=True, exist_ok=True)
    verdicts.unlink(missing_ok=True)
    nb = nbformat.read(str(path), as_version=4)
    # the kernel's own environment, given through the client (this process's is left as it is)
    env = {**os.environ, "LOOPLAB_SCALE": scale, HEADLINES_ENV: str(verdicts.resolve())}
    env.setdefault("LOOPLAB_SIGNOFF", "auto")  # headless: nobody clicks; lesson 03 says so
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    error = ""
    with _PeakRSS() as mem:
        try:
            client.execute(env=env)
        except CellExecutionError as e:
            error = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        except Exception as e:  # a dead kernel, a timeout: report it and go on
            error = f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    nbformat.write(nb, str(out_dir / path.name))
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    vs = read(verdicts)
    return {"notebook": path.name, "lesson": lesson_number(path), "scale": scale, "seconds": round(wall, 1),
            "peak_mb": round(mem.peak / 2**20), "status": "ok" if not error else "FAILED", "error": error,
            "verdicts": len(vs), "must_hold_failed": sum(v.must_hold and not v.holds for v in vs)}


def machine() -> dict:
    """What the times were measured on: CPU, threads and the measured fp32 matmul rate."""
    from ..config import device_name, set_threads
    from ..hardware import measure_matmul_flops
    threads = set_threads()
    dev = device_name()
    rate = measure_matmul_flops(device=dev, repeats=3, seconds=0.5)
    return {"processor": platform.processor() or platform.machine(), "platform": platform.platform(),
            "device": dev, "threads": threads, "matmul_gflops": round(rate / 1e9, 1),
            "reference_gflops": REFERENCE_FLOPS / 1e9}


def check_budgets(rows: list[dict], scale: str, gflops: float) -> None:
    """Add each lesson's time scaled to the reference machine and its budget flag (workshop only)."""
    for r in rows:
        scaled = r["seconds"] * gflops * 1e9 / REFERENCE_FLOPS
        r["seconds_at_reference"] = round(scaled, 1)
        budget = BUDGET_S.get(r["lesson"]) if scale == "workshop" else None
        r["budget_s"] = budget if budget is not None else ""
        r["over_budget"] = bool(budget is not None and scaled > budget)


def problems(rows: list[dict], verdicts: list[Verdict], scale: str) -> list[str]:
    """Everything that makes the dry run fail, in words."""
    out = [f"lesson {r['lesson']} failed: {r['error']}" for r in rows if r["status"] != "ok"]
    out += [f"lesson {v.lesson}: a must-hold verdict does not hold: {v.line()}"
            for v in verdicts if v.must_hold and not v.holds]
    if scale != "smoke":
        for r in rows:
            if r["lesson"] in SCIENCE_LESSONS and r["status"] == "ok" and r["verdicts"] == 0:
                out.append(f"lesson {r['lesson']} recorded no headline verdict at scale {scale}")
    return out


def write_headlines(out: Path, rows: list[dict], verdicts: list[Verdict], mach: dict, scale: str,
                    fails: list[str]) -> None:
    """``headlines.json`` (a list of verdict objects) and ``headlines.md`` (for the instructor)."""
    (out / "headlines.json").write_text(json.dumps([v.as_dict() for v in verdicts], indent=1), encoding="utf-8")
    lines = [f"# Headline verdicts at scale `{scale}`", "",
             f"Machine: {mach['processor']}, {mach['threads']} threads on {mach['device']}, measured fp32 matmul "
             f"**{mach['matmul_gflops']} GFLOP/s** (the larger of {mach.get('matmul_gflops_start_end')}, measured before "
             f"and after the lessons; the reference laptop: {mach['reference_gflops']:.0f}).", "",
             "| lesson | status | wall s | at reference s | budget s | peak MB | verdicts |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        flag = " ⚠ over budget" if r.get("over_budget") else ""
        lines.append(f"| {r['lesson']} | {r['status']} | {r['seconds']} | {r['seconds_at_reference']}{flag} | "
                     f"{r['budget_s']} | {r['peak_mb']} | {r['verdicts']} |")
    lines += ["", "| lesson | holds | must hold | claim | statistic = value | test (threshold) | p | seeds |",
              "|---|---|---|---|---|---|---|---|"]
    for v in verdicts:
        p = f"{v.p_value:.3g}" if v.p_value is not None else ""
        cell = lambda s: str(s).replace("|", "/").replace("\n", " ")
        lines.append(f"| {v.lesson} | {'yes' if v.holds else '**no**'} | {'yes' if v.must_hold else 'no'} | "
                     f"{cell(v.claim)} | {cell(v.statistic)} = {cell(_short(v.value))} | "
                     f"{cell(v.test)} ({cell(_short(v.threshold))}) | {p} | {len(v.seeds)} |")
    lines += ["", "## Problems" if fails else "No problems: every lesson ran and every must-hold verdict holds.", ""]
    lines += [f"- {f}" for f in fails]
    (out / "headlines.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _short(x) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, list):
        s = "[" + ", ".join(_short(v) for v in x[:8]) + (", …" if len(x) > 8 else "") + "]"
        return s
    return str(x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m looplab.course",
                                description="Execute every lesson headless (the instructor's dry run).")
    p.add_argument("--scale", default=None, help=f"one of {', '.join(SCALE_NAMES)} (default: $LOOPLAB_SCALE or auto)")
    p.add_argument("--out", default=None, type=Path, help="output folder (default build/course/SCALE)")
    p.add_argument("--lessons", default="lessons", type=Path)
    p.add_argument("--only", nargs="*", default=None, help="run only notebooks whose name contains one of these")
    p.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    a = p.parse_args(argv)
    scale = scale_name(a.scale)
    out = a.out or Path("build") / "course" / scale
    notebooks = sorted(a.lessons.glob("*.ipynb"))
    if a.only:
        notebooks = [nb for nb in notebooks if any(k in nb.name for k in a.only)]
    if not notebooks:
        print(f"no notebooks found in {a.lessons}/ (--only {a.only})", file=sys.stderr)
        return 1
    mach = machine()
    print(f"machine: {mach['processor']}, {mach['threads']} threads, fp32 matmul {mach['matmul_gflops']} GFLOP/s",
          flush=True)
    rows = []
    for nb in notebooks:
        print(f"running {nb.name} at scale {scale} ...", flush=True)
        row = run_notebook(nb, out, scale, a.timeout)
        print(f"  {row['status']} in {row['seconds']} s, peak {row['peak_mb']} MB, {row['verdicts']} verdicts "
              f"{row['error']}", flush=True)
        rows.append(row)
    # measured again at the end: a busy minute at the start must not make every lesson look fast
    after = machine()["matmul_gflops"]
    mach["matmul_gflops_start_end"] = [mach["matmul_gflops"], after]
    mach["matmul_gflops"] = max(mach["matmul_gflops"], after)
    check_budgets(rows, scale, mach["matmul_gflops"])
    verdicts = [v for nb in notebooks for v in read(out / "verdicts" / f"{nb.stem}.jsonl")]
    fails = problems(rows, verdicts, scale)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "summary.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_headlines(out, rows, verdicts, mach, scale, fails)
    print(f"\nexecuted notebooks and HTML in {out}/ (summary.csv, headlines.md, headlines.json)")
    for r in rows:
        flag = "  over budget at the reference machine" if r.get("over_budget") else ""
        print(f"  {r['notebook']:<45} {r['status']:<7} {r['seconds']:>8.1f} s {r['peak_mb']:>6} MB{flag}")
    for v in verdicts:
        print("  " + v.line())
    for f_ in fails:
        print(f"PROBLEM: {f_}")
    return 1 if fails else 0

