"""Shared by the interpolated methods (Witten-Bell, Kneser-Ney, modified Kneser-Ney): recursive interpolation
with the lower order and the conversion to backoff form, the way lmplz writes its ARPA files.

    p(w)     = u(w) + gamma(empty) / |V|                 (|V| counts <unk> and </s>, not <s>)
    p(w | h) = u(w | h) + gamma(h) * p(w | h')           (h' = h without its first word)

An unseen w after a seen h gets gamma(h) * p(w | h'), exactly the backoff rule with backoff(h) = gamma(h),
so the ARPA file stores log10 p for the n-grams and log10 gamma for their contexts (interpolate.cc).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ngram.backoff import BackoffScorer
from ngram.counting import BOS_ID
from ngram.pruning import compact_index
from ngram.smoothing.base import predictable_vocab
from ngram.tables import NgramIndex

OrderTerms = Callable[[int], "tuple[np.ndarray, np.ndarray | float]"]


def interpolate_to_backoff(index: NgramIndex, terms: OrderTerms,
                           keep: Sequence[np.ndarray] | None = None) -> BackoffScorer:
    """Run the recursion lower orders first and store lmplz's backoff form as it goes.

    `terms(n)` gives (u[n] for every order-n n-gram, gamma of every order-(n-1) context — a number for n = 1,
    the empty context). Only one order's temporaries live at a time: p[n] is built in u[n]'s array, and p[n-1]
    and gamma[n-1] become log10 prob and backoff (`<s>` gets prob 0 as in KenLM, non-contexts backoff 0)
    once p[n] no longer needs them. `keep` drops pruned n-grams at the end."""
    order = index.order
    logp: list[np.ndarray] = [np.empty(0)] * (order + 1)
    backoff: list[np.ndarray] = [np.empty(0)] * (order + 1)
    p_prev: np.ndarray | None = None
    for n in range(1, order + 1):
        p, gamma = terms(n)
        if n == 1:
            kept = index.vocab_size if keep is None else int(np.count_nonzero(keep[1]))  # lmplz: unpruned words
            p += float(gamma) / predictable_vocab(kept)
        else:
            assert p_prev is not None
            p += np.take(gamma, index.prefix(n)) * np.take(p_prev, index.suffix(n))  # take: faster than []
            backoff[n - 1] = _log_backoff(index, n - 1, np.asarray(gamma))
            logp[n - 1] = _log_prob(p_prev, n - 1)
        p_prev = p
    assert p_prev is not None
    logp[order] = _log_prob(p_prev, order)
    backoff[order] = np.zeros(index.size(order))
    if keep is not None:
        index = compact_index(index, keep)
        logp = [x if n < 1 else x[keep[n]] for n, x in enumerate(logp)]
        backoff = [x if n < 1 else x[keep[n]] for n, x in enumerate(backoff)]
    return BackoffScorer(index, logp, backoff)


def _log_prob(p: np.ndarray, n: int) -> np.ndarray:
    """min(0, log10 p) in place; p(<s>) = 1 (KenLM writes 0: it is never predicted)."""
    with np.errstate(divide="ignore"):
        np.log10(p, out=p)
    np.minimum(p, 0.0, out=p)
    if n == 1:
        p[BOS_ID] = 0.0
    return p


def _log_backoff(index: NgramIndex, n: int, gamma: np.ndarray) -> np.ndarray:
    """log10 gamma for the n-grams that are contexts (gamma 0 gives log 0), 0 for the others."""
    context = index.is_context(n)
    bo = np.zeros(gamma.size)
    with np.errstate(divide="ignore"):
        bo[context] = np.log10(np.compress(context, gamma))  # only where it is kept
    return bo


def context_sums(index: NgramIndex, n: int, values: np.ndarray) -> np.ndarray:
    """Sum of `values` (one per order-n n-gram) over the extensions of each order-(n-1) context."""
    sums = np.bincount(index.prefix(n), weights=values, minlength=index.size(n - 1))
    return sums.astype(np.float64, copy=False)  # bincount of nothing is int
