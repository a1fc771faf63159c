"""Lesson 05's designed experiment: filters for the collapse chain, the strategies, the comparisons.

1. **Filters** (their home: :mod:`looplab.grading.filters`; the ``select`` hook of
   :func:`looplab.collapse.run_chain`): :class:`TopFraction`
   trains on the best ``keep`` share of a generation's documents by a grader's score, chosen from
   a random *pool* of ``pressure`` candidates per kept document (selection pressure: ``pressure = 1``
   is no selection at all, ``1 / keep`` is the whole batch); :class:`RandomFraction` keeps a random
   share (the no-grader control with the same amount of data).
2. **Strategies** (:class:`Strategy`, :func:`run_strategies`): a chain mode, a grader and a
   pressure. Every strategy samples the same documents per generation and trains on the same
   number of them; chains of one seed share generation 0, so they are matched pairs.
3. **Comparisons** (:func:`paired_diffs`, :func:`compare`, :func:`recovered_share`): the last
   generation's val_bpb on REAL text, seed by seed, with the exact sign-flip test of
   :mod:`looplab.stats` and the share of replace's damage a strategy recovers.

Sources: Feng et al. 2025, "Beyond Model Collapse: Scaling Up with Synthesized Data Requires
Verification", ICLR (arXiv:2406.07515); Yi et al. 2026, "Escaping Model Collapse via Synthetic
Data Verification", ICLR (arXiv:2510.16657); Gerstgrasser et al. 2024 (arXiv:2404.01413).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .filters import RandomFraction, TopFraction, check_keep, check_pressure
from .graders import Grader, RatioGrader, SelfGrader


# ============================================================================================
# 2. Strategies
# ============================================================================================

@dataclass(frozen=True)
class Strategy:
    """One cell of the design: a chain mode, a grader (or none) and a selection pressure.

    ``grader``: ``None`` (a random share), ``"self"`` (the writer's own likelihood) or a key of the
    ``graders`` mapping given to :func:`run_strategies`. ``pressure``: candidates per kept
    document (``None``: the whole batch). ``generations``: this cell's chain length (``None``: the
    base chain's); a ``"real"`` cell trains every later generation the same way, on fresh real
    documents, so one generation after the writer measures it as well as two, for half the cost.
    Comparisons read each strategy at its own last generation.
    """

    name: str
    mode: str                  # "replace" | "accumulate" (see looplab.collapse.ChainConfig)
    grader: str | None = None
    pressure: float | None = None
    varies: str = ""           # what this cell varies against its neighbour in the design
    generations: int | None = None


def lesson_chain(scale, **overrides):
    """Lesson 05's chain config for a :class:`looplab.config.Scale`: lesson 04's chain with the
    ``grading_*`` sizes (generations, depth, steps and generation 0's steps, batch, real and sampled
    documents and their length). Every seed shares one writer (generation 0 trains with seed 0:
    training it is most of the lesson's compute) and differs in what it samples and everything
    after; the last generation samples a quarter of ``docs`` (only its text is measured).
    Every generation warms its learning rate up over 15% of its steps (lesson 04's chains: 5%): at
    320 steps on 16 KB, 5% (16 steps) left some trainings stuck on a plateau (one of 16 probe seeds
    ended at 3.45 bits/byte on real text instead of about 2.97, as did one of about 180 trainings in
    the design search and its confirmations; with 15%, 0 of 16: bench/README.md), and one stuck
    student decides a paired comparison over 6 seeds. ``overrides`` win."""
    from ..collapse import ChainConfig
    kw = dict(generations=scale.grading.generations, n_layer=scale.grading.layers, steps=scale.grading.steps,
              warmup_frac=0.15,
              gen0_steps=scale.grading.gen0_steps, gen0_seed=0, last_docs=max(1, scale.grading.docs // 4),
              docs=scale.grading.docs, real_docs=scale.grading.real_docs, batch_size=scale.grading.batch_size,
              doc_bytes=scale.grading.doc_bytes)
    kw.update(overrides)
    return ChainConfig.from_scale(scale, **kw)


@dataclass
class StrategyRun:
    """A finished chain under one strategy: the strategy, the chain and its select hook (with history)."""

    strategy: Strategy
    chain: object               # looplab.collapse.ChainResult
    select: object

    def table(self):
        t = self.chain.table().reset_index()
        t.insert(1, "strategy", self.strategy.name)
        return t


GraderSpec = "Grader | Callable[[object, int], Grader]"


def _grader_for(spec, chain, seed: int) -> Grader:
    """A grader from a mapping value: a Grader, or a factory ``f(gen0_chain, seed) -> Grader``."""
    g = spec if isinstance(spec, Grader) else spec(chain, seed)
    if not isinstance(g, Grader):
        raise TypeError(f"grader factory returned {type(g).__name__}, not a Grader")
    return g


def _writer_of(shared: Mapping, cfg):
    """A chain already run whose generation-0 model ``cfg`` may reuse (same writer seed), or None."""
    for ch in shared.values():
        if ch.gen0_model is not None and cfg.gen0_seed is not None and ch.config.writer_seed == cfg.writer_seed:
            return ch
    return None


def run_strategies(base, strategies: Sequence[Strategy], seeds: Sequence[int], splits, *,
                   keep: float, graders: Mapping | None = None, out_dir=None, fresh: bool = False,
                   progress: bool = True, device: str | None = None,
                   gen0: Mapping[int, object] | None = None) -> list[StrategyRun]:
    """Run every strategy for every seed; chains of one seed share their generation 0.

    ``base``: a :class:`looplab.collapse.ChainConfig` (its ``mode`` and ``seed`` are replaced);
    ``base.docs`` documents are sampled per generation and ``ceil(keep * docs)`` are trained on,
    for every strategy alike. ``graders``: key -> :class:`Grader`, or a factory
    ``f(gen0_chain, seed)`` called once per seed with that seed's generation-0 chain (e.g. an
    n-gram fitted on exactly what the generator saw). A grader key ``"ratio:<key>"`` divides the
    writer's own likelihood out of grader ``<key>`` (:class:`RatioGrader`).
    ``out_dir``: save every chain in ``<out_dir>/<strategy>-s<seed>/`` (resumed unless ``fresh``).
    ``gen0``: chains already run with ``base``'s settings, by seed, whose generation 0 is reused.
    """
    from dataclasses import replace as dc_replace
    from pathlib import Path
    from tqdm.auto import tqdm
    from ..collapse import run_chain

    graders = dict(graders or {})
    for s in strategies:
        if not isinstance(s, Strategy):
            raise TypeError(f"strategies must be Strategy objects, got {s!r}")
        key = s.grader.split(":", 1)[-1] if s.grader else None
        if key not in (None, "self") and key not in graders:
            raise ValueError(f"strategy {s.name}: no grader {s.grader!r} (have: self, {', '.join(graders) or 'none'})")
        check_pressure(s.pressure, check_keep(keep))
    # a strategy graded by the writer itself runs first, so its generation 0 keeps the model in memory
    strats = sorted(strategies, key=lambda s: not (s.grader or "").startswith(("self", "ratio")))
    runs: list[StrategyRun] = []
    jobs = [(seed, s) for seed in seeds for s in strats]
    bar = tqdm(jobs, desc="strategies x seeds", disable=not progress)
    shared: dict[int, object] = dict(gen0 or {})
    built: dict[tuple, Grader] = {}
    for seed, s in bar:
        bar.set_postfix(strategy=s.name, seed=seed)
        cfg = dc_replace(base, mode=s.mode, seed=seed, generations=s.generations or base.generations)
        on_model = None
        if s.grader is None:
            select = RandomFraction(keep, seed=seed)
        else:
            key = s.grader.split(":", 1)[-1]
            if key == "self":
                g = SelfGrader()
            else:
                if (key, seed) not in built:
                    if seed not in shared:      # a factory needs this seed's generation 0 first
                        shared[seed] = run_chain(dc_replace(cfg, generations=1), data=splits, progress=False,
                                                 device=device, share_gen0=_writer_of(shared, cfg))
                    built[(key, seed)] = _grader_for(graders[key], shared[seed], seed)
                g = built[(key, seed)]
            if s.grader.startswith("ratio:"):
                g = RatioGrader(g)
            select = TopFraction(g, keep, pressure=s.pressure, seed=seed)
            on_model = getattr(g, "bind", None)             # the writer grades (or divides out) its own docs
        path = None if out_dir is None else Path(out_dir) / f"{s.name}-s{seed}"
        chain = run_chain(cfg, path, select=select, data=splits, progress=False, device=device,
                          share_gen0=shared.get(seed) or _writer_of(shared, cfg), fresh=fresh and path is not None,
                          on_model=on_model)
        if shared.get(seed) is None or shared[seed].gen0_model is None:
            shared[seed] = chain
        runs.append(StrategyRun(s, chain, select))
    return runs


def strategy_table(runs: Sequence[StrategyRun]):
    """All runs' per-generation rows (val_bpb, rare_survival, ...) with ``strategy`` and ``seed``."""
    import pandas as pd
    return pd.concat([r.table() for r in runs], ignore_index=True)


def last_rows(table):
    """Each strategy's rows at its own last generation (a cell may run a shorter chain)."""
    return table[table["generation"] == table.groupby("strategy")["generation"].transform("max")]


def last_generation_summary(table, metrics: Sequence[str] = ("val_bpb", "rare_survival")):
    """Per strategy, at its last generation: mean, sample sd, min, max and n over seeds."""
    return last_rows(table).groupby("strategy")[list(metrics)].agg(["mean", "std", "min", "max", "count"])


# ============================================================================================
# 3. Paired comparisons over seeds
# ============================================================================================

def last_values(table, strategy: str, metric: str = "val_bpb", generation: int | None = None):
    """``metric`` of ``strategy`` by seed at ``generation`` (default: the strategy's last), a pandas Series."""
    mine = table[table["strategy"] == strategy]
    g = (mine["generation"].max() if len(mine) else table["generation"].max()) if generation is None else generation
    rows = mine[mine["generation"] == g]
    if rows.empty:
        raise ValueError(f"no rows for strategy {strategy!r} at generation {g}; have {sorted(set(table['strategy']))}")
    return rows.set_index("seed")[metric].sort_index()


def paired_diffs(table, better: str, worse: str, metric: str = "val_bpb") -> "np.ndarray":
    """Seed by seed, each at its last generation: ``worse - better`` (positive: ``better`` is lower)."""
    a, b = last_values(table, better, metric), last_values(table, worse, metric)
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        raise ValueError(f"{better!r} and {worse!r} share no seed")
    return (b[seeds] - a[seeds]).to_numpy(dtype=float), seeds


def compare(table, better: str, worse: str, metric: str = "val_bpb", alpha: float = 0.05) -> dict:
    """Is ``better`` lower than ``worse`` at the last generation? Paired over seeds, exact sign-flip test.

    Returns the paired differences (``worse - better``), their mean, the one-sided p-value of
    :func:`looplab.stats.sign_flip_test`, ``holds`` (p <= alpha and mean > 0), the seeds and the
    smallest p the seed count allows.
    """
    from ..stats import min_sign_flip_p, sign_flip_test
    d, seeds = paired_diffs(table, better, worse, metric)
    p = sign_flip_test(d, "greater")
    return {"better": better, "worse": worse, "diffs": d.round(5).tolist(), "mean_diff": float(d.mean()),
            "wins": int((d > 0).sum()), "n": len(d), "p_value": p, "holds": bool(p <= alpha and d.mean() > 0),
            "seeds": seeds, "min_p": min_sign_flip_p(len(d)), "alpha": alpha}


def recovered_share(table, strategy: str, reference: str = "replace", metric: str = "val_bpb",
                    level: float = 0.9, target: str | None = None) -> dict:
    """Share of ``reference``'s damage that ``strategy`` recovers, ``(ref - s) / (ref - target)``.

    ``target``: the strategy that marks "no damage" (lesson 05: ``"real"``, trained like the
    others on as much real text); ``None``: generation 0 of ``reference``.

    Computed from seed means (ratio of mean gain to mean damage; per-seed ratios are unstable when
    one seed's damage is small), with a percentile bootstrap interval over seeds (resampling the
    seed pairs). 1 = as good as ``target``, 0 = no better than ``reference``, < 0 = worse.
    """
    from ..stats import bootstrap_ci
    ref = last_values(table, reference, metric)
    s = last_values(table, strategy, metric)
    g0 = (last_values(table, reference, metric, generation=0) if target is None
          else last_values(table, target, metric))
    seeds = sorted(set(ref.index) & set(s.index) & set(g0.index))
    gain = (ref[seeds] - s[seeds]).to_numpy(float)
    damage = (ref[seeds] - g0[seeds]).to_numpy(float)
    if damage.mean() <= 0:
        return {"strategy": strategy, "share": float("nan"), "lo": float("nan"), "hi": float("nan"),
                "damage": float(damage.mean()), "n": len(seeds)}
    pairs = np.stack([gain, damage], 1)
    idx = np.arange(len(seeds))

    def stat(ix):
        ix = np.asarray(ix, dtype=int)
        dm = pairs[ix, 1].mean()
        return pairs[ix, 0].mean() / dm if dm > 0 else np.nan

    lo, hi = bootstrap_ci(idx, stat=stat, level=level) if len(seeds) >= 2 else (float("nan"), float("nan"))
    return {"strategy": strategy, "share": float(gain.mean() / damage.mean()), "lo": lo, "hi": hi,
            "damage": float(damage.mean()), "n": len(seeds)}
