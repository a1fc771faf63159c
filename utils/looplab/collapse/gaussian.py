"""The Gaussian toy of lesson 04: fit a mean and a variance to ``M`` samples, draw ``M`` new samples
from the fit, repeat, for thousands of chains at once.

In *replace* mode each generation sees only the newest samples; in *accumulate* mode every sample
so far. With the maximum-likelihood variance the expected variance shrinks exactly as
``sigma0^2 ((M-1)/M)^n`` (:func:`expected_variance`); even the unbiased estimator, whose *mean*
stays at ``sigma0^2``, sends almost every chain to zero (:func:`typical_variance`). Tails go first
(:func:`tail_probability`). Source: Shumailov et al. 2024, Nature 631; the accumulate bound is
Gerstgrasser et al. 2024 (arXiv:2404.01413), proved there for linear models.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..checks import choice, whole

MODES = ("replace", "accumulate")
ESTIMATORS = ("mle", "unbiased")


def fit_gaussian(x: np.ndarray, estimator: str = "mle") -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each row of ``x`` (shape ``(chains, M)``).

    ``estimator="mle"`` divides by ``M`` (the maximum-likelihood fit); ``"unbiased"`` by ``M - 1``.
    """
    choice("estimator", estimator, ESTIMATORS)
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
    choice("mode", mode, MODES)
    choice("estimator", estimator, ESTIMATORS)
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
    choice("estimator", estimator, ESTIMATORS)
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
    choice("estimator", estimator, ESTIMATORS)
    d = m if estimator == "mle" else m - 1
    e_log_r = digamma((m - 1) / 2) + math.log(2 / d)
    return sigma0 ** 2 * np.exp(np.asarray(n, dtype=np.float64) * e_log_r)
