"""Lesson 04's verdicts, computed from the chains' table: the list of comparisons the lesson writes down
before its run, each a one-sided paired t-test over seeds at ``ALPHA`` (the exact sign-flip p beside it).

1. replace raises held-out val_bpb (last generation minus generation 0, per seed): the required one;
2. accumulating real data rises less than replacing it;
3. rare-word survival falls over the replace chain;
4. with three generations or more, each workflow's per-seed slope of val_bpb over generations 1..last
   (same steps and text size: only the chain changes), and two orderings of those slopes;

and the later sections' comparisons, each reported: the tails go first (:func:`band_verdict`), top-p against
full sampling (:func:`topp_verdicts`), and each synthetic share against all-real training, Holm-corrected over
the shares (:func:`sweep_verdicts`, its tests as table columns by :func:`sweep_test_table`).
"""
from __future__ import annotations

import numpy as np

from ..stats import holm, min_sign_flip_p, one_sided_t, sign_flip_test, t_quantile
from ..textmetrics import BAND_NAMES
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


def tails_first_gap(loss: dict) -> np.ndarray:
    """Per seed: the rare band's relative loss of survival minus the larger of the middle and common bands'
    (``loss``: band name -> one relative loss per seed, as ``1 - survival_last / survival_0``). Above zero:
    the rare band lost the largest share of its words."""
    missing = set(BAND_NAMES) - set(loss)
    if missing:
        raise ValueError(f"band losses lack the band(s) {sorted(missing)}; expected {list(BAND_NAMES)}")
    rare, middle, common = (np.asarray(loss[b], dtype=float) for b in ("rare", "middle", "common"))
    if not rare.shape == middle.shape == common.shape:
        raise ValueError(f"one loss per seed in every band, got {rare.shape}, {middle.shape}, {common.shape}")
    return rare - np.maximum(middle, common)


def band_verdict(loss: dict, seeds, alpha: float = ALPHA) -> Verdict | None:
    """The tails go first over the replace chain: :func:`tails_first_gap` of ``loss`` (band -> relative loss
    of survival from generation 0 to the last, one per seed in ``seeds``' order) is above zero, tested by
    :func:`paired_test` (reported, not required). With fewer than two seeds there is nothing to test: None."""
    first = tails_first_gap(loss)
    if len(first) != len(seeds):
        raise ValueError(f"{len(first)} band losses per band for {len(seeds)} seeds")
    if len(first) < 2:
        return None
    return paired_test(
        "The tails go first: the rare band loses more of its words than the middle and the common band over the replace chain",
        "per seed: relative loss of rare-band survival minus the larger of the middle and common bands', generation 0 to last",
        first, seeds, alpha=alpha,
        detail=f"rare {100 * np.mean(loss['rare']):.1f}% vs middle {100 * np.mean(loss['middle']):.1f}% vs "
               f"common {100 * np.mean(loss['common']):.1f}% lost")


