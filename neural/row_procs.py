"""Run a recurrence's row ranges in helper PROCESSES, on arrays in shared memory.

Why not threads (`neural.rnn_threads`): a recurrence step is one small GEMM and about ten NumPy calls on
(16, 256) blocks, and every one of those calls releases and retakes the GIL. With two threads looping side
by side, each keeps waiting for the other to hand the GIL back, and on this VM every such wake-up crosses
cores. Measured on the 2-core machine (LSTM, H 256, T 64, 16 rows per worker): the forward loop takes
5.5 ms alone, 7.7 ms in each of two threads, 5.6-5.7 ms in each of two processes; the backward 6.1 ms
alone, 8.6 ms in threads.

How: arrays the kernels touch are allocated in shared memory (`shared_empty`: one Linux memfd each, pooled
by `rnn_math.WORKSPACE`, so a training step reuses the same few). `run_rows_shared(kernel, n_rows, args)`
sends each helper a short JSON message naming the kernel (a function of `neural.rnn_math`), where each
array lies (the memfd, passed once with SCM_RIGHTS, offset, shape, strides) and its row range; the calling
process runs the first range itself, then waits for the helpers' replies. A kernel call costs two socket
messages per helper; the results are bit-identical to the threaded run (same code, same rows, one BLAS
thread each).

Helpers start on first use (`python -m neural.row_worker`, ~0.2 s) and exit with the parent (their socket
closes). They ignore SIGINT, so Ctrl-C reaches only the trainer. Anything unusual (not Linux, an array not
in shared memory, TKIT_PROCS=0, a helper that died) falls back to the threads, which compute the same.
"""
from __future__ import annotations

import atexit
import json
import mmap
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from neural import rnn_threads

RowArg = tuple[np.ndarray, "int | None"]   # (array, the axis its rows lie on; None: passed whole)
MSG_MAX = 1 << 16


def available() -> bool:
    """Process helpers can be used here: Linux memfds and fd passing, two or more workers, not disabled."""
    return (hasattr(os, "memfd_create") and hasattr(socket, "send_fds") and sys.platform.startswith("linux")
            and os.environ.get("TKIT_PROCS", "") != "0" and rnn_threads.workers() >= 2)


# ---- shared arrays ------------------------------------------------------------------------------------------
class _Segment:
    """One memfd and its mapping; `key` names it in messages."""

    _next = 0

    def __init__(self, nbytes: int) -> None:
        self.nbytes = max(nbytes, 1)
        self.fd = os.memfd_create("tkit-rows", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.nbytes)
        self.map = mmap.mmap(self.fd, self.nbytes)
        _Segment._next += 1
        self.key = _Segment._next
        self.address = 0


_segments: dict[int, _Segment] = {}   # id(mmap) -> segment; mappings live as long as the process


def shared_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """np.empty in shared memory (its own memfd): the helpers can map it."""
    dtype = np.dtype(dtype)
    seg = _Segment(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
    _segments[id(seg.map)] = seg
    arr = np.ndarray(shape, dtype=dtype, buffer=seg.map)  # its base is the mmap: views of it point at arr
    seg.address = arr.__array_interface__["data"][0]
    return arr


def _segment_of(a: np.ndarray) -> _Segment | None:
    base = a
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return _segments.get(id(base))


def in_shared_memory(a: np.ndarray) -> bool:
    return _segment_of(a) is not None


def _describe(a: np.ndarray, seg: _Segment) -> dict:
    return {"seg": seg.key, "offset": a.__array_interface__["data"][0] - seg.address, "shape": list(a.shape),
            "strides": list(a.strides), "dtype": a.dtype.str}


# ---- the helpers ----------------------------------------------------------------------------------------------
class _Helper:
    """One helper process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TKIT_PROCS="0",
                   PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                               os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "neural.row_worker", str(theirs.fileno())],
                                     pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.sent: set[int] = set()   # segment keys the helper has mapped

    def send(self, kernel: str, args: Sequence[RowArg], lo: int, hi: int) -> None:
        descs, new = [], {}                   # new: segments the helper has not mapped yet, by key
        for a, axis in args:
            if not isinstance(a, np.ndarray):
                descs.append({"value": a})
                continue
            seg = _segment_of(a)
            assert seg is not None
            if seg.key not in self.sent:
                new[seg.key] = seg
            descs.append({**_describe(a, seg), "axis": axis})
        msg = json.dumps({"kernel": kernel, "args": descs, "lo": lo, "hi": hi, "new": list(new),
                          "sizes": [seg.nbytes for seg in new.values()]}).encode()
        socket.send_fds(self.sock, [msg], [seg.fd for seg in new.values()])
        self.sent.update(new)

    def wait(self) -> None:
        reply = self.sock.recv(MSG_MAX)
        if reply != b"ok":
            raise RuntimeError(reply.decode(errors="replace") or "the row helper process exited")

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_helpers: list[_Helper] = []
_lock = threading.Lock()
_state = {"broken": False}
stats = {"calls": 0}   # kernel calls that ran in helper processes (for tests and benchmarks)


def _get_helpers(n: int) -> list[_Helper] | None:
    if _state["broken"]:
        return None
    while len(_helpers) < n:
        try:
            _helpers.append(_Helper())
        except OSError:
            _state["broken"] = True
            return None
    return _helpers[:n]


def _shutdown() -> None:
    for h in _helpers:
        h.close()
    _helpers.clear()


atexit.register(_shutdown)


def _slice(a, axis: int | None, lo: int, hi: int):
    if axis is None or not isinstance(a, np.ndarray):
        return a
    return a[(slice(None),) * axis + (slice(lo, hi),)]


def run_rows_shared(kernel: Callable[..., None], n_rows: int, args: Sequence[RowArg]) -> None:
    """kernel(*args, each array cut to rows [lo, hi) along its axis) over ranges covering [0, n_rows):
    the ranges after the first in helper processes when every array is in shared memory, else in threads
    (`rnn_threads.run_rows`). `kernel` must be a module-level function of `neural.rnn_math`."""
    def local(lo: int, hi: int) -> None:
        kernel(*(_slice(a, axis, lo, hi) for a, axis in args))

    k = min(rnn_threads.workers(), n_rows // rnn_threads.MIN_ROWS)
    arrays_shared = all(_segment_of(a) is not None for a, _ in args if isinstance(a, np.ndarray))
    if k < 2 or not arrays_shared or not available() or threading.current_thread() is not threading.main_thread():
        rnn_threads.run_rows(n_rows, local)
        return
    with _lock:
        helpers = _get_helpers(k - 1)
        if helpers is None:
            rnn_threads.run_rows(n_rows, local)
            return
        bounds = rnn_threads.split_bounds(n_rows, k)
        name = kernel.__name__
        try:
            for h, (lo, hi) in zip(helpers, bounds[1:]):
                h.send(name, args, lo, hi)
        except OSError:
            _fail()
            rnn_threads.run_rows(n_rows, local)
            return
        stats["calls"] += 1
        error: BaseException | None = None
        try:
            local(*bounds[0])
        except BaseException as e:  # still collect the helpers' replies: they use the same arrays
            error = e
        try:
            for h in helpers:
                h.wait()
        except BaseException:
            _fail()  # a helper died or we were interrupted mid-wait: start afresh next time
            raise
        if error is not None:
            raise error


def _fail() -> None:
    """Drop every helper (their state is unknown); later calls start new ones."""
    for h in _helpers:
        h.proc.kill()
        h.sock.close()
    _helpers.clear()
