"""The data of lesson 01: the course's curated frontier-model table, Epoch AI's CSV, the paper's costs.

* :func:`frontier_models` -- the curated table that ships with the course (``assets/``);
* :func:`read_epoch_csv` -- a CSV in Epoch AI's "Notable AI Models" format, in the course's
  columns (``COLUMNS``);
* :func:`load_epoch_models` -- Epoch's live table (downloaded, cached all-or-nothing under
  :func:`looplab.files.cache_dir`), else the cached copy, else the curated table -- and it says which;
* :func:`load_epoch_costs` -- Cottier et al.'s (2024) cost estimates joined to Epoch's models.

:mod:`looplab.economics` re-exports every name here (``E.frontier_models``).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write_bytes, cache_dir


# Epoch AI's live "Notable AI Models" table (CC-BY 4.0; page: https://epoch.ai/data/notable-ai-models).
EPOCH_URL = "https://epoch.ai/data/notable_ai_models.csv"
EPOCH_CREDIT = "Epoch AI, 'Data on Notable AI Models' (CC-BY 4.0), https://epoch.ai/data/notable-ai-models"
COTTIER_2024 = ("Cottier, Rahman, Fattorini, Maslej, Besiroglu, Owen (2024), 'The rising costs of training "
                "frontier AI models', arXiv:2405.21015 (Epoch AI)")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
CURATED_CSV = ASSETS / "frontier_models.csv"

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
