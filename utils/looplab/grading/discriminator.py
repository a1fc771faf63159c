"""A real-vs-synthetic discriminator as a grader (lesson 05): it selects *towards real text*.

Every likelihood grader ranks documents by how probable they are, and a writer's own samples are
*easier* than real text (they sit in its modes), so keeping the most probable ones narrows the next
generation. A discriminator asks another question: *does this document look like real text, or
like the rest of this batch of samples?* Resampling synthetic data by a machine-text detector's
weights: Drayson et al. 2025, "Machine-generated text detection prevents language model collapse",
EMNLP (arXiv:2502.15654).

:class:`DiscriminatorGrader` is the simplest classifier that answers it: a *generative* one, with
one byte n-gram model per class. Its log-odds that document ``x`` is real rather than synthetic
are ``log p_real(x) - log p_batch(x)`` per byte (Bayes' rule with equal priors), where ``p_real`` is
an n-gram fitted on real text the graders may know and ``p_batch`` the same kind of n-gram fitted
on the batch being graded. Both sides are the same model family at the same order, so their biases
cancel and what is left estimates the density ratio ``p_real / p_synthetic``. Keeping the highest
ratios is rejection sampling towards the real distribution, not towards high probability.

It is *cross-fitted*: the batch is split into ``folds`` parts, and each part is scored by a batch
model that never saw it, so no document is judged by a model that memorised it.
"""
from __future__ import annotations

import zlib

import numpy as np

from ..checks import whole
from .graders import Grader
from ..ngram import NGramLM


class DiscriminatorGrader(Grader):
    """Log-odds per byte that a document is REAL rather than one of the batch's samples (higher: more real).

    ``real_text``: text the graders may know (the graders' slice); the real-side n-gram is fitted
    on it once. ``order``: the n-gram order of both sides (short: the batch side is fitted on one
    batch only, a few tens of kilobytes). ``folds``: cross-fitting folds over the batch.
    """

    lineage = "independent"

    def __init__(self, real_text, name: str = "discriminator", order: int = 3, folds: int = 2, seed: int = 0):
        self.order, self.folds = whole("order", order, 1), whole("folds", folds, 2)
        self.real = NGramLM(self.order).fit(real_text)
        if self.real.fitted_bytes < 1000:
            raise ValueError(f"real_text holds {self.real.fitted_bytes} bytes; fit the discriminator on at "
                             "least 1000 bytes of real text (the graders' slice)")
        self.name, self.seed, self.calls = name, int(seed), 0
        self.history: list[dict] = []

    def score(self, texts):
        n = len(texts)
        if n < 2 * self.folds:
            raise ValueError(f"{self.name}: a batch of {n} documents is too small for {self.folds} folds "
                             f"(need at least {2 * self.folds})")
        self.calls += 1
        # the folds depend on the batch itself, not on how many batches came before (a resumed chain
        # draws the same folds as a fresh one)
        key = zlib.crc32("\x00".join(texts).encode("utf-8", "replace"))
        fold_of = np.random.default_rng([self.seed, key]).permutation(n) % self.folds
        real_lp = self.real.logprob_per_byte(texts)
        out = np.zeros(n)
        for f in range(self.folds):
            held = np.flatnonzero(fold_of == f)
            batch = NGramLM(self.order).fit("".join("\n" + texts[i] for i in range(n) if fold_of[i] != f))
            out[held] = real_lp[held] - batch.logprob_per_byte([texts[i] for i in held])
        self.history.append({"call": self.calls, "n": n, "looks_real": float((out > 0).mean())})
        return out

    def __repr__(self) -> str:
        return f"DiscriminatorGrader({self.name!r}, order={self.order}, real bytes={self.real.fitted_bytes})"
