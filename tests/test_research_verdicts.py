"""Lesson 03's verdicts (looplab.research.verdicts) and the comparison helpers they read
(looplab.research.compare.vs_random, beats_random, screen_picks), on inputs built here."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from looplab import verdict
from looplab.research import (comparison_verdict, floor_verdict, noise_floor, null_verdicts, optimism_verdict,
                              replication_verdict, screen_verdict)
from looplab.research.compare import beats_random, loop_table, screen_picks, screen_rates, vs_random
from looplab.stats import fisher_greater, holm, paired_t, t_keep_factor

FLOOR = noise_floor([3.30, 3.31, 3.29, 3.305, 3.295, 3.30])      # mean 3.30, sigma about 0.0071
K = t_keep_factor(6, 0.05)


@pytest.fixture(autouse=True)
def headlines(tmp_path, monkeypatch):
    path = tmp_path / "headlines.jsonl"
    monkeypatch.setenv(verdict.HEADLINES_ENV, str(path))
    return path


def _nulls(gains_in_sigma, kept=()):
    """Null-run records whose val_bpb beats the floor's mean by the given multiples of sigma."""
    return [{"proposer": "null", "exp": i, "val_bpb": FLOOR.mean - g * FLOOR.sigma,
             "status": "kept" if i in kept else "discarded"} for i, g in enumerate(gains_in_sigma)]


def test_null_verdicts_count_the_keeps_of_both_rules_and_record_them(headlines):
    gains = [0.5, 1.0, 0.2, 3.0, -1.0, 0.8, 0.1, -0.5] * 3          # 24 runs: 18 gain, 3 beyond K (about 2.1)
    recs = _nulls(gains, kept=(3,)) + [{"proposer": "null", "exp": 99, "status": "rejected"}]
    v_null, v_kt = null_verdicts(recs, FLOOR, K, required=True)
    assert v_null.value == {"k=0": 18, "course rule": 3, "null runs": 24}
    assert v_null.p_value == pytest.approx(fisher_greater(18, 24, 3, 24)) and v_null.p_value < 0.05
    assert v_null.holds and v_null.must_hold and v_null.seeds == list(range(100, 124))
    assert f"k = {K:.2f}" in v_null.claim and "the loop itself kept 1 " in v_null.detail
    assert v_kt.value == 3 and v_kt.threshold == 3 and v_kt.holds and v_kt.test == "count <= 3 of the null runs"
    written = [json.loads(line) for line in headlines.read_text().splitlines()]
    assert [w["claim"] for w in written] == [v_null.claim, v_kt.claim]


def test_null_verdicts_fail_for_a_rule_that_keeps_luck():
    v_null, v_kt = null_verdicts(_nulls([3.0, 2.5, 4.0, 2.2, 0.5] * 4), FLOOR, K, required=False)
    assert v_null.value["course rule"] == 16 and not v_kt.holds       # 16 of 20 kept: not about 5%
    assert not v_null.holds and not v_null.must_hold                  # 20 against 16: no difference
    with pytest.raises(ValueError, match="no null run"):
        null_verdicts([{"proposer": "null", "status": "rejected"}], FLOOR, K, required=True)


def _table(finals: dict[str, list[float]]):
    """A loop table (compare.loop_table) whose loops end at the given final best val_bpb."""
    records = []
    for fam, ends in finals.items():
        for i, end in enumerate(ends):
            records.append({"proposer": f"{fam}#{i}", "status": "kept", "val_bpb": end, "flops": 1e9})
    return loop_table(records, list(finals), len(next(iter(finals.values()))), 3.4)


def test_vs_random_and_the_comparison_verdict_find_the_better_proposer():
    finals = {"random": [3.30, 3.31, 3.29, 3.30], "llm": [3.31, 3.30, 3.30, 3.30],
              "centaur": [3.20, 3.205, 3.19, 3.21]}
    tests = vs_random(_table(finals), list(finals))
    assert list(tests.index) == ["llm", "centaur"]
    d, t, p = paired_t(finals["random"], finals["centaur"])
    assert tests.loc["centaur", "random − X (mean)"] == d and tests.loc["centaur", "p (two-sided)"] == p
    assert beats_random(tests) == (["centaur"], [])
    v = comparison_verdict(tests, [10, 11, 12, 13])
    assert v.holds and not v.must_hold and v.value == {"llm": round(tests.loc["llm", "random − X (mean)"], 5),
                                                         "centaur": round(d, 5)}
    assert v.p_value == min(tests["p (two-sided)"]) and "Holm across 2" in v.test and "4 loops" in v.test
    assert v.detail == "better than random: ['centaur']; worse: none"
    sig = holm({"llm": tests.loc["llm", "p (two-sided)"], "centaur": p})
    assert tests["Holm-significant"].tolist() == [sig["llm"], sig["centaur"]]


