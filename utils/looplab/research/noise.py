"""The noise floor: how much val_bpb moves when nothing but the random seed changes.

Train the baseline config with a few seeds; the sample standard deviation ``sigma`` of their
val_bpb is the noise floor. A change is *kept* only when it beats the best so far by more than
``k * sigma``. With ``k = 0`` every lucky seed counts as progress -- which is how an automated loop
ends up "keeping" a change of random seed (the progress chart of karpathy/autoresearch on GitHub
shows a kept change of seed 42 -> 137, as summarised in this course's design notes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class NoiseFloor:
    """Mean and sample standard deviation of the baseline's metric over ``n`` seeds."""

    mean: float
    sigma: float
    n: int
    values: tuple

    def __str__(self) -> str:
        return f"baseline val_bpb {self.mean:.4f} ± {self.sigma:.4f} (σ over {self.n} seeds)"


def noise_floor(values: Sequence[float]) -> NoiseFloor:
    """The :class:`NoiseFloor` of replicate results (needs at least 2 finite values)."""
    vals = [float(v) for v in values]
    if len(vals) < 2:
        raise ValueError(f"a noise floor needs at least 2 replicates, got {len(vals)}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"replicate values must be finite numbers, got {vals}")
    mean = sum(vals) / len(vals)
    sigma = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return NoiseFloor(mean=mean, sigma=sigma, n=len(vals), values=tuple(vals))


def keep(candidate: float, best: float, sigma: float, k: float = 2.0) -> tuple[bool, str]:
    """Keep ``candidate`` (lower is better) only if it beats ``best`` by more than ``k * sigma``.

    Returns ``(kept, reason)``. A non-finite candidate (a diverged run) is never kept.
    """
    if k < 0 or sigma < 0:
        raise ValueError(f"k={k} and sigma={sigma} must both be >= 0")
    if not math.isfinite(candidate):
        return False, f"val_bpb={candidate} is not finite (the run diverged)"
    gain = best - candidate
    bar = k * sigma
    if gain > bar:
        return True, f"gain {gain:+.4f} > {k:g}σ = {bar:.4f}"
    return False, f"gain {gain:+.4f} <= {k:g}σ = {bar:.4f}"
