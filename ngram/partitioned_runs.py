"""Counted chunks filed by the second-to-last word, so that the bounded estimate can work a group of words at a
time in memory (`ngram.partitioned_estimate`).

Everything Kneser-Ney needs for an n-gram w1..wn (n >= 2) shares its second-to-last word w(n-1): its left
extensions x w1..wn (adjusted counts), its context's other extensions w1..w(n-1) y (gamma) and its suffix
w2..wn (interpolation). So order n's records are split into `PARTS` fine parts by w(n-1) mod `PARTS`; a chunk's
order-n table is one file, its records grouped by part, each group in lexicographic order, with the groups'
row offsets kept in memory. A batch of parts is then read back by seeking to its groups in every chunk file, in part-major order (by part,
then lexicographic), which keeps every context's extensions together, as lexicographic order does.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ngram.extsort import (
    ExternalSorter,
    id_keys,
    key_ids,
    read_blocks,
    sort_records,
    take_rows,
    write_records,
)

PARTS = 256  # fine parts; batches are runs of consecutive parts


def part_of(keys: np.ndarray, n: int) -> np.ndarray:
    """The fine part of each order-n key (n >= 2): its second-to-last word mod PARTS."""
    raw = np.ascontiguousarray(keys).view(">u4").reshape(-1, n)
    return (raw[:, n - 2] % np.uint32(PARTS)).astype(np.uint16)


@dataclass
class PartRuns:
    """Order n's counted chunks on disk, each grouped by part (see the module doc)."""

    n: int
    dtype: np.dtype
    directory: Path
    files: list[Path] = field(default_factory=list)
    bounds: list[np.ndarray] = field(default_factory=list)  # per chunk: (PARTS + 1,) row offsets of its groups

    def add_chunk(self, records: np.ndarray) -> None:
        """One chunk's records, sorted and reduced: regrouped by part (stable, so each group stays sorted)."""
        part = part_of(records["k"], self.n)
        grouped = take_rows(records, np.argsort(part, kind="stable"))
        offsets = np.zeros(PARTS + 1, np.int64)
        np.cumsum(np.bincount(part, minlength=PARTS), out=offsets[1:])
        path = self.directory / f"parts{self.n}.chunk{len(self.files):05d}"
        write_records(path, grouped, "wb")
        self.files.append(path)
        self.bounds.append(offsets)

    def rows(self) -> np.ndarray:
        """(PARTS,) records per part over all chunks (an upper bound on the distinct ones)."""
        total = np.zeros(PARTS, np.int64)
        for offsets in self.bounds:
            total += np.diff(offsets)
        return total

    def load(self, first: int, stop: int) -> np.ndarray:
        """Parts first..stop-1, summed over chunks, in part-major order (by part, then lexicographic): each
        part's groups merged (one sorted run per chunk)."""
        size = self.dtype.itemsize
        spans = []  # per chunk: its rows of these parts, and their offsets within
        for path, offsets in zip(self.files, self.bounds):
            lo, hi = int(offsets[first]), int(offsets[stop])
            if hi > lo:
                with open(path, "rb") as src:
                    src.seek(lo * size)
                    spans.append((np.fromfile(src, dtype=self.dtype, count=hi - lo), offsets[first:stop + 1] - lo))
        out = []
        for i in range(stop - first):
            pieces = [rows[int(at[i]):int(at[i + 1])] for rows, at in spans if at[i + 1] > at[i]]
            if len(pieces) == 1:
                out.append(pieces[0])
            elif pieces:
                out.append(sort_records(np.concatenate(pieces), "c", presorted=True))
        return np.concatenate(out) if out else np.empty(0, self.dtype)

    def blocks(self) -> Iterator[np.ndarray]:
        """Every record, in no particular order, a block at a time."""
        for path in self.files:
            yield from read_blocks(path, self.dtype)

    def to_sorter(self, memory: int, name: str) -> ExternalSorter:
        """The records as an external sort (for the streaming pipeline), the chunk files removed."""
        sorter = ExternalSorter(self.dtype, memory, self.directory, name, reduce="c")
        for block in self.blocks():
            sorter.add(block)
        self.remove()
        return sorter

    def remove(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files, self.bounds = [], []


def remapped(runs: PartRuns, remap: np.ndarray) -> PartRuns:
    """The runs with word ids mapped by `remap`, chunk by chunk (a chunk's table fits: it was counted whole)."""
    out = PartRuns(runs.n, runs.dtype, runs.directory)
    for path in runs.files:
        records = np.fromfile(path, dtype=runs.dtype)
        path.unlink()
        records["k"] = id_keys(remap[key_ids(records["k"], runs.n)])
        out.add_chunk(sort_records(records, "c"))
    runs.files, runs.bounds = [], []
    return out


def plan_batches(runs: dict[int, PartRuns], limit: int) -> list[tuple[int, int]] | None:
    """Runs of consecutive parts whose records (all orders, every chunk) take at most `limit` bytes; None when a
    single part is larger (one very frequent word: the caller streams instead)."""
    weight = np.zeros(PARTS, np.int64)
    for r in runs.values():
        weight += r.rows() * r.dtype.itemsize
    if weight.max(initial=0) > limit:
        return None
    batches: list[tuple[int, int]] = []
    first, held = 0, 0
    for part in range(PARTS):
        if held + weight[part] > limit and part > first:
            batches.append((first, part))
            first, held = part, 0
        held += int(weight[part])
    batches.append((first, PARTS))
    return batches
