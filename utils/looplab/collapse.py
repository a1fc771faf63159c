"""Model collapse (lesson 04): train on your own output, generation after generation, and measure the loss.

Two settings, the same loop:

1. **The Gaussian toy** (:func:`gaussian_chains`): fit a mean and a variance to ``M`` samples, draw
   ``M`` new samples from the fit, repeat. In *replace* mode each generation sees only the newest
   samples; in *accumulate* mode it sees every sample so far. With the maximum-likelihood variance
   the expected variance shrinks exactly as ``sigma0^2 ((M-1)/M)^n`` (:func:`expected_variance`);
   even the unbiased estimator, whose *mean* stays at ``sigma0^2``, sends almost every chain to
   zero (:func:`typical_variance`). Tails go first.
2. **The language-model chain** (:func:`run_chain`): generation 0 trains on real text; generation
   ``k+1`` trains on text sampled from generation ``k``. Every synthetic document carries its
   provenance (:class:`Doc`), every generation's data and metrics are saved as it runs
   (:class:`ChainStore`), and an interrupted chain resumes where it stopped.

Sources: Shumailov et al. 2024, "AI models collapse when trained on recursively generated data",
Nature 631 (tails vanish first, variance collapses); Gerstgrasser et al. 2024, "Is Model Collapse
Inevitable? Breaking the Curse of Recursion by Accumulating Real and Synthetic Data" (replace
degrades, accumulate stays bounded); Dohmatob et al. 2025, "Strong Model Collapse", ICLR (a small
synthetic fraction can already stop scaling gains).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from . import textmetrics as tm
from .checks import whole
from .data import atomic_write_text  # noqa: F401  (the chain store writes through it)

MODES = ("replace", "accumulate")
ESTIMATORS = ("mle", "unbiased")


# ============================================================================================
# 1. The Gaussian toy
# ============================================================================================

def _check_choice(name: str, value, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not accepted; choose one of {', '.join(choices)}")
    return value


def fit_gaussian(x: np.ndarray, estimator: str = "mle") -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each row of ``x`` (shape ``(chains, M)``).

    ``estimator="mle"`` divides by ``M`` (the maximum-likelihood fit); ``"unbiased"`` by ``M - 1``.
    """
    _check_choice("estimator", estimator, ESTIMATORS)
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[-1]
    if m < 2:
        raise ValueError(f"need at least 2 samples per chain to fit a variance, got M={m}")
    mean = x.mean(axis=-1)
    var = x.var(axis=-1, ddof=0 if estimator == "mle" else 1)
    return mean, var


def _erfc(x: np.ndarray) -> np.ndarray:
    """Vectorised complementary error function (torch's; numpy has none). NaN stays NaN."""
    import torch
    return torch.special.erfc(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()


def tail_probability(mean, var, mu0: float = 0.0, sigma0: float = 1.0, k: float = 2.0) -> np.ndarray:
    """Probability that N(mean, var) puts beyond ``mu0 +- k*sigma0`` (the ORIGINAL tails).

    For the original distribution itself this is ``erfc(k / sqrt 2)``: 0.0455 at k = 2.
    """
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 0.0))
    lo, hi = mu0 - k * sigma0, mu0 + k * sigma0
    with np.errstate(divide="ignore", invalid="ignore"):
        z_lo = (lo - mean) / sd       # P(X < lo) = Phi(z_lo)
        z_hi = (hi - mean) / sd       # P(X > hi) = 1 - Phi(z_hi)
    p = 0.5 * _erfc(-z_lo / math.sqrt(2)) + 0.5 * _erfc(z_hi / math.sqrt(2))
    # a collapsed fit (sd == 0) is a point mass: inside or outside the band
    point = sd == 0
    if np.any(point):
        p = np.where(point, ((mean < lo) | (mean > hi)).astype(np.float64), p)
    return p


