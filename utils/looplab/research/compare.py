"""Reading a proposer comparison honestly: best-so-far curves, per-loop tables, paired tests, the screen.

Proposers run as several independent loops each (``"<family>#<loop>"`` in the ledger; loop ``i``
trains every experiment with seed ``i``, so loop ``i`` of two families is a matched pair). All
functions read the ledger's records (``Ledger.records()``), never a notebook's variables.
"""
from __future__ import annotations

import json
import math
from typing import Mapping, Sequence

from ..stats import holm, paired_t
from .ledger import DISCARDED, FAILED, KEPT, REJECTED, SLOT_DONE_STATUSES

RUNS = SLOT_DONE_STATUSES


def loop_name(family: str, i: int) -> str:
    return f"{family}#{i}"


def split_name(name: str) -> tuple[str, int]:
    family, _, i = str(name).rpartition("#")
    return (family, int(i)) if family and i.isdigit() else (str(name), 0)


def best_so_far(records: Sequence[Mapping], proposer: str, start: float, slots: int) -> list[float]:
    """The loop's best (kept) val_bpb after each of ``slots`` slots, starting from ``start``."""
    best, out = start, []
    for r in records:
        if r.get("proposer") != proposer:
            continue
        if r.get("status") == KEPT:
            best = r["val_bpb"]
        if r.get("status") in RUNS or (r.get("status") == REJECTED and r.get("slot_done")):
            out.append(best)
    out = out[:slots]
    return out + [best] * (slots - len(out))


def loop_table(records: Sequence[Mapping], families: Sequence[str], loops: int, start: float):
    """One row per (family, loop): final best, kept, invalid and crash rates, training and LLM FLOPs."""
    import pandas as pd
    rows = []
    for fam in families:
        for i in range(loops):
            name = loop_name(fam, i)
            mine = [r for r in records if r.get("proposer") == name]
            runs = [r for r in mine if r.get("status") in RUNS]
            proposals = [r for r in mine if r.get("status") in RUNS + (REJECTED,)]
            kept = [r for r in mine if r.get("status") == KEPT]
            llm = [r.get("llm") or {} for r in mine]
            rows.append({"family": fam, "loop": i, "final best val_bpb": min([start] + [r["val_bpb"] for r in kept]),
                         "gain vs baseline": start - min([start] + [r["val_bpb"] for r in kept]),
                         "runs": len(runs), "kept": len(kept),
                         "invalid rate": sum(r["status"] == REJECTED for r in proposals) / max(1, len(proposals)),
                         "crash rate": sum(r["status"] == FAILED for r in runs) / max(1, len(runs)),
                         "train TFLOP": sum(r.get("flops") or 0 for r in runs) / 1e12,
                         "LLM TFLOP": sum(x.get("flops") or 0 for x in llm) / 1e12})
    return pd.DataFrame(rows)


def family_summary(table):
    """Mean and SD over loops of each family's final best and gain; rates and compute summed."""
    g = table.groupby("family", sort=False)
    out = g.agg(**{"final best (mean)": ("final best val_bpb", "mean"), "final best (sd)": ("final best val_bpb", "std"),
                   "gain (mean)": ("gain vs baseline", "mean"), "kept (total)": ("kept", "sum"),
                   "runs (total)": ("runs", "sum"), "invalid rate": ("invalid rate", "mean"),
                   "crash rate": ("crash rate", "mean"), "train TFLOP": ("train TFLOP", "sum"),
                   "LLM TFLOP": ("LLM TFLOP", "sum")})
    return out


