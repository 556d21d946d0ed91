"""The word2vec vocabulary: counts, the min-count cut, frequent-word subsampling and the negative-sampling
distribution (Mikolov et al. 2013, with gensim's subsampling formula)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tokenizers_kit.errors import CorpusError

NEGATIVE_POWER = 0.75  # the unigram^0.75 noise distribution of the paper


@dataclass(frozen=True)
class Vocab:
    words: list[str]        # most frequent first
    counts: np.ndarray      # int64, same order

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}


def build_vocab(sentences: Iterable[list[str]], min_count: int) -> Vocab:
    """Words seen at least `min_count` times, most frequent first (ties in order of first appearance, as
    gensim's stable sort leaves them)."""
    counts: Counter[str] = Counter()
    for tokens in sentences:
        counts.update(tokens)
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: -wc[1])
    if not kept:
        raise CorpusError(f"no word occurs at least {min_count} times (--min-count): lower it or use a larger corpus")
    bad = [w for w, _ in kept if any(ch.isspace() for ch in w)]
    if bad:
        raise CorpusError(f"token {bad[0]!r} contains whitespace, which the word2vec format cannot store: "
                          "use --tokenizer whitespace or a tokenizer without space tokens")
    return Vocab([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64))


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """P(keep) per word: gensim's (sqrt(c / t) + 1) * t / c with t = sample * total, capped at 1; all 1 when
    sample is 0."""
    c = counts.astype(np.float64)
    if sample <= 0:
        return np.ones_like(c)
    t = sample * c.sum()
    return np.minimum(1.0, (np.sqrt(c / t) + 1.0) * t / c)


def noise_cdf(counts: np.ndarray) -> np.ndarray:
    """Cumulative unigram^0.75 distribution (float64, last entry 1) for sampling negatives by searchsorted."""
    w = counts.astype(np.float64) ** NEGATIVE_POWER
    cdf = np.cumsum(w)
    return cdf / cdf[-1]


def draw_negatives(cdf: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(shape), side="right"), len(cdf) - 1).astype(np.int64)
