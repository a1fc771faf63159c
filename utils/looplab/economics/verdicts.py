"""Lesson 01's verdicts, computed and recorded: each function grades one claim (or one claim two ways)
from the results the lesson has just shown, records the verdicts (:func:`looplab.verdict.record`) and
returns them for the cell to display.

The lesson computes its evidence section by section, so its verdicts come in five groups:

1. :func:`hardware_verdict` -- 6ND against compute from published chip-hours and utilisation;
2. :func:`rate_verdicts` -- claim 1, "about 3.5x a year since 2020": the paper's window reproduced,
   the essay's figure against the data since 2020 and against the study it cites;
3. :func:`acceleration_verdict` -- did growth speed up after 2020 (the ratio test, with its
   measured false-positive rate)?
4. :func:`doubling_verdicts` -- claim 2, "a doubling roughly every seven months", against the data
   and against the study;
5. :func:`forecast_verdicts` -- claims 3 and 4, a 2026-class run at $200M-$500M and the largest runs
   past $1B by 2027, as projections of the fitted trends.

None of them needs a random draw: the ``seed`` arguments are the seed the lesson's fits used.
"""
from __future__ import annotations

import math

from ..verdict import Verdict, record
from .claims import ESSAY_CLAIMS, PAPER
from .growthtests import Acceleration, Projection, doubling_months, fit_doubling_months
from .trends import GrowthFit

LESSON = "01"

# The false-positive rate stated for a claim graded by whether it falls inside a fit's interval.
CI_RULE = ("a 90% percentile bootstrap interval: a true value falls outside it about 10% of the time in repeated "
           "samples (nominal; approximate with {n} models); the data here are fixed, so the check is deterministic")


def hardware_verdict(hw) -> Verdict:
    """6ND counts less than the hardware did on every run of ``hw`` (:func:`looplab.economics.claims.hardware_table`):
    the largest ``6ND / hw (max)`` ratio is below 1."""
    for col in ("6ND / hw (min)", "6ND / hw (max)"):
        if col not in getattr(hw, "columns", ()):
            raise ValueError(f"hw must be claims.hardware_table()'s table, with a {col!r} column")
    ratio_max = float(hw["6ND / hw (max)"].max())
    return record(LESSON, "6ND counts less compute than the hardware did, for every run with published chip-hours "
                          "and utilisation",
                  "largest 6ND / (chip-hours x peak x utilisation)", ratio_max, "every ratio below 1", 1.0, [],
                  holds=ratio_max < 1.0, must_hold=False,
                  false_positive_rate="no sampling: published figures and arithmetic; the interval per run comes from "
                                      "the published utilisation range (Llama 3.1: MFU 38-43%)",
                  detail="; ".join(f"{n}: {a:.2f}-{b:.2f}" if abs(a - b) > 1e-9 else f"{n}: {a:.2f}"
                                   for n, a, b in hw[["6ND / hw (min)", "6ND / hw (max)"]].itertuples()),
                  runs=list(hw.index))


