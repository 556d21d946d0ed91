"""`--memory SIZE` for (modified) Kneser-Ney to ARPA: text -> counted chunks on disk, filed by second-to-last word
-> adjusted counts and probabilities a batch of words at a time, in memory (`ngram.partitioned_estimate`) ->
ARPA, merged from one sorted run per batch. When one word's part is larger than a batch, every stage is instead
a streaming pass over sorted files (lmplz's pipeline). Either way the memory peak follows the budget, not the
corpus. Held whole: arrays the size of the vocabulary (and the vocabulary).

The seam for other counters (e.g. distributed ones): `estimate_arpa_from_counts` takes a `RawCounts` — unigram
counts plus, per order 2..N, sorted runs of (ids as byte keys, count) records, or chunks filed by part — and
writes the ARPA file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ngram.bounded_counts import RawCounts, adjusted_counts, count_chunks, remap_counts
from ngram.bounded_estimate import estimate_probabilities, write_bounded_arpa
from ngram.chunked_counts import parse_memory
from ngram.counting import EOS_ID, CorpusEncoder, unlisted_words, vocabulary_limit
from ngram.order_limits import check_model_order
from ngram.partitioned_estimate import PartitionedEstimate
from ngram.partitioned_runs import fit_parts, plan_batches
from ngram.pruning import thresholds
from ngram.smoothing import Smoothing, make_smoothing
from tokenizers_kit import resolve_tokenizer
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.errors import CorpusError
from tokenizers_kit.simple import TextTokenizer

BOUNDED_SMOOTHINGS = frozenset({"modified-kneser-ney", "kneser-ney"})
OVERHEAD = 48 << 20  # held outside the stages: a 4 MiB text block's token strings, the vocabulary, NumPy
MIN_CHUNK_TOKENS = 1000  # below this, counting a chunk costs more in fixed work than in tokens
WORD_BYTES = 200  # a vocabulary word: its string, its dict entry and list slot, its slots in the unigram arrays
STAGES = 3  # buffers alive at once in the busiest stage (a merge feeding a sort beside another merge)
BATCH_SHARE = 10  # a batch's counted records take at most this part of the budget (its estimate and the next
# batch, loaded meanwhile, the rest); a single part may take twice that, in a batch of its own, loaded alone


CHUNK_FIXED, CHUNK_PER_ORDER = 88, 24  # bytes per token of a counted chunk (see chunk_bytes_per_token)


def chunk_bytes_per_token(order: int) -> int:
    """Counting a chunk in memory: the stream, count_tables' joint sort and every order's table and records, and
    beside them one order's records being filed and the next chunk's stream (`count_chunks`' threads)."""
    return CHUNK_FIXED + CHUNK_PER_ORDER * order


@dataclass
class Budget:
    total: int
    order: int
    words: int = 0  # the vocabulary, held whole (it grows with the corpus, slowly)

    @property
    def usable(self) -> int:
        rest = self.total - OVERHEAD - self.words * WORD_BYTES
        return max(rest, self.total // 2)  # small budgets: the overhead is the interpreter's

    @property
    def share(self) -> int:
        return self.usable // STAGES

    @property
    def batch_bytes(self) -> int:
        return self.usable // BATCH_SHARE

    @property
    def chunk_tokens(self) -> int:
        return self.usable // chunk_bytes_per_token(self.order)

    def check(self) -> None:
        if self.chunk_tokens < MIN_CHUNK_TOKENS:
            fits = (self.usable // MIN_CHUNK_TOKENS - CHUNK_FIXED) // CHUNK_PER_ORDER
            advice = f"at most order {fits} fits" if fits >= 1 else "no order fits"
            raise ArgumentError(f"--order {self.order} needs chunks of about "
                                f"{(MIN_CHUNK_TOKENS * chunk_bytes_per_token(self.order)) >> 20} MB, more than "
                                f"--memory {self.total >> 20}M allows; {advice}: lower --order or raise --memory")


@dataclass
class BoundedSummary:
    """What the CLI reports after a bounded run."""

    name: str
    sizes: list[int]
    vocab: int
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def estimate_arpa_from_counts(raw: RawCounts, vocab_tokens: list[str], smoother: Smoothing,
                              cutoffs: list[int] | None, drop: np.ndarray | None, output: str | os.PathLike[str],
                              tokenizer_spec: str | None, memory: int, directory: Path) -> BoundedSummary:
    """Adjusted counts, discounts, probabilities and the ARPA file from counted runs (see the module doc)."""
    order = raw.order
    budget = Budget(memory, order, len(vocab_tokens))
    clean = None if drop is None else ~drop
    batches = None
    if raw.parts:
        fit_parts(raw.parts, 2 * budget.batch_bytes, budget.share)
        batches = plan_batches(raw.parts, budget.batch_bytes, 2 * budget.batch_bytes)
    if batches is not None:  # a batch of words at a time, in memory
        estimate = PartitionedEstimate(raw.parts, batches, raw.unigrams, order, cutoffs, clean, budget.share,
                                       directory, in_flight=2 * budget.batch_bytes)
        stats = estimate.count_stats()
        discounts, warnings = smoother.discounts(stats.count_of_counts, order)  # type: ignore[attr-defined]
        probs = estimate.probabilities(stats, discounts)
        sizes = stats.kept[1:]
    else:  # streamed through sorted files (a word too frequent for a batch, or counts from elsewhere)
        adjusted = adjusted_counts(raw.streamed(budget.share), budget.share, directory, cutoffs, clean)
        discounts, warnings = smoother.discounts(adjusted.count_of_counts, order)  # type: ignore[attr-defined]
        probs = estimate_probabilities(adjusted, order, discounts, cutoffs, clean, budget.share, directory)
        sizes = adjusted.kept[1:]
    write_bounded_arpa(output, vocab_tokens, tokenizer_spec, probs, sizes, clean)
    info = smoother.discount_info(discounts, order)  # type: ignore[attr-defined]
    return BoundedSummary(f"{order}-gram {smoother.describe()}", sizes, sizes[0], warnings, info)


def train_arpa_bounded(paths: Sequence[str], output: str | os.PathLike[str], order: int = 3,
                       smoothing: str = "modified-kneser-ney", tokenizer: TextTokenizer | str | None = None, *,
                       memory: int | str, prune: Sequence[int] | None = None, vocab_size: int | None = None,
                       limit_vocab: Iterable[str] | None = None, skip_symbols: bool = False,
                       temp_dir: str | os.PathLike[str] | None = None, on_bytes: Any = None,
                       **params: Any) -> BoundedSummary:
    """Train (modified) Kneser-Ney on text files and write it as ARPA within `memory` bytes."""
    if smoothing not in BOUNDED_SMOOTHINGS:
        raise ArgumentError(f"the bounded --memory estimate writes {' or '.join(sorted(BOUNDED_SMOOTHINGS))}; "
                            f"{smoothing} counts within the budget but estimates in memory")
    if int(order) < 1:
        raise ArgumentError(f"--order must be at least 1 (got {order})")
    check_model_order(int(order))
    smoother = make_smoothing(smoothing, **params)
    cutoffs = thresholds(prune, order)
    budget = Budget(parse_memory(memory), order)
    budget.check()
    tok = resolve_tokenizer(tokenizer)
    encoder = CorpusEncoder(tok, skip_symbols=skip_symbols)
    listed = None if limit_vocab is None else list(limit_vocab)
    directory = Path(tempfile.mkdtemp(prefix="tkit-estimate-", dir=None if temp_dir is None else str(temp_dir)))
    try:
        raw = count_chunks(encoder.encode_files(paths, on_bytes), order,
                           lambda: Budget(budget.total, order, len(encoder.tokens)).chunk_tokens, directory)
        vocab = encoder.vocab
        sentences = int(raw.unigrams[EOS_ID]) if raw.unigrams.size > EOS_ID else 0
        if sentences == 0:
            raise CorpusError("the corpus has no lines: give a file with some text in it")
        tokens = int(raw.unigrams.sum()) - sentences
        uni = np.zeros(len(vocab), np.int64)
        uni[:raw.unigrams.size] = raw.unigrams
        raw.unigrams = uni
        if vocab_size is not None:
            vocab, remap = vocabulary_limit(vocab, uni, vocab_size, None)
            if remap is not None:
                raw = remap_counts(raw, remap, len(vocab), budget.share, directory)
        drop = unlisted_words(vocab, listed) if listed is not None else None
        summary = estimate_arpa_from_counts(raw, list(vocab.tokens), smoother, cutoffs, drop, output,
                                            tok.to_spec(), budget.total, directory)
        summary.info.update(sentences=sentences, tokens=tokens, chunks=raw.chunks)
        return summary
    finally:
        shutil.rmtree(directory, ignore_errors=True)