@dataclass
class GaussianChains:
    """Per-chain, per-generation fits of a Gaussian collapse simulation.

    ``mean``, ``var`` and ``tail`` have shape ``(chains, generations + 1)``; column 0 is the true
    distribution N(mu0, sigma0^2), column ``n`` the model fitted at generation ``n``.
    ``tail`` is the probability the fitted model puts beyond the original +-2 sigma0.
    """

    mode: str
    estimator: str
    samples: int
    mu0: float
    sigma0: float
    seed: int
    mean: np.ndarray
    var: np.ndarray
    tail: np.ndarray
    wall_s: float

    @property
    def chains(self) -> int:
        return self.var.shape[0]

    @property
    def generations(self) -> int:
        return self.var.shape[1] - 1

    def summary(self, quantiles: tuple[float, float] = (0.1, 0.9)):
        """One row per generation: median / quantiles / mean of the variance and the tail mass,
        next to the exact expectation where one is known (replace mode)."""
        import pandas as pd
        q_lo, q_hi = quantiles
        n = np.arange(self.generations + 1)
        df = pd.DataFrame({
            "generation": n,
            "var_median": np.median(self.var, axis=0),
            f"var_q{int(q_lo * 100)}": np.quantile(self.var, q_lo, axis=0),
            f"var_q{int(q_hi * 100)}": np.quantile(self.var, q_hi, axis=0),
            "var_mean": self.var.mean(axis=0),
            "tail_median": np.median(self.tail, axis=0),
            "tail_mean": self.tail.mean(axis=0),
        })
        if self.mode == "replace":
            df["var_expected"] = expected_variance(n, self.samples, self.sigma0, self.estimator)
            df["var_typical"] = typical_variance(n, self.samples, self.sigma0, self.estimator)
        return df.set_index("generation")


def gaussian_chains(chains: int = 1000, samples: int = 100, generations: int = 100,
                    mode: str = "replace", estimator: str = "mle", mu0: float = 0.0,
                    sigma0: float = 1.0, seed: int = 0) -> GaussianChains:
    """Simulate ``chains`` independent Gaussian collapse chains, all at once (numpy, vectorised).

    Generation 0 draws ``samples`` (M) points from N(mu0, sigma0^2). Then, for each generation n:
    fit a Gaussian (``estimator``) to the training data, draw M new points from the fit.
    ``mode="replace"``: the training data is the newest M points only.
    ``mode="accumulate"``: the training data is every point drawn so far (real + all synthetic).
    """
    chains = whole("chains", chains, 1)
    m = whole("samples", samples, 2)
    generations = whole("generations", generations, 1)
    _check_choice("mode", mode, MODES)
    _check_choice("estimator", estimator, ESTIMATORS)
    if not (sigma0 > 0):
        raise ValueError(f"sigma0={sigma0!r} must be > 0")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    mean = np.empty((chains, generations + 1))
    var = np.empty((chains, generations + 1))
    mean[:, 0], var[:, 0] = mu0, sigma0 ** 2
    x = mu0 + sigma0 * rng.standard_normal((chains, m))          # generation-0 data: real
    s1, s2, count = x.sum(axis=1), (x * x).sum(axis=1), m          # running sums for accumulate
    for n in range(1, generations + 1):
        if mode == "replace":
            mu, v = fit_gaussian(x, estimator)
        else:
            mu = s1 / count
            v = np.maximum(s2 / count - mu * mu, 0.0)
            if estimator == "unbiased":
                v = v * count / (count - 1)
        mean[:, n], var[:, n] = mu, v
        x = mu[:, None] + np.sqrt(v)[:, None] * rng.standard_normal((chains, m))
        if mode == "accumulate":
            s1, s2, count = s1 + x.sum(axis=1), s2 + (x * x).sum(axis=1), count + m
    tail = tail_probability(mean, var, mu0, sigma0)
    return GaussianChains(mode, estimator, m, float(mu0), float(sigma0), int(seed), mean, var, tail,
                          time.perf_counter() - t0)


