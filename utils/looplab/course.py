"""The instructor's dry run: execute every lesson headless and keep the results.

    python -m looplab.course --scale workshop --out build/course/workshop   (or: make course)

Each notebook in ``lessons/`` runs top to bottom in a fresh kernel with ``LOOPLAB_SCALE`` set;
the executed notebook and an HTML rendering land in the output folder, with a summary table
(``summary.csv``) of wall time and status per lesson. A failing lesson is reported and the run
goes on to the next one; the exit status is 1 if any lesson failed.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

from .config import SCALE_NAMES, scale_name


def run_notebook(path: Path, out_dir: Path, scale: str, timeout: int = 1800) -> dict:
    """Execute one notebook at ``scale``; write ``<name>.ipynb`` and ``<name>.html`` to ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    os.environ["LOOPLAB_SCALE"] = scale  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as e:
        error = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    except Exception as e:  # a dead kernel, a timeout: report it and go on
        error = f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out_dir / path.name))
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return {"notebook": path.name, "scale": scale, "seconds": round(wall, 1),
            "status": "ok" if not error else "FAILED", "error": error}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Execute every lesson headless (the instructor's dry run).")
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
        print(f"no notebooks found in {a.lessons}/", file=sys.stderr)
        return 1
    rows = []
    for nb in notebooks:
        print(f"running {nb.name} at scale {scale} ...", flush=True)
        row = run_notebook(nb, out, scale, a.timeout)
        print(f"  {row['status']} in {row['seconds']} s {row['error']}", flush=True)
        rows.append(row)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"\nexecuted notebooks and HTML in {out}/ (summary.csv)")
    for r in rows:
        print(f"  {r['notebook']:<45} {r['status']:<7} {r['seconds']:>8.1f} s")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
