"""Run Python code in a child process under an address-space limit and a timeout, and report how it ended:
for tests that a hostile input is refused in bounded memory and time (robust on 2 cores, unlike timing
in-process)."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GiB = 1 << 30


@dataclass
class Limited:
    code: int
    out: str
    err: str
    seconds: float


def run_limited(code: str, *args: str, memory: int = 3 * GiB // 2, timeout: float = 60.0) -> Limited:
    """`python -c code args...` with RLIMIT_AS = memory; a timeout fails the test via TimeoutExpired."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1"}  # each BLAS thread reserves address space of its own
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit, env=env, cwd=ROOT)
    return Limited(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


# Loads each model named on the command line; prints one JSON line per file: how loading ended ("ok" or the
# exception's class), its message, the seconds it took and the peak resident memory so far. Any exception is caught so that one escape does not
# hide the others: the test decides what is allowed.
LOAD_MODELS = """
import json, resource, sys, time
from ngram import load_ngram
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        load_ngram(path)
        outcome, message = "ok", ""
    except Exception as err:
        outcome, message = type(err).__name__, str(err)
    print(json.dumps({"path": path, "outcome": outcome, "message": message,
                      "seconds": time.perf_counter() - start,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""
