"""Scoring a backoff-form model — what an ARPA file holds — vectorised over positions and over the vocabulary.

Each n-gram of the index has log10 p (its interpolated probability) and, when it is a context, log10 of its
backoff weight. KenLM's rule (lm/model.cc), for word w after context c_k ... c_1 (c_1 nearest):

    log10 p(w | c) = logp(c_{L-1} ... c_1 w) + sum_{m=L..k} bo(c_m ... c_1)

where L is the length of the longest n-gram ending in w found in the model and a missing context adds 0 —
except in stupid backoff, where every step back costs log10(alpha) (`missing_backoff`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.tables import NgramIndex


def gather(values: np.ndarray, idx: np.ndarray, default: float) -> np.ndarray:
    """values[idx] where idx >= 0, else `default` (safe on empty tables)."""
    if values.size == 0:
        return np.full(idx.shape, default, dtype=np.float64)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], default)


class BackoffScorer:
    """log10 probabilities and backoffs per order over an `NgramIndex`."""

    def __init__(self, index: NgramIndex, logp: Sequence[np.ndarray], backoff: Sequence[np.ndarray],
                 missing_backoff: float = 0.0) -> None:
        """`logp[n]`, `backoff[n]` for n = 1..N (index 0 unused); `backoff[N]` is all zeros."""
        self.index = index
        self.logp = [np.asarray(x, dtype=np.float64) for x in logp]
        self.backoff = [np.asarray(x, dtype=np.float64) for x in backoff]
        self.missing_backoff = float(missing_backoff)

    @property
    def order(self) -> int:
        return self.index.order

    @property
    def vocab_size(self) -> int:
        return self.index.vocab_size

    def position_logprobs(self, tokens: np.ndarray, dist: np.ndarray, max_order: int | None = None) -> np.ndarray:
        """log10 p(tokens[j] | what precedes it in its sentence) for every j, shape (T,); 0 where dist == 0."""
        top = min(max_order or self.order, self.order)
        idx = self.index.stream_indices(tokens, dist, top)
        tokens = np.asarray(tokens, dtype=np.int64)
        result = self.logp[1][tokens]
        longest = np.ones(tokens.size, dtype=np.int64)
        for n in range(2, top + 1):
            found = idx[n] >= 0
            result = np.where(found, gather(self.logp[n], idx[n], 0.0), result)
            longest[found] = n
        avail = np.minimum(dist, top - 1)  # context words available at each position
        for m in range(1, top):
            ctx = np.full(tokens.size, -1, dtype=np.int64)
            ctx[1:] = idx[m][:-1]  # the m-gram ending just before j
            use = (m >= longest) & (m <= avail)
            bo = gather(self.backoff[m], ctx, self.missing_backoff)
            result = result + np.where(use, bo, 0.0)
        result[dist == 0] = 0.0
        return result

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log10 p(w | context) for every w, shape (V,): back off from the unigrams to the longest context."""
        index = self.index
        lp = self.logp[1].copy()
        v = np.uint64(index.vocab_size)
        for m, c in enumerate(index.context_indices(context), start=1):
            if c < 0:
                lp += self.missing_backoff
                continue
            lp += self.backoff[m][c]
            lo, hi = index.extension_range(m, c)
            if hi > lo:
                words = (index.keys[m + 1][lo:hi] % v).astype(np.int64)
                lp[words] = self.logp[m + 1][lo:hi]
        return lp
