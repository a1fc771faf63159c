"""Lesson 04's verdicts, computed from the chains' table: the list of comparisons the lesson writes down
before its run, each a one-sided paired t-test over seeds at ``ALPHA`` (the exact sign-flip p beside it).

1. replace raises held-out val_bpb (last generation minus generation 0, per seed): the required one;
2. accumulating real data rises less than replacing it;
3. rare-word survival falls over the replace chain;
4. with three generations or more, each workflow's per-seed slope of val_bpb over generations 1..last
   (same steps and text size: only the chain changes), and two orderings of those slopes.
"""
from __future__ import annotations

import numpy as np

from ..stats import min_sign_flip_p, one_sided_t, sign_flip_test, t_quantile
from ..verdict import Verdict, record
from .analysis import per_seed_slopes

ALPHA = 0.05
CHAIN_WORKFLOWS = ("replace", "accumulate", "accumulate-subsample")   # the lesson's three chains


def paired_rise(table, mode: str, last: int) -> np.ndarray:
    """Per seed: val_bpb at generation ``last`` minus generation 0 of the same chain."""
    t = table[table["mode"] == mode].pivot_table(index="seed", columns="generation", values="val_bpb")
    return (t[last] - t[0]).to_numpy()


def paired_test(claim: str, statistic: str, d, seeds, must_hold: bool = False, detail: str = "",
                alpha: float = ALPHA) -> Verdict:
    """Record one comparison of lesson 04: ``d`` (one paired difference per seed, in ``seeds``' order),
    tested with a one-sided t-test over the seeds at ``alpha``; the exact sign-flip p is in its detail."""
    n = len(seeds)
    t, p = one_sided_t(d)
    return record("04", claim, statistic, np.asarray(d).tolist(),
                  f"one-sided paired t-test over {n} seeds (t > t_0.95,{n - 1})",
                  t_quantile(1 - alpha, n - 1), seeds, holds=bool(p <= alpha), must_hold=must_hold, p_value=p,
                  false_positive_rate=(f"5% under normal seed noise at {n} paired seeds; the exact sign-flip "
                                       f"test's smallest p at {n} seeds is {min_sign_flip_p(n):.3f}"),
                  detail=f"t = {t:.1f}, sign-flip p = {sign_flip_test(d):.3f}" + (f"; {detail}" if detail else ""))


def lesson04_verdicts(table, last: int, require_rise: bool, alpha: float = ALPHA) -> dict[str, Verdict]:
    """The lesson's verdicts, keyed ``"1 replace rises"`` ... ``"4 replace faster than subsample"``; each is
    recorded (:func:`looplab.verdict.record`). ``require_rise``: the rise of replace is a must-hold verdict.
    With fewer than two seeds there is nothing to test: an empty dict."""
    seeds = sorted(table["seed"].unique().tolist())
    if len(seeds) < 2:
        return {}

    def test(claim, statistic, d, must_hold=False, detail=""):
        return paired_test(claim, statistic, d, seeds, must_hold=must_hold, detail=detail, alpha=alpha)

    verdicts = {}
    rises = paired_rise(table, "replace", last)
    verdicts["1 replace rises"] = test(
        "Training each generation only on the previous one's samples raises held-out val_bpb",
        "rise in val_bpb, last generation minus generation 0, per seed", rises, must_hold=require_rise,
        detail=f"mean rise {rises.mean():+.3f} bits/byte")
    acc_rise = paired_rise(table, "accumulate", last)
    verdicts["2 accumulate rises less"] = test(
        "Accumulating real data rises less than replacing it", "replace rise minus accumulate rise, per seed",
        rises - acc_rise, detail=f"accumulate's own rise {acc_rise.mean():+.3f} bits/byte")
    rare = table[table["mode"] == "replace"].pivot_table(index="seed", columns="generation", values="rare_survival")
    verdicts["3 rare words vanish"] = test(
        "Rare words vanish: rare-word survival falls over the replace chain",
        "rare survival, generation 0 minus last, per seed", (rare[0] - rare[last]).to_numpy())
    if last >= 2:      # every generation from 1 on: the same steps and text size, only the chain changes
        sl = {m: per_seed_slopes(table, m)[1] for m in CHAIN_WORKFLOWS}
        stat = "per-seed least-squares slope of val_bpb over generations 1..last (bits/byte per generation)"
        for m, claim in [("replace", "Replace: val_bpb keeps rising generation after generation (from generation 1 on)"),
                         ("accumulate", "Accumulate: val_bpb still rises from generation 1 on (it has not plateaued)"),
                         ("accumulate-subsample", "Accumulate-subsample: val_bpb rises from generation 1 on")]:
            verdicts[f"4 {m} slope"] = test(claim, f"{stat}, {m}", sl[m], detail=f"mean slope {sl[m].mean():+.3f}")
        verdicts["4 subsample faster than accumulate"] = test(
            "A fixed-size draw from the accumulated pool climbs faster than training on all of it",
            "accumulate-subsample slope minus accumulate slope, per seed", sl["accumulate-subsample"] - sl["accumulate"])
        verdicts["4 replace faster than subsample"] = test(
            "Replace climbs faster than accumulate-subsample", "replace slope minus accumulate-subsample slope, per seed",
            sl["replace"] - sl["accumulate-subsample"])
    return verdicts
