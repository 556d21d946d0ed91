"""How much memory this process may still use, so that work which cannot fit is refused before it starts.

A size option (`--hidden-size 100000000`, `--order 1000000`) or a hostile file's declared sizes would otherwise
have NumPy try to allocate terabytes: at best a MemoryError after minutes of swapping, at worst the OOM killer.
One reading for every layer: the least of the system's available memory, the memory cgroup's allowance and
the room RLIMIT_AS (`ulimit -v`) leaves.
"""
from __future__ import annotations

import os
import re
import resource
from collections.abc import Callable
from pathlib import Path

GB = 1 << 30
UNKNOWN_DEFAULT = 8 * GB  # when nothing can be read (not Linux): generous, so nothing sane is refused


def _proc_field(path: str, field: str) -> int | None:
    """A `Name:  N kB` field of a /proc file, in bytes."""
    try:
        for line in Path(path).read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _system_available() -> int | None:
    found = _proc_field("/proc/meminfo", "MemAvailable")
    if found is not None:
        return found
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
    """Room left under RLIMIT_AS, which fails allocations long before RAM runs out."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _proc_field("/proc/self/status", "VmSize") or 0
    return soft - mapped


def available_bytes() -> int | None:
    """The least of free RAM, the cgroup's allowance and the address-space limit; None if none is known."""
    known = [b for b in (_system_available(), _cgroup_available(), _address_space_available()) if b is not None]
    return max(0, min(known)) if known else None


def available_memory() -> int:
    """available_bytes(), or a generous default when nothing can be read."""
    found = available_bytes()
    return UNKNOWN_DEFAULT if found is None else found


def human(n: float) -> str:
    """A size for messages: "21.6 GB", "47.0 MB", "12 KB"."""
    for unit, size in (("EB", 1 << 60), ("PB", 1 << 50), ("TB", 1 << 40), ("GB", GB), ("MB", 1 << 20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1024:.0f} KB"


def fits(needed: int, available: int | None) -> bool:
    return available is None or needed <= available


def largest_fitting(cost: Callable[[int], int], current: int, available: int, step: int = 1) -> int:
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


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_memory(text: str | int, minimum: int = 1 << 20) -> int:
    """Bytes of a --memory budget from "500M", "2G", "1.5GB", "64k" or a plain number; at least `minimum`."""
    from tokenizers_kit.checks import ArgumentError

    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise ArgumentError(f"--memory must be a size such as 500M or 2G, got {text!r}")
    if isinstance(text, int):
        value = float(text)
    else:
        match = _SIZE.match(text)
        if not match:
            raise ArgumentError(f"--memory {text!r} is not a size: write e.g. 500M or 2G")
        value = float(match.group(1)) * 1024 ** "bkmgt".index((match.group(2) or "b").lower())
    if value < minimum:
        raise ArgumentError(f"--memory {text!r} is below {minimum >> 20}M: give a budget of "
                            f"{minimum >> 20}M or more")
    return int(value)
