"""looplab.economics.claims: the essay's claims and the paper, hardware-based compute, the published figures
against Epoch's table (the growth statistics: test_growthtests); looplab.economics.verdicts: the lesson's
verdicts on those claims, graded on the course's own table."""
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from looplab import economics as E
from looplab.economics import claims as C
from looplab.verdict import HEADLINES_ENV

EPOCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "epoch"
needs_epoch = pytest.mark.skipif(
    not (EPOCH / "notable_models_subset.csv").is_file(),
    reason=f"Epoch AI reference data not found at {EPOCH} (a shared folder beside the repo).")


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


# -- the claims ------------------------------------------------------------------------------------
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


# -- the lesson's verdicts -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lesson_fits():
    """The lesson's costs and its two windows (fewer bootstrap draws than the lesson, for speed)."""
    models = E.frontier_models()
    costs = models.dropna(subset=["cost_usd"]).copy()
    costs["year"] = E.decimal_year(costs["date"])
    paper = E.fit_growth(costs.date, costs.cost_usd, start=2016, end=2023, n_boot=500, seed=0)
    since20 = E.fit_growth(costs.date, costs.cost_usd, start=2020, n_boot=500, seed=0)
    return costs, paper, since20


@pytest.fixture()
def headlines(tmp_path, monkeypatch):
    path = tmp_path / "headlines.jsonl"
    monkeypatch.setenv(HEADLINES_ENV, str(path))
    return lambda: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_hardware_verdict_grades_every_run(headlines):
    hw = C.hardware_table()
    v = E.hardware_verdict(hw)
    assert v.lesson == "01" and v.value == pytest.approx(hw["6ND / hw (max)"].max())
    assert v.holds and not v.must_hold and v.threshold == 1.0 and v.extra["runs"] == list(C.HARDWARE_RUNS)
    assert "Llama 3.1 405B: 0.80-0.91" in v.detail and "OPT-175B: 0.73;" in v.detail   # one figure, or a range
    assert [h["claim"] for h in headlines()] == [v.claim]
    worse = hw.copy()
    worse.loc["PaLM 540B", "6ND / hw (max)"] = 1.2     # one run with more 6ND than hardware: the claim fails
    assert not E.hardware_verdict(worse).holds
    with pytest.raises(ValueError, match="hardware_table"):
        E.hardware_verdict(hw.drop(columns=["6ND / hw (max)"]))


def test_rate_and_doubling_verdicts_on_the_course_table(lesson_fits, headlines):
    costs, paper, since20 = lesson_fits
    rate = E.rate_verdicts(paper, since20, seed=7)
    assert list(rate) == ["paper reproduced", "essay vs data", "essay vs paper"]
    assert rate["paper reproduced"].holds and rate["paper reproduced"].must_hold    # the one the lesson requires
    assert rate["paper reproduced"].threshold == [round(paper.ci_low, 3), round(paper.ci_high, 3)]
    assert rate["paper reproduced"].seeds == [7] and rate["essay vs paper"].seeds == []
    assert rate["essay vs data"].value == since20.factor
    assert rate["essay vs data"].holds == (since20.ci_low <= 3.5 <= since20.ci_high) and rate["essay vs data"].holds
    assert not rate["essay vs paper"].holds and rate["essay vs paper"].threshold == [2.0, 2.9]   # 3.5 is outside
    assert not any(v.must_hold for k, v in rate.items() if k != "paper reproduced")
    dbl = E.doubling_verdicts(since20, seed=7)
    assert dbl["essay vs data"].value == pytest.approx(12 * math.log(2) / math.log(since20.factor))
    lo, hi = dbl["essay vs data"].threshold
    assert lo < dbl["essay vs data"].value < hi and dbl["essay vs data"].holds == (lo <= 7 <= hi)
    # the study's 2.4x (2.0-2.9) is 9.5 months (7.8-12.0): seven months is outside it
    assert dbl["essay vs paper"].value == pytest.approx(9.50, abs=0.01)
    assert dbl["essay vs paper"].threshold == [7.81, 12.0] and not dbl["essay vs paper"].holds
    assert [h["claim"] for h in headlines()] == [v.claim for v in [*rate.values(), *dbl.values()]]
    with pytest.raises(ValueError, match="since20 must be a GrowthFit"):
        E.doubling_verdicts(since20.factor, seed=7)


def test_acceleration_verdict_follows_the_ratio_interval(lesson_fits):
    costs, _, _ = lesson_fits
    acc = E.acceleration(costs.date, costs.cost_usd, split=2020, start=2016, n_boot=500, seed=0)
    null = E.acceleration_null_rate(costs.date, costs.cost_usd, split=2020, start=2016, n_sim=20, n_boot=200, seed=0)
    v = E.acceleration_verdict(acc, null, seed=0)
    assert v.holds == (acc.ci_low > 1) and v.value == acc.ratio and v.p_value == acc.hinge_p
    assert v.threshold == [round(acc.ci_low, 3), round(acc.ci_high, 3)]
    assert f"measured on 20 no-break datasets: {null['bootstrap']:.1%} for the interval rule" in v.false_positive_rate
    with pytest.raises(ValueError, match="lacks \\['hinge'\\]"):
        E.acceleration_verdict(acc, {"n_sim": 20, "bootstrap": 0.05}, seed=0)


def test_forecast_verdicts_grade_the_point_against_the_claimed_range(lesson_fits):
    costs, paper, since20 = lesson_fits
    lo26, hi26 = C.ESSAY_CLAIMS["run_2026"].value
    rec = costs.loc[costs.cost_usd.idxmax()]
    p26 = E.projection(since20, 2026.5, (lo26, hi26))
    p26_paper = E.projection(paper, 2026.5, (lo26, hi26))
    p27 = E.projection(since20, 2027.0, (1e9, math.inf), from_value=rec.cost_usd, from_year=rec.year)
    p27_paper = E.projection(paper, 2027.0, (1e9, math.inf), from_value=3e7, from_year=2023.5)
    f = E.forecast_verdicts(p26, p26_paper, p27, p27_paper, paper, since20, seed=0)
    assert list(f) == ["2026 vs data", "2026 vs paper", "2027 vs data", "2027 vs paper"]
    for v, p in zip(f.values(), [p26, p26_paper, p27, p27_paper]):
        assert v.value == p.point and not v.must_hold and f"({p.share_in:.0%})" in v.false_positive_rate
    assert f["2026 vs data"].holds == (lo26 <= p26.point <= hi26)
    assert f["2026 vs data"].threshold == [200e6, 500e6] and f["2027 vs data"].threshold == [1e9, "inf"]
    # Grok-3's cost grown at the 2020+ rate is past $1B by 2027; $30M in mid-2023 at the paper's rate is not
    assert f["2027 vs data"].holds and p27_paper.point < 1e9 and not f["2027 vs paper"].holds
    above = E.Projection(2026.5, 501e6, 1e8, 1e9, 0.9, 0.5, "a made-up point just above the range")
    assert not E.forecast_verdicts(above, p26_paper, p27, p27_paper, paper, since20, seed=0)["2026 vs data"].holds
    with pytest.raises(ValueError, match="p27 must be a Projection"):
        E.forecast_verdicts(p26, p26_paper, p27.point, p27_paper, paper, since20, seed=0)
