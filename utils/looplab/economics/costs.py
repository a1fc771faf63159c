"""What a training run costs: FLOPs -> chip-hours -> dollars, and how fast that bill grows (lesson 01).

The core arithmetic, as plain functions:

* :func:`training_flops` -- about ``6 N D`` FLOPs to train ``N`` parameters on ``D`` tokens
  (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1, arXiv:2001.08361),
  optionally with PaLM's attention term ``12 L T d`` per token (Chowdhery et al. 2022, Appendix B,
  arXiv:2204.02311);
* :func:`chip_hours` -- FLOPs divided by what a chip actually delivers (peak x MFU);
* :func:`cost_of_flops` -- chip-hours times a rental price; :func:`amortized_cost` -- the owner's
  view: a share of the purchase price plus the electricity;
* :func:`doubling_time` / :func:`growth_factor` / :func:`project_cost` -- growth arithmetic;
* :func:`cost_per_success` / :func:`screening_value` -- the expected value of small-run triage.

``CHIPS`` holds a few accelerators with their peak dense throughput (vendor datasheets) and prices
(medians of Epoch AI's hardware-price snapshot, CC-BY 4.0). Sources sit next to every figure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..checks import positive
# lesson 01 reads everything as E.<name>: the data and the growth fit live next door

from ..hardware import DENSE_16BIT  # the GPUs' dense peaks, one home

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8766.0  # 365.25 days


# ----------------------------------------------------------------------------------------------
# Chips
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chip:
    """One accelerator: peak dense FLOP/s, a rental price, a purchase price and power, with sources."""

    name: str
    peak_flops: float        # dense 16-bit (BF16/FP16) tensor FLOP/s, no sparsity
    usd_per_hour: float      # on-demand rental, per chip-hour
    purchase_usd: float      # purchase price per chip (NaN where unknown)
    watts: float             # board power (TDP) in W (NaN where unknown)
    source: str


_EPOCH_HW = ("Epoch AI hardware_prices.csv (training-cost-trends repo, CC-BY 4.0): "
             "median of {n} on-demand listings {span}")
CHIPS: dict[str, Chip] = {
    "V100": Chip("NVIDIA V100 SXM2", DENSE_16BIT["V100"].flops, 3.06, 17937.5, 300.0,
                 "peak/TDP: NVIDIA V100 datasheet (125 TFLOP/s FP16 tensor, 300 W); price: "
                 + _EPOCH_HW.format(n=16, span="2017-2025 ('NVIDIA V100'); purchase: median of 2")),
    "A100": Chip("NVIDIA A100 SXM4 80GB", DENSE_16BIT["A100"].flops, 2.93, 18024.375, 400.0,
                 "peak/TDP: NVIDIA A100 datasheet (312 TFLOP/s BF16 dense, 400 W); price: "
                 + _EPOCH_HW.format(n=47, span="2020-2025; purchase: median of 6")),
    "H100": Chip("NVIDIA H100 SXM5 80GB", DENSE_16BIT["H100"].flops, 4.40, 33819.37, 700.0,
                 "peak/TDP: NVIDIA H100 datasheet (1,979 TFLOP/s BF16 with sparsity = ~989 dense, "
                 "up to 700 W); price: " + _EPOCH_HW.format(n=29, span="2023-2025; purchase: median of 13")),
    "TPUv4": Chip("Google TPU v4", 275e12, 3.22, float("nan"), float("nan"),
                  "peak: Google Cloud TPU v4 documentation (275 TFLOP/s BF16); price: "
                  + _EPOCH_HW.format(n=5, span="2021-2025")),
}


def chips_table():
    """``CHIPS`` as a pandas DataFrame (one row per chip, with its source)."""
    import pandas as pd
    return pd.DataFrame([{"key": k, "chip": c.name, "peak TFLOP/s": c.peak_flops / 1e12,
                          "$/chip-hour": c.usd_per_hour, "purchase $": c.purchase_usd, "W": c.watts,
                          "source": c.source} for k, c in CHIPS.items()]).set_index("key")


def get_chip(chip: str | Chip) -> Chip:
    """A :class:`Chip` from its key in ``CHIPS`` (or the Chip itself)."""
    if isinstance(chip, Chip):
        return chip
    if chip not in CHIPS:
        raise ValueError(f"chip={chip!r} is not in CHIPS; choose one of {', '.join(CHIPS)} "
                         "or pass a Chip(...).")
    return CHIPS[chip]


# ----------------------------------------------------------------------------------------------
# FLOPs -> hours -> dollars
# ----------------------------------------------------------------------------------------------
def training_flops(n_params: float, n_tokens: float, *, n_layer: int | None = None,
                   context: int | None = None, d_model: int | None = None) -> float:
    """Training FLOPs: ``6 N D`` (2 forward + 4 backward per parameter per token).

    With ``n_layer``, ``context`` and ``d_model`` also given, adds the attention term
    ``12 * n_layer * context * d_model`` per token: PaLM's accounting (Chowdhery et al. 2022,
    Appendix B: ``6N + 12 L H Q T`` with ``H Q = d``), which counts both attention products (the
    scores and the weighted sum of values, ``2 T d`` each per layer forward) and x3 for training;
    the same count as :func:`looplab.model.flops_per_token`. Kaplan et al. 2020 (Table 1) count
    ``2 n_layer n_ctx d_attn`` per token forward (the scores only) and leave it out of ``6 N D``.
    """
    n = positive("n_params", n_params)
    d = positive("n_tokens", n_tokens)
    flops = 6.0 * n * d
    extra = (n_layer, context, d_model)
    if any(x is not None for x in extra):
        if any(x is None for x in extra):
            raise ValueError("the attention term needs all of n_layer, context and d_model "
                             f"(got n_layer={n_layer}, context={context}, d_model={d_model}).")
        flops += 12.0 * positive("n_layer", n_layer) * positive("context", context) * positive("d_model", d_model) * d
    return flops


def chip_hours(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
               peak_flops: float | None = None) -> float:
    """Chip-hours to do ``flops`` at utilisation ``mfu`` of the chip's peak (or of ``peak_flops``)."""
    f = positive("flops", flops, lo_open=False)
    m = positive("mfu", mfu, hi=1.0)
    peak = get_chip(chip).peak_flops if peak_flops is None else positive("peak_flops", peak_flops)
    return f / (peak * m) / SECONDS_PER_HOUR


