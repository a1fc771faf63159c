"""The economics of training: FLOPs -> chip-hours -> dollars (lesson 01).

The core arithmetic, as plain functions:

* :func:`training_flops` -- about ``6 * N * D`` FLOPs to train ``N`` parameters on ``D`` tokens
  (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1);
* :func:`chip_hours` -- FLOPs divided by what a chip actually delivers (peak x MFU);
* :func:`cost_of_flops` -- chip-hours times a rental price.

``CHIPS`` holds a few accelerators with their peak dense throughput (vendor datasheets) and a
rental price (the median on-demand listing in Epoch AI's hardware-price snapshot, CC-BY 4.0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0


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
    "V100": Chip("NVIDIA V100 SXM2", 125e12, 3.06, 17937.5, 300.0,
                 "peak/TDP: NVIDIA V100 datasheet (125 TFLOP/s FP16 tensor, 300 W); price: "
                 + _EPOCH_HW.format(n=16, span="2017-2025 ('NVIDIA V100'); purchase: median of 2")),
    "A100": Chip("NVIDIA A100 SXM4 80GB", 312e12, 2.93, 18024.375, 400.0,
                 "peak/TDP: NVIDIA A100 datasheet (312 TFLOP/s BF16 dense, 400 W); price: "
                 + _EPOCH_HW.format(n=47, span="2020-2025; purchase: median of 6")),
    "H100": Chip("NVIDIA H100 SXM5 80GB", 989e12, 4.40, 33819.37, 700.0,
                 "peak/TDP: NVIDIA H100 datasheet (1,979 TFLOP/s BF16 with sparsity = ~989 dense, "
                 "up to 700 W); price: " + _EPOCH_HW.format(n=29, span="2023-2025; purchase: median of 13")),
    "TPUv4": Chip("Google TPU v4", 275e12, 3.22, float("nan"), float("nan"),
                  "peak: Google Cloud TPU v4 documentation (275 TFLOP/s BF16); price: "
                  + _EPOCH_HW.format(n=5, span="2021-2025")),
}


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a number.") from None
    if math.isnan(v) or v < 0 or (v == 0 and not allow_zero) or math.isinf(v):
        rng = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} must be a finite number {rng}.")
    return v


def get_chip(chip: str | Chip) -> Chip:
    """A :class:`Chip` from its key in ``CHIPS`` (or the Chip itself)."""
    if isinstance(chip, Chip):
        return chip
    if chip not in CHIPS:
        raise ValueError(f"chip={chip!r} is not in CHIPS; choose one of {', '.join(CHIPS)} "
                         "or pass a Chip(...).")
    return CHIPS[chip]


def training_flops(n_params: float, n_tokens: float, *, n_layer: int | None = None,
                   context: int | None = None, d_model: int | None = None) -> float:
    """Training FLOPs: ``6 N D`` (2 forward + 4 backward per parameter per token).

    With ``n_layer``, ``context`` and ``d_model`` also given, adds the attention term
    ``6 * 2 * n_layer * context * d_model * D`` (Kaplan et al. 2020, Table 1: the forward pass
    costs ``2 n_layer n_ctx d_attn`` per token for the attention scores, x3 for training).
    """
    n = _check_positive("n_params", n_params)
    d = _check_positive("n_tokens", n_tokens)
    flops = 6.0 * n * d
    extra = (n_layer, context, d_model)
    if any(x is not None for x in extra):
        if any(x is None for x in extra):
            raise ValueError("the attention term needs all of n_layer, context and d_model "
                             f"(got n_layer={n_layer}, context={context}, d_model={d_model}).")
        flops += 6.0 * 2.0 * _check_positive("n_layer", n_layer) * _check_positive("context", context) \
            * _check_positive("d_model", d_model) * d
    return flops


def chip_hours(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
               peak_flops: float | None = None) -> float:
    """Chip-hours to do ``flops`` at utilisation ``mfu`` of the chip's peak (or ``peak_flops``)."""
    f = _check_positive("flops", flops, allow_zero=True)
    m = _check_positive("mfu", mfu)
    if m > 1:
        raise ValueError(f"mfu={mfu!r} must be in (0, 1]: a fraction of the chip's peak.")
    peak = get_chip(chip).peak_flops if peak_flops is None else _check_positive("peak_flops", peak_flops)
    return f / (peak * m) / SECONDS_PER_HOUR


def cost_of_flops(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
                  usd_per_hour: float | None = None) -> float:
    """Dollars to rent enough ``chip`` time for ``flops`` at ``mfu`` (price from ``CHIPS`` unless given)."""
    c = get_chip(chip)
    price = c.usd_per_hour if usd_per_hour is None else _check_positive("usd_per_hour", usd_per_hour)
    return chip_hours(flops, c, mfu) * price
