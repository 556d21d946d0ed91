"""A tiny hand-written LanguageModel for testing the shared decoding/eval code independently of any trainer."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.lm import LanguageModel
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import WhitespaceTokenizer


class BigramTable(LanguageModel):
    """p(next | previous) from an explicit (V, V) probability table; a sentence model."""

    sentence_mode = True

    def __init__(self, tokens: Sequence[str], table: np.ndarray) -> None:
        self.vocab = Vocabulary.for_sentences(tokens)
        self.tokenizer = WhitespaceTokenizer()
        assert table.shape == (len(self.vocab), len(self.vocab))
        with np.errstate(divide="ignore"):
            self.log_table = np.log(table / table.sum(axis=1, keepdims=True))

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        return self.log_table[context[-1]].copy()

    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        return self.log_table[ids[:-1], ids[1:]]

    def save(self, path) -> None:  # pragma: no cover - not needed by the tests
        raise NotImplementedError


def random_bigram(words: Sequence[str], seed: int = 0) -> BigramTable:
    """A random bigram model; `<s>` never follows anything and nothing follows `</s>` except `<s>`."""
    rng = np.random.default_rng(seed)
    v = len(words) + 3
    table = rng.random((v, v)) + 0.05
    table[:, 1] = 0.0  # <s> is never predicted
    table[:, 0] = 0.0  # nor <unk>
    return BigramTable(words, table)
