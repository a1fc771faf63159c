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

import random

from .ledger import BASELINE, RUN_STATUSES
from .proposal import Proposer, batch_size, check, pending, round3, untried_moves


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
                cfg = {k: round3(v, space[k]) for k, v in trial.params.items()}
                p = check(space, self.name, space.diff(cfg, incumbent), incumbent, hist,
                          f"TPE suggestion after {finished} finished trials")
                if p.valid:
                    break                     # the trial stays RUNNING: the liar counts it
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            out.append(p)
            hist += pending([p])
        return out
