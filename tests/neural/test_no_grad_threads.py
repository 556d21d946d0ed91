"""`no_grad()` entered and left by several threads in any interleaving (threaded scoring does this) leaves
gradients enabled once every block has closed."""
from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from neural.module import grad_enabled, no_grad


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(8))))
def test_interleaved_blocks_restore_grad(order):
    # 4 blocks opened in order 0..3 (one per thread), closed in the generated order of their close events
    opened = [threading.Event() for _ in range(4)]
    close = [threading.Event() for _ in range(4)]
    closes = [i % 4 for i in order if i < 4] + [i % 4 for i in order if i >= 4]

    def block(i: int) -> None:
        with no_grad():
            opened[i].set()
            close[i].wait(5)

    threads = [threading.Thread(target=block, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for e in opened:
        e.wait(5)
    assert not grad_enabled()
    seen = set()
    for i in closes:
        if i not in seen:
            seen.add(i)
            close[i].set()
            threads[i].join(5)
    assert grad_enabled()


def test_two_threads_overlapping_out_of_order():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a() -> None:
        with no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with no_grad():
            b_in.set()
            a_out.wait(5)  # a leaves first: with a saved flag, b would then restore "disabled"

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    for t in (ta, tb):
        t.start()
    for t in (ta, tb):
        t.join(5)
    assert grad_enabled()
