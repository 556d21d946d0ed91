"""Maximum likelihood: p(w | h) = c(hw) / c(h .), in the longest context h that was seen (a context never seen
falls back to a shorter one). Unseen words after a seen context get probability 0, so perplexity on new text
is usually infinite. Backoff form: log10 p for the n-grams, log10 0 (written -99, as SRILM does) as the
backoff of every seen context."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.backoff import BackoffScorer
from ngram.counting import CountTables
from ngram.pruning import prune_tables
from ngram.smoothing.base import Estimate, Smoothing


def relative_frequencies(tables: CountTables) -> list[np.ndarray]:
    """log10 c(hw) / c(h .) for every n-gram (unigrams: c(w) / total); -inf for count 0."""
    index = tables.index
    c1 = tables.counts[1].astype(np.float64)
    out = [np.empty(0)]
    with np.errstate(divide="ignore"):
        out.append(np.log10(c1 / c1.sum()))
        for n in range(2, tables.order + 1):
            cn = tables.counts[n].astype(np.float64)
            total = np.bincount(index.prefix(n), weights=cn, minlength=index.size(n - 1))
            out.append(np.log10(cn / total[index.prefix(n)]))
    return out


class MLE(Smoothing):
    name = "mle"

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        tables = prune_tables(tables, prune)
        index, order = tables.index, tables.order
        logp = relative_frequencies(tables)
        backoff = [np.empty(0)] + [np.where(index.is_context(n), -np.inf, 0.0) for n in range(1, order)]
        backoff.append(np.zeros(index.size(order)))
        return Estimate(BackoffScorer(index, logp, backoff))
