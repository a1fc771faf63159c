"""Human sign-off: nothing runs until someone (or an explicit, printed policy) approves it.

* :class:`AutoApprove` -- for non-interactive runs (nbval, the headless course run). It prints
  its policy when created and tags every record ``signoff="auto-approve policy"``: never silent.
* :class:`Scripted` -- a fixed list of decisions (tests, demos).
* :class:`SignOffPanel` -- ipywidgets Approve / Reject / Edit buttons for one proposal, used by
  :meth:`looplab.research.loop.ResearchLoop.interactive`. Its plain-text form is the proposal
  card, so a run with no live frontend still shows what was proposed (once, not twice).

:func:`default_signoff` returns a :class:`SignOffPolicy` either way (``policy.interactive`` tells which): :class:`Widgets` (a human decides with the
panel) in a live Jupyter frontend, else the printed :class:`AutoApprove`, saying why;
``LOOPLAB_SIGNOFF=widgets|auto`` overrides the guess. A live frontend is told apart from a headless
runner on any OS by what the kernel itself sees (:func:`frontend`): a client that lets the cell ask
for input (``allow_stdin``: JupyterLab, Notebook 7, VS Code and Colab do; nbval, nbclient, papermill,
nbconvert and ``looplab.course`` do not), then, on Linux, the kernel's parent process.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Callable

ACTIONS = ("approve", "reject", "edit")


@dataclass
class Decision:
    action: str              # approve | reject | edit
    by: str                  # who decided: "human" or the policy's name
    changes: dict | None = None  # for "edit": the human's replacement changes
    note: str = ""

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"action={self.action!r} must be one of {ACTIONS}")


class SignOffPolicy:
    """Who decides each proposal: ``decide(proposal) -> Decision``; ``interactive`` if by buttons."""

    name = "policy"
    interactive = False
    why = ""

    def decide(self, proposal) -> Decision:
        raise NotImplementedError


class Widgets(SignOffPolicy):
    """A human decides every proposal with :class:`SignOffPanel` buttons (``loop.interactive``)."""

    name = "human (widgets)"
    interactive = True

    def __init__(self, why: str = "a live Jupyter frontend"):
        self.why = why

    def decide(self, proposal) -> Decision:
        raise RuntimeError("this policy waits for button clicks: run loop.interactive(proposer, n), "
                           "which shows a sign-off panel per proposal, instead of loop.run().")

    def __repr__(self) -> str:
        return f"Widgets({self.why!r})"


class AutoApprove(SignOffPolicy):
    """Approve every valid proposal, and say so once, loudly, when created."""

    name = "auto-approve policy"

    def __init__(self, why: str = "non-interactive run: no human at the keyboard", announce: bool = True):
        self.why = why
        if announce:
            print(f"SIGN-OFF POLICY: auto-approve every valid proposal ({why}). "
                  "Proposals outside the search space are still rejected. "
                  "In JupyterLab, set LOOPLAB_SIGNOFF=widgets to approve each one yourself.")

    def decide(self, proposal) -> Decision:
        return Decision("approve", by=self.name, note=self.why)


class Scripted(SignOffPolicy):
    """Decisions from a list, in order (then approve). For tests and demonstrations."""

    name = "scripted"

    def __init__(self, decisions: list[Decision]):
        self.decisions = list(decisions)

    def decide(self, proposal) -> Decision:
        return self.decisions.pop(0) if self.decisions else Decision("approve", by=self.name)


PROC = "/proc"   # Linux only; absent on macOS and Windows
HEADLESS_PARENTS = ("pytest", "nbconvert", "papermill", "looplab.course", "nbclient")


def _parent_cmdline() -> str:
    try:
        with open(f"{PROC}/{os.getppid()}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def frontend() -> tuple[bool, str]:
    """``(live, why)``: is this kernel driven by a live frontend with a person at it, and how we know."""
    if "ipykernel" not in sys.modules:
        return False, "not a Jupyter kernel (plain Python or a terminal)"
    from ..colab import on_colab
    if on_colab():
        return True, "a Google Colab kernel"
    from IPython import get_ipython
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return False, "IPython without a Jupyter kernel"
    if not getattr(kernel, "_allow_stdin", True):
        return False, ("headless run: the client executing this cell accepts no input "
                       "(nbval, nbclient, papermill and nbconvert run cells with allow_stdin=False)")
    parent = _parent_cmdline().lower()
    for marker in HEADLESS_PARENTS:
        if marker in parent:
            return False, f"headless run: the kernel was started by {marker}"
    return True, "a Jupyter frontend that accepts input (JupyterLab, Notebook 7, VS Code, Colab)"


def live_frontend() -> bool:
    """Is this a kernel driven by a live Jupyter frontend (not nbval / nbclient)? See :func:`frontend`."""
    return frontend()[0]


def default_signoff(announce: bool = True) -> SignOffPolicy:
    """:class:`Widgets` in a live frontend, else an announced :class:`AutoApprove` (``LOOPLAB_SIGNOFF`` overrides)."""
    forced = os.environ.get("LOOPLAB_SIGNOFF", "").strip().lower()
    if forced and forced not in ("widgets", "auto"):
        raise ValueError(f"LOOPLAB_SIGNOFF={forced!r} must be 'widgets' or 'auto'")
    if forced:
        why = f"LOOPLAB_SIGNOFF={forced} is set"
        return Widgets(why) if forced == "widgets" else AutoApprove(why, announce=announce)
    live, why = frontend()
    return Widgets(why) if live else AutoApprove(why, announce=announce)


def proposal_text(proposal, exp: int | None = None) -> str:
    """The plain-text card a human signs off on."""
    head = f"Proposal for experiment {exp}" if exp is not None else "Proposal"
    lines = [f"{head}  (from: {proposal.proposer})",
             f"  changes  : {json.dumps(proposal.changes)}",
             f"  rationale: {proposal.rationale or '(none given)'}"]
    if proposal.llm:
        lines.append(f"  LLM      : {proposal.llm.get('model')}, {proposal.llm.get('prompt_tokens')} prompt + "
                     f"{proposal.llm.get('completion_tokens')} completion tokens")
    return "\n".join(lines)


class SignOffPanel:
    """Approve / Reject / Edit buttons for one proposal; calls ``on_decision(Decision)`` once."""

    def __init__(self, proposal, on_decision: Callable[[Decision], None], exp: int | None = None,
                 validate: Callable[[dict], str | None] | None = None):
        import ipywidgets as w
        self.proposal, self.on_decision, self.validate = proposal, on_decision, validate
        self.text = proposal_text(proposal, exp)
        self.card = w.HTML("<pre style='margin:0'>" + _escape(self.text) + "</pre>")
        self.approve = w.Button(description="Approve", button_style="success", icon="check")
        self.reject = w.Button(description="Reject", button_style="danger", icon="times")
        self.edit = w.Button(description="Edit", button_style="warning", icon="pencil")
        self.editor = w.Textarea(value=json.dumps(proposal.changes), layout=w.Layout(width="60%"))
        self.submit = w.Button(description="Run edited")
        self.msg = w.HTML("")
        self.edit_box = w.HBox([self.editor, self.submit])
        self.edit_box.layout.display = "none"
        self.approve.on_click(lambda _: self._done(Decision("approve", by="human")))
        self.reject.on_click(lambda _: self._done(Decision("reject", by="human", note="rejected by human")))
        self.edit.on_click(self._open_editor)
        self.submit.on_click(self._submit_edit)
        self.widget = w.VBox([self.card, w.HBox([self.approve, self.reject, self.edit]), self.edit_box, self.msg])
        self.decided = False

    def _open_editor(self, _):
        self.edit_box.layout.display = ""

    def _submit_edit(self, _):
        try:
            changes = json.loads(self.editor.value)
        except json.JSONDecodeError as e:
            self.msg.value = f"<b>Not JSON:</b> {_escape(str(e))}"
            return
        problem = self.validate(changes) if self.validate else None
        if problem:
            self.msg.value = f"<b>Outside the search space:</b> {_escape(problem)}"
            return
        self._done(Decision("edit", by="human", changes=changes, note="edited by human"))

    def _done(self, decision: Decision):
        if self.decided:
            return
        self.decided = True
        for b in (self.approve, self.reject, self.edit, self.submit):
            b.disabled = True
        self.msg.value = f"<b>{decision.action}</b> by {decision.by}"
        self.on_decision(decision)

    def show(self):
        """Display the panel once: a widget frontend draws the buttons (with the card), anything
        else (nbval, a plain console, exported HTML without widget state) shows the card as text."""
        from IPython.display import display
        display(self.mimebundle(), raw=True)

    def mimebundle(self) -> dict:
        """The panel's display data: the widget view, with the proposal card as its plain text."""
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/plain"] = self.text
        return bundle


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
