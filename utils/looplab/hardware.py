"""The yardstick for MFU: the dense peak FLOP/s of the device training uses, in its training dtype.

Model FLOPs utilisation (MFU) compares the FLOP/s a training run achieves with a peak.

* On a CUDA GPU the peak is the vendor's datasheet figure for dense (no sparsity) 16-bit tensor
  math, the dtype training runs in there (:mod:`looplab.accel`: bf16, or fp16 on a T4), chosen by
  the device's name from :data:`DENSE_16BIT`. A GPU the table does not know is *measured* with a
  large matmul (n = 8192): a small one (the CPU's n = 1024) reaches a fraction of a GPU's peak --
  on an H200 a 1024-cube bf16 matmul ran at 154 TFLOP/s against 795 for an 8192-cube one, which
  made MFU look five times too high (issue 29).
* On a CPU (and Apple's MPS) no one publishes a useful peak, so the course measures one: the best
  rate of a square fp32 matmul.

:func:`peak` returns the figure with where it came from; :func:`peak_flops` the number alone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

# On CUDA, the smallest matmul allowed to stand for the peak, and the size measured.
GPU_MIN_MATMUL_N = 4096
GPU_MATMUL_N = 8192


@dataclass(frozen=True)
class Peak:
    """A peak FLOP/s for MFU, with how it was obtained (a datasheet and its link, or a measurement)."""

    flops: float
    dtype: str
    how: str


@dataclass(frozen=True)
class Datasheet:
    """One GPU's dense (no 2:4 sparsity) 16-bit tensor peak; ``bf16`` False where it has no bf16."""

    name: str
    flops: float
    bf16: bool
    source: str


_H100_SHEET = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"
# NVIDIA's datasheets print the 16-bit tensor figure *with* sparsity for Hopper and Ampere's successors;
# the dense figure is half of it. Keys are matched, in this order, as substrings of
# torch.cuda.get_device_name() (e.g. "NVIDIA H100 80GB HBM3", "Tesla T4", "NVIDIA A100-SXM4-80GB").
DENSE_16BIT: dict[str, Datasheet] = {
    "H200 NVL": Datasheet("NVIDIA H200 NVL", 835e12, True,
                          "NVIDIA H200 page: 1,671 TFLOP/s BF16 with sparsity = 835 dense, "
                          "https://www.nvidia.com/en-us/data-center/h200/"),
    "H200": Datasheet("NVIDIA H200 SXM", 989e12, True,
                      "NVIDIA H200 page: 1,979 TFLOP/s BF16 with sparsity = 989 dense, "
                      "https://www.nvidia.com/en-us/data-center/h200/"),
    "H100 NVL": Datasheet("NVIDIA H100 NVL", 835e12, True,
                          f"NVIDIA H100 datasheet: 1,671 TFLOP/s BF16 with sparsity = 835 dense, {_H100_SHEET}"),
    "H100 PCIe": Datasheet("NVIDIA H100 PCIe", 756e12, True,
                           f"NVIDIA H100 datasheet: 1,513 TFLOP/s BF16 with sparsity = 756 dense, {_H100_SHEET}"),
    "H100": Datasheet("NVIDIA H100 SXM", 989e12, True,
                      f"NVIDIA H100 datasheet: 1,979 TFLOP/s BF16 with sparsity = 989 dense, {_H100_SHEET}"),
    "A100": Datasheet("NVIDIA A100", 312e12, True,
                      "NVIDIA A100 datasheet: 312 TFLOP/s BF16 tensor dense, https://www.nvidia.com/content/dam/"
                      "en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"),
    "L4": Datasheet("NVIDIA L4", 121e12, True,
                    "NVIDIA L4 page: 242 TFLOP/s BF16 with sparsity = 121 dense, "
                    "https://www.nvidia.com/en-us/data-center/l4/"),
    "V100": Datasheet("NVIDIA V100 SXM2", 125e12, False,
                      "NVIDIA V100 datasheet: 125 TFLOP/s FP16 tensor (SXM2)"),
    "T4": Datasheet("NVIDIA T4", 65e12, False,
                    "NVIDIA T4 datasheet: 65 TFLOP/s FP16 tensor (mixed precision), https://www.nvidia.com/"
                    "content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf"),
}


def datasheet_for(device_name: str) -> Datasheet | None:
    """The :data:`DENSE_16BIT` entry whose key occurs in ``device_name`` (first in table order), or None."""
    for key, sheet in DENSE_16BIT.items():
        if key in device_name:
            return sheet
    return None


def _sync(device: str) -> None:
    import torch
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def measure_matmul_flops(n: int = 1024, repeats: int = 5, device: str | None = None,
                         dtype: str = "float32", seconds: float = 0.5) -> float:
    """Best achieved FLOP/s of an ``n x n @ n x n`` matmul on ``device`` (2 n^3 FLOPs each).

    ``device`` default: :func:`looplab.config.default_device` (the device setup() decided), where the course trains.

    Runs ``repeats`` timed rounds of at least ``seconds`` each and keeps the fastest round, so a
    brief hiccup from another process does not lower the figure much.
    """
    import torch

    from .config import default_device
    device = device or default_device()
    if n < 16:
        raise ValueError(f"n={n} is too small to measure a matmul rate; use n >= 16 (default 1024).")
    if str(device).startswith("cuda") and n < GPU_MIN_MATMUL_N:
        raise ValueError(f"n={n} is too small to stand for a GPU's peak (a small matmul leaves most of it idle); "
                         f"use n >= {GPU_MIN_MATMUL_N} on CUDA (peak() measures n = {GPU_MATMUL_N}).")
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


def cuda_device_name() -> str:
    """``torch.cuda.get_device_name()`` (a function of its own so tests can name a GPU)."""
    import torch
    return torch.cuda.get_device_name()


def peak(device: str | None = None, dtype: str = "float32") -> Peak:
    """The MFU denominator on ``device`` (default: where the course trains) in ``dtype``, with its source.

    CUDA in a 16-bit dtype: the datasheet's dense figure for this GPU when :data:`DENSE_16BIT` knows
    it, else a measured n = 8192 matmul. Anything else: a measured matmul (cached per process).
    """
    from .config import default_device
    return _peak(device or default_device(), dtype)


def peak_flops(device: str | None = None, dtype: str = "float32") -> float:
    """:func:`peak`'s FLOP/s alone: the denominator of MFU here."""
    return peak(device, dtype).flops


@lru_cache(maxsize=None)
def _peak(device: str, dtype: str) -> Peak:
    if str(device).startswith("cuda"):
        name = cuda_device_name()
        sheet = datasheet_for(name)
        if sheet is not None and dtype in ("bfloat16", "float16") and (sheet.bf16 or dtype == "float16"):
            return Peak(sheet.flops, dtype, f"datasheet, dense {dtype} ({name}): {sheet.source}")
        rate = measure_matmul_flops(n=GPU_MATMUL_N, device=device, dtype=dtype, repeats=3, seconds=0.3)
        return Peak(rate, dtype, f"measured: best {GPU_MATMUL_N}-cube {dtype} matmul on {name} "
                                 "(no datasheet figure for this GPU and dtype in looplab.hardware.DENSE_16BIT)")
    rate = measure_matmul_flops(device=device, dtype=dtype, repeats=3, seconds=0.3)
    return Peak(rate, dtype, f"measured: best 1024-cube {dtype} matmul on {device}")
