"""The statistics that grade growth claims (lesson 01): a doubling time, a break test, a projection.

* :func:`doubling_months` / :func:`fit_doubling_months` -- a growth fit as a doubling time, with
  its interval;
* :func:`acceleration` -- did growth speed up after a break year? The ratio of two windows' growth
  factors with a bootstrap interval, and a broken-line (hinge) fit with a t-test of the break;
  :func:`acceleration_null_rate` measures the test's false-positive rate on data with no break;
* :func:`projection` -- a fitted trend (or a record run grown at the fitted rate) carried forward
  to a year, with the bootstrap interval and the share of bootstrap fits inside a claimed range.

The fits themselves come from :mod:`looplab.economics.trends`; the lesson calls these through its
package (``E.acceleration``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..checks import positive
from .trends import GrowthFit, decimal_year


# ----------------------------------------------------------------------------------------------
# Growth as a doubling time
# ----------------------------------------------------------------------------------------------
def doubling_months(factor_per_year: float) -> float:
    """Months to double at ``factor_per_year`` (> 1)."""
    g = positive("factor_per_year", factor_per_year, lo=1.0)
    return 12.0 * math.log(2.0) / math.log(g)


def fit_doubling_months(fit: GrowthFit) -> tuple[float, float, float]:
    """(point, low, high) doubling time in months of a growth fit; the interval maps the fit's
    factor interval (a faster factor is a shorter doubling). Needs a factor interval above 1."""
    if not (fit.ci_low > 1 and fit.factor > 1):
        raise ValueError(f"the fit's factor {fit.factor:.3g} (CI {fit.ci_low:.3g}-{fit.ci_high:.3g}) must "
                         "exceed 1 for a doubling time; fit with n_boot > 0 on a growing series.")
    return doubling_months(fit.factor), doubling_months(fit.ci_high), doubling_months(fit.ci_low)


# ----------------------------------------------------------------------------------------------
# Did growth speed up? Two windows, and a broken line
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Acceleration:
    """Growth before and after a break year, their ratio with a bootstrap interval, and a hinge fit."""

    split: float
    before: float             # growth factor per year in [start, split)
    after: float              # growth factor per year in [split, end]
    n_before: int
    n_after: int
    ratio: float              # after / before
    ci_low: float
    ci_high: float
    ci_level: float
    p_boot: float             # share of bootstrap ratios <= 1 (one-sided evidence against speed-up)
    hinge_before: float       # broken-line fit, continuous at the split: factor before
    hinge_after: float        # ... and after
    hinge_t: float            # t statistic of the change in slope
    hinge_p: float            # one-sided p-value (slope increases), Student's t, n - 3 df
    n_boot: int
    boot: tuple = field(default=(), repr=False, compare=False)

    @property
    def speeds_up(self) -> bool:
        """The bootstrap interval of the ratio lies above 1."""
        return self.ci_low > 1.0

    def __str__(self) -> str:
        return (f"{self.before:.2f}x/yr before {self.split:g} (n={self.n_before}), {self.after:.2f}x/yr after "
                f"(n={self.n_after}); ratio {self.ratio:.2f} ({self.ci_level:.0%} CI {self.ci_low:.2f}-"
                f"{self.ci_high:.2f}); hinge fit {self.hinge_before:.2f} -> {self.hinge_after:.2f}x/yr, "
                f"one-sided p = {self.hinge_p:.3g}")


def _xy(dates, values, start, end):
    import numpy as np
    x = decimal_year(dates)
    y = np.asarray(values, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"dates ({len(x)}) and values ({len(y)}) must have the same length.")
    keep = np.isfinite(y) & (y > 0) & (x >= float(start))
    if end is not None:
        keep &= x < float(end)
    return x[keep], np.log10(y[keep])


def _slopes(x, y):
    """Least-squares slopes along the last axis."""
    xm, ym = x.mean(-1, keepdims=True), y.mean(-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(-1)
    import numpy as np
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((x - xm) * (y - ym)).sum(-1) / sxx


def _hinge(x, y, split):
    """OLS of y on [1, x - split, max(0, x - split)]: (slope before, change, t of change, df)."""
    import numpy as np
    X = np.column_stack([np.ones_like(x), x - split, np.maximum(0.0, x - split)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    df = len(y) - 3
    cov = (resid @ resid / df) * np.linalg.inv(X.T @ X)
    return beta[1], beta[2], beta[2] / math.sqrt(cov[2, 2]), df


def acceleration(dates, values, *, split: float = 2020.0, start: float = 2016.0, end: float | None = None,
                 n_boot: int = 4000, ci: float = 0.90, seed: int = 0) -> Acceleration:
    """Compare growth in ``[start, split)`` with growth in ``[split, end)``.

    Two tests of one question: (1) the ratio of the two windows' growth factors, each window
    resampled with replacement on its own (percentile bootstrap, ``n_boot`` draws); (2) a broken
    line, continuous at ``split``, whose change of slope gets an ordinary least-squares t-test.
    ``split`` must be chosen before looking at the data (here: the essay's "since 2020").
    """
    import numpy as np
    from scipy import stats
    if not 0 < ci < 1:
        raise ValueError(f"ci={ci!r} must be in (0, 1), e.g. 0.90.")
    if n_boot < 100:
        raise ValueError(f"n_boot={n_boot!r} must be >= 100 for a percentile interval.")
    x, y = _xy(dates, values, start, end)
    a, b = x < split, x >= split
    for name, m in (("before", a), ("after", b)):
        if m.sum() < 3 or np.ptp(x[m]) == 0:
            raise ValueError(f"only {int(m.sum())} usable rows {name} split={split!r} (start={start!r}, "
                             f"end={end!r}); each window needs at least 3 rows on different dates.")
    sa, sb = _slopes(x[a], y[a]), _slopes(x[b], y[b])
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.sum(), (n_boot, a.sum()))
    ib = rng.integers(0, b.sum(), (n_boot, b.sum()))
    d = _slopes(x[b][ib], y[b][ib]) - _slopes(x[a][ia], y[a][ia])
    d = d[np.isfinite(d)]
    q = (1 - ci) / 2
    lo, hi = 10.0 ** np.quantile(d, [q, 1 - q])
    h_before, h_change, h_t, df = _hinge(x, y, split)
    return Acceleration(split=float(split), before=float(10 ** sa), after=float(10 ** sb),
                        n_before=int(a.sum()), n_after=int(b.sum()), ratio=float(10 ** (sb - sa)),
                        ci_low=float(lo), ci_high=float(hi), ci_level=ci, p_boot=float((d <= 0).mean()),
                        hinge_before=float(10 ** h_before), hinge_after=float(10 ** (h_before + h_change)),
                        hinge_t=float(h_t), hinge_p=float(stats.t.sf(h_t, df)), n_boot=int(len(d)),
                        boot=(10.0 ** d,))


def acceleration_null_rate(dates, values, *, split: float = 2020.0, start: float = 2016.0,
                           end: float | None = None, n_sim: int = 200, n_boot: int = 1000,
                           ci: float = 0.90, alpha: float = 0.05, seed: int = 0) -> dict:
    """How often :func:`acceleration` reports a speed-up when there is none.

    Null data: the same dates, one straight line fitted to all of them, plus the line's own
    residuals resampled with replacement (so the scatter is the data's, and no break exists).
    Returns the share of ``n_sim`` null datasets whose ratio interval lies above 1
    (``"bootstrap"``) and whose hinge p-value is below ``alpha`` (``"hinge"``).
    """
    import numpy as np
    if n_sim < 10:
        raise ValueError(f"n_sim={n_sim!r} must be >= 10 to estimate a rate.")
    x, y = _xy(dates, values, start, end)
    slope = _slopes(x, y)
    icpt = y.mean() - slope * x.mean()
    resid = y - (icpt + slope * x)
    rng = np.random.default_rng(seed)
    boot_hits = hinge_hits = 0
    for i in range(n_sim):
        y_null = icpt + slope * x + rng.choice(resid, size=len(x), replace=True)
        acc = _acceleration_xy(x, y_null, split, n_boot, ci, int(rng.integers(1 << 31)))
        boot_hits += acc[0] > 1.0
        hinge_hits += acc[1] < alpha
    return {"bootstrap": boot_hits / n_sim, "hinge": hinge_hits / n_sim, "n_sim": n_sim,
            "nominal": (1 - ci) / 2, "alpha": alpha}


def _acceleration_xy(x, y, split, n_boot, ci, seed):
    """(lower bound of the ratio interval, hinge one-sided p) on years ``x`` and log10 values ``y``."""
    import numpy as np
    from scipy import stats
    a, b = x < split, x >= split
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.sum(), (n_boot, a.sum()))
    ib = rng.integers(0, b.sum(), (n_boot, b.sum()))
    d = _slopes(x[b][ib], y[b][ib]) - _slopes(x[a][ia], y[a][ia])
    d = d[np.isfinite(d)]
    lo = 10.0 ** np.quantile(d, (1 - ci) / 2)
    _, _, t, df = _hinge(x, y, split)
    return float(lo), float(stats.t.sf(t, df))


# ----------------------------------------------------------------------------------------------
# Carrying a trend forward
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Projection:
    """A value carried forward to ``year``: point, bootstrap interval, share inside a claimed range."""

    year: float
    point: float
    low: float
    high: float
    level: float
    share_in: float       # share of bootstrap fits whose value at ``year`` lies in [lo, hi] of the claim
    how: str

    def __str__(self) -> str:
        return (f"{self.year:.1f}: ${self.point / 1e6:,.0f}M ({self.level:.0%} interval ${self.low / 1e6:,.0f}M-"
                f"${self.high / 1e6:,.0f}M); {self.share_in:.0%} of bootstrap fits in the claimed range ({self.how})")


def projection(fit: GrowthFit, year: float, claim_range: tuple, *, from_value: float | None = None,
               from_year: float | None = None, level: float | None = None) -> Projection:
    """The fit's value at ``year`` (its trend line), or, with ``from_value`` and ``from_year``, that
    value grown at the fit's rate (e.g. the most expensive run so far). The interval and
    ``share_in`` come from the fit's bootstrap slopes (and intercepts, for the trend line).
    ``claim_range`` is ``(low, high)``; use ``(x, inf)`` for "more than x"."""
    import numpy as np
    if not fit.boot:
        raise ValueError("this fit has no bootstrap (n_boot=0); refit with n_boot > 0.")
    lo_c, hi_c = claim_range
    if not (lo_c < hi_c):
        raise ValueError(f"claim_range={claim_range!r} must be (low, high) with low < high.")
    yr = positive("year", year, lo=1900, hi=2200)
    lvl = fit.ci_level if level is None else positive("level", level, hi=1.0, hi_open=True)
    slopes, intercepts = fit.boot
    if from_value is None:
        vals = 10.0 ** (slopes * yr + intercepts)
        point = fit.predict(yr)
        how = "trend line of the fit"
    else:
        if from_year is None:
            raise ValueError("from_value needs from_year (the year of that value).")
        v0 = positive("from_value", from_value)
        dt = yr - float(from_year)
        vals = v0 * 10.0 ** (slopes * dt)
        point = v0 * fit.factor ** dt
        how = f"${v0 / 1e6:,.0f}M in {float(from_year):.1f} grown at the fitted rate"
    q = (1 - lvl) / 2
    lo, hi = np.quantile(vals, [q, 1 - q])
    share = float(((vals >= lo_c) & (vals <= hi_c)).mean())
    return Projection(year=yr, point=float(point), low=float(lo), high=float(hi), level=lvl,
                      share_in=share, how=how)
