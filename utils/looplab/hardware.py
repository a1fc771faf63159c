"""Measure what this machine can do: achieved dense matmul FLOP/s, the yardstick for MFU.

Model FLOPs utilisation (MFU) compares the FLOP/s a training run achieves with a peak. On a
datacenter GPU the peak is the vendor's spec sheet; on a laptop CPU no one publishes a useful
one, so the course *measures* it: the best rate of a large square fp32 matmul on this device.
Training on CUDA runs in bf16 or fp16 (:mod:`looplab.accel`), so there the yardstick is a matmul
in that dtype.
"""
from __future__ import annotations

import time
from functools import lru_cache


def _sync(device: str) -> None:
    import torch
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def measure_matmul_flops(n: int = 1024, repeats: int = 5, device: str | None = None,
                         dtype: str = "float32", seconds: float = 0.5) -> float:
    """Best achieved FLOP/s of an ``n x n @ n x n`` matmul on ``device`` (2 n^3 FLOPs each).

    ``device`` default: :func:`looplab.config.device_name`, where the course trains.

    Runs ``repeats`` timed rounds of at least ``seconds`` each and keeps the fastest round, so a
    brief hiccup from another process does not lower the figure much.
    """
    import torch

    from .config import device_name
    device = device or device_name()
    if n < 16:
        raise ValueError(f"n={n} is too small to measure a matmul rate; use n >= 16 (default 1024).")
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1.")
    dt = getattr(torch, dtype)
    a = torch.randn(n, n, device=device, dtype=dt)
    b = torch.randn(n, n, device=device, dtype=dt)
    a @ b  # warm-up
    _sync(device)
    flops_per = 2.0 * n ** 3
    best = 0.0
    for _ in range(repeats):
        count = 0
        t0 = time.perf_counter()
        while True:
            a @ b
            count += 1
            if count % 4 == 0:
                _sync(device)
                dt_s = time.perf_counter() - t0
                if dt_s >= seconds:
                    break
        best = max(best, flops_per * count / dt_s)
    return best


def peak_flops(device: str | None = None, dtype: str = "float32") -> float:
    """This process's measured peak (cached) on ``device`` (default: where the course trains), in
    ``dtype`` (training on CUDA runs in bfloat16 or float16): the denominator of MFU here."""
    from .config import device_name
    return _peak(device or device_name(), dtype)


@lru_cache(maxsize=None)
def _peak(device: str, dtype: str) -> float:
    return measure_matmul_flops(device=device, dtype=dtype, repeats=3, seconds=0.3)