def cost_of_flops(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
                  usd_per_hour: float | None = None) -> float:
    """Dollars to rent enough ``chip`` time for ``flops`` at ``mfu`` (price from ``CHIPS`` unless given)."""
    c = get_chip(chip)
    price = c.usd_per_hour if usd_per_hour is None else positive("usd_per_hour", usd_per_hour)
    return chip_hours(flops, c, mfu) * price


def wall_clock_days(flops: float, n_chips: int, chip: str | Chip = "H100", mfu: float = 0.4) -> float:
    """Days a run of ``flops`` takes on ``n_chips`` chips working in parallel at ``mfu``."""
    n = positive("n_chips", n_chips, lo=1, lo_open=False)
    return chip_hours(flops, chip, mfu) / n / 24.0


def amortized_cost(flops: float, chip: str | Chip = "H100", mfu: float = 0.4, *,
                   lifetime_years: float = 4.0, overhead: float = 1.0, pue: float = 1.2,
                   usd_per_kwh: float = 0.10) -> dict:
    """The owner's view of a run: the share of the chips' purchase price it uses up, plus energy.

    ``hardware = chip_hours * purchase_usd * overhead / (lifetime_years * 8766 h)``;
    ``energy = chip_hours * watts * pue / 1000 * usd_per_kwh``. The defaults (4-year life, no
    server/network overhead, PUE 1.2, $0.10/kWh) are this course's illustrative *assumptions*, not
    sourced figures: change them. Cottier et al. (2024) model both parts in more detail.
    Returns a dict with ``chip_hours``, ``hardware_usd``, ``energy_usd`` and ``total_usd``.
    """
    c = get_chip(chip)
    if math.isnan(c.purchase_usd) or math.isnan(c.watts):
        raise ValueError(f"chip={c.name!r} has no purchase price or power in CHIPS; choose one of "
                         f"{', '.join(k for k, v in CHIPS.items() if not math.isnan(v.purchase_usd + v.watts))}.")
    h = chip_hours(flops, c, mfu)
    life_h = positive("lifetime_years", lifetime_years) * HOURS_PER_YEAR
    hw = h * c.purchase_usd * positive("overhead", overhead, lo=1.0, lo_open=False) / life_h
    energy = h * c.watts * positive("pue", pue, lo=1.0, lo_open=False) / 1000.0 * positive("usd_per_kwh", usd_per_kwh)
    return {"chip_hours": h, "hardware_usd": hw, "energy_usd": energy, "total_usd": hw + energy}


