"""The repository's leak guard (conftest.py at the root) must catch a key printed by a notebook."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CANARY = "sk-looplab-canary-0123456789abcdef"


def _run_nbval(tmp_path, source):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, str(tmp_path / "probe.ipynb"))
    env = {**__import__("os").environ, "ANTHROPIC_API_KEY": CANARY}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           "--nbval-current-env", "probe.ipynb"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_a_printed_key_fails_the_notebook_run(tmp_path):
    r = _run_nbval(tmp_path, "import os\nprint(os.environ['ANTHROPIC_API_KEY'])")
    assert r.returncode != 0
    assert "API key's value appears" in r.stdout


def test_a_key_written_to_a_file_fails_the_run(tmp_path):
    r = _run_nbval(tmp_path, "import os\nopen('ledger.jsonl','w').write(os.environ['ANTHROPIC_API_KEY'])")
    assert r.returncode != 0
    assert "ledger.jsonl" in r.stdout


def test_reporting_a_key_as_set_passes(tmp_path):
    r = _run_nbval(tmp_path, "import os\nprint('key set:', bool(os.environ.get('ANTHROPIC_API_KEY')))")
    assert r.returncode == 0, r.stdout[-2000:]
