"""looplab.economics.growthtests: doubling times, the acceleration test (with its false-positive rate on data
with no break) and projections, on synthetic costs with a known break."""
import math

import numpy as np
import pandas as pd
import pytest

from looplab.economics import growthtests as G
from looplab.economics import trends as T


def _dates(years):
    return pd.Timestamp("2000-01-01") + pd.to_timedelta((np.asarray(years) - 2000) * 365.25, "D")


def _broken(rng, before, after, n_before=25, n_after=40, noise=0.3):
    """Costs growing at ``before`` x/yr in 2016-2020 and ``after`` x/yr from 2020, continuous at 2020."""
    ya, yb = rng.uniform(2016, 2020, n_before), rng.uniform(2020, 2025, n_after)
    years = np.concatenate([ya, yb])
    logc = np.where(years < 2020, np.log10(before) * (years - 2020), np.log10(after) * (years - 2020)) + 7
    return _dates(years), 10 ** (logc + rng.normal(0, noise, len(years)))


def test_doubling_months():
    assert G.doubling_months(2.0) == pytest.approx(12.0)
    assert G.doubling_months(3.5) == pytest.approx(6.64, abs=0.01)
    with pytest.raises(ValueError, match=r"factor_per_year=1 .*\(1, inf\)"):
        G.doubling_months(1)
    rng = np.random.default_rng(0)
    d, c = _broken(rng, 3.0, 3.0)
    fit = T.fit_growth(d, c, n_boot=500)
    point, lo, hi = G.fit_doubling_months(fit)
    assert lo < point < hi and point == pytest.approx(G.doubling_months(fit.factor))
    assert lo == pytest.approx(G.doubling_months(fit.ci_high))
    flat = T.fit_growth(d, np.ones(len(c)) * 5.0 * 10 ** rng.normal(0, 0.3, len(c)), n_boot=500)
    with pytest.raises(ValueError, match="must exceed 1"):
        G.fit_doubling_months(flat)


# -- acceleration -----------------------------------------------------------------------------------
def test_acceleration_finds_a_real_break_and_matches_lstsq():
    rng = np.random.default_rng(3)
    d, c = _broken(rng, 1.5, 4.0, n_before=60, n_after=80, noise=0.15)
    a = G.acceleration(d, c, n_boot=1000, seed=0)
    assert a.speeds_up and a.hinge_p < 0.01
    assert 1.3 < a.before < 1.75 and 3.5 < a.after < 4.6
    assert a.ci_low < a.ratio < a.ci_high
    # the hinge fit is ordinary least squares on [1, x - 2020, max(0, x - 2020)]
    x, y = T.decimal_year(d), np.log10(c)
    X = np.column_stack([np.ones_like(x), x - 2020, np.maximum(0, x - 2020)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    assert a.hinge_before == pytest.approx(10 ** beta[1]) and a.hinge_after == pytest.approx(10 ** (beta[1] + beta[2]))
    # the two-window slopes are the separate least-squares fits
    assert a.after == pytest.approx(T.fit_growth(d, c, start=2020, n_boot=0).factor)


def test_acceleration_false_positive_rate_is_near_nominal():
    rng = np.random.default_rng(7)
    d, c = _broken(rng, 2.5, 2.5, n_before=22, n_after=38)
    r = G.acceleration_null_rate(d, c, n_sim=300, n_boot=400, seed=1)
    # nominal one-sided 5%; with 300 null datasets a rate above 12% would be a broken test
    assert r["bootstrap"] <= 0.12 and r["hinge"] <= 0.12
    assert r["n_sim"] == 300


def test_acceleration_bad_input():
    rng = np.random.default_rng(0)
    d, c = _broken(rng, 2, 3)
    with pytest.raises(ValueError, match="only 0 usable rows before split=2010"):
        G.acceleration(d, c, split=2010)
    with pytest.raises(ValueError, match="n_boot=10"):
        G.acceleration(d, c, n_boot=10)
    with pytest.raises(ValueError, match="n_sim=2"):
        G.acceleration_null_rate(d, c, n_sim=2)


# -- projections ------------------------------------------------------------------------------------
def test_projection_trend_and_record():
    rng = np.random.default_rng(2)
    d, c = _broken(rng, 3.0, 3.0)
    fit = T.fit_growth(d, c, n_boot=1000)
    p = G.projection(fit, 2026.5, (1e8, 1e9))
    assert p.point == pytest.approx(fit.predict(2026.5))
    assert (p.low, p.high) == pytest.approx(fit.band(2026.5))
    slopes, icpts = fit.boot
    vals = 10 ** (slopes * 2026.5 + icpts)
    assert p.share_in == pytest.approx(((vals >= 1e8) & (vals <= 1e9)).mean())
    r = G.projection(fit, 2027.0, (1e9, math.inf), from_value=5e8, from_year=2025.0)
    assert r.point == pytest.approx(5e8 * fit.factor ** 2)
    assert r.low < r.point < r.high
    with pytest.raises(ValueError, match="from_year"):
        G.projection(fit, 2027.0, (1e9, math.inf), from_value=5e8)
    with pytest.raises(ValueError, match="low < high"):
        G.projection(fit, 2027.0, (5, 1))
    with pytest.raises(ValueError, match="no bootstrap"):
        G.projection(T.fit_growth(d, c, n_boot=0), 2027.0, (1, 2))
