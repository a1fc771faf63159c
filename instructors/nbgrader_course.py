"""Build an nbgrader course folder from the course's solutions: ``source/labNN/`` with cell metadata.

    python instructors/nbgrader_course.py mycourse [--solutions solutions] [--points 1]
    cd mycourse && nbgrader generate_assignment lab01 && nbgrader autograde lab01

The solutions already carry nbgrader's markers (``### BEGIN SOLUTION`` ... ``### END SOLUTION``,
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``). nbgrader also needs each cell's role
in ``metadata.nbgrader`` (by default it refuses a solution region in a cell not marked as a
solution cell). This script copies every ``solutions/NN_name.ipynb`` to
``COURSE/source/labNN/NN_name.ipynb`` and marks:

* a code cell holding a solution region    -> solution cell ("Autograded answer");
* a markdown cell holding a solution region -> manually graded answer, ``--points`` points;
* a code cell holding hidden tests, or the code cell right after a solution cell that calls a
  ``check...(`` function -> autograded test cell, read-only, ``--points`` points.

Every other cell is left as it is. It writes ``nbgrader_config.py`` (course id) if there is none,
and never touches ``solutions/`` or ``labs/``. Adjust points afterwards in JupyterLab's nbgrader
"Create Assignment" sidebar if you like.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
CHECK_CALL = re.compile(r"^\s*check\w*\(", re.M)
NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")


def _has(source: str, marker: str) -> bool:
    # nbgrader compares the stripped line with the marker exactly
    return any(line.strip() == marker for line in source.split("\n"))


def _meta(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if grade:
        m["points"] = points
    return m


def mark_notebook(nb: nbformat.NotebookNode, assignment: str, points: float = 1.0) -> dict:
    """Add ``metadata.nbgrader`` to the answer and test cells of one solution notebook, in place.

    Returns counts: ``{"answers": .., "written": .., "tests": ..}``.
    """
    if points <= 0:
        raise ValueError(f"points={points} must be > 0")
    counts = {"answers": 0, "written": 0, "tests": 0}
    after_solution = False
    for k, cell in enumerate(nb.cells):
        src = cell.source
        gid = f"{assignment}-cell{k:02d}"
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code" and _has(src, BEGIN_SOLUTION):
            cell.metadata["nbgrader"] = _meta(gid, solution=True, grade=False, locked=False, points=None)
            counts["answers"] += 1
            after_solution = True
            continue
        if cell.cell_type == "markdown" and _has(src, BEGIN_SOLUTION):
            cell.metadata["nbgrader"] = _meta(gid, solution=True, grade=True, locked=False, points=points)
            counts["written"] += 1
        elif cell.cell_type == "code" and (_has(src, BEGIN_HIDDEN) or (after_solution and CHECK_CALL.search(src))):
            cell.metadata["nbgrader"] = _meta(gid, solution=False, grade=True, locked=True, points=points)
            counts["tests"] += 1
        if cell.cell_type == "code":
            after_solution = False
    return counts


CONFIG = '''c = get_config()  # noqa: F821  (nbgrader's config loader provides it)
c.CourseDirectory.course_id = "{course_id}"
# the notebooks import looplab: run nbgrader in an environment where the course is installed
# (pip install -e /path/to/closing-the-loop); LOOPLAB_SCALE=smoke keeps autograding quick.
'''


def build(course: Path, solutions: Path, points: float = 1.0, course_id: str = "closing-the-loop") -> list[str]:
    """Write ``course/source/labNN/`` for every solution notebook; return what was written."""
    solutions, course = Path(solutions), Path(course)
    found = sorted(p for p in solutions.glob("*.ipynb") if NAME.match(p.name))
    if not found:
        raise FileNotFoundError(f"no solution notebooks named NN_name.ipynb in {solutions.resolve()}")
    written = []
    for sol in found:
        assignment = f"lab{NAME.match(sol.name).group(1)}"
        nb = nbformat.read(str(sol), as_version=4)
        counts = mark_notebook(nb, assignment, points)
        dest = course / "source" / assignment / sol.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dest))
        written.append(f"{dest}: {counts['answers']} code answers, {counts['written']} written answers, "
                       f"{counts['tests']} autograded test cells")
    cfg = course / "nbgrader_config.py"
    if not cfg.exists():
        cfg.write_text(CONFIG.format(course_id=course_id))
        written.append(f"{cfg}")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("course", type=Path, help="the nbgrader course folder to create or update")
    p.add_argument("--solutions", type=Path, default=Path(__file__).resolve().parents[1] / "solutions")
    p.add_argument("--points", type=float, default=1.0, help="points per graded cell (default 1)")
    p.add_argument("--course-id", default="closing-the-loop")
    a = p.parse_args(argv)
    for line in build(a.course, a.solutions, a.points, a.course_id):
        print(line)
    print(f"next: cd {a.course} && nbgrader generate_assignment labNN   (release/labNN/ is the student version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
