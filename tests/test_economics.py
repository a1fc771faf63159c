"""looplab.economics: the arithmetic, the curated table, Epoch's CSV format and the growth fit.

The growth fit is checked against numpy.polyfit on the same rows of Epoch AI's real data in
../shared/data/epoch (skipped, with the reason, where that folder is absent).
"""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from looplab import economics as E

EPOCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "epoch"
needs_epoch = pytest.mark.skipif(
    not (EPOCH / "notable_models_subset.csv").is_file(),
    reason=f"Epoch AI reference data not found at {EPOCH} (a shared folder beside the repo); "
           "these tests read Epoch's real CSVs and cannot run without them.")


# -- arithmetic ---------------------------------------------------------------------------------
def test_gpt3_flops_match_the_paper():
    # Brown et al. 2020: 175B parameters, 300B tokens, 3.14e23 FLOPs reported.
    f = E.training_flops(175e9, 300e9)
    assert f == pytest.approx(3.15e23)
    assert abs(f / 3.14e23 - 1) < 0.01


def test_attention_term_matches_model_flops_per_token():
    # PaLM's accounting (Chowdhery et al. 2022, Appendix B): 6N + 12 L T d per training token
    from looplab.model import ModelConfig, flops_per_token, matmul_params
    cfg = ModelConfig(n_layer=3, n_head=2, n_embd=48, block_size=32)
    ours = E.training_flops(matmul_params(cfg), 1000, n_layer=3, context=32, d_model=48)
    assert ours == pytest.approx(flops_per_token(cfg) * 1000)
    assert ours - E.training_flops(matmul_params(cfg), 1000) == pytest.approx(12 * 3 * 32 * 48 * 1000)
    with pytest.raises(ValueError, match="n_layer, context and d_model"):
        E.training_flops(1e6, 1e6, n_layer=2)


def test_hours_and_dollars_chain():
    flops = 1e24
    h = E.chip_hours(flops, "H100", mfu=0.5)
    assert h == pytest.approx(flops / (989e12 * 0.5) / 3600)
    assert E.cost_of_flops(flops, "H100", 0.5) == pytest.approx(h * E.CHIPS["H100"].usd_per_hour)
    assert E.cost_of_flops(flops, "H100", 0.5, usd_per_hour=2.0) == pytest.approx(2 * h)
    assert E.wall_clock_days(flops, 1000, "H100", 0.5) == pytest.approx(h / 1000 / 24)
    # halving MFU doubles the bill
    assert E.cost_of_flops(flops, "A100", 0.2) == pytest.approx(2 * E.cost_of_flops(flops, "A100", 0.4))


def test_amortized_cost_parts():
    a = E.amortized_cost(1e24, "H100", 0.4, lifetime_years=4, pue=1.0, usd_per_kwh=0.1)
    h = a["chip_hours"]
    assert a["hardware_usd"] == pytest.approx(h * 33819.37 / (4 * 8766))
    assert a["energy_usd"] == pytest.approx(h * 0.7 * 0.1)
    assert a["total_usd"] == pytest.approx(a["hardware_usd"] + a["energy_usd"])
    with pytest.raises(ValueError, match="no purchase price"):
        E.amortized_cost(1e24, "TPUv4")