# ----------------------------------------------------------------------------------------------
# Growth arithmetic
# ----------------------------------------------------------------------------------------------
def doubling_time(factor_per_year: float) -> float:
    """Years to double at a growth of ``factor_per_year`` (x per year): ``ln 2 / ln factor``."""
    g = positive("factor_per_year", factor_per_year, lo=1.0)
    return math.log(2.0) / math.log(g)


def growth_factor(doubling_years: float) -> float:
    """Growth factor per year for a doubling time of ``doubling_years``: ``2 ** (1 / T)``."""
    return 2.0 ** (1.0 / positive("doubling_years", doubling_years))


def project_cost(cost: float, from_year: float, to_year, factor_per_year: float):
    """``cost`` in ``from_year`` grown at ``factor_per_year`` to ``to_year`` (a number or an array)."""
    import numpy as np
    c = positive("cost", cost)
    g = positive("factor_per_year", factor_per_year)
    years = np.asarray(to_year, dtype=float)
    out = c * g ** (years - float(from_year))
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------------
# Your machine
# ----------------------------------------------------------------------------------------------
def machine_flops(device: str = "cpu") -> float:
    """This machine's measured dense fp32 matmul FLOP/s (:func:`looplab.hardware.peak_flops`)."""
    from ..hardware import peak_flops
    return peak_flops(device)


# ----------------------------------------------------------------------------------------------
# Failed runs and triage: a small expected-value model
# ----------------------------------------------------------------------------------------------
def cost_per_success(big_cost: float, p_good: float, small_cost: float = 0.0, tpr: float = 1.0,
                     fpr: float = 1.0) -> float:
    """Expected spend until one big run succeeds, when each idea is good with probability ``p_good``.

    Without screening (``small_cost=0, tpr=fpr=1``) every idea gets a big run: ``big_cost / p_good``.
    With screening, each idea first gets a small run costing ``small_cost`` that passes good ideas
    with probability ``tpr`` and bad ones with ``fpr``; only passing ideas get a big run. Then
    ``q = p tpr + (1-p) fpr`` ideas pass, a passing idea is good with probability
    ``p tpr / q``, and the spend per success is ``(small_cost / q + big_cost) * q / (p tpr)``.
    """
    big = positive("big_cost", big_cost)
    p = positive("p_good", p_good, hi=1.0)
    small = positive("small_cost", small_cost, lo_open=False)
    t = positive("tpr", tpr, hi=1.0)
    f = positive("fpr", fpr, lo_open=False, hi=1.0)
    q = p * t + (1 - p) * f
    return (small / q + big) * q / (p * t)


def screening_value(big_cost: float, p_good: float, small_cost: float, tpr: float, fpr: float) -> dict:
    """Dollars saved per success by screening with small runs first (negative: screening does not pay)."""
    without = cost_per_success(big_cost, p_good)
    with_ = cost_per_success(big_cost, p_good, small_cost, tpr, fpr)
    return {"without_screening": without, "with_screening": with_, "saved": without - with_,
            "saved_fraction": (without - with_) / without}
