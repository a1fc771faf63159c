"""The economics of training: FLOPs -> chip-hours -> dollars, and how fast that bill grows (lesson 01).

The core arithmetic, as plain functions:

* :func:`training_flops` -- about ``6 N D`` FLOPs to train ``N`` parameters on ``D`` tokens
  (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1, arXiv:2001.08361),
  optionally with PaLM's attention term ``12 L T d`` per token (Chowdhery et al. 2022, Appendix B,
  arXiv:2204.02311);
* :func:`chip_hours` -- FLOPs divided by what a chip actually delivers (peak x MFU);
* :func:`cost_of_flops` -- chip-hours times a rental price; :func:`amortized_cost` -- the owner's
  view: a share of the purchase price plus the electricity;
* :func:`doubling_time` / :func:`growth_factor` / :func:`project_cost` -- growth arithmetic;
* :func:`fit_growth` -- a log-linear fit of cost (or compute) on date with a bootstrap interval;
* :func:`frontier_models` / :func:`load_epoch_models` / :func:`load_epoch_costs` -- the data;
* :func:`cost_per_success` / :func:`screening_value` -- the expected value of small-run triage.

``CHIPS`` holds a few accelerators with their peak dense throughput (vendor datasheets) and prices
(medians of Epoch AI's hardware-price snapshot, CC-BY 4.0). Sources sit next to every figure.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .checks import number
from .files import atomic_write_bytes, cache_dir  # noqa: F401  (cache_dir: its old home)

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8766.0  # 365.25 days

# Epoch AI's live "Notable AI Models" table (CC-BY 4.0; page: https://epoch.ai/data/notable-ai-models).
EPOCH_URL = "https://epoch.ai/data/notable_ai_models.csv"
EPOCH_CREDIT = "Epoch AI, 'Data on Notable AI Models' (CC-BY 4.0), https://epoch.ai/data/notable-ai-models"
COTTIER_2024 = ("Cottier, Rahman, Fattorini, Maslej, Besiroglu, Owen (2024), 'The rising costs of training "
                "frontier AI models', arXiv:2405.21015 (Epoch AI)")
ASSETS = Path(__file__).resolve().parent / "assets"
CURATED_CSV = ASSETS / "frontier_models.csv"


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


def chips_table():
    """``CHIPS`` as a pandas DataFrame (one row per chip, with its source)."""
    import pandas as pd
    return pd.DataFrame([{"key": k, "chip": c.name, "peak TFLOP/s": c.peak_flops / 1e12,
                          "$/chip-hour": c.usd_per_hour, "purchase $": c.purchase_usd, "W": c.watts,
                          "source": c.source} for k, c in CHIPS.items()]).set_index("key")


def _num(name: str, value, lo: float = 0.0, hi: float = math.inf, lo_open: bool = True,
         hi_open: bool = False) -> float:
    """``value`` as a float in the range (lo, hi] (by default); a clear ValueError otherwise."""
    return number(name, value, lo, None if math.isinf(hi) else hi, lo_open=lo_open, hi_open=hi_open)


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
    n = _num("n_params", n_params)
    d = _num("n_tokens", n_tokens)
    flops = 6.0 * n * d
    extra = (n_layer, context, d_model)
    if any(x is not None for x in extra):
        if any(x is None for x in extra):
            raise ValueError("the attention term needs all of n_layer, context and d_model "
                             f"(got n_layer={n_layer}, context={context}, d_model={d_model}).")
        flops += 12.0 * _num("n_layer", n_layer) * _num("context", context) * _num("d_model", d_model) * d
    return flops


def chip_hours(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
               peak_flops: float | None = None) -> float:
    """Chip-hours to do ``flops`` at utilisation ``mfu`` of the chip's peak (or of ``peak_flops``)."""
    f = _num("flops", flops, lo_open=False)
    m = _num("mfu", mfu, hi=1.0)
    peak = get_chip(chip).peak_flops if peak_flops is None else _num("peak_flops", peak_flops)
    return f / (peak * m) / SECONDS_PER_HOUR


