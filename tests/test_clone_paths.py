"""What a notebook sends a learner to must be in the learner's clone (or be a web address).

The course was written beside a ``shared/`` folder (sources, data) that a clone does not have;
lesson 04 once pointed learners to ``../shared/sources/``.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lessons", "solutions", "labs", "instructors")
OUTSIDE = re.compile(r"\.\./shared\b|(?<![\w/.])shared/(sources|data)\b")


def test_no_notebook_points_outside_the_clone():
    found = [f"{path.relative_to(ROOT)}: {m.group(0)}"
             for folder in FOLDERS for path in sorted((ROOT / folder).glob("*.ipynb"))
             for m in OUTSIDE.finditer(path.read_text(encoding="utf-8"))]
    assert not found, "these point to a folder a learner's clone does not have:\n" + "\n".join(found)
