"""Training an n-gram model: text -> ids -> counts (in memory, or in chunks within a memory budget) ->
smoothing -> NgramModel. The orchestration behind `NgramModel.fit*`, `train_ngram` and `tkit train ngram`."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ngram.chunked_counts import (
    count_windows_chunked,
    pack_ids32,
    parse_memory,
    unpack_ids32,
)
from ngram.counting import (
    EOS_ID,
    CorpusEncoder,
    CountTables,
    count_tables,
    encode_corpus,
    limit_vocabulary,
    unlisted_words,
    vocabulary_limit,
)
from ngram.model import NgramModel
from ngram.order_limits import (
    check_model_order,
    check_order_fits,
    model_bytes,
    sentence_lengths,
)
from ngram.packing import unique_counts
from ngram.pruning import thresholds
from ngram.smoothing import Smoothing, make_smoothing
from ngram.vocab import Vocabulary
from ngram.window_tables import tables_from_windows
from tokenizers_kit import resolve_tokenizer
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import TextTokenizer

# smoothings whose --limit-vocab-file prunes the n-grams with unlisted words, as lmplz (the others map them to <unk>)
PRUNES_UNLISTED = frozenset({"modified-kneser-ney", "kneser-ney"})


def read_vocab_file(path: str) -> list[str]:
    """Words of a --limit-vocab-file: whitespace-separated, as KenLM reads it."""
    from tokenizers_kit.corpus import iter_text_blocks

    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        raise TkitError(f"--limit-vocab-file {path!r} {what}: give a text file of words")
    words = "".join(iter_text_blocks(path)).split()
    if not words:
        raise TkitError(f"--limit-vocab-file {path!r} holds no words: give a text file of words")
    return words


def _check_order(order: int) -> int:
    if int(order) < 1:
        raise TkitError(f"--order must be at least 1 (got {order})")
    check_model_order(int(order))
    return int(order)


def train_files(paths: Sequence[str], order: int = 3, smoothing: str = "modified-kneser-ney",
                tokenizer: TextTokenizer | str | None = None, *, prune: Sequence[int] | None = None,
                vocab_size: int | None = None, limit_vocab: Iterable[str] | None = None, skip_symbols: bool = False,
                memory: int | str | None = None, temp_dir: str | os.PathLike[str] | None = None,
                on_bytes: Callable[[int], None] | None = None, **params: Any) -> NgramModel:
    """Train on text files, one sentence per line.

    prune: count cutoffs per order (KenLM's --prune); vocab_size: rarer words become `<unk>`; limit_vocab: with
    (modified) Kneser-Ney, n-grams with an unlisted word are pruned and the word leaves the vocabulary (lmplz's
    --limit_vocab_file), with the other smoothings unlisted words become `<unk>`;
    memory: count in chunks within this many bytes (e.g. "2G"), spilling sorted runs to `temp_dir` (the tables
    are then built in memory: for a bounded estimate written straight to ARPA see ngram.bounded_train);
    params: the smoothing's settings (k, discount, alpha, discount_fallback, strict)."""
    order = _check_order(order)
    smoother = make_smoothing(smoothing, **params)
    cutoffs = thresholds(prune, order)
    tok = resolve_tokenizer(tokenizer)
    encoder = CorpusEncoder(tok, skip_symbols=skip_symbols)
    return _train(encoder.encode_files(paths, on_bytes), encoder, tok, order, smoother, cutoffs, vocab_size,
                  limit_vocab, memory, temp_dir)


def train_sentences(sentences: Iterable[Sequence[str]], order: int = 3, smoothing: str = "modified-kneser-ney",
                    tokenizer: TextTokenizer | str | None = None, *, prune: Sequence[int] | None = None,
                    vocab_size: int | None = None, limit_vocab: Iterable[str] | None = None,
                    skip_symbols: bool = False, memory: int | str | None = None,
                    temp_dir: str | os.PathLike[str] | None = None, **params: Any) -> NgramModel:
    """Train on sentences given as token lists (the tokenizer is only stored, for scoring text later)."""
    order = _check_order(order)
    smoother = make_smoothing(smoothing, **params)
    cutoffs = thresholds(prune, order)
    tok = resolve_tokenizer(tokenizer)
    encoder = CorpusEncoder(tok, skip_symbols=skip_symbols)
    return _train(encoder.encode_sentences(sentences), encoder, tok, order, smoother, cutoffs, vocab_size,
                  limit_vocab, memory, temp_dir)


def _train(blocks: Iterable[np.ndarray], encoder: CorpusEncoder, tok: TextTokenizer, order: int,
           smoother: Smoothing, cutoffs: list[int] | None, vocab_size: int | None, limit_vocab: Iterable[str] | None,
           memory: int | str | None, temp_dir: str | os.PathLike[str] | None) -> NgramModel:
    listed = None if limit_vocab is None else list(limit_vocab)
    prunes = listed is not None and smoother.name in PRUNES_UNLISTED
    mapped = None if prunes else listed  # the list that maps words to <unk> while counting
    info: dict[str, Any] = {}
    if memory is None:
        corpus = encode_corpus(blocks, encoder)
        if vocab_size is not None or mapped is not None:
            corpus = limit_vocabulary(corpus, vocab_size, mapped)
        vocab = corpus.vocab
        lengths = sentence_lengths(corpus.stream)
        check_order_fits(order, lambda k: model_bytes(lengths, k))
        tables = count_tables(corpus.stream, order, len(vocab))
        sentences = corpus.sentences
        info.update(sentences=sentences, tokens=int(corpus.stream.size) - 2 * sentences)
        del corpus
    else:
        vocab, tables, runs = _count_chunked(blocks, encoder, order, parse_memory(memory), temp_dir,
                                             vocab_size, mapped)
        sentences = int(tables.counts[1][EOS_ID])
        info.update(sentences=sentences, tokens=int(tables.counts[1].sum()) - sentences, runs=runs)
    return model_from_tables(tables, vocab, tok, smoother, cutoffs, listed if prunes else None, info)


def model_from_tables(tables: CountTables, vocab: Vocabulary, tok: TextTokenizer, smoother: Smoothing,
                      cutoffs: list[int] | None, pruned_to: list[str] | None, info: dict[str, Any]) -> NgramModel:
    """Estimate the model from counted tables (shared by every way of counting). `pruned_to`: lmplz's
    --limit_vocab_file list, whose unlisted words' n-grams the estimate drops."""
    if info["sentences"] == 0:
        raise CorpusError("the corpus has no lines: give a file with some text in it")
    if pruned_to is not None:
        tables.drop_words = unlisted_words(vocab, pruned_to)
    estimate = smoother.estimate(tables, cutoffs)
    counts: CountTables | None = tables
    if tables.drop_words is not None:
        # the estimate dropped the unlisted words' unigrams; a .npz keeps the backoff tables (its counts
        # would need the word list to be re-estimated)
        vocab = Vocabulary([t for t, d in zip(vocab.tokens, tables.drop_words.tolist()) if not d])
        counts = None
    info.update(estimate.info, vocab=len(vocab))
    return NgramModel(vocab, estimate.scorer, tok, smoothing=smoother, counts=counts, prune=cutoffs,
                      warnings=estimate.warnings, info=info)


def _count_chunked(blocks: Iterable[np.ndarray], encoder: CorpusEncoder, order: int, memory: int,
                   temp_dir: str | os.PathLike[str] | None, vocab_size: int | None,
                   limit_vocab: Iterable[str] | None) -> tuple[Vocabulary, CountTables, int]:
    rows, counts, runs = count_windows_chunked(blocks, order, memory, temp_dir)
    if rows.shape[0] == 0:
        raise CorpusError("the corpus has no lines: give a file with some text in it")
    vocab = encoder.vocab
    if vocab_size is not None or limit_vocab is not None:
        freq = np.bincount(rows[:, -1], weights=counts, minlength=len(vocab))  # each token ends one window
        vocab, remap = vocabulary_limit(vocab, freq, vocab_size, limit_vocab)
        if remap is not None:
            keys, counts = unique_counts(pack_ids32(remap[rows]), counts)
            rows = unpack_ids32(keys, order)
    return vocab, tables_from_windows(rows, counts, len(vocab)), runs
