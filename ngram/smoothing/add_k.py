"""Add-k (Lidstone; k = 1 is Laplace): p(w | h) = (c(hw) + k) / (c(h .) + k |V|) in the longest context h that
was seen, |V| = every id but `<s>`. Not a backoff model (an unseen word's probability depends on the context
alone), so it is kept in `.npz` only. k = 0 is MLE."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ngram.backoff import gather
from ngram.counting import CountTables
from ngram.pruning import prune_tables
from ngram.smoothing.base import Estimate, Smoothing, predictable_vocab
from ngram.tables import NgramIndex
from tokenizers_kit.errors import TkitError


class AdditiveScorer:
    """Scores from counts and context totals; log10 like every scorer."""

    def __init__(self, index: NgramIndex, counts: Sequence[np.ndarray], totals: Sequence[np.ndarray], k: float) -> None:
        self.index = index
        self.counts = [np.asarray(c, dtype=np.float64) for c in counts]
        self.totals = [np.asarray(t, dtype=np.float64) for t in totals]  # totals[n][i]: c(h .) of order-n h
        self.k = float(k)
        self.vp = predictable_vocab(index.vocab_size)
        self.grand_total = float(self.counts[1].sum())

    @property
    def order(self) -> int:
        return self.index.order

    @property
    def vocab_size(self) -> int:
        return self.index.vocab_size

    def _log10(self, count: np.ndarray | float, total: np.ndarray | float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10((count + self.k) / (total + self.k * self.vp))

    def position_logprobs(self, tokens: np.ndarray, dist: np.ndarray, max_order: int | None = None) -> np.ndarray:
        top = min(max_order or self.order, self.order)
        idx = self.index.stream_indices(tokens, dist, top)
        tokens = np.asarray(tokens, dtype=np.int64)
        avail = np.minimum(dist, top - 1)
        count = self.counts[1][tokens]
        total = np.full(tokens.size, self.grand_total)
        for m in range(1, top):  # longer seen contexts override shorter ones
            ctx = np.full(tokens.size, -1, dtype=np.int64)
            ctx[1:] = idx[m][:-1]
            tot = gather(self.totals[m], ctx, 0.0)
            seen = (m <= avail) & (tot > 0)
            ext = idx[m + 1]
            total = np.where(seen, tot, total)
            count = np.where(seen, gather(self.counts[m + 1], ext, 0.0), count)
        out = self._log10(count, total)
        out[dist == 0] = 0.0
        return out

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        index = self.index
        best, best_total = 0, self.grand_total
        for m, c in enumerate(index.context_indices(context), start=1):
            if c >= 0 and self.totals[m][c] > 0:
                best, best_total = m, float(self.totals[m][c])
                best_idx = c
        if best == 0:
            return self._log10(self.counts[1], best_total)
        lp = np.full(index.vocab_size, float(self._log10(0.0, best_total)))
        lo, hi = index.extension_range(best, best_idx)
        words = (index.keys[best + 1][lo:hi] % np.uint64(index.vocab_size)).astype(np.int64)
        lp[words] = self._log10(self.counts[best + 1][lo:hi], best_total)
        return lp


class AddK(Smoothing):
    name = "add-k"
    arpa = False

    def __init__(self, k: float = 1.0) -> None:
        if not 0 <= k < math.inf:
            raise TkitError(f"--k must be a finite number >= 0 for add-k smoothing, got {k}")
        self.k = float(k)

    def params(self) -> dict[str, Any]:
        return {"k": self.k}

    def describe(self) -> str:
        return f"add-k (k={self.k:g})"

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        tables = prune_tables(tables, prune)
        totals = [np.empty(0)] + [tables.context_totals(n) for n in range(1, tables.order)]
        return Estimate(AdditiveScorer(tables.index, tables.counts, totals, self.k))