def cost_of_flops(flops: float, chip: str | Chip = "H100", mfu: float = 0.4,
                  usd_per_hour: float | None = None) -> float:
    """Dollars to rent enough ``chip`` time for ``flops`` at ``mfu`` (price from ``CHIPS`` unless given)."""
    c = get_chip(chip)
    price = c.usd_per_hour if usd_per_hour is None else _num("usd_per_hour", usd_per_hour)
    return chip_hours(flops, c, mfu) * price


def wall_clock_days(flops: float, n_chips: int, chip: str | Chip = "H100", mfu: float = 0.4) -> float:
    """Days a run of ``flops`` takes on ``n_chips`` chips working in parallel at ``mfu``."""
    n = _num("n_chips", n_chips, lo=1, lo_open=False)
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
    life_h = _num("lifetime_years", lifetime_years) * HOURS_PER_YEAR
    hw = h * c.purchase_usd * _num("overhead", overhead, lo=1.0, lo_open=False) / life_h
    energy = h * c.watts * _num("pue", pue, lo=1.0, lo_open=False) / 1000.0 * _num("usd_per_kwh", usd_per_kwh)
    return {"chip_hours": h, "hardware_usd": hw, "energy_usd": energy, "total_usd": hw + energy}


# ----------------------------------------------------------------------------------------------
# Growth arithmetic
# ----------------------------------------------------------------------------------------------
def doubling_time(factor_per_year: float) -> float:
    """Years to double at a growth of ``factor_per_year`` (x per year): ``ln 2 / ln factor``."""
    g = _num("factor_per_year", factor_per_year, lo=1.0)
    return math.log(2.0) / math.log(g)


def growth_factor(doubling_years: float) -> float:
    """Growth factor per year for a doubling time of ``doubling_years``: ``2 ** (1 / T)``."""
    return 2.0 ** (1.0 / _num("doubling_years", doubling_years))


def project_cost(cost: float, from_year: float, to_year, factor_per_year: float):
    """``cost`` in ``from_year`` grown at ``factor_per_year`` to ``to_year`` (a number or an array)."""
    import numpy as np
    c = _num("cost", cost)
    g = _num("factor_per_year", factor_per_year)
    years = np.asarray(to_year, dtype=float)
    out = c * g ** (years - float(from_year))
    return float(out) if out.ndim == 0 else out


def decimal_year(dates):
    """Dates (strings, datetimes or a pandas Series) as decimal years, e.g. 2020-07-02 -> 2020.5."""
    import numpy as np
    import pandas as pd
    t = pd.to_datetime(pd.Series(dates), errors="coerce")
    if t.isna().any():
        bad = list(pd.Series(dates)[t.isna().values][:3])
        raise ValueError(f"dates {bad!r} could not be read; use ISO dates like '2020-05-28'.")
    start = pd.to_datetime(t.dt.year.astype(str) + "-01-01")
    days = np.where(t.dt.is_leap_year, 366.0, 365.0)
    return (t.dt.year + (t - start).dt.total_seconds() / 86400.0 / days).to_numpy(dtype=float)