def rate_verdicts(paper: GrowthFit, since20: GrowthFit, seed: int) -> dict[str, Verdict]:
    """Claim 1 graded three ways, keyed ``"paper reproduced"`` (the fit on the paper's window, 2016 to the end of
    2023, admits its 2.4x: the lesson requires it), ``"essay vs data"`` (3.5x inside the 2020+ fit's interval)
    and ``"essay vs paper"`` (3.5x inside the interval the cited study publishes)."""
    _check_fits(paper=paper, since20=since20)
    claim = ESSAY_CLAIMS["rate_since_2020"].value
    lo_p, hi_p = PAPER.rate_ci
    return {
        "paper reproduced": record(
            LESSON, "The course's table reproduces Epoch AI's ~2.4x/yr growth in frontier training cost (2016-2023)",
            "fitted growth factor per year", paper.factor, "2.4 inside the bootstrap 90% interval",
            [round(paper.ci_low, 3), round(paper.ci_high, 3)], [seed], holds=paper.ci_low <= 2.4 <= paper.ci_high,
            must_hold=True, false_positive_rate=CI_RULE.format(n=paper.n), detail=f"{paper.n} models"),
        "essay vs data": record(
            LESSON, "Essay (Singh 2026): '3.5x a year since 2020' agrees with the data since 2020",
            "fitted growth factor per year since 2020", since20.factor, "3.5 inside the bootstrap 90% interval",
            [round(since20.ci_low, 3), round(since20.ci_high, 3)], [seed],
            holds=since20.ci_low <= claim <= since20.ci_high, must_hold=False,
            false_positive_rate=CI_RULE.format(n=since20.n), detail=f"{since20.n} models"),
        "essay vs paper": record(
            LESSON, "Essay (Singh 2026): '3.5x a year since 2020' is what the cited study (Cottier et al. 2024) reports",
            "the study's reported growth factor per year (since 2016)", PAPER.rate,
            "3.5 inside the study's 90% interval", [lo_p, hi_p], [], holds=lo_p <= claim <= hi_p,
            must_hold=False, false_positive_rate="no sampling: a comparison of published numbers",
            detail=f"the study gives no 2020+ rate; {PAPER.revision_note}"),
    }


def acceleration_verdict(acc: Acceleration, null: dict, seed: int) -> Verdict:
    """Growth sped up after the split: the bootstrap interval of the ratio of growth factors lies above 1.
    ``acc`` is :func:`~looplab.economics.growthtests.acceleration`'s result and ``null`` the false-positive
    rates :func:`~looplab.economics.growthtests.acceleration_null_rate` measured on the same data."""
    if not isinstance(acc, Acceleration):
        raise ValueError(f"acc must be an Acceleration (economics.acceleration's result), got {type(acc).__name__}")
    missing = {"n_sim", "bootstrap", "hinge"} - set(null if isinstance(null, dict) else ())
    if missing:
        raise ValueError(f"null must be economics.acceleration_null_rate's dict; it lacks {sorted(missing)}")
    return record(LESSON, "Growth of frontier training cost sped up after 2020 (the 2016-2019 and 2020+ rates differ)",
                  "ratio of growth factors, 2020+ / 2016-2019", acc.ratio, "bootstrap 90% interval above 1",
                  [round(acc.ci_low, 3), round(acc.ci_high, 3)], [seed], holds=acc.speeds_up, must_hold=False,
                  p_value=acc.hinge_p,
                  false_positive_rate=f"measured on {null['n_sim']} no-break datasets: {null['bootstrap']:.1%} for the "
                                      f"interval rule, {null['hinge']:.1%} for the hinge test at p < 0.05",
                  detail=f"{acc.before:.2f}x/yr (n={acc.n_before}) -> {acc.after:.2f}x/yr (n={acc.n_after}); "
                         f"hinge {acc.hinge_before:.2f} -> {acc.hinge_after:.2f}x/yr, one-sided p = {acc.hinge_p:.3g}")


def doubling_verdicts(since20: GrowthFit, seed: int) -> dict[str, Verdict]:
    """Claim 2, seven months to double, keyed ``"essay vs data"`` (inside the 2020+ fit's interval of doubling
    times) and ``"essay vs paper"`` (inside the doubling times of the study's 2.4x/yr interval)."""
    _check_fits(since20=since20)
    months = ESSAY_CLAIMS["doubling"].value
    d20 = fit_doubling_months(since20)
    d_paper = (doubling_months(PAPER.rate), doubling_months(PAPER.rate_ci[1]), doubling_months(PAPER.rate_ci[0]))
    return {
        "essay vs data": record(
            LESSON, "Essay (Singh 2026): 'a doubling roughly every seven months' agrees with the data since 2020",
            "doubling time in months, fit since 2020", d20[0], "7 inside the bootstrap 90% interval",
            [round(d20[1], 2), round(d20[2], 2)], [seed], holds=d20[1] <= months <= d20[2], must_hold=False,
            false_positive_rate=CI_RULE.format(n=since20.n), detail=f"{since20.n} models"),
        "essay vs paper": record(
            LESSON, "Essay (Singh 2026): 'a doubling roughly every seven months' agrees with the cited study",
            "doubling time in months of the study's 2.4x/yr", d_paper[0], "7 inside the study's interval",
            [round(d_paper[1], 2), round(d_paper[2], 2)], [], holds=d_paper[1] <= months <= d_paper[2],
            must_hold=False, false_positive_rate="no sampling: arithmetic on published numbers",
            detail=PAPER.revision_note + f" (a 3.1x bound is {doubling_months(3.1):.1f} months)"),
    }


