"""`unique_ngrams` (a packed sort; keys a few bits too wide split by their top bits; wider keys by an argsort)
against its plain twin `unique_ngrams_reference` (np.unique): distinct keys, counts (weighted or not), first
occurrences mapped through `at`, and the rank of every position, on generated keys of every width."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.counting import unique_ngrams, unique_ngrams_reference, unique_ngrams_wide


@settings(max_examples=150, deadline=None)
@given(data=st.data(), key_shift=st.sampled_from([0, 20, 50, 54, 55, 56, 57, 58]), weighted=st.booleans(),
       ranked=st.booleans(), mapped=st.booleans(), block=st.sampled_from([3, 64, 1 << 20]),
       direct_wide=st.booleans())
def test_unique_ngrams_equals_its_plain_twin(data, key_shift, weighted, ranked, mapped, block, direct_wide):
    """Keys are k << key_shift (+ a low constant), k < 64: with up to 300 positions (9 bits), shifts from 50 on
    make keys and positions need more than 64 bits, by 1 to 9 bits (split or argsort)."""
    where = np.array(data.draw(st.lists(st.booleans(), min_size=1, max_size=300)), dtype=bool)
    m = int(where.sum())
    if m == 0:
        return
    distinct = data.draw(st.integers(1, 64))
    keys = np.array(data.draw(st.lists(st.integers(0, distinct - 1), min_size=m, max_size=m)),
                    dtype=np.uint64) << np.uint64(key_shift)
    keys += np.uint64(5)
    weights = np.array(data.draw(st.lists(st.integers(0, 9), min_size=where.size, max_size=where.size)),
                       dtype=np.int64) if weighted else None
    at = np.arange(where.size, dtype=np.int64)[::-1].copy() if mapped else None
    ranks = [np.full(where.size, -1, dtype=np.int32) if ranked else None for _ in range(2)]
    if direct_wide:
        got = unique_ngrams_wide(keys.copy(), where, ranks[0], weights, at=at)
    else:
        got = unique_ngrams(keys.copy(), where, ranks[0], weights, block=block, at=at)  # it overwrites its keys
    want = unique_ngrams_reference(keys.copy(), where, ranks[1], weights, at=at)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)
    if ranked:
        assert np.array_equal(ranks[0], ranks[1])