@dataclass(frozen=True)
class GrowthFit:
    """A log-linear fit ``log10(value) = slope * year + intercept`` and its bootstrap interval."""

    factor: float            # growth per year, 10 ** slope
    ci_low: float            # bootstrap percentile interval of the factor
    ci_high: float
    ci_level: float
    slope: float             # orders of magnitude per year
    intercept: float
    n: int                   # rows used
    first_year: float
    last_year: float
    n_boot: int
    boot: tuple = field(default=(), repr=False, compare=False)  # bootstrap (slopes, intercepts)

    @property
    def doubling_years(self) -> float:
        return math.log(2.0) / math.log(self.factor) if self.factor > 1 else math.inf

    def predict(self, year):
        """Fitted value at ``year`` (a number or an array)."""
        import numpy as np
        out = 10.0 ** (self.slope * np.asarray(year, dtype=float) + self.intercept)
        return float(out) if np.ndim(out) == 0 else out

    def band(self, year, ci: float | None = None):
        """Pointwise bootstrap interval ``(low, high)`` of the fitted value at ``year``."""
        import numpy as np
        if not self.boot:
            raise ValueError("this fit has no bootstrap (n_boot=0); refit with n_boot > 0.")
        level = self.ci_level if ci is None else ci
        slopes, intercepts = self.boot
        ly = np.outer(slopes, np.atleast_1d(np.asarray(year, dtype=float))) + intercepts[:, None]
        a = (1 - level) / 2
        lo, hi = 10.0 ** np.quantile(ly, [a, 1 - a], axis=0)
        return (lo, hi) if np.ndim(year) else (float(lo[0]), float(hi[0]))

    def __str__(self) -> str:
        return (f"{self.factor:.2f}x per year ({self.ci_level:.0%} CI {self.ci_low:.2f}-{self.ci_high:.2f}), "
                f"doubling every {12 * self.doubling_years:.1f} months, n={self.n} models "
                f"{self.first_year:.1f}-{self.last_year:.1f}")


def _ols(x, y):
    """Least-squares slope and intercept of y on x (closed form)."""
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    slope = ((x - xm) * (y - ym)).sum() / sxx
    return slope, ym - slope * xm


def fit_growth(dates, values, *, start=None, end=None, n_boot: int = 2000, ci: float = 0.90,
               seed: int = 0) -> GrowthFit:
    """Fit the yearly growth factor of ``values`` (cost, compute ...) over ``dates``.

    Rows with a missing or non-positive value are dropped; ``start`` / ``end`` (years or dates,
    inclusive) pick the window. The interval resamples the rows with replacement ``n_boot`` times
    and refits (a percentile bootstrap); ``n_boot=0`` skips it (CI = NaN).
    """
    import numpy as np
    x = decimal_year(dates)
    y = np.asarray(values, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"dates ({len(x)}) and values ({len(y)}) must have the same length.")
    keep = np.isfinite(y) & (y > 0)
    if start is not None:
        keep &= x >= _as_year(start)
    if end is not None:
        keep &= x <= _as_year(end, end=True)
    x, ly = x[keep], np.log10(y[keep])
    if len(x) < 3 or np.ptp(x) == 0:
        raise ValueError(f"only {len(x)} usable rows between start={start!r} and end={end!r}; "
                         "a growth fit needs at least 3 rows with positive values on different dates.")
    if not 0 < ci < 1:
        raise ValueError(f"ci={ci!r} must be in (0, 1), e.g. 0.90.")
    if n_boot < 0:
        raise ValueError(f"n_boot={n_boot!r} must be >= 0.")
    slope, intercept = _ols(x, ly)
    lo = hi = float("nan")
    boot = ()
    if n_boot:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        xb, yb = x[idx], ly[idx]
        xm, ym = xb.mean(1, keepdims=True), yb.mean(1, keepdims=True)
        sxx = ((xb - xm) ** 2).sum(1)
        ok = sxx > 0  # a resample of one date has no slope
        slopes = ((xb - xm) * (yb - ym)).sum(1)[ok] / sxx[ok]
        boot = (slopes, ym[ok, 0] - slopes * xm[ok, 0])
        a = (1 - ci) / 2
        lo, hi = (10.0 ** np.quantile(slopes, [a, 1 - a])).tolist()
    return GrowthFit(factor=10.0 ** slope, ci_low=lo, ci_high=hi, ci_level=ci, slope=float(slope),
                     intercept=float(intercept), n=int(len(x)), first_year=float(x.min()),
                     last_year=float(x.max()), n_boot=int(n_boot), boot=boot)


def _as_year(v, end: bool = False) -> float:
    """A year number (2020 means 2020-01-01, or the end of 2020 for ``end``) or a date string."""
    if isinstance(v, (int, float)):
        return float(v) + (1.0 if end and float(v).is_integer() else 0.0) - (1e-9 if end else 0.0)
    return float(decimal_year([v])[0])


