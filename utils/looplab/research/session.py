"""Interactive sign-off: one proposal at a time on screen, with Approve / Reject / Edit buttons.

:meth:`looplab.research.loop.ResearchLoop.interactive` returns a :class:`Session`: each click
runs (or rejects) one proposal through the loop and shows the next, until the budget is decided.
Non-blocking, so a notebook cell returns at once.
"""
from __future__ import annotations

from .proposal import Proposal, Proposer, check
from .signoff import Decision, SignOffPanel


class Session:
    """The state of one interactive sign-off session (see :meth:`ResearchLoop.interactive`).

    ``loop`` is the :class:`~looplab.research.loop.ResearchLoop` it drives (not imported here: the
    loop imports this module when it opens a session, never the reverse)."""

    def __init__(self, loop, proposer: Proposer, experiments: int):
        import ipywidgets as w
        from IPython.display import display
        self.loop, self.proposer, self.experiments = loop, proposer, experiments
        self.out, self.panel = w.Output(), None
        display(self.out)

    @property
    def done(self) -> bool:
        return self.loop.state(self.proposer.name)["slots_done"] >= self.experiments

    def _validate(self, changes) -> str | None:
        st = self.loop.state(self.proposer.name)
        q = check(self.loop.space, self.proposer.name, changes, st["incumbent"], self.loop.records(self.proposer.name))
        return None if q.valid else q.reason

    def next(self) -> None:
        """Propose and show the next proposal (invalid ones are logged as rejected, then retried)."""
        with self.out:
            while not self.done:
                p, slot, attempt = self.loop.propose(self.proposer)
                if p.valid:
                    self.panel = SignOffPanel(p, lambda d: self._decided(p, slot, attempt, d),
                                              exp=self.loop._next_exp(), validate=self._validate)
                    self.panel.show()
                    return
                self.loop.execute(p, slot, attempt, Decision("reject", by="validator", note=p.reason))
            self.panel = None
            print(f"[{self.proposer.name}] all {self.experiments} experiments decided: run the next cells.")

    def _decided(self, p: Proposal, slot: int, attempt: int, decision: Decision) -> None:
        with self.out:
            self.loop.execute(p, slot, attempt, decision)
        self.next()
