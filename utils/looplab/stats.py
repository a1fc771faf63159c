"""The statistics behind every verdict of the course, each with a false-positive rate stated before the
data are seen: paired t-tests, the exact sign-flip test, bootstrap intervals, Holm's correction, and the
power of a paired t-test (how many seeds a design needs).

* :func:`sign_flip_test` -- exact paired permutation test of a mean difference over seeds (every
  assignment of signs to the paired differences). Its false-positive rate is at most ``alpha``
  at any seed count, with no normality assumption; with n pairs the smallest p it can give is
  ``1 / 2**n`` (one-sided), so it needs n >= 5 to reach 0.05.
* :func:`t_keep_factor` -- the keep rule's threshold from Student's t: a single new run is kept
  only if it beats the baseline mean of ``n`` seeds by more than ``t_{1-alpha, n-1} * sqrt(1 + 1/n)``
  sample sigmas, which keeps a null change with probability ``alpha`` (normal noise).
* :func:`one_sided_t` / :func:`paired_t` -- Student's t over paired differences (one- and two-sided);
  :func:`holm` -- Holm's step-down correction over a family of tests;
* :func:`bootstrap_ci`, :func:`wilson_interval`, :func:`fisher_greater`, :func:`spearman_exact`,
  :func:`paired_t_power`.
"""
from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np

MAX_EXACT_PAIRS = 20   # 2**20 sign patterns: exact; beyond that the test refuses (use fewer seeds)


def sign_flip_test(diffs: Sequence[float], alternative: str = "greater") -> float:
    """Exact paired permutation p-value for mean(diffs) (``greater``: > 0; ``less``; ``two-sided``).

    Under the null (no difference), each paired difference is as likely to have either sign; the
    p-value is the share of the ``2**n`` sign patterns whose mean is at least as extreme as the
    observed one (the observed pattern included, so p >= 1 / 2**n).
    """
    d = [float(x) for x in diffs]
    if len(d) < 1:
        raise ValueError("sign_flip_test needs at least one paired difference, got none")
    if len(d) > MAX_EXACT_PAIRS:
        raise ValueError(f"{len(d)} pairs: the exact test enumerates 2**n patterns; use at most {MAX_EXACT_PAIRS}")
    if not all(math.isfinite(x) for x in d):
        raise ValueError(f"paired differences must be finite, got {d}")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative={alternative!r}; choose 'greater', 'less' or 'two-sided'")
    obs = sum(d)
    eps = 1e-12 * max(1.0, sum(abs(x) for x in d))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        s = sum(sg * abs(x) for sg, x in zip(signs, d))
        if alternative == "greater":
            hits += s >= obs - eps
        elif alternative == "less":
            hits += s <= obs + eps
        else:
            hits += abs(s) >= abs(obs) - eps
    return hits / 2 ** len(d)


def min_sign_flip_p(n: int) -> float:
    """The smallest one-sided p-value :func:`sign_flip_test` can give with ``n`` pairs."""
    return 1.0 / 2 ** n


def t_quantile(q: float, df: int) -> float:
    """Student's t quantile (scipy)."""
    from scipy import stats
    if not 0 < q < 1:
        raise ValueError(f"q={q} must lie strictly between 0 and 1")
    if df < 1:
        raise ValueError(f"df={df} must be >= 1 (a noise floor needs at least 2 seeds)")
    return float(stats.t.ppf(q, df))


def one_sided_t(diffs: Sequence[float]) -> tuple[float, float]:
    """``(t, p)`` of a one-sided t-test that the mean of paired differences is > 0 (df = n - 1).

    Under normal noise around zero, ``p <= alpha`` happens with probability ``alpha``. Without
    spread (every difference equal) t is +-inf by the sign of the mean (p 0 or 1), or 0 (p 1).
    """
    from scipy import stats
    d = [float(x) for x in diffs]
    if len(d) < 2:
        raise ValueError(f"a paired t-test needs at least 2 differences (2 seeds), got {len(d)}")
    if not all(math.isfinite(x) for x in d):
        raise ValueError(f"paired differences must be finite, got {d}")
    if max(d) - min(d) <= 1e-12 * max(1.0, abs(d[0])):   # no spread: scipy would give nan
        return (math.copysign(math.inf, d[0]), 0.0 if d[0] > 0 else 1.0) if d[0] != 0 else (0.0, 1.0)
    r = stats.ttest_1samp(d, 0.0, alternative="greater")
    return float(r.statistic), float(r.pvalue)


def t_keep_factor(n: int, alpha: float = 0.05) -> float:
    """k such that "gain > k * sigma_hat" keeps a null change with probability ``alpha``.

    ``sigma_hat`` is the sample SD of ``n`` baseline seeds and the candidate is one new run
    compared with their mean: (mean - x) / (sigma_hat * sqrt(1 + 1/n)) follows Student's t with
    n - 1 degrees of freedom when nothing changed, so k = t_{1-alpha, n-1} * sqrt(1 + 1/n).
    """
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha={alpha} must lie in (0, 0.5), e.g. 0.05")
    return t_quantile(1 - alpha, n - 1) * math.sqrt(1 + 1 / n)


