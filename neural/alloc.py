"""Keep freed array memory in the process so the next training step reuses it without page faults.

A training step allocates and frees the same few hundred arrays of 0.1–10 MB every time. glibc serves
blocks above its mmap threshold with fresh `mmap` pages and returns them on free, so every step pays a
page fault (and a page zeroing) per 4 KB, a large share of a small model's step. Raising the mmap
threshold and the trim threshold makes such blocks come from, and go back to, the heap (what PyTorch's
caching allocator achieves on its side). Peak memory is unchanged; the process simply keeps it until exit.
A no-op where glibc's `mallopt` is not available.

This changes the whole process, so only a program's entry point calls it (`tkit train`, the benchmarks),
never a library function.
"""
from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit
_done = {"tuned": False}


def keep_freed_memory() -> bool:
    """Tune glibc malloc for training loops (idempotent); True if it took effect."""
    if _done["tuned"]:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = (mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
          and mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1
          and mallopt(_M_TOP_PAD, 64 << 20) == 1)
    _done["tuned"] = ok
    return ok
