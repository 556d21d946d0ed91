"""Kneser-Ney estimation as KenLM's lmplz does it, for any discounts: adjusted counts, count-of-counts,
uninterpolated probabilities and gamma, pruning. `kneser_ney` (one discount per order) and
`modified_kneser_ney` (three) differ only in the discounts they pass in.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.backoff import BackoffScorer
from ngram.counting import BOS_ID, CountTables
from ngram.pruning import keep_masks
from ngram.smoothing.interpolated import context_sums, interpolate_to_backoff
from ngram.smoothing.stream_end import last_suffix_chain, record_raw


def adjusted_counts(tables: CountTables, n: int) -> np.ndarray:
    """a(w1..wn) (adjust_counts.cc): the raw count at the top order and for n-grams starting with `<s>`;
    elsewhere the continuation count N1+(. w1..wn), the number of distinct words seen before it."""
    index = tables.index
    if n == tables.order:
        return tables.counts[n]
    continuation = np.bincount(index.suffix(n + 1), minlength=index.size(n)).astype(np.int64)
    bos_initial = index.starts_with(n, BOS_ID)
    return np.where(bos_initial, tables.counts[n], continuation)


KEEP_ADJUSTED_MAX = 1 << 20  # n-grams below the top order


def all_adjusted_counts(tables: CountTables) -> list[np.ndarray | None] | None:
    """adjusted_counts of every order (index n; index 0 unused), computed once for the count-of-counts and
    the estimate — for small tables only: on big ones, holding every order's array at once raises the
    memory peak more than the second bincount per order costs (None: compute them where needed)."""
    if sum(tables.index.sizes()[:-1]) > KEEP_ADJUSTED_MAX:
        return None
    return [None] + [adjusted_counts(tables, n) for n in range(1, tables.order + 1)]


def count_of_counts(a: np.ndarray) -> np.ndarray:
    """[n0, n1, n2, n3, n4]: how many n-grams have adjusted count k (k = 0..4)."""
    return np.array([np.count_nonzero(a == k) for k in range(5)], dtype=np.int64)  # 5 passes beat a bincount


def all_count_of_counts(tables: CountTables, adjusted: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """count_of_counts of every order (index n), over all n-grams including pruned ones, with the n-grams open
    at the end of lmplz's pass counted raw (stream_end) — as lmplz."""
    chain = last_suffix_chain(tables)
    out = [np.zeros(5, np.int64)]
    for n in range(1, tables.order + 1):
        a = adjusted_counts(tables, n) if adjusted is None or adjusted[n] is None else adjusted[n]
        nk = count_of_counts(a)
        if n <= len(chain):
            nk = record_raw(nk, int(a[chain[n - 1]]), int(tables.counts[n][chain[n - 1]]))
        out.append(nk)
    return out


def estimate_kn(tables: CountTables, discounts: Sequence[np.ndarray], cutoffs: Sequence[int] | None = None,
                adjusted: list[np.ndarray | None] | None = None) -> BackoffScorer:
    """Interpolated Kneser-Ney with `discounts[n] = [0, D1, D2, D3+]` for each order n.

    u(w|h) = (a(hw) - D(a(hw))) / sum_x a(hx);   gamma(h) = (sum over h's extensions of D(a), or of the whole
    a for pruned extensions) / sum_x a(hx)   (initial_probabilities.cc).
    `adjusted` (from `all_adjusted_counts`) saves computing them again; each order's entry is released once used."""
    index = tables.index
    keep = keep_masks(tables, cutoffs) if cutoffs or tables.drop_words is not None else None

    def terms(n: int) -> tuple[np.ndarray, np.ndarray | float]:
        if adjusted is None or adjusted[n] is None:
            a = adjusted_counts(tables, n)
        else:
            a, adjusted[n] = adjusted[n], None
        disc = np.take(np.asarray(discounts[n], dtype=np.float64), np.minimum(a, 3))
        mass = disc if keep is None else np.where(keep[n], disc, a)  # pruned: all mass to gamma
        u = a.astype(np.float64)
        u -= disc
        if n == 1:
            den = float(a.sum())
            return u / den, float(mass.sum()) / den
        den = context_sums(index, n, a.astype(np.float64))
        gamma = context_sums(index, n, mass)
        np.divide(gamma, den, out=gamma, where=den > 0)
        u /= np.take(den, index.prefix(n))
        return u, gamma

    return interpolate_to_backoff(index, terms, keep)
