"""The LLM proposer: a prompt built from the ledger's numbers, a reply parsed and checked.

:class:`LLMProposer` asks a :class:`~looplab.research.llm_base.Backend` for one experiment: the
prompt (:func:`build_prompt`) holds the search space, the budget and the ledger so far as a table
of numbers only (:func:`ledger_table`: never a previous rationale, so injected text cannot ride
along); the reply is parsed (:func:`parse_reply`) and checked like any proposal. A constrained
backend chooses among valid proposals by likelihood instead. :mod:`looplab.research.proposers`
re-exports every name here.
"""
from __future__ import annotations

import json
from typing import Mapping

from .ledger import BASELINE, REJECTED, SLOT_DONE_STATUSES
from .llm_base import Backend, LLMError, LLMRequest
from .noise import NoiseFloor
from .proposal import (MAX_RAW, Proposal, Proposer, batch_size, check, clean_text, pending,
                       untried_moves)
from .spec import ProposalError, SearchSpace

SYSTEM_PROMPT = (
    "You are a careful ML research assistant. You tune a tiny byte-level language model by "
    "proposing ONE experiment at a time. You never write code. Reply with a single JSON object "
    "and nothing else."
)


def ledger_table(history: list[dict], space: SearchSpace, max_rows: int = 12) -> str:
    """The ledger so far as a compact text table for a prompt.

    Only numbers and field names the loop itself wrote go in: never a previous rationale or name,
    so text injected into one reply cannot ride along into the next prompt. The noise floor's
    seeds are one row (their mean); the last ``max_rows`` experiments follow.
    """
    base = [r["val_bpb"] for r in history if r.get("status") == BASELINE and isinstance(r.get("val_bpb"), (int, float))]
    rows = [r for r in history if r.get("status") in (*SLOT_DONE_STATUSES, REJECTED)]
    lines = ["exp | change vs baseline | val_bpb | decision"]
    if base:   # the seeds of the noise floor, as one row: a shorter prompt, and the same facts
        lines.append(f"- | (baseline, mean of {len(base)} seed{'s' * (len(base) != 1)}) | {sum(base) / len(base):.4f} | baseline")
    for r in rows[-max_rows:]:
        if r.get("status") == REJECTED:
            ch, bpb = "(invalid proposal)", "-"
        else:
            diff = space.diff(r["config"])
            ch = ", ".join(f"{k}={v}" for k, v in diff.items()) or "(baseline)"
            v = r.get("val_bpb")
            bpb = f"{v:.4f}" if isinstance(v, (int, float)) else "diverged"
        lines.append(f"{r.get('exp', '?')} | {ch} | {bpb} | {r.get('status')}")
    return "\n".join(lines)


def build_prompt(space: SearchSpace, history: list[dict], incumbent: Mapping,
                 noise: NoiseFloor | None, budget: str = "a fixed number of training steps",
                 k: float = 2.0, max_rows: int = 12) -> str:
    """The user prompt: task, search space, the current best config, the ledger, the format."""
    floor = (f"Seed-to-seed noise: sigma = {noise.sigma:.4f} bpb; a change only counts if it beats "
             f"the best by more than {k:g} sigma.\n") if noise else ""
    return (
        f"Task: lower the validation bits per byte (val_bpb, lower is better) of a tiny GPT trained "
        f"for {budget}.\n{floor}"
        f"Search space (stay inside these bounds):\n{space.describe()}\n"
        f"Current best config: {json.dumps(dict(incumbent))}\n"
        f"Experiments so far:\n{ledger_table(history, space, max_rows)}\n"
        'Propose one new experiment as JSON: {"params": {"<field>": <value>}, "rationale": "<one line>"}. '
        "Change one or two fields of the current best config."
    )


