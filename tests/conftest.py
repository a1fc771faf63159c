"""Shared test fixtures. Tests run offline, at smoke scale, with torch limited to the free cores."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LOOPLAB_SCALE", "smoke")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def _threads():
    from looplab.config import set_threads
    set_threads()


@pytest.fixture(autouse=True)
def _no_setup_yet(monkeypatch):
    """Each test starts as a fresh kernel does: no setup() has run, so looplab.config.default_device()
    decides by device_name() until the test calls setup() (which is then undone after it)."""
    from looplab import config
    monkeypatch.setattr(config, "_SESSION", [])
