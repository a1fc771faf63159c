"""Grading published claims about training cost (lesson 01): the claims, the cited paper's figures,
compute measured from hardware, and the statistics that grade them.

* ``ESSAY`` / ``ESSAY_CLAIMS`` -- the essay the course grades and its checkable claims, quoted as
  claims (never as facts);
* ``PAPER`` -- what Cottier et al. (2024), the study the essay cites, actually report;
* ``HARDWARE_RUNS`` / :func:`hardware_flops` / :func:`hardware_table` -- training compute from
  chips x hours x peak x utilisation, with every figure linked to its primary source, to check
  ``6 N D`` against something that is not ``6 N D``;
* :func:`doubling_months` / :func:`fit_doubling_months` -- a growth fit as a doubling time, with
  its interval;
* :func:`acceleration` -- did growth speed up after a break year? The ratio of two windows' growth
  factors with a bootstrap interval, and a broken-line (hinge) fit with a t-test of the break;
  :func:`acceleration_null_rate` measures the test's false-positive rate on data with no break;
* :func:`projection` -- a fitted trend (or a record run grown at the fitted rate) carried forward
  to a year, with the bootstrap interval and the share of bootstrap fits inside a claimed range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .economics import CHIPS, GrowthFit, _num, decimal_year, training_flops

# ----------------------------------------------------------------------------------------------
# The claims and the paper
# ----------------------------------------------------------------------------------------------
ESSAY = ('Tarry Singh, "Karpathy Joins Anthropic, and the Training Loop Starts to Close" (2026), '
         'an essay (the author writes at tarrysingh.com)')


@dataclass(frozen=True)
class Claim:
    """One checkable sentence of the essay, and the number(s) it commits to."""

    key: str
    quote: str            # the essay's words, quoted as a claim to grade
    value: float | tuple  # the number (or range) the sentence commits to
    unit: str
    attributed_to: str    # whom the essay credits for it


ESSAY_CLAIMS: dict[str, Claim] = {c.key: c for c in [
    Claim("rate_since_2020", "rising about 3.5x a year since 2020", 3.5, "x per year",
          "Epoch AI's cost work"),
    Claim("doubling", "a doubling roughly every seven months", 7.0, "months", "Epoch AI's cost work"),
    Claim("run_2026", "A 2026-class run sits somewhere between $200M and $500M", (200e6, 500e6), "USD",
          "(no source given)"),
    Claim("billion_2027", "the largest runs past a billion dollars by 2027", 1e9, "USD",
          "the underlying study"),
]}


@dataclass(frozen=True)
class Paper:
    citation: str
    url: str
    rate: float                 # x per year since 2016, amortized hardware + energy cost
    rate_ci: tuple              # its interval
    rate_ci_level: float
    data_end: float             # the paper's data run to the end of 2023
    revision_note: str
    projection: str             # the paper's own forward claim, quoted


PAPER = Paper(
    citation=("Cottier, Rahman, Fattorini, Maslej, Besiroglu, Owen (2024), 'The rising costs of training "
              "frontier AI models', arXiv:2405.21015 (Epoch AI)"),
    url="https://arxiv.org/abs/2405.21015",
    rate=2.4, rate_ci=(2.0, 2.9), rate_ci_level=0.90, data_end=2024.0,
    revision_note="a later arXiv revision of the abstract gives the same 2.4x with a 95% CI of 2.0-3.1",
    projection="the largest training runs will cost more than a billion dollars by 2027",
)


# ----------------------------------------------------------------------------------------------
# Compute from the hardware: chips x hours x peak x utilisation
# ----------------------------------------------------------------------------------------------
def hardware_flops(chip_hours: float, peak_flops: float, utilization: float) -> float:
    """FLOPs a run's hardware did: ``chip_hours * 3600 * peak_flops * utilization``.

    ``utilization`` is the share of peak the chips delivered (MFU, or an achieved FLOP/s per chip
    divided by the peak), in (0, 1].
    """
    h = _num("chip_hours", chip_hours)
    p = _num("peak_flops", peak_flops)
    u = _num("utilization", utilization, hi=1.0)
    return h * 3600.0 * p * u


@dataclass(frozen=True)
class HardwareRun:
    """A training run whose chip-hours and utilisation were published, with the sources."""

    name: str
    params: float
    tokens: float                # tokens the run processed (not the dataset's size)
    chip: str                    # key of economics.CHIPS, for the peak
    chip_hours: float
    util_low: float              # share of peak delivered (a range where the source gives one)
    util_high: float
    util_kind: str               # "MFU" (model FLOPs) or "achieved" (hardware FLOP/s per chip)
    sources: str                 # what each figure is and where it is published (with links)
    note: str = ""
    published_flops: float = math.nan   # a total the team itself published, where there is one

    @property
    def peak(self) -> float:
        return CHIPS[self.chip].peak_flops

    def hardware(self) -> tuple[float, float]:
        """(low, high) compute from chip-hours x peak x utilisation."""
        return (hardware_flops(self.chip_hours, self.peak, self.util_low),
                hardware_flops(self.chip_hours, self.peak, self.util_high))

    def six_nd(self) -> float:
        return training_flops(self.params, self.tokens)


OPT_LOGBOOK = "https://github.com/facebookresearch/metaseq/blob/main/projects/OPT/chronicles/final_update.md"
HARDWARE_RUNS: dict[str, HardwareRun] = {r.name: r for r in [
    HardwareRun(
        "OPT-175B", 175e9, 300e9, "A100", 1024 * 33 * 24, 147 / 312, 147 / 312, "achieved",
        "1,024 A100s for ~33 days, 300B tokens and ~4.30e23 FLOPs: the OPT team's final logbook note, "
        f"{OPT_LOGBOOK}; 147 TFLOP/s per GPU: Zhang et al. 2022, section 2.3, https://arxiv.org/abs/2205.01068",
        note="the 33 days are the logbook's own FLOPs at full speed ('assuming no hardware issues'); "
             "the notes cover ~90 restarts. The paper's corpus is 180B tokens, the run processed 300B",
        published_flops=4.30e23),
    HardwareRun(
        "BLOOM-176B", 176.247e9, 366e9, "A100", 1_082_990, 156 / 312, 156 / 312, "achieved",
        "1,082,990 GPU-hours on A100 80GB, 156 TFLOP/s per GPU in the fastest configuration, 366B tokens: "
        "BigScience 2022, https://arxiv.org/abs/2211.05100 (the hours and rate also in GENCI's note, "
        "https://www.genci.fr/en/news/bloom-one-largest-open-multilingual-nlp-models-awarded-best-hpc-collaboration-hpc-wire-readers)",
        note="156 TFLOP/s was the best configuration's rate; the hours are the whole 3.5-month run"),
    HardwareRun(
        "PaLM 540B", 540.35e9, 780e9, "TPUv4", 6144 * 1200 + 3072 * 336, 0.462, 0.462, "MFU",
        "6,144 TPU v4 chips for 1,200 h and 3,072 for 336 h 'including some downtime and repeated steps', "
        "MFU 46.2% (hardware FLOPs utilisation 57.8% with rematerialization), 780B tokens: Chowdhery et "
        "al. 2022, section 4 and Appendix B, https://arxiv.org/abs/2204.02311",
        note="MFU is measured at steady state; the chip-hours include downtime and repeated steps"),
    HardwareRun(
        "Llama 3.1 405B", 405e9, 15.6e12, "H100", 30.84e6, 0.38, 0.43, "MFU",
        "30.84M H100-80GB GPU-hours ('total GPU time required for training'): the Llama 3.1 model card, "
        "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md; BF16 MFU "
        "38-43% and 15.6T tokens: Llama Team 2024, Table 4 and section 3, https://arxiv.org/abs/2407.21783",
        note="the GPU-hours cover the whole training, the MFU only the main pre-training configurations"),
]}

# Llama 3 405B's shape (Llama Team 2024, Table 3): 126 layers, width 16,384; main pre-training at 8,192 tokens.
LLAMA3_405B_SHAPE = {"n_layer": 126, "d_model": 16384, "context": 8192}
PALM_HFU_MFU = (0.578, 0.462)   # PaLM 540B with and without rematerialization FLOPs (Appendix B)


def hardware_table():
    """One row per ``HARDWARE_RUNS`` entry: 6ND, the hardware estimate (low/high), their ratio and
    the utilisation 6ND implies over all the chip-hours."""
    import pandas as pd
    rows = []
    for r in HARDWARE_RUNS.values():
        lo, hi = r.hardware()
        six = r.six_nd()
        rows.append({"run": r.name, "chip-hours": r.chip_hours, "chip": r.chip,
                     "utilisation": (f"{r.util_low:.2f}" if r.util_low == r.util_high
                                     else f"{r.util_low:.2f}-{r.util_high:.2f}") + f" ({r.util_kind})",
                     "6ND": six, "hardware low": lo, "hardware high": hi,
                     "6ND / hw (min)": six / hi, "6ND / hw (max)": six / lo,
                     "implied util of 6ND": six / (r.chip_hours * 3600.0 * r.peak),
                     "published total": r.published_flops})
    return pd.DataFrame(rows).set_index("run")


# ----------------------------------------------------------------------------------------------
# Growth as a doubling time
# ----------------------------------------------------------------------------------------------
def doubling_months(factor_per_year: float) -> float:
    """Months to double at ``factor_per_year`` (> 1)."""
    g = _num("factor_per_year", factor_per_year, lo=1.0)
    return 12.0 * math.log(2.0) / math.log(g)


def fit_doubling_months(fit: GrowthFit) -> tuple[float, float, float]:
    """(point, low, high) doubling time in months of a growth fit; the interval maps the fit's
    factor interval (a faster factor is a shorter doubling). Needs a factor interval above 1."""
    if not (fit.ci_low > 1 and fit.factor > 1):
        raise ValueError(f"the fit's factor {fit.factor:.3g} (CI {fit.ci_low:.3g}-{fit.ci_high:.3g}) must "
                         "exceed 1 for a doubling time; fit with n_boot > 0 on a growing series.")
    return doubling_months(fit.factor), doubling_months(fit.ci_high), doubling_months(fit.ci_low)


# ----------------------------------------------------------------------------------------------
# Did growth speed up? Two windows, and a broken line
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Acceleration:
    """Growth before and after a break year, their ratio with a bootstrap interval, and a hinge fit."""

    split: float
    before: float             # growth factor per year in [start, split)
    after: float              # growth factor per year in [split, end]
    n_before: int
    n_after: int
    ratio: float              # after / before
    ci_low: float
    ci_high: float
    ci_level: float
    p_boot: float             # share of bootstrap ratios <= 1 (one-sided evidence against speed-up)
    hinge_before: float       # broken-line fit, continuous at the split: factor before
    hinge_after: float        # ... and after
    hinge_t: float            # t statistic of the change in slope
    hinge_p: float            # one-sided p-value (slope increases), Student's t, n - 3 df
    n_boot: int
    boot: tuple = field(default=(), repr=False, compare=False)

    @property
    def speeds_up(self) -> bool:
        """The bootstrap interval of the ratio lies above 1."""
        return self.ci_low > 1.0

    def __str__(self) -> str:
        return (f"{self.before:.2f}x/yr before {self.split:g} (n={self.n_before}), {self.after:.2f}x/yr after "
                f"(n={self.n_after}); ratio {self.ratio:.2f} ({self.ci_level:.0%} CI {self.ci_low:.2f}-"
                f"{self.ci_high:.2f}); hinge fit {self.hinge_before:.2f} -> {self.hinge_after:.2f}x/yr, "
                f"one-sided p = {self.hinge_p:.3g}")


def _xy(dates, values, start, end):
    import numpy as np
    x = decimal_year(dates)
    y = np.asarray(values, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"dates ({len(x)}) and values ({len(y)}) must have the same length.")
    keep = np.isfinite(y) & (y > 0) & (x >= float(start))
    if end is not None:
        keep &= x < float(end)
    return x[keep], np.log10(y[keep])


def _slopes(x, y):
    """Least-squares slopes along the last axis."""
    xm, ym = x.mean(-1, keepdims=True), y.mean(-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(-1)
    import numpy as np
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((x - xm) * (y - ym)).sum(-1) / sxx


def _hinge(x, y, split):
    """OLS of y on [1, x - split, max(0, x - split)]: (slope before, change, t of change, df)."""
    import numpy as np
    X = np.column_stack([np.ones_like(x), x - split, np.maximum(0.0, x - split)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    df = len(y) - 3
    cov = (resid @ resid / df) * np.linalg.inv(X.T @ X)
    return beta[1], beta[2], beta[2] / math.sqrt(cov[2, 2]), df


def acceleration(dates, values, *, split: float = 2020.0, start: float = 2016.0, end: float | None = None,
                 n_boot: int = 4000, ci: float = 0.90, seed: int = 0) -> Acceleration:
    """Compare growth in ``[start, split)`` with growth in ``[split, end)``.

    Two tests of one question: (1) the ratio of the two windows' growth factors, each window
    resampled with replacement on its own (percentile bootstrap, ``n_boot`` draws); (2) a broken
    line, continuous at ``split``, whose change of slope gets an ordinary least-squares t-test.
    ``split`` must be chosen before looking at the data (here: the essay's "since 2020").
    """
    import numpy as np
    from scipy import stats
    if not 0 < ci < 1:
        raise ValueError(f"ci={ci!r} must be in (0, 1), e.g. 0.90.")
    if n_boot < 100:
        raise ValueError(f"n_boot={n_boot!r} must be >= 100 for a percentile interval.")
    x, y = _xy(dates, values, start, end)
    a, b = x < split, x >= split
    for name, m in (("before", a), ("after", b)):
        if m.sum() < 3 or np.ptp(x[m]) == 0:
            raise ValueError(f"only {int(m.sum())} usable rows {name} split={split!r} (start={start!r}, "
                             f"end={end!r}); each window needs at least 3 rows on different dates.")
    sa, sb = _slopes(x[a], y[a]), _slopes(x[b], y[b])
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.sum(), (n_boot, a.sum()))
    ib = rng.integers(0, b.sum(), (n_boot, b.sum()))
    d = _slopes(x[b][ib], y[b][ib]) - _slopes(x[a][ia], y[a][ia])
    d = d[np.isfinite(d)]
    q = (1 - ci) / 2
    lo, hi = 10.0 ** np.quantile(d, [q, 1 - q])
    h_before, h_change, h_t, df = _hinge(x, y, split)
    return Acceleration(split=float(split), before=float(10 ** sa), after=float(10 ** sb),
                        n_before=int(a.sum()), n_after=int(b.sum()), ratio=float(10 ** (sb - sa)),
                        ci_low=float(lo), ci_high=float(hi), ci_level=ci, p_boot=float((d <= 0).mean()),
                        hinge_before=float(10 ** h_before), hinge_after=float(10 ** (h_before + h_change)),
                        hinge_t=float(h_t), hinge_p=float(stats.t.sf(h_t, df)), n_boot=int(len(d)),
                        boot=(10.0 ** d,))


def acceleration_null_rate(dates, values, *, split: float = 2020.0, start: float = 2016.0,
                           end: float | None = None, n_sim: int = 200, n_boot: int = 1000,
                           ci: float = 0.90, alpha: float = 0.05, seed: int = 0) -> dict:
    """How often :func:`acceleration` reports a speed-up when there is none.

    Null data: the same dates, one straight line fitted to all of them, plus the line's own
    residuals resampled with replacement (so the scatter is the data's, and no break exists).
    Returns the share of ``n_sim`` null datasets whose ratio interval lies above 1
    (``"bootstrap"``) and whose hinge p-value is below ``alpha`` (``"hinge"``).
    """
    import numpy as np
    if n_sim < 10:
        raise ValueError(f"n_sim={n_sim!r} must be >= 10 to estimate a rate.")
    x, y = _xy(dates, values, start, end)
    slope = _slopes(x, y)
    icpt = y.mean() - slope * x.mean()
    resid = y - (icpt + slope * x)
    rng = np.random.default_rng(seed)
    boot_hits = hinge_hits = 0
    for i in range(n_sim):
        y_null = icpt + slope * x + rng.choice(resid, size=len(x), replace=True)
        acc = _acceleration_xy(x, y_null, split, n_boot, ci, int(rng.integers(1 << 31)))
        boot_hits += acc[0] > 1.0
        hinge_hits += acc[1] < alpha
    return {"bootstrap": boot_hits / n_sim, "hinge": hinge_hits / n_sim, "n_sim": n_sim,
            "nominal": (1 - ci) / 2, "alpha": alpha}


def _acceleration_xy(x, y, split, n_boot, ci, seed):
    """(lower bound of the ratio interval, hinge one-sided p) on years ``x`` and log10 values ``y``."""
    import numpy as np
    from scipy import stats
    a, b = x < split, x >= split
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.sum(), (n_boot, a.sum()))
    ib = rng.integers(0, b.sum(), (n_boot, b.sum()))
    d = _slopes(x[b][ib], y[b][ib]) - _slopes(x[a][ia], y[a][ia])
    d = d[np.isfinite(d)]
    lo = 10.0 ** np.quantile(d, (1 - ci) / 2)
    _, _, t, df = _hinge(x, y, split)
    return float(lo), float(stats.t.sf(t, df))


# ----------------------------------------------------------------------------------------------
# Carrying a trend forward
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Projection:
    """A value carried forward to ``year``: point, bootstrap interval, share inside a claimed range."""

    year: float
    point: float
    low: float
    high: float
    level: float
    share_in: float       # share of bootstrap fits whose value at ``year`` lies in [lo, hi] of the claim
    how: str

    def __str__(self) -> str:
        return (f"{self.year:.1f}: ${self.point / 1e6:,.0f}M ({self.level:.0%} interval ${self.low / 1e6:,.0f}M-"
                f"${self.high / 1e6:,.0f}M); {self.share_in:.0%} of bootstrap fits in the claimed range ({self.how})")


def projection(fit: GrowthFit, year: float, claim_range: tuple, *, from_value: float | None = None,
               from_year: float | None = None, level: float | None = None) -> Projection:
    """The fit's value at ``year`` (its trend line), or, with ``from_value`` and ``from_year``, that
    value grown at the fit's rate (e.g. the most expensive run so far). The interval and
    ``share_in`` come from the fit's bootstrap slopes (and intercepts, for the trend line).
    ``claim_range`` is ``(low, high)``; use ``(x, inf)`` for "more than x"."""
    import numpy as np
    if not fit.boot:
        raise ValueError("this fit has no bootstrap (n_boot=0); refit with n_boot > 0.")
    lo_c, hi_c = claim_range
    if not (lo_c < hi_c):
        raise ValueError(f"claim_range={claim_range!r} must be (low, high) with low < high.")
    yr = _num("year", year, lo=1900, hi=2200)
    lvl = fit.ci_level if level is None else _num("level", level, hi=1.0, hi_open=True)
    slopes, intercepts = fit.boot
    if from_value is None:
        vals = 10.0 ** (slopes * yr + intercepts)
        point = fit.predict(yr)
        how = "trend line of the fit"
    else:
        if from_year is None:
            raise ValueError("from_value needs from_year (the year of that value).")
        v0 = _num("from_value", from_value)
        dt = yr - float(from_year)
        vals = v0 * 10.0 ** (slopes * dt)
        point = v0 * fit.factor ** dt
        how = f"${v0 / 1e6:,.0f}M in {float(from_year):.1f} grown at the fitted rate"
    q = (1 - lvl) / 2
    lo, hi = np.quantile(vals, [q, 1 - q])
    share = float(((vals >= lo_c) & (vals <= hi_c)).mean())
    return Projection(year=yr, point=float(point), low=float(lo), high=float(hi), level=lvl,
                      share_in=share, how=how)
