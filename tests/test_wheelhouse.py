"""An offline classroom: setup installs the whole course from a wheelhouse, with no network.

`make test` builds the wheelhouse (`python utils/looplab/setup.py wheelhouse --dest
build/wheelhouse-test`) before it enters its network namespace; this test then runs setup into a
fresh virtual environment from that folder inside the namespace, as a laptop in a room without
Wi-Fi would, and checks that the course, torch, the notebook tools and the offline weights import.
"""
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from looplab import setup as S

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = Path(os.environ.get("LOOPLAB_TEST_WHEELHOUSE", ROOT / "build" / "wheelhouse-test"))


def _network() -> bool:
    try:
        with socket.create_connection(("pypi.org", 443), timeout=3):
            return True
    except OSError:
        return False


def _netless(cmd):
    """``cmd`` with no network: as it is inside make test's namespace, else in a fresh one."""
    if not _network():
        return cmd
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn", *cmd]
    pytest.skip("the network is reachable and no network namespace can be made here (unshare -rn): "
                "run this inside make test, which enters one")


def test_a_folder_without_the_mark_is_not_used(tmp_path):
    (tmp_path / "torch-2.13.0-cp311-none-any.whl").write_bytes(b"")
    assert S.pip_source({"LOOPLAB_WHEELHOUSE": str(tmp_path)}) == ([], "the package index")
    (tmp_path / S.WHEELHOUSE_MARK).write_text("Complete\n", encoding="utf-8")
    args, why = S.pip_source({"LOOPLAB_WHEELHOUSE": str(tmp_path)})
    assert args == ["--no-index", "--find-links", str(tmp_path)] and "no network" in why


@pytest.mark.slow
def test_setup_installs_the_course_from_the_wheelhouse_with_no_network(tmp_path):
    if not (WHEELHOUSE / S.WHEELHOUSE_MARK).is_file():
        pytest.skip(f"no complete wheelhouse at {WHEELHOUSE}: make test builds it before its network "
                    "namespace (python utils/looplab/setup.py wheelhouse --dest build/wheelhouse-test)")
    venv = tmp_path / "venv"
    env = {**os.environ, "LOOPLAB_WHEELHOUSE": str(WHEELHOUSE), "PIP_NO_CACHE_DIR": "1"}
    for k in ("TORCH_INDEX", "TORCH_SPEC", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.pop(k, None)   # only the wheelhouse may supply a package
    env["PIP_CONFIG_FILE"] = os.devnull
    r = subprocess.run(_netless([sys.executable, str(ROOT / "utils" / "looplab" / "setup.py"), "--venv", str(venv),
                                 "setup"]), cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"installing from the wheelhouse {WHEELHOUSE}" in r.stdout
    probe = ("import torch, transformers, jupyterlab, nbval, looplab; "
             "from looplab.course.envcheck import offline_llm_file, kjv_database, embedding_model_dir; "
             "assert offline_llm_file() and kjv_database() and embedding_model_dir(); "
             "print(torch.__version__, looplab.__file__)")
    r = subprocess.run([str(S.venv_python(venv)), "-c", probe], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert str(ROOT / "utils" / "looplab") in r.stdout   # the clone's library, installed editable
