"""Lesson 05's exploration (issue 27): which grader restores quality, at what pressure and knowledge?

    .venv/bin/python bench/explore_grading.py --scale workshop --seeds 100-107 --writer-seed 1 \
        --generations 3 --strategies real,replace,self,ngram-more,ratio,disc,words --tag main

Runs lesson 05's collapse chains (``looplab.grading.strategies.run_strategies``) for candidate graders on
seeds DISJOINT from the lesson's (the lesson: writer seed 0, chain seeds 0..grading.seeds-1; here by
default writer seed 1 and chain seeds 100+), and writes, per strategy, the last generation's
paired difference against ``replace`` (positive: the filter ends better on real val text), its
spread, wins, the exact sign-flip p over these seeds, the recovered share of replace's damage
and the **power at the lesson's seed count**: the share of 20,000 draws of ``--power-n`` seeds
(resampled from these paired differences) for which the exact one-sided sign-flip test gives
p <= 0.05. Tables go to ``bench/results/explore_grading_<tag>.csv`` (one row per strategy) and
``..._runs.csv`` (every chain's per-generation rows); the chains are saved under
``build/bench/explore_grading/`` and resumed if the script is interrupted.

Grader keys (``--strategies``):

* ``real`` / ``replace`` -- the references (fresh real documents; a random share of the samples);
* ``self`` -- the writer's own likelihood; ``ngram-more`` -- an order-6 byte n-gram fitted on the
  graders' slice (the likelihood filters of the lesson's first design, kept as controls);
* ``ratio`` -- ``ngram-more`` minus the writer's log-likelihood per byte (``RatioGrader``);
* ``disc`` -- a cross-fitted real-vs-synthetic classifier (``looplab.grading.discriminator``): an order-3
  byte n-gram of the graders' slice against one of the batch, log-odds per byte;
* ``words`` -- the share of a document's words found in the graders' slice (a checkable property);
* ``<key>-q<p>`` -- the same grader with only ``p`` % of the graders' slice (its *knowledge*);
* ``<key>-p<x>`` -- the same grader at selection pressure ``x`` (candidates per kept document).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def seeds_arg(s: str) -> list[int]:
    if "-" in s:
        a, b = s.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in s.split(",")]


def sign_flip_power(diffs: np.ndarray, n: int, draws: int = 20_000, alpha: float = 0.05, seed: int = 0) -> float:
    """Share of bootstrap draws of ``n`` paired differences whose exact one-sided sign-flip p <= alpha."""
    from looplab.stats import sign_flip_test
    rng = np.random.default_rng(seed)
    hits = 0
    cache: dict[tuple, bool] = {}
    for _ in range(draws):
        idx = tuple(sorted(rng.integers(0, len(diffs), n)))
        if idx not in cache:
            cache[idx] = sign_flip_test(diffs[list(idx)], "greater") <= alpha
        hits += cache[idx]
    return hits / draws


def normal_fit_power(diffs: np.ndarray, n: int, draws: int = 20_000, alpha: float = 0.05, seed: int = 0) -> float:
    """Share of ``n`` normal draws (the mean and sd of ``diffs``) whose exact one-sided sign-flip p <= alpha.

    Unlike :func:`sign_flip_power`, it does not assume the next seeds repeat the search's own values:
    with every search difference positive, resampling them gives 100% by construction."""
    from looplab.stats import sign_flip_test
    rng = np.random.default_rng(seed)
    m, sd = float(np.mean(diffs)), float(np.std(diffs, ddof=1))
    return float(np.mean([sign_flip_test(rng.normal(m, sd, n), "greater") <= alpha for _ in range(draws)]))


def power_table(runs_csv: Path, ns=(5, 6)) -> None:
    """The lesson's comparisons at the search's last generation, with their power at each seed count."""
    import pandas as pd
    runs = pd.read_csv(runs_csv)
    w = runs[runs["generation"] == runs["generation"].max()].pivot(index="seed", columns="strategy", values="val_bpb")
    pairs = {"C1 real vs replace": ("replace", "real"), "C2 disc vs replace": ("replace", "disc"),
             "C4 disc vs self": ("self", "disc")}
    print(f"{runs_csv.name}: seeds {list(w.index)}, generation {runs['generation'].max()}")
    for name, (worse, better) in pairs.items():
        d = (w[worse] - w[better]).to_numpy()
        cells = ", ".join(f"n={n}: normal fit {normal_fit_power(d, n):.0%}, resampled {sign_flip_power(d, n):.0%}" for n in ns)
        print(f"  {name}: {d.mean():+.3f} +- {d.std(ddof=1):.3f}; {cells}")


def build_graders(keys, grader_text: str, seed: int):
    """Grader objects (or factories) for the strategies' keys; ``-q<p>`` keeps p % of the slice."""
    from looplab import grading as gr
    from looplab.grading.discriminator import DiscriminatorGrader
    out = {}
    for key in keys:
        m = re.fullmatch(r"(ngram-more|ratio|disc|words)(?:-q(\d+))?(?:-p[\d.]+)?", key)
        if not m:
            continue
        kind, q = m.group(1), int(m.group(2) or 100)
        text = grader_text[: max(2000, len(grader_text) * q // 100)]
        gkey = f"{kind}-q{q}"
        if kind in ("ngram-more", "ratio"):
            out[f"ng-q{q}"] = gr.NGramGrader(text.encode(), order=6, name=f"ngram-q{q}")
        elif kind == "disc":
            out[gkey] = DiscriminatorGrader(text, name=gkey, seed=seed)
        elif kind == "words":
            out[gkey] = gr.ReferenceGrader(text, name=gkey)
    return out


def strategy_for(key: str, keep: float):
    from looplab import grading as gr
    m = re.fullmatch(r"(real|replace|self|ngram-more|ratio|disc|words)(?:-q(\d+))?(?:-p([\d.]+))?", key)
    if not m:
        raise SystemExit(f"unknown strategy {key!r}; see the script's docstring")
    kind, q, p = m.group(1), int(m.group(2) or 100), m.group(3)
    pressure = float(p) if p else 1 / keep
    if kind in ("real", "replace"):
        return gr.Strategy(key, kind, None)
    grader = {"self": "self", "ngram-more": f"ng-q{q}", "ratio": f"ratio:ng-q{q}",
              "disc": f"disc-q{q}", "words": f"words-q{q}"}[kind]
    return gr.Strategy(key, "replace", grader, pressure)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="workshop")
    p.add_argument("--seeds", default="100-107")
    p.add_argument("--writer-seed", type=int, default=1)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--keep", type=float, default=None)
    p.add_argument("--docs", type=int, default=None, help="documents sampled per generation (default: the scale's)")
    p.add_argument("--strategies", default="real,replace,self,ngram-more,ratio,disc,words")
    p.add_argument("--power-n", type=int, default=None, help="the lesson's seed count (default: scale.grading.seeds)")
    p.add_argument("--tag", default="main")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--power-only", type=Path, default=None,
                   help="no runs: print the comparisons' power at 5 and 6 seeds from a search's *_runs.csv")
    a = p.parse_args(argv)
    if a.power_only is not None:
        power_table(a.power_only)
        return 0

    from _common import load_note, machine, setup_bench
    setup_bench()
    from looplab import collapse, grading as gr
    from looplab.config import SCALES
    from looplab.data import default_splits

    sc = SCALES[a.scale]
    keep = a.keep or sc.grading.keep
    seeds = seeds_arg(a.seeds)
    n_power = a.power_n or sc.grading.seeds
    if a.writer_seed == 0 or set(seeds) & set(range(sc.grading.seeds)):
        print("warning: these seeds overlap the lesson's (writer 0, chains 0..grading.seeds-1)")
    splits = default_splits("kjv", sc.tiny.corpus_max_bytes)
    chain_splits, grader_tokens = gr.grader_split(splits, frac=sc.grading.grader_frac)
    grader_text = collapse.decode_tokens(grader_tokens)
    over = dict(generations=a.generations, gen0_seed=a.writer_seed)
    if a.docs:
        over.update(docs=a.docs, last_docs=max(1, a.docs // 4))
    base = gr.lesson_chain(sc, **over)
    keys = a.strategies.split(",")
    strats = [strategy_for(k, keep) for k in keys]
    if "replace" not in keys:
        raise SystemExit("--strategies must include replace (every comparison is against it)")
    graders = build_graders(keys, grader_text, a.writer_seed)
    out_dir = ROOT / "build" / "bench" / "explore_grading" / f"{a.scale}-w{a.writer_seed}-g{a.generations}-k{keep:g}-d{base.docs}-wu{base.warmup_frac}"
    print(f"{machine()}; {load_note()}")
    print(f"{len(strats)} strategies x {len(seeds)} seeds, {a.generations} generations, keep {keep:g}, "
          f"writer seed {a.writer_seed}; chains under {out_dir}", flush=True)
    t0 = time.time()
    runs = []
    for s in seeds:                 # seed by seed, so a table exists after every seed
        runs += gr.run_strategies(base, strats, [s], chain_splits, keep=keep, graders=graders, out_dir=out_dir,
                                  fresh=a.fresh, progress=False,
                                  gen0={seeds[0]: runs[0].chain} if runs else None)
        table = gr.strategy_table(runs)
        last = table[table.generation == table.generation.max()]
        print(f"seed {s} done ({time.time() - t0:.0f} s): "
              + ", ".join(f"{k} {v:.3f}" for k, v in last[last.seed == s].set_index("strategy").val_bpb.items()),
              flush=True)
    table = gr.strategy_table(runs)
    res = ROOT / "bench" / "results"
    res.mkdir(exist_ok=True)
    table.drop(columns=[c for c in table.columns if c not in (
        "strategy", "seed", "generation", "val_bpb", "rare_survival", "entropy_bits", "distinct_4", "vocab",
        "real_word_rate")]).to_csv(res / f"explore_grading_{a.tag}_runs.csv", index=False)
    rows = []
    for st in strats:
        if st.name == "replace":
            continue
        c = gr.compare(table, st.name, "replace")
        d = np.asarray(c["diffs"])
        r = gr.recovered_share(table, st.name, target="real") if "real" in keys and st.name != "real" else {}
        rows.append({"strategy": st.name, "grader": st.grader, "pressure": st.pressure, "generations": a.generations,
                     "keep": keep, "writer_seed": a.writer_seed, "seeds": f"{seeds[0]}-{seeds[-1]}", "n": len(d),
                     "mean_diff_vs_replace": d.mean(), "sd": d.std(ddof=1), "wins": c["wins"], "p_sign_flip": c["p_value"],
                     "recovered_share": r.get("share"), "share_lo": r.get("lo"), "share_hi": r.get("hi"),
                     f"power_at_n{n_power}": sign_flip_power(d, n_power)})
    import pandas as pd
    summary = pd.DataFrame(rows)
    summary.to_csv(res / f"explore_grading_{a.tag}.csv", index=False)
    pd.set_option("display.width", 200)
    print(summary.round(4).to_string(index=False))
    print(f"damage (replace - real): "
          f"{(gr.last_values(table, 'replace') - gr.last_values(table, 'real')).mean():.4f}" if "real" in keys else "")
    print(f"total {time.time() - t0:.0f} s; {machine()}; {load_note()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
