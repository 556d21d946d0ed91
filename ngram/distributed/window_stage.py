"""Stage 2: a range's KenLM windows in global ids, counted (`chunked_counts.count_run`) and written as sorted
runs: `.keys` (rows of ceil(n/2) uint64, two 32-bit ids a word, so runs compare whatever their ids) and
`.counts` (int64). A few evenly spaced keys come back as the sample the shuffle's splitters are cut from.

One run of order-N windows (the in-memory hand-off builds every table from them), or, `per_order`, one run
per order n = 2..N of the n-grams the windows end in (the bounded estimator takes each order's raw counts as
a sorted stream of its own)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ngram.chunked_counts import count_run, pack_ids32, unpack_ids32
from ngram.counting import BOS_ID, padded_windows
from ngram.distributed.files import write_array
from ngram.order_limits import check_order_fits, sentence_lengths, window_bytes
from ngram.packing import reduce_sorted, sort_order

SAMPLES = 256  # keys sampled per run


@dataclass
class Run:
    """A sorted run (or a reducer's share) on the shared path: `stem`.keys and `stem`.counts."""

    stem: str
    rows: int
    width: int
    sample: np.ndarray  # (S, width) uint64, sorted
    order: int = 0  # the n-gram order of its keys (0: the windows of the model's order)


def key_width(order: int) -> int:
    return (order + 1) // 2


def order_ngrams(windows: np.ndarray, counts: np.ndarray, order: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The order-n n-grams ending the distinct windows (packed keys), sorted, counts summed: each window's last
    n ids, kept where no `<s>` follows the first (an n-gram never reaches back past a sentence start)."""
    rows = unpack_ids32(windows, order)[:, order - n:]
    ok = ~np.any(rows[:, 1:] == BOS_ID, axis=1)
    keys, kept = pack_ids32(rows[ok]), counts[ok]
    if n == order:  # the windows themselves: already sorted and distinct
        return keys, kept
    perm = sort_order(keys)
    return reduce_sorted(keys[perm], kept[perm])


def write_run(stem: str, keys: np.ndarray, counts: np.ndarray, order: int = 0) -> Run:
    write_array(f"{stem}.keys", keys)
    write_array(f"{stem}.counts", counts.astype(np.int64, copy=False))
    pick = np.unique(np.linspace(0, keys.shape[0] - 1, min(SAMPLES, keys.shape[0])).astype(np.int64))
    return Run(stem, int(keys.shape[0]), keys.shape[1], keys[pick].copy(), order)


def count_range_windows(ids_path: str, id_map: np.ndarray, order: int, stem: str,
                        per_order: bool = False) -> list[Run]:
    """Map the range's local ids through `id_map`, count its windows, write the sorted run(s)."""
    stream = id_map[np.fromfile(ids_path, dtype=np.int32)]
    if stream.size == 0:
        keys, counts = np.empty((0, key_width(order)), np.uint64), np.empty(0, np.int64)
    else:
        check_order_fits(order, lambda k: window_bytes(sentence_lengths(stream), k), "a range of the corpus",
                         "lower --order")
        keys, counts = count_run(padded_windows(stream, order))
    if not per_order:
        return [write_run(stem, keys, counts)]
    return [write_run(f"{stem}.o{n}", *order_ngrams(keys, counts, order, n), order=n) for n in range(2, order + 1)]
