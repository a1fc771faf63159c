"""nbgrader for real: every lab generated, submitted and autograded by nbgrader itself.

nbgrader runs from its own virtual environment, ``build/nbgrader-<version>/`` (git-ignored, kept
between runs, made once from the package index), so the course's ``.venv`` never changes. The kernel
nbgrader starts to execute a submission is the course's Python (this test's interpreter, which
imports looplab and torch): a ``python3`` kernelspec on ``JUPYTER_PATH`` comes before the one in
nbgrader's environment. ``make test`` makes the environment before it enters the network-less
namespace (``python tests/test_nbgrader_roundtrip.py install``); with no environment and no package
index this test skips and says so.

For every lab, the course folder is built by ``instructors/nbgrader_course.py``, the assignment by
``nbgrader generate_assignment``, and two learners' submissions are autograded at smoke scale:

* ``learner``: a copy of ``labs/NN_name.ipynb`` (what the README tells learners to work in) with each
  ``# YOUR CODE HERE`` stub replaced by the solution's answer -> full marks on every autograded cell;
* ``stubs``: the copy as generated, nothing filled in -> zero on every autograded cell.

The scores are read from nbgrader's gradebook. The written answers (markdown) are graded by hand:
nbgrader scores an untouched one 0 and leaves an answered one to the instructor.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from looplab.course import labs
from looplab.course.dryrun import BUDGET_S

ROOT = Path(__file__).resolve().parents[1]
NBGRADER_VERSION = "0.9.6"
VENV = ROOT / "build" / f"nbgrader-{NBGRADER_VERSION}"
READY = ".looplab-ready"   # written last: a half-made environment is never taken for a made one
LABS = sorted(p for p in (ROOT / "labs").glob("*.ipynb") if labs.assignment_id(p.name))
# what pip says when it cannot reach the package index (offline, no DNS, a proxy refusing)
UNREACHABLE = re.compile(r"NewConnectionError|Network is unreachable|Temporary failure in name resolution|"
                         r"Failed to establish a new connection|Name or service not known|ProxyError|"
                         r"ConnectTimeout|Read timed out|\(from versions: none\)")


def venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin") / (name + (".exe" if sys.platform == "win32" else ""))


def ensure_nbgrader(venv: Path = VENV) -> tuple[Path | None, str]:
    """nbgrader's own environment, made if missing; ``(venv, "")``, or ``(None, why not)`` when the
    package index cannot be reached. Any other failure raises with pip's output.

    Made in place (a venv's scripts name their folder: nbgrader runs ``alembic`` from PATH), under a
    lock where the OS has one, and marked ready last; a half-made one is made again."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:   # Windows: no flock; two concurrent first runs there are the user's to avoid
            pass
        stamp = f"nbgrader=={NBGRADER_VERSION} python=={sys.version_info[0]}.{sys.version_info[1]}\n"
        ready = venv / READY
        if ready.is_file() and ready.read_text() == stamp and venv_bin(venv, "python").exists():
            return venv, ""
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        pip = subprocess.run([str(venv_bin(venv, "python")), "-m", "pip", "install", "--retries", "1",
                              "--disable-pip-version-check", "-q", f"nbgrader=={NBGRADER_VERSION}"],
                             capture_output=True, text=True)
        if pip.returncode:
            out = pip.stdout + pip.stderr
            if UNREACHABLE.search(out):
                return None, (f"nbgrader {NBGRADER_VERSION} is not installed in {venv} and the package index "
                              "cannot be reached (run `python tests/test_nbgrader_roundtrip.py install` "
                              "with the network, as `make test` does before it goes offline)")
            raise RuntimeError(f"pip install nbgrader=={NBGRADER_VERSION} failed:\n{out[-3000:]}")
        ready.write_text(stamp)
        return venv, ""


def _nbgrader_course():
    import importlib.util
    spec = importlib.util.spec_from_file_location("nbgrader_course", ROOT / "instructors" / "nbgrader_course.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def answered(lab: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A learner's copy of a lab with every stub replaced by the solution's answer, region by region,
    as a learner types it in (the lab's other cells, the banner included, stay as they are)."""
    nb = nbformat.reads(nbformat.writes(lab), as_version=4)
    by_id = {f"{labs.assignment_id(lab.metadata['looplab']['generated_from'].split('/')[-1])}-cell{k:02d}": c
             for k, c in enumerate(solution.cells)}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not (meta and meta["solution"]):
            continue
        regions, region = [], None
        for line in by_id[meta["grade_id"]].source.split("\n"):
            if line.strip() == labs.BEGIN_SOLUTION:
                region = []
            elif line.strip() == labs.END_SOLUTION:
                regions.append(region)
                region = None
            elif region is not None:
                region.append(line)
        lines, out = cell.source.split("\n"), []
        stub = labs.CODE_STUB if cell.cell_type == "code" else (labs.MARKDOWN_STUB,)
        i = 0
        while i < len(lines):
            if tuple(x.strip() for x in lines[i:i + len(stub)]) == stub:
                out.extend(regions.pop(0))
                i += len(stub)
            else:
                out.append(lines[i])
                i += 1
        assert not regions, f"{meta['grade_id']}: {len(regions)} answers found no stub in the lab"
        cell.source = "\n".join(out)
    return nb


GRADEBOOK = r"""
import json, sys
from nbgrader.api import Gradebook
out = {}
with Gradebook("sqlite:///" + sys.argv[1]) as gb:
    for a in gb.assignments:
        for sub in gb.assignment_submissions(a.name):
            for nb in sub.notebooks:
                out.setdefault(a.name, {})[sub.student.id] = [
                    {"id": g.name, "type": g.cell_type, "auto": g.auto_score, "max": g.max_score,
                     "manual": g.needs_manual_grade} for g in sorted(nb.grades, key=lambda g: g.name)]
print(json.dumps(out))
"""

CONFIG = r"""
import json, sys
from traitlets.config.loader import PyFileConfigLoader
from nbgrader.preprocessors import Execute, OverwriteCells
cfg = PyFileConfigLoader("nbgrader_config.py", path=sys.argv[1]).load_config()
print(json.dumps({"timeout": Execute(config=cfg).timeout,
                  "add_missing_cells": OverwriteCells(config=cfg).add_missing_cells}))
"""


@pytest.fixture(scope="module")
def nbgrader() -> Path:
    venv, why = ensure_nbgrader()
    if venv is None:
        pytest.skip(why)
    return venv


@pytest.fixture(scope="module")
def course(nbgrader, tmp_path_factory) -> dict:
    """The course folder from instructors/nbgrader_course.py, every assignment generated by nbgrader."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    folder = tmp / "course"
    _nbgrader_course().main([str(folder)])
    kernels = tmp / "jupyter" / "kernels" / "python3"   # the course's Python as nbgrader's python3 kernel
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (the course)", "language": "python"}))
    python = str(venv_bin(nbgrader, "python"))
    env = {**os.environ, "LOOPLAB_SCALE": "smoke", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "JUPYTER_PATH": str(tmp / "jupyter"),
           "PATH": str(Path(python).parent) + os.pathsep + os.environ.get("PATH", "")}
    for var in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(var, None)

    def run(*args: str) -> str:
        p = subprocess.run([python, *args], cwd=folder, env=env, capture_output=True, text=True)
        assert p.returncode == 0, f"{' '.join(args)} failed:\n{(p.stdout + p.stderr)[-4000:]}"
        return p.stdout + p.stderr

    for lab in LABS:
        run("-m", "nbgrader", "generate_assignment", labs.assignment_id(lab.name))
    return {"folder": folder, "run": run}


def test_the_config_nbgrader_reads_has_a_workshop_cell_timeout(course):
    # nbgrader's own config loading, on the generated nbgrader_config.py
    config = json.loads(course["run"]("-c", CONFIG, str(course["folder"])))
    assert config["timeout"] == _nbgrader_course().CELL_TIMEOUT_S >= 2 * max(BUDGET_S.values())
    assert config["add_missing_cells"] is True


@pytest.fixture(scope="module")
def graded(course) -> dict:
    """Two learners' copies of every lab submitted and autograded; the gradebook's scores."""
    folder, seconds = course["folder"], {}
    for lab in LABS:
        a = labs.assignment_id(lab.name)
        nb = nbformat.read(str(lab), as_version=4)
        sol = nbformat.read(str(ROOT / "solutions" / lab.name), as_version=4)
        for student, sub in (("learner", answered(nb, sol)), ("stubs", nb)):
            dest = folder / "submitted" / student / a / lab.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(sub, str(dest))
        t0 = time.monotonic()
        log = course["run"]("-m", "nbgrader", "autograde", a, "--create")
        seconds[a] = time.monotonic() - t0
        assert "does not exist in the database" not in log, log[-4000:]
    grades = json.loads(course["run"]("-c", GRADEBOOK, str(folder / "gradebook.db")))
    return {"course": folder, "grades": grades, "seconds": seconds}


def _table(graded) -> str:
    rows = ["lab    learner (autograded)  stubs (autograded)  written answers  seconds (2 submissions)"]
    for a, by in sorted(graded["grades"].items()):
        auto = {s: [g for g in gs if g["type"] == "code"] for s, gs in by.items()}
        score = {s: f"{sum(g['auto'] or 0 for g in gs):g}/{sum(g['max'] for g in gs):g}" for s, gs in auto.items()}
        written = sum(g["type"] == "markdown" for g in by["learner"])
        rows.append(f"{a}  {score['learner']:>20}  {score['stubs']:>18}  {written:>15}  {graded['seconds'][a]:>8.0f}")
    return "\n".join(rows)


@pytest.mark.slow
def test_every_lab_autogrades_full_marks_for_the_answers_and_zero_for_the_stubs(graded):
    print("\n" + _table(graded))
    assert sorted(graded["grades"]) == [labs.assignment_id(p.name) for p in LABS]
    for a, by in graded["grades"].items():
        assert sorted(by) == ["learner", "stubs"], a
        learner, stubs = ({g["id"]: g for g in by[s]} for s in ("learner", "stubs"))
        source = nbformat.read(str(next((graded["course"] / "source" / a).glob("*.ipynb"))), as_version=4)
        wanted = {c.metadata.nbgrader["grade_id"] for c in source.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        assert set(learner) == set(stubs) == wanted, a   # every graded cell scored, the re-added hidden ones too
        tests = sorted(g for g in wanted if learner[g]["type"] == "code")
        assert tests, a
        missed = [(g, learner[g]["auto"], learner[g]["max"]) for g in tests if learner[g]["auto"] != learner[g]["max"]]
        assert not missed, f"{a}: the solution's answers lost points: {missed}\n{_table(graded)}"
        passed = [(g, stubs[g]["auto"]) for g in tests if stubs[g]["auto"] != 0]
        assert not passed, f"{a}: the stubs scored on {passed}\n{_table(graded)}"
        for g in wanted - set(tests):   # written answers: untouched -> 0; answered -> the instructor's
            assert stubs[g]["auto"] == 0 and not stubs[g]["manual"], (a, g)
            assert learner[g]["auto"] is None and learner[g]["manual"], (a, g)


def test_a_lab_carries_the_release_versions_grading_cells(course):
    """A copy of labs/NN is nbgrader's release/labNN as far as grading goes: the same graded and
    answer cells, in order, with the same roles and the same stubs; the release's extra graded cells
    are the hidden tests that sat alone in a cell (nbgrader puts those back: add_missing_cells)."""
    for lab in LABS:
        a = labs.assignment_id(lab.name)
        release = nbformat.read(str(course["folder"] / "release" / a / lab.name), as_version=4)
        mine = nbformat.read(str(lab), as_version=4)
        keys = ("grade", "grade_id", "locked", "points", "solution")
        ours = [({k: c.metadata.nbgrader.get(k) for k in keys}, c.source.rstrip())
                for c in mine.cells if "nbgrader" in c.metadata]
        ids = {m["grade_id"] for m, _ in ours}
        theirs = [({k: c.metadata.nbgrader.get(k) for k in keys}, c.source.rstrip())
                  for c in release.cells if "nbgrader" in c.metadata]
        assert [c for c in theirs if c[0]["grade_id"] in ids] == ours, a
        for meta, source in theirs:
            if meta["grade_id"] not in ids:
                assert meta["grade"] and not meta["solution"] and not source, (a, meta)

if __name__ == "__main__":   # `make test`: make nbgrader's environment before the network-less namespace
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python tests/test_nbgrader_roundtrip.py install")
    made, why = ensure_nbgrader()
    print(f"nbgrader {NBGRADER_VERSION}: " + (f"ready in {made}" if made else f"not installed: {why}"))
