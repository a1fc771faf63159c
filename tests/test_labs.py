"""labs/ is generated from solutions/: the generator's rules, sync, and how a lab behaves when run."""
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from looplab.course import labs

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def _solution_nb():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Toy\nExplain:\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        nbformat.v4.new_code_cell("import math"),
        nbformat.v4.new_code_cell(
            "def area(r):\n    \"\"\"Area of a circle.\"\"\"\n    ### BEGIN SOLUTION\n"
            "    return math.pi * r ** 2\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell(
            "assert abs(area(1) - math.pi) < 1e-9\nprint('✓ correct')\n"
            "### BEGIN HIDDEN TESTS\nassert area(2) == 4 * math.pi\n### END HIDDEN TESTS"),
        nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert area(0) == 0\n### END HIDDEN TESTS"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint(answer)"),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="leaked output")]
    nb.cells[1].execution_count = 3
    return nb


def test_generator_stubs_answers_drops_hidden_tests_and_outputs():
    lab = labs.make_lab(_solution_nb(), "toy.ipynb")
    text = nbformat.writes(lab)
    assert "### BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "math.pi * r ** 2" not in text and "area(2)" not in text and "answer = 42" not in text
    assert "leaked output" not in text
    sources = [c.source for c in lab.cells]
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in sources[3]  # indentation kept
    assert sources[-1] == "# YOUR CODE HERE\nraise NotImplementedError()\nprint(answer)"
    assert "YOUR ANSWER HERE" in sources[1]
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in lab.cells if c.cell_type == "code")
    assert len(lab.cells) == 6  # banner + 6 cells - the hidden-tests-only cell
    nbformat.validate(lab)


@pytest.mark.parametrize("bad", [
    "### BEGIN SOLUTION\nx = 1",                                  # never closed
    "x = 1\n### END SOLUTION",                                    # closed, never opened
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",   # nested
])
def test_unbalanced_markers_are_a_clear_error(bad):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(bad)])
    with pytest.raises(labs.MarkerError, match="bad.ipynb cell 0"):
        labs.make_lab(nb, "bad.ipynb")


def test_generate_and_check_round_trip(tmp_path):
    sol, lab = tmp_path / "solutions", tmp_path / "labs"
    sol.mkdir()
    nbformat.write(_solution_nb(), str(sol / "01_toy.ipynb"))
    assert labs.generate(sol, lab, check=True) == ["01_toy.ipynb"]
    assert labs.generate(sol, lab) == ["01_toy.ipynb"]
    assert labs.generate(sol, lab) == []  # regenerating changes nothing
    (lab / "99_stale.ipynb").write_text("{}")
    assert labs.generate(sol, lab, check=True) == ["99_stale.ipynb"]
    labs.generate(sol, lab)
    assert not (lab / "99_stale.ipynb").exists()


def test_labs_round_trip_where_the_locale_is_not_utf8(tmp_path):
    """On Windows (cp1252) the locale cannot encode ✓, ≈ or σ̂: the generator must say UTF-8 itself.

    Linux stands in for Windows with the C locale, UTF-8 mode and locale coercion off (ASCII)."""
    import os
    import subprocess
    import sys
    sol, lab = tmp_path / "solutions", tmp_path / "labs"
    sol.mkdir()
    nb = _solution_nb()
    nb.cells.append(nbformat.v4.new_markdown_cell("σ̂ ≈ σ when M is large ✓"))
    nbformat.write(nb, str(sol / "01_toy.ipynb"))
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "utf-8"}
    script = (
        "import locale, sys\n"
        "from looplab.course import labs\n"
        "enc = locale.getpreferredencoding(False)\n"
        "if 'utf' in enc.lower().replace('-', ''): print('SKIP', enc); sys.exit(0)\n"
        f"print(labs.generate({str(sol)!r}, {str(lab)!r}))\n"
        f"print(labs.generate({str(sol)!r}, {str(lab)!r}, check=True))\n")
    r = subprocess.run([sys.executable, "-X", "utf8=0", "-c", script], env=env, capture_output=True,
                       text=True, encoding="utf-8")
    if r.stdout.startswith("SKIP"):
        pytest.skip(f"could not get a non-UTF-8 locale here ({r.stdout.split()[1]})")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines() == ["['01_toy.ipynb']", "[]"], r.stdout   # written, then in sync
    text = (lab / "01_toy.ipynb").read_text(encoding="utf-8")
    assert "✓ correct" in text and "σ̂ ≈ σ" in text


def test_committed_labs_are_in_sync_with_solutions(tmp_path):
    if not SOLUTIONS:
        pytest.skip("no solution notebooks yet")
    assert labs.generate(ROOT / "solutions", ROOT / "labs", check=True) == [], \
        "labs/ is out of date: run `make labs` and commit the result"


