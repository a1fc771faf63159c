"""looplab.claims: hardware-based compute, the acceleration test (with its false-positive rate on
data with no break), doubling times and projections; the published figures against Epoch's table."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from looplab import claims as C
from looplab import economics as E

EPOCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "epoch"
needs_epoch = pytest.mark.skipif(
    not (EPOCH / "notable_models_subset.csv").is_file(),
    reason=f"Epoch AI reference data not found at {EPOCH} (a shared folder beside the repo).")


def _dates(years):
    return pd.Timestamp("2000-01-01") + pd.to_timedelta((np.asarray(years) - 2000) * 365.25, "D")


def _broken(rng, before, after, n_before=25, n_after=40, noise=0.3):
    """Costs growing at ``before`` x/yr in 2016-2020 and ``after`` x/yr from 2020, continuous at 2020."""
    ya, yb = rng.uniform(2016, 2020, n_before), rng.uniform(2020, 2025, n_after)
    years = np.concatenate([ya, yb])
    logc = np.where(years < 2020, np.log10(before) * (years - 2020), np.log10(after) * (years - 2020)) + 7
    return _dates(years), 10 ** (logc + rng.normal(0, noise, len(years)))


# -- hardware ---------------------------------------------------------------------------------------
def test_hardware_flops_is_the_product():
    assert C.hardware_flops(1000, 312e12, 0.5) == pytest.approx(1000 * 3600 * 312e12 * 0.5)
    for kw, match in [(dict(chip_hours=-1), "chip_hours=-1"), (dict(utilization=1.2), r"utilization=1.2 .*\(0, 1\]"),
                      (dict(peak_flops="fast"), "peak_flops='fast' must be a number")]:
        args = dict(chip_hours=10, peak_flops=1e12, utilization=0.4) | kw
        with pytest.raises(ValueError, match=match):
            C.hardware_flops(**args)


def test_hardware_runs_reproduce_their_published_figures():
    opt = C.HARDWARE_RUNS["OPT-175B"]
    # the OPT logbook: ~4.30e23 FLOPs, ~33 days on 1,024 A100s; the paper: 147 TFLOP/s per GPU
    lo, hi = opt.hardware()
    assert lo == hi and lo == pytest.approx(opt.published_flops, rel=0.01)
    palm = C.HARDWARE_RUNS["PaLM 540B"]
    assert palm.chip_hours == 8_404_992 and palm.peak == 275e12
    # every run sources every figure with a link
    for r in C.HARDWARE_RUNS.values():
        assert "https://" in r.sources, r.name
        assert 0 < r.util_low <= r.util_high <= 1


def test_hardware_table_ratios():
    t = C.hardware_table()
    assert list(t.index) == list(C.HARDWARE_RUNS)
    llama = C.HARDWARE_RUNS["Llama 3.1 405B"]
    row = t.loc["Llama 3.1 405B"]
    assert row["6ND"] == pytest.approx(6 * 405e9 * 15.6e12)
    assert row["6ND / hw (min)"] == pytest.approx(row["6ND"] / C.hardware_flops(30.84e6, 989e12, 0.43))
    assert row["6ND / hw (max)"] == pytest.approx(row["6ND"] / C.hardware_flops(30.84e6, 989e12, 0.38))
    assert row["implied util of 6ND"] == pytest.approx(row["6ND"] / (llama.chip_hours * 3600 * 989e12))
    # what the lesson reports: 6ND is below every hardware estimate here, by 10-40%
    assert (t["6ND / hw (max)"] < 1).all() and (t["6ND / hw (min)"] > 0.6).all()


@needs_epoch
def test_published_chip_hours_agree_with_epoch():
    raw = pd.read_csv(EPOCH / "notable_models_subset.csv").set_index("Model")
    assert raw.loc["PaLM (540B)", "Training chip-hours"] == C.HARDWARE_RUNS["PaLM 540B"].chip_hours
    # Epoch: 384 GPUs x 2,808 h; BigScience reports 1,082,990 GPU-hours: the same run within 0.5%
    assert raw.loc["BLOOM-176B", "Training chip-hours"] == pytest.approx(C.HARDWARE_RUNS["BLOOM-176B"].chip_hours, rel=5e-3)
    assert raw.loc["OPT-175B", "Training compute (FLOP)"] == pytest.approx(C.HARDWARE_RUNS["OPT-175B"].published_flops)


# -- doubling times ---------------------------------------------------------------------------------
def test_doubling_months():
    assert C.doubling_months(2.0) == pytest.approx(12.0)
    assert C.doubling_months(3.5) == pytest.approx(6.64, abs=0.01)
    with pytest.raises(ValueError, match=r"factor_per_year=1 .*\(1, inf\)"):
        C.doubling_months(1)
    rng = np.random.default_rng(0)
    d, c = _broken(rng, 3.0, 3.0)
    fit = E.fit_growth(d, c, n_boot=500)
    point, lo, hi = C.fit_doubling_months(fit)
    assert lo < point < hi and point == pytest.approx(C.doubling_months(fit.factor))
    assert lo == pytest.approx(C.doubling_months(fit.ci_high))
    flat = E.fit_growth(d, np.ones(len(c)) * 5.0 * 10 ** rng.normal(0, 0.3, len(c)), n_boot=500)
    with pytest.raises(ValueError, match="must exceed 1"):
        C.fit_doubling_months(flat)


# -- acceleration -----------------------------------------------------------------------------------
def test_acceleration_finds_a_real_break_and_matches_lstsq():
    rng = np.random.default_rng(3)
    d, c = _broken(rng, 1.5, 4.0, n_before=60, n_after=80, noise=0.15)
    a = C.acceleration(d, c, n_boot=1000, seed=0)
    assert a.speeds_up and a.hinge_p < 0.01
    assert 1.3 < a.before < 1.75 and 3.5 < a.after < 4.6
    assert a.ci_low < a.ratio < a.ci_high
    # the hinge fit is ordinary least squares on [1, x - 2020, max(0, x - 2020)]
    x, y = E.decimal_year(d), np.log10(c)
    X = np.column_stack([np.ones_like(x), x - 2020, np.maximum(0, x - 2020)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    assert a.hinge_before == pytest.approx(10 ** beta[1]) and a.hinge_after == pytest.approx(10 ** (beta[1] + beta[2]))
    # the two-window slopes are the separate least-squares fits
    assert a.after == pytest.approx(E.fit_growth(d, c, start=2020, n_boot=0).factor)


def test_acceleration_false_positive_rate_is_near_nominal():
    rng = np.random.default_rng(7)
    d, c = _broken(rng, 2.5, 2.5, n_before=22, n_after=38)
    r = C.acceleration_null_rate(d, c, n_sim=300, n_boot=400, seed=1)
    # nominal one-sided 5%; with 300 null datasets a rate above 12% would be a broken test
    assert r["bootstrap"] <= 0.12 and r["hinge"] <= 0.12
    assert r["n_sim"] == 300


def test_acceleration_bad_input():
    rng = np.random.default_rng(0)
    d, c = _broken(rng, 2, 3)
    with pytest.raises(ValueError, match="only 0 usable rows before split=2010"):
        C.acceleration(d, c, split=2010)
    with pytest.raises(ValueError, match="n_boot=10"):
        C.acceleration(d, c, n_boot=10)
    with pytest.raises(ValueError, match="n_sim=2"):
        C.acceleration_null_rate(d, c, n_sim=2)


# -- projections ------------------------------------------------------------------------------------
def test_projection_trend_and_record():
    rng = np.random.default_rng(2)
    d, c = _broken(rng, 3.0, 3.0)
    fit = E.fit_growth(d, c, n_boot=1000)
    p = C.projection(fit, 2026.5, (1e8, 1e9))
    assert p.point == pytest.approx(fit.predict(2026.5))
    assert (p.low, p.high) == pytest.approx(fit.band(2026.5))
    slopes, icpts = fit.boot
    vals = 10 ** (slopes * 2026.5 + icpts)
    assert p.share_in == pytest.approx(((vals >= 1e8) & (vals <= 1e9)).mean())
    r = C.projection(fit, 2027.0, (1e9, math.inf), from_value=5e8, from_year=2025.0)
    assert r.point == pytest.approx(5e8 * fit.factor ** 2)
    assert r.low < r.point < r.high
    with pytest.raises(ValueError, match="from_year"):
        C.projection(fit, 2027.0, (1e9, math.inf), from_value=5e8)
    with pytest.raises(ValueError, match="low < high"):
        C.projection(fit, 2027.0, (5, 1))
    with pytest.raises(ValueError, match="no bootstrap"):
        C.projection(E.fit_growth(d, c, n_boot=0), 2027.0, (1, 2))


def test_claims_quote_the_essay_and_the_paper():
    assert set(C.ESSAY_CLAIMS) == {"rate_since_2020", "doubling", "run_2026", "billion_2027"}
    assert "Tarry Singh" in C.ESSAY and "(2026)" in C.ESSAY
    assert C.PAPER.url == "https://arxiv.org/abs/2405.21015"
    lo, hi = C.PAPER.rate_ci
    assert lo < C.PAPER.rate < hi
    essay = Path(__file__).resolve().parents[2] / "shared" / "sources" / "essay_karpathy_joins_anthropic.txt"
    if essay.is_file():   # each quoted claim is in the essay, word for word (up to the x sign)
        text = essay.read_text(encoding="utf-8").replace("×", "x")
        for cl in C.ESSAY_CLAIMS.values():
            assert cl.quote in text, cl.quote
