"""The background threads of the bounded pipeline (ngram.threaded): items come in order, errors reach the
caller, a consumer that stops early ends the thread, and loads run ahead only within their budget."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.threaded import Background, prefetched, prefetched_within


def no_helper_threads() -> bool:
    """No prefetching or background thread is left running (they end with their iterator or block)."""
    return not any(t.name.startswith(("tkit-prefetch", "tkit-background")) for t in threading.enumerate())


@pytest.fixture(params=["1", "2"])
def threads(request, monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", request.param)
    return int(request.param)


@given(items=st.lists(st.integers(), max_size=50), ahead=st.integers(1, 3))
def test_prefetched_keeps_order(items, ahead):
    assert list(prefetched(iter(items), ahead)) == items


def test_prefetched_runs_ahead_raises_in_order_and_stops_early(threads):
    ran_ahead = threading.Event()

    def produce():
        yield 0
        ran_ahead.set()  # the producer reaches item 1 while the caller still holds item 0
        yield 1
        raise ValueError("item 2")

    got = []
    with pytest.raises(ValueError, match="item 2"):
        for item in prefetched(produce()):
            if item == 0 and threads > 1:
                assert ran_ahead.wait(10)
            got.append(item)
    assert got == [0, 1]
    endless = prefetched(iter(range(10**9)))
    assert [next(endless) for _ in range(3)] == [0, 1, 2]
    endless.close()
    assert no_helper_threads()


@settings(deadline=None, max_examples=40)
@given(weights=st.lists(st.integers(0, 10), max_size=12), budget=st.integers(0, 20))
def test_prefetched_within_loads_in_order_within_the_budget(weights, budget):
    lock = threading.Lock()
    alive = [0]  # loaded and not yet finished by the caller
    admitted = []

    def load(i: int, weight: int):
        with lock:
            admitted.append(alive[0] == 0 or alive[0] + weight <= budget)
            alive[0] += weight
        return i

    loads = [(w, lambda i=i, w=w: load(i, w)) for i, w in enumerate(weights)]
    got = []
    for i in prefetched_within(loads, budget):
        got.append(i)
        with lock:
            alive[0] -= weights[i]
    assert got == list(range(len(weights)))
    assert all(admitted)
    assert no_helper_threads()


def test_prefetched_within_runs_ahead_when_both_fit(threads):
    second_loaded = threading.Event()

    def load(i: int) -> int:
        if i == 1:
            second_loaded.set()
        return i

    for i in prefetched_within([(1, lambda: load(0)), (1, lambda: load(1))], budget=2):
        if i == 0:
            assert second_loaded.wait(10) == (threads > 1)  # loaded while the caller holds item 0
    second_loaded.clear()
    for i in prefetched_within([(2, lambda: load(0)), (1, lambda: load(1))], budget=2):
        if i == 0:
            assert not second_loaded.wait(0.3)  # both do not fit: item 1 waits for the caller to finish item 0


def test_background_runs_in_order_and_raises(threads):
    done = []
    with Background(waiting=2) as background:
        for i in range(20):
            background.submit(done.append, i)
    assert done == list(range(20))

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with Background() as background:
            background.submit(fail)
            for i in range(5):
                background.submit(done.append, i)
    assert no_helper_threads()
