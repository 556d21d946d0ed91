"""Run a recurrence on slices of the batch in parallel threads.

The B rows of a batch are independent streams, so a time loop over B rows splits into k loops over B/k
rows. NumPy releases the GIL inside ufunc loops and BLAS calls, so k Python threads run truly in parallel
(the rest of a step is a few microseconds of Python per op). Each worker asks OpenBLAS for ONE thread for
its own calls (`openblas_set_num_threads_local`, OpenBLAS >= 0.3.27, which NumPy wheels ship), so the
workers do not oversubscribe the cores with BLAS threads of their own; where that function is not found
(another BLAS), everything stays serial in the calling thread.

Why: NumPy's elementwise ops are single-threaded and the per-step GEMMs are small (B x H by H x 4H), so
BLAS threading alone leaves a core idle most of the loop. Measured on the 2-core machine (LSTM, H 256,
B 32, T 64, forward + backward of the recurrence): 50.6 ms serial with 2 BLAS threads, 38.6 ms in 2 threads.

A training step then keeps OpenBLAS's own thread pool out of the way altogether (`single_blas()` in the
calling thread): after a multi-threaded GEMM, OpenBLAS's idle workers spin for a while and steal the cores
the recurrence threads need. The few big GEMMs of a step (weight gradients) are split across the same
workers instead (`par_matmul`).

The recurrences themselves now run their row ranges in helper processes where they can (`neural.row_procs`:
two threads keep handing each other the GIL, ~10 times a step); this module is their fall-back and still
runs the big GEMMs. `TKIT_THREADS=1` turns both off (results can differ in the last bit between settings,
because BLAS may sum in another order for a different number of rows; for a fixed setting they are
deterministic).
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

MIN_ROWS = 8              # fewer rows per thread than this is not worth a thread
MAX_WORKERS = 4
PAR_MIN_FLOPS = 1 << 22   # smaller products stay in the calling thread


@lru_cache(maxsize=1)
def _blas_set_local() -> Callable[[int], int] | None:
    """OpenBLAS's per-thread thread count setter from the library NumPy loaded, or None."""
    here = os.path.dirname(np.__file__)
    for pattern in ("../numpy.libs/*openblas*", ".libs/*openblas*", "../numpy/.dylibs/*openblas*"):
        for path in glob.glob(os.path.join(here, pattern)):
            try:
                fn = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            return fn
    return None


def workers() -> int:
    """Threads a recurrence may use: TKIT_THREADS, else the CPU count (at most MAX_WORKERS); 1 when the
    BLAS can't be told to stay single-threaded inside a worker."""
    env = os.environ.get("TKIT_THREADS", "")
    n = int(env) if env.isdigit() else min(os.cpu_count() or 1, MAX_WORKERS)
    return n if n >= 2 and _blas_set_local() is not None else 1


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            setter = _blas_set_local()
            _pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="tkit-rnn",
                                       initializer=lambda: setter(1) if setter else None)
        return _pool


def run_rows(n_rows: int, fn: Callable[[int, int], None]) -> None:
    """fn(lo, hi) over row ranges covering [0, n_rows): in parallel threads when there are rows enough,
    else once in the calling thread."""
    k = min(workers(), n_rows // MIN_ROWS)
    if k < 2:
        fn(0, n_rows)
        return
    _run_chunks(n_rows, k, fn)


def par_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b (2-D) with the rows of a, or the columns of b if there are more of them, split across the
    workers (each with single-threaded BLAS)."""
    m, n = a.shape[0], b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b)) if out is None else out
    k = workers()
    if k < 2 or m * n * a.shape[1] < PAR_MIN_FLOPS:
        return np.matmul(a, b, out=out)
    if m >= n:
        _run_chunks(m, k, lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]))
    else:
        _run_chunks(n, k, lambda lo, hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]))
    return out


def split_bounds(size: int, k: int) -> list[tuple[int, int]]:
    """k contiguous (lo, hi) ranges covering [0, size), as equal as can be."""
    bounds = np.linspace(0, size, k + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def run_parallel(tasks: list[Callable[[], object]]) -> list[object]:
    """Run the tasks in the worker threads (single-threaded BLAS each) and return their results in order;
    the first exception raised by a task is re-raised here, after all of them have finished."""
    pool = _get_pool()
    futures = [pool.submit(task) for task in tasks]
    for f in futures:
        f.exception()  # wait for every task before raising, so no worker still uses shared arrays
    return [f.result() for f in futures]


def _run_chunks(size: int, k: int, fn: Callable[[int, int], object]) -> None:
    run_parallel([lambda lo=lo, hi=hi: fn(lo, hi) for lo, hi in split_bounds(size, k)])


@contextlib.contextmanager
def single_blas() -> Iterator[None]:
    """BLAS calls of the calling thread use one thread inside the block (when the workers are in use)."""
    setter = _blas_set_local()
    if setter is None or workers() < 2:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous)
