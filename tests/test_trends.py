"""looplab.economics.trends: decimal years and the log-linear growth fit with its bootstrap interval."""
import numpy as np
import pandas as pd
import pytest

from looplab.economics import trends as T


def test_decimal_year():
    y = T.decimal_year(["2020-01-01", "2021-07-02", "2023-12-31"])
    assert y[0] == 2020.0 and 2021.49 < y[1] < 2021.51 and 2023.99 < y[2] < 2024.0
    with pytest.raises(ValueError, match="could not be read"):
        T.decimal_year(["not a date"])


def _synthetic(rng, n=60, factor=3.0):
    years = rng.uniform(2016, 2024, n)
    dates = pd.Timestamp("2016-01-01") + pd.to_timedelta((years - 2016) * 365.25, "D")
    cost = 1e5 * factor ** (years - 2016) * 10 ** rng.normal(0, 0.3, n)
    return dates, cost


def test_fit_recovers_known_growth_and_ci_covers():
    rng = np.random.default_rng(1)
    dates, cost = _synthetic(rng, n=400)
    fit = T.fit_growth(dates, cost, n_boot=500, seed=0)
    assert abs(fit.factor - 3.0) < 0.15
    assert fit.predict(2016) == pytest.approx(1e5, rel=0.3)
    # the 90% bootstrap interval should contain the true factor in roughly 90% of datasets
    hits = 0
    for _ in range(100):
        f = T.fit_growth(*_synthetic(rng), n_boot=300, seed=int(rng.integers(1 << 30)))
        hits += f.ci_low < 3.0 < f.ci_high
    assert 78 <= hits <= 98, hits
    lo, hi = fit.band([2018, 2022])
    assert (lo < fit.predict([2018, 2022])).all() and (fit.predict([2018, 2022]) < hi).all()
    with pytest.raises(ValueError, match="no bootstrap"):
        T.fit_growth(dates, cost, n_boot=0).band(2020)
    with pytest.raises(ValueError, match="at least 3 rows"):
        T.fit_growth(dates, cost, start=2030)


