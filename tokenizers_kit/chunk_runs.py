"""Counting distinct training chunks within a memory budget: the table of partial counts spills to disk as a
sorted run whenever it outgrows its share of the budget, and a k-way merge sums the runs back, reading each
a buffer at a time (lmplz's -S / -T, for tokenizer training).

Exactness: the merged result is the dict the unbounded count builds, in the same order. Each chunk carries
the position where counting first saw it (block number, then its rank among the block's new chunks), the
merge keeps the least, and the result is ordered by it: the trainers see the same dict either way.

Only the counting is bounded. The result is what the trainer needs and is held in memory (as HF holds its
word counts); `min_count` drops chunks rarer than that while merging, for the trainers where that is exact.
"""
from __future__ import annotations

import heapq
import os
import struct
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.errors import TkitError
from tokenizers_kit.memory import parse_memory as parse_budget

MIN_BUDGET = 16 << 20  # below this the runs would be tiny and the merge fan-in huge
TABLE_SHARE = 0.4  # of the budget for the in-memory table; the rest: its sort on spill, blocks in flight
ENTRY_BYTES = 96  # per table entry beside its key: dict slot with growth slack, the count, the first-seen slot
FAN_IN = 32  # runs merged at once; more are merged in passes
_RECORD = struct.Struct("<IqQ")  # key length in bytes, count, first-seen position

Entry = tuple[str, int, int]  # chunk, count, first-seen position


def parse_memory(text: str | int) -> int:
    """Bytes from "500M", "2G", "1.5GB", "64k" or a plain number; at least MIN_BUDGET."""
    return parse_budget(text, MIN_BUDGET)


def check_temp_dir(temp_dir: str | None) -> None:
    """A --temp-dir must be a writable directory (checked before the counting, not at the first spill)."""
    if temp_dir is None:
        return
    if not os.path.isdir(temp_dir):
        raise ArgumentError(f"--temp-dir {temp_dir!r} is not a directory: give an existing directory")
    if not os.access(temp_dir, os.W_OK | os.X_OK):
        raise ArgumentError(f"--temp-dir {temp_dir!r} is not writable: give a directory you can write to")


class SpillingCounts:
    """Chunk counts added a block at a time; at most about `budget * TABLE_SHARE` bytes of them in memory."""

    def __init__(self, budget: int, temp_dir: str | None = None) -> None:
        self.limit = int(budget * TABLE_SHARE)
        self.buffer = max(1 << 16, min(1 << 20, budget // (8 * FAN_IN)))  # per run read or written
        self.temp_dir = temp_dir
        self._dir: tempfile.TemporaryDirectory | None = None
        self.runs: list[str] = []
        self.written = 0
        self.blocks = 0
        self._reset()

    def _reset(self) -> None:
        self.table: dict[str, int] = {}
        self.first = array("q")  # first-seen positions, in the table's insertion order
        self.size = 0

    def add(self, block_counts: Mapping[str, int]) -> None:
        """Add one block's counts (blocks in corpus order)."""
        table = self.table
        new = [k for k in block_counts if k not in table]  # in the block's order: their first-seen ranks
        base = self.blocks << 32
        self.first.extend(range(base, base + len(new)))
        for k in new:
            table[k] = 0
        for k, n in block_counts.items():
            table[k] += n
        self.size += sum(map(sys.getsizeof, new)) + ENTRY_BYTES * len(new)
        self.blocks += 1
        if self.size > self.limit:
            self._spill()

    def _spill(self) -> None:
        if self._dir is None:
            check_temp_dir(self.temp_dir)
            self._dir = tempfile.TemporaryDirectory(prefix="tkit-chunks-", dir=self.temp_dir)
        entries = sorted_entries(self.table, self.first)
        self._reset()  # the entries hold the keys, not the table
        self.runs.append(self._write(entries))

    def _write(self, entries: Iterable[Entry]) -> str:
        assert self._dir is not None
        self.written += 1  # names never reused: a merge pass writes while it reads older runs
        path = f"{self._dir.name}/run{self.written:06d}"
        pack = _RECORD.pack
        try:
            with open(path, "wb", buffering=self.buffer) as f:
                for key, count, first in entries:
                    raw = key.encode("utf-8", "surrogatepass")
                    f.write(pack(len(raw), count, first))
                    f.write(raw)
        except OSError as err:
            raise TkitError(f"cannot write counting runs to {self._dir.name!r} ({err.strerror or err}): free "
                            "space there, give --temp-dir elsewhere, or a larger --memory") from None
        return path

    def merged(self) -> Iterator[Entry]:
        """Every distinct chunk once, in sorted order, with its summed count and least first-seen position."""
        while len(self.runs) > FAN_IN:  # merge in passes so no more than FAN_IN files are open at once
            group, self.runs = self.runs[:FAN_IN], self.runs[FAN_IN:]
            self.runs.append(self._write(sum_equal(heapq.merge(*(read_run(p, self.buffer) for p in group)))))
        sources = [read_run(p, self.buffer) for p in self.runs]
        yield from sum_equal(heapq.merge(*sources, sorted_entries(self.table, self.first)))

    def result(self, transform: Callable[[str], str] | None = None, min_count: int = 0) -> dict[str, int]:
        """The counts as the unbounded count gives them (same order), transformed, without chunks below
        `min_count`. No spill happened: the table itself."""
        try:
            if not self.runs:
                return finish_counts(self.table.items(), transform, min_count)
            keys: list[str] = []
            counts = array("q")  # machine integers: a Python int per entry would cost four times as much
            first = array("q")
            for key, count, pos in self.merged():
                if count >= min_count:  # transformed now, so the raw chunk is freed at once
                    keys.append(transform(key) if transform is not None else key)
                    counts.append(count)
                    first.append(pos)
            self._reset()
            order = np.argsort(np.frombuffer(first, dtype=np.int64), kind="stable")
            del first
            # In first-seen order, equal transformed keys sum into the first one's place: as the unbounded path.
            return finish_counts(((keys[i], counts[i]) for i in order), None, min_count)
        finally:
            self.close()

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.runs = []


def finish_counts(items: Iterable[tuple[str, int]], transform: Callable[[str], str] | None,
                  min_count: int) -> dict[str, int]:
    """Counts without those below `min_count`, keys transformed (equal results summed), in the given order."""
    out: dict[str, int] = {}
    get = out.get
    for chunk, n in items:
        if n < min_count:
            continue
        key = transform(chunk) if transform is not None else chunk
        out[key] = get(key, 0) + n
    return out


def sorted_entries(table: dict[str, int], first: array) -> Iterator[Entry]:
    """The table's entries sorted by chunk (the lists are taken now, so the caller may drop the table)."""
    keys = list(table)
    counts = list(table.values())
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return ((keys[i], counts[i], first[i]) for i in order)


def read_run(path: str, buffer: int) -> Iterator[Entry]:
    """The entries of one run file, read `buffer` bytes at a time."""
    size = _RECORD.size
    unpack = _RECORD.unpack
    with open(path, "rb", buffering=buffer) as f:
        read: Callable[[int], bytes] = f.read
        while True:
            head = read(size)
            if not head:
                return
            n, count, first = unpack(head)
            yield read(n).decode("utf-8", "surrogatepass"), count, first


def sum_equal(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Sorted entries with equal chunks folded into one: counts summed, the least first-seen position kept."""
    it = iter(entries)
    try:
        key, count, first = next(it)
    except StopIteration:
        return
    for k, c, f in it:
        if k == key:
            count += c
            first = min(first, f)
        else:
            yield key, count, first
            key, count, first = k, c, f
    yield key, count, first