def topp_verdicts(both, tp_loss: dict, alpha: float = ALPHA) -> dict[str, Verdict]:
    """Lesson 04's four comparisons of top-p against full sampling, each paired by seed (reported, not required):
    ``"val_bpb rises faster"``, ``"samples narrow"``, ``"rare words go faster"``, ``"tails first"``.

    ``both``: the chains table of the replace chains over the same generations, with a ``sampling`` column,
    ``"full"`` for full sampling and one other label for top-p; ``tp_loss``: the top-p chains' band losses
    (band -> one relative loss of survival per seed, seeds in order) from generation 0 to the last. With fewer
    than two seeds or a single generation there is nothing to test: an empty dict."""
    labels = sorted(set(both["sampling"]) - {"full"})
    if "full" not in set(both["sampling"]) or len(labels) != 1:
        raise ValueError(f"sampling must be 'full' and one top-p label, got {sorted(set(both['sampling']))}")
    tp = labels[0]
    seeds = sorted(both["seed"].unique().tolist())
    kt = int(both["generation"].max())
    if len(seeds) < 2 or kt < 1:
        return {}

    def test(claim, statistic, d, detail=""):
        return paired_test(claim, statistic, d, seeds, detail=detail, alpha=alpha)

    full_t, tp_t = both[both["sampling"] == "full"], both[both["sampling"] != "full"]
    sl_full = per_seed_slopes(full_t, "replace", first=0)[1]
    sl_tp = per_seed_slopes(tp_t, "replace", first=0)[1]
    wide = {c: both.pivot_table(index="seed", columns=["sampling", "generation"], values=c)
            for c in ("rare_survival", "distinct_2")}
    return {
        "val_bpb rises faster": test(
            "Top-p sampling makes val_bpb on real text rise faster than full sampling",
            f"per-seed slope of val_bpb over generations 0..{kt}, top-p minus full sampling", sl_tp - sl_full,
            detail=f"slopes: full {sl_full.mean():+.3f}, top-p {sl_tp.mean():+.3f} bits/byte per generation"),
        "samples narrow": test(
            f"Top-p samples are narrower than full sampling's at generation {kt} (lower distinct-2)",
            f"distinct-2 at generation {kt}, full minus top-p, per seed",
            (wide["distinct_2"][("full", kt)] - wide["distinct_2"][(tp, kt)]).to_numpy()),
        "rare words go faster": test(
            "Top-p cuts the rare words faster than full sampling",
            f"rare-word survival at generation {kt}, full minus top-p, per seed",
            (wide["rare_survival"][("full", kt)] - wide["rare_survival"][(tp, kt)]).to_numpy()),
        "tails first": test(
            "Under top-p the tails go first: the rare band loses more of its words than the middle and common bands",
            f"per seed: relative loss of rare-band survival minus the larger of the other bands', top-p, generation 0 to {kt}",
            tails_first_gap(tp_loss))}


def _share_tests(diffs) -> dict:
    """Share -> ``(t, p)`` of the one-sided t-test over seeds, for every column of ``diffs`` but the first."""
    return {f: one_sided_t(diffs[f].to_numpy()) for f in list(diffs.columns)[1:]}


def sweep_verdicts(diffs, total_docs: int, alpha: float = ALPHA) -> dict[float, Verdict]:
    """One verdict per synthetic share (reported): the share raises val_bpb on real text above all-real training.

    ``diffs``: one row per seed (the index), one column per share, the first the all-real baseline (0.0); each
    cell is val_bpb at that share minus all-real for the same seed. Each share gets a one-sided paired t-test
    over the seeds, and Holm's correction over the shares decides which hold at family-wise ``alpha``.
    ``total_docs``: the size of each training set (for the count of synthetic documents in the detail).
    With fewer than two seeds there is nothing to test: an empty dict."""
    shares = list(diffs.columns)
    if not shares or shares[0] != 0.0:
        raise ValueError(f"the first column of diffs must be the all-real baseline 0.0, got {shares[:1]}")
    seeds = diffs.index.tolist()
    n = len(seeds)
    if n < 2:
        return {}
    tests = _share_tests(diffs)
    sig = holm({f: p for f, (t, p) in tests.items()}, alpha)
    return {f: record("04", f"A synthetic share of {f:g} raises val_bpb on real text above all-real training",
                      f"val_bpb at share {f:g} minus all-real, paired by seed", diffs[f].tolist(),
                      f"one-sided paired t-test over {n} seeds, Holm-corrected over {len(tests)} shares", alpha, seeds,
                      holds=bool(sig[f]), p_value=p,
                      false_positive_rate=f"5% family-wise over the {len(tests)} shares, normal seed noise",
                      detail=f"t = {t:.1f}; mean {diffs[f].mean():+.4f} bits/byte; "
                             f"{round(f * total_docs)} synthetic docs of {total_docs}")
            for f, (t, p) in tests.items()}


def sweep_test_table(diffs, verdicts: dict[float, Verdict]):
    """The sweep's tests as columns, one row per share in ``diffs``' columns (the baseline first): ``t``,
    ``p (one-sided)`` and ``beyond seed noise (Holm)`` (``verdicts``: :func:`sweep_verdicts`'s); join it to
    a table indexed by share."""
    import pandas as pd
    tests = _share_tests(diffs)
    shares = list(diffs.columns)
    return pd.DataFrame({"t": [np.nan] + [tests[f][0] for f in shares[1:]],
                         "p (one-sided)": [np.nan] + [tests[f][1] for f in shares[1:]],
                         "beyond seed noise (Holm)": ["(baseline)"] + [verdicts[f].holds for f in shares[1:]]},
                        index=pd.Index(shares, name=diffs.columns.name))
