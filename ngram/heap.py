"""Keep freed memory from lingering in the C heap while a bounded (`--memory`) run works.

glibc serves allocations below its mmap threshold from the heap, and raises that threshold (up to 32 MB, the
trim threshold with it) each time a large block is freed: the many mid-sized blocks a streaming pass allocates
and frees then stay resident as free heap, and the resident peak drifts past the budget. Fixed thresholds
(which also switch the dynamic adjustment off) give blocks of a MiB and more their own mappings, returned to
the system when freed.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_FROM = 1 << 20
TRIM_FROM = 4 << 20


def return_freed_memory() -> bool:
    """Set glibc's thresholds for this process; False where there is no glibc (nothing to do there)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_FROM)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_FROM))
