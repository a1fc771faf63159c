"""looplab.economics.frontier: the curated table, Epoch's CSV format, the offline fallback and cache, the paper's costs.

The growth fit is checked against numpy.polyfit on the same rows of Epoch AI's real data in
../shared/data/epoch (skipped, with the reason, where that folder is absent).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from looplab.economics import frontier as F
from looplab.economics import trends as T

EPOCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "epoch"
needs_epoch = pytest.mark.skipif(
    not (EPOCH / "notable_models_subset.csv").is_file(),
    reason=f"Epoch AI reference data not found at {EPOCH} (a shared folder beside the repo); "
           "these tests read Epoch's real CSVs and cannot run without them.")


# -- the curated table --------------------------------------------------------------------------
def test_curated_table_shape_and_sources():
    df = F.frontier_models()
    assert len(df) >= 30
    assert list(df.columns) == F.COLUMNS
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
    assert F.CURATED_CSV.with_name("SOURCES.md").is_file()


def test_offline_loader_falls_back_and_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    t = F.load_epoch_models(url="http://127.0.0.1:9/notable_ai_models.csv", timeout=2)
    out = capsys.readouterr().out
    assert t.is_fallback and "FALLBACK" in out and "curated" in out
    assert len(t.frame) == len(F.frontier_models())


def test_loader_uses_cache_when_offline(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    src = F.frontier_models().head(5).rename(columns={v: k for k, v in F.EPOCH_COLUMNS.items()})
    src.to_csv(tmp_path / "epoch_notable_ai_models.csv", index=False)
    t = F.load_epoch_models(online=False)
    assert not t.is_fallback and "cached" in t.origin and len(t.frame) == 5
    assert "using the cached copy" in capsys.readouterr().out


def test_loader_rejects_wrong_format(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns.*Publication date"):
        F.load_epoch_models(p)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        F.load_epoch_models(tmp_path / "nope.csv")


# -- Epoch AI's real data -----------------------------------------------------------------------
@needs_epoch
def test_read_real_epoch_csv():
    t = F.load_epoch_models(EPOCH / "notable_models_subset.csv")
    df = t.frame
    assert not t.is_fallback and len(df) > 900
    assert df["date"].notna().all() and df["training_flop"].gt(0).all()
    row = df.set_index("name").loc["GPT-3 175B (davinci)"]
    assert row.parameters == 175e9 and row.training_flop == pytest.approx(3.14e23)
    assert row.cost_usd_cloud == pytest.approx(2056969.34)  # parsed from Epoch's "$..." string


@needs_epoch
@pytest.mark.parametrize("start, end", [(2016, None), (2020, None), (2016, 2023)])
def test_growth_fit_matches_polyfit_on_epoch_data(start, end):
    costs = F.load_epoch_costs(EPOCH)
    assert len(costs) >= 55
    fit = T.fit_growth(costs["date"], costs["cost_usd"], start=start, end=end, n_boot=1000, seed=0)
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
    costs = F.load_epoch_costs(EPOCH)
    fit = T.fit_growth(costs["date"], costs["cost_usd"], start=2016, end=2023, n_boot=1000)
    assert 2.2 < fit.factor < 2.7
    assert 1.8 < fit.ci_low < 2.4 and 2.6 < fit.ci_high < 3.4


@needs_epoch
def test_curated_costs_equal_epoch_costs():
    costs = F.load_epoch_costs(EPOCH).set_index("name")["cost_usd"]
    cur = F.frontier_models().dropna(subset=["cost_usd"]).set_index("name")["cost_usd"]
    assert set(cur.index) == set(costs.index)
    assert np.allclose(cur.loc[costs.index], costs, rtol=1e-5)


