"""The interface every tkit language model implements (n-gram and neural), so that one decoding module and
one evaluation module serve them all.

Conventions: ids index `model.vocab`; log-probabilities are natural logs; a *sentence model*
(`sentence_mode=True`, the n-grams) scores each line as `<s> w1 ... wn </s>` (KenLM/SRILM); a *stream model*
(neural) reads the text as one token stream in which newlines are ordinary tokens.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer


@dataclass(frozen=True)
class DecodeState:
    """Where decoding stands: the ids so far and the next-token log-probabilities (V,).

    `cache` is the model's own incremental state (n-gram context, RNN hidden state, Transformer KV cache);
    decoding never looks inside it. States are immutable so beam search can branch them freely.
    """

    ids: tuple[int, ...]
    logprobs: np.ndarray
    cache: Any = None


class LanguageModel(ABC):
    """A next-token distribution over `vocab`, plus scoring and persistence."""

    sentence_mode: ClassVar[bool] = False
    vocab: Vocabulary
    tokenizer: TextTokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def name(self) -> str:
        """A short human description, e.g. "5-gram modified-kneser-ney"."""
        return type(self).__name__

    # ---- the core: next-token distributions -------------------------------------------------------------
    @abstractmethod
    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log p(· | context), shape (V,), natural log. `context` is every id so far (the model crops it)."""

    def next_logprobs_batch(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """(N, V) for N contexts; models override this where batching pays."""
        return np.stack([self.next_logprobs(c) for c in contexts])

    # ---- incremental decoding (override for KV caches / hidden states) -----------------------------------
    def start(self, context: Sequence[int]) -> DecodeState:
        ids = tuple(int(i) for i in context)
        return DecodeState(ids, self.next_logprobs(ids))

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        ids = (*state.ids, int(token))
        return DecodeState(ids, self.next_logprobs(ids))

    # ---- scoring ----------------------------------------------------------------------------------------
    @abstractmethod
    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        """log p(ids[i] | ids[:i]) for i = 1 .. len(ids)-1, shape (len(ids)-1,).

        For a sentence model `ids` is one sentence `<s> ... </s>`; for a stream model, any stretch of text."""

    def sentences_logprobs(self, sentences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`sequence_logprobs` for many sentences; n-gram models vectorise this over all of them."""
        return [self.sequence_logprobs(s) for s in sentences]

    # ---- persistence ------------------------------------------------------------------------------------
    @abstractmethod
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (atomically) in its native format."""

    # ---- text helpers shared by sample/eval ---------------------------------------------------------------
    def encode_text(self, text: str) -> np.ndarray:
        return self.vocab.encode(self.tokenizer.tokenize(text))

    def decode_ids(self, ids: Sequence[int]) -> str:
        return self.tokenizer.detokenize(self.vocab.decode(ids))
