"""instructors/nbgrader_course.py on the real solutions: the nbgrader metadata it writes."""
import hashlib
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"


def _module():
    spec = importlib.util.spec_from_file_location("nbgrader_course", ROOT / "instructors" / "nbgrader_course.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


def test_builds_a_course_with_every_answer_and_test_cell_marked(tmp_path):
    mod = _module()
    before = _digest(SOLUTIONS)
    assert mod.main([str(tmp_path / "course"), "--points", "2"]) == 0
    assert _digest(SOLUTIONS) == before  # solutions/ untouched
    course = tmp_path / "course"
    assert 'course_id = "closing-the-loop"' in (course / "nbgrader_config.py").read_text()
    sources = sorted((course / "source").glob("lab*/*.ipynb"))
    assert [p.name for p in sources] == sorted(before)
    for path in sources:
        assert path.parent.name == f"lab{path.name[:2]}"
        nb = nbformat.read(str(path), as_version=4)
        ids, answers, tests = set(), 0, 0
        for cell in nb.cells:
            lines = [line.strip() for line in cell.source.split("\n")]
            meta = cell.metadata.get("nbgrader")
            if "### BEGIN SOLUTION" in lines:  # nbgrader refuses a solution region outside a solution cell
                assert meta and meta["solution"], (path.name, cell.source[:80])
                answers += 1
            if "### BEGIN HIDDEN TESTS" in lines:
                assert meta and meta["grade"] and meta["locked"] and not meta["solution"]
            if meta:
                assert meta["schema_version"] == 3 and meta["grade_id"] not in ids
                ids.add(meta["grade_id"])
                if meta["grade"]:
                    assert meta["points"] == 2.0
                    tests += not meta["solution"]
        assert answers >= 1 and tests >= 1, path.name


def test_keeps_an_existing_config_and_rejects_bad_input(tmp_path):
    mod = _module()
    course = tmp_path / "c"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("# mine\n")
    mod.build(course, SOLUTIONS)
    assert (course / "nbgrader_config.py").read_text() == "# mine\n"
    with pytest.raises(ValueError, match="points=0"):
        mod.build(tmp_path / "d", SOLUTIONS, points=0)
    with pytest.raises(FileNotFoundError, match="no solution notebooks"):
        mod.build(tmp_path / "e", tmp_path)


def test_config_sets_a_cell_timeout_for_the_workshop_and_puts_missing_cells_back(tmp_path):
    """nbgrader's default cell timeout (30 s) would score a minutes-long workshop cell 0: the written
    config sets one that outlasts twice the budget of the longest whole lesson at workshop scale."""
    from traitlets.config import Config

    from looplab.course.dryrun import BUDGET_S
    mod = _module()
    mod.build(tmp_path / "c", SOLUTIONS)
    c = Config()
    exec((tmp_path / "c" / "nbgrader_config.py").read_text(), {"get_config": lambda: c})
    assert c.CourseDirectory.course_id == "closing-the-loop"
    assert c.Execute.timeout == mod.CELL_TIMEOUT_S >= 2 * max(BUDGET_S.values())
    assert c.OverwriteCells.add_missing_cells is True   # a lab copy has no cells for hidden-only tests


def test_labs_carry_the_grade_ids_of_the_course_source(tmp_path):
    """A learner's copy of labs/NN_name.ipynb is matched to nbgrader's source by grade_id: every
    graded or answer cell of a lab has the id, role and points of that cell in source/labNN/."""
    _module().build(tmp_path / "c", SOLUTIONS)
    for lab in sorted((ROOT / "labs").glob("*.ipynb")):
        src = nbformat.read(str(next((tmp_path / "c" / "source").glob(f"*/{lab.name}"))), as_version=4)
        ids = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in src.cells if "nbgrader" in c.metadata}
        mine = [c.metadata.nbgrader for c in nbformat.read(str(lab), as_version=4).cells if "nbgrader" in c.metadata]
        assert mine and all(ids[m["grade_id"]] == m for m in mine), lab.name
        dropped = set(ids) - {m["grade_id"] for m in mine}   # only cells that held nothing but hidden tests
        for cell in src.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") in dropped:
                assert cell.source.strip().startswith("### BEGIN HIDDEN TESTS"), (lab.name, cell.source[:80])
