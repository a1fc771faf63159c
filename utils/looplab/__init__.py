"""looplab: the shared library of the *Closing the Loop* course.

Notebooks import from here; the library never imports notebooks. Start with
``from looplab.config import setup; S = setup()``.
"""
# This file runs before any other module of the package, so it checks the Python version first.
# Keep it parseable by old Pythons (no f-strings, no annotations): the point is to reach the check.
import sys

__version__ = "0.1.0"
MIN_PYTHON = (3, 10)


def python_version_problem(version=None):
    """What to do when ``version`` (default: this Python's) is older than MIN_PYTHON; None when fine."""
    version = tuple(sys.version_info if version is None else version)
    if version[:2] >= MIN_PYTHON:
        return None
    have = ".".join(str(part) for part in version[:3])
    need = "{}.{}".format(*MIN_PYTHON)
    return (
        "looplab needs Python {need} or newer; this is Python {have} ({exe}).\n"
        "What to do: install Python {need}+ (3.11 is what Binder uses), then\n"
        "  - from a terminal: remove .venv/ and run `make lab PYTHON=python3.11` (any python {need}+),\n"
        "    or without make: `python3.11 utils/looplab/setup.py lab` (Windows: `py -3.11 ...`);\n"
        "  - in Jupyter: choose a kernel that runs Python {need}+ (Kernel -> Change Kernel);\n"
        "  - or open the course on Colab or Binder, which already have it."
    ).format(need=need, have=have, exe=sys.executable or "python")


_problem = python_version_problem()
if _problem:
    raise ImportError(_problem)
del _problem
