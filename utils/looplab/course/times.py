"""The lessons' measured times and memory: one recorded file, quoted by every document that needs them.

    python -m looplab.course.times --record build/course/workshop --setting "2 cores, make science"
    python -m looplab.course.times --write-docs        # rewrite the quoted blocks from the file
    python -m looplab.course.times                     # print the table

:func:`record` reads a dry run's ``summary.csv`` (``python -m looplab.course``; every lesson, all
``ok``) into ``looplab/assets/lesson_times.json``, one entry per scale. The README, the instructor
guide's day plan and the lesson headers quote it between markers::

    <!-- lesson-times:table -->  ...  <!-- /lesson-times -->
    <!-- lesson-times:03 -->  ...  <!-- /lesson-times -->

:func:`write_docs` rewrites those blocks, and a test fails when a block differs from what the file
gives, so a figure cannot be edited by hand in one place and drift from the others.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from .dryrun import REFERENCE_FLOPS

__all__ = ["ASSET", "ROOT", "LESSONS", "DOCS", "BLOCK", "ORDER", "load", "record", "table", "lesson_phrase",
           "render", "stale", "write_docs", "main"]

ASSET = Path(__file__).resolve().parents[1] / "assets" / "lesson_times.json"
ROOT = Path(__file__).resolve().parents[3]
LESSONS = ("00", "01", "02", "03", "04", "05")
# Where the blocks are, relative to the repository root (lesson notebooks: their header cell).
DOCS = ("README.md", "instructors/workshop_plan.md", "lessons/03_an_llm_runs_the_experiments.ipynb",
        "lessons/04_model_collapse.ipynb", "lessons/05_independent_grading.ipynb")
BLOCK = re.compile(r"<!-- lesson-times:(?P<key>[\w-]+) -->(?P<body>.*?)<!-- /lesson-times -->", re.S)
# The order of the columns in the table: the scales a recorded run exists for, as the course names them.
ORDER = ("workshop", "binder", "full", "smoke")


def load(path: Path = ASSET) -> dict:
    """The recorded runs: ``{scale: {"setting", "date", "matmul_gflops", "lessons": {NN: {...}}}}``."""
    if not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text(encoding="utf-8"))["runs"]


def record(out_dir: Path, setting: str, path: Path = ASSET, date: str | None = None) -> dict:
    """Read a dry run's ``summary.csv`` into the file, replacing that scale's entry; return the entry.

    Refuses a run that is not whole (a lesson missing or not ``ok``): a partial run would quote one
    lesson's time beside another run's.
    """
    rows = list(csv.DictReader(open(Path(out_dir) / "summary.csv", encoding="utf-8")))
    if not rows:
        raise ValueError(f"{out_dir}/summary.csv has no rows")
    scales = {r["scale"] for r in rows}
    got = {r["lesson"]: r for r in rows}
    bad = [r["lesson"] for r in rows if r["status"] != "ok"]
    if len(scales) != 1 or sorted(got) != list(LESSONS) or bad:
        raise ValueError(f"{out_dir} is not one whole run of lessons {', '.join(LESSONS)} at one scale "
                         f"(scales {sorted(scales)}, lessons {sorted(got)}, not ok: {bad or 'none'}): run "
                         "python -m looplab.course --scale S without --only, then record it")
    r0 = rows[0]
    # the dry run scaled each time by its measured matmul rate: undo that to keep the rate
    gflops = float(r0["seconds_at_reference"]) / float(r0["seconds"]) * REFERENCE_FLOPS / 1e9 if float(r0["seconds"]) else None
    entry = {"setting": setting, "date": date or datetime.now(timezone.utc).strftime("%Y-%m-%d"),
             "matmul_gflops": round(gflops, 1) if gflops else None,
             "lessons": {n: {"seconds": float(r["seconds"]), "peak_mb": int(r["peak_mb"]),
                             "seconds_at_reference": float(r["seconds_at_reference"]),
                             "verdicts": int(r["verdicts"]), "must_hold_failed": int(r["must_hold_failed"])}
                         for n, r in sorted(got.items())}}
    data = {"about": "Measured by python -m looplab.course and recorded by python -m looplab.course.times "
                     "--record; the README, the day plan and the lesson headers quote it (--write-docs).",
            "runs": {**load(path), scales.pop(): entry}}
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return entry


def _minutes(s: float) -> str:
    return f"{s:,.0f} s ({s / 60:.0f} min)" if s >= 90 else f"{s:,.0f} s"


def table(runs: dict | None = None) -> str:
    """A markdown table: per lesson, each recorded scale's wall time and peak memory."""
    runs = load() if runs is None else runs
    scales = [s for s in ORDER if s in runs]
    head = "| lesson | " + " | ".join(f"`{s}`: {runs[s]['setting']}, {runs[s]['date']}"
                                     + (f" (fp32 matmul {runs[s]['matmul_gflops']:.0f} GFLOP/s)" if runs[s].get("matmul_gflops") else "")
                                     for s in scales) + " |"
    lines = [head, "|---|" + "---|" * len(scales)]
    for n in LESSONS:
        cells = [f"{_minutes(runs[s]['lessons'][n]['seconds'])}, {runs[s]['lessons'][n]['peak_mb']:,} MB" for s in scales]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    total = [f"{_minutes(sum(v['seconds'] for v in runs[s]['lessons'].values()))}" for s in scales]
    lines.append("| all six | " + " | ".join(total) + " |")
    return "\n".join(lines)


