"""Lesson 05's planned comparisons, computed and recorded: the list the lesson writes down before its run.

Each is the exact one-sided sign-flip test of a paired val_bpb difference at the last generation
(:func:`looplab.grading.strategies.compare`). A comparison is *required* (``must_hold``) only where the
design was searched (the workshop's sizes) and the search measured at least 80% power at this seed count;
elsewhere it is reported.

Two more verdicts are reported, never required: the mechanism ``M1`` (:func:`mechanism_verdict`: does
the writer's own filter keep narrower text than the discriminator?) and the re-grade of a loop's claims
(:func:`regrade_verdict`: do they shrink on fresh seeds and the sealed test split?).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..stats import sign_flip_test
from ..verdict import Verdict, record
from .strategies import compare

# Power at a seed count, from bench/explore_grading.py (writer 1, seeds 100-107;
# bench/results/explore_grading_g3_wu15*.csv). 6 seeds is the workshop's; 5 is Binder's (scale binder).
# Normal-fit figures: bench/explore_grading.py --power-only (bench/README.md).
SEARCHED_POWER = {
    6: {"C1": (1.00, "power at 6 seeds 100% (the search: 8 of 8 seeds, the gap 8 sd)"),
        "C2": (0.95, "power at 6 seeds 95% by a normal fit to the search's 8 differences (100% by resampling them)"),
        "C3": (None, "the search expects no (2 of 8 seeds)"),
        "C4": (0.96, "the search: 8 of 8 seeds (power at 6 seeds 96% by a normal fit)")},
    5: {"C1": (1.00, "power at 5 seeds 100% by a normal fit (the gap 8 sd)"),
        "C2": (0.79, "power at 5 seeds 79% by a normal fit to the search's 8 differences: below 80%, so reported here"),
        "C3": (None, "the search expects no (2 of 8 seeds)"),
        "C4": (0.81, "power at 5 seeds 81% by a normal fit to the search's 8 differences")}}

# (id, better, worse, claim, planned as required)
PLANNED = [("C1", "real", "replace", "training on as much real text ends better than on samples of samples (the damage)", True),
           ("C2", "disc", "replace", "an independent grader that selects towards real text ends better than replace", True),
           ("C3", "self", "replace", "the writer grading its own samples ends better than replace", False),
           ("C4", "disc", "self", "the independent discriminator ends better than the writer's own likelihood", True)]


def lesson05_verdicts(table, seeds: Sequence[int], searched: bool) -> dict[str, Verdict]:
    """The planned comparisons ``C1``..``C4`` of :data:`PLANNED` on the strategies' ``table``, each recorded.
    ``searched``: the run uses the searched design's sizes (only then may a comparison be required)."""
    n = len(seeds)
    power_here = SEARCHED_POWER.get(n, {})
    fpr = f"at most 5% (exact one-sided sign-flip test, {n} paired seeds; smallest possible p = 1/{2 ** n})"
    verdicts = {}
    for cid, better, worse, claim, planned in PLANNED:
        power = power_here.get(cid, (None, ""))[0]
        c = compare(table, better, worse)
        verdicts[cid] = record(
            lesson="05", claim=f"{cid}: {claim}", statistic=f"paired val_bpb difference {worse} - {better} (per seed)",
            value=c["diffs"], test="exact one-sided sign-flip test of the mean paired difference > 0",
            threshold=0.05, seeds=c["seeds"], holds=c["holds"],
            must_hold=bool(planned and searched and power is not None and power >= 0.8),
            p_value=c["p_value"], false_positive_rate=fpr, mean_difference=c["mean_diff"],
            power=power_here.get(cid, (None, f"no power measured at {n} seeds"))[1])
    return verdicts


