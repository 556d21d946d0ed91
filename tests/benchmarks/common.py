"""Helpers the benchmark files share: how a peer is imported, and where the figures of a benchmark go.

Every benchmark puts its figures into pytest-benchmark's `extra_info` (ours and the peer's, measured in the same
run); `make bench` writes them to JSON and `tests/benchmarks/report.py` turns that JSON into the README's table.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tests.peers import require_peer


def peer(name: str) -> ModuleType:
    """Import a peer library: a missing one skips outside CI and fails under CI=true (tests/peers.py)."""
    return require_peer(name)


def best_of(rounds: int, fn: Callable[[], Any], warmup: int = 1,
            setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """(minimum wall seconds over `rounds` timed calls of `fn` after `warmup` untimed ones, the last result).
    With `setup`, fn is called as fn(setup()) and setup is not timed: the same protocol as
    `benchmark.pedantic(fn, setup=..., rounds=..., warmup_rounds=...)`, for the side of a comparison that is
    not the benchmark fixture's."""
    times, result = [], None
    for i in range(warmup + rounds):
        args = (setup(),) if setup else ()
        start = time.perf_counter()
        result = fn(*args)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return min(times), result


def record(benchmark, **figures: Any) -> None:
    """Figures into the benchmark's extra_info (floats rounded to 6 significant digits) and printed (-s)."""
    clean = {k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in figures.items()}
    benchmark.extra_info.update(clean)
    print("\n" + "  ".join(f"{k}={v}" for k, v in clean.items()))
