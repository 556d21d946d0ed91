"""Count tables of every order straight from counted KenLM windows (the result of `--memory` counting).

Each distinct window (N ids, `<s>`-padded, sorted, with its count) stands for the positions where it ends; the
order-n n-gram ending at such a position is the window's last n ids, valid when no `<s>` follows its first id.
Order by order, each window's last-column n-gram is keyed as in `NgramIndex` (index of its first n-1 ids in
order n-1, times V, plus its last id), sorted and summed with the window's count. The indices the next order
needs — of the n-grams ending at the earlier columns — are looked up in the table just built (every one of
them also ends some window's last column). So the work and memory are a few arrays the size of the windows,
where re-counting the windows as a stream (`rows_as_stream`) needed N times that, plus int64 weights.
"""
from __future__ import annotations

import numpy as np

from ngram.counting import BOS_ID, CountTables
from ngram.tables import MISSING, NgramIndex, group_starts, index_dtype
from tokenizers_kit.running import running_sum


def _sorted_groups(keys: np.ndarray, weights: np.ndarray,
                   need_rank: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """(distinct keys, summed weights, rank of each input key among the distinct ones (when `need_rank`), one
    input position of each distinct key)."""
    if keys.size < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return _grouped(keys, weights, need_rank)  # the top order comes sorted: the windows are
    perm = np.argsort(keys, kind="stable")
    ordered = keys[perm]
    new = group_starts(ordered)
    starts = np.flatnonzero(new)
    uniq = ordered[starts]
    del ordered
    sums = np.add.reduceat(weights[perm], starts) if starts.size else np.zeros(0, np.int64)
    rank = None
    if need_rank:
        rank = np.empty(keys.size, dtype=index_dtype(uniq.size))
        rank[perm] = running_sum(new, rank.dtype) - 1
    return uniq, sums.astype(np.int64, copy=False), rank, perm[starts]


def _grouped(keys: np.ndarray, weights: np.ndarray,
             need_rank: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """`_sorted_groups` of keys already in order: no sort, no permutation."""
    new = group_starts(keys)
    starts = np.flatnonzero(new)
    if starts.size == keys.size:  # all distinct: nothing to sum
        rank = np.arange(keys.size, dtype=index_dtype(keys.size)) if need_rank else None
        return keys, weights.astype(np.int64, copy=True), rank, starts
    sums = np.add.reduceat(weights, starts) if starts.size else np.zeros(0, np.int64)
    rank = running_sum(new, index_dtype(starts.size)) - 1 if need_rank else None
    return keys[starts], sums.astype(np.int64, copy=False), rank, starts


def _next_keys(prev: np.ndarray, words: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the n-grams (n-1)-gram index `prev` + `words`, and where they exist: the (n-1)-gram does and
    the word is not `<s>` (an n-gram never reaches back past a sentence start)."""
    ok = (prev >= 0) & (words != BOS_ID)
    keys = np.compress(ok, prev).astype(np.uint64)
    keys *= np.uint64(vocab_size)
    keys += np.compress(ok, words).astype(np.uint64)
    return keys, ok


def _lookup(table: np.ndarray, keys: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Index of each key in the sorted table, scattered to the rows `ok` (MISSING elsewhere)."""
    out = np.full(ok.size, MISSING, dtype=index_dtype(table.size))
    out[ok] = np.searchsorted(table, keys)
    return out


def tables_from_windows(rows: np.ndarray, counts: np.ndarray, vocab_size: int) -> CountTables:
    """CountTables of orders 1..N from distinct KenLM windows `rows` (M, N) and their counts (M,)."""
    m, order = rows.shape
    last = order - 1
    weights = np.asarray(counts, dtype=np.int64)
    unigrams = np.bincount(rows[:, last], weights=weights, minlength=vocab_size).astype(np.int64)
    if unigrams.size > BOS_ID:
        unigrams[BOS_ID] = 0  # <s> is never predicted
    keys: list[np.ndarray] = []
    table_counts: list[np.ndarray] = [np.empty(0, np.int64), unigrams]
    suffixes: list[np.ndarray] = []
    # ends[c]: index in the current order of the n-gram ending at column c (MISSING where none); order 1: the id
    ends: dict[int, np.ndarray] = {c: rows[:, c] for c in range(order)}
    for n in range(2, order + 1):
        top_keys, ok = _next_keys(ends[last - 1], rows[:, last], vocab_size)
        uniq, sums, rank, first = _sorted_groups(top_keys, np.compress(ok, weights), need_rank=n < order)
        del top_keys
        suffix = np.compress(ok, ends[last])[first]  # the last n-1 ids: the (n-1)-gram ending at the last column
        suffixes.append(suffix.astype(index_dtype(max(1, keys[-1].size if keys else vocab_size)), copy=False))
        keys.append(uniq)
        table_counts.append(sums)
        if rank is None:  # the top order: nothing extends it
            break
        new_ends = {last: np.full(m, MISSING, dtype=rank.dtype)}
        new_ends[last][ok] = rank
        del rank
        for c in range(n - 1, last):  # the order-n n-grams ending at earlier columns feed order n+1
            col_keys, col_ok = _next_keys(ends[c - 1], rows[:, c], vocab_size)
            new_ends[c] = _lookup(uniq, col_keys, col_ok)
        ends = new_ends
    index = NgramIndex(vocab_size, keys)
    for n, suffix in enumerate(suffixes, start=2):
        index.set_suffix(n, suffix)
    return CountTables(index, table_counts)
