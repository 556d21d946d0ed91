"""The client's side: run the stages on a Dask cluster and hand the sorted table to the estimator."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ngram.counting import EOS_ID, vocabulary_limit
from ngram.distributed.encode_stage import RangeVocab, encode_range, merge_vocabularies
from ngram.distributed.handoff import read_shares, tables_from_shares
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
from tokenizers_kit.cluster import StageProgress, run_stage, worker_count
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import TextTokenizer


@dataclass
class SortedWindows:
    """What the stages leave: the vocabulary and the shares that hold the sorted windows table."""

    vocab: Vocabulary
    shares: list[tuple[str, int]]
    ranges: int


def count_windows(client: Any, paths: Sequence[str], order: int, tokenizer: TextTokenizer, workdir: str, *,
                  vocab_size: int | None = None, limit_vocab: Iterable[str] | None = None,
                  skip_symbols: bool = False, progress: StageProgress | None = None,
                  range_bytes: int | None = None) -> SortedWindows:
    """Stages 1-3 in `workdir` (a folder every worker sees): the windows of order `order`, sorted in shares."""
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
    runs: list[Run] = run_stage(client, client.map(
        count_range_windows, [f"{s}.ids" for s in stem], maps, [order] * n, [f"{s}.win" for s in stem], pure=False),
        "counting", progress)
    cuts = splitters(runs, share_count(runs, worker_count(client)))
    bounds = list(zip([None, *cuts], [*cuts, None]))
    inputs = [(r.stem, r.rows) for r in runs if r.rows]
    k = len(bounds)
    shares = run_stage(client, client.map(
        reduce_share, [inputs] * k, [key_width(order)] * k, [lo for lo, _ in bounds], [hi for _, hi in bounds],
        [os.path.join(workdir, f"share{i:05d}") for i in range(k)], pure=False), "merging", progress)
    return SortedWindows(vocab, shares, len(ranges))


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

