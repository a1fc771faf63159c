"""CMA-ES, the Centaur hybrid (CMA-ES sharing its state with an LLM) and the null proposer.

Like every proposer here they are stateless given the ledger: :class:`CMAESProposer` rebuilds its
optimizer (the ``cmaes`` package's :class:`cmaes.CMA`) from this proposer's finished runs at every
call, so a resumed loop proposes exactly as an uninterrupted one.

The space is mapped onto the unit cube: a float on its (log) scale, an int linearly, a choice by
the index of the option. CMA-ES is told the point of the config that actually ran (rounded into
the space), and a diverged run counts as the worst value seen plus one bit, so it is avoided.

:class:`CentaurProposer` follows Ferreira et al. 2026 ("Centaur", arXiv 2603.24647): on a share of
the slots an LLM proposes instead of CMA-ES, and it is shown CMA-ES's state (its mean config and
step size); its runs update the same CMA-ES state as CMA-ES's own.

:class:`NullProposer` changes nothing but the random seed: every run it proposes is the base
config again. Whatever the loop "keeps" from it is seed luck, so the share kept is the loop's
false-keep rate, measured.
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np

from .ledger import SLOT_DONE_STATUSES
from .llm_base import LLMRequest
from .llm_proposer import SYSTEM_PROMPT, LLMProposer, build_prompt
from .proposal import (Proposal, Proposer, round3, batch_size, check, clean_text, pending, tried_configs,
                       untried_moves)
from .spec import SearchSpace

RUN_DONE = SLOT_DONE_STATUSES


def encode(space: SearchSpace, config) -> np.ndarray:
    """``config`` as a point of the unit cube, one coordinate per field of ``space``."""
    x = []
    for p in space.params:
        v = config[p.name]
        if p.kind == "choice":
            x.append((list(p.choices).index(v) + 0.5) / len(p.choices))
        elif p.log:
            x.append((math.log(v) - math.log(p.low)) / (math.log(p.high) - math.log(p.low)))
        else:
            x.append((v - p.low) / (p.high - p.low) if p.high > p.low else 0.5)
    return np.clip(np.array(x, dtype=float), 0.0, 1.0)


def decode(space: SearchSpace, x) -> dict:
    """The config nearest to point ``x`` of the unit cube (n_head repaired to divide n_embd)."""
    cfg = {}
    for p, u in zip(space.params, np.clip(np.asarray(x, dtype=float), 0.0, 1.0)):
        if p.kind == "choice":
            cfg[p.name] = p.choices[min(int(u * len(p.choices)), len(p.choices) - 1)]
        elif p.kind == "int":
            cfg[p.name] = int(round(p.low + u * (p.high - p.low)))
        elif p.log:
            cfg[p.name] = round3(math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low))), p)
        else:
            cfg[p.name] = round3(p.low + u * (p.high - p.low), p)
    if "n_head" in cfg and "n_embd" in cfg and cfg["n_embd"] % cfg["n_head"]:
        ok = [h for h in space["n_head"].choices if cfg["n_embd"] % h == 0]
        cfg["n_head"] = min(ok, key=lambda h: abs(h - cfg["n_head"]))
    return cfg


class CMAESProposer(Proposer):
    """CMA-ES over the unit-cube image of the space, started at the base config.

    ``popsize`` points per generation (at least 4, which CMA-ES's update needs); ``sigma0`` the
    initial step size in cube units.
    """

    name = "cma-es"

    def __init__(self, seed: int = 0, popsize: int = 4, sigma0: float = 0.25):
        if popsize < 4:
            raise ValueError(f"popsize={popsize}: CMA-ES needs at least 4 points per generation")
        if not 0 < sigma0 <= 1:
            raise ValueError(f"sigma0={sigma0} must lie in (0, 1] (unit-cube units)")
        self.seed, self.popsize, self.sigma0 = seed, popsize, sigma0

    def runs(self, history: list[dict]) -> list[dict]:
        return [r for r in history if r.get("proposer") == self.name and r.get("status") in RUN_DONE]

    def optimizer(self, space: SearchSpace, history: list[dict]):
        """``(cma, done_in_generation)``: CMA-ES told every full generation of this proposer's runs."""
        from cmaes import CMA
        d = len(space.params)
        cma = CMA(mean=encode(space, space.base), sigma=self.sigma0, bounds=np.array([[0.0, 1.0]] * d),
                  seed=self.seed, population_size=self.popsize)
        runs = self.runs(history)
        finite = [r["val_bpb"] for r in runs if isinstance(r.get("val_bpb"), (int, float)) and math.isfinite(r["val_bpb"])]
        worst = (max(finite) if finite else 8.0) + 1.0
        full = len(runs) - len(runs) % self.popsize
        for g in range(0, full, self.popsize):
            sols = []
            for r in runs[g:g + self.popsize]:
                v = r.get("val_bpb")
                v = v if isinstance(v, (int, float)) and math.isfinite(v) else worst
                sols.append((encode(space, r["config"]), float(v)))
            cma.tell(sols)
        # the draws of a generation depend only on (seed, generation): the same after a resume
        cma._rng = np.random.RandomState((self.seed * 1_000_003 + cma.generation) % 2**32)
        return cma, len(runs) - full

    def state_text(self, space: SearchSpace, history: list[dict]) -> str:
        """CMA-ES's state in words: its mean config and step size (what the Centaur's LLM is shown)."""
        cma, _ = self.optimizer(space, history)
        mean = decode(space, cma.mean)
        return f"CMA-ES state: generation {cma.generation}, step size {cma._sigma:.3f}, mean config {json.dumps(mean)}"

    def propose(self, space, history, incumbent, slot, noise=None):
        cma, k = self.optimizer(space, history)
        draws = [cma.ask() for _ in range(self.popsize)]
        order = draws[k:] + draws[:k] + [cma.ask() for _ in range(20)]
        p = None
        for x in order:
            cfg = decode(space, x)
            p = check(space, self.name, space.diff(cfg, incumbent), incumbent, history,
                      f"CMA-ES draw {k + 1} of generation {cma.generation + 1}")
            if p.valid:
                return p
        return p


    def propose_batch(self, space, history, incumbent, slot, n, noise=None):
        """The rest of the current generation (at most ``n``): CMA-ES's own batch is its population.

        A batch never crosses a generation, since the next generation's draws need this one's
        results told first; with ``n >= popsize`` at a generation's start, the batch is the whole
        generation. Draws already run or in flight are skipped for fresh ones.
        """
        cma, k = self.optimizer(space, history)
        draws = [cma.ask() for _ in range(self.popsize)]
        spare = iter([cma.ask() for _ in range(20)])
        out, hist = [], list(history)
        for j in range(k, min(self.popsize, k + batch_size(n))):
            p = None
            for x in itertools.chain([draws[j]], spare):   # spares are used once each
                p = check(space, self.name, space.diff(decode(space, x), incumbent), incumbent, hist,
                          f"CMA-ES draw {j + 1} of generation {cma.generation + 1}")
                if p.valid:
                    break
            out.append(p)
            hist += pending([p])
        return out


class CentaurProposer(Proposer):
    """CMA-ES on most slots; an LLM, shown CMA-ES's state, on every ``every``-th slot.

    On its slots the LLM chooses (for a constrained backend, by likelihood over a closed set) among
    the untried one-step moves from the best config *and* CMA-ES's current mean config. Both
    kinds of run update the one CMA-ES state.
    """

    def __init__(self, llm: LLMProposer, seed: int = 0, every: int = 2, popsize: int = 4,
                 name: str = "centaur"):
        if every < 1:
            raise ValueError(f"every={every} must be >= 1 (1: the LLM proposes on every slot)")
        self.llm, self.every, self.name = llm, every, name
        self.cma = CMAESProposer(seed=seed, popsize=popsize)
        self.cma.name = name          # the CMA-ES state is rebuilt from this proposer's runs

    def llm_slot(self, slot: int) -> bool:
        return slot % self.every == self.every - 1

    def propose(self, space, history, incumbent, slot, noise=None):
        if not self.llm_slot(slot):
            p = self.cma.propose(space, history, incumbent, slot, noise)
            p.rationale = clean_text("[CMA-ES] " + p.rationale)
            return p
        state = self.cma.state_text(space, history)
        cma, _ = self.cma.optimizer(space, history)
        mean = decode(space, cma.mean)
        choices = untried_moves(space, history, incumbent)
        diff = space.diff(mean, incumbent)
        if diff and mean not in tried_configs(history):
            choices = [diff] + choices
        user = build_prompt(space, history, incumbent, noise, self.llm.budget, self.llm.k, self.llm.max_rows)
        user += f"\n{state}\nYou may move toward the CMA-ES mean or take one step from the best config."
        req = LLMRequest(system=SYSTEM_PROMPT, user=user, max_tokens=self.llm.max_tokens,
                         choices=[json.dumps(c) for c in choices] if self.llm.backend.constrained and choices else None)
        return self.llm.answer(req, space, history, incumbent, tag="[LLM] ", name=self.name)


class NullProposer(Proposer):
    """The base config again with a fresh seed (``seed0 + slot``): a change that changes nothing.

    The config it proposes carries a ``seed`` field, which the runner trains with; the loop keeps
    or discards it by the same rule as any other proposal.
    """

    name = "null"

    def __init__(self, seed0: int = 100):
        self.seed0 = seed0

    def propose(self, space, history, incumbent, slot, noise=None):
        s = self.seed0 + slot
        cfg = {**space.base, "seed": s}
        return Proposal(self.name, {"seed": s}, cfg, f"seed change only ({s}): nothing else differs")