def expected_variance(n, samples: int, sigma0: float = 1.0, estimator: str = "mle") -> np.ndarray:
    """Exact E[var_n] of a *replace*-mode Gaussian chain.

    Given the generation n-1 fit, the M new points are N(mu, v) and M * v_mle / v ~ chi^2(M-1), so
    E[v_n | v_{n-1}] = (M-1)/M * v_{n-1} for the MLE fit, and v_{n-1} for the unbiased fit. By the
    tower rule E[var_n] = sigma0^2 ((M-1)/M)^n (MLE) and sigma0^2 (unbiased).
    """
    m = whole("samples", samples, 2)
    _check_choice("estimator", estimator, ESTIMATORS)
    n = np.asarray(n, dtype=np.float64)
    d = m if estimator == "mle" else m - 1
    return sigma0 ** 2 * ((m - 1) / d) ** n


def digamma(x: float) -> float:
    """The digamma function psi(x) for x > 0 (recurrence up to x >= 6, then the asymptotic series)."""
    if not x > 0:
        raise ValueError(f"digamma needs x > 0, got {x!r}")
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))


def typical_variance(n, samples: int, sigma0: float = 1.0, estimator: str = "mle") -> np.ndarray:
    """exp(E[log var_n]) of a replace-mode chain: the geometric mean, close to the median chain.

    var_n = sigma0^2 * R_1 ... R_n with i.i.d. R = chi^2(M-1) / d (d = M for MLE, M-1 unbiased), and
    E[log R] = psi((M-1)/2) + log(2/d) < 0 for BOTH estimators: the typical chain collapses even
    when the mean variance does not.
    """
    m = whole("samples", samples, 2)
    _check_choice("estimator", estimator, ESTIMATORS)
    d = m if estimator == "mle" else m - 1
    e_log_r = digamma((m - 1) / 2) + math.log(2 / d)
    return sigma0 ** 2 * np.exp(np.asarray(n, dtype=np.float64) * e_log_r)


# ============================================================================================
# 2. Provenance: every document knows where it came from
# ============================================================================================

@dataclass(frozen=True)
class Doc:
    """One training document and its provenance.

    ``origin`` is ``"real"`` (human-written, from ``source``) or ``"synthetic"`` (sampled from model
    ``model_id``, which is generation ``generation`` of the chain, with the sampling settings
    given). Real documents have ``generation = -1``.
    """

    text: str
    origin: str                    # "real" | "synthetic"
    generation: int                # the generation of the model that wrote it; -1 for real text
    model_id: str                  # who wrote it: "<chain>/gen<k>@<weights hash>" or "real:<corpus>"
    index: int                     # position within its generation's batch
    seed: int | None = None        # sampling seed (synthetic)
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None

    def __post_init__(self):
        if self.origin not in ("real", "synthetic"):
            raise ValueError(f"origin={self.origin!r} must be 'real' or 'synthetic'")

    @property
    def is_synthetic(self) -> bool:
        return self.origin == "synthetic"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Doc":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


SyntheticDoc = Doc  # the name later lessons use for the filter hook's type


def provenance_counts(docs: Sequence[Doc]) -> dict:
    """Bytes of training text per writer: ``{"real": ..., "gen0": ..., "gen1": ...}``."""
    out: dict[str, int] = {}
    for d in docs:
        key = "real" if d.origin == "real" else f"gen{d.generation}"
        out[key] = out.get(key, 0) + len(d.text.encode("utf-8"))
    return out


def weights_hash(model) -> str:
    """A short fingerprint of a torch model's weights (sha1 of every parameter's bytes)."""
    h = hashlib.sha1()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


# ============================================================================================
# 3. The on-disk chain store: atomic JSON / JSONL, so an interrupted chain resumes
# ============================================================================================

