"""Proposers: random search, Optuna's TPE and an LLM, behind one interface.

``proposer.propose(space, history, incumbent, slot, noise) -> Proposal``. ``history`` is the
ledger so far (records of this proposer and the baseline), ``incumbent`` the best config kept so
far, ``slot`` the experiment number. Every proposer is *stateless* given the history -- it rebuilds
what it needs from the ledger -- so a loop resumed from its ledger proposes exactly as it would
have without the interruption.

Whatever a proposer returns goes through :meth:`SearchSpace.validate`; an invalid proposal is
returned with ``valid=False`` and the reason, and the loop logs it as rejected without running it.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .ledger import BASELINE, PENDING, REJECTED, RUN_STATUSES, SLOT_DONE_STATUSES
from .llm import Backend, LLMError, LLMRequest
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


class RandomProposer(Proposer):
    """Random search: a fresh uniform (log-uniform) config each time, seeded by (seed, slot)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def propose(self, space, history, incumbent, slot, noise=None):
        rng = random.Random(self.seed * 1_000_003 + slot)
        for _ in range(50):
            cfg = space.sample(rng)
            p = check(space, self.name, space.diff(cfg, incumbent), incumbent, history, "random draw")
            if p.valid:
                return p
        return p


class HillClimbProposer(Proposer):
    """A naive hill-climber: one random single-field move from the current best config.

    This is the shape of a simple autoresearch loop (edit the best so far a little, keep any
    gain). The move is drawn from :func:`untried_moves` (not run, not declined at sign-off),
    seeded by (seed, slot); with nothing left to try the proposal is invalid and says so.
    """

    name = "hill-climb"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def propose(self, space, history, incumbent, slot, noise=None):
        rng = random.Random(self.seed * 1_000_003 + slot)
        moves = untried_moves(space, history, incumbent)
        if not moves:
            return check(space, self.name, {}, incumbent, history, "no untried one-step move left")
        return check(space, self.name, rng.choice(moves), incumbent, history, "one step from the best so far")


class TPEProposer(Proposer):
    """Optuna's Tree-structured Parzen Estimator, rebuilt from the ledger at every call.

    Every finished run of this proposer (and the baseline) is added to a fresh study as a
    completed trial, then the study is asked for the next config.
    """

    name = "tpe"

    def __init__(self, seed: int = 0, n_startup_trials: int = 3):
        self.seed, self.n_startup_trials = seed, n_startup_trials

    @staticmethod
    def _distribution(p):
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
        if p.kind == "choice":
            return CategoricalDistribution(list(p.choices))
        if p.kind == "int":
            return IntDistribution(int(p.low), int(p.high), log=p.log)
        return FloatDistribution(p.low, p.high, log=p.log)

    def propose(self, space, history, incumbent, slot, noise=None):
        study, dists = self._study(space, history, slot)
        return self._ask(study, dists, space, history, incumbent, 1)[0]

    def propose_batch(self, space, history, incumbent, slot, n, noise=None):
        """``n`` trials asked of one study with Optuna's constant liar (its mechanism for parallel
        workers: each running trial counts as a bad result, so the next ask looks elsewhere)."""
        batch_size(n)
        study, dists = self._study(space, history, slot, constant_liar=True)
        return self._ask(study, dists, space, history, incumbent, n)

    def _study(self, space, history, slot, constant_liar=False):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed * 1_000_003 + slot, constant_liar=constant_liar,
                                             n_startup_trials=self.n_startup_trials)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        dists = {p.name: self._distribution(p) for p in space.params}
        for r in history:
            if r.get("status") in (BASELINE, *RUN_STATUSES) and r.get("val_bpb") is not None:
                study.add_trial(optuna.trial.create_trial(
                    params={k: r["config"][k] for k in dists}, distributions=dists, value=r["val_bpb"]))
        return study, dists

    def _ask(self, study, dists, space, history, incumbent, n):
        import optuna
        out, hist, finished = [], list(history), len(study.trials)
        for _ in range(n):
            p = None
            for _ in range(20):
                trial = study.ask(dists)
                cfg = {k: _round3(v, space[k]) for k, v in trial.params.items()}
                p = check(space, self.name, space.diff(cfg, incumbent), incumbent, hist,
                          f"TPE suggestion after {finished} finished trials")
                if p.valid:
                    break                     # the trial stays RUNNING: the liar counts it
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            out.append(p)
            hist += pending([p])
        return out


def _round3(value, param):
    """Floats to 3 significant figures (readable ledgers), kept inside the bounds."""
    if param.kind != "float":
        return value
    return min(max(float(f"{value:.3g}"), param.low), param.high)


SYSTEM_PROMPT = (
    "You are a careful ML research assistant. You tune a tiny byte-level language model by "
    "proposing ONE experiment at a time. You never write code. Reply with a single JSON object "
    "and nothing else."
)


def ledger_table(history: list[dict], space: SearchSpace, max_rows: int = 12) -> str:
    """The ledger so far as a compact text table for a prompt.

    Only numbers and field names the loop itself wrote go in: never a previous rationale or name,
    so text injected into one reply cannot ride along into the next prompt.
    """
    rows = [r for r in history if r.get("status") in (BASELINE, *SLOT_DONE_STATUSES, REJECTED)]
    lines = ["exp | change vs baseline | val_bpb | decision"]
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
               "mode": reply.meta.get("mode")}
        raw = reply.text[:MAX_RAW]
        try:
            changes, rationale, rname = parse_reply(reply.text)
        except ProposalError as e:
            return Proposal(who, {}, None, "", valid=False, reason=clean_text(e, 300), llm=llm, raw=raw)
        return check(space, who, changes, incumbent, history, tag + str(rationale), rname, llm=llm, raw=raw)