def vs_random(table, families: Sequence[str], alpha: float = 0.05):
    """Each family after the first (random search) against random, paired over loops by loop number.

    One row per proposer X of ``table`` (:func:`loop_table`): the mean over loops of *random − X* in final
    best val_bpb (positive: X did better), its paired t and two-sided p, and whether it is significant
    under Holm's correction across the comparisons at family-wise ``alpha``.
    """
    import pandas as pd
    if len(families) < 2 or families[0] != "random":
        raise ValueError(f"families must start with 'random' and name at least one more, got {list(families)}")

    def finals(fam):
        return table[table.family == fam].sort_values("loop")["final best val_bpb"].to_numpy()
    tests = {fam: paired_t(finals("random"), finals(fam)) for fam in families[1:]}
    sig = holm({f: t[2] for f, t in tests.items()}, alpha)
    rows = [{"proposer": f, "random − X (mean)": d, "t": t, "p (two-sided)": p, "Holm-significant": sig[f]}
            for f, (d, t, p) in tests.items()]
    return pd.DataFrame(rows).set_index("proposer")


def beats_random(tests) -> tuple[list[str], list[str]]:
    """The proposers of ``tests`` (:func:`vs_random`) Holm-significantly better than random, and worse."""
    sig, d = tests["Holm-significant"], tests["random − X (mean)"]
    return ([f for f in tests.index if sig[f] and d[f] > 0], [f for f in tests.index if sig[f] and d[f] < 0])


def screen_picks(records: Sequence[Mapping], n: int) -> list[Mapping]:
    """``n`` records of distinct configs that ran (the null runs left out), spanning their val_bpb range:
    the best, the worst and evenly between (fewer if fewer distinct configs ran)."""
    import numpy as np
    if n < 1:
        raise ValueError(f"n={n} must be at least 1")
    distinct = {}
    for r in sorted(records, key=lambda r: r.get("val_bpb", 9)):
        if r.get("status") in (KEPT, DISCARDED) and r.get("proposer") != "null" and math.isfinite(r["val_bpb"]):
            distinct.setdefault(json.dumps(r["config"], sort_keys=True), r)
    ordered = list(distinct.values())
    return [ordered[int(j)] for j in np.linspace(0, len(ordered) - 1, min(n, len(ordered)))]


def screen_rates(short: Mapping[str, float], long: Mapping[str, float], base: str, bar: float) -> dict:
    """How good is the short-budget screen? Spearman rho, and its true/false positive rates.

    A config *passes the screen* when its short-budget val_bpb beats the baseline's by more than
    ``bar`` (the keep threshold); it is *truly better* when its long-budget val_bpb beats the
    baseline's long-budget run. Rates are nan where their denominator is empty.
    """
    from scipy import stats
    names = [k for k in short if k in long]
    if len(names) < 3 or base not in names:
        raise ValueError(f"need the baseline {base!r} and at least 3 configs scored at both budgets, got {names}")
    rho = float(stats.spearmanr([short[k] for k in names], [long[k] for k in names]).statistic)
    others = [k for k in names if k != base]
    passed = {k: short[base] - short[k] > bar for k in others}
    good = {k: long[k] < long[base] for k in others}
    pos = [k for k in others if good[k]]
    neg = [k for k in others if not good[k]]
    tpr = sum(passed[k] for k in pos) / len(pos) if pos else float("nan")
    fpr = sum(passed[k] for k in neg) / len(neg) if neg else float("nan")
    return {"spearman": rho, "n": len(names), "truly better": len(pos), "passed": sum(passed.values()),
            "tpr": tpr, "fpr": fpr, "p_good": len(pos) / len(others)}


EXPLORED_ASSET = "loop_exploration_{scale}.json"


def explored(scale_name: str) -> dict | None:
    """The design search's per-loop results for lesson 03 at ``scale_name``, or None if none was run.

    Written by ``bench/explore_loop_headroom.py --export`` from its loops on seeds disjoint from
    the lesson's and shipped in ``looplab/assets`` (a test checks it against the bench's table),
    so that the lesson can compute its comparison's power without the bench folder. Keys:
    ``families``, ``loops``, ``length``, ``seeds``, ``final_best`` (per family, one val_bpb per loop,
    paired by loop seed), ``found`` (whether each loop's choice beat the start by > 3 sigma on fresh
    seeds), ``sigma``, ``screen_power`` (or None), ``source``.
    """
    import json
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "assets" / EXPLORED_ASSET.format(scale=scale_name)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
