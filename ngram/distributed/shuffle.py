"""Stage 3: the shuffle. Splitters cut the key space into shares of about equal size (from the runs' samples,
weighted by run size); reducer r reads the keys in [splitter r-1, splitter r) of every sorted run (found by
binary search, read as one slice) and writes them merged: sorted, equal keys summed. The shares, in order,
are the whole table sorted, and no reducer holds more than its share.

With `records` (an order n), a share is written as the bounded estimator's records (`bounded_counts.count_dtype`:
the ids as big-endian bytes, then the count) in one file, `stem`.rec: the client streams the shares of an
order one after another as that order's sorted raw counts, with no rewrite on its side."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.distributed.files import read_rows, write_array, write_records
from ngram.distributed.window_stage import Run
from ngram.packing import reduce_sorted, sort_order

SHARE_ROWS = 1 << 22  # run rows per reducer, at most about (its sort holds a few copies of them)

Bound = list[int] | None  # a key as a list of ints (lists compare lexicographically); None: open end


def share_count(runs: Sequence[Run], workers: int) -> int:
    total = sum(r.rows for r in runs)
    return max(1, min(4096, max(workers, -(-total // SHARE_ROWS))))


def splitters(runs: Sequence[Run], shares: int) -> list[list[int]]:
    """Up to shares-1 increasing keys; each sample stands for rows/samples rows of its run."""
    parts = [r for r in runs if r.sample.shape[0]]
    if shares < 2 or not parts:
        return []
    keys = np.concatenate([r.sample for r in parts])
    weights = np.concatenate([np.full(r.sample.shape[0], r.rows / r.sample.shape[0]) for r in parts])
    order = sort_order(keys)
    keys, cum = keys[order], np.cumsum(weights[order])
    picks = np.searchsorted(cum, cum[-1] * np.arange(1, shares) / shares)
    out: list[list[int]] = []
    for i in np.minimum(picks, keys.shape[0] - 1).tolist():
        key = keys[i].tolist()
        if not out or key > out[-1]:
            out.append(key)
    return out


def _lower_bound(path: str, rows: int, width: int, key: Bound) -> int:
    """First row of a sorted run whose key is >= `key` (0 for an open start)."""
    if key is None:
        return 0
    lo, hi = 0, rows
    while lo < hi:
        mid = (lo + hi) // 2
        if read_rows(path, np.uint64, width, mid, mid + 1)[0].tolist() < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def reduce_share(runs: Sequence[tuple[str, int]], width: int, lo: Bound, hi: Bound, stem: str,
                 records: int = 0) -> tuple[str, int]:
    """Merge the rows in [lo, hi) of every run (stem, rows) into the share `stem`; returns (stem, rows).
    `records`: the keys' order n, to write the share as order-n count records (see the module doc)."""
    keys, counts = [], []
    for run_stem, rows in runs:
        path = f"{run_stem}.keys"
        a = _lower_bound(path, rows, width, lo)
        b = rows if hi is None else _lower_bound(path, rows, width, hi)
        if b > a:
            keys.append(read_rows(path, np.uint64, width, a, b))
            counts.append(read_rows(f"{run_stem}.counts", np.int64, 1, a, b)[:, 0])
    if keys:
        merged_keys, merged_counts = np.concatenate(keys), np.concatenate(counts)
        del keys, counts
        perm = sort_order(merged_keys)
        merged_keys, merged_counts = reduce_sorted(merged_keys[perm], merged_counts[perm])
    else:
        merged_keys, merged_counts = np.empty((0, width), np.uint64), np.empty(0, np.int64)
    if records:
        write_records(f"{stem}.rec", merged_keys, merged_counts, records)
    else:
        write_array(f"{stem}.keys", merged_keys)
        write_array(f"{stem}.counts", merged_counts)
    return stem, int(merged_keys.shape[0])
