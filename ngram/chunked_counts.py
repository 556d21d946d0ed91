"""Counting within a fixed memory budget, for corpora larger than RAM (what lmplz does with -S and -T).

The id stream is counted a chunk at a time: each chunk's KenLM windows (N-grams padded with N-1 `<s>`) are
packed into 64-bit words (two 32-bit ids per word, so keys compare across chunks whatever the final vocabulary),
sorted and reduced with `np.unique`-style counting, and written to a temporary directory as a sorted run
(raw `.keys`/`.counts` files). The runs are then merged k ways a block at a time: from every run take the keys up to the smallest of
the runs' block-end keys, sort that slice, sum equal keys, emit it, advance. Memory stays bounded by the chunk
size and the merge block size, not by the corpus. `count_windows_chunked` holds the result — the distinct
n-grams and their counts — in memory, for the estimates that work on whole tables; the bounded paths
(ngram.bounded_train for (modified) Kneser-Ney to ARPA, ngram.bounded_count for `tkit count`) stream it instead.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ngram.counting import padded_windows
from ngram.packing import (
    bits_per_id,
    pack_rows,
    reduce_sorted,
    row_min,
    rows_le,
    sort_order,
    unique_counts,
    unpack_rows,
)
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.memory import parse_memory  # noqa: F401  (re-exported: the budget parser)

BYTES_PER_WINDOW = 48  # per token, plus 24 per order: stream, window rows, packed keys, sort permutation, sorted copy
MIN_CHUNK_TOKENS = 1000
FIXED_OVERHEAD = 64 << 20  # the tokenizer's strings for one 4 MiB text block, the vocabulary, numpy


def pack_ids32(rows: np.ndarray) -> np.ndarray:
    """(M, n) ids -> (M, ceil(n/2)) uint64, two 32-bit ids per word, big end first (lexicographic)."""
    m, n = rows.shape
    width = (n + 1) // 2
    out = np.zeros((m, width), dtype=np.uint64)
    for i in range(n):
        shift = np.uint64(32 if i % 2 == 0 else 0)
        out[:, i // 2] |= rows[:, i].astype(np.uint64) << shift
    return out


def unpack_ids32(keys: np.ndarray, order: int) -> np.ndarray:
    out = np.empty((keys.shape[0], order), dtype=np.int32)
    for i in range(order):
        shift = np.uint64(32 if i % 2 == 0 else 0)
        out[:, i] = (keys[:, i // 2] >> shift) & np.uint64(0xFFFFFFFF)
    return out


def count_run(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct windows of one chunk in 32-bit packing, sorted, with counts. The sort runs on the chunk's
    tightest packing (bits of its largest id): fewer key words make the lexicographic sort cheaper, and
    lexicographic order of the ids is the same in either packing."""
    bits = bits_per_id(int(rows.max()) + 1) if rows.size else 1
    keys, counts = unique_counts(pack_rows(rows, bits))
    return pack_ids32(unpack_rows(keys, rows.shape[1], bits)), counts


