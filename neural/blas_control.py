"""How many threads the BLAS that NumPy loaded may use, per calling thread where the library allows it.

The parallel regions of a training step (`neural.thread_pool`) run k Python threads that each call BLAS on
a slice of the work; each of them, and the calling thread, wants ONE BLAS thread there, or the BLAS's own
pool oversubscribes the cores and its idle workers spin on the cores the Python threads need.

threadpoolctl finds the library (its file, internal API and symbol naming: NumPy's wheels ship
scipy-openblas with `scipy_` prefixes and `64_` suffixes); the symbols are then resolved once with ctypes,
so entering and leaving a region costs a few microseconds. Two cases:

* the library has a per-thread setter (OpenBLAS >= 0.3.27 built with `openblas_set_num_threads_local`, or
  an OpenMP-threaded BLAS, whose `omp_set_num_threads` is per thread): each worker sets 1 for itself once,
  the calling thread sets 1 for the duration of a region and restores its value after;
* it has only a process-wide setter (the scipy-openblas that NumPy 2.5 ships, MKL, BLIS, ...): the first
  region entered sets the process-wide count to 1 and the last one left restores it (a counter under a
  lock, so nested and concurrent regions compose).

Without a BLAS that threadpoolctl knows, or without threadpoolctl, nothing is controlled and
`control().known` is False: the thread pool then stays serial rather than oversubscribe.
"""
from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

_PREFIXES, _SUFFIXES = ("", "scipy_"), ("", "64_", "_64")   # OpenBLAS symbol naming, as threadpoolctl's


@dataclass(frozen=True)
class BlasControl:
    """The loaded BLAS and the setters found in it (None where the library has none)."""

    filepath: str | None
    internal_api: str | None
    set_local: Callable[[int], Any] | None    # this thread only
    get_local: Callable[[], int] | None       # this thread's count, where set_local does not return it
    set_global: Callable[[int], Any] | None   # the whole process
    get_global: Callable[[], int] | None

    @property
    def known(self) -> bool:
        """True if BLAS threads can be limited at all (per thread or process-wide)."""
        return self.set_local is not None or (self.set_global is not None and self.get_global is not None)

    @property
    def per_thread(self) -> bool:
        return self.set_local is not None


def _numpy_blas(infos: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The BLAS entry NumPy loaded: the one inside NumPy's wheel directories, else the first BLAS."""
    blas = [i for i in infos if i.get("user_api") == "blas"]
    roots = [os.path.dirname(os.path.abspath(np.__file__))]
    roots.append(roots[0] + ".libs")                                     # numpy.libs beside numpy/
    for info in blas:
        path = os.path.abspath(info.get("filepath") or "")
        if any(path.startswith(root + os.sep) for root in roots):
            return info
    return blas[0] if blas else None


def _cfunc(lib: ctypes.CDLL, names: list[str], argtypes: list, restype) -> Callable | None:
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.argtypes, fn.restype = argtypes, restype
            return fn
    return None


def _openblas_names(base: str) -> list[str]:
    return [f"{p}{base}{s}" for p, s in itertools.product(_PREFIXES, _SUFFIXES)]


def _find() -> BlasControl:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return BlasControl(None, None, None, None, None, None)
    controller = ThreadpoolController()
    info = _numpy_blas(controller.info())
    if info is None:
        return BlasControl(None, None, None, None, None, None)
    path, api = info["filepath"], info.get("internal_api")
    if api == "openblas":
        lib = ctypes.CDLL(path)
        int_ = ctypes.c_int
        if info.get("threading_layer") == "openmp":                      # omp_set_num_threads: per thread
            local = _cfunc(lib, ["omp_set_num_threads"], [int_], None)
            get_local = _cfunc(lib, ["omp_get_max_threads"], [], int_)
            local = local if get_local is not None else None
        else:                                                            # returns the previous count
            local = _cfunc(lib, _openblas_names("openblas_set_num_threads_local"), [int_], int_)
            get_local = None
        set_global = _cfunc(lib, _openblas_names("openblas_set_num_threads"), [int_], None)
        get_global = _cfunc(lib, _openblas_names("openblas_get_num_threads"), [], int_)
        return BlasControl(path, api, local, get_local, set_global, get_global)
    # other BLAS (MKL, BLIS, FlexiBLAS, ...): threadpoolctl's own process-wide setter and getter
    lib_ctl = next((c for c in controller.lib_controllers if c.filepath == path), None)
    if lib_ctl is None:
        return BlasControl(path, api, None, None, None, None)
    return BlasControl(path, api, None, None, lib_ctl.set_num_threads, lib_ctl.get_num_threads)


@lru_cache(maxsize=1)
def control() -> BlasControl:
    """The loaded BLAS's controls, looked up once per process."""
    return _find()


# ---- process-wide limit, shared by every region that is open -----------------------------------------------
_lock = threading.Lock()
_open = 0                 # regions open in any thread
_saved: int | None = None  # the count before the first of them


def _enter_global(ctl: BlasControl) -> None:
    global _open, _saved
    with _lock:
        if _open == 0:
            _saved = ctl.get_global()                                    # type: ignore[misc]
            if _saved != 1:
                ctl.set_global(1)                                        # type: ignore[misc]
        _open += 1


def _leave_global(ctl: BlasControl) -> None:
    global _open
    with _lock:
        _open -= 1
        if _open == 0 and _saved is not None and _saved != 1:
            ctl.set_global(_saved)                                       # type: ignore[misc]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS calls of this thread (and, where only a process-wide setting exists, of every thread) use one
    BLAS thread inside the block; the previous setting is restored after."""
    ctl = control()
    if ctl.set_local is not None:
        previous = ctl.get_local() if ctl.get_local is not None else None
        returned = ctl.set_local(1)
        try:
            yield
        finally:
            ctl.set_local(previous if previous is not None else returned)
        return
    if not ctl.known:
        yield
        return
    _enter_global(ctl)
    try:
        yield
    finally:
        _leave_global(ctl)


def init_worker_thread() -> None:
    """For a worker thread that runs only parallel-region work: one BLAS thread for good, where the
    library has a per-thread setter (elsewhere the regions' process-wide limit covers the workers)."""
    ctl = control()
    if ctl.set_local is not None:
        ctl.set_local(1)
