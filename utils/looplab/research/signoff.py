"""Human sign-off: nothing runs until someone (or an explicit, printed policy) approves it.

* :class:`AutoApprove` -- for non-interactive runs (nbval, the headless course run). It prints
  its policy when created and tags every record ``signoff="auto-approve policy"``: never silent.
* :class:`Scripted` -- a fixed list of decisions (tests, demos).
* :class:`SignOffPanel` -- ipywidgets Approve / Reject / Edit buttons for one proposal, used by
  :meth:`looplab.research.loop.ResearchLoop.interactive`. Its plain-text form is the proposal
  card, so a run with no live frontend still shows what was proposed (once, not twice).

:func:`default_signoff` picks the panel in a live Jupyter frontend and the printed auto-approve
policy elsewhere; ``LOOPLAB_SIGNOFF=widgets|auto`` overrides the guess.
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


class AutoApprove:
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


class Scripted:
    """Decisions from a list, in order (then approve). For tests and demonstrations."""

    name = "scripted"

    def __init__(self, decisions: list[Decision]):
        self.decisions = list(decisions)

    def decide(self, proposal) -> Decision:
        return self.decisions.pop(0) if self.decisions else Decision("approve", by=self.name)


def _parent_cmdline() -> str:
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def live_frontend() -> bool:
    """Best guess: is this a kernel driven by a live Jupyter frontend (not nbval / nbconvert)?"""
    if "ipykernel" not in sys.modules:
        return False
    parent = _parent_cmdline().lower()
    if any(s in parent for s in ("pytest", "nbconvert", "papermill", "looplab.course", "nbclient")):
        return False
    return any(s in parent for s in ("jupyter-lab", "jupyter-notebook", "jupyter-server", "jupyter_server",
                                     "jupyterlab", "notebook", "voila", "vscode"))


def default_signoff(announce: bool = True):
    """``"widgets"`` in a live frontend, else an :class:`AutoApprove` (``LOOPLAB_SIGNOFF`` overrides)."""
    forced = os.environ.get("LOOPLAB_SIGNOFF", "").strip().lower()
    if forced and forced not in ("widgets", "auto"):
        raise ValueError(f"LOOPLAB_SIGNOFF={forced!r} must be 'widgets' or 'auto'")
    if forced == "widgets" or (not forced and live_frontend()):
        return "widgets"
    why = "LOOPLAB_SIGNOFF=auto" if forced else "non-interactive run (no live Jupyter frontend detected)"
    return AutoApprove(why, announce=announce)


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
