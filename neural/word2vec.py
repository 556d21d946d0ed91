"""word2vec training (Mikolov et al. 2013): skip-gram or CBOW with negative sampling, frequent-word
subsampling and a linearly decaying learning rate, over batches of centers (`word2vec_kernel`).

`train_word2vec(files, tokenizer, config)` reads a corpus (one sentence per line; windows never cross a line,
as gensim treats each line as a sentence) and returns `WordVectors`. With `workers > 1` the batches run in
worker processes that update shared weights without locks (Hogwild, as word2vec.c and gensim do with
threads), so only a one-worker run is reproducible from its seed.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neural.word2vec_kernel import cbow_update, make_batch, skipgram_update
from neural.word2vec_vocab import (
    Vocab,
    build_vocab,
    draw_negatives,
    keep_probabilities,
    noise_cdf,
)
from neural.word2vec_workers import run_workers, shared_tables
from neural.word_vectors import WordVectors
from tokenizers_kit import TextTokenizer, resolve_tokenizer
from tokenizers_kit.checks import require_int, require_real
from tokenizers_kit.corpus import iter_lines

CENTERS_PER_BATCH = 1024
# A batch sums the updates of all its pairs from the same starting weights; a word met many times in one batch
# would take all those steps at once (sequential SGD slows down as the sigmoid saturates), which diverges on a
# small vocabulary. Batches therefore hold at most a quarter of the vocabulary's size in centers.
CENTERS_PER_WORD = 0.25


def centers_per_batch(config: "Word2VecConfig", vocab_size: int) -> int:
    return max(1, min(config.batch, int(vocab_size * CENTERS_PER_WORD)))


@dataclass(frozen=True)
class Word2VecConfig:
    """gensim's defaults, plus `workers`, `batch` (centers per batch) and `share_negatives`."""

    dim: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    sample: float = 1e-3
    epochs: int = 5
    cbow: bool = False
    alpha: float = 0.025
    min_alpha: float = 0.0001
    seed: int = 1
    workers: int = 1
    batch: int = CENTERS_PER_BATCH
    share_negatives: int = 2    # consecutive centers drawing one set of negatives together (1: one set each)

    def __post_init__(self) -> None:
        for name in ("dim", "window", "negative", "min_count", "epochs", "workers", "batch", "share_negatives"):
            require_int(name, getattr(self, name), low=1)
        require_int("seed", self.seed, low=0)
        require_real("sample", self.sample, low=0.0, high=1.0)
        require_real("alpha", self.alpha, low=0.0, high=10.0, low_open=True)
        require_real("min_alpha", self.min_alpha, low=0.0, high=self.alpha)


@dataclass
class Corpus:
    vocab: Vocab
    ids: np.ndarray        # (n,) int32 word ids of the in-vocabulary tokens, in corpus order
    sentence: np.ndarray   # (n,) int64 line number of each token
    tokens: int            # all tokens read, out-of-vocabulary ones included


def corpus_from_sentences(sentences: Sequence[Sequence[str]], min_count: int) -> Corpus:
    """Encode tokenized sentences (out-of-vocabulary words dropped, as gensim does)."""
    vocab = build_vocab((list(s) for s in sentences), min_count)
    index = vocab.index
    ids, sent = [], []
    for n, tokens in enumerate(sentences):
        row = [index[t] for t in tokens if t in index]
        ids.extend(row)
        sent.extend([n] * len(row))
    return Corpus(vocab, np.array(ids, dtype=np.int32), np.array(sent, dtype=np.int64),
                  sum(len(s) for s in sentences))


def read_sentences(files: Sequence[str | os.PathLike[str]], tokenizer: TextTokenizer | str | None = None,
                   lowercase: bool = False) -> list[list[str]]:
    """One token list per non-empty line of `files`."""
    tok = resolve_tokenizer(tokenizer)
    out = []
    for line in iter_lines([str(f) for f in files]):
        tokens = tok.tokenize((line.lower() if lowercase else line).rstrip("\n"))
        if tokens:
            out.append(tokens)
    return out


def learning_rate(config: Word2VecConfig, progress: float) -> float:
    """Linear decay from alpha to min_alpha over the whole run (progress in [0, 1])."""
    return max(config.min_alpha, config.alpha - (config.alpha - config.min_alpha) * progress)


def _run_batches(corpus: Corpus, config: Word2VecConfig, w_in: np.ndarray, w_out: np.ndarray, rank: int,
                 workers: int, on_words: Callable[[float], None]) -> None:
    """Every `workers`-th batch from `rank` on, over all epochs. A batch's randomness (dynamic windows,
    negatives) comes from (seed, epoch, batch start) and an epoch's subsampling from (seed, epoch), so a batch
    is the same whichever worker runs it."""
    keep = keep_probabilities(corpus.vocab.counts, config.sample)
    cdf = noise_cdf(corpus.vocab.counts)
    update = cbow_update if config.cbow else skipgram_update
    n = len(corpus.ids)
    step = centers_per_batch(config, len(corpus.vocab.words))
    for epoch in range(config.epochs):
        kept = np.random.default_rng([config.seed, epoch]).random(n) < keep[corpus.ids]
        ids, sentence = corpus.ids[kept], corpus.sentence[kept]
        for number, start in enumerate(range(0, len(ids), step)):
            if number % workers != rank:
                continue
            stop = min(start + step, len(ids))
            rng = np.random.default_rng([config.seed, epoch, start])
            share = config.share_negatives
            draws = draw_negatives(cdf, (-(-(stop - start) // share), config.negative), rng)
            batch = make_batch(ids, sentence, start, stop, config.window, draws, rng, share)
            update(w_in, w_out, batch, learning_rate(config, (epoch + start / len(ids)) / config.epochs))
            on_words((stop - start) / len(ids) * n)


def train_corpus(corpus: Corpus, config: Word2VecConfig = Word2VecConfig(),
                 on_words: Callable[[float], None] | None = None) -> WordVectors:
    """Train on an encoded corpus; `on_words(n)` reports progress in corpus tokens (n may be fractional).
    With `workers > 1` the workers are processes sharing the two weight tables (`word2vec_workers`)."""
    rng = np.random.default_rng(config.seed)
    size, dim = len(corpus.vocab.words), config.dim
    w_in, w_out = shared_tables(2, (size, dim)) if config.workers > 1 else (np.empty((size, dim), np.float32),
                                                                            np.empty((size, dim), np.float32))
    w_in[:] = (rng.random((size, dim), dtype=np.float32) * 2 - 1) / dim  # gensim 4's initialisation
    w_out[:] = 0
    report = on_words or (lambda words: None)
    if config.workers == 1:
        _run_batches(corpus, config, w_in, w_out, 0, 1, report)
    else:
        run_workers(lambda rank, tell: _run_batches(corpus, config, w_in, w_out, rank, config.workers, tell),
                    config.workers, report)
    return WordVectors(list(corpus.vocab.words), np.array(w_in))


def train_word2vec(files: Sequence[str | os.PathLike[str]], tokenizer: TextTokenizer | str | None = None,
                   config: Word2VecConfig = Word2VecConfig(), lowercase: bool = False,
                   on_words: Callable[[float], None] | None = None) -> WordVectors:
    """Vectors for the words of `files` (one sentence per line; `tokenizer` defaults to whitespace)."""
    corpus = corpus_from_sentences(read_sentences(files, tokenizer, lowercase), config.min_count)
    return train_corpus(corpus, config, on_words)
