"""A proposal and the one interface every proposer has; the checks a proposal goes through.

:class:`Proposal` is what a proposer returns; :func:`check` validates changes against the search
space (and against configs already tried or declined), so an invalid proposal carries its reason;
:class:`Proposer` is the interface (``propose`` / ``propose_batch``). The proposers themselves are
in :mod:`looplab.research.proposers` (random, hill-climb, TPE; it re-exports these names) and
:mod:`looplab.research.llm_proposer` (the LLM).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .ledger import BASELINE, PENDING, REJECTED, SLOT_DONE_STATUSES
from .noise import NoiseFloor
from .spec import ProposalError, SearchSpace
from ..checks import whole

MAX_RATIONALE = 200
MAX_RAW = 2000


@dataclass
class Proposal:
    """One proposed experiment: the requested changes, the checked config (None if rejected)."""

    proposer: str
    changes: Any
    config: dict | None
    rationale: str = ""
    valid: bool = True
    reason: str = ""
    name: str = ""
    llm: dict | None = None
    raw: str | None = None
    edited_by_human: bool = False

    def summary(self) -> str:
        ch = ", ".join(f"{k}={v}" for k, v in self.changes.items()) if isinstance(self.changes, dict) else repr(self.changes)
        status = "" if self.valid else f"  [REJECTED: {self.reason}]"
        return f"[{self.proposer}] {ch or '(no change)'} -- {self.rationale}{status}"


def clean_text(text: Any, limit: int = MAX_RATIONALE) -> str:
    """Untrusted text made inert for display and storage: one line, printable, capped."""
    s = str(text) if text is not None else ""
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def clean_name(text: Any) -> str:
    """A run name: letters, digits, ``-_.`` and spaces only, at most 40 characters."""
    return re.sub(r"[^A-Za-z0-9 _.\-]", "", str(text or ""))[:40].strip()


def tried_configs(history: list[dict]) -> list[dict]:
    """Configs already run (baseline, kept or discarded) or in flight in a batch, in ledger order."""
    return [r["config"] for r in history
            if r.get("status") in (BASELINE, *SLOT_DONE_STATUSES, PENDING) and r.get("config")]


def pending(proposals: list["Proposal"]) -> list[dict]:
    """Stand-in history records for a batch's valid proposals, so later ones in the batch differ."""
    return [{"status": PENDING, "proposer": p.proposer, "config": p.config} for p in proposals if p.valid]


def declined_configs(history: list[dict]) -> list[dict]:
    """Valid configs that someone turned down at sign-off (rejected records that carry a config)."""
    return [r["config"] for r in history if r.get("status") == REJECTED and r.get("config")]


def untried_moves(space: SearchSpace, history: list[dict], incumbent: Mapping) -> list[dict]:
    """One-step moves from ``incumbent`` that were neither run nor declined at sign-off."""
    skip = tried_configs(history) + declined_configs(history)
    return [m for m in space.moves(incumbent) if space.validate(m, incumbent) not in skip]


def batch_size(n) -> int:
    """``n`` if it is a valid batch size (a whole number >= 1), else a ValueError saying so."""
    return whole("batch size n", n, 1)


def check(space: SearchSpace, proposer: str, changes: Any, incumbent: Mapping, history: list[dict],
          rationale: Any = "", name: Any = "", **extra) -> Proposal:
    """Validate ``changes`` against the space (relative to ``incumbent``) into a :class:`Proposal`."""
    rationale, name = clean_text(rationale), clean_name(name)
    try:
        config = space.validate(changes, incumbent)
        if config == dict(incumbent):
            raise ProposalError("no change: the proposal equals the current best config")
        if config in tried_configs(history):
            raise ProposalError("already run: this exact config is in the ledger")
        if config in declined_configs(history):
            raise ProposalError("declined at sign-off: this exact config was rejected earlier; propose another")
    except ProposalError as e:
        return Proposal(proposer, changes if isinstance(changes, dict) else {"_raw": clean_text(changes, 80)},
                        None, rationale, valid=False, reason=clean_text(e, 300), name=name, **extra)
    return Proposal(proposer, space.diff(config, incumbent), config, rationale, name=name, **extra)


class Proposer:
    """Base class. Subclasses implement :meth:`propose`."""

    name = "proposer"

    def propose(self, space: SearchSpace, history: list[dict], incumbent: Mapping, slot: int,
                noise: NoiseFloor | None = None) -> Proposal:  # pragma: no cover - abstract
        raise NotImplementedError

    def propose_batch(self, space: SearchSpace, history: list[dict], incumbent: Mapping, slot: int, n: int,
                      noise: NoiseFloor | None = None) -> list[Proposal]:
        """``n`` proposals for slots ``slot .. slot+n-1``, to run at once, all from ``incumbent``.

        The default asks :meth:`propose` once per slot, showing it the batch's earlier valid
        proposals as in-flight records (:data:`PENDING`), so no two proposals of a batch are the
        same config. Random search is thus ``n`` draws; TPE and CMA-ES override this with their
        own batch mechanisms.
        """
        out: list[Proposal] = []
        for i in range(batch_size(n)):
            out.append(self.propose(space, list(history) + pending(out), incumbent, slot + i, noise))
        return out


def round3(value, param):
    """Floats to 3 significant figures (readable ledgers), kept inside the bounds."""
    if param.kind != "float":
        return value
    return min(max(float(f"{value:.3g}"), param.low), param.high)