def test_the_comparison_verdict_does_not_hold_within_the_noise():
    finals = {"random": [3.30, 3.31, 3.29], "llm": [3.31, 3.29, 3.30]}
    v = comparison_verdict(vs_random(_table(finals), list(finals)), [10, 11, 12])
    assert not v.holds and v.detail == "better than random: none; worse: none"
    with pytest.raises(ValueError, match="start with 'random'"):
        vs_random(_table(finals), ["llm", "random"])


def test_floor_verdict_holds_only_when_the_floor_changed_a_decision():
    assert floor_verdict(5, 2, 40, K, [10, 11]).holds
    v = floor_verdict(2, 2, 40, K, [10, 11])
    assert not v.holds and v.value == 0 and v.detail == f"2 with k=0 against 2 with k={K:.2f}"
    with pytest.raises(ValueError, match="0..40"):
        floor_verdict(41, 2, 40, K, [10])


def test_screen_picks_span_distinct_configs_and_the_screen_verdict_tests_their_ranks():
    recs = [{"proposer": "random#0", "exp": i, "status": "discarded", "val_bpb": 3.2 + 0.01 * i, "config": {"lr": i}}
            for i in range(10)]
    recs += [{"proposer": "random#1", "exp": 10, "status": "kept", "val_bpb": 3.25, "config": {"lr": 0}},  # a repeat
             {"proposer": "null", "exp": 11, "status": "kept", "val_bpb": 3.0, "config": {"lr": 99}},
             {"proposer": "llm#0", "exp": 12, "status": "discarded", "val_bpb": float("nan"), "config": {"lr": 98}}]
    pick = screen_picks(recs, 4)
    assert [r["exp"] for r in pick] == [0, 3, 6, 9]                  # best, worst and evenly between
    short = {"baseline": 3.30, **{f"exp {r['exp']}": r["val_bpb"] for r in pick}}
    long = {name: v - 0.2 for name, v in short.items()}   # the same order at the long budget: all truly better,
    # three passed the screen (exp 9 is within the bar of 0.02), none is worse: the FPR is undefined
    rates = screen_rates(short, long, "baseline", 0.02)
    v = screen_verdict(short, long, rates, 4, must_hold=True)
    assert v.value == pytest.approx(1.0) and v.p_value == pytest.approx(1 / 120) and v.holds and v.must_hold
    assert v.seeds == [20] and "all 120 orders" in v.false_positive_rate and v.detail == "TPR 0.75, FPR nan, share truly better 1.00"
    reversed_long = dict(zip(long, sorted(long.values(), reverse=True)))
    assert not screen_verdict(short, reversed_long, rates, 4, must_hold=False).holds
    with pytest.raises(ValueError, match="not at the long one"):
        screen_verdict(short, {"baseline": 3.1}, rates, 4, must_hold=False)


def test_optimism_verdict_tests_the_mean_gap():
    gaps = pd.DataFrame({"optimism": [0.01, 0.02, 0.015, 0.03, 0.01, 0.02]})
    v = optimism_verdict(gaps["optimism"], [10, 11, 12])
    assert v.holds and v.p_value == pytest.approx(1 / 64) and v.value == float(gaps["optimism"].mean())
    assert not optimism_verdict([0.01, -0.02, 0.015, -0.01], [10]).holds
    with pytest.raises(ValueError, match="at least 2"):
        optimism_verdict([0.01], [10])


def test_replication_verdict_needs_every_fresh_seed_to_tell():
    seeds = [900 + j for j in range(6)]
    base, choice = [3.30, 3.31, 3.29, 3.30, 3.32, 3.30], [3.20, 3.22, 3.19, 3.21, 3.20, 3.21]
    rep = {"diffs": list(np.subtract(base, choice)), "baseline_test": base, "choice_test": choice}
    v = replication_verdict(rep, seeds, {"n_layer": 1}, must_hold=True)
    assert v.holds and v.must_hold and v.p_value == pytest.approx(1 / 64) and v.seeds == seeds
    assert v.detail == 'choice {"n_layer": 1}; base 3.3033, choice 3.2050 test_bpb over 6 seeds'
    assert "1/64" in v.false_positive_rate
    same = {"diffs": [0.0] * 6, "baseline_test": base, "choice_test": base}
    assert replication_verdict(same, seeds, {}, must_hold=True).p_value == 1.0
    one_worse = {**rep, "diffs": rep["diffs"][:5] + [-0.5]}
    assert not replication_verdict(one_worse, seeds, {}, must_hold=True).holds
    with pytest.raises(ValueError, match="6 paired differences for 2 seeds"):
        replication_verdict(rep, seeds[:2], {}, must_hold=True)
