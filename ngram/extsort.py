"""Sorting and joining record streams larger than memory: the disk-backed plumbing of the bounded estimator.

A record is a row of a NumPy structured array whose field `k` is the sort key: word ids written as big-endian
uint32 bytes (`id_keys`), so comparing the bytes is lexicographic order on the ids, for any order n. Records
are sorted a buffer at a time and spilled as sorted runs; the runs are merged k ways a block at a time (take
from every run what is <= the smallest of the runs' last buffered keys, sort that slice, emit). Files are read
with plain reads, never memory-mapped (mapped pages would count as resident memory).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ngram.tables import group_starts
from tokenizers_kit.running import running_sum

READ_ROWS = 1 << 16  # rows per block when a sorted file is streamed
MIN_ROWS = 1024  # the smallest sort buffer and merge block, whatever the budget (a per-call cost floor)


# ---- keys ---------------------------------------------------------------------------------------------------------
def key_dtype(n: int) -> np.dtype:
    return np.dtype(f"S{4 * n}")


def id_keys(rows: np.ndarray) -> np.ndarray:
    """(B, n) ids >= 0 -> (B,) byte keys whose order is the rows' lexicographic order."""
    b, n = rows.shape
    return np.ascontiguousarray(rows, dtype=">u4").view(key_dtype(n)).reshape(b)


def key_ids(keys: np.ndarray, n: int) -> np.ndarray:
    """Inverse of `id_keys`: (B,) byte keys -> (B, n) int32 ids."""
    return np.ascontiguousarray(keys).view(">u4").reshape(-1, n).astype(np.int32)


def key_slice(keys: np.ndarray, n: int, lo: int, hi: int) -> np.ndarray:
    """Keys of the ids lo..hi-1 of n-id keys (e.g. the context: 0..n-1)."""
    raw = np.ascontiguousarray(keys).view(np.uint8).reshape(-1, 4 * n)
    return np.ascontiguousarray(raw[:, 4 * lo:4 * hi]).view(key_dtype(hi - lo)).reshape(-1)


def reversed_keys(keys: np.ndarray, n: int) -> np.ndarray:
    """Keys of the ids in reverse order: sorting them is lmplz's suffix order."""
    return id_keys(key_ids(keys, n)[:, ::-1])


# ---- sorted files -------------------------------------------------------------------------------------------------
def write_records(path: Path, records: np.ndarray, mode: str = "ab") -> None:
    with open(path, mode) as out:
        np.ascontiguousarray(records).tofile(out)


def file_rows(path: Path, dtype: np.dtype) -> int:
    return os.path.getsize(path) // dtype.itemsize if os.path.exists(path) else 0


def read_blocks(path: Path, dtype: np.dtype, rows: int | None = None) -> Iterator[np.ndarray]:
    """A record file, `rows` (default READ_ROWS) records at a time."""
    rows = rows or READ_ROWS
    total = file_rows(path, dtype)
    with open(path, "rb") as src:
        for _ in range(0, total, rows):
            block = np.fromfile(src, dtype=dtype, count=rows)
            if block.size:
                yield block


def reduce_equal(records: np.ndarray, field: str) -> np.ndarray:
    """Sorted records with equal keys merged into the first, `field` summed."""
    keys = records["k"]
    if keys.size < 2:
        return records
    new = group_starts(keys)
    if new.all():
        return records
    starts = np.flatnonzero(new)
    out = take_rows(records, starts)
    out[field] = np.add.reduceat(records[field], starts)
    return out


