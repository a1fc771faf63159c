"""Text metrics for collapse chains: how varied is a set of samples, and are the rare words still there?

All metrics work on *words*: lower-cased runs of letters (an apostrophe inside a word is kept, so
"lord's" is one word). A byte-level model also writes non-words; they count as words here, which is
what we want for distinct-n and entropy, and they can never hit the rare band of real words.

* :func:`distinct_n` -- unique n-grams / all n-grams over a set of texts (Li et al. 2016, "A
  Diversity-Promoting Objective Function for Neural Conversation Models", NAACL).
* :func:`rare_band` -- the *tail* of a real text: its rarest words that together make up the last
  ``tail_frac`` of its running words (a word-frequency analogue of "beyond 2 sigma").
* :func:`rare_word_survival` -- share of those rare words that still appear in a set of samples.
* :func:`tail_mass` -- share of a sample's running words that fall in the rare band.
* :func:`real_word_rate` -- share of a sample's running words that are words of the real text at all.
* :func:`unigram_entropy` -- plug-in entropy of the word distribution, in bits per word.

Plug-in estimates depend on sample size: compare sets of the same size (a collapse chain samples
the same number of bytes every generation, and :func:`text_report` of a real slice of that size
gives the reference).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words(text: str) -> list[str]:
    """The words of ``text``: lower-cased runs of letters (inner apostrophes kept)."""
    if not isinstance(text, str):
        raise TypeError(f"words() needs a str, got {type(text).__name__}")
    return WORD_RE.findall(text.lower())


def _as_texts(texts: str | Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"expected texts as str, got an item of type {type(t).__name__}")
    return out


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """All length-``n`` windows of ``tokens``."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} must be a whole number >= 1")
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: str | Iterable[str], n: int) -> float:
    """Unique word n-grams / all word n-grams, pooled over ``texts`` (n-grams never span two texts).

    1.0: no n-gram repeats; near 0: the same few n-grams over and over. Returns 0.0 when the texts
    hold no n-gram at all.
    """
    total = 0
    seen: set[tuple[str, ...]] = set()
    for t in _as_texts(texts):
        grams = ngrams(words(t), n)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def word_counts(texts: str | Iterable[str]) -> Counter:
    """Word frequencies pooled over ``texts``."""
    c: Counter = Counter()
    for t in _as_texts(texts):
        c.update(words(t))
    return c


@dataclass(frozen=True)
class RareBand:
    """The rare words of a reference text and how they were chosen."""

    words: frozenset          # the rare words
    tail_frac: float          # they make up about this share of the reference's running words
    min_count: int            # words seen fewer times in the reference were left out
    max_count: int            # the most frequent word in the band, in reference counts
    reference_words: int      # running words in the reference
    reference_vocab: int      # distinct words in the reference
    known_words: frozenset = frozenset()   # every word of the reference (for real_word_rate)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, w: str) -> bool:
        return w in self.words


def rare_band(reference: str | Iterable[str] | Counter, tail_frac: float = 0.1,
              min_count: int = 2) -> RareBand:
    """The rarest words of the REAL ``reference`` that together make up ``tail_frac`` of its words.

    Words are sorted by count, rarest first, and taken until their counts sum to ``tail_frac`` of
    all running words (so the band is defined by the real text alone, never by the samples).
    Words seen fewer than ``min_count`` times are left out: a single occurrence is often a
    spelling variant or a name, and it makes the band noisy.
    """
    if not (0.0 < float(tail_frac) < 1.0):
        raise ValueError(f"tail_frac={tail_frac!r} must lie strictly between 0 and 1 (e.g. 0.1)")
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count={min_count!r} must be a whole number >= 1")
    counts = reference if isinstance(reference, Counter) else word_counts(reference)
    total = sum(counts.values())
    if total == 0:
        raise ValueError("the reference text holds no words; pass the real training text")
    budget = tail_frac * total
    band, acc, top = [], 0, 0
    # rarest first; ties broken alphabetically so the band is deterministic
    for w, c in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])):
        if c < min_count:
            continue
        if acc + c > budget:
            break
        band.append(w)
        acc += c
        top = c
    if not band:
        raise ValueError(f"tail_frac={tail_frac} is too small for this reference: no word fits "
                         f"(total {total} words); raise tail_frac or lower min_count")
    return RareBand(frozenset(band), float(tail_frac), min_count, top, total, len(counts), frozenset(counts))


def rare_word_survival(texts: str | Iterable[str], band: RareBand) -> float:
    """Share of the band's rare words that appear at least once in ``texts`` (0..1)."""
    present = set(word_counts(texts)) & band.words
    return len(present) / len(band.words)


