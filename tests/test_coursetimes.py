"""The lessons' measured times: one recorded file, and the documents that quote it stay in step."""
import csv
import json

import pytest

from looplab.course import times as T

FIELDS = ["notebook", "lesson", "scale", "seconds", "peak_mb", "status", "error", "verdicts",
          "must_hold_failed", "seconds_at_reference", "budget_s", "over_budget"]


def _summary(folder, lessons=T.LESSONS, scale="binder", status="ok"):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "summary.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for i, n in enumerate(lessons):
            w.writerow({"notebook": f"{n}_x.ipynb", "lesson": n, "scale": scale, "seconds": 100.0 * (i + 1),
                        "peak_mb": 500 + i, "status": status, "error": "", "verdicts": i, "must_hold_failed": 0,
                        "seconds_at_reference": 200.0 * (i + 1), "budget_s": "", "over_budget": False})
    return folder


def test_every_document_quotes_the_recorded_file():
    """Each block in the README, the day plan and the lesson headers is what the file gives: a figure
    edited by hand in one place fails here (python -m looplab.course.times --write-docs fixes it)."""
    runs = T.load()
    assert {"workshop", "binder"} <= set(runs), "record a whole dry run per scale (python -m looplab.course.times --record)"
    for scale, run in runs.items():
        assert sorted(run["lessons"]) == list(T.LESSONS) and run["setting"] and run["date"], scale
        assert all(v["must_hold_failed"] == 0 for v in run["lessons"].values()), scale
    assert T.stale() == {}, "stale blocks: run python -m looplab.course.times --write-docs"
    for rel in T.DOCS:
        assert T.BLOCK.search((T.ROOT / rel).read_text(encoding="utf-8")), f"{rel} quotes no lesson-times block"


def test_record_keeps_other_scales_and_refuses_a_partial_run(tmp_path):
    path = tmp_path / "times.json"
    e = T.record(_summary(tmp_path / "b"), "one CPU", path=path, date="2026-12-05")
    assert e["lessons"]["03"] == {"seconds": 400.0, "peak_mb": 503, "seconds_at_reference": 800.0,
                                  "verdicts": 3, "must_hold_failed": 0}
    assert e["matmul_gflops"] == pytest.approx(330.0)        # 2x the reference's 165 GFLOP/s, undone
    T.record(_summary(tmp_path / "w", scale="workshop"), "2 cores", path=path, date="2026-12-05")
    assert set(T.load(path)) == {"binder", "workshop"}
    with pytest.raises(ValueError, match="not one whole run"):
        T.record(_summary(tmp_path / "only03", lessons=("03",)), "2 cores", path=path)
    with pytest.raises(ValueError, match="not ok: \\['00'"):
        T.record(_summary(tmp_path / "failed", status="FAILED"), "2 cores", path=path)
    assert set(T.load(path)) == {"binder", "workshop"}       # a refused run changes nothing


def test_render_fills_blocks_in_markdown_and_notebooks(tmp_path):
    path = tmp_path / "times.json"
    T.record(_summary(tmp_path / "b"), "one CPU", path=path, date="2026-12-05")
    runs = T.load(path)
    md = "intro\n<!-- lesson-times:table -->\nold figures\n<!-- /lesson-times -->\nend\n"
    out = T.render(md, runs)
    assert "old figures" not in out and "| 03 | 400 s (7 min), 503 MB |" in out and out.endswith("end\n")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["Time.\n", "<!-- lesson-times:05 -->\n",
                                                                          "<!-- /lesson-times -->"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    filled = json.loads(T._notebook_render(json.dumps(nb), runs))
    assert "Measured: 600 s (10 min) and 505 MB at `binder` (one CPU, 2026-12-05)." in "".join(filled["cells"][0]["source"])