def take_rows(records: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """records[rows] as a gather of raw byte rows, several times cheaper than a structured fancy index."""
    raw = np.ascontiguousarray(records).view(np.uint8).reshape(records.size, records.dtype.itemsize)
    return np.take(raw, rows, axis=0).view(records.dtype).reshape(rows.size)


def packed_words(keys: np.ndarray) -> list[np.ndarray]:
    """Byte keys as native uint64 words, as many ids per word as fit at the block's id width, first ids in
    the first word: the words compared in turn order the rows as the keys do."""
    return _packed(keys)[0]


def _packed(keys: np.ndarray) -> tuple[list[np.ndarray], int]:
    """(`packed_words`, the bits used in the last word)."""
    n = keys.dtype.itemsize // 4
    ids = np.ascontiguousarray(keys).view(">u4").reshape(-1, n)
    width = max(int(ids.max()).bit_length() if ids.size else 1, 1)
    per = 64 // width
    words = []
    for first in range(0, n, per):
        word = ids[:, first].astype(np.uint64)
        for col in range(first + 1, min(first + per, n)):
            word <<= np.uint64(width)
            word |= ids[:, col]
        words.append(word)
    return words, width * (n - per * (len(words) - 1))


def sort_order(keys: np.ndarray, presorted: bool = False) -> np.ndarray:
    """The permutation that sorts byte keys (reference: `np.argsort(keys, kind="stable")`, same keys order).

    Integer sorts cost a fraction of a byte-string one: one packed word is one integer sort; two words are two
    (`_two_word_order`) when the first word's distinct values leave room in the second, else a lexsort, which
    is cheaper than the byte sort on unsorted rows but not on concatenated sorted runs (`presorted`), where the
    byte timsort only merges. Equal keys may come out in any order: the callers sum them or have none.
    """
    words, last_bits = _packed(keys)
    if len(words) == 1:
        return np.argsort(words[0], kind="stable" if presorted else "quicksort")
    if len(words) == 2:
        order = _two_word_order(words[0], words[1], last_bits)
        if order is not None:
            return order
    if presorted or len(words) > 2:
        return np.argsort(np.ascontiguousarray(keys), kind="stable")
    return np.lexsort(words[::-1])


def _two_word_order(first: np.ndarray, second: np.ndarray, second_bits: int) -> np.ndarray | None:
    """Sort by the first word, then by (rank of the first word, second word) packed into one word: two integer
    sorts, the second of nearly sorted words; None when the rank does not fit beside the second word."""
    by_first = np.argsort(first)
    rank = running_sum(group_starts(first[by_first]), np.uint64)
    if rank.size and int(rank[-1]).bit_length() + second_bits > 64:
        return None
    rank <<= np.uint64(second_bits)
    rank |= second[by_first]
    return by_first[np.argsort(rank, kind="stable")]


def sort_records(records: np.ndarray, reduce: str | None = None, presorted: bool = False) -> np.ndarray:
    out = take_rows(records, sort_order(records["k"], presorted))
    return out if reduce is None else reduce_equal(out, reduce)


class _RunReader:
    """One sorted run on disk, read a block at a time."""

    def __init__(self, path: Path, dtype: np.dtype, block: int, start: int = 0, rows: int | None = None) -> None:
        self.src = open(path, "rb")
        self.src.seek(start * dtype.itemsize)
        self.dtype, self.block = dtype, block
        self.left = file_rows(path, dtype) - start if rows is None else rows
        self.buf = np.empty(0, dtype)
        if self.left == 0:
            self.src.close()

    def fill(self) -> None:
        want = min(self.block - self.buf.size, self.left)
        if want > 0 and self.buf.size < self.block // 2:
            more = np.fromfile(self.src, dtype=self.dtype, count=want)
            self.left -= more.size
            self.buf = np.concatenate([self.buf, more])
        if self.left == 0:
            self.src.close()

    @property
    def done(self) -> bool:
        return self.left == 0 and self.buf.size == 0

    def take(self, bound: np.ndarray) -> np.ndarray:
        cut = int(np.searchsorted(self.buf["k"], bound, side="right")[0])
        out, self.buf = self.buf[:cut], self.buf[cut:]
        return out


def merge_runs(runs: list[tuple[Path, int, int | None]], dtype: np.dtype, memory: int,
               reduce: str | None) -> Iterator[np.ndarray]:
    """Sorted runs (file, first row, rows or None for the rest of the file) merged k ways within `memory`."""
    # per run: its buffer and its refill; per round: the slices taken, their concatenation, the key copy and
    # permutation of its sort, the sorted copy and the reduced one (up to about 8 copies of a block)
    block = max(MIN_ROWS, memory // (8 * max(len(runs), 1) * dtype.itemsize))
    readers = [_RunReader(path, dtype, block, start, rows) for path, start, rows in runs]
    while True:
        live = [r for r in readers if not r.done]
        if not live:
            break
        for r in live:
            r.fill()
        bound = min((r.buf["k"][-1:] for r in live), key=lambda k: k[0])
        merged = np.concatenate([r.take(bound) for r in live])
        yield sort_records(merged, reduce, presorted=True)


class ExternalSorter:
    """Records in, sorted records out, within `memory` bytes: a buffer sorted and spilled as runs to
    `directory`, merged on the way out. `reduce`: a field summed over equal keys."""

    def __init__(self, dtype: np.dtype, memory: int, directory: Path, name: str, reduce: str | None = None) -> None:
        self.dtype, self.memory, self.dir, self.name, self.reduce = np.dtype(dtype), memory, directory, name, reduce
        # the buffer, its sorted copy, the sort permutation and the contiguous copy of the keys it sorts
        self.capacity = max(MIN_ROWS, memory // (2 * self.dtype.itemsize + 16 + self.dtype["k"].itemsize))
        self._parts: list[np.ndarray] = []
        self._held = 0
        self.runs: list[Path] = []

    def add(self, records: np.ndarray) -> None:
        self._parts.append(records)
        self._held += records.size
        if self._held >= self.capacity:
            self.spill()

    def add_sorted_run(self, records: np.ndarray) -> None:
        """A run that is already sorted (and reduced): straight to disk."""
        self._write_run(records)

    def _write_run(self, records: np.ndarray) -> None:
        path = self.dir / f"{self.name}.run{len(self.runs):05d}"
        write_records(path, records, "wb")
        self.runs.append(path)

    def spill(self) -> None:
        if not self._held:
            return
        records = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts, self._held = [], 0
        self._write_run(sort_records(records, self.reduce))

    def sorted_blocks(self) -> Iterator[np.ndarray]:
        """All records in key order, a bounded block at a time (consumes the sorter)."""
        if not self.runs:  # everything fits in the buffer: one sort, no disk
            records = np.concatenate(self._parts) if self._parts else np.empty(0, self.dtype)
            self._parts, self._held = [], 0
            records = sort_records(records, self.reduce)
            step = READ_ROWS
            for lo in range(0, records.size, step):
                yield records[lo:lo + step]
            return
        self.spill()
        if len(self.runs) == 1:
            yield from read_blocks(self.runs[0], self.dtype)
            self._remove_runs()
            return
        yield from merge_runs([(p, 0, None) for p in self.runs], self.dtype, self.memory, self.reduce)
        self._remove_runs()

    def to_file(self, path: Path) -> int:
        """Write the sorted records to one file; returns the number of records."""
        rows = 0
        with open(path, "wb") as out:
            for block in self.sorted_blocks():
                np.ascontiguousarray(block).tofile(out)
                rows += block.size
        return rows

    def _remove_runs(self) -> None:
        for p in self.runs:
            p.unlink(missing_ok=True)
        self.runs = []


class SortedFile:
    """A file of records already in key order, read like an `ExternalSorter`'s output (then removed)."""

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.path, self.dtype = path, np.dtype(dtype)

    def sorted_blocks(self) -> Iterator[np.ndarray]:
        yield from read_blocks(self.path, self.dtype)
        self.path.unlink(missing_ok=True)


# ---- joins between sorted streams -----------------------------------------------------------------------------------
class SortedLookup:
    """Values of a sorted record stream looked up by sorted query keys, one block of the stream in memory."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self._buf: np.ndarray | None = None

    def _advance(self) -> bool:
        self._buf = next(self._blocks, None)
        return self._buf is not None

    def find(self, queries: np.ndarray, field: str, default: float) -> tuple[np.ndarray, np.ndarray]:
        """(found, value of `field` or `default`) for non-decreasing `queries` (byte keys)."""
        found = np.zeros(queries.size, dtype=bool)
        values = None
        i = 0
        while i < queries.size:
            buf = self._buf
            if buf is None or buf.size == 0 or buf["k"][-1] < queries[i]:
                if not self._advance():
                    break
                continue
            keys = buf["k"]
            j = i + int(np.searchsorted(queries[i:], keys[-1:], side="right")[0])
            pos = np.minimum(np.searchsorted(keys, queries[i:j]), keys.size - 1)
            hit = keys[pos] == queries[i:j]
            if values is None:
                values = np.full(queries.size, default, dtype=buf[field].dtype)
            found[i:j] = hit
            values[i:j] = np.where(hit, buf[field][pos], default)
            i = j
        if values is None:
            values = np.full(queries.size, default, dtype=np.float64)
        return found, values


class BoundedTaker:
    """The records of a sorted stream up to a key, in turn (to cut a stream along another's blocks)."""

    def __init__(self, blocks: Iterator[np.ndarray], dtype: np.dtype) -> None:
        self._blocks, self._dtype = blocks, dtype
        self._buf: np.ndarray | None = None

    def upto(self, bound: np.ndarray) -> np.ndarray:
        """The next records whose keys are <= `bound` (a (1,) key array)."""
        parts = [np.empty(0, self._dtype)]
        while True:
            if self._buf is None or self._buf.size == 0:
                self._buf = next(self._blocks, None)
                if self._buf is None:
                    break
            cut = int(np.searchsorted(self._buf["k"], bound, side="right")[0])
            parts.append(self._buf[:cut])
            self._buf = self._buf[cut:]
            if self._buf.size:
                break
        return parts[1] if len(parts) == 2 else np.concatenate(parts)


class Taker:
    """Exactly `count` records at a time from a stream of blocks (to walk two aligned streams together)."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self._parts: list[np.ndarray] = []
        self._held = 0

    def take(self, count: int) -> np.ndarray:
        if count == 0:
            return np.empty(0, self._parts[0].dtype) if self._parts else np.empty(0, [("k", "S4"), ("c", "i8")])
        while self._held < count:
            block = next(self._blocks, None)
            if block is None:
                raise AssertionError("an aligned stream ended early")
            self._parts.append(block)
            self._held += block.size
        joined = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        out, rest = joined[:count], joined[count:]
        self._parts, self._held = ([rest] if rest.size else []), rest.size
        return out
