"""utils/looplab/setup.py: the course's setup, lab and test steps with make or without it.

The platform is faked where the code asks for it (sys.platform, platform.machine, the PATH that
nvidia-smi is looked up on); every command is printed by --dry-run and checked, none installs.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from looplab import setup as S

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "utils" / "looplab" / "setup.py"


def dry_run(tmp_path, *args, path=None):
    """Run setup.py as a learner would (a file, no make) with --dry-run; a fresh venv in tmp_path."""
    env = {**os.environ, "PATH": str(path if path is not None else tmp_path)}
    env.pop("TORCH_INDEX", None), env.pop("TORCH_SPEC", None)
    return subprocess.run([sys.executable, str(SCRIPT), "--venv", str(tmp_path / "venv"), "--dry-run", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def fake_nvidia_smi(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    exe = folder / "nvidia-smi"
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(0o755)
    return folder


# -- torch: the CPU wheel on Linux without an NVIDIA GPU ------------------------------------------

def test_linux_without_nvidia_smi_gets_the_cpu_wheel(tmp_path):
    r = dry_run(tmp_path, "setup")
    assert r.returncode == 0, r.stderr
    assert f"pip install {S.TORCH} --index-url {S.CPU_INDEX}" in r.stdout
    assert "no nvidia-smi here" in r.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the nvidia-smi guess applies on Linux only")
def test_linux_with_nvidia_smi_gets_pypis_cuda_build(tmp_path):
    r = dry_run(tmp_path, "setup", path=fake_nvidia_smi(tmp_path / "bin"))
    assert r.returncode == 0, r.stderr
    assert f"pip install {S.TORCH}\n" in r.stdout and "--index-url" not in r.stdout


def test_the_cuda_wheel_is_one_setting_away_and_a_bad_setting_is_named():
    assert S.torch_args({"TORCH_INDEX": "cuda"}, "linux", nvidia=False)[0] == [S.TORCH]
    assert S.torch_args({"TORCH_INDEX": "cpu"}, "linux", nvidia=True)[0] == [S.TORCH, "--index-url", S.CPU_INDEX]
    assert S.torch_args({"TORCH_SPEC": "torch --index-url https://x/cu126"}, "linux", nvidia=False)[0] == \
        ["torch", "--index-url", "https://x/cu126"]
    with pytest.raises(SystemExit, match="TORCH_INDEX='gpu' is not a choice"):
        S.torch_args({"TORCH_INDEX": "gpu"}, "linux")


@pytest.mark.parametrize("system", ["darwin", "win32"])
def test_macos_and_windows_get_pypis_wheel(system):
    assert S.torch_args({}, system, nvidia=False)[0] == [S.TORCH]


# -- Python too old, Intel Mac: stop first, say what to do -----------------------------------------

def test_an_old_python_is_told_the_no_make_command_too():
    msg = S.python_problem((3, 9, 18, "final", 0))
    assert "Python 3.10 or newer" in msg and "make lab PYTHON=python3.11" in msg
    assert "utils/looplab/setup.py lab" in msg


def old_python():
    """A Python older than 3.10 that runs here (python3.9 / 3.8 on PATH, or pyenv's), else None."""
    found = [shutil.which(f"python3.{minor}") for minor in (9, 8, 7)]
    found += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.[6-9].*/bin/python"))
    for exe in filter(None, found):
        r = subprocess.run([exe, "-c", "import sys; print(sys.version_info < (3, 10))"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 and r.stdout.strip() == "True":
            return exe
    return None


def test_setup_py_run_by_an_old_python_stops_with_the_message(tmp_path):
    exe = old_python()
    if exe is None:
        pytest.skip("no Python older than 3.10 runs on this machine to try setup.py with")
    r = subprocess.run([exe, str(SCRIPT), "--venv", str(tmp_path / "venv"), "lab"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "needs Python 3.10 or newer" in r.stderr and not (tmp_path / "venv").exists()


def test_an_intel_mac_is_stopped_before_anything_is_installed(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(S.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv("TORCH_SPEC", raising=False)
    assert S.setup(tmp_path / "venv", dry_run=True) == 1
    out = capsys.readouterr()
    assert "no wheel for an Intel Mac" in out.err and "2.2.2" in out.err and "Binder or Colab" in out.err
    assert "+ " not in out.out     # no command was even printed


def test_apple_silicon_and_a_chosen_torch_pass():
    assert S.machine_problem("darwin", "arm64", {}) is None
    assert S.machine_problem("linux", "x86_64", {}) is None
    assert S.machine_problem("darwin", "x86_64", {"TORCH_SPEC": "torch==2.2.2 numpy<2"}) is None


# -- Windows paths and the commands --------------------------------------------------------------

def test_windows_venv_layout():
    assert S.venv_python(Path("v"), "win32") == Path("v/Scripts/python.exe")
    assert S.venv_python(Path("v"), "linux") == Path("v/bin/python")


def test_lab_opens_lesson_00_and_allows_root_only_as_root():
    cmd = S.lab_command(Path("v"), 8890, ["--no-browser"], as_root=False)
    assert cmd[1:4] == ["-m", "jupyterlab", "--port=8890"] and cmd[-1] == "--no-browser"
    assert "--LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb" in cmd and "--allow-root" not in cmd
    assert "--allow-root" in S.lab_command(Path("v"), 8888, as_root=True)


def test_nbtest_runs_every_notebook_offline_with_canary_keys():
    cmd, env = S.nbtest_command(Path("v"), "smoke", 900)
    want = sorted(p.relative_to(ROOT).as_posix() for d in ("lessons", "solutions") for p in (ROOT / d).glob("*.ipynb"))
    assert cmd[-len(want) - 1:] == want + ["instructors/class_regrade.ipynb"]
    assert env["HF_HUB_OFFLINE"] == "1" and env["LOOPLAB_SCALE"] == "smoke" and env["LOOPLAB_SIGNOFF"] == "auto"
    assert env["ANTHROPIC_API_KEY"].startswith("sk-ant-looplab-canary") and "--nbval-cell-timeout=900" in cmd


def test_test_sets_up_then_runs_unit_then_notebooks(tmp_path):
    r = dry_run(tmp_path, "test")
    steps = [line for line in r.stdout.splitlines() if line.startswith("+ ")]
    assert r.returncode == 0, r.stderr
    assert "-m venv" in steps[0] and steps[-2].endswith("-m pytest tests") and "--nbval-lax" in steps[-1]


# -- one home: the Makefile calls this file ------------------------------------------------------

@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_the_makefile_calls_setup_py(tmp_path):
    r = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "lab", "unit", "nbtest"],
                       capture_output=True, text=True, timeout=60)
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert r.returncode == 0, r.stderr
    assert len(lines) == 4 and all("utils/looplab/setup.py" in line for line in lines), r.stdout
    assert "pip install" not in r.stdout


# -- an offline classroom: the wheelhouse ----------------------------------------------------------

def test_wheelhouse_downloads_everything_setup_installs(tmp_path):
    r = dry_run(tmp_path, "wheelhouse", "--dest", str(tmp_path / "wh"))
    assert r.returncode == 0, r.stderr
    downloads = [line for line in r.stdout.splitlines() if line.startswith("+ ")]
    assert all(f"pip download --dest {tmp_path / 'wh'}" in line for line in downloads), downloads
    assert f"--no-deps {S.TORCH} --index-url {S.CPU_INDEX}" in downloads[0]      # setup's torch choice
    assert "'.[llm,dev]'" in downloads[1] and downloads[1].endswith(S.TORCH)       # the course, torch pinned
    assert all(w in downloads[2] for w in S.WEIGHTS) and "setuptools" in downloads[3]


def test_setup_installs_from_a_complete_wheelhouse_with_no_index(tmp_path):
    wh = tmp_path / "wh"
    wh.mkdir()
    env = {**os.environ, "PATH": str(tmp_path), "LOOPLAB_WHEELHOUSE": str(wh)}
    cmd = [sys.executable, str(SCRIPT), "--venv", str(tmp_path / "venv"), "--dry-run", "setup"]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "installing from the package index" in r.stdout and "--no-index" not in r.stdout  # incomplete: unused
    (wh / S.WHEELHOUSE_MARK).write_text("Complete\n", encoding="utf-8")
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    pips = [line for line in r.stdout.splitlines() if " -m pip install" in line]
    assert r.returncode == 0 and len(pips) == 3, r.stdout + r.stderr
    assert all(f"--no-index --find-links {wh}" in line for line in pips) and "download.pytorch.org" not in r.stdout
