"""An ordered map over a few threads, for NumPy work that releases the GIL (formatting ARPA chunks).

Items are submitted as the consumer takes results, at most 2 * workers in flight, and results come back in
input order, so memory stays a few chunks whatever the input's length. With one worker the map runs in the
calling thread (the plain loop it must equal).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from tokenizers_kit.pool import threads_setting, usable_cores

T = TypeVar("T")
R = TypeVar("R")
MAX_WORKERS = 4


def thread_workers() -> int:
    """TKIT_THREADS if set (1: serial), else the usable cores, at most MAX_WORKERS."""
    wanted = threads_setting() or usable_cores()  # TKIT_THREADS=0 counts as unset
    return max(1, min(wanted, MAX_WORKERS))


def ordered_thread_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """fn(item) for every item, in order, computed by up to `workers` threads."""
    workers = thread_workers() if workers is None else max(1, workers)
    if workers == 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="tkit-format") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the consumer stopped early (an error, Ctrl-C): drop what is queued
                future.cancel()
