"""Process-wide settings of glibc's allocator for tkit's long NumPy runs (set by the CLI only).

Two policies, for two kinds of run:
- `keep_freed_memory` (n-gram counting and estimation within a budget): a streaming pass allocates and frees
  blocks of up to a few hundred MB thousands of times. glibc gives a block of 32 MiB or more (less by default)
  its own mapping, returned to the system when freed, and trims the heap's free top; the next such block is
  faulted in again page by page, zero-filled by the kernel. On a virtual machine whose host takes freed pages
  back, that refaulting cost more system time than the sorting itself. Every block is served from the heap
  instead, and the heap keeps a free top of up to a sixteenth of the budget (never trimming at all let small
  budgets' peaks pass the budget). The pipeline's background threads share that one heap (one arena): blocks
  a thread allocates and another frees would otherwise stay in the thread's own arena, beside the main heap's.
- `return_freed_memory` (the Unigram trainer): glibc raises its mmap threshold (up to 32 MB, the trim
  threshold with it) each time a large block is freed, so mid-sized blocks stay resident as free heap. Fixed
  thresholds (which also switch the dynamic adjustment off) give blocks of a MiB and more
  their own mappings, returned to the system when freed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
M_ARENA_MAX = -8
KEEP_SHARE = 16  # keep_freed_memory: the heap's free top kept, as a share of the budget
KEEP_MAX = 1 << 30  # mallopt takes a C int
MMAP_FROM = 1 << 20  # return_freed_memory: blocks from a MiB get their own mapping
TRIM_FROM = 4 << 20


def _mallopt() -> Callable[[int, int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> bool:
    """Fixed thresholds for this process: blocks from MMAP_FROM mapped, the heap trimmed from TRIM_FROM; False
    where there is no glibc (nothing to do there)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_FROM)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_FROM))


def keep_threshold(budget: int) -> int:
    """The free heap top kept by a run within `budget` bytes: a sixteenth of it, from 1 MiB to 1 GiB."""
    return min(KEEP_MAX, max(MMAP_FROM, budget // KEEP_SHARE))


def keep_freed_memory(budget: int) -> bool:
    """Serve every block, in every thread, from the one heap and trim its free top only past
    `keep_threshold(budget)`, for this process; False where there is no glibc (nothing to do there)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return (bool(mallopt(M_ARENA_MAX, 1)) and bool(mallopt(M_MMAP_MAX, 0))
            and bool(mallopt(M_TRIM_THRESHOLD, keep_threshold(budget))))
