"""Counted chunks filed by the second-to-last word, so that the bounded estimate can work a group of words at a
time in memory (`ngram.partitioned_estimate`).

Everything Kneser-Ney needs for an n-gram w1..wn (n >= 2) shares its second-to-last word w(n-1): its left
extensions x w1..wn (adjusted counts), its context's other extensions w1..w(n-1) y (gamma) and its suffix
w2..wn (interpolation). So order n's records are split into `PARTS` fine parts by w(n-1) mod `PARTS`; a chunk's
order-n table is one file, its records grouped by part, each group in lexicographic order, with the groups'
row offsets kept in memory. A batch of parts is then read back by seeking to its groups in every chunk file,
in part-major order (by part, then lexicographic), which keeps every context's extensions together, as
lexicographic order does. A part too heavy for a batch (a frequent word, counted again in every chunk) is first
merged across chunks into a file of its own, which leaves its distinct n-grams only.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ngram.extsort import (
    READ_ROWS,
    ExternalSorter,
    file_rows,
    id_keys,
    key_ids,
    merge_runs,
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
    merged: dict[int, Path] = field(default_factory=dict)  # part -> its groups merged, equal n-grams summed

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
        """(PARTS,) records per part: over all chunks (an upper bound on the distinct ones), or once merged."""
        total = np.zeros(PARTS, np.int64)
        for offsets in self.bounds:
            total += np.diff(offsets)
        for part, path in self.merged.items():
            total[part] = file_rows(path, self.dtype)
        return total

    def merge_part(self, part: int, memory: int) -> None:
        """Merge one part's groups of every chunk into a file of its own, within `memory` (a frequent word's
        part holds the same n-grams in many chunks: merged, it shrinks to the distinct ones)."""
        runs = [(path, int(at[part]), int(at[part + 1] - at[part]))
                for path, at in zip(self.files, self.bounds) if at[part + 1] > at[part]]
        path = self.directory / f"parts{self.n}.merged{part:05d}"
        with open(path, "wb") as out:
            for block in merge_runs(runs, self.dtype, memory, "c"):
                block.tofile(out)
        self.merged[part] = path

    def load(self, first: int, stop: int) -> np.ndarray:
        """Parts first..stop-1, summed over chunks, in part-major order (by part, then lexicographic): each
        part's groups merged (one sorted run per chunk)."""
        pieces: list[list[np.ndarray]] = [[] for _ in range(first, stop)]
        for path, at in zip(self.files, self.bounds):
            with open(path, "rb") as src:
                for i, part in enumerate(range(first, stop)):
                    if at[part + 1] > at[part] and part not in self.merged:
                        src.seek(int(at[part]) * self.dtype.itemsize)
                        pieces[i].append(np.fromfile(src, dtype=self.dtype, count=int(at[part + 1] - at[part])))
        out = []
        for part, group in zip(range(first, stop), pieces):
            if part in self.merged:
                out.append(np.fromfile(self.merged[part], dtype=self.dtype))
            elif len(group) == 1:
                out.append(group[0])
            elif group:
                out.append(sort_records(np.concatenate(group), "c", presorted=True))
        return np.concatenate(out) if out else np.empty(0, self.dtype)

    def blocks(self) -> Iterator[np.ndarray]:
        """Every record, in no particular order, a bounded block at a time."""
        for path, at in zip(self.files, self.bounds):
            for part in range(PARTS):
                if at[part + 1] > at[part] and part not in self.merged:
                    yield from _row_blocks(path, self.dtype, int(at[part]), int(at[part + 1]))
        for path in self.merged.values():
            yield from read_blocks(path, self.dtype)

    def to_sorter(self, memory: int, name: str) -> ExternalSorter:
        """The records as an external sort (for the streaming pipeline), the chunk files removed."""
        sorter = ExternalSorter(self.dtype, memory, self.directory, name, reduce="c")
        for block in self.blocks():
            sorter.add(block)
        self.remove()
        return sorter

    def remove(self) -> None:
        for path in [*self.files, *self.merged.values()]:
            path.unlink(missing_ok=True)
        self.files, self.bounds, self.merged = [], [], {}


def _row_blocks(path: Path, dtype: np.dtype, lo: int, hi: int) -> Iterator[np.ndarray]:
    """Rows lo..hi-1 of a record file, READ_ROWS at a time."""
    with open(path, "rb") as src:
        src.seek(lo * dtype.itemsize)
        for start in range(lo, hi, READ_ROWS):
            yield np.fromfile(src, dtype=dtype, count=min(READ_ROWS, hi - start))


def remapped(runs: PartRuns, remap: np.ndarray) -> PartRuns:
    """The runs with word ids mapped by `remap`, chunk by chunk (a chunk's table fits: it was counted whole)."""
    out = PartRuns(runs.n, runs.dtype, runs.directory)
    assert not runs.merged, "remap before merging parts"
    for path in runs.files:
        records = np.fromfile(path, dtype=runs.dtype)
        path.unlink()
        records["k"] = id_keys(remap[key_ids(records["k"], runs.n)])
        out.add_chunk(sort_records(records, "c"))
    runs.files, runs.bounds = [], []
    return out


def part_weights(runs: dict[int, PartRuns]) -> np.ndarray:
    """(PARTS,) bytes of records per part, all orders."""
    weight = np.zeros(PARTS, np.int64)
    for r in runs.values():
        weight += r.rows() * r.dtype.itemsize
    return weight


def fit_parts(runs: dict[int, PartRuns], limit: int, memory: int) -> None:
    """Merge the parts heavier than `limit` across chunks (see `PartRuns.merge_part`), for every order."""
    for part in np.flatnonzero(part_weights(runs) > limit).tolist():
        for r in runs.values():
            r.merge_part(part, memory)


def plan_batches(runs: dict[int, PartRuns], target: int, largest: int) -> list[tuple[int, int]] | None:
    """Runs of consecutive parts whose records (all orders, every chunk) take at most `target` bytes, a part
    heavier than that in a batch of its own; None when a part is heavier than `largest` (one very frequent word:
    the caller streams instead)."""
    weight = part_weights(runs)
    if weight.max(initial=0) > largest:
        return None
    batches: list[tuple[int, int]] = []
    first, held = 0, 0
    for part in range(PARTS):
        if held + weight[part] > target and part > first:
            batches.append((first, part))
            first, held = part, 0
        held += int(weight[part])
    batches.append((first, PARTS))
    return batches
