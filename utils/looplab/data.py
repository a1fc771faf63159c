"""The byte-level tokenizer, deterministic splits with a sealed test set, and batches.

    corpus = load_text("kjv")            # offline: the King James Bible (public domain)
    splits = make_splits(corpus)         # .train / .val tensors; the test split is sealed
    x, y = get_batch(splits.train, batch_size=12, block_size=64, generator=g)

The corpora themselves (``load_text``, :class:`Corpus`, the names in ``CORPORA``) live in
:mod:`looplab.corpora`.
"""
from __future__ import annotations

from functools import lru_cache

from .checks import whole
from .corpora import Corpus, load_text


# -- the tokenizer -------------------------------------------------------------------------------

class ByteTokenizer:
    """Byte-level tokenizer: token id = UTF-8 byte value, so the vocabulary is exactly 256.

    Because one token is one byte, loss per token in bits *is* bits per byte (bpb).
    """

    vocab_size = 256

    def encode(self, text) -> list[int]:
        if isinstance(text, (bytes, bytearray)):
            return list(text)
        if not isinstance(text, str):
            raise TypeError(f"encode() takes str or bytes, got {type(text).__name__}")
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        bad = [i for i in ids if not 0 <= int(i) < 256]
        if bad:
            raise ValueError(f"byte token ids must be in 0..255; got {bad[:5]}")
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=256)"


def decode_tokens(tokens) -> str:
    """Byte token ids (a 1-D tensor) back to text; a broken UTF-8 sequence becomes U+FFFD."""
    import numpy as np
    return np.asarray(tokens.cpu(), dtype=np.uint8).tobytes().decode("utf-8", errors="replace")


# -- splits --------------------------------------------------------------------------------------

class Splits:
    """Deterministic train / validation / sealed test token tensors of one corpus.

    The text is cut into chunks of ``chunk_bytes``; a fixed-seed shuffle of chunk indices picks
    which chunks are validation and test (so all three splits come from the whole corpus, not,
    say, only the last book), and each split keeps its chunks in corpus order.

    ``train`` and ``val`` are open. The test split can only be read with
    :meth:`sealed_test`, which takes a reason and records every read in ``test_reads``.
    """

    def __init__(self, train, val, test, name: str = "", chunk_bytes: int = 0):
        self.train, self.val, self._test = train, val, test
        self.name, self.chunk_bytes = name, chunk_bytes
        self.test_reads: list[str] = []

    def sealed_test(self, reason: str):
        """The test tokens. Read them once, at the end, to grade a final claim; say why."""
        if not isinstance(reason, str) or len(reason.strip()) < 5:
            raise ValueError("sealed_test(reason) needs a reason of at least 5 characters, e.g. "
                             "'final grade of the kept config'; the test split is not for tuning.")
        self.test_reads.append(reason.strip())
        return self._test

    @property
    def n_test(self) -> int:
        return int(self._test.numel())

    def __repr__(self) -> str:
        return (f"Splits({self.name!r}: train={self.train.numel():,} val={self.val.numel():,} "
                f"test={self.n_test:,} tokens (sealed, read {len(self.test_reads)}x))")


def make_splits(corpus_or_text, val_frac: float = 0.05, test_frac: float = 0.05,
                chunk_bytes: int = 2048, tokenizer=None, split_seed: int = 1234) -> Splits:
    """Split a corpus (or a string) into train / val / sealed test token tensors, deterministically."""
    import torch

    for nm, v in (("val_frac", val_frac), ("test_frac", test_frac)):
        if not isinstance(v, (int, float)) or not 0.0 < v < 0.5:
            raise ValueError(f"{nm}={v!r} must be a fraction in (0, 0.5).")
    if val_frac + test_frac >= 0.5:
        raise ValueError(f"val_frac + test_frac = {val_frac + test_frac} must be < 0.5 so most text is training.")
    whole("chunk_bytes", chunk_bytes, 16)
    if isinstance(corpus_or_text, Corpus):
        text, name = corpus_or_text.text, corpus_or_text.name
    elif isinstance(corpus_or_text, str):
        text, name = corpus_or_text, "text"
    else:
        raise TypeError(f"make_splits takes a Corpus or a str, got {type(corpus_or_text).__name__}")
    tok = tokenizer or ByteTokenizer()
    if isinstance(tok, ByteTokenizer):
        ids = torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()
    else:
        ids = torch.tensor(tok.encode(text), dtype=torch.long)
    n_chunks = ids.numel() // chunk_bytes
    if n_chunks < 20:
        raise ValueError(f"the corpus has {ids.numel():,} tokens, too few for {chunk_bytes}-token chunks; "
                         f"need at least {20 * chunk_bytes:,} tokens (or a smaller chunk_bytes).")
    g = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(n_chunks, generator=g)
    n_val, n_test = max(1, round(val_frac * n_chunks)), max(1, round(test_frac * n_chunks))
    which = torch.zeros(n_chunks, dtype=torch.long)  # 0 train, 1 val, 2 test
    which[perm[:n_val]] = 1
    which[perm[n_val:n_val + n_test]] = 2
    body = ids[: n_chunks * chunk_bytes].view(n_chunks, chunk_bytes)
    tail = ids[n_chunks * chunk_bytes:]
    train = torch.cat([body[which == 0].reshape(-1), tail])
    val = body[which == 1].reshape(-1).clone()
    test = body[which == 2].reshape(-1).clone()
    return Splits(train, val, test, name=name, chunk_bytes=chunk_bytes)


@lru_cache(maxsize=4)
def _cached_splits(name: str, max_bytes: int) -> Splits:
    return make_splits(load_text(name, max_bytes))


def default_splits(name: str = "kjv", max_bytes: int = 0) -> Splits:
    """Splits of a named corpus. The token tensors are cached per process (lessons share one
    copy); each call returns its own :class:`Splits`, with its own sealed-test read log, so one
    caller's reads are never counted as another's."""
    s = _cached_splits(name, max_bytes)
    return Splits(s.train, s.val, s._test, name=s.name, chunk_bytes=s.chunk_bytes)


def get_batch(tokens, batch_size: int, block_size: int, generator=None):
    """A random batch of ``batch_size`` windows: inputs ``x`` and next-byte targets ``y`` (B, T)."""
    import torch

    whole("batch_size", batch_size, 1)
    whole("block_size", block_size, 1)
    n = tokens.numel()
    if n <= block_size + 1:
        raise ValueError(f"only {n} tokens: need more than block_size + 1 = {block_size + 1}.")
    ix = torch.randint(n - block_size - 1, (batch_size,), generator=generator)
    offs = torch.arange(block_size + 1)
    win = tokens[ix[:, None] + offs]
    return win[:, :-1].contiguous(), win[:, 1:].contiguous()