def forecast_verdicts(p26: Projection, p26_paper: Projection, p27: Projection, p27_paper: Projection,
                      paper: GrowthFit, since20: GrowthFit, seed: int) -> dict[str, Verdict]:
    """Claims 3 and 4: each projection's point inside the claimed range. ``p26`` / ``p26_paper``: the 2020+ and
    the paper-window trend lines at 2026.5 against $200M-$500M; ``p27`` / ``p27_paper``: the most expensive run
    grown at each fit's rate to 2027 against more than $1B. Keyed ``"2026 vs data"``, ``"2026 vs paper"``,
    ``"2027 vs data"``, ``"2027 vs paper"``."""
    _check_fits(paper=paper, since20=since20)
    for name, p in (("p26", p26), ("p26_paper", p26_paper), ("p27", p27), ("p27_paper", p27_paper)):
        if not isinstance(p, Projection):
            raise ValueError(f"{name} must be a Projection (economics.projection's result), got {type(p).__name__}")
    lo26, hi26 = ESSAY_CLAIMS["run_2026"].value
    billion = ESSAY_CLAIMS["billion_2027"].value
    return {
        "2026 vs data": _forecast("Essay (Singh 2026): a 2026-class run costs $200M-$500M (trend of the data since 2020)",
                                  p26, lo26, hi26, since20, "2020+ trend line", seed),
        "2026 vs paper": _forecast("Essay (Singh 2026): a 2026-class run costs $200M-$500M (the cited study's trend, "
                                   "2016-2023)", p26_paper, lo26, hi26, paper, "trend line of the paper's window", seed),
        "2027 vs data": _forecast("Essay (Singh 2026): the largest runs pass $1B by 2027 (data since 2020)",
                                  p27, billion, math.inf, since20, "record run grown at the 2020+ rate", seed),
        "2027 vs paper": _forecast("Essay (Singh 2026): the largest runs pass $1B by 2027 (the cited study's data and "
                                   "trend)", p27_paper, billion, math.inf, paper, "record run grown at the paper-window "
                                   "rate", seed),
    }


def _forecast(text: str, p: Projection, lo: float, hi: float, fit: GrowthFit, against: str, seed: int) -> Verdict:
    """One forecast claim: the projection's point inside ``[lo, hi]``."""
    return record(LESSON, text, f"projected cost at {p.year:.1f} (USD), {against}", p.point,
                  "point projection inside the claimed range", [lo, hi], [seed], holds=lo <= p.point <= hi,
                  must_hold=False,
                  false_positive_rate="a projection of a fitted trend, not a test: the share of bootstrap fits in the "
                                      f"range ({p.share_in:.0%}) is its uncertainty; no rate can be stated for a forecast",
                  detail=f"{p.level:.0%} interval ${p.low / 1e6:,.0f}M-${p.high / 1e6:,.0f}M; {p.how}; fit {fit}")


def _check_fits(**fits) -> None:
    for name, f in fits.items():
        if not isinstance(f, GrowthFit):
            raise ValueError(f"{name} must be a GrowthFit (economics.fit_growth's result), got {type(f).__name__}")
