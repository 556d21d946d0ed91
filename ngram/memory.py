"""How much memory this process may still use, for refusing work that cannot fit before starting it."""
from __future__ import annotations

import os
import resource

GB = 1 << 30


def _meminfo_available() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _physical() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_left() -> int | None:
    """What RLIMIT_AS leaves beyond the address space already mapped (None: no limit)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = 0
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    mapped = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return max(0, soft - mapped)


def available_memory() -> int:
    """Bytes this process can still allocate: the smaller of the system's available memory and what an
    address-space limit leaves; a generous default when neither can be read."""
    found = [b for b in (_meminfo_available() or _physical(), _address_space_left()) if b is not None]
    return min(found) if found else 8 * GB


def gigabytes(nbytes: float) -> str:
    """A size for messages: "1.5 GB", "0.02 GB"."""
    value = nbytes / GB
    return f"{value:.1f} GB" if value >= 0.95 else f"{value:.2g} GB"
