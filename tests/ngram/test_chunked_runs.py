"""A chunk's sorted run (`count_run`, sorted in the chunk's tightest packing) equals sorting the 32-bit packing
itself: generated windows of orders 1..8 with ids up to 2**bits - 1 for bits 1..31 (one to five key words)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.chunked_counts import count_run, pack_ids32
from ngram.packing import unique_counts


@given(st.integers(1, 8), st.integers(1, 31), st.integers(0, 300), st.integers(0, 2**32 - 1))
@settings(max_examples=120, deadline=None)
def test_count_run_equals_sorting_the_32_bit_keys(order, bits, size, seed):
    rng = np.random.default_rng(seed)
    top = int(rng.integers(1, 2**bits, endpoint=True))
    rows = rng.integers(0, top, size=(size, order)).astype(np.int32)
    rows[size // 2:] = rows[:size - size // 2]  # repeats, so counts above 1 occur
    keys, counts = count_run(rows)
    want_keys, want_counts = unique_counts(pack_ids32(rows))
    assert np.array_equal(keys, want_keys)
    assert np.array_equal(counts, want_counts)
