"""Stage 4, on the client: the reducers' shares, in key order, into a single-machine estimator.

Two hand-offs. `raw_counts_from_shares` (the Kneser-Ney family to ARPA): each order's shares, read one after
another a block at a time, are that order's sorted raw counts, the `RawCounts` the bounded estimator
(`ngram.bounded_train.estimate_arpa_from_counts`) streams within the client's budget. `tables_from_shares`
(any smoothing, any output): the shares of the windows read whole into the table
`ngram.window_tables.tables_from_windows` builds the count tables from, so the client holds the whole table."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ngram.bounded_counts import RawCounts, count_dtype
from ngram.chunked_counts import unpack_ids32
from ngram.counting import CountTables
from ngram.distributed.files import read_rows
from ngram.extsort import read_blocks
from ngram.window_tables import tables_from_windows

READ_ROWS = 1 << 20  # rows unpacked at once


def read_shares(shares: Sequence[tuple[str, int]], order: int) -> tuple[np.ndarray, np.ndarray]:
    """All shares as (rows (M, order) int32, counts (M,) int64), filled in place: sorted, as they come."""
    total = sum(n for _, n in shares)
    width = (order + 1) // 2
    rows = np.empty((total, order), dtype=np.int32)
    counts = np.empty(total, dtype=np.int64)
    at = 0
    for stem, n in shares:
        for lo in range(0, n, READ_ROWS):
            hi = min(n, lo + READ_ROWS)
            rows[at + lo:at + hi] = unpack_ids32(read_rows(f"{stem}.keys", np.uint64, width, lo, hi), order)
        counts[at:at + n] = read_rows(f"{stem}.counts", np.int64, 1, 0, n)[:, 0]
        at += n
    return rows, counts


def tables_from_shares(shares: Sequence[tuple[str, int]], order: int, vocab_size: int) -> CountTables:
    rows, counts = read_shares(shares, order)
    return tables_from_windows(rows, counts, vocab_size)


class ShareRuns:
    """An order's shares (`stem`.rec, disjoint, in key order) in the place of an `ExternalSorter`'s runs: the
    estimator asks only for `sorted_blocks`, and their concatenation is already sorted, so no merge."""

    def __init__(self, shares: Sequence[tuple[str, int]], n: int) -> None:
        self.shares, self.dtype = list(shares), count_dtype(n)

    def sorted_blocks(self) -> Iterator[np.ndarray]:
        for stem, rows in self.shares:
            if rows:
                yield from read_blocks(Path(f"{stem}.rec"), self.dtype)


def raw_counts_from_shares(shares: Mapping[int, Sequence[tuple[str, int]]], unigrams: np.ndarray,
                           order: int) -> RawCounts:
    """The bounded estimator's input from the shares of orders 2..N and the unigram counts."""
    sorters = {n: ShareRuns(shares[n], n) for n in range(2, order + 1)}
    return RawCounts(order, unigrams, sorters)  # type: ignore[arg-type]  # ShareRuns stands in for the sorters
