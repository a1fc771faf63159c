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

The rules live in ``looplab.course.labs.nbgrader_metadata``: the generated ``labs/`` carry the same
metadata (same ``grade_id`` for the same cell), so a learner's copy of ``labs/NN_name.ipynb`` with
the answers filled in autogrades as it is, like nbgrader's own ``release/`` version. Keep the grade
ids if you edit the cells in nbgrader's *Create Assignment* sidebar (points may change: autograde
takes them from the gradebook).

Every other cell is left as it is. It writes ``nbgrader_config.py`` (course id, cell timeout,
missing cells put back) if there is none, and never touches ``solutions/`` or ``labs/``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

try:
    from looplab.course.labs import LAB_NAME, assignment_id, nbgrader_metadata
except ImportError:   # run with a Python where the course is not installed: use this clone's library
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "utils"))
    from looplab.course.labs import LAB_NAME, assignment_id, nbgrader_metadata

# nbgrader's cell timeout in the written config (why 1800 s: the comment in CONFIG below)
CELL_TIMEOUT_S = 1800


def mark_notebook(nb: nbformat.NotebookNode, assignment: str, points: float = 1.0) -> dict:
    """Add ``metadata.nbgrader`` to the answer and test cells of one solution notebook, in place.

    Returns counts: ``{"answers": .., "written": .., "tests": ..}``.
    """
    counts = {"answers": 0, "written": 0, "tests": 0}
    for cell, meta in zip(nb.cells, nbgrader_metadata(nb, assignment, points)):
        cell.metadata.pop("nbgrader", None)
        if meta is None:
            continue
        cell.metadata["nbgrader"] = meta
        counts["answers" if meta["solution"] and not meta["grade"] else
               "written" if meta["solution"] else "tests"] += 1
    return counts


CONFIG = '''c = get_config()  # noqa: F821  (nbgrader's config loader provides it)
c.CourseDirectory.course_id = "{course_id}"
# The notebooks import looplab: the kernel nbgrader starts must be the course's Python (see
# instructors/README.md, "With nbgrader"). LOOPLAB_SCALE=smoke keeps autograding quick.
# nbgrader's default cell timeout is 30 s; workshop-scale cells train for minutes, and a cell stopped
# by the timeout scores 0. At workshop scale the slowest whole lesson took 800 s on Binder's one CPU
# (lesson 05; `make science` on one core), so no single cell comes near {timeout} s, which still
# holds on a machine twice as slow.
c.Execute.timeout = {timeout}
# A learner's copy of labs/NN_name.ipynb has no cells for the hidden tests that sit in cells of their
# own: nbgrader adds them back (after the check cell they follow) and runs them.
c.OverwriteCells.add_missing_cells = True
'''


def build(course: Path, solutions: Path, points: float = 1.0, course_id: str = "closing-the-loop") -> list[str]:
    """Write ``course/source/labNN/`` for every solution notebook; return what was written."""
    solutions, course = Path(solutions), Path(course)
    found = sorted(p for p in solutions.glob("*.ipynb") if LAB_NAME.match(p.name))
    if not found:
        raise FileNotFoundError(f"no solution notebooks named NN_name.ipynb in {solutions.resolve()}")
    written = []
    for sol in found:
        assignment = assignment_id(sol.name)
        nb = nbformat.read(str(sol), as_version=4)
        counts = mark_notebook(nb, assignment, points)
        dest = course / "source" / assignment / sol.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dest))
        written.append(f"{dest}: {counts['answers']} code answers, {counts['written']} written answers, "
                       f"{counts['tests']} autograded test cells")
    cfg = course / "nbgrader_config.py"
    if not cfg.exists():
        cfg.write_text(CONFIG.format(course_id=course_id, timeout=CELL_TIMEOUT_S))
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