# ----------------------------------------------------------------------------------------------
# Data: the curated table, Epoch's CSV format, the paper's cost estimates
# ----------------------------------------------------------------------------------------------
COLUMNS = ["name", "organization", "date", "domain", "parameters", "training_flop", "tokens",
           "dataset_datapoints", "hardware", "hardware_quantity", "mfu", "cost_usd", "cost_usd_cloud",
           "source"]
# Epoch's column names -> ours (Epoch names them exactly like this in its CSV downloads).
EPOCH_COLUMNS = {
    "Model": "name", "Organization": "organization", "Publication date": "date", "Domain": "domain",
    "Parameters": "parameters", "Training compute (FLOP)": "training_flop",
    "Training dataset size (datapoints)": "dataset_datapoints", "Training hardware": "hardware",
    "Hardware quantity": "hardware_quantity", "Hardware utilization (MFU)": "mfu",
    "Training compute cost (2023 USD)": "cost_usd_cloud",
}
EPOCH_REQUIRED = ("Model", "Publication date", "Training compute (FLOP)")


def frontier_models():
    """The course's curated table of notable and frontier models (figures from Epoch AI and papers).

    One row per model: ``COLUMNS``. ``cost_usd`` is Cottier et al.'s (2024) amortized hardware +
    energy estimate where they made one (NaN elsewhere); ``source`` names where each row's
    figures come from. See ``assets/SOURCES.md``.
    """
    import pandas as pd
    df = pd.read_csv(CURATED_CSV)
    df["date"] = pd.to_datetime(df["date"])
    return df


def _money(series):
    """Epoch writes some dollar columns as strings like ``'$1099604.99'``: make them floats."""
    import pandas as pd
    if not pd.api.types.is_numeric_dtype(series):
        series = series.astype(str).str.replace(r"[$,\s]", "", regex=True)
    return pd.to_numeric(series, errors="coerce")


