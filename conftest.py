"""Repository-wide pytest hooks: no API key value ever reaches an output or a file.

``make test`` runs the notebooks with canary values in the API-key variables. After every
notebook cell that nbval executes, its outputs are searched for those values; at the end of the
session every file the run created or changed in the repository (ledgers, transcripts, caches,
built notebooks) is searched too. A hit fails the run and names where the key leaked, never the
key itself.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
KEY_VARS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"}
_START = time.time()


def _secrets() -> list[str]:
    # only values long enough to be a key: a 1-character value would match everything
    return [v for v in (os.environ.get(k, "") for k in KEY_VARS) if len(v) >= 12]


def _leaked_in(text: str) -> bool:
    return any(s in text for s in _secrets())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)  # set by nbval on each notebook cell
    if call.when != "call" or not outputs or not _secrets():
        return
    if _leaked_in(json.dumps(outputs, default=str)):
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: an API key's value appears in this cell's output. "
                           "Keys may be reported as set / not set, never shown.")


def _changed_files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                if path.stat().st_mtime >= _START and path.stat().st_size < 50_000_000:
                    yield path
            except OSError:
                continue


def pytest_sessionfinish(session, exitstatus):
    secrets = _secrets()
    if not secrets:
        return
    leaks = []
    for path in _changed_files():
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(s.encode() in data for s in secrets):
            leaks.append(str(path.relative_to(ROOT)))
    if leaks:
        print("\nAPI key value found in files written by this test run: " + ", ".join(leaks))
        session.exitstatus = 1
