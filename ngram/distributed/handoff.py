"""Stage 4, on the client: the reducers' shares, in key order, into the single-machine estimator.

`tables_from_shares` is the one hand-off from distributed counting to estimation: it reads the sorted,
disjoint shares into the windows table `ngram.window_tables.tables_from_windows` builds the count tables
from (as `--memory` counting does with its merged runs)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.chunked_counts import unpack_ids32
from ngram.counting import CountTables
from ngram.distributed.files import read_rows
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
