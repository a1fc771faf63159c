"""The class store for real: SQLite files written by several processes at once, a writer killed
with SIGKILL mid-write, a real research loop writing into it, and a throwaway PostgreSQL cluster
(initdb / pg_ctl on a unix socket in a temp dir) where one can be started here."""
import glob
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from looplab.research.ledger import Ledger
from looplab.research.loop import ResearchLoop
from looplab.research.proposers import RandomProposer
from looplab.research.signoff import AutoApprove
from looplab.research.store import ClassStore, DuplicateRecord, StoreError, mask_url, open_store
from research_support import smoke_runner, smoke_space

WRITER = textwrap.dedent("""
    import sys, time
    from looplab.research.store import ClassStore
    url, learner, start, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = ClassStore(url, learner=learner)
    for i in range(start, stop):
        store.append({"exp": i, "status": "discarded", "proposer": "random", "val_bpb": 3.0 + i / 1000,
                      "config": {"lr": i}, "pad": "x" * 2000})
""")


def _writer(tmp_path, url, learner, start, stop):
    # Written once, before any writer starts: rewriting it for each writer truncated the file under a
    # writer that was still starting, which then ran an empty script and exited 0 having written nothing
    # (1 whole-file run in about 7 lost w0's 150 records that way; the store was not at fault).
    script = tmp_path / "writer.py"
    if not script.exists():
        script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), url, learner, str(start), str(stop)])


def _exps(db: Path, learner: str) -> list[int]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT exp, body FROM looplab_records WHERE learner=? ORDER BY exp", (learner,)).fetchall()
    finally:
        con.close()
    for exp, body in rows:                       # every body whole, and the one its exp says
        rec = json.loads(body)
        assert rec["exp"] == exp and rec["config"] == {"lr": exp} and len(rec["pad"]) == 2000
    return [e for e, _ in rows]


def test_sqlite_is_wal_and_round_trips(tmp_path):
    db = tmp_path / "class.db"
    s = ClassStore(db, learner="ada")
    s.append({"exp": 1, "status": "baseline", "proposer": "baseline", "val_bpb": 3.1, "config": {"lr": 0.01}})
    s.append({"exp": 2, "status": "kept", "proposer": "tpe", "val_bpb": float("nan"), "config": {"lr": 0.02}})
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = ClassStore(f"sqlite:///{db}", learner="ada")
    assert [r["exp"] for r in again.records()] == [1, 2] and again.records()[1]["val_bpb"] is None
    assert [r["exp"] for r in again.where(status="kept")] == [2] and len(again) == 2
    assert again.records()[0]["learner"] == "ada"
    other = ClassStore(db, learner="grace")
    assert other.records() == [] and other.learners() == ["ada"]
    other.append({"exp": 1, "status": "baseline", "val_bpb": 3.2})
    assert [r["learner"] for r in other.class_records()] == ["ada", "ada", "grace"]
    with pytest.raises(DuplicateRecord, match="exp 1"):
        other.append({"exp": 1, "status": "baseline", "val_bpb": 3.2})
    assert len(other.records()) == 1
    assert list(other.to_frame()["exp"]) == [1]


@pytest.mark.parametrize("bad", ["", " ada", "a" * 41, "ada;drop", 7, None])
def test_bad_learner_names_are_refused_with_the_rule(tmp_path, bad):
    with pytest.raises(ValueError, match="1 to 40 characters"):
        ClassStore(tmp_path / "c.db", learner=bad)


def test_bad_targets_and_records_say_what_is_accepted(tmp_path):
    with pytest.raises(ValueError, match="mysql.*not supported.*sqlite"):
        ClassStore("mysql://u:hunter22@h/db", learner="ada")
    s = ClassStore(tmp_path / "c.db", learner="ada")
    with pytest.raises(ValueError, match=r"exp=-1 must be a whole number >= 0"):
        s.append({"exp": -1})
    with pytest.raises(ValueError, match="learner='bob' differs"):
        s.append({"exp": 1, "learner": "bob"})
    assert isinstance(open_store(tmp_path / "l.jsonl"), Ledger) and not isinstance(open_store(tmp_path / "l.jsonl"), ClassStore)
    with pytest.raises(ValueError, match="learner's chosen name"):
        open_store(tmp_path / "c.db")


