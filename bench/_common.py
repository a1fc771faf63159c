"""Shared helpers of the benchmarks: threads, the machine's description, interleaved timing."""
from __future__ import annotations

import os
import platform
import sys


def setup_bench(threads: int | None = None) -> int:
    """Quiet, offline, seeded; torch threads = free cores (or ``threads``). Returns the thread count."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import warnings

    warnings.filterwarnings("ignore")
    from looplab.config import seed_everything, set_threads

    n = set_threads(threads)
    seed_everything(0)
    return n


def machine() -> str:
    """One line naming this machine: CPU model, cores, torch and python versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return (f"{cpu}; {cores} cores visible, {torch.get_num_threads()} torch threads; "
            f"torch {torch.__version__}; python {sys.version.split()[0]}")


def load_note() -> str:
    """The 1-minute load average: a busy machine makes every absolute figure lower."""
    try:
        return f"load average (1 min) {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load average unavailable"
