"""Counting for the bounded estimator (`--memory`), and the streaming form of its adjusted counts.

Each chunk of the id stream (whole sentences, sized to the budget) is counted in memory with `count_tables`;
its n-grams of every order come out in lexicographic order and are filed by their second-to-last word
(`ngram.partitioned_runs`), which the batch estimate reads (`ngram.partitioned_estimate`). When a part is too
large for a batch (or the counts come as sorted runs from elsewhere), the streaming pipeline below takes over:
merging the runs of order n gives its raw counts in lexicographic order. The adjusted counts (adjust_counts.cc)
of order n < N are the continuation counts: how many distinct (n+1)-grams end in the n-gram. Projecting every
(n+1)-gram on its last n words and counting those in an external sort gives them in the same lexicographic
order, one per n-gram not starting with `<s>` (each of those is preceded by a word or `<s>` somewhere), so the
two streams are walked side by side. Held whole: only vocabulary-sized arrays (unigrams).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ngram.counting import BOS_ID, count_tables
from ngram.extsort import (
    ExternalSorter,
    Taker,
    id_keys,
    key_dtype,
    key_ids,
    key_slice,
    reversed_keys,
    write_records,
)
from ngram.partitioned_runs import PartRuns, remapped
from ngram.pruning import cutoff_of
from ngram.smoothing.stream_end import record_raw
from ngram.tables import NgramIndex
from ngram.threaded import Background, prefetched


def count_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n)), ("c", np.int64)])


def adjusted_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n)), ("c", np.int64), ("a", np.int64)])


def order_rows(index: NgramIndex, n: int) -> np.ndarray:
    """Every order-n n-gram of an index as word ids (M, n), following the prefix links."""
    out = np.empty((index.size(n), n), dtype=np.int32)
    v = np.uint64(index.vocab_size)
    keys = index.keys[n]
    for m in range(n, 1, -1):
        out[:, m - 1] = keys % v
        prefix = keys // v
        keys = index.keys[m - 1][prefix] if m > 2 else prefix
    out[:, 0] = keys
    return out


def order_keys(index: NgramIndex) -> Iterator[tuple[int, np.ndarray]]:
    """(n, byte keys of every order-n n-gram) for n = 2..N: `id_keys(order_rows(index, n))`, built from the
    order below's rows (the keys are sorted, so the prefix rows are read in order) and the last word."""
    v = np.uint64(index.vocab_size)
    below = np.empty((0, 1), ">u4")  # order n-1's rows as big-endian ids: viewed as byte keys, no conversion
    for n in range(2, index.order + 1):
        keys = index.keys[n]
        rows = np.empty((keys.size, n), ">u4")
        if n == 2:
            rows[:, 0] = keys // v
        else:
            np.take(below, (keys // v).astype(np.intp), axis=0, out=rows[:, :n - 1])  # NumPy 1.x: no uint64 index
        rows[:, n - 1] = keys % v
        yield n, rows.view(key_dtype(n)).reshape(-1)
        below = rows


def sentence_chunks(blocks: Iterable[np.ndarray], size: Callable[[], int]) -> Iterator[np.ndarray]:
    """The `<s> ... </s>` stream regrouped into chunks of about `size()` ids (asked again for every chunk: it
    shrinks as the vocabulary grows), cut at sentence starts."""
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += block.size
        while held >= (tokens := size()):
            stream = np.concatenate(pending)
            # the last sentence start within the chunk, past its half; else (a longer sentence) the first after
            starts = np.append(np.flatnonzero(stream == BOS_ID), stream.size)  # the stream ends a sentence
            within = starts[starts <= tokens]
            cut = int(within[-1]) if within.size and within[-1] >= tokens // 2 else int(starts[starts > tokens][0])
            yield stream[:cut]
            pending, held = ([stream[cut:]] if cut < stream.size else []), stream.size - cut
    if held:
        yield np.concatenate(pending)


@dataclass
class RawCounts:
    """The counted corpus: unigram counts in memory, orders 2..N as sorted runs in their sorters (`sorters`), or
    as chunk files filed by the second-to-last word (`parts`, see `ngram.partitioned_runs`)."""

    order: int
    unigrams: np.ndarray
    sorters: dict[int, ExternalSorter] = field(default_factory=dict)
    chunks: int = 0
    parts: dict[int, PartRuns] = field(default_factory=dict)

    def streamed(self, memory: int) -> RawCounts:
        """The counts as sorters (the streaming pipeline's input); the part files move into them."""
        if self.parts:
            self.sorters = {n: runs.to_sorter(memory, f"raw{n}") for n, runs in self.parts.items()}
            self.parts = {}
        return self


def count_chunks(blocks: Iterable[np.ndarray], order: int, chunk_tokens: Callable[[], int],
                 directory: Path) -> RawCounts:
    """Count each chunk (of about `chunk_tokens()` ids) in memory and file its tables of orders 2..N by part."""
    out = RawCounts(order, np.zeros(3, np.int64))
    out.parts = {n: PartRuns(n, count_dtype(n), directory) for n in range(2, order + 1)}
    with Background() as writer:  # a chunk's tables are filed while the next chunk is encoded and counted
        for chunk in prefetched(sentence_chunks(blocks, chunk_tokens)):
            tables = count_tables(chunk, order, int(chunk.max()) + 1)
            uni = tables.counts[1]
            if uni.size > out.unigrams.size:
                out.unigrams = np.concatenate([out.unigrams, np.zeros(uni.size - out.unigrams.size, np.int64)])
            out.unigrams[:uni.size] += uni
            for n, keys in order_keys(tables.index):
                if keys.size:
                    records = np.empty(keys.size, count_dtype(n))
                    records["k"], records["c"] = keys, tables.counts[n]
                    writer.submit(out.parts[n].add_chunk, records)
            out.chunks += 1
            del tables
    return out


def remap_counts(raw: RawCounts, remap: np.ndarray, vocab_size: int, memory: int, directory: Path) -> RawCounts:
    """The counts with word ids mapped by `remap` (rare words to `<unk>`): re-sorted, equal n-grams summed."""
    unigrams = np.bincount(remap[:raw.unigrams.size], weights=raw.unigrams, minlength=vocab_size).astype(np.int64)
    unigrams[BOS_ID] = 0
    out = RawCounts(raw.order, unigrams, chunks=raw.chunks)
    out.parts = {n: remapped(runs, remap) for n, runs in raw.parts.items()}
    for n, sorter in raw.sorters.items():
        again = ExternalSorter(count_dtype(n), memory, directory, f"remap{n}", reduce="c")
        for block in sorter.sorted_blocks():
            mapped = block.copy()
            mapped["k"] = id_keys(remap[key_ids(block["k"], n)])
            again.add(mapped)
        out.sorters[n] = again
    return out


@dataclass
class Adjusted:
    """Adjusted counts: order n's records (`k`, raw `c`, adjusted `a`) in a lexicographically sorted file
    (unigrams in memory), the count-of-counts per order (lmplz's end-of-stream rule applied), and how many
    n-grams per order survive pruning."""

    files: dict[int, Path]
    unigram_adjusted: np.ndarray
    count_of_counts: list[np.ndarray]
    kept: list[int]


def suffix_max(ids: np.ndarray) -> int:
    """Row of the largest of (B, n) ids in lmplz's suffix order (last word first)."""
    rows = np.arange(ids.shape[0])
    for col in range(ids.shape[1] - 1, -1, -1):
        column = ids[rows, col]
        rows = rows[column == column.max()]
    return int(rows[0])


def keep_rows(ids: np.ndarray, counts: np.ndarray, cutoff: int, clean: np.ndarray | None) -> np.ndarray:
    """Which n-grams survive: count above the cutoff and no dropped word (keep_masks, one block)."""
    keep = counts > cutoff
    if clean is not None:
        keep &= np.all(clean[ids], axis=1)
    return keep


class AdjustedTally:
    """What the discounts and the ARPA header need from the adjusted counts, order n's records added in any
    number of pieces: count-of-counts, survivors of pruning, the suffix-order maxima (lmplz's end-of-stream
    rule) and the unigrams' continuation counts (from the bigrams)."""

    def __init__(self, order: int, vocab_size: int, cutoffs: list[int] | None, clean: np.ndarray | None) -> None:
        self.order, self.cutoffs, self.clean = order, cutoffs, clean
        self.nk = [np.zeros(5, np.int64) for _ in range(order + 1)]
        self.kept = [0] * (order + 1)
        self.tail: dict[int, tuple[bytes, int, int]] = {}  # order -> (reversed key, raw, adjusted) of its max
        self.cont1 = np.zeros(vocab_size, np.int64)

    def add(self, n: int, keys: np.ndarray, ids: np.ndarray, counts: np.ndarray, a: np.ndarray) -> None:
        """Order-n records: byte keys, their (B, n) ids, raw and adjusted counts."""
        self.nk[n] += np.bincount(np.minimum(a, 5), minlength=6)[:5]
        self.kept[n] += int(np.count_nonzero(keep_rows(ids, counts, cutoff_of(self.cutoffs, n), self.clean)))
        if n < self.order:
            row = suffix_max(ids)
            rk = reversed_keys(keys[row:row + 1], n)[0]
            if n not in self.tail or rk > self.tail[n][0]:
                self.tail[n] = (rk, int(counts[row]), int(a[row]))
        if n == 2:
            self.cont1 += np.bincount(ids[:, 1], minlength=self.cont1.size)

    def finish(self, uni: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[int]]:
        """(unigram adjusted counts, count-of-counts, survivors per order), the unigrams and the stream end in."""
        v, nk, kept = uni.size, self.nk, self.kept
        a1 = uni.copy() if self.order == 1 else np.where(np.arange(v) == BOS_ID, uni, self.cont1)
        nk[1] = np.array([np.count_nonzero(a1 == k) for k in range(5)], dtype=np.int64)
        kept[1] = v if self.clean is None else int(np.count_nonzero(self.clean))
        record_stream_end(nk, uni, a1, self.tail, self.order)
        return a1, nk, kept


def adjusted_counts(raw: RawCounts, memory: int, directory: Path, cutoffs: list[int] | None,
                    clean: np.ndarray | None) -> Adjusted:
    """Orders N down to 1: merge order n's runs, pair them with its continuation counts (projected from
    order n+1 in the previous step) and write them; project order n onto order n-1 on the way."""
    order = raw.order
    tally = AdjustedTally(order, raw.unigrams.size, cutoffs, clean)
    files: dict[int, Path] = {}
    continuation: ExternalSorter | None = None
    for n in range(order, 1, -1):
        lower = ExternalSorter(count_dtype(n - 1), memory, directory, f"cont{n - 1}", reduce="c") if n > 2 else None
        taker = Taker(continuation.sorted_blocks()) if continuation is not None else None
        files[n] = directory / f"adjusted{n}"
        write_records(files[n], np.empty(0, adjusted_dtype(n)), "wb")
        for block in raw.sorters[n].sorted_blocks():
            ids = key_ids(block["k"], n)
            records = np.empty(block.size, adjusted_dtype(n))
            records["k"], records["c"] = block["k"], block["c"]
            a = block["c"].copy()
            if taker is not None:
                inner = ids[:, 0] != BOS_ID
                found = taker.take(int(np.count_nonzero(inner)))
                a[inner] = found["c"]
            records["a"] = a
            write_records(files[n], records)
            tally.add(n, block["k"], ids, block["c"], a)
            if lower is not None:
                projected = np.empty(block.size, count_dtype(n - 1))
                projected["k"] = key_slice(block["k"], n, 1, n)
                projected["c"] = 1
                lower.add(projected)
        continuation = lower
    a1, nk, kept = tally.finish(raw.unigrams)
    return Adjusted(files, a1, nk, kept)


def record_stream_end(nk: list[np.ndarray], uni: np.ndarray, a1: np.ndarray,
                      tail: dict[int, tuple[bytes, int, int]], order: int) -> None:
    """lmplz records the n-grams still open at the end of its pass (the suffix-order maxima of orders 1..N-1,
    up to the first one starting with `<s>`) with their raw count (see stream_end.last_suffix_chain)."""
    seen = np.flatnonzero(uni)
    seen = seen[seen != BOS_ID]
    if order < 2 or seen.size == 0:
        return
    last = int(seen[-1])
    nk[1] = record_raw(nk[1], int(a1[last]), int(uni[last]))
    for n in range(2, order):
        rk, raw_count, adjusted = tail[n]
        nk[n] = record_raw(nk[n], adjusted, raw_count)
        first = int(key_ids(np.array([rk], key_dtype(n)), n)[0, -1])  # reversed: the first word is last
        if first == BOS_ID:
            break