def read_epoch_csv(path_or_buffer):
    """Read a CSV in Epoch AI's notable-models format into the course's columns (``COLUMNS``).

    Needs at least the columns ``EPOCH_REQUIRED``; others Epoch provides are kept under our names
    when we know them, and missing ones become NaN. Rows without a date or compute are dropped.
    """
    import pandas as pd
    raw = pd.read_csv(path_or_buffer)
    missing = [c for c in EPOCH_REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(f"{path_or_buffer!s} is not in Epoch's notable-models format: missing columns "
                         f"{missing}; expected at least {list(EPOCH_REQUIRED)}.")
    df = raw.rename(columns=EPOCH_COLUMNS)
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = float("nan")
    for col in ("parameters", "training_flop", "dataset_datapoints", "hardware_quantity", "mfu"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["cost_usd_cloud"] = _money(df["cost_usd_cloud"])
    df["date"] = pd.to_datetime(df["date"], errors="coerce")
    df["source"] = EPOCH_CREDIT
    df = df.dropna(subset=["date", "training_flop"])
    return df[COLUMNS].reset_index(drop=True)


@dataclass
class ModelTable:
    """A table of models and where it came from (``is_fallback`` when the live data was unreachable)."""

    frame: object            # pandas DataFrame with COLUMNS
    origin: str
    is_fallback: bool


def load_epoch_models(path=None, *, online: bool = True, url: str = EPOCH_URL, timeout: float = 10.0,
                      verbose: bool = True) -> ModelTable:
    """Epoch AI's notable-models table: from ``path``, else live from ``url`` (cached), else offline.

    Order: a local ``path`` if given; otherwise download ``url`` and cache it under
    :func:`cache_dir`; if that fails, a cached copy from an earlier download; if there is none,
    the course's curated table (:func:`frontier_models`) -- a fallback, and it says so.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist; pass a CSV in Epoch's format, or path=None "
                                    "to download the live table (offline: the curated table).")
        return ModelTable(read_epoch_csv(p), f"{p} ({EPOCH_CREDIT})", False)
    cached = cache_dir() / "epoch_notable_ai_models.csv"
    why = "online=False"
    if online:
        try:
            import urllib.request
            with urllib.request.urlopen(url, timeout=timeout) as r:
                data = r.read()
            parsed = []   # read the download before it replaces a good cache
            atomic_write_bytes(cached, data, check=lambda tmp: parsed.append(read_epoch_csv(tmp)))
            frame = parsed[0]
            if verbose:
                print(f"Downloaded {url} ({len(data) / 1e6:.1f} MB, {len(frame)} models with compute); "
                      f"cached at {cached}.")
            return ModelTable(frame, f"{url} ({EPOCH_CREDIT})", False)
        except Exception as exc:  # no network, DNS, HTTP error, changed format
            why = f"{type(exc).__name__}: {exc}"
    if cached.is_file():
        if verbose:
            print(f"Offline ({why}); using the cached copy {cached}.")
        return ModelTable(read_epoch_csv(cached), f"{cached} (cached; {EPOCH_CREDIT})", False)
    if verbose:
        print(f"Offline: could not read {url} ({why}), and no cached copy at {cached}.\n"
              f"FALLBACK: using the course's curated table ({CURATED_CSV.name}, {len(frontier_models())} "
              "models, figures from Epoch AI, CC-BY 4.0). With a network, this call downloads the live table.")
    return ModelTable(frontier_models(), f"{CURATED_CSV} (curated fallback)", True)


def load_epoch_costs(folder):
    """Cottier et al.'s (2024) cost estimates joined to Epoch's model table, from a folder holding
    ``model_costs_updated.csv`` and ``notable_models_subset.csv`` (Epoch's training-cost-trends
    repository). Columns: ``name, date, cost_usd, training_flop, parameters, organization``.
    """
    import pandas as pd
    folder = Path(folder)
    costs_p, models_p = folder / "model_costs_updated.csv", folder / "notable_models_subset.csv"
    for p in (costs_p, models_p):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing; the folder must hold Epoch's model_costs_updated.csv "
                                    "and notable_models_subset.csv (or use frontier_models(), which ships).")
    costs = pd.read_csv(costs_p)
    if not {"Model", "Cost"} <= set(costs.columns):
        raise ValueError(f"{costs_p} must have columns 'Model' and 'Cost'; it has {list(costs.columns)}.")
    models = read_epoch_csv(models_p)
    out = costs.rename(columns={"Model": "name", "Cost": "cost_usd"}).merge(
        models[["name", "date", "training_flop", "parameters", "organization"]], on="name", how="left")
    unmatched = out["date"].isna().sum()
    if unmatched:
        print(f"note: {unmatched} cost rows have no date in {models_p.name} and are dropped: "
              f"{out.loc[out['date'].isna(), 'name'].tolist()}", file=sys.stderr)
    return out.dropna(subset=["date"]).sort_values("date").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Your machine
# ----------------------------------------------------------------------------------------------
def machine_flops(device: str = "cpu") -> float:
    """This machine's measured dense fp32 matmul FLOP/s (:func:`looplab.hardware.peak_flops`)."""
    from .hardware import peak_flops
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
    big = _num("big_cost", big_cost)
    p = _num("p_good", p_good, hi=1.0)
    small = _num("small_cost", small_cost, lo_open=False)
    t = _num("tpr", tpr, hi=1.0)
    f = _num("fpr", fpr, lo_open=False, hi=1.0)
    q = p * t + (1 - p) * f
    return (small / q + big) * q / (p * t)


def screening_value(big_cost: float, p_good: float, small_cost: float, tpr: float, fpr: float) -> dict:
    """Dollars saved per success by screening with small runs first (negative: screening does not pay)."""
    without = cost_per_success(big_cost, p_good)
    with_ = cost_per_success(big_cost, p_good, small_cost, tpr, fpr)
    return {"without_screening": without, "with_screening": with_, "saved": without - with_,
            "saved_fraction": (without - with_) / without}


def __getattr__(name: str):
    # lesson 01 calls E.lesson02_run_flops; its home is looplab.sizing (it counts a training run).
    # Looked up on use, so this module never imports the training core (which imports this one).
    if name == "lesson02_run_flops":
        from .sizing import lesson02_run_flops
        return lesson02_run_flops
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
