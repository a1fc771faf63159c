"""What decides a language-model collapse chain (lesson 04): :class:`ChainConfig`, saved with the
chain and checked when it resumes, and the training config every generation uses."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from ..checks import choice, whole
from .documents import Doc

CHAIN_MODES = ("replace", "accumulate", "accumulate-subsample", "mix", "real")
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")

Select = Callable[[list[Doc], int], list[Doc]]
"""A filter hook: given generation k's synthetic docs and k, return those that may be trained on."""


@dataclass(frozen=True)
class ChainConfig:
    """Everything that decides a language-model collapse chain (saved with it, checked on resume).

    ``mode``: ``"replace"`` (generation k+1 trains only on generation k's samples),
    ``"accumulate"`` (real text + every generation's samples so far), ``"accumulate-subsample"``
    (the same growing pool, but each generation trains on a random subsample of it as large as
    generation 0's real set: Kazdan et al. 2024, "Collapse or Thrive?", arXiv:2410.16713, whose
    third workflow holds the data per generation fixed), ``"mix"`` (generation k's
    samples plus real text, ``real_frac`` of the bytes real) or ``"real"`` (the no-synthetic control:
    generation k+1 trains on as many fresh REAL documents as generation k kept). Generation 0 always trains on
    ``real_docs`` real documents of ``doc_bytes`` bytes each (``None``: as many as one generation
    samples, so every generation trains on the same amount of text, as in Shumailov et al. 2024;
    ``0``: the whole real training split), for ``gen0_steps`` steps (``None``: ``steps``; more
    makes a stronger generation 0, a writer whose samples are worth selecting among).
    ``gen0_seed``: the seed generation 0 trains with (its real documents, initialisation and
    batch order; ``None``: ``seed``). Chains of different seeds with the same ``gen0_seed`` share
    one generation-0 model and differ in what it samples and in everything after it.
    ``last_docs``: documents the last generation samples when it is not generation 0 (``None``:
    ``docs``); nothing trains on them, they only measure its text, so fewer are enough.
    ``warmup_frac``: the share of each generation's steps spent warming the learning rate up
    (``None``: :class:`looplab.train.TrainConfig`'s default).
    """

    mode: str = "replace"
    generations: int = 5
    steps: int = 400                   # training steps per generation
    docs: int = 512                    # documents sampled per generation
    doc_bytes: int = 256               # bytes per document
    real_frac: float = 0.5             # mix mode: share of real bytes in each later training set
    real_docs: int | None = None
    gen0_steps: int | None = None      # generation 0's training steps (None: steps)
    gen0_seed: int | None = None       # generation 0's training seed (None: seed)
    last_docs: int | None = None       # documents sampled by the last generation (None: docs)
    warmup_frac: float | None = None   # every generation's learning-rate warm-up share (None: TrainConfig's)
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int = 0
    corpus: str = "kjv"
    corpus_max_bytes: int = 0
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    eval_batches: int = 20             # real val batches per val_bpb (the same batches every generation)
    tail_frac: float = 0.1             # the rare band: rarest real words making up this share of the text

    def __post_init__(self):
        choice("mode", self.mode, CHAIN_MODES)
        for name, lo in (("generations", 1), ("steps", 1), ("docs", 1), ("doc_bytes", 1), ("seed", 0),
                         ("eval_batches", 1), ("batch_size", 1), ("corpus_max_bytes", 0)):
            whole(name, getattr(self, name), lo)
        if self.real_docs is not None:
            whole("real_docs", self.real_docs, 0)
        if self.mode == "accumulate-subsample" and self.real_docs == 0:
            raise ValueError("mode='accumulate-subsample' subsamples documents, so it needs real_docs >= 1 "
                             "(real_docs=0 trains generation 0 on the whole text as one document)")
        if self.warmup_frac is not None and not (0.0 <= self.warmup_frac < 1.0):
            raise ValueError(f"warmup_frac={self.warmup_frac!r} must lie in [0, 1) (or None for the training default)")
        for name in ("gen0_steps", "gen0_seed", "last_docs"):
            if getattr(self, name) is not None:
                whole(name, getattr(self, name), 0 if name == "gen0_seed" else 1)
        if not (0.0 < self.real_frac < 1.0):
            raise ValueError(f"real_frac={self.real_frac!r} must lie strictly between 0 and 1")
        if not (self.temperature > 0):
            raise ValueError(f"temperature={self.temperature!r} must be > 0")
        if self.top_p is not None and not (0.0 < self.top_p <= 1.0):
            raise ValueError(f"top_p={self.top_p!r} must lie in (0, 1] (or None for no truncation)")
        if self.top_k is not None:
            whole("top_k", self.top_k, 1)

    @classmethod
    def from_scale(cls, scale, **overrides) -> "ChainConfig":
        """The lesson-04 chain of a :class:`looplab.config.Scale` profile (``overrides`` win).

        ``chain_layers`` blocks; generation 0 trains ``chain_gen0_steps`` steps with seed 0 (one
        writer shared by the chains of every seed: pass ``share_gen0``), later generations
        ``generation_steps``."""
        kw = dict(generations=scale.generations, steps=scale.generation_steps, docs=scale.synthetic_docs,
                  gen0_steps=scale.chain_gen0_steps, gen0_seed=0,
                  doc_bytes=scale.doc_bytes, corpus_max_bytes=scale.corpus_max_bytes,
                  n_layer=scale.chain_layers, n_head=scale.n_head, n_embd=scale.n_embd,
                  block_size=scale.block_size, batch_size=scale.batch_size, eval_batches=scale.eval_batches)
        kw.update(overrides)
        return cls(**kw)

    @property
    def writer_seed(self) -> int:
        """The seed generation 0 trains with (``gen0_seed``, else ``seed``)."""
        return self.seed if self.gen0_seed is None else self.gen0_seed

    def fingerprint(self) -> dict:
        """The config as stored with the chain; ``generations`` is left out so a chain can be extended."""
        d = asdict(self)
        d.pop("generations")
        for key in ("gen0_steps", "gen0_seed", "last_docs", "warmup_frac"):
            if d[key] is None:           # chains stored before these fields existed resume unchanged
                d.pop(key)
        return d

    @property
    def name(self) -> str:
        s = f"{self.mode}"
        if self.mode == "mix":
            s += f"{self.real_frac:g}"
        s += f"-T{self.temperature:g}"
        if self.top_p is not None:
            s += f"-p{self.top_p:g}"
        if self.top_k is not None:
            s += f"-k{self.top_k}"
        return s + f"-s{self.seed}"


def chain_train_config(c: ChainConfig, seed: int):
    """The :class:`looplab.train.TrainConfig` every generation of chain ``c`` trains with."""
    from ..train import TrainConfig
    extra = {} if c.warmup_frac is None else {"warmup_frac": c.warmup_frac}
    return TrainConfig(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, block_size=c.block_size,
                       batch_size=c.batch_size, eval_batches=c.eval_batches, seed=seed, **extra)
