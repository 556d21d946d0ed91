"""The n-gram language model: a vocabulary, a tokenizer and a scorer (from counts + a smoothing, or from ARPA).

Conventions (KenLM's): a line is a sentence `<s> w1 ... wm </s>`; `<s>` is context only, never predicted;
out-of-vocabulary words are `<unk>`. The LanguageModel interface uses natural logs; the KenLM-like helpers
(`score`, `logprob`) use log10 unless told otherwise. Scoring is vectorised over every n-gram of a batch.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ngram.counting import BOS_ID, EOS_ID, CountTables
from ngram.lm import DecodeState, LanguageModel
from ngram.smoothing import Smoothing
from ngram.smoothing.base import Scorer
from ngram.tables import sentence_positions
from ngram.vocab import Vocabulary
from tokenizers_kit.checks import require_str, require_strs
from tokenizers_kit.simple import TextTokenizer, WhitespaceTokenizer

LN10 = math.log(10.0)


class NgramModel(LanguageModel):
    """An n-gram model of any order and smoothing. Build one with `fit`, `fit_text`, `fit_files`, or `load`."""

    sentence_mode = True

    def __init__(self, vocab: Vocabulary, scorer: Scorer, tokenizer: TextTokenizer | None = None, *,
                 smoothing: Smoothing | None = None, counts: CountTables | None = None,
                 prune: Sequence[int] | None = None, warnings: Sequence[str] = (),
                 info: dict[str, Any] | None = None) -> None:
        if len(vocab) != scorer.vocab_size:
            raise ValueError("vocabulary and scorer disagree on the vocabulary size")
        self.vocab = vocab
        self.scorer = scorer
        self.tokenizer = tokenizer or WhitespaceTokenizer()
        self.smoothing = smoothing  # None for a model read from ARPA
        self.counts = counts  # kept for .npz files (counts + settings re-create every smoothing)
        self.prune = list(prune) if prune else None
        self.warnings = list(warnings)
        self.info = dict(info or {})

    # ---- construction ----------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, sentences: Iterable[Sequence[str]], order: int = 3, smoothing: str = "modified-kneser-ney",
            tokenizer: TextTokenizer | None = None, **options: Any) -> NgramModel:
        """Fit on sentences given as token lists. Options: see `ngram.train.TrainOptions` (prune, vocab_size,
        limit_vocab, skip_symbols) and the smoothing's own (k, discount, alpha, discount_fallback, strict)."""
        from ngram.train import train_sentences

        return train_sentences(sentences, order=order, smoothing=smoothing, tokenizer=tokenizer, **options)

    @classmethod
    def fit_text(cls, text: str, order: int = 3, smoothing: str = "modified-kneser-ney",
                 tokenizer: TextTokenizer | None = None, **options: Any) -> NgramModel:
        """Fit on raw text, one sentence per line, split by `tokenizer` (default: whitespace, as KenLM)."""
        tok = tokenizer or WhitespaceTokenizer()
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls.fit((tok.tokenize(line) for line in lines), order, smoothing, tok, **options)

    @classmethod
    def fit_files(cls, paths: Sequence[str] | str, order: int = 3, smoothing: str = "modified-kneser-ney",
                  tokenizer: TextTokenizer | str | None = None, **options: Any) -> NgramModel:
        """Fit on text files (one sentence per line); `tokenizer` may be a name ("whitespace", "char") or path."""
        from ngram.train import train_files

        return train_files([paths] if isinstance(paths, str) else list(paths), order=order, smoothing=smoothing,
                           tokenizer=tokenizer, **options)

    @classmethod
    def load(cls, path: str | os.PathLike[str], tokenizer: TextTokenizer | str | None = None) -> NgramModel:
        from ngram.storage import load_ngram

        return load_ngram(path, tokenizer)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `.npz` (native: counts + settings, or the backoff tables of an ARPA model) or `.arpa[.gz]`."""
        from ngram.storage import save_ngram

        save_ngram(self, path)

    # ---- description -----------------------------------------------------------------------------------------
    @property
    def order(self) -> int:
        return self.scorer.order

    @property
    def smoothing_name(self) -> str:
        return self.smoothing.name if self.smoothing else "arpa"

    @property
    def name(self) -> str:
        what = self.smoothing.describe() if self.smoothing else "backoff (ARPA)"
        return f"{self.order}-gram {what}"

    @property
    def normalised(self) -> bool:
        return self.smoothing.normalised if self.smoothing else True

    def ngram_counts(self) -> list[int]:
        """Number of n-grams of each order held by the model (as in an ARPA header)."""
        index = getattr(self.scorer, "index")
        return index.sizes()

    # ---- LanguageModel: next-token distributions -------------------------------------------------------------
    def _context(self, context: Sequence[int]) -> tuple[int, ...]:
        """The part of the context the model can use: at most N-1 ids, none before the last `<s>`."""
        keep = self.order - 1
        ctx = tuple(int(c) for c in context[max(0, len(context) - keep):]) if keep > 0 else ()
        if BOS_ID in ctx:
            ctx = ctx[len(ctx) - 1 - ctx[::-1].index(BOS_ID):]
        return ctx

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log p(. | context), natural log, shape (V,); `<s>` gets probability 0."""
        lp = self.scorer.next_logprobs(self._context(context)) * LN10
        lp[BOS_ID] = -np.inf
        return lp

    def start(self, context: Sequence[int]) -> DecodeState:
        ids = tuple(int(i) for i in context)
        ctx = self._context(ids)
        return DecodeState(ids, self.next_logprobs(ctx), ctx)

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        ctx = self._context((*state.cache, int(token)))
        return DecodeState((*state.ids, int(token)), self.next_logprobs(ctx), ctx)

    # ---- LanguageModel: scoring ------------------------------------------------------------------------------
    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        return self.sentences_logprobs([np.asarray(ids)])[0]

    def sentences_logprobs(self, sentences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Natural-log p of every token after the first of each sentence, all sentences in one vectorised pass."""
        if not sentences:
            return []
        lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
        tokens = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences])
        lp10 = self._positions_log10(tokens, lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        return [lp10[s + 1:s + n] * LN10 for s, n in zip(starts.tolist(), lengths.tolist())]

    def _positions_log10(self, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        reset = tokens == BOS_ID
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        reset[starts[lengths > 0]] = True
        return self.scorer.position_logprobs(tokens, sentence_positions(reset))

    # ---- KenLM-like helpers ----------------------------------------------------------------------------------
    def _encode_words(self, words: Sequence[str]) -> np.ndarray:
        return self.vocab.encode(list(words)).astype(np.int64)

    def logprob(self, word: str, context: Sequence[str] = (), base: float = 10.0) -> float:
        """log p(word | context) in `base` (10 like KenLM/ARPA, or math.e). The context is the words before,
        oldest first; start it with "<s>" for the start of a sentence."""
        require_str("word", word)
        ctx = self._encode_words(require_strs("context", context))
        ids = np.concatenate((ctx, self._encode_words([word])))
        reset = np.zeros(ids.size, dtype=bool)
        reset[0] = True
        reset |= ids == BOS_ID
        if ids.size == 1 or ids[-1] == BOS_ID:
            value = float(self.scorer.next_logprobs(())[ids[-1]]) if ids[-1] != BOS_ID else -math.inf
        else:
            value = float(self.scorer.position_logprobs(ids, sentence_positions(reset))[-1])
        return value * LN10 / math.log(base) if base != 10.0 else value

    def score(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 p of a sentence as `kenlm.Model.score`: text is tokenized by the model's tokenizer (or give a
        token list); `</s>` is scored when `eos`; the first word is conditioned on `<s>` when `bos`."""
        return float(np.sum(self.word_scores(sentence, bos, eos)))

    def word_scores(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> np.ndarray:
        """log10 p of each word (and `</s>` when `eos`), like the first field of `kenlm.Model.full_scores`."""
        words = self.tokenizer.tokenize(sentence) if isinstance(sentence, str) else require_strs("sentence", sentence)
        ids = self._encode_words(words)
        if eos:
            ids = np.append(ids, EOS_ID)
        if bos:
            ids = np.concatenate(([BOS_ID], ids))
            return self._positions_log10(ids, np.array([ids.size]))[1:]
        if not ids.size:
            return np.zeros(0)
        first = self.scorer.next_logprobs(())[ids[:1]]
        rest = self._positions_log10(ids, np.array([ids.size]))[1:]
        return np.concatenate((first, rest))

    def __repr__(self) -> str:
        return f"NgramModel({self.name}, vocab={len(self.vocab)}, ngrams={self.ngram_counts()})"
