"""The language-model collapse chain (lesson 04): generation 0 trains on real text, generation k+1
on text sampled from generation k (or a mix, see :class:`~.chain_config.ChainConfig`), each
generation's documents and metrics saved as it runs, so an interrupted chain resumes."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from dataclasses import dataclass, field
from pathlib import Path

from .. import textmetrics as tm
from .chain_config import SAMPLING_FIELDS, ChainConfig, Select, chain_train_config
from ..config import default_device
from ..data import decode_tokens, default_splits
from .documents import Doc, docs_to_tokens, provenance_counts, real_docs, weights_hash
from .store import ChainStore

@dataclass
class ChainResult:
    """A finished (or resumed) chain: its config, per-generation metrics and documents."""

    config: ChainConfig
    metrics: list[dict]                   # one dict per generation (see :func:`run_chain`)
    docs: list[list[Doc]]                 # docs[k]: what generation k's model wrote
    selected: list[list[int]]             # indices into docs[k] that passed ``select``
    reference: dict                       # the same metrics for real held-out text of the same size
    band: tm.RareBand
    root: Path | None = None
    wall_s: float = 0.0
    gen0_model: object = field(default=None, repr=False)   # in memory only, when trained (or shared) here

    def table(self):
        """One row per generation: val_bpb on real text and the text metrics of its samples."""
        import pandas as pd
        cols = ["val_bpb", "rare_survival", "tail_mass", "real_word_rate", "vocab", "entropy_bits",
                "distinct_1", "distinct_2", "distinct_3", "distinct_4", "train_bytes", "train_docs", "selected", "wall_s"]
        rows = [{c: m.get(c) for c in cols} for m in self.metrics]
        df = pd.DataFrame(rows, index=pd.Index(range(len(rows)), name="generation"))
        df.insert(0, "seed", self.config.seed)
        df.insert(0, "chain", self.config.name)
        return df

    def samples(self, k: int, n: int = 3) -> list[str]:
        return [d.text for d in self.docs[k][:n]]

    def load_model(self, k: int):
        """Generation k's model, from the chain folder (needs ``save_models=True``)."""
        if self.root is None:
            raise ValueError("this chain was run without a folder; pass out_dir and save_models=True")
        from ..model import build_model
        model = build_model(self.config.train.model)
        model.load_state_dict(ChainStore(self.root).load_state_dict(k))
        return model.eval()