def lesson_phrase(lesson: str, runs: dict | None = None) -> str:
    """One sentence on a lesson's recorded times, for its header."""
    runs = load() if runs is None else runs
    parts = [f"{_minutes(runs[s]['lessons'][lesson]['seconds'])} and {runs[s]['lessons'][lesson]['peak_mb']:,} MB "
             f"at `{s}` ({runs[s]['setting']}, {runs[s]['date']})" for s in ORDER if s in runs]
    return "Measured: " + "; ".join(parts) + "."


def render(text: str, runs: dict | None = None) -> str:
    """``text`` with every lesson-times block filled from the file."""
    runs = load() if runs is None else runs

    def fill(m):
        key = m.group("key")
        body = table(runs) if key == "table" else lesson_phrase(key, runs)
        return f"<!-- lesson-times:{key} -->\n{body}\n<!-- /lesson-times -->"
    return BLOCK.sub(fill, text)


def _notebook_render(text: str, runs: dict) -> str:
    """A notebook's JSON with its markdown blocks filled (cell sources are lists of lines)."""
    nb = json.loads(text)
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and BLOCK.search(src):
            new = render(src, runs).split("\n")
            cell["source"] = [line + "\n" for line in new[:-1]] + ([new[-1]] if new[-1] else [])
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def stale(root: Path = ROOT, runs: dict | None = None) -> dict[str, str]:
    """``{document: its text with the blocks filled}`` for every document whose blocks differ."""
    runs = load() if runs is None else runs
    out = {}
    for rel in DOCS:
        text = (Path(root) / rel).read_text(encoding="utf-8")
        new = _notebook_render(text, runs) if rel.endswith(".ipynb") else render(text, runs)
        if new != text:
            out[rel] = new
    return out


def write_docs(root: Path = ROOT) -> list[str]:
    """Rewrite every document whose blocks differ from the file; return their paths."""
    changed = stale(root)
    for rel, text in changed.items():
        (Path(root) / rel).write_text(text, encoding="utf-8")
    return sorted(changed)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="The lessons' measured times: record a dry run, quote it in the docs.")
    p.add_argument("--record", type=Path, default=None, help="a dry run's output folder (with summary.csv)")
    p.add_argument("--setting", default=None, help="with --record: how it ran, e.g. '2 cores' or 'one CPU (taskset -c 0)'")
    p.add_argument("--write-docs", action="store_true", help="rewrite the quoted blocks in the README, the day plan and the lessons")
    a = p.parse_args(argv)
    if a.record is not None:
        if not a.setting:
            p.error("--record needs --setting: say how the run was made (cores, machine)")
        record(a.record, a.setting)
        print(f"recorded {a.record} into {ASSET}")
    if a.write_docs:
        print("rewrote: " + (", ".join(write_docs()) or "nothing (every block is current)"))
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
