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
MMAP_FROM_MAX = 32 << 20
BUDGET_SHARE = 32  # a budget's blocks below 1/32 of it come from the heap
TRIM_FROM = 4 << 20


def mmap_threshold(budget: int | None) -> int:
    """The size from which blocks get their own mapping: 1 MiB, or 1/32 of a budget up to 32 MiB. Every mapped
    block is zero-filled by the kernel page by page when first touched; a large budget's streaming blocks (a few
    MiB each) then cost more system time than the sorting itself, and reusing them from the heap costs at most a
    few of them in resident memory."""
    if budget is None:
        return MMAP_FROM
    return min(MMAP_FROM_MAX, max(MMAP_FROM, budget // BUDGET_SHARE))


def return_freed_memory(budget: int | None = None) -> bool:
    """Set glibc's thresholds for this process (for a run within `budget` bytes, if given); False where there
    is no glibc (nothing to do there)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold(budget))) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_FROM))
