"""The helper process of `neural.row_procs`: `python -m neural.row_worker FD`.

Loop: receive a JSON message (and any new memfds) on the socket FD, map the arrays it names, run the named
`neural.rnn_math` kernel on its rows, reply b"ok" (or b"error: ..."). Exits when the parent's end closes.
"""
from __future__ import annotations

import json
import mmap
import os
import signal
import socket
import sys

import numpy as np

from neural import rnn_math
from neural.alloc import keep_freed_memory
from neural.row_procs import MSG_MAX


def _array(desc: dict, maps: dict[int, mmap.mmap], lo: int, hi: int):
    if "value" in desc:
        return desc["value"]
    a = np.ndarray(tuple(desc["shape"]), dtype=np.dtype(desc["dtype"]), buffer=maps[desc["seg"]],
                   offset=desc["offset"], strides=tuple(desc["strides"]))
    axis = desc["axis"]
    return a if axis is None else a[(slice(None),) * axis + (slice(lo, hi),)]


def serve(sock: socket.socket) -> None:
    maps: dict[int, mmap.mmap] = {}
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, MSG_MAX, 16)
        except OSError:
            return
        if not msg:
            return  # the parent is gone
        try:
            task = json.loads(msg)
            for key, size, fd in zip(task["new"], task["sizes"], fds):
                maps[key] = mmap.mmap(fd, size)
                os.close(fd)
            kernel = getattr(rnn_math, task["kernel"])
            lo, hi = task["lo"], task["hi"]
            kernel(*(_array(d, maps, lo, hi) for d in task["args"]))
            reply = b"ok"
        except Exception as e:  # reported to the parent, which raises it
            reply = f"error in the row helper: {type(e).__name__}: {e}".encode()[:MSG_MAX]
        try:
            sock.send(reply)
        except OSError:
            return


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the trainer's to handle
    keep_freed_memory()                            # the kernels' scratch arrays: no page faults per call
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
