"""The client's side: run the stages on a Dask cluster and hand the sorted tables to an estimator."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ngram.bounded_train import (
    BOUNDED_SMOOTHINGS,
    BoundedSummary,
    Budget,
    estimate_arpa_from_counts,
)
from ngram.chunked_counts import parse_memory
from ngram.counting import BOS_ID, EOS_ID, unlisted_words, vocabulary_limit
from ngram.distributed.encode_stage import RangeVocab, encode_range, merge_vocabularies
from ngram.distributed.handoff import (
    raw_counts_from_shares,
    read_shares,
    tables_from_shares,
)
from ngram.distributed.shuffle import reduce_share, share_count, splitters
from ngram.distributed.window_stage import Run, count_range_windows, key_width
from ngram.model import NgramModel
from ngram.ngram_counts import NgramCounts
from ngram.pruning import thresholds
from ngram.smoothing import make_smoothing
from ngram.train import PRUNES_UNLISTED, _check_order, model_from_tables
from ngram.vocab import Vocabulary
from tokenizers_kit import resolve_tokenizer
from tokenizers_kit.byte_ranges import auto_range_bytes, split_ranges
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.cluster import StageProgress, run_stage, worker_count
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.memory import available_memory
from tokenizers_kit.simple import TextTokenizer

DEFAULT_BUDGET_FLOOR = 256 << 20  # the client's default budget when little memory is free: the estimate spills


@dataclass
class SortedWindows:
    """What the stages leave: the vocabulary, the unigram counts and the shares that hold the sorted windows
    table (or, `per_order`, each order's sorted n-grams)."""

    vocab: Vocabulary
    shares: list[tuple[str, int]]
    ranges: int
    unigrams: np.ndarray
    orders: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


def count_windows(client: Any, paths: Sequence[str], order: int, tokenizer: TextTokenizer, workdir: str, *,
                  vocab_size: int | None = None, limit_vocab: Iterable[str] | None = None,
                  skip_symbols: bool = False, progress: StageProgress | None = None,
                  range_bytes: int | None = None, per_order: bool = False) -> SortedWindows:
    """Stages 1-3 in `workdir` (a folder every worker sees): the windows of order `order`, sorted in shares;
    `per_order`: the n-grams of each order 2..N, sorted in shares of their own (none for order 1)."""
    if order < 1:
        raise TkitError(f"--order must be at least 1 (got {order})")
    ranges = split_ranges(paths, range_bytes or auto_range_bytes(paths, worker_count(client)))
    spec = tokenizer.to_spec()
    stem = [os.path.join(workdir, f"range{i:06d}") for i in range(len(ranges))]
    n = len(ranges)
    encoded: list[RangeVocab] = run_stage(client, client.map(
        encode_range, ranges, [spec] * n, [skip_symbols] * n, [f"{s}.ids" for s in stem], pure=False),
        "reading", progress)
    vocab, maps, freq = merge_vocabularies(encoded)
    if sum(e.lines for e in encoded) == 0:
        raise CorpusError("the corpus has no lines: give a file with some text in it")
    if vocab_size is not None or limit_vocab is not None:
        vocab, remap = vocabulary_limit(vocab, freq, vocab_size, limit_vocab)
        if remap is not None:
            maps = [remap[m] for m in maps]
            freq = np.bincount(remap, weights=freq, minlength=len(vocab)).astype(np.int64)
    unigrams = freq.copy()
    unigrams[BOS_ID] = 0  # <s> is never predicted
    if per_order and order < 2:
        return SortedWindows(vocab, [], n, unigrams)
    per_range: list[list[Run]] = run_stage(client, client.map(
        count_range_windows, [f"{s}.ids" for s in stem], maps, [order] * n, [f"{s}.win" for s in stem],
        [per_order] * n, pure=False), "counting", progress)
    by_order: dict[int, list[Run]] = {}
    for runs in per_range:
        for run in runs:
            by_order.setdefault(run.order, []).append(run)
    tasks = []
    for key, runs in sorted(by_order.items()):
        cuts = splitters(runs, share_count(runs, worker_count(client)))
        inputs = [(r.stem, r.rows) for r in runs if r.rows]
        for i, (lo, hi) in enumerate(zip([None, *cuts], [*cuts, None])):
            out = os.path.join(workdir, f"share{i:05d}" + (f".o{key}" if key else ""))
            tasks.append((key, client.submit(reduce_share, inputs, key_width(key or order), lo, hi, out, key,
                                             pure=False)))
    shares = run_stage(client, [f for _, f in tasks], "merging", progress)
    orders: dict[int, list[tuple[str, int]]] = {}
    for (key, _), share in zip(tasks, shares):
        orders.setdefault(key, []).append(share)
    return SortedWindows(vocab, orders.get(0, []), n, unigrams, orders)


def count_ngrams_distributed(client: Any, paths: Sequence[str], order: int, tokenizer: TextTokenizer, workdir: str,
                             **options: Any) -> NgramCounts:
    """`ngram_counts.count_ngrams` on a cluster: the same rows, counts and vocabulary."""
    done = count_windows(client, paths, order, tokenizer, workdir, **options)
    rows, counts = read_shares(done.shares, order)
    return NgramCounts(order, done.vocab, rows, counts, tokenizer.to_spec())


def train_files_distributed(client: Any, paths: Sequence[str], workdir: str, order: int = 3,
                            smoothing: str = "modified-kneser-ney", tokenizer: TextTokenizer | str | None = None, *,
                            prune: Sequence[int] | None = None, vocab_size: int | None = None,
                            limit_vocab: Iterable[str] | None = None, skip_symbols: bool = False,
                            progress: StageProgress | None = None, range_bytes: int | None = None,
                            **params: Any) -> NgramModel:
    """`ngram.train.train_files` on a cluster: the same model (the same ARPA)."""
    order = _check_order(order)
    smoother = make_smoothing(smoothing, **params)
    cutoffs = thresholds(prune, order)
    tok = resolve_tokenizer(tokenizer)
    listed = None if limit_vocab is None else list(limit_vocab)
    prunes = listed is not None and smoother.name in PRUNES_UNLISTED
    done = count_windows(client, paths, order, tok, workdir, vocab_size=vocab_size,
                         limit_vocab=None if prunes else listed, skip_symbols=skip_symbols, progress=progress,
                         range_bytes=range_bytes)
    tables = tables_from_shares(done.shares, order, len(done.vocab))
    sentences = int(tables.counts[1][EOS_ID])
    info = {"sentences": sentences, "tokens": int(tables.counts[1].sum()) - sentences, "ranges": done.ranges,
            "shares": len(done.shares)}
    return model_from_tables(tables, done.vocab, tok, smoother, cutoffs, listed if prunes else None, info)



def train_arpa_distributed(client: Any, paths: Sequence[str], workdir: str, output: str | os.PathLike[str],
                           order: int = 3, smoothing: str = "modified-kneser-ney",
                           tokenizer: TextTokenizer | str | None = None, *, memory: int | str,
                           prune: Sequence[int] | None = None, vocab_size: int | None = None,
                           limit_vocab: Iterable[str] | None = None, skip_symbols: bool = False,
                           temp_dir: str | os.PathLike[str] | None = None, progress: StageProgress | None = None,
                           range_bytes: int | None = None, **params: Any) -> BoundedSummary:
    """`ngram.bounded_train.train_arpa_bounded` on a cluster: counted and shuffled per order on the workers,
    estimated on the client within `memory` bytes from the shares as they lie. The same ARPA file."""
    if smoothing not in BOUNDED_SMOOTHINGS:
        raise ArgumentError(f"the bounded estimate writes {' or '.join(sorted(BOUNDED_SMOOTHINGS))}, "
                            f"not {smoothing}")
    order = _check_order(order)
    smoother = make_smoothing(smoothing, **params)
    cutoffs = thresholds(prune, order)
    budget = Budget(parse_memory(memory), order)
    budget.check()
    tok = resolve_tokenizer(tokenizer)
    listed = None if limit_vocab is None else list(limit_vocab)
    done = count_windows(client, paths, order, tok, workdir, vocab_size=vocab_size, skip_symbols=skip_symbols,
                         progress=progress, range_bytes=range_bytes, per_order=True)
    drop = unlisted_words(done.vocab, listed) if listed is not None else None
    raw = raw_counts_from_shares(done.orders, done.unigrams, order)
    directory = Path(tempfile.mkdtemp(prefix="tkit-estimate-", dir=None if temp_dir is None else str(temp_dir)))
    try:
        summary = estimate_arpa_from_counts(raw, list(done.vocab.tokens), smoother, cutoffs, drop, output,
                                            tok.to_spec(), budget.total, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    sentences = int(done.unigrams[EOS_ID])
    summary.info.update(sentences=sentences, tokens=int(done.unigrams.sum()) - sentences, ranges=done.ranges,
                        shares=sum(len(s) for s in done.orders.values()))
    return summary


def client_budget(memory: int | str | None, order: int) -> int:
    """The client's budget for the estimate: `--memory`, or half of the memory free here (the estimate streams
    either way; a large budget only spares it disk passes). Checked before any work starts."""
    total = parse_memory(memory) if memory is not None else max(DEFAULT_BUDGET_FLOOR, available_memory() // 2)
    Budget(total, order).check()
    return total
