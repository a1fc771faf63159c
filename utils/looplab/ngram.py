"""A byte-level n-gram language model with Witten-Bell smoothing: a grader of another lineage.

It shares nothing with the course's transformers: no weights, no gradient descent, no sampling
loop -- only counts of byte sequences in REAL text. That is what makes it useful as an
*independent* grader of synthetic text (lesson 05).

Smoothing (Witten & Bell 1991, "The zero-frequency problem", IEEE Trans. Inf. Theory 37(4);
as interpolated in Chen & Goodman 1999, "An empirical study of smoothing techniques for language
modeling", Computer Speech & Language 13): with ``c(h, w)`` the count of byte ``w`` after context
``h``, ``c(h)`` the count of ``h`` and ``T(h)`` the number of distinct bytes seen after ``h``::

    P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))      (h' = h without its first byte)

and ``P(w | h) = P(w | h')`` for an unseen context. The recursion ends in the add-one unigram
``(c(w) + 1) / (N + 256)``, so no byte ever gets probability zero.

Counting and scoring are vectorised with numpy: every context of length up to ``order - 1`` is
packed into one int64 key (8 bits per byte), counted with ``np.unique`` and looked up with
``np.searchsorted``. A few MB of text fit in seconds.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .checks import whole

MAX_ORDER = 7          # 7 bytes = 56 bits of key, well inside int64


def _as_bytes(text) -> np.ndarray:
    if isinstance(text, str):
        text = text.encode("utf-8")
    if isinstance(text, (bytes, bytearray)):
        return np.frombuffer(bytes(text), dtype=np.uint8).astype(np.int64)
    arr = np.asarray(text, dtype=np.int64)        # token ids (e.g. a torch tensor's .numpy())
    if arr.ndim != 1 or (arr.size and (arr.min() < 0 or arr.max() > 255)):
        raise ValueError("expected text as str, bytes or a 1-D array of byte ids in 0..255")
    return arr


def _keys(b: np.ndarray, n: int) -> np.ndarray:
    """Key of every length-``n`` window of ``b`` (window i = b[i:i+n]), bytes packed big-endian."""
    m = len(b) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    k = np.zeros(m, dtype=np.int64)
    for j in range(n):
        k = (k << 8) | b[j:j + m]
    return k


def _lookup(table_keys: np.ndarray, table_vals: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``table_vals`` at the position of each query key; 0 where the key is absent."""
    if len(table_keys) == 0 or len(q) == 0:
        return np.zeros(len(q), dtype=np.int64)
    i = np.searchsorted(table_keys, q)
    i = np.minimum(i, len(table_keys) - 1)
    hit = table_keys[i] == q
    return np.where(hit, table_vals[i], 0)


class NGramLM:
    """Interpolated Witten-Bell byte n-gram model, fitted on real text.

    ``order``: the longest n-gram used (context of ``order - 1`` bytes), 1..7.

        lm = NGramLM(order=5).fit(real_text)
        lm.bits_per_byte(held_out_text)     # its own quality on real text
        lm.logprob_per_byte(["some doc", ...])
    """

    def __init__(self, order: int = 5):
        whole("order", order, 1, MAX_ORDER)
        self.order = order
        self.fitted_bytes = 0

    def fit(self, text) -> "NGramLM":
        """Count every n-gram of ``text`` (str, bytes, or byte ids) up to ``order`` bytes."""
        b = _as_bytes(text)
        if len(b) < self.order + 1:
            raise ValueError(f"need more than order={self.order} bytes of text to fit, got {len(b)}")
        self.fitted_bytes = int(len(b))
        self.unigram = np.bincount(b, minlength=256).astype(np.float64)
        # for each n in 2..order: counts of n-grams, of their (n-1)-byte contexts (as contexts,
        # i.e. followed by something), and the number of distinct bytes after each context
        self.ngram, self.ctx = {}, {}
        for n in range(2, self.order + 1):
            g_keys, g_counts = np.unique(_keys(b, n), return_counts=True)
            ctx_of_g = g_keys >> 8
            c_keys, start = np.unique(ctx_of_g, return_index=True)   # g_keys sorted -> contexts grouped
            c_counts = np.add.reduceat(g_counts, start)
            c_types = np.diff(np.append(start, len(g_keys)))
            self.ngram[n] = (g_keys, g_counts)
            self.ctx[n] = (c_keys, c_counts, c_types)
        return self

    def _check_fitted(self):
        if not self.fitted_bytes:
            raise RuntimeError("this NGramLM is not fitted yet: call .fit(real_text) first")

    def token_logprobs(self, text) -> np.ndarray:
        """Natural-log probability of each byte of ``text`` given the bytes before it (in the text)."""
        self._check_fitted()
        b = _as_bytes(text)
        L = len(b)
        p = (self.unigram[b] + 1.0) / (self.unigram.sum() + 256.0)
        for n in range(2, self.order + 1):
            if L < n:
                break
            # positions n-1 .. L-1 have a full (n-1)-byte context
            g = _keys(b, n)
            cnt_g = _lookup(*self.ngram[n], g).astype(np.float64)
            c_keys, c_counts, c_types = self.ctx[n]
            ctx = g >> 8
            i = np.searchsorted(c_keys, ctx) if len(c_keys) else np.zeros(len(ctx), dtype=np.int64)
            i = np.minimum(i, max(len(c_keys) - 1, 0))
            hit = (c_keys[i] == ctx) if len(c_keys) else np.zeros(len(ctx), dtype=bool)
            cc = np.where(hit, c_counts[i], 0).astype(np.float64)
            tt = np.where(hit, c_types[i], 0).astype(np.float64)
            lower = p[n - 1:]
            new = np.where(hit, (cnt_g + tt * lower) / np.maximum(cc + tt, 1.0), lower)
            p = np.concatenate([p[:n - 1], new])
        return np.log(p)

    def logprob_per_byte(self, texts: Iterable[str] | str) -> np.ndarray:
        """Mean log-probability per byte (nats) of each text; higher = more like the fitted text."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.empty(len(texts))
        for j, t in enumerate(texts):
            lp = self.token_logprobs("\n" + t)[1:]     # the chain prompts with a newline
            out[j] = lp.mean() if len(lp) else float("-inf")
        return out

    def bits_per_byte(self, text) -> float:
        """Bits per byte on ``text`` (e.g. the real validation split): the grader's own ceiling."""
        lp = self.token_logprobs(text)
        return float(-lp.mean() / math.log(2))

    def __repr__(self) -> str:
        return f"NGramLM(order={self.order}, fitted_bytes={self.fitted_bytes:,})"
