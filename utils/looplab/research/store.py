"""The class store: one ledger for a whole class, in a real database.

A lone learner keeps the JSONL :class:`~looplab.research.ledger.Ledger`. A class shares one
:class:`ClassStore`, which behaves like a ledger to the loop (``append``, ``records``, ``where``,
``to_frame``: the last two are the ledger's own methods) but keeps its records in a database:

* **SQLite** (the default: a path or ``sqlite:///path``): one file on a shared disk -- a
  JupyterHub -- safe for many processes on one machine. It runs in WAL mode (readers never block
  the writer), with ``synchronous=FULL`` (a committed record survives a power cut) and a busy
  timeout (writers queue instead of failing). Not for a network file system: SQLite's locks
  need a local disk.
* **PostgreSQL** by URL (``postgresql://user:pass@host/db``), for a class across machines.

Both go through SQLAlchemy Core. One row per record: the learner's chosen name, the loop's name,
the record's ``exp`` number, a few indexed fields, and the whole record as JSON. ``(learner,
loop, exp)`` is unique, so the database itself refuses a duplicate, and one INSERT is one
transaction, so a writer killed mid-write leaves either the whole record or nothing.

Records are scrubbed of secrets (the ledger's :func:`~looplab.research.ledger.scrub`) before they
are written, and a database password is never shown: :func:`mask_url` hides it in every repr and
error message.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ..checks import whole
from .ledger import Ledger, register_secret, scrub

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,39}$")
NAME_RULE = "1 to 40 characters: letters, digits, space, '_', '.', '-' (starting with a letter or digit)"
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")


class StoreError(RuntimeError):
    """The store could not be opened or written (the message never holds a password)."""


class DuplicateRecord(StoreError):
    """A record with this (learner, loop, exp) is already in the store."""


def check_name(value, what: str = "learner") -> str:
    """``value`` as a learner / loop name, or a ValueError naming it and the accepted form."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value) or value != value.strip():
        raise ValueError(f"{what}={value!r} is not a valid name: use {NAME_RULE}")
    return value


