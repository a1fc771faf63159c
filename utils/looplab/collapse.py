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
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from . import textmetrics as tm

MODES = ("replace", "accumulate")
ESTIMATORS = ("mle", "unbiased")


# ============================================================================================
# 1. The Gaussian toy
# ============================================================================================

def _check_int(name: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}={value!r} must be a whole number >= {lo}")
    return int(value)


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
    chains = _check_int("chains", chains, 1)
    m = _check_int("samples", samples, 2)
    generations = _check_int("generations", generations, 1)
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
    m = _check_int("samples", samples, 2)
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
    m = _check_int("samples", samples, 2)
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

def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` all-or-nothing: a temp file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