def run_chain(config: ChainConfig, out_dir: str | Path | None = None, *, select: Select | None = None,
              data=None, save_models: bool = False, fresh: bool = False, progress: bool = True,
              share_gen0: "ChainResult | None" = None, device: str | None = None,
              on_model: Callable[[object, int], None] | None = None) -> ChainResult:
    """Run (or resume) a collapse chain; return its per-generation metrics and documents.

    Generation k: build the training set (see :class:`ChainConfig`), train a fresh model for
    ``config.steps`` steps, measure val_bpb on the REAL held-out split, sample ``config.docs``
    documents (provenance attached), pass them through ``select`` (``None``: keep all; lesson 05
    passes a grader here), measure the samples, and save everything under ``out_dir/gen_KKK/``.
    A finished generation found on disk is loaded, not recomputed.

    ``data``: a :class:`looplab.data.Splits` to use instead of loading ``config.corpus``.
    ``share_gen0``: a chain with the same model, data and seed; its generation 0 (which does not
    depend on the mode) is reused instead of trained again: its documents too when the sampling
    settings match, else only its model (kept in memory as ``gen0_model``), sampled anew.
    ``on_model(model, k)``: called with generation k's model before its documents reach ``select``
    (e.g. to let a same-lineage grader score them with the model that wrote them).
    """
    from ..sample import sample_text
    from tqdm.auto import tqdm

    c = config
    device = device or default_device()
    t_start = time.perf_counter()
    splits = data if data is not None else default_splits(c.corpus, c.corpus_max_bytes)
    train_text, val_tokens = decode_tokens(splits.train), splits.val
    band = tm.rare_band(train_text, tail_frac=c.tail_frac)
    n_real = c.docs if c.real_docs is None else c.real_docs
    real_train = ([Doc(train_text, "real", -1, f"real:{c.corpus}", 0)] if n_real == 0 else
                  real_docs(train_text, n_real, c.doc_bytes, seed=c.writer_seed, source=c.corpus))
    # real held-out text of the size of the last generation's sample (text metrics depend on size)
    n_ref = c.last_docs if c.last_docs is not None and c.generations > 1 else c.docs
    reference = tm.text_report([d.text for d in real_docs(decode_tokens(val_tokens), n_ref, c.doc_bytes,
                                                          seed=10_000 + c.seed)], band)
    fp = c.fingerprint()
    fp["select"] = None if select is None else getattr(select, "__qualname__", repr(select))
    store = ChainStore(out_dir) if out_dir is not None else None
    if store is not None:
        store.open(fp, fresh=fresh)
    share_docs = share_model = False
    if share_gen0 is not None:
        a, b = share_gen0.config.fingerprint(), c.fingerprint()
        for key in ("mode", "real_frac", "last_docs") + SAMPLING_FIELDS:
            a.pop(key, None), b.pop(key, None)
        if share_gen0.config.writer_seed == c.writer_seed:     # one writer for several seeds
            a.pop("seed"), b.pop("seed")
        if a != b:
            diff = sorted(k for k in a if a[k] != b.get(k))
            raise ValueError(f"share_gen0: that chain's generation 0 differs from this one's (in: {', '.join(diff)})")
        share_docs = (share_gen0.config.seed == c.seed
                      and all(getattr(share_gen0.config, f) == getattr(c, f) for f in SAMPLING_FIELDS))
        share_model = not share_docs and share_gen0.gen0_model is not None

    metrics: list[dict] = []
    gen0_model = None
    all_docs: list[list[Doc]] = []
    selected: list[list[int]] = []
    bar = tqdm(range(c.generations), desc=c.name, disable=not progress, leave=False)
    for k in bar:
        if store is not None and store.done(k):                      # resume: load, don't recompute
            m, docs = store.load_metrics(k), store.load_docs(k)
            if k < c.generations - 1 and len(docs) < c.docs:
                raise ValueError(f"{out_dir}: generation {k} was the last of a shorter chain and sampled only "
                                 f"{len(docs)} documents (last_docs); extend it with fresh=True")
            metrics.append(m), all_docs.append(docs), selected.append(m["selected_idx"])
            continue
        if k == 0 and share_docs:                                    # same model, same samples
            m = dict(share_gen0.metrics[0], shared_from=share_gen0.config.name)
            docs, keep, gen0_model = share_gen0.docs[0], share_gen0.selected[0], share_gen0.gen0_model
            if on_model is not None and gen0_model is not None:
                on_model(gen0_model, 0)
            if select is not None:
                keep = _apply_select(select, docs, 0)
                m.update(selected=len(keep), selected_idx=keep)
            metrics.append(m), all_docs.append(docs), selected.append(keep)
            if store is not None:
                store.save_generation(0, docs, m)
            continue
        t0 = time.perf_counter()
        if k == 0 and share_model:      # same generation-0 model, other sampling settings: sample only
            model, m0 = share_gen0.gen0_model, share_gen0.metrics[0]
            m = {key: m0.get(key) for key in ("val_loss", "val_bpb", "train_bytes", "train_docs", "train_provenance",
                                              "steps", "tokens_per_s", "train_s")}
            m["shared_from"] = share_gen0.config.name
        else:
            model, m = _train_generation(c, k, real_train, train_text, all_docs, selected, val_tokens, device)
        if k == 0:
            gen0_model = model
        if on_model is not None:
            on_model(model, k)
        t_train = time.perf_counter() - t0
        # --- 3. sample the next generation's data, with provenance ----------------------------
        model_id = f"{c.name}/gen{k}@{weights_hash(model)}"
        sseed = c.seed * 1000 + 500 + k
        n_docs = c.last_docs if 0 < k == c.generations - 1 and c.last_docs is not None else c.docs
        texts = sample_text(model, n_docs, c.doc_bytes, prompt=b"\n", temperature=c.temperature,
                            top_k=c.top_k, top_p=c.top_p, seed=sseed)
        docs = [Doc(t, "synthetic", k, model_id, i, seed=sseed, temperature=c.temperature,
                    top_p=c.top_p, top_k=c.top_k) for i, t in enumerate(texts)]
        keep = _apply_select(select, docs, k) if select is not None else list(range(len(docs)))
        t_sample = time.perf_counter() - t0 - t_train
        # --- 4. metrics, saved as we go -------------------------------------------------------
        m.update({"generation": k, "model_id": model_id, "sample_s": t_sample, "selected": len(keep),
                  "selected_idx": keep, "examples": texts[:3]})
        m.update(tm.text_report(texts, band))
        m["wall_s"] = time.perf_counter() - t0
        metrics.append(m), all_docs.append(docs), selected.append(keep)
        if store is not None:
            store.save_generation(k, docs, m, model=model if save_models else None)
        bar.set_postfix(val_bpb=f"{m['val_bpb']:.3f}", rare=f"{m['rare_survival']:.3f}")
    return ChainResult(c, metrics, all_docs, selected, reference, band,
                       None if out_dir is None else Path(out_dir), time.perf_counter() - t_start, gen0_model)