@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_generated_lab_parses_and_has_exercises(lab):
    nb = nbformat.read(str(lab), as_version=4)
    nbformat.validate(nb)
    text = lab.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text, "a lab without an exercise"


def _first_failure(nb, workdir):
    """Execute ``nb`` in ``workdir``; return (index of the first stub cell, indices of failed cells, error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    first_stub = next(i for i, c in enumerate(nb.cells)
                      if c.cell_type == "code" and "raise NotImplementedError()" in c.source)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    with pytest.raises(CellExecutionError) as e:
        client.execute()
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    return first_stub, failed, str(e.value)


def test_a_generated_toy_lab_stops_at_its_first_stub(tmp_path):
    lab = labs.make_lab(_solution_nb(), "toy.ipynb")
    first_stub, failed, err = _first_failure(lab, tmp_path)
    # the stub is a function body: the first call of it (the check cell) is where the lab stops
    assert "NotImplementedError" in err and failed == [first_stub + 1]


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_running_a_lab_stops_at_its_first_exercise(lab, tmp_path):
    """Executed top to bottom, a fresh lab must fail at the first stub, never pass silently."""
    nb = nbformat.read(str(lab), as_version=4)
    # run from a copy of the labs folder so nothing the notebook writes lands in the repository
    work = tmp_path / "labs"
    shutil.copytree(lab.parent, work)
    first_stub, failed, err = _first_failure(nb, work)
    assert "NotImplementedError" in err, "a lab must stop at an exercise stub, not another error"
    # one failure, at the first stub or at the first cell that calls it; nothing before it fails
    assert len(failed) == 1 and failed[0] >= first_stub, \
        f"expected the first failure at or after the first stub (cell {first_stub}), got {failed}"


def _committed_notebooks():
    """(path, text) of every notebook as git's index holds it: what a commit would carry.

    A learner's JupyterLab autosaves outputs into the working copy; that is fine locally and
    must not fail their test run. Outside a git checkout the files on disk are read.
    """
    import subprocess
    try:
        listed = subprocess.run(["git", "ls-files", "lessons", "solutions", "labs"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = None
    if listed is None:
        return [(p.relative_to(ROOT), p.read_text()) for d in ("lessons", "solutions", "labs")
                for p in sorted((ROOT / d).glob("*.ipynb"))]
    return [(path, subprocess.run(["git", "show", f":{path}"], cwd=ROOT, capture_output=True,
                                  text=True, check=True).stdout)
            for path in listed if path.endswith(".ipynb")]


def test_no_committed_notebook_carries_outputs():
    notebooks = _committed_notebooks()
    assert notebooks, "no notebooks found"
    dirty = []
    for path, text in notebooks:
        nb = json.loads(text)
        for k, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(f"{path} cell {k}")
    assert not dirty, "notebooks committed with outputs (strip them: nbstripout FILE, then git add): " + ", ".join(dirty)


def _header_minutes(nb_path):
    """(teaching, exercises) minutes from a notebook's first cell ("teaching: N min, exercises: M min")."""
    first = "".join(json.loads(Path(nb_path).read_text())["cells"][0]["source"])
    m = re.search(r"teaching:?\**:? *(\d+) min, exercises:?\**:? *(\d+) min", first)
    assert m, f"{nb_path.name}: no 'teaching: N min, exercises: M min' in its header"
    return int(m.group(1)), int(m.group(2))


def _table_minutes(text, row_key):
    """{lesson number: (teaching, exercises)} from a markdown table whose rows start '| NN |'."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\| *(0\d) *\|.*\| *(\d+) min *\| *(\d+) min *\|", line)
        if m and row_key in line:
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def test_exercise_times_agree_everywhere_they_are_stated():
    # The lab's header is the home of the exercise time (it counts the lab's own exercises); the
    # lesson's header, lesson 00's map, the README and the instructors' table repeat it.
    lessons = sorted((ROOT / "lessons").glob("0*.ipynb"))
    stated = {p.name[:2]: _header_minutes(p) for p in lessons}
    for sol in SOLUTIONS:
        assert stated[sol.name[:2]][1] == _header_minutes(sol)[1], (
            f"{sol.name}: the lab says {_header_minutes(sol)[1]} min of exercises, "
            f"the lesson {stated[sol.name[:2]][1]} min")
    start_here = "".join("".join(c["source"]) for c in json.loads(lessons[0].read_text())["cells"])
    for name, text in [("lessons/00_start_here.ipynb", start_here),
                       ("README.md", (ROOT / "README.md").read_text()),
                       ("instructors/README.md", (ROOT / "instructors" / "README.md").read_text())]:
        table = _table_minutes(text, "|")
        assert set(table) == set(stated), f"{name}: its course table lists lessons {sorted(table)}"
        for n, times in table.items():
            assert times == stated[n], f"{name}: lesson {n} is {times} (teaching, exercises); its header says {stated[n]}"