def atomic_write_json(path: str | Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def atomic_write_jsonl(path: str | Path, rows: Sequence[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class ChainStore:
    """A chain's folder: ``chain.json`` (its config), one ``gen_KKK/`` per finished generation.

    ``gen_KKK/docs.jsonl`` holds the documents generation k's model wrote (with provenance) and
    ``gen_KKK/metrics.json`` its metrics; metrics are written LAST, so a generation counts as done
    only when both are on disk. ``gen_KKK/model.pt`` (optional) holds its weights.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def gen_dir(self, k: int) -> Path:
        return self.root / f"gen_{k:03d}"

    def open(self, config: dict, fresh: bool = False) -> None:
        """Start or resume: a stored chain with a different config is an error unless ``fresh``."""
        meta = self.root / "chain.json"
        if meta.exists() and not fresh:
            stored = json.loads(meta.read_text())
            if stored.get("config") != config:
                diff = sorted(k for k in set(stored.get("config", {})) | set(config)
                              if stored.get("config", {}).get(k) != config.get(k))
                raise ValueError(
                    f"{self.root} holds a chain with a different config (differs in: {', '.join(diff)}); "
                    "pass fresh=True to overwrite it, or choose another folder")
            return
        if fresh and self.root.exists():
            for k in range(10_000):
                d = self.gen_dir(k)
                if not d.exists():
                    break
                for f in d.iterdir():
                    f.unlink()
                d.rmdir()
        atomic_write_json(meta, {"config": config, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def done(self, k: int) -> bool:
        return (self.gen_dir(k) / "metrics.json").exists() and (self.gen_dir(k) / "docs.jsonl").exists()

    def finished(self) -> int:
        """Number of consecutive finished generations from 0."""
        k = 0
        while self.done(k):
            k += 1
        return k

    def save_generation(self, k: int, docs: Sequence[Doc], metrics: dict, model=None) -> None:
        d = self.gen_dir(k)
        if model is not None:
            import torch
            fd, tmp = tempfile.mkstemp(prefix=".model.pt.", suffix=".tmp", dir=self._mk(d))
            os.close(fd)
            torch.save(model.state_dict(), tmp)
            os.replace(tmp, d / "model.pt")
        atomic_write_jsonl(d / "docs.jsonl", [doc.to_json() for doc in docs])
        atomic_write_json(d / "metrics.json", metrics)   # last: marks the generation done

    @staticmethod
    def _mk(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        return d

    def load_docs(self, k: int) -> list[Doc]:
        return [Doc.from_json(r) for r in read_jsonl(self.gen_dir(k) / "docs.jsonl")]

    def load_metrics(self, k: int) -> dict:
        return json.loads((self.gen_dir(k) / "metrics.json").read_text())

    def load_state_dict(self, k: int):
        import torch
        p = self.gen_dir(k) / "model.pt"
        if not p.exists():
            raise FileNotFoundError(f"{p} not found: run the chain with save_models=True to keep weights")
        return torch.load(p, map_location="cpu", weights_only=True)


# ============================================================================================
# 4. The language-model chain
# ============================================================================================

CHAIN_MODES = ("replace", "accumulate", "mix", "real")
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")

Select = Callable[[list[Doc], int], list[Doc]]
"""A filter hook: given generation k's synthetic docs and k, return those that may be trained on."""


@dataclass(frozen=True)
class ChainConfig:
    """Everything that decides a language-model collapse chain (saved with it, checked on resume).

    ``mode``: ``"replace"`` (generation k+1 trains only on generation k's samples),
    ``"accumulate"`` (real text + every generation's samples so far) or ``"mix"`` (generation k's
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
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    eval_batches: int = 20             # real val batches per val_bpb (the same batches every generation)
    tail_frac: float = 0.1             # the rare band: rarest real words making up this share of the text

    def __post_init__(self):
        _check_choice("mode", self.mode, CHAIN_MODES)
        for name, lo in (("generations", 1), ("steps", 1), ("docs", 1), ("doc_bytes", 1), ("seed", 0),
                         ("eval_batches", 1), ("batch_size", 1), ("corpus_max_bytes", 0)):
            whole(name, getattr(self, name), lo)
        if self.real_docs is not None:
            whole("real_docs", self.real_docs, 0)
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
        for key in ("gen0_steps", "gen0_seed", "last_docs"):
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


def decode_tokens(tokens) -> str:
    """Byte token ids (a 1-D tensor) back to text; a broken UTF-8 sequence becomes U+FFFD."""
    return np.asarray(tokens.cpu(), dtype=np.uint8).tobytes().decode("utf-8", errors="replace")


def real_docs(text: str, n: int, doc_bytes: int, seed: int, source: str = "real") -> list[Doc]:
    """``n`` real documents of ``doc_bytes`` characters, each starting at a random line start of ``text``.

    They have the shape of the synthetic documents (the model is prompted with a newline), so a
    real and a synthetic training set of the same size are comparable.
    """
    n = whole("n", n, 1)
    doc_bytes = whole("doc_bytes", doc_bytes, 1)
    if len(text) < doc_bytes + 2:
        raise ValueError(f"the real text ({len(text)} chars) is shorter than one document ({doc_bytes})")
    rng = np.random.default_rng(seed)
    starts = np.array([m.start() + 1 for m in re.finditer("\n", text[:len(text) - doc_bytes - 1])],
                      dtype=np.int64)
    if len(starts) == 0:
        starts = np.arange(len(text) - doc_bytes)
    pick = rng.choice(starts, size=n, replace=len(starts) < n)
    return [Doc(text[s:s + doc_bytes], "real", -1, f"real:{source}", i) for i, s in enumerate(pick)]


def docs_to_tokens(docs: Sequence[Doc], seed: int = 0):
    """One training token stream: the documents in a seeded random order, each after a newline."""
    import torch
    order = np.random.default_rng(seed).permutation(len(docs))
    text = "".join("\n" + docs[i].text for i in order)
    return torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()


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
                "distinct_1", "distinct_2", "distinct_3", "distinct_4", "train_bytes", "selected", "wall_s"]
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
        from .model import ModelConfig, build_model
        c = self.config
        model = build_model(ModelConfig(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
                                        block_size=c.block_size))
        model.load_state_dict(ChainStore(self.root).load_state_dict(k))
        return model.eval()


def chain_train_config(c: ChainConfig, seed: int):
    """The :class:`looplab.train.TrainConfig` every generation of chain ``c`` trains with."""
    from .train import TrainConfig
    return TrainConfig(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, block_size=c.block_size,
                       batch_size=c.batch_size, eval_batches=c.eval_batches, seed=seed)


def _device() -> str:
    from .config import device_name
    return device_name()


def _load_splits(c: ChainConfig):
    from .data import load_text, make_splits
    return make_splits(load_text(c.corpus, max_bytes=c.corpus_max_bytes))


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
    from .sample import sample_text
    from tqdm.auto import tqdm

    c = config
    device = device or _device()
    t_start = time.perf_counter()
    splits = data if data is not None else _load_splits(c)
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
            m = {key: m0[key] for key in ("val_loss", "val_bpb", "train_bytes", "train_provenance", "steps",
                                          "tokens_per_s", "train_s")}
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
    from .train import Budget, train
    t0 = time.perf_counter()
    # --- 1. the training set -----------------------------------------------------------------
    prev = [all_docs[k - 1][i] for i in selected[k - 1]] if k > 0 else []
    if k == 0:
        train_docs = real_train
    elif c.mode == "replace":
        train_docs = prev
    elif c.mode == "accumulate":
        train_docs = real_train + [all_docs[j][i] for j in range(k) for i in selected[j]]
    elif c.mode == "real":          # as many fresh real documents as the synthetic chains keep
        train_docs = real_docs(train_text, len(prev), c.doc_bytes, seed=c.seed * 1000 + k, source=c.corpus)
    else:  # mix
        n_mix = max(1, round(len(prev) * c.real_frac / (1 - c.real_frac)))
        train_docs = real_docs(train_text, n_mix, c.doc_bytes, seed=c.seed * 1000 + k,
                               source=c.corpus) + prev
    tokens = docs_to_tokens(train_docs, seed=(c.writer_seed if k == 0 else c.seed) * 1000 + k)
    if len(tokens) < c.block_size + 2:
        raise ValueError(f"generation {k}: only {len(tokens)} training bytes left (select kept "
                         f"{len(prev)} docs); need more than block_size={c.block_size}")
    # --- 2. train a fresh model, measure it on REAL held-out text --------------------------
    steps = c.gen0_steps if k == 0 and c.gen0_steps is not None else c.steps
    res = train(chain_train_config(c, seed=(c.writer_seed if k == 0 else c.seed) * 1000 + k), Budget(steps=steps),
                train_tokens=tokens, val_tokens=val_tokens, progress=False, device=device,
                measure_peak=False)
    model = res.model.eval()
    return model, {"val_loss": float(res.val_loss),      # eval_batches fixed batches of the real val split
                   "val_bpb": float(res.val_bpb), "train_bytes": int(len(tokens)),
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


def synthetic_fraction_sweep(fractions: Sequence[float], synthetic: Sequence[Doc], config: ChainConfig, *,
                             total_docs: int | None = None, seeds: Sequence[int] = (0,), data=None,
                             progress: bool = True, device: str | None = None):
    """Train one model per (fraction, seed) on a mix of real and synthetic docs; val_bpb on real text.

    Each training set holds ``total_docs`` documents (default ``4 * config.docs``), of which
    ``round(f * total_docs)`` are synthetic (drawn without replacement from ``synthetic``), the
    rest real (random line-start windows of the real training split). Fractions down to about 1 in
    1000 follow Dohmatob et al. 2025 ("Strong Model Collapse", ICLR), who find that even such
    small synthetic fractions can stop the gains from more data at scale. Returns a DataFrame with
    one row per run: fraction, seed, synthetic_docs, val_bpb.
    """
    import pandas as pd
    from tqdm.auto import tqdm
    from .train import train, Budget

    c = config
    device = device or _device()
    total = whole("total_docs", total_docs if total_docs is not None else 4 * c.docs, 1)
    fr = [float(f) for f in fractions]
    for f in fr:
        if not (0.0 <= f <= 1.0):
            raise ValueError(f"fraction {f!r} must lie in [0, 1]")
        if round(f * total) > len(synthetic):
            raise ValueError(f"fraction {f} of {total} docs needs {round(f * total)} synthetic docs, "
                             f"only {len(synthetic)} given; lower total_docs or sample more")
    splits = data if data is not None else _load_splits(c)
    train_text, val_tokens = decode_tokens(splits.train), splits.val
    rows = []
    runs = [(f, s) for s in seeds for f in fr]
    for f, s in tqdm(runs, desc="synthetic fraction", disable=not progress, leave=False):
        n_syn = round(f * total)
        rng = np.random.default_rng(20_000 + s)
        syn = [synthetic[i] for i in rng.choice(len(synthetic), size=n_syn, replace=False)] if n_syn else []
        real = real_docs(train_text, total - n_syn, c.doc_bytes, seed=30_000 + s, source=c.corpus) \
            if n_syn < total else []
        tokens = docs_to_tokens(real + syn, seed=s)
        t0 = time.perf_counter()
        res = train(chain_train_config(c, seed=s), Budget(steps=c.steps), train_tokens=tokens,
                    val_tokens=val_tokens, progress=False, device=device, measure_peak=False)
        rows.append({"fraction": f, "seed": s, "synthetic_docs": n_syn, "total_docs": total,
                     "val_bpb": float(res.val_bpb), "wall_s": time.perf_counter() - t0})
    return pd.DataFrame(rows)