def test_many_processes_write_concurrently_nothing_lost_or_duplicated(tmp_path):
    db = tmp_path / "class.db"
    ClassStore(db, learner="setup")              # create the table before the race
    procs = [_writer(tmp_path, str(db), f"w{i}", 0, 150) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    for i in range(4):
        assert _exps(db, f"w{i}") == list(range(150))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_writer_killed_mid_write_then_resumed_loses_and_duplicates_nothing(tmp_path):
    db = tmp_path / "class.db"
    ClassStore(db, learner="setup")
    n = 400
    others = [_writer(tmp_path, str(db), f"o{i}", 0, 200) for i in range(2)]   # contention while it dies
    victim = _writer(tmp_path, str(db), "victim", 0, n)
    deadline = time.time() + 60
    while len(_exps(db, "victim")) < 40:
        assert time.time() < deadline and victim.poll() is None, "the writer never got going"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    got = _exps(db, "victim")
    assert got == list(range(len(got))) and len(got) < n      # a gapless prefix, each record whole
    resumed = _writer(tmp_path, str(db), "victim", len(got), n)   # resume where the store says
    assert resumed.wait(timeout=120) == 0 and [p.wait(timeout=120) for p in others] == [0, 0]
    assert _exps(db, "victim") == list(range(n))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_real_research_loop_writes_to_the_store_and_resumes(tmp_path):
    db = tmp_path / "class.db"
    mk = lambda who: ResearchLoop(smoke_space(), smoke_runner(), ClassStore(db, learner=who),
                                  signoff=AutoApprove(announce=False), verbose=False)
    a = mk("ada")
    a.baseline(2, progress=False)
    a.run(RandomProposer(0), 2, progress=False)
    b = mk("grace")
    b.baseline(2, progress=False)
    assert mk("ada").run(RandomProposer(0), 2, progress=False) == a.run(RandomProposer(0), 2, progress=False)
    recs = ClassStore(db, learner="ada").class_records()
    assert [r["learner"] for r in recs] == ["ada"] * 4 + ["grace"] * 2
    assert [r["exp"] for r in recs if r["learner"] == "ada"] == [1, 2, 3, 4]


# -- PostgreSQL, for real where a cluster can be started here ------------------------------------

def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


PG_PASSWORD = "pg-Secret-looplab-7731"   # a throwaway cluster's, on a unix socket only
PG_PORT = 54329
PG_ENV = "LOOPLAB_TEST_PG"   # a directory where `make test` started a cluster before the netless namespace


class NoPostgres(Exception):
    """Why a throwaway PostgreSQL cluster cannot be started here."""


def _as_postgres(root: Path) -> list[str]:
    """The command prefix to run PostgreSQL's tools (initdb refuses root: as root, run them as 'postgres')."""
    if os.geteuid() != 0:
        return []
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise NoPostgres("running as root and there is no 'postgres' user to run the cluster as") from None
    if not shutil.which("runuser"):
        raise NoPostgres("running as root without runuser to start PostgreSQL as 'postgres'")
    try:
        os.chmod(root, 0o777)
        for parent in list(root.parents)[:3]:
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
        for sub in ("sock", "pw"):
            os.chown(root / sub, pw.pw_uid, pw.pw_gid)
    except OSError as e:   # e.g. root inside a user namespace (make test's netless run), where 'postgres' is unmapped
        raise NoPostgres(f"cannot hand the cluster's files to the 'postgres' user here ({e.strerror}: "
                         "a user namespace?); `make test` starts the cluster before entering it") from None
    return ["runuser", "-u", "postgres", "--"]


def pg_start(root: Path) -> str:
    """Start a throwaway cluster in ``root`` (initdb + pg_ctl, a unix socket only); return its URL."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise NoPostgres("PostgreSQL is not installed here (no initdb/pg_ctl; `make pg-deps` installs Debian's "
                         "postgresql as root)")
    root.mkdir(parents=True, exist_ok=True)
    (root / "sock").mkdir(exist_ok=True)
    (root / "pw").write_text(PG_PASSWORD + "\n")
    as_user = _as_postgres(root)
    r = subprocess.run(as_user + [initdb, "-D", str(root / "data"), "-U", "looplab", "--auth=scram-sha-256",
                                  f"--pwfile={root / 'pw'}", "--no-sync"], capture_output=True, text=True)
    if r.returncode:
        raise NoPostgres(f"initdb failed here: {r.stderr.strip()[-300:]}")
    r = subprocess.run(as_user + [pg_ctl, "-D", str(root / "data"), "-w", "-t", "60", "-l", str(root / "log"),
                                  "-o", f"-k {root / 'sock'} -c listen_addresses='' -p {PG_PORT}", "start"],
                       capture_output=True, text=True)
    if r.returncode:
        raise NoPostgres(f"pg_ctl could not start a cluster here: {(r.stderr or r.stdout).strip()[-300:]}")
    url = f"postgresql://looplab:{PG_PASSWORD}@/postgres?host={root / 'sock'}&port={PG_PORT}"
    (root / "url").write_text(url)
    return url


def pg_stop(root: Path) -> None:
    if (root / "data").exists():
        subprocess.run(_as_postgres(root) + [_pg_bin("pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
                       capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed (pip install 'psycopg[binary]')")
    ready = os.environ.get(PG_ENV)
    if ready and (Path(ready) / "url").exists():     # started outside the netless namespace by `make test`
        yield {"url": (Path(ready) / "url").read_text(), "password": PG_PASSWORD}
        return
    root = tmp_path_factory.mktemp("pg")
    try:
        url = pg_start(root)
    except NoPostgres as e:
        reason = str(e)
        if ready:
            reason += f" (and {PG_ENV}={ready} holds no running cluster)"
        pytest.skip(reason)
    try:
        yield {"url": url, "password": PG_PASSWORD}
    finally:
        pg_stop(root)


def test_postgresql_round_trip_and_the_password_never_shows(postgres, tmp_path, capsys):
    url, password, run = postgres["url"], postgres["password"], f"r{os.getpid()}-{time.time_ns() % 10**9}"
    s = ClassStore(url, learner="ada", loop=run)     # a fresh loop name: the cluster may be shared
    assert s.backend == "postgresql"
    for i in range(1, 4):
        s.append({"exp": i, "status": "discarded", "val_bpb": 3.0 + i, "note": f"pw is {password}"})
    with pytest.raises(DuplicateRecord):
        s.append({"exp": 2})
    t = ClassStore(url, learner="grace", loop=run)
    t.append({"exp": 1, "status": "baseline"})
    assert [r["exp"] for r in s.records()] == [1, 2, 3]
    assert [r["learner"] for r in t.class_records(loop=run)] == ["ada"] * 3 + ["grace"]
    assert all(password not in json.dumps(r) for r in t.class_records(loop=run))   # scrubbed before writing
    assert password not in repr(s) and password not in s.url and "***" in s.url
    with pytest.raises(StoreError) as err:
        ClassStore(url.replace(password, "wrong-pw-Zq81x"), learner="ada")
    assert "wrong-pw-Zq81x" not in str(err.value) and password not in str(err.value)
    print(s, s.url)
    assert password not in capsys.readouterr().out


def test_postgresql_several_processes_at_once(postgres, tmp_path):
    url, tag = postgres["url"], f"{os.getpid()}-{time.time_ns() % 10**9}"
    ClassStore(url, learner="setup")
    procs = [_writer(tmp_path, url, f"pw{i}-{tag}", 0, 60) for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 3
    for i in range(3):
        recs = ClassStore(url, learner="setup").class_records(learner=f"pw{i}-{tag}")
        assert sorted(r["exp"] for r in recs) == list(range(60))


def test_mask_url_hides_passwords():
    assert mask_url("postgresql://u:s3cr3t-pass@db.example/x") == "postgresql://u:***@db.example/x"
    assert "s3cr3t" not in mask_url("not a url //u:s3cr3t@x")


if __name__ == "__main__":   # `make test`: start / stop a cluster outside the network namespace
    cmd, where = sys.argv[1], Path(sys.argv[2]).resolve()
    if cmd == "start":
        try:
            pg_start(where)
            print(f"test PostgreSQL cluster started in {where}")
        except NoPostgres as e:
            print(f"no test PostgreSQL cluster: {e}; the PostgreSQL store tests will try inside, or skip")
    else:
        pg_stop(where)
