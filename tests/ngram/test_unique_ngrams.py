"""`unique_ngrams` (packed sort, or the wide keys' argsort) against its plain twin `unique_ngrams_reference`
(np.unique): distinct keys, counts (weighted or not), first occurrences mapped through `at`, and the rank of
every position, on generated keys both narrow enough to pack with a position and too wide for it."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.counting import unique_ngrams, unique_ngrams_reference


@settings(max_examples=80, deadline=None)
@given(data=st.data(), wide=st.booleans(), weighted=st.booleans(), ranked=st.booleans(), mapped=st.booleans(),
       block=st.sampled_from([3, 64, 1 << 20]))
def test_unique_ngrams_equals_its_plain_twin(data, wide, weighted, ranked, mapped, block):
    where = np.array(data.draw(st.lists(st.booleans(), min_size=1, max_size=300)), dtype=bool)
    m = int(where.sum())
    distinct = data.draw(st.integers(1, 40))
    base = np.uint64(1 << 58) if wide else np.uint64(977)  # wide: a key from 1 << 58 and a position need > 64 bits
    keys = np.array(data.draw(st.lists(st.integers(0, distinct - 1), min_size=m, max_size=m)),
                    dtype=np.uint64) * base + np.uint64(5)
    weights = np.array(data.draw(st.lists(st.integers(0, 9), min_size=where.size, max_size=where.size)),
                       dtype=np.int64) if weighted else None
    at = np.arange(where.size, dtype=np.int64)[::-1].copy() if mapped else None
    ranks = [np.full(where.size, -1, dtype=np.int32) if ranked else None for _ in range(2)]
    got = unique_ngrams(keys.copy(), where, ranks[0], weights, block=block, at=at)  # it may overwrite its keys
    want = unique_ngrams_reference(keys.copy(), where, ranks[1], weights, at=at)
    if m == 0:
        assert got[0].size == 0 and got[1].size == 0
        return
    for g, w in zip(got, want):
        assert np.array_equal(g, w)
    if ranked:
        assert np.array_equal(ranks[0], ranks[1])
