"""A few threads for NumPy work that releases the GIL, each a plain loop when threads are off (TKIT_THREADS=1):
- `ordered_thread_map`: an ordered map (formatting ARPA chunks, loading the orders of a batch). Items are
  submitted as the consumer takes results, at most 2 * workers in flight, and results come back in input order,
  so memory stays a few items whatever the input's length;
- `prefetched`: an iterator run one item ahead in a background thread (encoding the next chunk while the
  caller counts this one);
- `prefetched_within`: loads run ahead in a background thread as long as the items alive (loaded, or held by
  the caller) weigh at most a budget together (the next batch of n-grams while the caller estimates this one);
- `Background`: calls run in order by one background thread, a bounded number waiting (writing the last
  chunk's tables while the next one is counted).
Errors in a thread surface in the caller, at its next step.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Full, Queue
from threading import Condition, Event, Thread
from typing import Any, TypeVar

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


_DONE = object()  # the end of a prefetched iterator


def prefetched(items: Iterable[T], ahead: int = 1) -> Iterator[T]:
    """The items, in order, produced up to `ahead` items before the caller asks for them by a background thread
    (at most ahead + 2 items alive at once: the caller's, `ahead` queued and one the thread is producing)."""
    if thread_workers() == 1:
        yield from items
        return
    ready: Queue[Any] = Queue(maxsize=ahead)
    stop = Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except Full:  # look again whether the consumer is gone
                        continue
                if stop.is_set():
                    return
            ready.put(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            ready.put(error)

    worker = Thread(target=produce, name="tkit-prefetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to put, then let it finish its current item
            while not ready.empty():
                ready.get_nowait()
            worker.join(timeout=0.1)


def prefetched_within(loads: Iterable[tuple[int, Callable[[], T]]], budget: int) -> Iterator[T]:
    """load() for each (weight, load), in order, run ahead by a background thread while the items alive weigh at
    most `budget` together. An item is alive from its load until the caller asks for the next one; an item
    heavier than `budget` is loaded alone."""
    if thread_workers() == 1:
        for _, load in loads:
            yield load()
        return
    gate = Condition()
    alive = 0  # the weight loaded or held by the caller
    stop = False

    def admitted(weight: int) -> bool:
        nonlocal alive
        with gate:
            gate.wait_for(lambda: stop or alive == 0 or alive + weight <= budget)
            alive += weight
            return not stop

    def items() -> Iterator[tuple[int, T]]:
        for weight, load in loads:
            if not admitted(weight):
                return
            yield weight, load()

    ahead = prefetched(items())
    try:
        for weight, item in ahead:
            yield item
            with gate:  # the caller is done with the item
                alive -= weight
                gate.notify_all()
    finally:
        with gate:  # wake a producer waiting for room, before waiting for it to end
            stop = True
            gate.notify_all()
        ahead.close()  # type: ignore[attr-defined]


class Background:
    """Calls run in submission order by one background thread, at most `waiting` of them queued; `close` waits
    for them all and raises the first error (a failed call also stops the next `submit`)."""

    def __init__(self, waiting: int = 1) -> None:
        self.waiting = waiting
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="tkit-background") if thread_workers() > 1 else None
        self.pending: deque[Future[Any]] = deque()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.pool is None:
            fn(*args)
            return
        while self.pending and (self.pending[0].done() or len(self.pending) >= self.waiting):
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(fn, *args))

    def close(self) -> None:
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            for future in self.pending:
                future.cancel()
            if self.pool is not None:
                self.pool.shutdown(wait=True)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