def tail_mass(texts: str | Iterable[str], band: RareBand) -> float:
    """Share of the running words of ``texts`` that are rare words of ``band`` (0..1)."""
    c = word_counts(texts)
    total = sum(c.values())
    if total == 0:
        return 0.0
    return sum(v for w, v in c.items() if w in band.words) / total


def real_word_rate(texts: str | Iterable[str], band: RareBand) -> float:
    """Share of the running words of ``texts`` that occur anywhere in the band's real reference.

    A byte-level model also writes non-words ("thith", "ucof"); this is how much of its output is
    real vocabulary at all.
    """
    if not band.known_words:
        raise ValueError("this RareBand carries no reference vocabulary; build it with rare_band()")
    c = word_counts(texts)
    total = sum(c.values())
    if total == 0:
        return 0.0
    return sum(v for w, v in c.items() if w in band.known_words) / total


def unigram_entropy(texts: str | Iterable[str]) -> float:
    """Plug-in entropy of the word unigram distribution of ``texts``, in bits per word."""
    c = word_counts(texts)
    total = sum(c.values())
    if total == 0:
        return 0.0
    return -sum((v / total) * math.log2(v / total) for v in c.values())


def text_report(texts: str | Iterable[str], band: RareBand | None = None,
                max_n: int = 4) -> dict:
    """Every metric above for one set of texts, as a flat JSON-safe dict."""
    texts = _as_texts(texts)
    c = word_counts(texts)
    out = {
        "n_texts": len(texts),
        "bytes": sum(len(t.encode("utf-8")) for t in texts),
        "words": sum(c.values()),
        "vocab": len(c),
        "entropy_bits": unigram_entropy(texts),
    }
    for n in range(1, max_n + 1):
        out[f"distinct_{n}"] = distinct_n(texts, n)
    if band is not None:
        out["rare_survival"] = rare_word_survival(texts, band)
        out["tail_mass"] = tail_mass(texts, band)
        out["real_word_rate"] = real_word_rate(texts, band)
    return out


BAND_NAMES = ("rare", "middle", "common")


def frequency_bands(reference: str | Iterable[str] | Counter, tail_frac: float = 0.1,
                    common_frac: float = 0.5, min_count: int = 2) -> dict:
    """The REAL ``reference``'s words in three frequency bands: ``{"rare", "middle", "common"}``.

    ``rare``: :func:`rare_band` (the rarest words making up ``tail_frac`` of the running words);
    ``common``: the most frequent words making up at least ``common_frac`` of them (ties broken
    alphabetically); ``middle``: every other word seen at least ``min_count`` times. Each value
    is a frozenset of words; ``"known"`` holds the reference's whole vocabulary and ``"share"``
    each band's share of the reference's running words.
    """
    if not (0.0 < float(common_frac) < 1.0 - float(tail_frac)):
        raise ValueError(f"common_frac={common_frac!r} must lie strictly between 0 and 1 - tail_frac")
    counts = reference if isinstance(reference, Counter) else word_counts(reference)
    rare = rare_band(counts, tail_frac=tail_frac, min_count=min_count)
    total = sum(counts.values())
    common, acc = [], 0
    for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if acc >= common_frac * total:
            break
        common.append(w)
        acc += c
    common = frozenset(common) - rare.words
    middle = frozenset(w for w, c in counts.items() if c >= min_count) - rare.words - common
    bands = {"rare": rare.words, "middle": middle, "common": common}
    share = {b: sum(counts[w] for w in ws) / total for b, ws in bands.items()}
    return {**bands, "known": frozenset(counts), "share": share}


def band_report(texts: str | Iterable[str], bands: dict) -> dict:
    """Per band of :func:`frequency_bands`: how much of it the samples ``texts`` still hold.

    ``{band}_survival``: share of the band's words that appear at least once; ``{band}_share``:
    the band's running words as a share of the samples' REAL running words (words the reference
    knows), so a generator that writes non-words is not read as one that lost its tails; for real
    text it is near the band's ``share`` of the reference. ``real_word_rate``: that denominator
    over all running words.
    """
    c = word_counts(texts)
    total = sum(c.values())
    real = sum(v for w, v in c.items() if w in bands["known"])
    out = {"real_word_rate": real / total if total else 0.0}
    for b in BAND_NAMES:
        ws = bands[b]
        out[f"{b}_survival"] = len(set(c) & ws) / len(ws) if ws else 0.0
        out[f"{b}_share"] = sum(v for w, v in c.items() if w in ws) / real if real else 0.0
    return out
