"""The seam between the cluster's shares and the bounded estimator, without a cluster: each order's n-grams as
a range's windows give them equal the single-machine bounded counter's records (`count_tables` per chunk), in
the estimator's record format; and the client streams shares in blocks whatever their size."""
from __future__ import annotations

import tracemalloc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.bounded_counts import count_dtype, order_rows
from ngram.chunked_counts import count_run, pack_ids32
from ngram.counting import BOS_ID, EOS_ID, count_tables, padded_windows
from ngram.distributed.files import count_records, write_array
from ngram.distributed.handoff import ShareRuns
from ngram.distributed.window_stage import order_ngrams
from ngram.extsort import READ_ROWS, id_keys

sentences = st.lists(st.lists(st.integers(3, 12), max_size=9), min_size=1, max_size=30)


def stream_of(lines: list[list[int]]) -> np.ndarray:
    return np.array([t for line in lines for t in (BOS_ID, *line, EOS_ID)], dtype=np.int32)


@settings(max_examples=200, deadline=None)
@given(lines=sentences, order=st.integers(2, 7))
def test_each_order_equals_the_bounded_counter(lines, order):
    stream = stream_of(lines)
    windows, counts = count_run(padded_windows(stream, order))
    tables = count_tables(stream, order, int(stream.max()) + 1)
    for n in range(2, order + 1):
        keys, summed = order_ngrams(windows, counts, order, n)
        got = count_records(keys, summed, n)
        want = np.empty(tables.index.size(n), count_dtype(n))
        want["k"] = id_keys(order_rows(tables.index, n))
        want["c"] = tables.counts[n]
        assert got.dtype == want.dtype
        assert got.tobytes() == want.tobytes(), n


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=1), min_size=1, max_size=40),
       n=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_records_keys_are_the_ids_as_bytes(rows, n, seed):
    ids = np.random.default_rng(seed).integers(0, 2**31, size=(len(rows), n), dtype=np.int64)
    ids[:, 0] = [r[0] for r in rows]
    counts = np.arange(len(rows), dtype=np.int64)
    got = count_records(pack_ids32(ids), counts, n)
    assert got["k"].tobytes() == id_keys(ids).tobytes()
    assert np.array_equal(got["c"], counts)


def test_shares_stream_in_blocks(tmp_path):
    """Shares far larger than a block: read back whole and in order, never more than a few blocks held."""
    n, per_share = 3, 6 * READ_ROWS
    rng = np.random.default_rng(0)
    ids = np.unique(rng.integers(0, 1 << 20, size=(3 * per_share, n)), axis=0)  # sorted, distinct
    shares = []
    for i, part in enumerate(np.array_split(ids, 3)):
        stem = str(tmp_path / f"share{i}")
        write_array(f"{stem}.rec", count_records(pack_ids32(part), np.ones(len(part), np.int64), n))
        shares.append((stem, len(part)))
    tracemalloc.start()
    try:
        seen, largest = [], 0
        for block in ShareRuns(shares, n).sorted_blocks():
            largest = max(largest, block.size)
            seen.append(block["k"][[0, -1]])  # keep only the ends: the check must not hold the table
            total = sum(s.size for s in seen)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ends = np.concatenate(seen)
    assert bool(np.all(ends[1:] > ends[:-1])), "blocks out of order"
    assert total == 2 * len(seen) and largest <= READ_ROWS
    assert peak < 4 * READ_ROWS * count_dtype(n).itemsize < ids.shape[0] * count_dtype(n).itemsize
