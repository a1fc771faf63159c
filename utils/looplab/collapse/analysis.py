"""Reading collapse chains (lesson 04): the chains as one table, seed spread, and the small
synthetic-fraction sweep."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..checks import whole
from .chain import ChainResult
from .chain_config import ChainConfig, chain_train_config
from ..config import default_device
from ..data import decode_tokens, default_splits
from .documents import Doc, docs_to_tokens, real_docs

def chains_table(results: Sequence[ChainResult]):
    """Every chain's :meth:`ChainResult.table` stacked, with columns ``chain``, ``mode``, ``seed``."""
    import pandas as pd
    frames = []
    for r in results:
        t = r.table().reset_index()
        t.insert(1, "mode", r.config.mode)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def seed_spread(table, metric: str = "val_bpb", by: str = "mode"):
    """Per ``by`` and generation: mean, min, max and range (max - min) of ``metric`` over seeds."""
    g = table.groupby([by, "generation"])[metric]
    out = g.agg(["mean", "min", "max", "count"])
    out["range"] = out["max"] - out["min"]
    return out


def per_seed_slopes(table, mode: str, metric: str = "val_bpb", first: int = 1):
    """Per seed, the least-squares slope of ``metric`` over generations ``first``..last of a mode's chains.

    ``table`` is :func:`chains_table`'s (filter it first to compare chains over the same
    generations). Returns ``(seeds, slopes)``; each seed needs two generations from ``first`` on.
    """
    wide = table[table["mode"] == mode].pivot_table(index="seed", columns="generation", values=metric)
    gens = [g for g in wide.columns if g >= first]
    if len(gens) < 2:
        raise ValueError(f"a slope needs two generations from {first} on; the chains have {list(wide.columns)}")
    x = np.asarray(gens, dtype=float)
    slopes = np.array([np.polyfit(x, wide.loc[s, gens].to_numpy(float), 1)[0] for s in wide.index])
    return list(wide.index), slopes


def synthetic_fraction_sweep(fractions: Sequence[float], synthetic: Sequence[Doc], config: ChainConfig, *,
                             total_docs: int | None = None, seeds: Sequence[int] = (0,), data=None,
                             progress: bool = True, device: str | None = None):
    """Train one model per (fraction, seed) on a mix of real and synthetic docs; val_bpb on real text.

    Each training set holds ``total_docs`` documents (default ``4 * config.docs``), of which
    ``round(f * total_docs)`` are synthetic (drawn without replacement from ``synthetic``), the
    rest real (random line-start windows of the real training split). Runs of one seed are paired
    as tightly as the design allows: the same ``total_docs`` real documents in the same order, the
    synthetic ones taking the places of randomly chosen real ones, the token stream held at the
    all-real stream's length, the same initialisation and batch positions; so two shares differ only
    in the documents swapped (a looser pairing leaves a seed-sized difference). Fractions down to about 1 in
    1000 follow Dohmatob et al. 2025 ("Strong Model Collapse", ICLR), who find that even such
    small synthetic fractions can stop the gains from more data at scale. Returns a DataFrame with
    one row per run: fraction, seed, synthetic_docs, val_bpb.
    """
    import pandas as pd
    from tqdm.auto import tqdm
    from ..train import train, Budget

    c = config
    device = device or default_device()
    total = whole("total_docs", total_docs if total_docs is not None else 4 * c.docs, 1)
    fr = [float(f) for f in fractions]
    for f in fr:
        if not (0.0 <= f <= 1.0):
            raise ValueError(f"fraction {f!r} must lie in [0, 1]")
        if round(f * total) > len(synthetic):
            raise ValueError(f"fraction {f} of {total} docs needs {round(f * total)} synthetic docs, "
                             f"only {len(synthetic)} given; lower total_docs or sample more")
    splits = data if data is not None else default_splits(c.corpus, c.corpus_max_bytes)
    train_text, val_tokens = decode_tokens(splits.train), splits.val
    rows = []
    runs = [(f, s) for s in seeds for f in fr]
    for f, s in tqdm(runs, desc="synthetic fraction", disable=not progress, leave=False):
        n_syn = round(f * total)
        rng = np.random.default_rng(20_000 + s)
        syn = [synthetic[i] for i in rng.choice(len(synthetic), size=n_syn, replace=False)] if n_syn else []
        docs = real_docs(train_text, total, c.doc_bytes, seed=30_000 + s, source=c.corpus)
        n_all_real = sum(len(("\n" + d.text).encode("utf-8")) for d in docs)   # the all-real stream's length
        for slot, d in zip(rng.choice(total, size=n_syn, replace=False), syn):
            docs[slot] = d                                # a synthetic document takes a real one's place
        tokens = _hold_length(docs_to_tokens(docs, seed=s), n_all_real)
        t0 = time.perf_counter()
        res = train(chain_train_config(c, seed=s), Budget(steps=c.steps), train_tokens=tokens,
                    val_tokens=val_tokens, progress=False, device=device, measure_peak=False)
        rows.append({"fraction": f, "seed": s, "synthetic_docs": n_syn, "total_docs": total,
                     "val_bpb": float(res.val_bpb), "wall_s": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def _hold_length(tokens, n: int):
    """``tokens`` cut or cyclically extended to ``n`` (a synthetic document's UTF-8 can be a few bytes
    longer or shorter than a real one's: equal lengths keep the batch positions of a seed the same)."""
    if len(tokens) >= n:
        return tokens[:n]
    reps = -(-n // len(tokens))
    return tokens.repeat(reps)[:n]