def parse_reply(text: str) -> tuple[dict, str, str]:
    """Pull ``(changes, rationale, name)`` out of an LLM reply; raise :class:`ProposalError`.

    Takes the JSON object that starts at the first ``{`` (code fences and chatter around it are
    ignored; a truncated object is rejected, never salvaged from its inner parts),
    shaped either ``{"params": {...}, "rationale": "..."}`` or flat ``{"lr": ..., "rationale": ...}``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ProposalError("empty reply")
    start = text.find("{")
    if start < 0:
        raise ProposalError("no JSON object found in the reply")
    try:  # the first '{' must open a complete object: a truncated reply is rejected, not salvaged
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as e:
        raise ProposalError(f"malformed or truncated JSON ({e.msg} at character {e.pos})") from None
    if isinstance(obj, dict):
        rationale, name = obj.get("rationale", ""), obj.get("name", "")
        if "params" in obj:
            changes = obj["params"]
            if not isinstance(changes, dict):
                raise ProposalError(f'"params" must be a JSON object, got {type(changes).__name__}')
        else:
            changes = {k: v for k, v in obj.items() if k not in ("rationale", "name")}
        return changes, rationale, name
    raise ProposalError("no JSON object found in the reply (malformed or truncated)")


class LLMProposer(Proposer):
    """Asks an LLM backend for one proposal per experiment, with a one-line rationale.

    For a ``constrained`` backend (the offline SmolLM2) the request carries the closed set of
    one-step moves from the current best config that have not been run or declined at sign-off
    yet, so its proposals are valid by construction; other backends write free JSON that is parsed and checked.
    """

    def __init__(self, backend: Backend, k: float = 2.0, budget: str = "a fixed number of training steps",
                 max_rows: int = 12, max_tokens: int = 200, name: str = "llm"):
        self.backend, self.k, self.budget = backend, k, budget
        self.max_rows, self.max_tokens, self.name = max_rows, max_tokens, name

    def request(self, space, history, incumbent, noise=None) -> LLMRequest:
        user = build_prompt(space, history, incumbent, noise, self.budget, self.k, self.max_rows)
        choices = None
        if self.backend.constrained:   # moves already run or declined at sign-off are not offered again
            choices = [json.dumps(m) for m in untried_moves(space, history, incumbent)]
        return LLMRequest(system=SYSTEM_PROMPT, user=user, max_tokens=self.max_tokens, choices=choices or None)

    def propose(self, space, history, incumbent, slot, noise=None):
        return self.answer(self.request(space, history, incumbent, noise), space, history, incumbent)

    def propose_batch(self, space, history, incumbent, slot, n, noise=None):
        """``n`` distinct proposals by ``n`` requests: each shows the batch's earlier proposals as
        already running, and a constrained backend is offered only moves not yet in flight. (One
        request for ``n`` proposals would need every backend to return a list; this works with all.)"""
        out: list[Proposal] = []
        for _ in range(batch_size(n)):
            hist = list(history) + pending(out)
            req = self.request(space, hist, incumbent, noise)
            flying = [p.changes for p in out if p.valid]
            if flying:
                req.user += "\nAlready running in this batch (propose a different one): " + json.dumps(flying)
            out.append(self.answer(req, space, hist, incumbent))
        return out

    def answer(self, req: LLMRequest, space, history, incumbent, tag: str = "", name: str | None = None) -> Proposal:
        """Send ``req`` to the backend and turn the reply into a checked :class:`Proposal`.

        ``tag`` prefixes the rationale; ``name`` is the proposer named in the proposal (default: this one's).
        """
        who = name or self.name
        try:
            reply = self.backend.complete(req)
        except LLMError as e:
            return Proposal(who, {}, None, "", valid=False, reason=clean_text(f"LLM error: {e}", 300))
        llm = {"backend": reply.backend, "model": reply.model, "prompt_tokens": reply.prompt_tokens,
               "completion_tokens": reply.completion_tokens, "cost_usd": reply.cost_usd,
               "wall_s": round(reply.wall_s, 3), "flops": reply.meta.get("flops"),
               "mode": reply.meta.get("mode"), "cached_prompt_tokens": reply.meta.get("cached_prompt_tokens")}
        raw = reply.text[:MAX_RAW]
        try:
            changes, rationale, rname = parse_reply(reply.text)
        except ProposalError as e:
            return Proposal(who, {}, None, "", valid=False, reason=clean_text(e, 300), llm=llm, raw=raw)
        return check(space, who, changes, incumbent, history, tag + str(rationale), rname, llm=llm, raw=raw)
