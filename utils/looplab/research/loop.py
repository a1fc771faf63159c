"""The research loop: propose -> sign off -> run -> keep or discard -> log, under a fixed budget.

:class:`ResearchLoop` ties together a search space, a run function (``run(config, seed) ->
metrics``, see :mod:`looplab.research.runner`), a ledger, a noise floor and a sign-off policy.
It is resumable: everything it needs (which experiments are done, the current best config) is
rebuilt from the ledger, so a loop killed mid-experiment and started again loses nothing and
runs nothing twice.

(About 340 lines, past the library's ~300: it is one class whose methods share one piece of
state -- the ledger -- and are read together: how a slot is spent (:meth:`ResearchLoop.state`),
the keep rule against the best at proposal time, rejection and failure, and the one read of the
sealed test. The interactive session, which only drives it, lives in
:mod:`looplab.research.session`.)
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

from .ledger import BASELINE, DISCARDED, FAILED, KEPT, REJECTED, SLOT_DONE_STATUSES, TEST, Ledger
from .noise import NoiseFloor, keep, noise_floor
from .proposal import Proposal, Proposer, check, clean_text
from .signoff import AutoApprove, Decision, default_signoff
from .spec import SearchSpace


class SealedError(RuntimeError):
    """The sealed test split was already read once."""


class ResearchLoop:
    """One ledger, one baseline noise floor, any number of proposers compared on equal budgets.

    ``run(config, seed)`` trains one config under the fixed budget and returns a dict of numbers
    with at least ``val_bpb`` (plus cost fields). A run function that also has
    ``run.run(config, seed) -> (metrics, model)`` (a :class:`~looplab.research.runner.Runner`)
    hands over the trained model too: the model of each proposer's best kept run is kept in
    memory for the sealed test, never logged. ``k`` sets the keep rule: a change is kept only if
    it beats the best so far by more than ``k`` noise-floor sigmas.

    The ledger is read once per step: :meth:`state`, :meth:`noise` and the records a proposer sees
    all come from that one read (``recs``); methods called without it read the ledger themselves.
    """

    def __init__(self, space: SearchSpace, run: Callable[[Mapping, int], dict], ledger: Ledger | str,
                 k: float = 2.0, seed: int = 0, signoff=None, max_attempts: int = 3,
                 budget: str = "a fixed number of training steps", verbose: bool = True):
        if k < 0:
            raise ValueError(f"k={k} must be >= 0 (0 keeps any gain, however small)")
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts} must be >= 1")
        self.space, self.run_fn = space, run
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.k, self.seed, self.max_attempts, self.budget, self.verbose = k, seed, max_attempts, budget, verbose
        self._signoff = signoff
        self.models: dict = {}  # proposer -> model of its best kept run (memory only)

    # -- sign-off -----------------------------------------------------------------------------
    @property
    def signoff(self):
        """The policy :meth:`run` uses (chosen, and printed, on first use)."""
        if self._signoff is None:
            self._signoff = default_signoff()
        if self._signoff.interactive:  # run() blocks, so it cannot wait for clicks
            self._signoff = AutoApprove("loop.run() cannot wait for button clicks; "
                                        "use loop.interactive(...) to sign off by hand")
        return self._signoff

    @signoff.setter
    def signoff(self, policy) -> None:
        self._signoff = policy

    # -- ledger views -------------------------------------------------------------------------
    def records(self, proposer: str | None = None, recs: list[dict] | None = None) -> list[dict]:
        """The ledger's records (``recs``: an earlier read of them); of ``proposer`` and the baseline."""
        recs = self.ledger.records() if recs is None else recs
        if proposer is None:
            return recs
        return [r for r in recs if r.get("proposer") in (proposer, BASELINE)]

    def _next_exp(self, recs: list[dict] | None = None) -> int:
        recs = self.ledger.records() if recs is None else recs
        return 1 + max((r.get("exp", 0) for r in recs), default=0)

    @property
    def noise(self) -> NoiseFloor | None:
        return self.noise_of(self.ledger.records())

    @staticmethod
    def noise_of(recs: list[dict]) -> NoiseFloor | None:
        """The noise floor of the baseline replicates in ``recs`` (None below two)."""
        vals = [r["val_bpb"] for r in recs if r.get("status") == BASELINE]
        return noise_floor(vals) if len(vals) >= 2 else None

    def state(self, proposer: str, recs: list[dict] | None = None) -> dict:
        """Where ``proposer`` stands: finished slots, attempts in the open slot, best config and
        score, and the noise floor (from ``recs``, an earlier read of the ledger, if given)."""
        recs = self.ledger.records() if recs is None else recs
        base = [r for r in recs if r.get("status") == BASELINE]
        if not base:
            raise RuntimeError("no baseline in the ledger yet: call loop.baseline(replicates) first")
        noise = self.noise_of(base)
        best, incumbent = noise.mean if noise else base[0]["val_bpb"], dict(base[0]["config"])
        slots, open_attempts = 0, 0
        for r in recs:
            if r.get("proposer") != proposer:
                continue
            if r["status"] == KEPT and r["val_bpb"] < best:   # sequentially, every kept run is lower;
                best, incumbent = r["val_bpb"], dict(r["config"])   # in a batch, the lowest kept one leads
            if r["status"] in SLOT_DONE_STATUSES or (r["status"] == REJECTED and r.get("slot_done")):
                slots, open_attempts = slots + 1, 0
            elif r["status"] == REJECTED:
                open_attempts += 1
        return {"slots_done": slots, "open_attempts": open_attempts, "best": best, "incumbent": incumbent,
                "noise": noise}

    # -- the baseline and its noise floor -------------------------------------------------------
    def baseline(self, replicates: int, progress: bool = True) -> NoiseFloor:
        """Run the base config with seeds ``seed .. seed+replicates-1`` (skipping those done)."""
        if replicates < 2:
            raise ValueError(f"replicates={replicates}: a noise floor needs at least 2 seeds")
        done = {r["seed"] for r in self.ledger.where(status=BASELINE)}
        todo = [self.seed + i for i in range(replicates) if self.seed + i not in done]
        for s in _progress(todo, progress, "baseline seeds"):
            t0 = time.time()
            self.record_baseline(s, self.run_one(dict(self.space.base), s)[0], t0)
        nf = self.noise
        if self.verbose:
            print(nf)
        return nf

    def record_baseline(self, seed: int, metrics: dict, t0: float, extra: Mapping | None = None) -> dict:
        """Log one finished baseline replicate."""
        return self._log_run({"proposer": BASELINE, "status": BASELINE, "config": dict(self.space.base),
                              "changes": {}, "rationale": "baseline replicate", "seed": seed,
                              "signoff": "baseline (no proposal)", **(extra or {})}, metrics, t0)

    # -- one experiment ------------------------------------------------------------------------
    def run_one(self, config: Mapping, seed: int) -> tuple[dict, object]:
        """``(metrics, model)`` of one run: ``run_fn.run`` where it hands over its model, else ``(run_fn(...), None)``."""
        with_model = getattr(self.run_fn, "run", None)
        if callable(with_model):
            metrics, model = with_model(config, seed)
            return metrics, model
        return self.run_fn(config, seed), None

    def _log_run(self, rec: dict, metrics: dict, t0: float, recs: list[dict] | None = None) -> dict:
        rec = {"exp": self._next_exp(recs), **rec, **{k: v for k, v in metrics.items() if k not in ("history", "model")},
               "t_start": t0, "t_end": time.time()}
        return self.ledger.append(rec)

    def _reject(self, p: Proposal, slot: int, attempt: int, by: str, reason: str | None = None,
                recs: list[dict] | None = None) -> dict:
        slot_done = attempt + 1 >= self.max_attempts
        rec = {"exp": self._next_exp(recs), "proposer": p.proposer, "slot": slot, "attempt": attempt,
               "status": REJECTED, "config": p.config, "changes": p.changes, "rationale": p.rationale,
               "name": p.name, "reason": reason or p.reason, "signoff": by, "llm": p.llm,
               "raw_reply": p.raw, "slot_done": slot_done, "t_start": time.time(), "t_end": time.time()}
        if self.verbose:
            print(f"exp {rec['exp']:>3} [{p.proposer}] REJECTED ({rec['reason']})"
                  + ("  -- slot given up" if slot_done else "  -- asking again"))
        return self.ledger.append(rec)

    def approve(self, p: Proposal, slot: int, attempt: int, decision: Decision, recs: list[dict] | None = None):
        """The proposal to run after ``decision`` (a human edit applied and checked), or -- for an
        invalid or rejected one -- the rejected record, already written."""
        if not p.valid:
            return self._reject(p, slot, attempt, "validator", recs=recs)
        if decision.action == "reject":
            return self._reject(p, slot, attempt, decision.by, decision.note or "rejected at sign-off", recs=recs)
        if decision.action == "edit":
            recs = self.ledger.records() if recs is None else recs
            st = self.state(p.proposer, recs)
            edited = check(self.space, p.proposer, decision.changes, st["incumbent"],
                           self.records(p.proposer, recs), p.rationale, p.name, llm=p.llm, raw=p.raw)
            if not edited.valid:
                return self._reject(edited, slot, attempt, decision.by, f"human edit invalid: {edited.reason}", recs=recs)
            edited.edited_by_human = True
            p = edited
        return p

    def execute(self, p: Proposal, slot: int, attempt: int, decision: Decision, recs: list[dict] | None = None) -> dict:
        """Apply a sign-off decision to a proposal: run it (approve/edit) or log it rejected.

        ``recs``: the ledger as read at the start of this step (read here if not given)."""
        recs = self.ledger.records() if recs is None else recs
        p = self.approve(p, slot, attempt, decision, recs)
        if not isinstance(p, Proposal):
            return p
        st = self.state(p.proposer, recs)
        t0 = time.time()
        try:
            m, model = self.run_one(dict(p.config), self.seed)
        except Exception as e:  # a config that crashes the trainer is logged, and its slot is spent
            return self.record_failure(p, slot, attempt, decision.by, e, t0, recs=recs)
        return self.record_result(p, slot, attempt, decision.by, m, t0, st["best"], model=model,
                                  noise=st["noise"], recs=recs)

    def record_failure(self, p: Proposal, slot: int, attempt: int, by: str, error, t0: float,
                       extra: Mapping | None = None, recs: list[dict] | None = None) -> dict:
        """Log a run that crashed (its slot is spent)."""
        rec = self.ledger.append({"exp": self._next_exp(recs), "proposer": p.proposer, "slot": slot,
                                  "attempt": attempt, "status": FAILED, "config": p.config,
                                  "changes": p.changes, "rationale": p.rationale, "seed": self.seed,
                                  "signoff": by, "reason": clean_text(f"run failed: {error!r}", 300),
                                  "llm": p.llm, **(extra or {}), "t_start": t0, "t_end": time.time()})
        if self.verbose:
            print(f"exp {rec['exp']:>3} [{p.proposer}] FAILED ({rec['reason']})")
        return rec

    def record_result(self, p: Proposal, slot: int, attempt: int, by: str, metrics: dict, t0: float,
                      best: float, extra: Mapping | None = None, *, model=None, noise: NoiseFloor | None = None,
                      recs: list[dict] | None = None) -> dict:
        """Keep or discard a finished run by the keep rule against ``best`` (the best when it was
        proposed), and log it. ``noise``: the floor (read from the ledger if not given); ``model``:
        the trained model, kept in memory if the run is kept."""
        val = metrics["val_bpb"]
        noise = noise if noise is not None else self.noise_of(self.ledger.records() if recs is None else recs)
        kept, why = keep(val, best, noise.sigma if noise else 0.0, self.k)
        rec = self._log_run({"proposer": p.proposer, "slot": slot, "attempt": attempt,
                             "status": KEPT if kept else DISCARDED, "config": p.config,
                             "changes": p.changes, "rationale": p.rationale, "name": p.name,
                             "seed": self.seed, "signoff": by, "edited_by_human": p.edited_by_human,
                             "best_before": best, "keep_rule": f"k={self.k:g}", "keep_reason": why,
                             "llm": p.llm, **(extra or {})}, metrics, t0, recs)
        if kept and model is not None:
            self.models[p.proposer] = (p.config, model)
        if self.verbose:
            ch = clean_text(", ".join(f"{k}={v}" for k, v in p.changes.items()), 48)
            print(f"exp {rec['exp']:>3} [{p.proposer}] {ch:<48} val_bpb {val:.4f}  "
                  f"{'KEPT' if kept else 'discarded'} ({why})")
        return rec

    def propose(self, proposer: Proposer, recs: list[dict] | None = None) -> tuple[Proposal, int, int]:
        recs = self.ledger.records() if recs is None else recs
        st = self.state(proposer.name, recs)
        slot, attempt = st["slots_done"], st["open_attempts"]
        try:
            p = proposer.propose(self.space, self.records(proposer.name, recs), st["incumbent"], slot, st["noise"])
        except Exception as e:  # a proposer bug must not kill a long loop; it is logged instead
            p = Proposal(proposer.name, {}, None, valid=False, reason=clean_text(f"proposer crashed: {e!r}", 300))
        return p, slot, attempt

    def run(self, proposer: Proposer, experiments: int, progress: bool = True) -> list[dict]:
        """Spend ``experiments`` slots on ``proposer`` (resuming from the ledger); return its records.

        Each slot ends with one experiment run, or with ``max_attempts`` rejected proposals.
        """
        if self.noise is None:
            raise RuntimeError("measure the noise floor first: loop.baseline(replicates)")
        policy = self.signoff
        done = self.state(proposer.name)["slots_done"]
        if done and self.verbose:
            print(f"[{proposer.name}] resuming: {done} of {experiments} experiments already in the ledger")
        bar = _progress(None, progress, f"{proposer.name}", total=experiments, initial=min(done, experiments))
        while True:
            recs = self.ledger.records()          # the one read of this step
            st = self.state(proposer.name, recs)
            if st["slots_done"] >= experiments:
                break
            p, slot, attempt = self.propose(proposer, recs)
            decision = policy.decide(p) if p.valid else Decision("reject", by="validator", note=p.reason)
            rec = self.execute(p, slot, attempt, decision, recs)
            if bar is not None and (rec["status"] in SLOT_DONE_STATUSES or rec.get("slot_done")):
                bar.update(1)
                best = rec["val_bpb"] if rec["status"] == KEPT and rec["val_bpb"] < st["best"] else st["best"]
                bar.set_postfix(best=f"{best:.4f}")
        if bar is not None:
            bar.close()
        return [r for r in recs if r.get("proposer") == proposer.name]

    # -- interactive sign-off ------------------------------------------------------------------
    def interactive(self, proposer: Proposer, experiments: int):
        """Show each proposal with Approve / Reject / Edit buttons; run it when a human decides.

        Non-blocking: the cell returns at once, and each decision runs (or rejects) one proposal
        and shows the next, until ``experiments`` are done. Returns the :class:`~looplab.research.session.Session`
        (``session.panel`` is the proposal on screen, ``session.done`` tells when all are decided).
        """
        from .session import Session
        session = Session(self, proposer, experiments)
        session.next()
        return session

    # -- the sealed test ---------------------------------------------------------------------------
    def best(self, proposer: str | None = None) -> dict:
        """The chosen config: the lowest-val_bpb *kept* run (of ``proposer``, or of any).

        With nothing kept, the choice is the baseline config, scored by its mean over seeds
        (never by its luckiest seed).
        """
        recs = self.ledger.records()
        kept = [r for r in recs if r.get("status") == KEPT and proposer in (None, r.get("proposer"))]
        if kept:
            return min(kept, key=lambda r: r["val_bpb"])
        base = [r for r in recs if r.get("status") == BASELINE]
        if not base:
            raise RuntimeError("no baseline in the ledger yet: call loop.baseline(replicates) first")
        noise = self.noise_of(base)
        return {**base[0], "proposer": BASELINE, "val_bpb": noise.mean if noise else base[0]["val_bpb"]}

    def logged_test(self, proposer: str | None, replication: bool = False) -> dict | None:
        """The sealed-test read this ledger already holds for a choice, or None.

        ``proposer``'s choice as :meth:`final_test` logged it, or with ``replication`` as
        :meth:`replicate_test` did. A resumed loop (a restarted notebook, a learner's loop in a class
        store) reports that record instead of reading the test split again.
        """
        who = ("replication of " if replication else "") + (proposer if proposer is not None else "*")
        prior = [r for r in self.ledger.where(status=TEST) if r.get("graded", "*") == who]
        return prior[0] if prior else None

    def final_test(self, test_fn: Callable[[Mapping, int, object], float], proposer: str | None = None,
                   reason: str = "final chosen config") -> dict:
        """Evaluate the chosen config (of ``proposer``, or of all) ONCE on the sealed test split; log it.

        ``test_fn(config, seed, model_or_None) -> test_bpb``. The course's policy, the same in
        lessons 03 and 05: the test split is read only to *report* a choice already made, never to
        make one, and every read is logged with its reason. A second read for the same choice (the
        same ``proposer``; ``None`` is the loop's overall choice) raises :class:`SealedError`:
        a score read twice to decide has become a validation score.
        """
        who = proposer if proposer is not None else "*"
        prior = self.logged_test(proposer)
        if prior:
            raise SealedError(f"the sealed test split was already read for this choice ({who}: exp {prior['exp']}, "
                              f"test_bpb {prior['test_bpb']:.4f}); reading it again would make it a validation set")
        b = self.best(proposer)
        name = b["proposer"]
        model = self.models.get(name, (None, None))
        model = model[1] if model[0] == b["config"] else None
        t0 = time.time()
        test_bpb = float(test_fn(b["config"], b.get("seed", self.seed), model))
        rec = self.ledger.append({"exp": self._next_exp(), "proposer": name, "graded": who, "status": TEST,
                                  "config": b["config"], "from_exp": b["exp"], "val_bpb": b["val_bpb"],
                                  "test_bpb": test_bpb, "reason": reason, "t_start": t0, "t_end": time.time()})
        if self.verbose:
            print(f"SEALED TEST (read once for {who}): exp {b['exp']} [{name}] val_bpb {b['val_bpb']:.4f} -> "
                  f"test_bpb {test_bpb:.4f}")
        return rec

    def replicate_test(self, test_fn: Callable[[Mapping, int, object], float], proposer: str | None,
                       seeds: Sequence[int], reason: str) -> dict:
        """Replicate a choice already made on the sealed test: the choice and the baseline, fresh seeds.

        The chosen config (of ``proposer``) and the baseline config are each re-trained with every
        seed in ``seeds`` (none of them used by the loop) and read on the test split, so the two
        are paired by seed. It reports a choice, never makes one: logged once, with ``reason``; a
        second replication of the same choice raises :class:`SealedError`. Returns the record,
        with ``choice_test`` and ``baseline_test`` (one value per seed) and ``diffs`` (baseline
        minus choice: positive where the choice is better).
        """
        who = "replication of " + (proposer if proposer is not None else "*")
        if not seeds:
            raise ValueError("replicate_test needs at least one fresh seed")
        used = {r.get("seed") for r in self.ledger.records()} | {self.seed}
        if used & set(seeds):
            raise ValueError(f"seeds {sorted(used & set(seeds))} were used by the loop; a replication needs fresh ones")
        prior = self.logged_test(proposer, replication=True)
        if prior:
            raise SealedError(f"this choice was already replicated on the sealed test ({who}: exp {prior['exp']}); "
                              "replicating it again until it passes would make the test a validation set")
        b = self.best(proposer)
        base = self.space.base
        t0 = time.time()
        choice = [float(test_fn(b["config"], s, None)) for s in seeds]
        baseline = [float(test_fn(base, s, None)) for s in seeds]
        rec = self.ledger.append({"exp": self._next_exp(), "proposer": b["proposer"], "graded": who, "status": TEST,
                                  "config": b["config"], "from_exp": b["exp"], "val_bpb": b["val_bpb"],
                                  "seeds": list(seeds), "choice_test": choice, "baseline_test": baseline,
                                  "diffs": [x - y for x, y in zip(baseline, choice)],
                                  "reason": reason, "t_start": t0, "t_end": time.time()})
        if self.verbose:
            print(f"SEALED TEST, replicated on {len(seeds)} fresh seeds ({who}): choice "
                  f"{sum(choice) / len(choice):.4f}, baseline {sum(baseline) / len(baseline):.4f}")
        return rec


def _progress(items, enabled: bool, desc: str, total: int | None = None, initial: int = 0):
    if items is not None:
        if not enabled:
            return items
        from tqdm.auto import tqdm
        return tqdm(items, desc=desc, leave=False)
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, leave=True)


