"""The heap thresholds a bounded run sets (ngram.heap): blocks of 1/32 of the budget and more are mapped, never
below 1 MiB nor above 32 MiB, so the heap's reused free blocks cost the budget a few thirty-seconds at most."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ngram.heap import MMAP_FROM, MMAP_FROM_MAX, mmap_threshold


@given(st.integers(1 << 20, 1 << 42), st.integers(1 << 20, 1 << 42))
def test_the_threshold_follows_the_budget_within_its_bounds(a, b):
    small, big = sorted((a, b))
    assert MMAP_FROM <= mmap_threshold(small) <= mmap_threshold(big) <= MMAP_FROM_MAX
    assert mmap_threshold(small) == MMAP_FROM or mmap_threshold(small) <= small // 32


def test_no_budget_keeps_the_smallest_threshold():
    assert mmap_threshold(None) == MMAP_FROM == 1 << 20
    assert mmap_threshold(1 << 30) == 32 << 20
