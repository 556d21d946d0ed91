"""The bounded Kneser-Ney estimate a batch of words at a time: the counted chunks are filed by the
second-to-last word (`ngram.partitioned_runs`), and each batch of parts holds, for every order, all that its
n-grams' adjusted counts, gammas and interpolated probabilities depend on, so a batch is estimated in memory.
A batch is held part-major (by part, then lexicographic): a context's extensions stay together, and the
left extensions of the n-grams of a part, projected, fall in the same part and in the same order.

Two passes over the batches, because the discounts need every order's count-of-counts first:
1. adjusted counts per batch (an n-gram's count of distinct left extensions, which are in the same batch) and
   the row of each n-gram's suffix, found by the same sort; their count-of-counts, the survivors of pruning,
   the suffix-order maxima (lmplz's end-of-stream rule) and the unigrams' continuation counts
   (vocabulary-sized, in memory);
2. the batch again, as pass 1 saved it (its records merged across chunks, adjusted counts and suffix rows:
   reading them back costs less than merging and sorting again), then u and gamma per context and
   p = u + gamma(h) * p(suffix), order by order as `bounded_estimate` does (same operations in the same
   order, so the same bits). The kept n-grams' log10 p and the contexts' gammas leave as one lexicographically
   sorted run per batch, which the ARPA writer merges.
Pruned n-grams never need a probability: a kept n-gram's suffix is kept.

On two or more cores (`ngram.threaded`) the next batch is loaded while one is estimated, when both fit in
flight, a batch's orders are read and their continuation sorts run side by side, and the sorted runs are
written by a background thread; the same operations in the same order per batch, so the same bytes.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ngram import partitioned_runs
from ngram.bounded_counts import AdjustedTally
from ngram.bounded_estimate import (
    Probabilities,
    context_terms,
    gamma_dtype,
    log_prob,
    prob_dtype,
    unigram_probs,
)
from ngram.counting import BOS_ID
from ngram.extsort import (
    ExternalSorter,
    id_keys,
    key_ids,
    sort_order,
    sort_records,
)
from ngram.partitioned_runs import PartRuns, part_of, part_weights
from ngram.pruning import cutoff_of
from ngram.tables import group_starts
from ngram.threaded import Background, ordered_thread_map, prefetched_within
from tokenizers_kit.running import running_sum


def continuation(upper: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Order-m keys (distinct, part-major) projected on their last m-1 words, which keeps the part: (distinct
    left extensions per projection, in part-major order of the projections; each key's projection's rank)."""
    ids = np.ascontiguousarray(upper).view(">u4").reshape(-1, m)
    if ids.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    part = part_of(upper, m)
    words = part_projection_words(ids)
    if words is None:  # wider than a word: one sort of (part, projection) byte keys over the batch
        return _distinct_runs(part_projection_keys(ids, part))
    starts = np.flatnonzero(np.diff(part)) + 1
    counts, rank = [], np.empty(ids.shape[0], np.int64)
    seen = 0
    for lo, hi in zip(np.append(0, starts), np.append(starts, ids.shape[0])):  # one integer sort per part
        part_counts, part_rank = _distinct_runs(words[lo:hi])
        rank[lo:hi] = part_rank + seen
        counts.append(part_counts)
        seen += part_counts.size
    return np.concatenate(counts), rank


