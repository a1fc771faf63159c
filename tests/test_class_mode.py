"""Class mode end to end, at smoke: lesson 03 itself fills a class store, the class notebook reads it.

Two learners run lesson 03 with ``LOOPLAB_CLASS_STORE`` and ``LOOPLAB_LEARNER`` set, as the
instructor guide says; the second is stopped part-way through (its kernel dies after the noise
floor and the first loops, as a laptop that runs out of battery would). The class notebook then
re-grades what the store holds and pools the room's loops. Real notebooks, real kernels, a real
SQLite store; nothing is simulated.
"""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "lessons" / "03_an_llm_runs_the_experiments.ipynb"
CLASS_NB = ROOT / "instructors" / "class_regrade.ipynb"


def _execute(path: Path, cwd: Path, upto: int | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    if upto is not None:
        nb.cells = nb.cells[:upto]
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _outputs(nb) -> str:
    return "\n".join(o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_lesson03_fills_the_class_store_and_the_class_notebook_grades_it(tmp_path, monkeypatch):
    db = tmp_path / "class.db"
    for k, v in {"LOOPLAB_SCALE": "smoke", "LOOPLAB_SIGNOFF": "auto", "HF_HUB_OFFLINE": "1",
                 "TRANSFORMERS_OFFLINE": "1", "LOOPLAB_CLASS_STORE": str(db)}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LOOPLAB_LEARNER", "ada")
    ada = _execute(LESSON, ROOT / "lessons")
    assert "class mode: this lesson's experiments go to the class store" in _outputs(ada)
    # grace stops part-way: the notebook up to the cell that builds the comparison's loops
    cut = next(i for i, c in enumerate(nbformat.read(LESSON, as_version=4).cells)
               if c.cell_type == "code" and "def proposers_for(" in c.source)
    monkeypatch.setenv("LOOPLAB_LEARNER", "grace")
    _execute(LESSON, ROOT / "lessons", upto=cut)
    from collections import Counter

    from looplab.research.store import ClassStore
    counts = Counter(r["learner"] for r in ClassStore(str(db), learner="instructor").class_records())
    assert set(counts) == {"ada", "grace"} and counts["ada"] > counts["grace"] > 0, counts

    monkeypatch.delenv("LOOPLAB_LEARNER")
    out = _outputs(_execute(CLASS_NB, ROOT / "instructors"))
    assert "no LOOPLAB_CLASS_STORE set" not in out and "re-graded" in out   # the store lesson 03 filled
    assert "The room's winner's curse" in out or "no learner kept a claim" in out
    assert "loops from 1 learner(s)" in out     # grace stopped before the comparison: only ada's loops pool
