"""Growth trends (lesson 01): how fast cost or compute grows, fitted on dates, with an interval.

* :func:`decimal_year` -- dates as decimal years (2020-07-02 -> 2020.5);
* :func:`fit_growth` -- a log-linear fit of a value on date (``log10(value) = slope * year +
  intercept``) with a percentile-bootstrap interval of the yearly growth factor;
* :class:`GrowthFit` -- the fit: factor per year, doubling time, prediction and its band.

:mod:`looplab.economics` re-exports all three (``E.fit_growth``); the arithmetic of a known
growth rate (doubling time, projection) stays there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


def decimal_year(dates):
    """Dates (strings, datetimes or a pandas Series) as decimal years, e.g. 2020-07-02 -> 2020.5."""
    import numpy as np
    import pandas as pd
    t = pd.to_datetime(pd.Series(dates), errors="coerce")
    if t.isna().any():
        bad = list(pd.Series(dates)[t.isna().values][:3])
        raise ValueError(f"dates {bad!r} could not be read; use ISO dates like '2020-05-28'.")
    start = pd.to_datetime(t.dt.year.astype(str) + "-01-01")
    days = np.where(t.dt.is_leap_year, 366.0, 365.0)
    return (t.dt.year + (t - start).dt.total_seconds() / 86400.0 / days).to_numpy(dtype=float)


@dataclass(frozen=True)
class GrowthFit:
    """A log-linear fit ``log10(value) = slope * year + intercept`` and its bootstrap interval."""

    factor: float            # growth per year, 10 ** slope
    ci_low: float            # bootstrap percentile interval of the factor
    ci_high: float
    ci_level: float
    slope: float             # orders of magnitude per year
    intercept: float
    n: int                   # rows used
    first_year: float
    last_year: float
    n_boot: int
    boot: tuple = field(default=(), repr=False, compare=False)  # bootstrap (slopes, intercepts)

    @property
    def doubling_years(self) -> float:
        return math.log(2.0) / math.log(self.factor) if self.factor > 1 else math.inf

    def predict(self, year):
        """Fitted value at ``year`` (a number or an array)."""
        import numpy as np
        out = 10.0 ** (self.slope * np.asarray(year, dtype=float) + self.intercept)
        return float(out) if np.ndim(out) == 0 else out

    def band(self, year, ci: float | None = None):
        """Pointwise bootstrap interval ``(low, high)`` of the fitted value at ``year``."""
        import numpy as np
        if not self.boot:
            raise ValueError("this fit has no bootstrap (n_boot=0); refit with n_boot > 0.")
        level = self.ci_level if ci is None else ci
        slopes, intercepts = self.boot
        ly = np.outer(slopes, np.atleast_1d(np.asarray(year, dtype=float))) + intercepts[:, None]
        a = (1 - level) / 2
        lo, hi = 10.0 ** np.quantile(ly, [a, 1 - a], axis=0)
        return (lo, hi) if np.ndim(year) else (float(lo[0]), float(hi[0]))

    def __str__(self) -> str:
        return (f"{self.factor:.2f}x per year ({self.ci_level:.0%} CI {self.ci_low:.2f}-{self.ci_high:.2f}), "
                f"doubling every {12 * self.doubling_years:.1f} months, n={self.n} models "
                f"{self.first_year:.1f}-{self.last_year:.1f}")


def _ols(x, y):
    """Least-squares slope and intercept of y on x (closed form)."""
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    slope = ((x - xm) * (y - ym)).sum() / sxx
    return slope, ym - slope * xm


def fit_growth(dates, values, *, start=None, end=None, n_boot: int = 2000, ci: float = 0.90,
               seed: int = 0) -> GrowthFit:
    """Fit the yearly growth factor of ``values`` (cost, compute ...) over ``dates``.

    Rows with a missing or non-positive value are dropped; ``start`` / ``end`` (years or dates,
    inclusive) pick the window. The interval resamples the rows with replacement ``n_boot`` times
    and refits (a percentile bootstrap); ``n_boot=0`` skips it (CI = NaN).
    """
    import numpy as np
    x = decimal_year(dates)
    y = np.asarray(values, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"dates ({len(x)}) and values ({len(y)}) must have the same length.")
    keep = np.isfinite(y) & (y > 0)
    if start is not None:
        keep &= x >= _as_year(start)
    if end is not None:
        keep &= x <= _as_year(end, end=True)
    x, ly = x[keep], np.log10(y[keep])
    if len(x) < 3 or np.ptp(x) == 0:
        raise ValueError(f"only {len(x)} usable rows between start={start!r} and end={end!r}; "
                         "a growth fit needs at least 3 rows with positive values on different dates.")
    if not 0 < ci < 1:
        raise ValueError(f"ci={ci!r} must be in (0, 1), e.g. 0.90.")
    if n_boot < 0:
        raise ValueError(f"n_boot={n_boot!r} must be >= 0.")
    slope, intercept = _ols(x, ly)
    lo = hi = float("nan")
    boot = ()
    if n_boot:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        xb, yb = x[idx], ly[idx]
        xm, ym = xb.mean(1, keepdims=True), yb.mean(1, keepdims=True)
        sxx = ((xb - xm) ** 2).sum(1)
        ok = sxx > 0  # a resample of one date has no slope
        slopes = ((xb - xm) * (yb - ym)).sum(1)[ok] / sxx[ok]
        boot = (slopes, ym[ok, 0] - slopes * xm[ok, 0])
        a = (1 - ci) / 2
        lo, hi = (10.0 ** np.quantile(slopes, [a, 1 - a])).tolist()
    return GrowthFit(factor=10.0 ** slope, ci_low=lo, ci_high=hi, ci_level=ci, slope=float(slope),
                     intercept=float(intercept), n=int(len(x)), first_year=float(x.min()),
                     last_year=float(x.max()), n_boot=int(n_boot), boot=boot)


def _as_year(v, end: bool = False) -> float:
    """A year number (2020 means 2020-01-01, or the end of 2020 for ``end``) or a date string."""
    if isinstance(v, (int, float)):
        return float(v) + (1.0 if end and float(v).is_integer() else 0.0) - (1e-9 if end else 0.0)
    return float(decimal_year([v])[0])
