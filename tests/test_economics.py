"""looplab.economics (lesson 01's package): chips, FLOPs -> hours -> dollars, growth arithmetic, triage;
the package's names are its modules' own (the modules are tested in their own files).

Chip prices are checked against Epoch AI's real hardware data in ../shared/data/epoch (skipped,
with the reason, where that folder is absent).
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


# -- this machine -------------------------------------------------------------------------------
def test_the_lesson_package_exports_its_modules_own_names():
    from looplab.economics import costs, frontier, growthtests, trends
    assert E.fit_growth is trends.fit_growth and E.GrowthFit is trends.GrowthFit
    assert E.frontier_models is frontier.frontier_models and E.acceleration is growthtests.acceleration
    assert E.cost_of_flops is costs.cost_of_flops
    assert all(hasattr(E, name) for name in E.__all__)


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
