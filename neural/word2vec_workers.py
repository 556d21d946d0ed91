"""Hogwild workers for word2vec: forked processes that update weight tables in shared memory.

Why processes: the batched kernel's scatter-add (`np.add.at`) holds the GIL, so threads would take turns;
forked processes share the tables through an anonymous shared mapping (no copies, no pickling) and run truly
in parallel, as gensim's nogil threads do. Each worker adds its progress to a shared counter that the parent
reads for the progress bar. Ctrl-C or SIGTERM in the parent stops the workers (they exit at once, without a
traceback) and propagates; a worker that fails makes the parent raise a one-line TkitError. Where `fork` is
not available the workers run one after another in the calling process.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import time
from collections.abc import Callable

import numpy as np

from tokenizers_kit.errors import TkitError

POLL_SECONDS = 0.05


def shared_tables(count: int, shape: tuple[int, int], dtype: type = np.float32) -> list[np.ndarray]:
    """`count` zeroed arrays of `shape` in anonymous shared memory (seen by processes forked later)."""
    item = np.dtype(dtype).itemsize
    return [np.frombuffer(mmap.mmap(-1, max(1, shape[0] * shape[1] * item)), dtype=dtype,
                          count=shape[0] * shape[1]).reshape(shape) for _ in range(count)]


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _child(work: Callable[[int, Callable[[float], None]], None], rank: int, counters: np.ndarray) -> None:
    """A worker's body: run, count progress, and leave with os._exit (no atexit, no traceback on Ctrl-C)."""
    code = 1
    try:
        def tell(words: float) -> None:
            counters[rank] += words

        work(rank, tell)
        code = 0
    except BaseException:  # noqa: BLE001 -- the parent reports a failed worker by its exit code
        code = 1
    finally:
        os._exit(code)


def run_workers(work: Callable[[int, Callable[[float], None]], None], workers: int,
                on_words: Callable[[float], None]) -> None:
    """Run work(rank, tell) for rank 0..workers-1 in parallel; tell(n) reports progress to `on_words`."""
    if not _can_fork():
        for rank in range(workers):
            work(rank, on_words)
        return
    counters = shared_tables(1, (1, workers), np.float64)[0][0]
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_child, args=(work, rank, counters), daemon=True) for rank in range(workers)]
    reported = 0.0
    try:
        for proc in procs:
            proc.start()
        while any(proc.is_alive() for proc in procs):
            time.sleep(POLL_SECONDS)
            done = float(counters.sum())
            on_words(done - reported)
            reported = done
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
    on_words(float(counters.sum()) - reported)
    failed = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if failed:
        raise TkitError(f"a word2vec worker process failed (exit code {failed[0]}): retry with --workers 1 "
                        "to see the error")