def part_projection_words(ids: np.ndarray) -> np.ndarray | None:
    """(B, m) ids of one batch -> each row's projection (columns 1..m-1) packed into one uint64 that orders the
    rows of one part as the projections' ids do, or None when it does not fit. Within a part the part column
    (the projection's second-to-last word) is known mod PARTS, so only its quotient is packed."""
    m = ids.shape[1]
    cols = [ids[:, c] // np.uint32(partitioned_runs.PARTS) if c == m - 2 else ids[:, c] for c in range(1, m)]
    widths = [max(int(col.max()).bit_length(), 1) for col in cols]
    if sum(widths) > 64:
        return None
    word = cols[0].astype(np.uint64)
    for col, width in zip(cols[1:], widths[1:]):
        word <<= np.uint64(width)
        word |= col
    return word


def part_projection_keys(ids: np.ndarray, part: np.ndarray) -> np.ndarray:
    """(B, m) ids -> byte keys of (part, projection on columns 1..m-1): their order is part-major."""
    keyed = np.empty(ids.shape, np.uint32)
    keyed[:, 0] = part
    keyed[:, 1:] = ids[:, 1:]
    return id_keys(keyed)


def _distinct_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(how many times each distinct key occurs, in key order; each key's rank among the distinct keys)."""
    order = sort_order(keys) if keys.dtype.kind == "S" else np.argsort(keys)
    new = group_starts(keys[order])
    starts = np.flatnonzero(new)
    rank = np.empty(keys.size, np.int64)
    rank[order] = running_sum(new) - 1
    return np.diff(np.append(starts, keys.size)), rank


BATCH_FIELDS = ("records", "adjusted", "suffix_rows")  # a Batch's arrays, in the order `Batch.save` writes them


@dataclass
class Batch:
    """One batch's n-grams of orders 2..N in part-major order: records (`k`, raw `c`), adjusted counts and,
    for orders 3..N, the row of each n-gram's suffix in the order below."""

    records: dict[int, np.ndarray]
    adjusted: dict[int, np.ndarray]
    suffix_rows: dict[int, np.ndarray]

    @classmethod
    def load(cls, runs: dict[int, PartRuns], first: int, stop: int, order: int) -> Batch:
        orders = range(2, order + 1)
        records = dict(zip(orders, ordered_thread_map(lambda n: runs[n].load(first, stop), orders)))
        lower = range(order - 1, 1, -1)
        extensions = dict(zip(lower, ordered_thread_map(lambda n: continuation(records[n + 1]["k"], n + 1), lower)))
        adjusted: dict[int, np.ndarray] = {}
        suffix_rows: dict[int, np.ndarray] = {}
        for n in range(order, 1, -1):
            rec = records[n]
            a = rec["c"].copy()
            if n < order:  # every n-gram not starting with <s> has left extensions, in this batch, in order
                inner = np.flatnonzero(np.ascontiguousarray(rec["k"]).view(">u4").reshape(-1, n)[:, 0] != BOS_ID)
                counts, rank = extensions.pop(n)
                if counts.size != inner.size:
                    raise AssertionError(f"order {n}: left extensions do not match the n-grams")
                a[inner] = counts
                suffix_rows[n + 1] = inner[rank]
            adjusted[n] = a
        return cls(records, adjusted, suffix_rows)

    def save(self, path: Path) -> SavedBatch:
        """The batch's arrays, one after another in one file (pass 2 reads them back instead of merging the
        chunks' groups and sorting the continuations again). Row numbers and the adjusted counts below the top
        order (distinct left extensions: at most the vocabulary) are written as int32 when they fit; the top
        order's adjusted counts are its raw counts, not written again."""
        layout = []
        with open(path, "wb") as out:
            for name in BATCH_FIELDS:
                arrays = getattr(self, name)
                for n, array in arrays.items():
                    if name == "adjusted" and n == max(arrays):
                        layout.append((name, n, None, array.size))
                        continue
                    stored = _narrowed(array) if name != "records" else array
                    np.ascontiguousarray(stored).tofile(out)
                    layout.append((name, n, stored.dtype, array.size))
        return SavedBatch(path, layout)


def _narrowed(values: np.ndarray) -> np.ndarray:
    """Non-negative int64 values as int32 when they fit."""
    return values.astype(np.int32) if values.size and int(values.max()) < 2**31 else values


@dataclass
class SavedBatch:
    """A batch written by `Batch.save`: its file and the (field, order, stored dtype or None for the top order's
    raw counts, rows) of its arrays in turn."""

    path: Path
    layout: list[tuple[str, int, np.dtype | None, int]]

    @property
    def nbytes(self) -> int:
        """Its arrays' bytes once loaded."""
        return sum(8 * rows if name != "records" else dtype.itemsize * rows  # type: ignore[union-attr]
                   for name, _, dtype, rows in self.layout)

    def load(self) -> Batch:
        """The batch back (the file is removed)."""
        fields: dict[str, dict[int, np.ndarray]] = {name: {} for name in BATCH_FIELDS}
        with open(self.path, "rb") as src:
            for name, n, dtype, rows in self.layout:
                if dtype is None:
                    fields[name][n] = np.ascontiguousarray(fields["records"][n]["c"])
                    continue
                array = np.fromfile(src, dtype=dtype, count=rows)
                fields[name][n] = array if name == "records" else array.astype(np.int64, copy=False)
        self.path.unlink()
        return Batch(**fields)


@dataclass
class CountStats:
    """Pass 1's totals: count-of-counts, survivors per order, unigram adjusted counts."""

    count_of_counts: list[np.ndarray]
    kept: list[int]
    unigram_adjusted: np.ndarray


class PartitionedEstimate:
    """Orchestrates the two passes over the batches (see the module doc)."""

    def __init__(self, runs: dict[int, PartRuns], batches: list[tuple[int, int]], unigrams: np.ndarray,
                 order: int, cutoffs: list[int] | None, clean: np.ndarray | None, memory: int,
                 directory: Path, in_flight: int) -> None:
        self.runs, self.batches, self.unigrams, self.order = runs, batches, unigrams, order
        self.cutoffs, self.clean, self.memory, self.directory = cutoffs, clean, memory, directory
        self.in_flight = in_flight  # the counted bytes of the batches held at once (this one and the next)
        self.saved: list[SavedBatch] = []  # pass 1's batches, for pass 2

    def _loaded(self) -> Iterator[Batch]:
        """The batches in turn, the next one loaded while the caller works on this one if both fit in flight."""
        weight = part_weights(self.runs)
        loads = ((int(weight[first:stop].sum()), partial(Batch.load, self.runs, first, stop, self.order))
                 for first, stop in self.batches)
        return prefetched_within(loads, self.in_flight)

    def count_stats(self) -> CountStats:
        """Pass 1; each batch is saved for pass 2 and the chunk files are removed."""
        tally = AdjustedTally(self.order, self.unigrams.size, self.cutoffs, self.clean)
        self.saved = []
        for i, batch in enumerate(self._loaded()):
            for n in range(2, self.order + 1):
                rec = batch.records[n]
                if rec.size:
                    tally.add(n, rec["k"], key_ids(rec["k"], n), rec["c"], batch.adjusted[n])
            self.saved.append(batch.save(self.directory / f"batch{i:05d}"))
        for runs in self.runs.values():
            runs.remove()
        a1, nk, kept = tally.finish(self.unigrams)
        return CountStats(nk, kept, a1)

    def probabilities(self, stats: CountStats, discounts: Sequence[np.ndarray]) -> Probabilities:
        order = self.order
        p1 = unigram_probs(stats.unigram_adjusted, stats.kept[1], discounts[1], self.clean)
        backoff1 = np.zeros(p1.size)
        logp = {n: ExternalSorter(prob_dtype(n), self.memory, self.directory, f"logp{n}")
                for n in range(2, order + 1)}
        gammas = {n: ExternalSorter(gamma_dtype(n), self.memory, self.directory, f"gamma{n}")
                  for n in range(2, order)}
        with Background(waiting=2) as writer:  # a batch's runs are sorted and written while the next is estimated
            for batch in prefetched_within(((saved.nbytes, saved.load) for saved in self.saved), self.in_flight):
                lower_p = np.empty(0)  # order n-1's p in this batch (NaN: pruned)
                for n in range(2, order + 1):
                    rec, a = batch.records.pop(n), batch.adjusted.pop(n)
                    suffix = (np.take(p1, key_ids(rec["k"], n)[:, 1]) if n == 2
                              else lower_p[batch.suffix_rows.pop(n)])
                    cutoff = cutoff_of(self.cutoffs, n)
                    contexts, p = order_probabilities(rec, a, n, discounts[n], cutoff, self.clean, suffix)
                    if n == 2:
                        with np.errstate(divide="ignore"):
                            backoff1[key_ids(contexts["k"], 1)[:, 0]] = np.log10(contexts["g"])
                    elif contexts.size:
                        writer.submit(_add_run, gammas[n - 1], contexts)
                    kept = ~np.isnan(p)
                    if kept.any():
                        out = np.empty(int(np.count_nonzero(kept)), prob_dtype(n))
                        out["k"], out["p"] = rec["k"][kept], log_prob(p[kept])
                        writer.submit(_add_run, logp[n], out)
                    lower_p = p
        logp1 = log_prob(p1)
        logp1[BOS_ID] = 0.0
        return Probabilities(logp1, backoff1, logp, gammas)


def _add_run(sorter: ExternalSorter, records: np.ndarray) -> None:
    """One batch's records of an order, part-major, as a lexicographically sorted run."""
    sorter.add_sorted_run(sort_records(records))


def order_probabilities(rec: np.ndarray, a: np.ndarray, n: int, discounts: np.ndarray, cutoff: int,
                        clean: np.ndarray | None, p_suffix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One order of one batch (part-major): (its contexts with their gamma, p of every n-gram, NaN for the
    pruned ones). `p_suffix`: p of each n-gram's suffix (NaN if pruned)."""
    if rec.size == 0:
        return np.empty(0, gamma_dtype(n - 1)), np.empty(0)
    t = context_terms(rec["k"], rec["c"], a, n, discounts, cutoff, clean)
    p = np.full(rec.size, np.nan)
    p[t.keep] = t.u[t.keep] + t.g[t.keep] * p_suffix[t.keep]
    if np.isnan(p[t.keep]).any():
        raise AssertionError(f"a kept {n}-gram whose suffix is not kept")
    return t.contexts, p
