"""The n-gram index: for each order, the distinct n-grams as one sorted array of integer keys.

An order-n n-gram (n >= 2) has the key `prefix * V + last_word`, where `prefix` is the index of its first
n-1 words in the order-(n-1) table and V the vocabulary size; the unigram table is every vocabulary id
(index = id). So sorting by key is lexicographic order of the n-grams, the extensions of a context are one
contiguous run, keys fit in 64 bits for any order (indices, not words, are packed), and every lookup is a
vectorised `np.searchsorted`. No dicts, no Python loop per n-gram.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tokenizers_kit.running import running_max

MISSING = -1


def index_dtype(size: int) -> type:
    """int32 indices while they fit (half the memory of int64), else int64."""
    return np.int32 if size < 2**31 - 1 else np.int64


def group_starts(ordered: np.ndarray) -> np.ndarray:
    """(B,) bool: where a sorted array's value differs from the one before (the first of each run of equal
    values; the first element always)."""
    new = np.empty(ordered.shape[0], dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return new


def sentence_positions(reset: np.ndarray) -> np.ndarray:
    """Distance of each position from the last reset (a `<s>` or the start of a sentence), shape (T,).

    An n-gram ending at position j exists only when n <= dist[j] + 1."""
    t = np.arange(reset.size, dtype=np.int64)
    starts = np.where(reset, t, 0)
    if reset.size:
        starts[0] = 0
    starts = running_max(starts)
    return t - starts


class NgramIndex:
    """Sorted keys per order (`keys[n]` for n = 1..order; `keys[1]` is every vocabulary id)."""

    def __init__(self, vocab_size: int, keys: Sequence[np.ndarray]) -> None:
        """`keys` holds the orders 2..N (sorted, unique uint64)."""
        self.vocab_size = int(vocab_size)
        self.keys: list[np.ndarray] = [np.empty(0, np.uint64), np.arange(self.vocab_size, dtype=np.uint64)]
        self.keys += [np.ascontiguousarray(k, dtype=np.uint64) for k in keys]
        self._prefix: dict[int, np.ndarray] = {}
        self._suffix: dict[int, np.ndarray] = {}
        self._starts: dict[tuple[int, int], np.ndarray] = {}

    @property
    def order(self) -> int:
        return len(self.keys) - 1

    def size(self, n: int) -> int:
        return int(self.keys[n].size)

    def sizes(self) -> list[int]:
        return [self.size(n) for n in range(1, self.order + 1)]

    # ---- structure ------------------------------------------------------------------------------------------
    def prefix(self, n: int) -> np.ndarray:
        """Index (in order n-1) of each order-n n-gram's first n-1 words, shape (M_n,), non-decreasing."""
        if n not in self._prefix:
            self._prefix[n] = (self.keys[n] // np.uint64(self.vocab_size)).astype(index_dtype(self.size(n - 1)))
        return self._prefix[n]

    def word(self, n: int) -> np.ndarray:
        """Last word of each order-n n-gram."""
        if n == 1:
            return np.arange(self.vocab_size, dtype=np.int64)
        return (self.keys[n] % np.uint64(self.vocab_size)).astype(np.int64)

    def set_prefix(self, n: int, prefix: np.ndarray) -> None:
        self._prefix[n] = prefix

    def set_suffix(self, n: int, suffix: np.ndarray) -> None:
        self._suffix[n] = suffix

    def suffix(self, n: int) -> np.ndarray:
        """Index (in order n-1) of each order-n n-gram's last n-1 words (n >= 2)."""
        if n not in self._suffix:
            if n == 2:
                self._suffix[n] = self.word(2)
            else:
                # suffix(w1..wn) = (suffix of the prefix w1..w(n-1)) extended by wn
                inner = self.suffix(n - 1)[self.prefix(n)]
                found = self.lookup(n - 1, inner, self.word(n))
                if np.any(found < 0):
                    raise ValueError(f"{n}-grams whose suffix is missing from the {n - 1}-grams")
                self._suffix[n] = found.astype(index_dtype(self.size(n - 1)))
        return self._suffix[n]

    def first_word(self, n: int) -> np.ndarray:
        """First word of each order-n n-gram."""
        first = np.arange(self.vocab_size, dtype=index_dtype(self.vocab_size))
        for m in range(2, n + 1):
            first = first[self.prefix(m)]
        return first

    def starts_with(self, n: int, word: int) -> np.ndarray:
        """Which order-n n-grams start with `word` (bool, cached per order: it follows the prefix links)."""
        key = (n, word)
        if key not in self._starts:
            self._starts[key] = (np.arange(self.vocab_size) == word) if n == 1 \
                else np.take(self.starts_with(n - 1, word), self.prefix(n))
        return self._starts[key]

    def is_context(self, n: int) -> np.ndarray:
        """Which order-n n-grams have at least one extension in order n+1."""
        if n >= self.order:
            return np.zeros(self.size(n), dtype=bool)
        prefix = self.prefix(n + 1)  # non-decreasing: mark each distinct value once
        context = np.zeros(self.size(n), dtype=bool)
        if prefix.size:
            context[prefix[0]] = True
            context[np.compress(prefix[1:] != prefix[:-1], prefix[1:])] = True
        return context

    # ---- lookups ---------------------------------------------------------------------------------------------
    def lookup(self, n: int, prefix: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Index in order n of each (prefix index, word) pair, or -1 (vectorised; prefix -1 gives -1)."""
        prefix = np.asarray(prefix, dtype=np.int64)
        words = np.asarray(words, dtype=np.int64)
        if n == 1:
            return words.copy()
        keys = self.keys[n]
        out = np.full(prefix.shape, MISSING, dtype=np.int64)
        ok = prefix >= 0
        if not keys.size or not ok.any():
            return out
        query = prefix[ok].astype(np.uint64) * np.uint64(self.vocab_size) + words[ok].astype(np.uint64)
        pos = np.searchsorted(keys, query)
        pos_clip = np.minimum(pos, keys.size - 1)
        hit = keys[pos_clip] == query
        out[ok] = np.where(hit, pos_clip, MISSING)
        return out

    def find(self, ids: Sequence[int]) -> int:
        """Index of one n-gram given as word ids, or -1."""
        idx = int(ids[0])
        for n in range(2, len(ids) + 1):
            if idx < 0:
                return MISSING
            idx = int(self.lookup(n, np.array([idx]), np.array([ids[n - 1]]))[0])
        return idx

    def context_indices(self, context: Sequence[int]) -> list[int]:
        """For m = 1..min(len(context), N-1): index of the m-gram made of the context's last m ids, or -1."""
        k = min(len(context), self.order - 1)
        tail = [int(c) for c in context[len(context) - k:]] if k else []
        return [self.find(tail[k - m:]) for m in range(1, k + 1)]

    def extension_range(self, n: int, idx: int) -> tuple[int, int]:
        """[lo, hi) of the order-(n+1) n-grams that extend order-n n-gram `idx`."""
        keys = self.keys[n + 1]
        v = np.uint64(self.vocab_size)
        lo = int(np.searchsorted(keys, np.uint64(idx) * v))
        hi = int(np.searchsorted(keys, np.uint64(idx + 1) * v))
        return lo, hi

    def stream_indices(self, tokens: np.ndarray, dist: np.ndarray, max_order: int | None = None) -> list[np.ndarray]:
        """idx[n][j] = index in order n of the n-gram ending at position j, or -1 (absent or crossing a reset).

        One vectorised lookup per order: the n-gram ending at j is the (n-1)-gram ending at j-1 plus tokens[j]."""
        top = min(max_order or self.order, self.order)
        tokens = np.asarray(tokens, dtype=np.int64)
        out: list[np.ndarray] = [np.empty(0, np.int64), tokens]
        for n in range(2, top + 1):
            prev = np.full(tokens.size, MISSING, dtype=np.int64)
            prev[1:] = out[n - 1][:-1]
            prev[dist < n - 1] = MISSING
            out.append(self.lookup(n, prev, tokens))
        return out
