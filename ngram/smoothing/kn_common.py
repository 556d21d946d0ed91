"""Kneser-Ney estimation as KenLM's lmplz does it, for any discounts: adjusted counts, count-of-counts,
uninterpolated probabilities and gamma, pruning. `kneser_ney` (one discount per order) and
`modified_kneser_ney` (three) differ only in the discounts they pass in.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.counting import BOS_ID, CountTables
from ngram.smoothing.interpolated import backoff_scorer, context_sums, interpolate
from ngram.pruning import keep_masks
from ngram.backoff import BackoffScorer


def adjusted_counts(tables: CountTables) -> list[np.ndarray]:
    """a(w1..wn) (adjust_counts.cc): the raw count at the top order and for n-grams starting with `<s>`;
    elsewhere the continuation count N1+(. w1..wn), the number of distinct words seen before it."""
    index, order = tables.index, tables.order
    a = [np.empty(0, np.int64)] * (order + 1)
    a[order] = tables.counts[order]
    for n in range(order - 1, 0, -1):
        continuation = np.bincount(index.suffix(n + 1), minlength=index.size(n)).astype(np.int64)
        bos_initial = index.first_word(n) == BOS_ID
        a[n] = np.where(bos_initial, tables.counts[n], continuation)
    return a


def count_of_counts(a: np.ndarray) -> np.ndarray:
    """[n0, n1, n2, n3, n4]: how many n-grams have adjusted count k (k = 1..4)."""
    return np.bincount(np.minimum(a, 5), minlength=6)[:5].astype(np.int64)


def estimate_kn(tables: CountTables, discounts: Sequence[np.ndarray],
                cutoffs: Sequence[int] | None = None, adjusted: Sequence[np.ndarray] | None = None) -> BackoffScorer:
    """Interpolated Kneser-Ney with `discounts[n] = [0, D1, D2, D3+]` for each order n.

    u(w|h) = (a(hw) - D(a(hw))) / sum_x a(hx);   gamma(h) = (sum over h's extensions of D(a), or of the whole
    a for pruned extensions) / sum_x a(hx)   (initial_probabilities.cc)."""
    index, order = tables.index, tables.order
    a = adjusted if adjusted is not None else adjusted_counts(tables)
    keep = keep_masks(tables, cutoffs) if cutoffs else None
    u: list[np.ndarray] = [np.empty(0)] * (order + 1)
    gamma: list[np.ndarray] = [np.empty(0)] * (order + 1)
    gamma[order] = np.zeros(index.size(order))
    gamma_empty = 0.0
    for n in range(1, order + 1):
        an = a[n].astype(np.float64)
        disc = np.asarray(discounts[n], dtype=np.float64)[np.minimum(a[n], 3)]
        removed = np.zeros(an.size, dtype=bool) if keep is None or n == 1 else ~keep[n]
        mass = np.where(removed, an, disc)  # pruned n-grams give all their mass to gamma
        if n == 1:
            den = an.sum()
            u[1] = (an - disc) / den
            gamma_empty = mass.sum() / den
            continue
        den = context_sums(index, n, an)
        num = context_sums(index, n, mass)
        u[n] = (an - disc) / den[index.prefix(n)]
        with np.errstate(invalid="ignore", divide="ignore"):
            gamma[n - 1] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    p = interpolate(index, u, gamma_empty, gamma)
    return backoff_scorer(index, p, gamma, keep)
