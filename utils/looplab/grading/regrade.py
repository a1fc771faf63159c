"""Re-grading an experiment loop's claims from outside it (lesson 05, on lesson 03's ledger).

The "improvements" a loop kept were chosen on its own validation measurement, on one seed: the
selection itself favours lucky draws (the winner's curse). :func:`regrade` trains each claimed
config again with seeds the loop never used and scores it on the sealed test split
(:meth:`looplab.data.Splits.sealed_test`, every read with its reason); :func:`pick_claims` picks
the few claims a report would quote (the best kept runs), so the re-grade fits a lesson's time
however long the ledger is.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..checks import whole
from ..research.ledger import BASELINE, KEPT, RUN_STATUSES


def kept_records(records: Sequence[dict]) -> list[dict]:
    """The loop's kept "improvements", in ledger order."""
    return [r for r in records if r.get("status") == KEPT]


def regrade(records: Sequence[dict], test_fn: Callable[[Mapping, int], float], base_config: Mapping,
            fresh_seeds: Sequence[int], progress: bool = True, claims: Sequence[dict] | None = None):
    """Re-evaluate every kept config of a loop's ledger on the sealed test split with fresh seeds.

    ``test_fn(config, seed) -> test_bpb`` trains ``config`` with ``seed`` and scores the sealed
    test split (e.g. ``looplab.research.runner.Runner.test``). The baseline config gets the same
    fresh seeds. For each kept record the table gives the gain the loop *claimed* (baseline mean
    val_bpb minus the record's val_bpb, on one seed) and the gain *measured* here (baseline mean
    test_bpb minus the config's mean test_bpb over fresh seeds), with the standard error of that
    difference; ``holds`` is True when the measured gain exceeds 2 standard errors.
    ``claims``: the records to re-grade (default: the kept ones; pass, say, the loop's best run
    when nothing was kept -- the number a report would quote).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    seeds = [int(s) for s in fresh_seeds]
    if len(seeds) < 2:
        raise ValueError(f"fresh_seeds={fresh_seeds!r}: need at least 2 seeds to measure a spread")
    kept = kept_records(records) if claims is None else list(claims)
    for r in kept:
        if "config" not in r or "val_bpb" not in r:
            raise ValueError(f"claim {r.get('exp')!r} has no config / val_bpb to re-grade")
    base_vals = [r["val_bpb"] for r in records if r.get("status") == BASELINE]
    if not base_vals:
        raise ValueError("the ledger has no baseline records: nothing to measure the claims against")
    base_val = float(np.mean(base_vals))
    used = {r.get("seed") for r in records if "seed" in r}
    if used & set(seeds):
        raise ValueError(f"fresh_seeds {sorted(used & set(seeds))} were already used by the loop; pick unseen seeds")
    jobs = [("baseline", dict(base_config))] + [(r.get("exp"), dict(r["config"])) for r in kept]
    bar = tqdm(total=len(jobs) * len(seeds), desc="re-grade on sealed test", disable=not progress, leave=False)
    tests = {}
    for key, cfg in jobs:
        vals = []
        for s in seeds:
            vals.append(float(test_fn(cfg, s)))
            bar.update(1)
        tests[key] = np.array(vals)
    bar.close()
    b = tests["baseline"]
    rows = []
    for r in kept:
        t = tests[r.get("exp")]
        se = math.sqrt(t.var(ddof=1) / len(t) + b.var(ddof=1) / len(b))
        gain = float(b.mean() - t.mean())
        rows.append({"exp": r.get("exp"), "proposer": r.get("proposer"), "status": r.get("status"),
                     "changes": ", ".join(f"{k}={v}" for k, v in (r.get("changes") or {}).items()),
                     "claimed_val_bpb": float(r["val_bpb"]), "claimed_gain": base_val - float(r["val_bpb"]),
                     "test_bpb_mean": float(t.mean()), "test_bpb_sd": float(t.std(ddof=1)),
                     "measured_gain": gain, "gain_se": se, "holds": bool(gain > 2 * se)})
    df = pd.DataFrame(rows)
    df.attrs["baseline_test_bpb"] = b.tolist()
    df.attrs["baseline_val_bpb_mean"] = base_val
    return df


def pick_claims(records: Sequence[dict], max_claims: int = 3) -> list[dict]:
    """The claims worth re-grading: the ``max_claims`` best kept runs by val_bpb (ledger order kept).

    Two kept runs of the same config (two proposers that found the same edit) count once.

    When nothing was kept, the single best-looking finished run (the number a report would quote).
    A ledger of 100+ runs thus costs at most ``max_claims`` re-grades.
    """
    whole("max_claims", max_claims, 1)
    kept = [r for r in kept_records(records) if "val_bpb" in r]
    pool = kept or [r for r in records if r.get("status") in RUN_STATUSES and "val_bpb" in r]
    if not pool:
        return []
    best, seen = [], set()
    for r in sorted(pool, key=lambda r: float(r["val_bpb"])):       # one claim per distinct config
        key = json.dumps(r["config"], sort_keys=True, default=str) if "config" in r else id(r)
        if key not in seen:
            seen.add(key)
            best.append(r)
    best = best[:max_claims if kept else 1]
    ids = {id(r) for r in best}
    return [r for r in pool if id(r) in ids]
