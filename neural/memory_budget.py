"""How much memory this process may still use, and what a model costs, checked before anything is allocated.

A size option (`--hidden-size 100000000`) or a hostile model file would otherwise have NumPy try to allocate
terabytes: at best a MemoryError traceback after minutes of swapping, at worst the OOM killer. Estimates are
in bytes and deliberately simple (a constant factor per array kind); `tests/neural/test_memory_budget.py`
compares them with the peak a real training step reaches.
"""
from __future__ import annotations

import os
import resource
from pathlib import Path

GB = 1 << 30


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    """What the memory cgroup (v2) still allows, if it sets a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def _address_space_available() -> int | None:
    """Room left under RLIMIT_AS (what `ulimit -v` sets), which fails allocations long before RAM runs out."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return soft - int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return soft


def available_bytes() -> int | None:
    """The least of free RAM, the cgroup's allowance and the address-space limit; None if none is known."""
    known = [b for b in (_meminfo_available(), _cgroup_available(), _address_space_available()) if b is not None]
    return max(0, min(known)) if known else None


def human(n: float) -> str:
    for unit, size in (("EB", 1 << 60), ("PB", 1 << 50), ("TB", 1 << 40), ("GB", GB), ("MB", 1 << 20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1024:.0f} KB"


def fits(needed: int, available: int | None) -> bool:
    return available is None or needed <= available


def largest_fitting(cost, current: int, available: int, step: int = 1) -> int:
    """The largest value v <= current (a multiple of `step`) with cost(v) <= available, or 0 if none: cost is
    increasing in v, so a bisection finds it in a few dozen estimates."""
    lo, hi = 0, current // step
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid * step) <= available:
            lo = mid
        else:
            hi = mid - 1
    return lo * step
