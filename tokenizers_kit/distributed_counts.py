"""Counting a tokenizer's training chunks on a Dask cluster: the same `ChunkCounts` as `count_chunks`.

Each task counts the chunks of one byte range with `training._BlockCounter` (the single-machine counter) and
splits its counts by a hash of the chunk into buckets; the buckets are summed across ranges by a tree of
merge tasks, one tree per bucket, so no task holds more than its share. The client trains from the merged
counts. Each chunk carries the position of its first appearance (range, rank in the range), so the merged
dict lists the chunks in the order of the single-machine run and training gives the same tokenizer.json.
Tasks are pure functions of (range, settings): a task rerun after a lost worker gives the same result.
"""
from __future__ import annotations

import functools
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenizers_kit.byte_ranges import (
    ByteRange,
    auto_range_bytes,
    iter_range_text,
    split_ranges,
)
from tokenizers_kit.cluster import StageProgress, run_stage, worker_count
from tokenizers_kit.training import ChunkCounts, Pipeline, _BlockCounter, build_pipeline

RANK_BITS = 40  # a first-appearance position is range << RANK_BITS | rank in the range
FAN_IN = 4  # partial counts merged per tree task

# chunk -> [count, first position]
Bucket = dict[str, list[int]]


@dataclass(frozen=True)
class CountSettings:
    """What a worker needs to rebuild the counter: the algorithm, build_pipeline's keywords, the specials."""

    algo: str
    settings: tuple[tuple[str, Any], ...]
    specials: tuple[str, ...]

    @classmethod
    def of(cls, pipeline: Pipeline, specials: Sequence[str]) -> CountSettings:
        return cls(pipeline.algo, tuple(sorted(pipeline.settings.items())), tuple(specials))


@dataclass
class RangeStats:
    lines: int = 0
    chars: int = 0
    bytes: int = 0
    blank: bool = True


@functools.lru_cache(maxsize=4)
def _counter(settings: CountSettings) -> _BlockCounter:
    """One counter per worker process and settings (building the pipeline compiles its patterns)."""
    return _BlockCounter(build_pipeline(settings.algo, **dict(settings.settings)), settings.specials)


def bucket_of(chunk: str, buckets: int) -> int:
    """A hash that is the same in every process (Python's str hash is salted per process)."""
    return zlib.crc32(chunk.encode("utf-8", "surrogatepass")) % buckets


def count_range(rng: ByteRange, index: int, settings: CountSettings, buckets: int) -> tuple[list[Bucket], RangeStats]:
    """The chunk counts of one range, split into `buckets` by hash, with the range's line/char/byte totals."""
    counter = _counter(settings)
    total: Counter = Counter()
    stats = RangeStats()
    for block, nbytes in iter_range_text(rng):
        counts, lines, chars, blank = counter(block)
        total.update(counts)
        stats.lines += lines
        stats.chars += chars
        stats.bytes += nbytes
        stats.blank = stats.blank and blank
    pre = counter.pipeline.pre_tokenizer
    transform = pre.transform if pre is not None else None
    out: list[Bucket] = [{} for _ in range(buckets)]
    base = index << RANK_BITS
    for rank, (chunk, n) in enumerate(total.items()):  # first-appearance order within the range
        key = transform(chunk) if transform is not None else chunk
        bucket = out[bucket_of(key, buckets)]
        entry = bucket.get(key)
        if entry is None:
            bucket[key] = [n, base + rank]
        else:  # an earlier chunk with the same transformed form: it keeps its (smaller) position
            entry[0] += n
    return out, stats


def pick(parts: tuple[list[Bucket], RangeStats], bucket: int) -> Bucket:
    return parts[0][bucket]


def merge_buckets(*parts: Bucket) -> Bucket:
    """Sum counts; keep the earliest first position."""
    out: Bucket = {}
    for part in parts:
        for key, (n, pos) in part.items():
            entry = out.get(key)
            if entry is None:
                out[key] = [n, pos]
            else:
                entry[0] += n
                entry[1] = min(entry[1], pos)
    return out


def _tree(client: Any, leaves: list[Any]) -> Any:
    """One future for the merge of all `leaves`, FAN_IN at a time."""
    level = leaves
    while len(level) > 1:
        level = [client.submit(merge_buckets, *level[i:i + FAN_IN], pure=False) for i in range(0, len(level), FAN_IN)]
    return level[0]


def count_chunks_distributed(client: Any, paths: Sequence[str], pipeline: Pipeline,
                             special_tokens: Sequence[str] = (), *, progress: StageProgress | None = None,
                             range_bytes: int | None = None) -> ChunkCounts:
    """`training.count_chunks` on a Dask cluster (files only: the workers read them from the shared path)."""
    ranges = split_ranges(paths, range_bytes or auto_range_bytes(paths, worker_count(client)))
    settings = CountSettings.of(pipeline, special_tokens)
    buckets = max(1, min(len(ranges), 2 * worker_count(client)))
    n = len(ranges)
    maps = client.map(count_range, ranges, range(n), [settings] * n, [buckets] * n, pure=False)
    trees = [_tree(client, client.map(pick, maps, [b] * n, pure=False)) for b in range(buckets)]
    stats = run_stage(client, client.map(pick_stats, maps, pure=False), "counting chunks", progress)
    merged = run_stage(client, trees, "merging counts", progress)
    del maps
    return _chunk_counts(merged, stats, pipeline)


def pick_stats(parts: tuple[list[Bucket], RangeStats]) -> RangeStats:
    return parts[1]


def _first(entry: tuple[int, str, int]) -> int:
    return entry[0]


def _chunk_counts(buckets: list[Bucket], stats: list[RangeStats], pipeline: Pipeline) -> ChunkCounts:
    """The merged buckets as one dict in first-appearance order, with the totals of every range."""
    entries = sorted(((pos, key, n) for bucket in buckets for key, (n, pos) in bucket.items()), key=_first)
    result = ChunkCounts(counts={key: n for _, key, n in entries})
    for s in stats:
        result.lines += s.lines
        result.chars += s.chars
        result.bytes += s.bytes
        result.blank = result.blank and s.blank
    return result
