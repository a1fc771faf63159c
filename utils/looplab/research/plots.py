"""Plots of a research ledger: autoresearch's progress chart, and proposers compared.

Both take the ledger as a pandas DataFrame (``Ledger.to_frame()``) and return the matplotlib
axes, labelled with units (val_bpb is in bits per byte; lower is better).
"""
from __future__ import annotations

from .ledger import KEPT, REJECTED, RUN_STATUSES

RUN = RUN_STATUSES


def running_best(values, kept) -> list[float]:
    """The best kept val_bpb after each experiment (the step line of the progress chart)."""
    best, out = float("inf"), []
    for v, k in zip(values, kept):
        if k and v < best:
            best = v
        out.append(best)
    return out


def plot_progress(df, proposer: str, baseline: float | None = None, ax=None, title: str | None = None):
    """Every experiment of ``proposer`` as a dot over its number; kept ones highlighted; the
    running best as a step line, starting from the ``baseline`` (mean over seeds)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    runs = df[(df["proposer"] == proposer) & df["status"].isin(RUN)].reset_index(drop=True)
    x = list(range(1, len(runs) + 1))
    kept = (runs["status"] == KEPT).tolist()
    vals = runs["val_bpb"].tolist()
    ax.scatter([i for i, k in zip(x, kept) if not k], [v for v, k in zip(vals, kept) if not k],
               color="lightgray", edgecolor="gray", label="discarded", zorder=2)
    ax.scatter([i for i, k in zip(x, kept) if k], [v for v, k in zip(vals, kept) if k],
               color="tab:green", s=60, label="kept", zorder=3)
    start = baseline if baseline is not None else (vals[0] if vals else float("nan"))
    best = [min(start, b) for b in running_best(vals, kept)]
    ax.step([0] + x, [start] + best, where="post", color="tab:green", label="running best")
    if baseline is not None:
        ax.axhline(baseline, color="tab:blue", ls=":", lw=1, label="baseline (mean of seeds)")
    ax.set_xlabel("experiment number")
    ax.set_ylabel("val_bpb (bits per byte, lower is better)")
    ax.set_title(title or f"{proposer}: every experiment, kept ones highlighted")
    ax.legend(fontsize=8)
    return ax


def best_curve(df, proposer: str, baseline: float) -> list[float]:
    """Best kept val_bpb after 0, 1, 2, ... experiments of ``proposer``."""
    runs = df[(df["proposer"] == proposer) & df["status"].isin(RUN)]
    return [baseline] + [min(baseline, b) for b in running_best(runs["val_bpb"].tolist(),
                                                                  (runs["status"] == KEPT).tolist())]


def plot_compare(df, proposers, baseline: float, sigma: float | None = None, ax=None):
    """Best kept val_bpb versus experiments spent, one line per proposer (same budget each)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    for name in proposers:
        curve = best_curve(df, name, baseline)
        ax.step(range(len(curve)), curve, where="post", label=name, lw=2)
    if sigma:
        ax.axhspan(baseline - 2 * sigma, baseline + 2 * sigma, color="tab:blue", alpha=0.12,
                   label="baseline ± 2σ (noise)")
    ax.set_xlabel("experiments spent")
    ax.set_ylabel("best kept val_bpb (bits per byte)")
    ax.set_title("Proposers compared at the same budget")
    ax.legend(fontsize=8)
    return ax


def summary_table(df, proposers, baseline: float):
    """One row per proposer: experiments, proposals (invalid ones rejected by the validator), the
    valid-proposal rate, kept runs, best val_bpb, gain over the baseline mean, compute and LLM costs."""
    import pandas as pd
    rows = []
    for name in proposers:
        sub = df[df["proposer"] == name]
        runs = sub[sub["status"].isin(RUN)]
        kept = runs[runs["status"] == KEPT]
        llm = [x for x in sub.get("llm", pd.Series(dtype=object)).tolist() if isinstance(x, dict)]
        rejected = sub[sub["status"] == REJECTED]
        invalid = int((rejected["signoff"] == "validator").sum()) if len(rejected) else 0
        proposals = len(runs) + len(rejected)
        best = float(kept["val_bpb"].min()) if len(kept) else baseline
        rows.append({
            "proposer": name, "experiments run": len(runs), "proposals": proposals,
            "invalid": invalid, "rejected by human": len(rejected) - invalid,
            "valid rate": (1 - invalid / proposals) if proposals else float("nan"),
            "kept": len(kept), "best val_bpb": best, "gain vs baseline": baseline - best,
            "train wall s": float(runs["wall_s"].sum()) if "wall_s" in runs else float("nan"),
            "train GPU-$": float(runs["cost_usd"].fillna(0).sum()) if "cost_usd" in runs else float("nan"),
            "LLM tokens": sum((x.get("prompt_tokens") or 0) + (x.get("completion_tokens") or 0) for x in llm),
            "LLM $": sum((x.get("cost_usd") or 0) for x in llm),
            "LLM wall s": sum((x.get("wall_s") or 0) for x in llm),
        })
    return pd.DataFrame(rows).set_index("proposer")