def comparisons_table(table, verdicts: dict[str, Verdict]):
    """One row per planned comparison: required here, which strategy against which, the mean paired
    difference, the wins, the p-value and whether it holds (``verdicts``: :func:`lesson05_verdicts`'s)."""
    import pandas as pd
    rows = []
    for cid, better, worse, _, _ in PLANNED:
        c = compare(table, better, worse)
        rows.append({"comparison": cid, "required": verdicts[cid].must_hold, "better?": better, "than": worse,
                     "mean diff (bits/byte)": c["mean_diff"], "wins": f"{c['wins']} of {c['n']}",
                     "p (one-sided)": c["p_value"], "holds": c["holds"]})
    return pd.DataFrame(rows).set_index("comparison")


ENTROPY = "word entropy (kept, bits)"          # the kept table's column the mechanism reads


def kept_entropy_gaps(kept_table) -> np.ndarray:
    """Word entropy of the text ``disc`` kept minus that ``self`` kept, per seed and generation: one paired
    difference per batch, generation by generation (seeds in order within each). ``kept_table``: one row per
    kept batch, with columns ``strategy``, ``seed``, ``written by generation`` and ``word entropy (kept, bits)``."""
    missing = {"strategy", "seed", "written by generation", ENTROPY} - set(kept_table.columns)
    if missing:
        raise ValueError(f"the kept table lacks the column(s) {sorted(missing)}")
    absent = {"disc", "self"} - set(kept_table["strategy"])
    if absent:
        raise ValueError(f"the kept table has no batches of {sorted(absent)}: the mechanism compares disc with self")
    ent = kept_table.pivot_table(index="seed", columns=["strategy", "written by generation"], values=ENTROPY)
    return np.concatenate([(ent["disc"][k] - ent["self"][k]).to_numpy() for k in sorted(set(ent["self"].columns))])


def mechanism_verdict(kept_table, seeds: Sequence[int]) -> Verdict:
    """``M1``, recorded and reported: the writer's own filter (``self``) keeps narrower text than the
    discriminator (``disc``), by the exact one-sided sign-flip test of :func:`kept_entropy_gaps` (mean > 0).
    The batches of one seed are not independent, so its false-positive rate is read as descriptive."""
    d = kept_entropy_gaps(kept_table)
    p = sign_flip_test(d, "greater")
    return record(lesson="05", claim="M1: the writer's own filter keeps narrower text than the discriminator (word entropy of the kept text)",
                  statistic="word entropy of kept text, disc - self, per seed and generation (bits)", value=d.round(3).tolist(),
                  test="exact one-sided sign-flip test, mean > 0", threshold=0.05, seeds=seeds,
                  holds=bool(p <= 0.05 and d.mean() > 0), must_hold=False, p_value=p,
                  false_positive_rate="at most 5% (pairs within a seed are not independent: read it as descriptive)")


def regrade_verdict(regraded, fresh_seeds: Sequence[int]) -> Verdict:
    """The re-grade of a loop's claims, recorded and reported: claimed gain minus measured gain per claim
    (``regraded``: :func:`looplab.grading.regrade`'s table, one row per claim), and whether its mean is above
    zero. Descriptive, not a test: the claims are few, each measured on the few ``fresh_seeds``."""
    missing = {"claimed_gain", "measured_gain"} - set(regraded.columns)
    if missing:
        raise ValueError(f"the re-graded table lacks the column(s) {sorted(missing)}")
    if len(regraded) == 0:
        raise ValueError("the re-graded table has no claims: nothing to compare")
    shrink = regraded["claimed_gain"] - regraded["measured_gain"]
    return record(lesson="05", claim="the loop's claimed gains shrink when re-graded outside it (fresh seeds, sealed test)",
                  statistic="claimed gain - measured gain, per claim (bits/byte)", value=shrink.round(4).tolist(),
                  test="mean over claims > 0 (descriptive: claims are few and each measured on few seeds)", threshold=0.0,
                  seeds=fresh_seeds, holds=bool(shrink.mean() > 0), must_hold=False,
                  false_positive_rate="not a test: a descriptive comparison, reported either way")
