"""The one process pool of tkit's big-input work (encoding files, counting training chunks), and how many
processes to give it.

Workers are forked, so they inherit the function (a tokenizer, a chunk counter) instead of unpickling it:
only the items in and the results out cross between processes. At most 2 * processes items are in
flight and results come back in input order, so memory stays constant on inputs of any size.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import count
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_fns: dict[int, Callable[[Any], Any]] = {}  # set before fork, inherited by the workers
_keys = count()


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, e.g. under taskset or a container's cpuset),
    not every core of the machine."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def threads_setting() -> int | None:
    """The TKIT_THREADS environment variable as a number of threads, None when it is unset or not a number."""
    env = os.environ.get("TKIT_THREADS", "")
    return int(env) if env.isdigit() else None


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


def auto_processes(size: int, min_bytes: int, task_bytes: int) -> int:
    """Processes for an input of `size` bytes cut into tasks of about `task_bytes`: one below `min_bytes`
    (starting a pool costs more than it saves there), else one per usable core, but no more than there are
    tasks to share out."""
    if size < min_bytes:
        return 1
    return max(1, min(usable_cores(), -(-size // max(task_bytes, 1))))


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the parent (which stops the pool) and dies silently when the pool is
    terminated, instead of printing a traceback each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _call(key: int, item: Any) -> Any:
    return _fns[key](item)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], processes: int) -> Iterator[R]:
    """`map(fn, items)` over `processes` forked workers, in input order, with at most 2 * processes items in
    flight. Runs here when processes <= 1 or the platform cannot fork."""
    if processes <= 1 or not can_fork():
        yield from map(fn, items)
        return
    key = next(_keys)
    _fns[key] = fn
    pool = mp.get_context("fork").Pool(processes, initializer=_quiet_worker)
    try:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(_call, (key, item)))
            if len(pending) >= 2 * processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
    finally:
        # Even on Ctrl-C or SIGTERM, let the few tasks in flight finish rather than terminate(): a worker
        # killed while reading its next task keeps the queue's lock, and terminate() then waits for it forever.
        pool.close()
        pool.join()
        _fns.pop(key, None)