def _train_generation(c: ChainConfig, k: int, real_train: list[Doc], train_text: str,
                      all_docs: list[list[Doc]], selected: list[list[int]], val_tokens, device):
    """Build generation k's training set, train a fresh model on it, measure it on real val text."""
    from ..train import Budget, train
    t0 = time.perf_counter()
    # --- 1. the training set -----------------------------------------------------------------
    prev = [all_docs[k - 1][i] for i in selected[k - 1]] if k > 0 else []
    if k == 0:
        train_docs = real_train
    elif c.mode == "replace":
        train_docs = prev
    elif c.mode in ("accumulate", "accumulate-subsample"):
        train_docs = real_train + [all_docs[j][i] for j in range(k) for i in selected[j]]
        if c.mode == "accumulate-subsample":     # the pool grows, the training set stays generation 0's size
            pick = np.random.default_rng(c.seed * 1000 + k).choice(len(train_docs), size=len(real_train),
                                                                    replace=False)
            train_docs = [train_docs[i] for i in sorted(pick)]
    elif c.mode == "real":          # as many fresh real documents as the synthetic chains keep
        train_docs = real_docs(train_text, len(prev), c.doc_bytes, seed=c.seed * 1000 + k, source=c.corpus)
    else:  # mix
        n_mix = max(1, round(len(prev) * c.real_frac / (1 - c.real_frac)))
        train_docs = real_docs(train_text, n_mix, c.doc_bytes, seed=c.seed * 1000 + k,
                               source=c.corpus) + prev
    tokens = docs_to_tokens(train_docs, seed=(c.writer_seed if k == 0 else c.seed) * 1000 + k)
    if len(tokens) < c.train.model.block_size + 2:
        raise ValueError(f"generation {k}: only {len(tokens)} training bytes left (select kept "
                         f"{len(prev)} docs); need more than block_size={c.train.model.block_size}")
    # --- 2. train a fresh model, measure it on REAL held-out text --------------------------
    steps = c.gen0_steps if k == 0 and c.gen0_steps is not None else c.steps
    res = train(chain_train_config(c, seed=(c.writer_seed if k == 0 else c.seed) * 1000 + k), Budget(steps=steps),
                train_tokens=tokens, val_tokens=val_tokens, progress=False, device=device,
                measure_peak=False)
    model = res.model.eval()
    return model, {"val_loss": float(res.val_loss),      # eval_batches fixed batches of the real val split
                   "val_bpb": float(res.val_bpb), "train_bytes": int(len(tokens)), "train_docs": len(train_docs),
                   "train_provenance": provenance_counts(train_docs), "steps": int(res.steps),
                   "tokens_per_s": float(res.tokens_per_s), "train_s": time.perf_counter() - t0}


def _apply_select(select: Select, docs: list[Doc], k: int) -> list[int]:
    """Run the filter hook and return the indices of the docs it kept (it must return a subset)."""
    kept = select(list(docs), k)
    pos = {id(d): i for i, d in enumerate(docs)}
    idx = []
    for d in kept:
        if id(d) not in pos:
            raise ValueError(f"select returned a document that is not one of generation {k}'s docs; "
                             "return a sub-list of the docs it was given")
        idx.append(pos[id(d)])
    return sorted(set(idx))
