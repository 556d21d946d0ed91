"""A small pool of worker threads for the parallel parts of a training step.

Why threads help: NumPy's elementwise ops run on one core and the GEMMs of a small model are too small for
the BLAS to scale, so a step leaves cores idle. Independent slices of the work (the rows of a batch, the
columns of a product, the parameters of an optimizer update) go to k threads instead; NumPy releases the
GIL inside ufunc loops and BLAS calls, so they run truly in parallel, and the Python between the calls is
a few microseconds per op.

Inside a parallel region every thread uses ONE BLAS thread (`neural.blas_control`), or the BLAS's own
pool would oversubscribe the cores. A training step keeps the BLAS pool out of the calling thread
altogether (`single_blas()`): after a multi-threaded GEMM its idle workers spin for a while and take the
cores the recurrence threads need; the few big GEMMs of a step are split across our workers instead
(`par_matmul`).

`TKIT_THREADS=N` sets the number of workers (1: everything serial). Results can differ in the last bit
between settings, because BLAS may sum in another order for a different number of rows; for a fixed setting
they are deterministic.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from neural.blas_control import control, init_worker_thread, one_blas_thread
from tokenizers_kit.pool import threads_setting, usable_cores

MIN_ROWS = 8              # fewer rows per thread than this is not worth a thread
MAX_WORKERS = 4
PAR_MIN_FLOPS = 1 << 22   # smaller products stay in the calling thread


def workers() -> int:
    """Threads a parallel region may use: TKIT_THREADS, else the cores this process may run on (at most
    MAX_WORKERS); 1 when the BLAS's thread count can't be controlled (threads would oversubscribe)."""
    setting = threads_setting()
    n = setting if setting is not None else min(usable_cores(), MAX_WORKERS)
    return n if n >= 2 and control().known else 1


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="tkit-worker",
                                       initializer=init_worker_thread)
        return _pool


def split_bounds(size: int, k: int) -> list[tuple[int, int]]:
    """k contiguous (lo, hi) ranges covering [0, size), as equal as can be."""
    bounds = np.linspace(0, size, k + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def run_parallel(tasks: list[Callable[[], object]]) -> list[object]:
    """Run the tasks in parallel, one BLAS thread each: the first in the calling thread (which would only
    wait otherwise), the others in the worker threads. Returns their results in order; the first exception
    raised by a task is re-raised here, after all of them have finished."""
    if not tasks:
        return []
    pool = _get_pool()
    with one_blas_thread():
        futures = [pool.submit(task) for task in tasks[1:]]
        try:
            first, error = tasks[0](), None
        except BaseException as exc:  # noqa: BLE001 - re-raised below, once the workers are done
            first, error = None, exc
        for f in futures:
            f.exception()  # wait for every task before raising, so no worker still uses shared arrays
    if error is not None:
        raise error
    return [first, *(f.result() for f in futures)]


def _run_chunks(size: int, k: int, fn: Callable[[int, int], object]) -> None:
    run_parallel([lambda lo=lo, hi=hi: fn(lo, hi) for lo, hi in split_bounds(size, k)])


def run_rows(n_rows: int, fn: Callable[[int, int], None]) -> None:
    """fn(lo, hi) over row ranges covering [0, n_rows): in parallel threads when there are rows enough
    (at least MIN_ROWS each), else once in the calling thread."""
    k = min(workers(), n_rows // MIN_ROWS)
    if k < 2:
        fn(0, n_rows)
        return
    _run_chunks(n_rows, k, fn)


def par_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b (2-D) with the rows of a, or the columns of b if there are more of them, split across the
    workers."""
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


@contextlib.contextmanager
def single_blas() -> Iterator[None]:
    """One BLAS thread for the calling thread inside the block, when the workers are in use."""
    if workers() < 2:
        yield
        return
    with one_blas_thread():
        yield
