"""Lesson 05's planned comparisons, computed and recorded: the list the lesson writes down before its run.

Each is the exact one-sided sign-flip test of a paired val_bpb difference at the last generation
(:func:`looplab.grading.strategies.compare`). A comparison is *required* (``must_hold``) only where the
design was searched (the workshop's sizes) and the search measured at least 80% power at this seed count;
elsewhere it is reported.
"""
from __future__ import annotations

from collections.abc import Sequence

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
