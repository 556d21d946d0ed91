"""`tables_from_windows` (the --memory path's count tables) against `count_tables` on the same id stream:
generated corpora (sentence lengths 0..15 incl. empty lines, vocabularies of 3..40 ids, orders 1..7), every
order's keys, counts and suffix links equal."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.chunked_counts import pack_ids32, unpack_ids32
from ngram.counting import BOS_ID, EOS_ID, count_tables, padded_windows
from ngram.packing import unique_counts
from ngram.window_tables import tables_from_windows

FIRST_WORD = 3  # ids 0..2 are <unk>, <s>, </s>


@st.composite
def corpora(draw) -> tuple[np.ndarray, int, int]:
    vocab = draw(st.integers(FIRST_WORD + 1, 40))
    word = st.integers(FIRST_WORD, vocab - 1)
    sentences = draw(st.lists(st.lists(word, max_size=15), min_size=1, max_size=25))
    stream = np.concatenate([np.array([BOS_ID, *s, EOS_ID], dtype=np.int32) for s in sentences])
    return stream, vocab, draw(st.integers(1, 7))


@given(corpora())
@settings(max_examples=150, deadline=None)
def test_tables_from_windows_equal_counting_the_stream(corpus):
    stream, vocab, order = corpus
    keys, counts = unique_counts(pack_ids32(padded_windows(stream, order)))
    built = tables_from_windows(unpack_ids32(keys, order), counts, vocab)
    direct = count_tables(stream, order, vocab)
    assert built.order == direct.order == order
    for n in range(1, order + 1):
        assert np.array_equal(built.index.keys[n], direct.index.keys[n]), n
        assert np.array_equal(built.counts[n], direct.counts[n]), n
        if n >= 2:
            assert np.array_equal(built.index.suffix(n), direct.index.suffix(n)), n


@pytest.mark.parametrize("seed", [0, 1])
def test_tables_from_windows_peak_memory_is_a_few_times_the_windows(seed):
    """Building the tables allocates at most a few times the windows' own bytes (tracemalloc sees NumPy's
    allocations); re-counting them as a weighted stream took more than twice this bound."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 20, size=8000)
    words = (rng.zipf(1.3, size=int(lengths.sum())) % 3000 + FIRST_WORD).astype(np.int32)
    stream = np.concatenate([np.array([BOS_ID, *s, EOS_ID], dtype=np.int32)
                             for s in np.split(words, np.cumsum(lengths)[:-1])])
    keys, counts = unique_counts(pack_ids32(padded_windows(stream, 5)))
    rows = unpack_ids32(keys, 5)
    tracemalloc.start()
    try:
        tables_from_windows(rows, counts, 3000 + FIRST_WORD)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 5 * (rows.nbytes + counts.nbytes)