@dataclass
class _Run:
    """A sorted run on disk (raw uint64 keys, raw int64 counts), read a block at a time with plain file reads
    (a memory map would count the pages it touches as resident memory)."""

    path: Path
    rows: int
    width: int
    pos: int = 0  # rows read from disk so far
    keys: np.ndarray = field(default_factory=lambda: np.empty((0, 1), np.uint64))  # read, not yet merged
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def done(self) -> bool:
        return self.pos >= self.rows and self.keys.shape[0] == 0

    def fill(self, block: int) -> None:
        """Top the in-memory part up to `block` rows."""
        want = min(block - self.keys.shape[0], self.rows - self.pos)
        if want <= 0:
            return
        keys = np.fromfile(f"{self.path}.keys", dtype=np.uint64, count=want * self.width,
                           offset=self.pos * self.width * 8).reshape(want, self.width)
        counts = np.fromfile(f"{self.path}.counts", dtype=np.int64, count=want, offset=self.pos * 8)
        self.keys = np.concatenate([self.keys.reshape(-1, self.width), keys])
        self.counts = np.concatenate([self.counts, counts])
        self.pos += want

    def take(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove and return the rows <= bound (a prefix: the run is sorted)."""
        n = int(np.count_nonzero(rows_le(self.keys, bound)))
        out = self.keys[:n], self.counts[:n]
        self.keys, self.counts = self.keys[n:], self.counts[n:]
        return out


@dataclass
class ChunkedCounter:
    """Feed id-stream blocks with `add`; `merged()` yields the sorted, summed (keys, counts) blocks."""

    order: int
    memory: int
    temp_dir: str | None = None
    runs: list[_Run] = field(default_factory=list)
    _pending: list[np.ndarray] = field(default_factory=list)
    _pending_tokens: int = 0
    _dir: Path | None = None

    def __post_init__(self) -> None:
        check_chunk_fits(self.order, self.memory)

    @property
    def chunk_tokens(self) -> int:
        usable = max(self.memory - FIXED_OVERHEAD, self.memory // 4)
        return max(MIN_CHUNK_TOKENS, usable // (BYTES_PER_WINDOW + 24 * self.order))

    def add(self, stream: np.ndarray) -> None:
        """Add a block of the `<s> ... </s>` stream (whole sentences)."""
        self._pending.append(stream)
        self._pending_tokens += int(stream.size)
        if self._pending_tokens >= self.chunk_tokens:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        stream = np.concatenate(self._pending)
        self._pending, self._pending_tokens = [], 0
        limit = self.chunk_tokens
        bos = np.flatnonzero(stream == 1)
        start = 0
        while start < stream.size:  # a block may hold more than one chunk's worth: cut on sentence starts
            cut = stream.size
            if stream.size - start > limit:
                later = bos[bos > start + limit // 2]
                cut = int(later[0]) if later.size else stream.size
            self._write_run(*count_run(padded_windows(stream[start:cut], self.order)))
            start = cut

    def spill_dir(self) -> Path:
        """The temporary folder of this count (made on first use, removed by `close`)."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="tkit-counts-", dir=self.temp_dir))
        return self._dir

    def _write_run(self, keys: np.ndarray, counts: np.ndarray) -> None:
        path = self.spill_dir() / f"run{len(self.runs):05d}"
        np.ascontiguousarray(keys).tofile(f"{path}.keys")
        np.ascontiguousarray(counts, dtype=np.int64).tofile(f"{path}.counts")
        self.runs.append(_Run(path, keys.shape[0], keys.shape[1]))

    def merged(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Sorted, summed (keys (B, W), counts (B,)) blocks over all runs."""
        self._flush()
        runs = list(self.runs)
        if not runs:
            return
        width = runs[0].width
        # rows held per run: x6 for the read buffers, their concatenation, its sort order and sorted copy
        usable = max(self.memory - FIXED_OVERHEAD, self.memory // 4)
        block = max(1024, usable // (6 * len(runs) * (8 * width + 8)))
        while any(not r.done for r in runs):
            live = [r for r in runs if not r.done]
            for r in live:
                r.fill(block)
            bound = row_min([r.keys[-1] for r in live])  # after this round no run holds a key <= bound
            parts = [r.take(bound) for r in live]
            keys = np.concatenate([k for k, _ in parts])
            counts = np.concatenate([c for _, c in parts])
            del parts
            perm = sort_order(keys)
            yield reduce_sorted(keys[perm], counts[perm])

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ChunkedCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_chunk_fits(order: int, memory: int) -> None:
    """The smallest chunk (MIN_CHUNK_TOKENS windows of `order` ids) must fit in the budget."""
    usable = max(memory - FIXED_OVERHEAD, memory // 4)
    need = MIN_CHUNK_TOKENS * (BYTES_PER_WINDOW + 24 * order)
    if need > usable:
        fits = (usable // MIN_CHUNK_TOKENS - BYTES_PER_WINDOW) // 24
        advice = f"at most order {fits} fits" if fits >= 1 else "no order fits"
        raise ArgumentError(f"--order {order} needs chunks of about {need >> 20} MB, more than --memory "
                            f"{memory >> 20}M allows; {advice}: lower --order or raise --memory")


def count_windows_chunked(blocks: Iterable[np.ndarray], order: int, memory: int,
                          temp_dir: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """KenLM windows of the stream blocks counted within `memory` bytes: (rows (M, order) int32 sorted
    lexicographically, counts (M,), number of runs written)."""
    with ChunkedCounter(order, memory, None if temp_dir is None else str(temp_dir)) as counter:
        for block in blocks:
            counter.add(block)
        # merged blocks go to disk and come back as one array of the exact size: a list of blocks and its
        # concatenation would hold the result twice (and leave the freed blocks' heap behind)
        rows_path, counts_path = counter.spill_dir() / "merged.rows", counter.spill_dir() / "merged.counts"
        total = 0
        with open(rows_path, "wb") as rows_out, open(counts_path, "wb") as counts_out:
            for keys, counts in counter.merged():
                unpack_ids32(keys, order).tofile(rows_out)  # 4 bytes an id, not 8 per pair of ids + padding
                np.ascontiguousarray(counts, dtype=np.int64).tofile(counts_out)
                total += int(counts.size)
        rows = np.fromfile(rows_path, dtype=np.int32).reshape(total, order)
        counts = np.fromfile(counts_path, dtype=np.int64)
        return rows, counts, len(counter.runs)
