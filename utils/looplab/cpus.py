"""What a container allows the course: CPU threads (the free cores, capped by a CPU quota) and memory.

``os.sched_getaffinity`` counts the cores a process may run on, but a container's CPU quota (Binder
gives a pod about one CPU) is invisible to it: on a 64-core host it says 64. cgroup v2 keeps the
quota in ``cpu.max``, v1 in ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``. :func:`thread_budget`
takes the smaller of the two and says which applied; :func:`looplab.config.setup` uses it.
:func:`memory_limit` reads the same cgroup tree for the memory limit (Binder: 2 GB for every kernel
together), which lesson 00 shows.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _own_cgroups(self_cgroup: Path) -> dict[str, str]:
    """This process's cgroup path per controller (``""`` for cgroup v2), from ``/proc/self/cgroup``."""
    out: dict[str, str] = {}
    for line in (_read(self_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                out.setdefault(controller, parts[2])
    return out


def _up_from(base: Path, rel: str) -> list[Path]:
    """``base/rel`` and each of its parents up to ``base``, deepest first (only ``base`` if rel is absent)."""
    start = base / rel.strip("/") if rel.strip("/") else base
    if not start.is_dir():
        return [base]
    chain = [start]
    while chain[-1] != base and base in chain[-1].parents:
        chain.append(chain[-1].parent)
    return chain


def _quota_v2(text: str) -> float | None:
    """Cores allowed by a cgroup v2 ``cpu.max`` line ("QUOTA PERIOD" or "max PERIOD"); None = unlimited."""
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = int(parts[0])
        period = int(parts[1]) if len(parts) > 1 else 100_000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _quota_v1(quota_text: str | None, period_text: str | None) -> float | None:
    """Cores allowed by cgroup v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: unlimited)."""
    try:
        quota, period = int(quota_text or ""), int(period_text or "")
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def cpu_quota(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> tuple[float, str] | None:
    """The CPU quota of this process's cgroup in cores, with the file it came from; None when unlimited.

    A container's quota (Binder gives a pod about one CPU) is invisible to ``os.sched_getaffinity``,
    which counts the host's cores. cgroup v2 keeps it in ``cpu.max``, v1 in ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``. Every level from this process's cgroup up to ``root`` is read and the
    tightest quota wins. ``root`` and ``self_cgroup`` are parameters so that tests can point them at
    fake files.
    """
    root = Path(root)
    own = _own_cgroups(Path(self_cgroup))
    found: list[tuple[float, str]] = []
    for d in _up_from(root, own.get("", "")):                        # cgroup v2 (unified)
        q = _quota_v2(_read(d / "cpu.max") or "")
        if q is not None:
            found.append((q, f"cgroup v2 {d / 'cpu.max'}"))
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):               # cgroup v1
        base = root / mount
        if not base.is_dir():
            continue
        for d in _up_from(base, own.get("cpu", "")):
            q = _quota_v1(_read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us"))
            if q is not None:
                found.append((q, f"cgroup v1 {d / 'cpu.cfs_quota_us'}"))
        break
    return min(found) if found else None


def _affinity_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS / Windows
        return max(1, os.cpu_count() or 1)


def thread_budget(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> tuple[int, str]:
    """How many CPU threads to use, and why: ``(n, reason)``, n >= 1.

    ``$LOOPLAB_THREADS`` overrides. Otherwise the smaller of the cores this process may run on and
    its container's CPU quota (see :func:`cpu_quota`), rounded down but at least 1: torch's parallel
    regions wait for their slowest thread, and a thread the quota throttles stalls for the rest of
    the period, so 2 threads on a 1.5-core quota are slower than 1.
    """
    forced = os.environ.get("LOOPLAB_THREADS", "").strip()
    if forced:
        try:
            n = int(forced)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"LOOPLAB_THREADS={forced!r} must be a whole number >= 1 (or unset it to "
                             "follow the free cores).")
        return n, f"LOOPLAB_THREADS={n}"
    cores = _affinity_cores()
    quota = cpu_quota(root, self_cgroup)
    if quota is not None and math.floor(quota[0]) < cores:
        n = max(1, math.floor(quota[0]))
        return n, f"CPU quota of {quota[0]:g} cores ({quota[1]}) on a machine with {cores}"
    return cores, f"{cores} cores this process may run on" + (
        f" (CPU quota {quota[0]:g} cores is not tighter)" if quota is not None else "")




# cgroup files that hold "no limit" as a huge number rather than "max" (v1: about 2**63, page-rounded)
_UNLIMITED = 2**60


def _limit_bytes(text: str | None) -> int | None:
    """A memory limit in bytes from a cgroup file or ``$MEM_LIMIT``; None for "max", unset or absurd values."""
    text = (text or "").strip()
    if not text or text == "max":
        return None
    try:
        n = int(text)
    except ValueError:
        return None
    return n if 0 < n < _UNLIMITED else None


def memory_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP,
                 environ: dict | None = None) -> tuple[int, str] | None:
    """The memory this process's container may use, in bytes, with where the limit came from; None if none.

    A kernel killed for memory on Binder just "dies", so lesson 00 shows this limit up front.
    JupyterHub (and so Binder) sets ``$MEM_LIMIT`` to the pod's limit; the kernel enforcing it is the
    cgroup's: v2 ``memory.max``, v1 ``memory.limit_in_bytes``, at every level up to ``root``. The
    tightest wins. Every kernel a learner leaves running counts against the same limit.
    """
    env = os.environ if environ is None else environ
    own = _own_cgroups(Path(self_cgroup))
    root = Path(root)
    found: list[tuple[int, str]] = []
    n = _limit_bytes(env.get("MEM_LIMIT"))
    if n is not None:
        found.append((n, "MEM_LIMIT, set by JupyterHub/Binder"))
    for d in _up_from(root, own.get("", "")):                        # cgroup v2 (unified)
        n = _limit_bytes(_read(d / "memory.max"))
        if n is not None:
            found.append((n, f"cgroup v2 {d / 'memory.max'}"))
    base = root / "memory"                                            # cgroup v1
    if base.is_dir():
        for d in _up_from(base, own.get("memory", "")):
            n = _limit_bytes(_read(d / "memory.limit_in_bytes"))
            if n is not None:
                found.append((n, f"cgroup v1 {d / 'memory.limit_in_bytes'}"))
    return min(found) if found else None
