"""Filters for the collapse chain (lesson 05): which of a generation's documents the next one trains on.

They are the ``select`` hook of :func:`looplab.collapse.run_chain`. :class:`TopFraction` trains
on the best ``keep`` share of a generation's documents by a grader's score, chosen from a random
*pool* of ``pressure`` candidates per kept document (selection pressure: ``pressure = 1`` is no
selection at all, ``1 / keep`` is the whole batch); :class:`RandomFraction` keeps a random share
(the no-grader control with the same amount of data). :mod:`looplab.grading.strategies` (and
:mod:`looplab.grading`) re-export them.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..checks import number
from .graders import Grader


# ============================================================================================
# 1. Filters
# ============================================================================================

def check_keep(keep) -> float:
    """``keep``, the share of documents a filter keeps, checked to lie in (0, 1]."""
    return number("keep", keep, 0, 1, lo_open=True, note=" (the share of documents kept)")


def _n_keep(keep: float, n: int) -> int:
    """How many of ``n`` documents a ``keep`` share is: ``ceil(keep * n)``, at least one."""
    return max(1, math.ceil(check_keep(keep) * n))


def top_fraction(scores: np.ndarray, keep: float) -> np.ndarray:
    """Indices of the best ``ceil(keep * n)`` scores (ties: the earlier document), in document order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:_n_keep(keep, len(scores))])


def check_pressure(pressure, keep: float):
    """``pressure`` (candidates drawn per kept document) checked to lie in [1, 1/keep]; None stays None."""
    if pressure is None:
        return None
    return number("pressure", pressure, 1.0, 1.0 / keep + 1e-9,
                  note=f" (candidates per kept document, at most 1/keep = {1 / keep:g})")


class TopFraction:
    """``select`` hook: train on ``ceil(keep * n)`` of a generation's ``n`` docs, the best by ``grader``.

    ``pressure`` (candidates per kept document, ``1 .. 1/keep``; default ``1/keep``, the whole
    batch): the kept documents are the best of a seeded random pool of ``pressure * kept``
    candidates. ``pressure = 1`` keeps the pool itself (no selection); larger is harsher.
    Every call is logged in ``history`` (mean score of the pool and of the kept ones, threshold).
    """

    def __init__(self, grader: Grader, keep: float = 0.5, pressure: float | None = None, seed: int = 0):
        if not isinstance(grader, Grader):
            raise TypeError(f"grader must be a looplab.grading.graders.Grader, got {type(grader).__name__}")
        self.grader, self.keep = grader, check_keep(keep)
        self.pressure, self.seed = check_pressure(pressure, self.keep), int(seed)
        self.history: list[dict] = []

    def pool(self, n: int, k: int) -> np.ndarray:
        """The candidate indices for generation ``k`` (all ``n`` when ``pressure`` is None)."""
        if self.pressure is None:
            return np.arange(n)
        size = min(n, max(_n_keep(self.keep, n), round(self.pressure * _n_keep(self.keep, n))))
        return np.sort(np.random.default_rng([self.seed, k, 7]).choice(n, size, replace=False))

    def __call__(self, docs, k: int):
        n_keep = _n_keep(self.keep, len(docs))
        pool = self.pool(len(docs), k)
        t0 = time.perf_counter()
        scores = self.grader([docs[i].text for i in pool])
        score_s = time.perf_counter() - t0
        order = np.argsort(-scores, kind="stable")[:n_keep]
        idx = np.sort(pool[order])
        fin = np.isfinite(scores)
        self.history.append({"generation": k, "grader": self.grader.name, "n": len(docs), "pool": len(pool),
                             "kept": len(idx), "mean_pool": float(scores[fin].mean()) if fin.any() else float("nan"),
                             "mean_kept": float(np.mean(scores[order])), "threshold": float(scores[order].min()),
                             "score_s": score_s})
        return [docs[i] for i in idx]

    def __repr__(self) -> str:   # stored in the chain's fingerprint: stable across runs
        p = "" if self.pressure is None else f", pressure={self.pressure:g}"
        return f"TopFraction({self.grader.name}, keep={self.keep:g}{p})"


class RandomFraction:
    """``select`` hook: keep a random ``keep`` share (no grader; the same amount of data as a filter)."""

    def __init__(self, keep: float = 0.5, seed: int = 0):
        self.keep, self.seed = check_keep(keep), int(seed)
        self.history: list[dict] = []

    def __call__(self, docs, k: int):
        n_keep = _n_keep(self.keep, len(docs))
        idx = np.sort(np.random.default_rng([self.seed, k]).choice(len(docs), n_keep, replace=False))
        self.history.append({"generation": k, "grader": None, "n": len(docs), "kept": n_keep})
        return [docs[i] for i in idx]

    def __repr__(self) -> str:
        return f"RandomFraction(keep={self.keep:g}, seed={self.seed})"
