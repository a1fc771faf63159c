"""Sign-off on any OS: a live kernel is recognised by what the kernel sees (a client that accepts
input), a headless one by a positive signal; there may be no /proc at all (macOS, Windows)."""
import sys
import types

import pytest

import looplab.research.signoff as so
from looplab.research.signoff import AutoApprove, SignOffPolicy, Widgets, default_signoff


def _kernel(monkeypatch, tmp_path, allow_stdin, proc=False, parent=b""):
    """A kernel as ipykernel presents it to the cell: ``get_ipython().kernel._allow_stdin``."""
    import IPython
    import ipykernel  # noqa: F401 -- a kernel process has it imported
    shell = types.SimpleNamespace(kernel=types.SimpleNamespace(_allow_stdin=allow_stdin))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("LOOPLAB_SIGNOFF", raising=False)
    root = tmp_path / "proc"
    if proc:
        import os
        (root / str(os.getppid())).mkdir(parents=True)
        (root / str(os.getppid()) / "cmdline").write_bytes(parent)
    monkeypatch.setattr(so, "PROC", str(root))   # proc=False: no /proc, as on macOS and Windows


def test_no_proc_live_frontend_gets_the_widgets(monkeypatch, tmp_path):
    _kernel(monkeypatch, tmp_path, allow_stdin=True)
    assert so._parent_cmdline() == ""
    live, why = so.frontend()
    assert live and "accepts input" in why
    pol = default_signoff()
    assert isinstance(pol, Widgets) and pol.interactive
    with pytest.raises(RuntimeError, match="loop.interactive"):
        pol.decide(None)


def test_no_proc_headless_runner_auto_approves_and_says_why(monkeypatch, tmp_path, capsys):
    _kernel(monkeypatch, tmp_path, allow_stdin=False)
    pol = default_signoff()
    assert isinstance(pol, AutoApprove) and not pol.interactive
    out = capsys.readouterr().out
    assert "SIGN-OFF POLICY: auto-approve" in out and "allow_stdin=False" in out


def test_linux_parent_named_like_a_runner_is_headless(monkeypatch, tmp_path):
    _kernel(monkeypatch, tmp_path, allow_stdin=True, proc=True, parent=b"python\0-m\0papermill\0in.ipynb")
    assert so.frontend() == (False, "headless run: the kernel was started by papermill")
    _kernel(monkeypatch, tmp_path / "b", allow_stdin=True, proc=True, parent=b"/usr/bin/python3\0-m\0some_server")
    assert so.live_frontend()   # any other parent: the kernel's own signal decides, not the parent's name


def test_colab_is_live(monkeypatch, tmp_path):
    _kernel(monkeypatch, tmp_path, allow_stdin=False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert so.frontend() == (True, "a Google Colab kernel")


def test_outside_a_kernel_and_forced(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delenv("LOOPLAB_SIGNOFF", raising=False)
    assert so.frontend()[0] is False
    monkeypatch.setenv("LOOPLAB_SIGNOFF", "auto")
    pol = default_signoff()
    assert isinstance(pol, AutoApprove) and "LOOPLAB_SIGNOFF=auto is set" in capsys.readouterr().out
    monkeypatch.setenv("LOOPLAB_SIGNOFF", "widgets")
    assert isinstance(default_signoff(), Widgets)
    monkeypatch.setenv("LOOPLAB_SIGNOFF", "buttons")
    with pytest.raises(ValueError, match="LOOPLAB_SIGNOFF='buttons' must be 'widgets' or 'auto'"):
        default_signoff()


def test_default_signoff_returns_one_type(monkeypatch, tmp_path, capsys):
    for allow in (True, False):
        _kernel(monkeypatch, tmp_path / str(allow), allow_stdin=allow)
        pol = default_signoff(announce=False)
        assert isinstance(pol, SignOffPolicy) and pol.why and isinstance(pol.interactive, bool)
