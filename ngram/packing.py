"""Self-contained n-gram keys: rows of word ids packed into 64-bit words, for counts that must be compared
across chunks (the `tkit count` listing and larger-than-RAM counting).

A row (w1..wn) packs big-end first into ceil(n*b/64) uint64 words (b = bits per id), so comparing the words
left to right is lexicographic order on the rows. One word (n*b <= 64, e.g. a 5-gram over a 4096-token
vocabulary) takes the fast 1-D `np.unique` path; wider rows use `np.lexsort`.
"""
from __future__ import annotations

import numpy as np


def bits_per_id(vocab_size: int) -> int:
    return max(1, int(vocab_size - 1).bit_length())


def words_per_key(order: int, bits: int) -> int:
    return -(-order * bits // 64)


def pack_rows(rows: np.ndarray, bits: int) -> np.ndarray:
    """(M, n) ids -> (M, W) uint64 keys; the bit stream of each row is the ids left to right, zero-padded."""
    m, n = rows.shape
    width = words_per_key(n, bits)
    out = np.zeros((m, width), dtype=np.uint64)
    for i in range(n):  # loop over the n columns, vectorised over rows
        start = i * bits  # first bit of id i, counted from the most significant end
        col = rows[:, i].astype(np.uint64)
        word, offset = divmod(start, 64)
        end = offset + bits
        if end <= 64:
            out[:, word] |= col << np.uint64(64 - end)
        else:  # the id straddles two words
            spill = end - 64
            out[:, word] |= col >> np.uint64(spill)
            out[:, word + 1] |= (col << np.uint64(64 - spill)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    return out


def unpack_rows(keys: np.ndarray, order: int, bits: int) -> np.ndarray:
    """Inverse of `pack_rows`: (M, W) uint64 -> (M, order) int32."""
    m = keys.shape[0]
    out = np.empty((m, order), dtype=np.int32)
    mask = np.uint64((1 << bits) - 1)
    for i in range(order):
        word, offset = divmod(i * bits, 64)
        end = offset + bits
        if end <= 64:
            col = (keys[:, word] >> np.uint64(64 - end)) & mask
        else:
            spill = end - 64
            hi = keys[:, word] << np.uint64(spill)
            lo = keys[:, word + 1] >> np.uint64(64 - spill)
            col = (hi | lo) & mask
        out[:, i] = col
    return out


def sort_order(keys: np.ndarray) -> np.ndarray:
    """Permutation that sorts (M, W) keys lexicographically (stable)."""
    if keys.shape[1] == 1:
        return np.argsort(keys[:, 0], kind="stable")
    return np.lexsort(keys.T[::-1])


def reduce_sorted(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the counts of equal keys in sorted (M, W) keys."""
    if keys.shape[0] == 0:
        return keys, counts
    new = np.empty(keys.shape[0], dtype=bool)
    new[0] = True
    np.any(keys[1:] != keys[:-1], axis=1, out=new[1:])
    starts = np.flatnonzero(new)
    return keys[starts], np.add.reduceat(counts, starts)


def unique_counts(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (M, W) keys, sorted, with summed counts (each row counts 1 when `counts` is None)."""
    if counts is None:
        counts = np.ones(keys.shape[0], dtype=np.int64)
    if keys.shape[1] == 1:
        if counts.size and np.all(counts == 1):
            uniq, cnt = np.unique(keys[:, 0], return_counts=True)
            return uniq[:, None], cnt.astype(np.int64)
        perm = np.argsort(keys[:, 0], kind="stable")
    else:
        perm = sort_order(keys)
    return reduce_sorted(keys[perm], counts[perm])


def rows_le(keys: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Mask of rows of (M, W) keys that are lexicographically <= `bound` (W,)."""
    less = np.zeros(keys.shape[0], dtype=bool)
    equal = np.ones(keys.shape[0], dtype=bool)
    for c in range(keys.shape[1]):
        less |= equal & (keys[:, c] < bound[c])
        equal &= keys[:, c] == bound[c]
    return less | equal


def row_min(rows: list[np.ndarray]) -> np.ndarray:
    """The lexicographically smallest of some (W,) keys."""
    stacked = np.stack(rows)
    return stacked[sort_order(stacked)[0]]