def null_keep_rate(k: float, n: int) -> float:
    """Probability that "gain > k * sigma_hat" keeps a null change (normal noise, ``n`` seeds)."""
    from scipy import stats
    if k < 0:
        raise ValueError(f"k={k} must be >= 0")
    return float(stats.t.sf(k / math.sqrt(1 + 1 / n), n - 1))


def bootstrap_ci(values: Sequence[float], stat=None, level: float = 0.9, reps: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` (default: the mean) over ``values``.

    A resample where ``stat`` is undefined (it returns NaN, e.g. a ratio whose denominator is not
    positive in that resample) is left out of the percentiles; if every resample is, the interval is NaN.
    """
    import numpy as np
    x = np.asarray([float(v) for v in values])
    if x.size < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 values, got {x.size}")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must lie in (0, 1)")
    stat = stat or np.mean
    rng = np.random.default_rng(seed)
    reps_v = [stat(x[rng.integers(0, x.size, x.size)]) for _ in range(reps)]
    reps_v = np.asarray(reps_v, dtype=float)
    if np.isnan(reps_v).all():
        return float("nan"), float("nan")
    lo, hi = np.nanquantile(reps_v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def spearman_exact(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """``(rho, p)``: Spearman's rank correlation and its exact one-sided p-value (rho > 0).

    Under the null (the two rankings unrelated) every order of ``y`` against ``x`` is equally
    likely; p is the share of all ``n!`` orders whose rho is at least the observed one, so
    ``p <= alpha`` happens with probability at most ``alpha``. Ties get average ranks.
    """
    import numpy as np
    from scipy import stats
    x, y = [float(v) for v in x], [float(v) for v in y]
    if len(x) != len(y) or not 3 <= len(x) <= 8:
        raise ValueError(f"need two sequences of the same length, 3 to 8 (exact over n! orders), got {len(x)} and {len(y)}")
    if not all(math.isfinite(v) for v in x + y):
        raise ValueError(f"values must be finite, got {x} and {y}")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx ** 2).sum() * (ry ** 2).sum()))
    if denom == 0:
        return math.nan, 1.0
    obs = float((rx * ry).sum())
    perms = np.array(list(itertools.permutations(ry)))
    hits = int(((perms @ rx) >= obs - 1e-9 * max(1.0, abs(obs))).sum())
    return obs / denom, hits / len(perms)


def wilson_interval(x: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """Wilson score interval for a rate of ``x`` successes in ``n`` trials (scipy's binomtest)."""
    from scipy import stats
    if not (isinstance(n, int) and n >= 1 and isinstance(x, int) and 0 <= x <= n):
        raise ValueError(f"need whole numbers 0 <= x <= n and n >= 1, got x={x!r}, n={n!r}")
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def fisher_greater(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided Fisher exact p-value that rate ``x1/n1`` exceeds rate ``x2/n2``.

    Exact given both margins: under equal rates, ``p <= alpha`` happens with probability at most
    ``alpha`` (conservative).
    """
    from scipy import stats
    for x, n in ((x1, n1), (x2, n2)):
        if not (isinstance(n, int) and n >= 1 and isinstance(x, int) and 0 <= x <= n):
            raise ValueError(f"need whole numbers 0 <= x <= n and n >= 1, got x={x!r}, n={n!r}")
    return float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="greater").pvalue)


def paired_t_power(effect: float, sd: float, n: int, alpha: float = 0.05, sided: int = 2) -> float:
    """Power of a paired t-test over ``n`` pairs to detect a mean difference ``effect``.

    ``sd`` is the SD of the paired differences; the noncentral t gives the probability that the
    test rejects at level ``alpha`` (``sided`` 1 or 2) when the true mean is ``effect``.
    """
    from scipy import stats
    if n < 2 or not sd > 0 or sided not in (1, 2) or not 0 < alpha < 1:
        raise ValueError(f"need n >= 2, sd > 0, sided 1 or 2 and 0 < alpha < 1; got n={n}, sd={sd}, "
                         f"sided={sided}, alpha={alpha}")
    df, nc = n - 1, abs(effect) / sd * math.sqrt(n)
    crit = stats.t.ppf(1 - alpha / sided, df)
    return float(stats.nct.sf(crit, df, nc) + (stats.nct.cdf(-crit, df, nc) if sided == 2 else 0.0))


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """``(mean of a - b, t, two-sided p)`` of a paired t-test over matched loops (nan p if no spread)."""
    from scipy import stats
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {d.size}")
    if np.allclose(d, d[0]):
        return float(d.mean()), float("nan"), (1.0 if abs(d[0]) < 1e-12 else 0.0)
    t, p = stats.ttest_rel(np.asarray(a, float), np.asarray(b, float))
    return float(d.mean()), float(t), float(p)


def holm(pvalues: Mapping[str, float], alpha: float = 0.05) -> dict:
    """Holm's step-down correction: which of several p-values are significant at family-wise ``alpha``."""
    items = sorted(pvalues.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))
    out, m, still = {}, len(items), True
    for j, (k, p) in enumerate(items):
        still = still and not math.isnan(p) and p <= alpha / (m - j)
        out[k] = still
    return out