@pytest.mark.parametrize("call, match", [
    (lambda: E.training_flops(-1, 10), r"n_params=-1 .*\(0, inf\)"),
    (lambda: E.training_flops(10, float("nan")), "n_tokens"),
    (lambda: E.chip_hours(1e20, mfu=1.5), r"mfu=1.5 .*\(0, 1\]"),
    (lambda: E.chip_hours(1e20, mfu=0), "mfu=0"),
    (lambda: E.cost_of_flops(1e20, "B999"), "B999.*V100, A100, H100, TPUv4"),
    (lambda: E.cost_of_flops(1e20, usd_per_hour="cheap"), "usd_per_hour='cheap' must be a number"),
    (lambda: E.doubling_time(0.9), r"factor_per_year=0.9 .*\(1, inf\)"),
    (lambda: E.cost_per_success(1e6, 1.2), "p_good=1.2"),
])
def test_bad_input_names_value_and_range(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_growth_arithmetic_roundtrip():
    assert E.doubling_time(2.0) == pytest.approx(1.0)
    assert E.growth_factor(E.doubling_time(2.4)) == pytest.approx(2.4)
    assert E.doubling_time(2.4) * 12 == pytest.approx(9.5, abs=0.05)  # months
    assert E.project_cost(1e8, 2024, 2027, 2.4) == pytest.approx(1e8 * 2.4 ** 3)
    assert np.allclose(E.project_cost(1.0, 2020, [2020, 2021, 2022], 3.0), [1, 3, 9])


def test_decimal_year():
    y = E.decimal_year(["2020-01-01", "2021-07-02", "2023-12-31"])
    assert y[0] == 2020.0 and 2021.49 < y[1] < 2021.51 and 2023.99 < y[2] < 2024.0
    with pytest.raises(ValueError, match="could not be read"):
        E.decimal_year(["not a date"])


def _synthetic(rng, n=60, factor=3.0):
    years = rng.uniform(2016, 2024, n)
    dates = pd.Timestamp("2016-01-01") + pd.to_timedelta((years - 2016) * 365.25, "D")
    cost = 1e5 * factor ** (years - 2016) * 10 ** rng.normal(0, 0.3, n)
    return dates, cost


def test_fit_recovers_known_growth_and_ci_covers():
    rng = np.random.default_rng(1)
    dates, cost = _synthetic(rng, n=400)
    fit = E.fit_growth(dates, cost, n_boot=500, seed=0)
    assert abs(fit.factor - 3.0) < 0.15
    assert fit.predict(2016) == pytest.approx(1e5, rel=0.3)
    # the 90% bootstrap interval should contain the true factor in roughly 90% of datasets
    hits = 0
    for _ in range(100):
        f = E.fit_growth(*_synthetic(rng), n_boot=300, seed=int(rng.integers(1 << 30)))
        hits += f.ci_low < 3.0 < f.ci_high
    assert 78 <= hits <= 98, hits
    lo, hi = fit.band([2018, 2022])
    assert (lo < fit.predict([2018, 2022])).all() and (fit.predict([2018, 2022]) < hi).all()
    with pytest.raises(ValueError, match="no bootstrap"):
        E.fit_growth(dates, cost, n_boot=0).band(2020)
    with pytest.raises(ValueError, match="at least 3 rows"):
        E.fit_growth(dates, cost, start=2030)


def test_triage_expected_value():
    # no screening: every idea gets a big run
    assert E.cost_per_success(1e6, 0.25) == pytest.approx(4e6)
    # a perfect free screen: one big run per success
    assert E.cost_per_success(1e6, 0.25, 0.0, 1.0, 0.0) == pytest.approx(1e6)
    # a useless screen (passes everything) only adds its own cost
    assert E.cost_per_success(1e6, 0.25, 1e4, 1.0, 1.0) == pytest.approx(4e6 + 4e4)
    v = E.screening_value(1e7, 0.1, 1e4, tpr=0.8, fpr=0.1)
    assert v["saved"] > 0 and 0 < v["saved_fraction"] < 1
    # a brute-force simulation agrees with the formula
    rng = np.random.default_rng(0)
    spend, wins = 0.0, 0
    p, t, f, small, big = 0.2, 0.7, 0.2, 1.0, 10.0
    for _ in range(20000):
        good = rng.random() < p
        spend += small
        if rng.random() < (t if good else f):
            spend += big
            wins += good
    assert spend / wins == pytest.approx(E.cost_per_success(big, p, small, t, f), rel=0.05)


# -- the curated table --------------------------------------------------------------------------
def test_curated_table_shape_and_sources():
    df = E.frontier_models()
    assert len(df) >= 30
    assert list(df.columns) == E.COLUMNS
    assert df["source"].str.contains("Epoch AI").all()
    has_cost = df["cost_usd"].notna()
    assert has_cost.sum() >= 30
    assert df.loc[has_cost, "source"].str.contains("Cottier et al. 2024").all()
    assert df.loc[df["tokens"].notna(), "source"].str.contains("tokens: ").all()
    gpt3 = df.set_index("name").loc["GPT-3 175B (davinci)"]
    assert gpt3.parameters == 175e9 and gpt3.tokens == 300e9
    # what lesson 01 says about the table: most reported figures are 6ND themselves (GPT-3's
    # 3.14e23 is 6 x 175e9 x 300e9, rounded), and OPT-175B's logbook figure (4.3e23, for the 300B
    # tokens the run processed) is about 2.3x the 6ND of the 180B-token corpus in the table
    both = df.dropna(subset=["parameters", "tokens"]).set_index("name")
    ratio = 6 * both.parameters * both.tokens / both.training_flop
    assert len(both) >= 10
    for name in ("GPT-3 175B (davinci)", "PaLM (540B)", "Llama 3.1-405B", "Megatron-Turing NLG 530B"):
        assert abs(ratio[name] - 1) < 0.01, (name, ratio[name])
    assert (ratio.sub(1).abs() < 0.03).sum() >= len(both) // 2
    assert 1 / ratio["OPT-175B"] == pytest.approx(2.28, abs=0.01)
    assert E.CURATED_CSV.with_name("SOURCES.md").is_file()


def test_offline_loader_falls_back_and_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    t = E.load_epoch_models(url="http://127.0.0.1:9/notable_ai_models.csv", timeout=2)
    out = capsys.readouterr().out
    assert t.is_fallback and "FALLBACK" in out and "curated" in out
    assert len(t.frame) == len(E.frontier_models())


def test_loader_uses_cache_when_offline(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    src = E.frontier_models().head(5).rename(columns={v: k for k, v in E.EPOCH_COLUMNS.items()})
    src.to_csv(tmp_path / "epoch_notable_ai_models.csv", index=False)
    t = E.load_epoch_models(online=False)
    assert not t.is_fallback and "cached" in t.origin and len(t.frame) == 5
    assert "using the cached copy" in capsys.readouterr().out


def test_loader_rejects_wrong_format(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns.*Publication date"):
        E.load_epoch_models(p)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        E.load_epoch_models(tmp_path / "nope.csv")


# -- Epoch AI's real data -----------------------------------------------------------------------
@needs_epoch
def test_read_real_epoch_csv():
    t = E.load_epoch_models(EPOCH / "notable_models_subset.csv")
    df = t.frame
    assert not t.is_fallback and len(df) > 900
    assert df["date"].notna().all() and df["training_flop"].gt(0).all()
    row = df.set_index("name").loc["GPT-3 175B (davinci)"]
    assert row.parameters == 175e9 and row.training_flop == pytest.approx(3.14e23)
    assert row.cost_usd_cloud == pytest.approx(2056969.34)  # parsed from Epoch's "$..." string


@needs_epoch
@pytest.mark.parametrize("start, end", [(2016, None), (2020, None), (2016, 2023)])
def test_growth_fit_matches_polyfit_on_epoch_data(start, end):
    costs = E.load_epoch_costs(EPOCH)
    assert len(costs) >= 55
    fit = E.fit_growth(costs["date"], costs["cost_usd"], start=start, end=end, n_boot=1000, seed=0)
    # independent computation on the same rows: pandas' dates -> years, numpy.polyfit
    t = pd.to_datetime(costs["date"])
    years = t.dt.year + (t.dt.day_of_year - 1 + (t - t.dt.normalize()).dt.total_seconds() / 86400) \
        / np.where(t.dt.is_leap_year, 366, 365)
    keep = years >= start
    if end is not None:
        keep &= years < end + 1
    slope, intercept = np.polyfit(years[keep], np.log10(costs.loc[keep, "cost_usd"]), 1)
    assert fit.n == keep.sum()
    assert fit.factor == pytest.approx(10 ** slope, rel=1e-9)
    assert fit.intercept == pytest.approx(intercept, rel=1e-9)
    assert fit.ci_low < fit.factor < fit.ci_high


@needs_epoch
def test_paper_window_reproduces_cottier_rate():
    # Cottier et al. 2024: about 2.4x per year since 2016 (90% CI 2.0-2.9), data to the end of 2023.
    costs = E.load_epoch_costs(EPOCH)
    fit = E.fit_growth(costs["date"], costs["cost_usd"], start=2016, end=2023, n_boot=1000)
    assert 2.2 < fit.factor < 2.7
    assert 1.8 < fit.ci_low < 2.4 and 2.6 < fit.ci_high < 3.4


@needs_epoch
def test_curated_costs_equal_epoch_costs():
    costs = E.load_epoch_costs(EPOCH).set_index("name")["cost_usd"]
    cur = E.frontier_models().dropna(subset=["cost_usd"]).set_index("name")["cost_usd"]
    assert set(cur.index) == set(costs.index)
    assert np.allclose(cur.loc[costs.index], costs, rtol=1e-5)


# -- this machine -------------------------------------------------------------------------------
def test_machine_flops_is_measured():
    f = E.machine_flops("cpu")
    assert 1e8 < f < 1e14  # a CPU: somewhere between 0.1 GFLOP/s and 100 TFLOP/s


@needs_epoch
@pytest.mark.parametrize("key, epoch_name", [("V100", "NVIDIA V100"), ("A100", "NVIDIA A100 SXM4 80 GB"),
                                             ("H100", "NVIDIA H100 SXM5 80GB"), ("TPUv4", "Google TPU v4")])
def test_chip_prices_are_epoch_medians(key, epoch_name):
    hw = pd.read_csv(EPOCH / "hardware_prices.csv", encoding="utf-8-sig")
    rows = hw[hw["Hardware model"] == epoch_name]
    assert E.CHIPS[key].usd_per_hour == pytest.approx(rows["Price per chip-hour (on-demand)"].median())
    purchase = rows["Price (hardware purchase)"].median()
    if math.isnan(E.CHIPS[key].purchase_usd):
        assert rows["Price (hardware purchase)"].notna().sum() <= 1  # too few listings to quote a median
    else:
        assert E.CHIPS[key].purchase_usd == pytest.approx(purchase)