def mask_url(url) -> str:
    """``url`` with its password replaced by ``***`` (safe to print)."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:   # not even a URL: hide everything between '//' and '@'
        return re.sub(r"//[^/@]*@", "//***@", str(url))


def store_url(target) -> str:
    """The SQLAlchemy URL for ``target``: a path (SQLite) or a ``sqlite:`` / ``postgresql:`` URL."""
    text = os.fspath(target) if isinstance(target, os.PathLike) else target
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"store={target!r}: give a file path (SQLite) or a URL starting with one of {SCHEMES}")
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    scheme = text.split("://", 1)[0]
    if scheme not in SCHEMES:
        raise ValueError(f"store URL scheme {scheme!r} ({mask_url(text)}) is not supported; use one of {SCHEMES}")
    if scheme == "postgresql":            # psycopg 3 is the driver this course installs
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _engine(url: str):
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    u = make_url(url)
    if u.password:
        register_secret(u.password)        # scrub() now removes it from anything it cleans
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True, future=True)
    engine = sa.create_engine(u, future=True, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):     # per connection: WAL, durable commits, wait for the lock
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):                      # writers take the lock up front: no deadlocked upgrades
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("looplab_read") else "BEGIN IMMEDIATE")

    return engine


def _table(metadata):
    import sqlalchemy as sa
    return sa.Table(
        "looplab_records", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("learner", sa.String(40), nullable=False, index=True),
        sa.Column("loop", sa.String(40), nullable=False),
        sa.Column("exp", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20)),
        sa.Column("proposer", sa.String(80)),
        sa.Column("logged_at", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("learner", "loop", "exp", name="one_record_per_exp"),
    )


class ClassStore(Ledger):
    """The records of one learner's loop in a shared database; the whole class's through :meth:`class_records`.

    ``ClassStore("class.db", learner="ada")`` or ``ClassStore("postgresql://...", learner="ada")``.
    ``records()`` (what the loop reads) returns this learner's records of this loop only, so
    thirty loops share one store without seeing each other; :meth:`class_records` and
    :meth:`learners` are the instructor's view.
    """

    def __init__(self, target, learner: str, loop: str = "main"):
        import sqlalchemy as sa
        self.learner, self.loop = check_name(learner, "learner"), check_name(loop, "loop")
        self._url = store_url(target)
        self.url = mask_url(self._url)      # the only form of the URL this object shows
        self.path = None                    # not a file (Ledger.path): see .url
        self.dropped_partial = False        # a database never holds half a record
        try:
            self._engine = _engine(self._url)
            self._metadata = sa.MetaData()
            self._t = _table(self._metadata)
            self._metadata.create_all(self._engine)
        except ValueError:
            raise
        except Exception as e:
            raise StoreError(self._clean(f"cannot open the class store {self.url}: {type(e).__name__}: {e}")) from None

    def __repr__(self) -> str:
        return f"ClassStore({self.url!r}, learner={self.learner!r}, loop={self.loop!r})"

    def _clean(self, text: str) -> str:
        from sqlalchemy.engine import make_url
        pw = make_url(self._url).password
        return scrub(text.replace(pw, "***") if pw else text)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def append(self, record: dict) -> dict:
        """Scrub, stamp and commit one record (one transaction); return what was written."""
        import sqlalchemy as sa
        rec = scrub(dict(record))
        rec.setdefault("logged_at", time.time())
        rec.setdefault("learner", self.learner)
        if rec["learner"] != self.learner:
            raise ValueError(f"record learner={rec['learner']!r} differs from this store's learner={self.learner!r}")
        exp = rec.get("exp")
        whole("record exp", exp, 0, note=" (the loop numbers its experiments)")
        body = json.dumps(rec, allow_nan=False)
        row = {"learner": self.learner, "loop": self.loop, "exp": exp, "status": rec.get("status"),
               "proposer": str(rec.get("proposer"))[:80] if rec.get("proposer") is not None else None,
               "logged_at": float(rec["logged_at"]), "body": body}
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.insert(self._t).values(**row))
        except sa.exc.IntegrityError:
            raise DuplicateRecord(f"{self.learner}/{self.loop}: exp {exp} is already in {self.url}") from None
        except sa.exc.SQLAlchemyError as e:
            raise StoreError(self._clean(f"writing exp {exp} to {self.url} failed: {type(e).__name__}: {e}")) from None
        return rec

    def _select(self, learner: str | None, loop: str | None) -> list[dict]:
        import sqlalchemy as sa
        q = sa.select(self._t.c.body).order_by(self._t.c.id)
        if learner is not None:
            q = q.where(self._t.c.learner == learner)
        if loop is not None:
            q = q.where(self._t.c.loop == loop)
        with self._engine.connect().execution_options(looplab_read=True) as conn:
            return [json.loads(b) for (b,) in conn.execute(q)]

    def records(self) -> list[dict]:
        """This learner's records of this loop, in the order they were written."""
        return self._select(self.learner, self.loop)

    def class_records(self, learner: str | None = None, loop: str | None = None) -> list[dict]:
        """Every record in the store (or one learner's, or one loop's), each with its ``learner``."""
        if learner is not None:
            check_name(learner, "learner")
        return self._select(learner, loop)

    def learners(self) -> list[str]:
        """The learners' names in the store, sorted."""
        import sqlalchemy as sa
        with self._engine.connect().execution_options(looplab_read=True) as conn:
            return sorted(x for (x,) in conn.execute(sa.select(self._t.c.learner).distinct()))

    def close(self) -> None:
        self._engine.dispose()


def open_store(target=None, learner: str | None = None, loop: str = "main"):
    """A JSONL :class:`Ledger` for a path ending in ``.jsonl`` (a lone learner), else a :class:`ClassStore`.

    ``target`` defaults to ``$LOOPLAB_CLASS_STORE``; a class store needs ``learner`` (or
    ``$LOOPLAB_LEARNER``).
    """
    target = target if target is not None else os.environ.get("LOOPLAB_CLASS_STORE")
    if target is None:
        raise ValueError("no store given: pass a path / URL or set LOOPLAB_CLASS_STORE")
    if "://" not in str(target) and str(target).endswith(".jsonl"):
        return Ledger(target)
    learner = learner if learner is not None else os.environ.get("LOOPLAB_LEARNER")
    if learner is None:
        raise ValueError("a class store needs the learner's chosen name: learner='...' or LOOPLAB_LEARNER")
    return ClassStore(target, learner, loop)
