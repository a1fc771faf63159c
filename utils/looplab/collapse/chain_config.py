"""What decides a language-model collapse chain (lesson 04): :class:`ChainConfig`, saved with the
chain and checked when it resumes, and the training config every generation uses."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from ..checks import choice, whole
from ..train import TrainConfig
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
    ``train``: every generation's model and training settings, a :class:`looplab.train.TrainConfig`
    (its ``seed`` is not used: generation k trains with a seed of its own, :func:`chain_train_config`).
    :meth:`from_scale` takes its knobs flat (``n_layer=2, warmup_frac=0.15``).
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
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int = 0
    corpus: str = "kjv"
    corpus_max_bytes: int = 0
    train: TrainConfig = field(default_factory=TrainConfig)   # model and training of every generation
    tail_frac: float = 0.1             # the rare band: rarest real words making up this share of the text

    def __post_init__(self):
        choice("mode", self.mode, CHAIN_MODES)
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a looplab.train.TrainConfig, got {type(self.train).__name__}")
        for name, lo in (("generations", 1), ("steps", 1), ("docs", 1), ("doc_bytes", 1), ("seed", 0),
                         ("corpus_max_bytes", 0)):
            whole(name, getattr(self, name), lo)
        if self.real_docs is not None:
            whole("real_docs", self.real_docs, 0)
        if self.mode == "accumulate-subsample" and self.real_docs == 0:
            raise ValueError("mode='accumulate-subsample' subsamples documents, so it needs real_docs >= 1 "
                             "(real_docs=0 trains generation 0 on the whole text as one document)")
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
        """The lesson-04 chain of a :class:`looplab.config.Scale` profile (``overrides`` win; the
        training's knobs, such as ``n_layer`` or ``warmup_frac``, go to ``train``).

        ``chains.layers`` blocks of lesson 02's width, heads and context, at its batch size; generation 0
        trains ``chains.gen0_steps`` steps with seed 0 (one writer shared by the chains of every seed: pass
        ``share_gen0``), later generations ``chains.steps``."""
        knobs = {k: overrides.pop(k) for k in list(overrides) if k in TrainConfig.knob_names() and k != "seed"}
        train = overrides.pop("train", TrainConfig.from_scale(scale, n_layer=scale.chains.layers))
        kw = dict(generations=scale.chains.generations, steps=scale.chains.steps, docs=scale.chains.docs,
                  gen0_steps=scale.chains.gen0_steps, gen0_seed=0,
                  doc_bytes=scale.chains.doc_bytes, corpus_max_bytes=scale.tiny.corpus_max_bytes,
                  train=train.replace(**knobs))
        kw.update(overrides)
        return cls(**kw)

    @property
    def writer_seed(self) -> int:
        """The seed generation 0 trains with (``gen0_seed``, else ``seed``)."""
        return self.seed if self.gen0_seed is None else self.gen0_seed

    def fingerprint(self) -> dict:
        """The config as stored with the chain, flat; ``generations`` is left out so a chain can be
        extended. The training's sizes are always there; its other settings only where they differ
        from :class:`~looplab.train.TrainConfig`'s defaults (chains stored before ``train`` held them
        resume unchanged)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("generations", "train")}
        for key in ("gen0_steps", "gen0_seed", "last_docs"):
            if d[key] is None:           # chains stored before these fields existed resume unchanged
                d.pop(key)
        t, default = self.train.to_dict(), TrainConfig().to_dict()
        d.update((k, t[k]) for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "eval_batches"))
        d.update((k, v) for k, v in t.items() if k not in d and k != "seed" and v != default[k])
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


def chain_train_config(c: ChainConfig, seed: int) -> TrainConfig:
    """The :class:`looplab.train.TrainConfig` a generation of chain ``c`` trains with: ``c.train`` with ``seed``."""
    return c.train.replace(seed=seed)
