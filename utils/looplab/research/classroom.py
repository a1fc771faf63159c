"""The class as one experiment: fill a class store with simulated learners, re-grade every
learner's kept claims together, and plot claimed against measured gain for the whole room.

One loop's kept "improvements" are few, and each was chosen because it looked best on one seed;
thirty loops' claims, pooled and re-graded with seeds no loop used on the sealed test split, show
the winner's curse at the scale of a class. The re-grade itself is lesson 05's
(:func:`looplab.grading.regrade.regrade` and :func:`~looplab.grading.regrade.pick_claims`),
applied to each learner's records in a :class:`~looplab.research.store.ClassStore`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .ledger import BASELINE, KEPT
from ..grading.regrade import pick_claims, regrade
from .store import NAME_RULE, ClassStore, check_name
from ..checks import whole

DEFAULT_LEARNERS = ("ada", "grace", "alan")


def learner_loop_seed(name: str, first: int = 10) -> int:
    """The seed of loop 0 of a learner's lesson-03 comparison in class mode (loop i: this + i).

    On a CPU a loop is deterministic given its seed, so a class whose learners all ran seeds 10, 11,
    12 would pool thirty copies of the same three loops and gain no power. Each name gets its own
    block of seeds, ``first + 1000 * (1 + crc32(name) % 99991)``: far above every other seed the
    lesson uses (floor 0-5, null runs 100-123, replications 800-905), the same on every machine.
    Two of 30 names share a block with probability about 0.4%.
    """
    import zlib
    return int(first) + 1000 * (1 + zlib.crc32(check_name(name).encode("utf-8")) % 99991)


def lesson03_ledger_path(scale: str) -> Path:
    """The JSONL file lesson 03 writes its ledger to at ``scale`` (lesson 05 re-grades it from there)."""
    from ..files import runs_dir
    return runs_dir("03", scale) / "ledger.jsonl"


def lesson03_ledger(default_path, loop: str = "lesson03"):
    """Where lesson 03 writes its ledger, its first loop seed, and a sentence that says which.

    With ``LOOPLAB_CLASS_STORE`` set (a SQLite path or a ``postgresql://`` URL) and
    ``LOOPLAB_LEARNER`` (the learner's chosen name), the class store, under that name, with the
    learner's own loop seeds (:func:`learner_loop_seed`); the loop resumes what the learner already
    logged there. Otherwise ``default_path``, a fresh JSONL file (an older one is removed), and
    loop seeds from 10.
    """
    import os
    from pathlib import Path

    from .store import mask_url, open_store
    target = os.environ.get("LOOPLAB_CLASS_STORE")
    if target:
        if not os.environ.get("LOOPLAB_LEARNER"):
            raise ValueError("LOOPLAB_CLASS_STORE is set but LOOPLAB_LEARNER is not: set it to your chosen "
                             f"name ({NAME_RULE}) before starting Jupyter")
        store = open_store(target, loop=loop)
        seed0 = learner_loop_seed(store.learner)
        return store, seed0, (f"class mode: this lesson's experiments go to the class store {mask_url(target)} "
                              f"as learner {store.learner!r}; your comparison's loops train with seeds "
                              f"{seed0}, {seed0 + 1}, ... (your own, so that the class's loops differ)")
    path = Path(default_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path, 10, (f"this lesson's ledger: {path} (a fresh file; set LOOPLAB_CLASS_STORE and LOOPLAB_LEARNER "
                      "to write to a class store instead)")


def class_runner(scale: str = "smoke", steps: int | None = None):
    """Lesson 03's runner at ``scale``: the FLOPs of ``steps`` (default ``experiment_steps``) steps of
    the reference model per experiment. The class's loops and the re-grade must use the same one."""
    from ..config import get_scale
    from .runner import Runner
    sc = get_scale(scale)
    return Runner(sc, steps=steps, eval_batches=1 if sc.name == "smoke" else None)


def simulate_class(target, learners: Sequence[str] = DEFAULT_LEARNERS, experiments: int = 3,
                   replicates: int = 2, k: float = 0.0, runner=None, verbose: bool = False,
                   loops: int = 2, families: Sequence[str] = ("random", "hill-climb")) -> ClassStore:
    """Each learner runs tiny real lesson-03 loops into the class store at ``target`` (loop "lesson03").

    As in lesson 03's class mode: a noise floor of ``replicates`` baseline seeds from lesson 03's
    start, then ``loops`` matched loops of every family in ``families`` (named ``family#i``, loop i
    trained with the learner's own seed :func:`learner_loop_seed` + i), ``experiments`` each.
    ``k = 0`` is the naive keep rule (any gain is kept), which gives the re-grade claims to test. A
    learner already in the store resumes (the loop reads its records back).
    """
    from .compare import loop_name
    from .loop import ResearchLoop
    from .proposers import HillClimbProposer, RandomProposer, TPEProposer
    from .signoff import AutoApprove
    from .spec import default_space
    if not learners:
        raise ValueError("learners=() : a class needs at least one learner's name")
    whole("experiments", experiments, 1)
    whole("loops", loops, 1)
    kinds = {"random": RandomProposer, "hill-climb": HillClimbProposer, "tpe": TPEProposer}
    bad = [f for f in families if f not in kinds]
    if bad or not families:
        raise ValueError(f"families={list(families)!r}: simulate with some of {sorted(kinds)} (the LLM's are lesson 03's own)")
    runner = runner or class_runner()
    space = default_space(dict(runner.scale.loop.experiment_base))     # lesson 03's start
    store = None
    for name in learners:
        store = ClassStore(target, learner=name, loop="lesson03")
        seed0 = learner_loop_seed(name)
        quiet = dict(signoff=AutoApprove(announce=False), verbose=verbose, budget=runner.describe())
        ResearchLoop(space, runner, store, k=k, seed=0, **quiet).baseline(replicates, progress=False)
        for i in range(loops):
            lp = ResearchLoop(space, runner, store, k=k, seed=seed0 + i, **quiet)
            for fam in families:
                prop = kinds[fam](seed=i)
                prop.name = loop_name(fam, i)
                lp.run(prop, experiments, progress=False)
    return store


def room_comparison(store: ClassStore, loop: str = "lesson03", alpha: float = 0.05):
    """Lesson 03's comparison with the whole room's loops: random search against each proposer.

    Every learner's matched loops (``family#i``, all trained with that loop's seed) are paired with
    the same learner's random-search loop i; the difference of their final best val_bpb (random −
    X, positive: X better) is tested by a two-sided paired t-test over all the room's pairs, with
    Holm's correction across the proposers. Loops on the same seeds as another learner's give the
    same numbers (training is deterministic), so a (family, seed) already counted is counted once,
    and the result says how many were dropped. Returns ``(loops_table, tests)``.
    """
    import numpy as np
    import pandas as pd

    from ..stats import holm, paired_t
    from .compare import loop_table, split_name
    everything = store.class_records(loop=loop)
    tables, seen, dropped = [], set(), 0
    for learner in sorted({r["learner"] for r in everything}):
        recs = [r for r in everything if r["learner"] == learner]
        base = [r["val_bpb"] for r in recs if r.get("status") == BASELINE]
        named = {r["proposer"]: r.get("seed") for r in recs if "#" in str(r.get("proposer")) and "seed" in r}
        fams = sorted({split_name(p)[0] for p in named})
        if not base or "random" not in fams:
            continue
        n = 1 + max(split_name(p)[1] for p in named)
        t = loop_table(recs, fams, n, float(np.mean(base)))
        t = t[t["runs"] > 0].copy()
        t["seed"] = [named.get(f"{f}#{i}") for f, i in zip(t["family"], t["loop"])]
        keep = []
        for _, row in t.iterrows():
            key = (row["family"], row["seed"])
            keep.append(key not in seen)
            dropped += key in seen
            seen.add(key)
        t = t[keep]
        t.insert(0, "learner", learner)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["learner", "family", "loop", "seed", "final best val_bpb"])
    rows = []
    rand = table[table["family"] == "random"]
    for fam in [f for f in table["family"].unique() if f != "random"]:
        m = rand.merge(table[table["family"] == fam], on=["learner", "loop"], suffixes=(" random", ""))
        d, tt, p = paired_t(m["final best val_bpb random"], m["final best val_bpb"]) if len(m) >= 2 else (
            float("nan"), float("nan"), float("nan"))
        rows.append({"proposer": fam, "paired loops": len(m), "learners": int(m["learner"].nunique()),
                     "random − X (mean)": d, "t": tt, "p (two-sided)": p})
    tests = pd.DataFrame(rows)
    if len(tests):
        sig = holm({r["proposer"]: r["p (two-sided)"] for r in rows if r["p (two-sided)"] == r["p (two-sided)"]}, alpha)
        tests["Holm-significant"] = [bool(sig.get(f, False)) for f in tests["proposer"]]
        tests = tests.set_index("proposer")
    tests.attrs.update(dropped_same_seed=dropped, alpha=alpha)
    return table, tests


def _memo(test_fn: Callable[[Mapping, int], float]) -> Callable[[Mapping, int], float]:
    """``test_fn`` computed once per (config, seed): training is deterministic given both, and every
    learner starts from the same baseline config, so the baseline is re-graded once for the class."""
    seen: dict = {}

    def fn(config, seed):
        key = (json.dumps(dict(config), sort_keys=True, default=str), int(seed))
        if key not in seen:
            seen[key] = float(test_fn(config, seed))
        return seen[key]
    fn.calls = seen
    return fn


def loop_baseline(records: Sequence[dict]) -> tuple[dict | None, float | None]:
    """The baseline config a loop measured its floor with, and that run's training FLOPs.

    ``(None, None)`` when the loop logged no baseline; a ``ValueError`` when its baseline runs
    disagree (a loop has one start)."""
    base = [r for r in records if r.get("status") == BASELINE and isinstance(r.get("config"), dict)]
    if not base:
        return None, None
    cfgs = {json.dumps({k: v for k, v in r["config"].items() if k != "seed"}, sort_keys=True) for r in base}
    if len(cfgs) > 1:
        raise ValueError(f"one loop logged {len(cfgs)} different baseline configs: {sorted(cfgs)}")
    flops = base[0].get("flops")
    return json.loads(cfgs.pop()), float(flops) if isinstance(flops, (int, float)) else None


def _refusal(recs: Sequence[dict], base_config: Mapping | None, budget_flops: float | None) -> str | None:
    """Why a loop's claims cannot be re-graded by this runner, or None if they can."""
    cfg, flops = loop_baseline(recs)
    if cfg is None:
        return "no baseline in the store"
    if base_config is not None:
        want = {k: v for k, v in dict(base_config).items() if k != "seed"}
        diff = {k: (cfg.get(k), want.get(k)) for k in set(cfg) | set(want) if cfg.get(k) != want.get(k)}
        if diff:
            return ("its loop started from another baseline (field: loop's value, re-grade's value): "
                    + ", ".join(f"{k}: {a!r}, {b!r}" for k, (a, b) in sorted(diff.items())))
    if budget_flops is not None and flops is not None and abs(flops - budget_flops) > 0.01 * budget_flops:
        return (f"its loop trained with another budget ({flops / 1e12:.4f} TFLOP a baseline run, "
                f"the re-grade's runner {budget_flops / 1e12:.4f})")
    return None


def regrade_class(store: ClassStore, test_fn: Callable[[Mapping, int], float], base_config: Mapping | None = None,
                  n_seeds: int = 2, max_claims: int = 2, progress: bool = False,
                  budget_flops: float | None = None):
    """Every learner's best kept claims (at most ``max_claims`` each), re-graded with fresh seeds.

    ``test_fn(config, seed) -> test_bpb`` on the sealed test split (e.g. ``Runner.test``). Fresh
    seeds are chosen above every seed any loop in the store used. Each loop's claims are measured
    against the baseline config that loop logged (read from the store). A loop is refused, not
    re-graded, when its baseline differs from ``base_config`` (if given) or its baseline run's
    training FLOPs differ from ``budget_flops`` by more than 1% (pass the re-grade runner's
    ``flops_budget``): a gain measured from another start or at another budget is not the gain the
    learner claimed. Returns lesson 05's table with ``learner`` and ``loop`` columns;
    ``df.attrs["no_claims"]`` lists the loops that kept nothing, ``df.attrs["refused"]`` maps each
    refused loop to the reason.
    """
    import pandas as pd
    whole("n_seeds", n_seeds, 2, note=" (a spread needs two seeds)")
    everything = store.class_records()
    used = [r["seed"] for r in everything if isinstance(r.get("seed"), int)]
    used += [r["config"]["seed"] for r in everything if isinstance((r.get("config") or {}).get("seed"), int)]
    start = 10_000 * (1 + max(used, default=0) // 10_000)
    seeds = list(range(start, start + n_seeds))
    loops = sorted({(r["learner"], r.get("loop", "main")) for r in everything})
    fn, tables, empty, refused = _memo(test_fn), [], [], {}
    for learner, loop in loops:
        recs = [r for r in everything if r["learner"] == learner and r.get("loop", "main") == loop]
        why = _refusal(recs, base_config, budget_flops)
        if why is not None:
            refused[f"{learner}/{loop}"] = why
            continue
        claims = [r for r in pick_claims(recs, max_claims) if r.get("status") == KEPT]
        if not claims:
            empty.append(f"{learner}/{loop}")
            continue
        df = regrade(recs, fn, loop_baseline(recs)[0], seeds, progress=progress, claims=claims)
        df.insert(0, "loop", loop)
        df.insert(0, "learner", learner)
        tables.append(df)
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["learner", "loop", "exp", "claimed_gain", "measured_gain", "gain_se", "holds"])
    out.attrs.update(fresh_seeds=seeds, no_claims=empty, refused=refused, test_runs=len(fn.calls))
    return out


def share_that_holds(df) -> float:
    """The share of the class's re-graded claims whose measured gain exceeds 2 standard errors."""
    if not len(df):
        raise ValueError("no claims were re-graded: the share that holds is undefined")
    return float(df["holds"].mean())


def room_winners_curse(df, level: float = 0.9, reps: int = 2000, seed: int = 0) -> dict:
    """The room's winner's curse: how much the class's claims shrank when re-graded, with an interval.

    ``df`` is :func:`regrade_class`'s table. The shrink of a claim is its claimed gain (the loop's own
    validation, one seed) minus its measured gain (sealed test, fresh seeds). A learner's claims
    share a loop, a baseline and a noise floor, so they are not independent: the interval is a
    percentile bootstrap that resamples *learners* (each with all of their claims), and falls back
    to resampling claims, saying so, when one learner is all the room has.
    """
    import numpy as np
    from ..stats import bootstrap_ci
    if not len(df):
        raise ValueError("no claims were re-graded: the room's winner's curse is undefined")
    shrink = (df["claimed_gain"] - df["measured_gain"]).to_numpy(dtype=float)
    learners = df["learner"].to_numpy()
    names = sorted(set(learners))
    out = {"claims": len(df), "learners": len(names), "level": level,
           "mean_claimed": float(df["claimed_gain"].mean()), "mean_measured": float(df["measured_gain"].mean()),
           "mean_shrink": float(shrink.mean()), "share_holds": share_that_holds(df)}
    if len(names) >= 2:
        rows = [np.flatnonzero(learners == n) for n in names]
        pooled = lambda idx: float(np.mean(np.concatenate([shrink[rows[int(i)]] for i in idx])))
        out["interval"] = bootstrap_ci(range(len(names)), stat=pooled, level=level, reps=reps, seed=seed)
        out["resampled"] = "learners"
    elif len(shrink) >= 2:
        out["interval"] = bootstrap_ci(shrink, level=level, reps=reps, seed=seed)
        out["resampled"] = "claims (one learner only: its claims are not independent, read it as rough)"
    else:
        out["interval"], out["resampled"] = (float("nan"), float("nan")), "nothing (a single claim)"
    return out


def plot_class(df, ax=None):
    """Claimed (x) vs measured (y) gain per claim, 2-standard-error bars, one colour per learner."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    for learner, g in df.groupby("learner"):
        ax.errorbar(g["claimed_gain"], g["measured_gain"], yerr=2 * g["gain_se"], fmt="o", capsize=3,
                    label=learner)
    lo = min(0.0, float(df[["claimed_gain", "measured_gain"]].min().min()))
    hi = max(0.0, float(df[["claimed_gain", "measured_gain"]].max().max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = claimed")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("claimed gain (bits/byte, the loop's own validation, one seed)")
    ax.set_ylabel("measured gain (sealed test, fresh seeds)")
    ax.set_title(f"The class's claims: {share_that_holds(df):.0%} of {len(df)} hold beyond 2 SE")
    ax.legend(fontsize=8)
    return ax
