"""Cosine similarity over word vectors: the table of a few words, nearest neighbours, and analogies
(B - A + C over unit vectors, the inputs excluded from the answers, as gensim's most_similar does)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neural.word_vectors import WordVectors
from tokenizers_kit.checks import ArgumentError, require_int


def similarity_table(wv: WordVectors, words: Sequence[str]) -> np.ndarray:
    """(n, n) cosine similarities of `words`."""
    u = wv.unit()[wv.ids(words)]
    return (u @ u.T).astype(np.float64)


def _nearest(wv: WordVectors, query: np.ndarray, exclude: np.ndarray, top: int) -> list[tuple[str, float]]:
    norm = np.linalg.norm(query)
    sims = wv.unit() @ (query / norm if norm > 0 else query)
    sims[exclude] = -np.inf
    top = min(top, len(wv) - len(set(exclude.tolist())))
    if top <= 0:
        return []
    best = np.argpartition(-sims, top - 1)[:top]
    best = best[np.lexsort((best, -sims[best]))]  # most similar first, ties by row (frequency order)
    return [(wv.words[i], float(sims[i])) for i in best]


def most_similar(wv: WordVectors, word: str, top: int = 10) -> list[tuple[str, float]]:
    """The `top` words nearest to `word` by cosine, the word itself excluded."""
    top = require_int("top", top, low=1)
    ids = wv.ids([word])
    return _nearest(wv, wv.unit()[ids[0]], ids, top)


def analogy(wv: WordVectors, a: str, b: str, c: str, top: int = 10) -> list[tuple[str, float]]:
    """Words nearest to unit(b) - unit(a) + unit(c) ("a is to b as c is to ?"), a, b and c excluded."""
    top = require_int("top", top, low=1)
    ids = wv.ids([a, b, c])
    u = wv.unit()
    query = u[ids[1]] - u[ids[0]] + u[ids[2]]
    if not np.any(query):
        raise ArgumentError(f"{a!r}, {b!r}, {c!r}: the analogy's query vector is zero; choose other words")
    return _nearest(wv, query, ids, top)
