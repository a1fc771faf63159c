"""Does every lesson fit Binder? Wall time and peak memory of each lesson, executed headless.

    .venv/bin/python bench/lesson_limits.py --scale workshop [--only 02 04]

Each lesson runs in a fresh kernel through ``python -m looplab.course`` (the instructor's dry run);
a sampler adds up the resident memory (RSS) of that process and all its children (the kernel)
every 0.2 s and keeps the peak. Limits checked: Binder gives 1-2 GB of RAM, and the course
promises each lesson's computation in under 10 minutes on 2 cores at workshop scale.
Results go to ``bench/results/lesson_limits_<scale>.csv`` and are printed as a table.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from looplab.course.dryrun import tree_rss   # one home for the memory sampler

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 2048
LIMIT_S = 600


def measure(notebook: Path, scale: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "looplab.course", "--scale", scale, "--out", str(out),
           "--only", notebook.name]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(ps))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    log = proc.stdout.read()
    status = "ok" if proc.returncode == 0 else "FAILED"
    nb_seconds = float("nan")
    summary = out / "summary.csv"
    if summary.exists():
        for row in csv.DictReader(summary.open()):
            if row["notebook"] == notebook.name:
                nb_seconds = float(row["seconds"])
    return {"notebook": notebook.name, "scale": scale, "status": status,
            "execute_s": round(nb_seconds, 1), "wall_s": round(wall, 1),
            "peak_rss_mb": round(peak / 2**20), "under_2GB": peak / 2**20 < LIMIT_MB,
            "under_10min": nb_seconds < LIMIT_S, "log_tail": "" if status == "ok" else log[-400:]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="workshop")
    p.add_argument("--only", nargs="*", default=None)
    a = p.parse_args(argv)
    notebooks = sorted((ROOT / "lessons").glob("*.ipynb"))
    if a.only:
        notebooks = [nb for nb in notebooks if any(k in nb.name for k in a.only)]
    out = ROOT / "build" / "bench" / a.scale
    rows = []
    for nb in notebooks:
        print(f"{nb.name} at {a.scale} ...", flush=True)
        rows.append(measure(nb, a.scale, out))
        r = rows[-1]
        print(f"  {r['status']}: execute {r['execute_s']} s, peak RSS {r['peak_rss_mb']} MB {r['log_tail']}", flush=True)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    dest = results / f"lesson_limits_{a.scale}.csv"
    # keep earlier rows for lessons not run this time (--only), replace the ones that were
    ran = {r["notebook"] for r in rows}
    earlier = [r for r in csv.DictReader(dest.open())] if dest.exists() else []
    rows = sorted([r for r in earlier if r["notebook"] not in ran] + rows, key=lambda r: r["notebook"])
    with dest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "log_tail"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nlesson limits at scale {a.scale} on {cores} cores (limits: {LIMIT_MB} MB, {LIMIT_S} s)")
    print(f"{'notebook':<42} {'status':<7} {'execute s':>10} {'peak MB':>8}  fits")
    for r in rows:
        fits = "yes" if str(r["under_2GB"]) == "True" and str(r["under_10min"]) == "True" and r["status"] == "ok" else "NO"
        print(f"{r['notebook']:<42} {r['status']:<7} {r['execute_s']:>10} {r['peak_rss_mb']:>8}  {fits}")
    print(f"written to {dest.relative_to(ROOT)}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
