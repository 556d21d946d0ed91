"""The one process pool: ordered results, closures inherited by fork, affinity-based core counts."""
from __future__ import annotations

import os

import pytest

from tokenizers_kit import parallel, pool


def test_ordered_map_keeps_input_order_and_runs_closures() -> None:
    offset = 7  # a closure: not picklable, inherited by the forked workers
    out = list(pool.ordered_map(lambda x: (x + offset, os.getpid()), range(40), processes=2))
    assert [x for x, _ in out] == [x + 7 for x in range(40)]
    if pool.can_fork():
        assert os.getpid() not in {pid for _, pid in out}


def test_one_process_runs_here() -> None:
    assert [pid for pid in pool.ordered_map(lambda _: os.getpid(), range(3), processes=1)] == [os.getpid()] * 3


def test_usable_cores_follow_the_affinity_mask() -> None:
    assert parallel.usable_cores is pool.usable_cores  # the CLI and neural/ import it from parallel
    if hasattr(os, "sched_getaffinity"):
        assert pool.usable_cores() == len(os.sched_getaffinity(0))
    assert pool.usable_cores() >= 1


@pytest.mark.parametrize("size, expected", [(0, 1), (99, 1), (100, 10), (250, 25), (10**9, 64)])
def test_auto_processes(monkeypatch: pytest.MonkeyPatch, size: int, expected: int) -> None:
    """Small inputs stay in one process; big ones get every core, but no more processes than tasks."""
    monkeypatch.setattr(pool, "usable_cores", lambda: 64)
    assert pool.auto_processes(size, 100, 10) == expected
