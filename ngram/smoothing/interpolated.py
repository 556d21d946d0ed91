"""Shared by the interpolated methods (Witten-Bell, Kneser-Ney, modified Kneser-Ney): recursive interpolation
with the lower order and the conversion to backoff form, the way lmplz writes its ARPA files.

    p(w)     = u(w) + gamma(empty) / |V|                 (|V| counts <unk> and </s>, not <s>)
    p(w | h) = u(w | h) + gamma(h) * p(w | h')           (h' = h without its first word)

An unseen w after a seen h gets gamma(h) * p(w | h'), exactly the backoff rule with backoff(h) = gamma(h),
so the ARPA file stores log10 p for the n-grams and log10 gamma for their contexts (interpolate.cc).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.backoff import BackoffScorer
from ngram.counting import BOS_ID
from ngram.pruning import compact_index
from ngram.smoothing.base import predictable_vocab
from ngram.tables import NgramIndex


def interpolate(index: NgramIndex, u: Sequence[np.ndarray], gamma_empty: float,
                gamma: Sequence[np.ndarray]) -> list[np.ndarray]:
    """p[n] for every n-gram, lower orders first. `u[n]`: uninterpolated; `gamma[n]`: weight of each
    order-n n-gram as a context (n < N)."""
    p = [np.empty(0), u[1] + gamma_empty / predictable_vocab(index.vocab_size)]
    for n in range(2, index.order + 1):
        p.append(u[n] + gamma[n - 1][index.prefix(n)] * p[n - 1][index.suffix(n)])
    return p


def backoff_scorer(index: NgramIndex, p: Sequence[np.ndarray], gamma: Sequence[np.ndarray],
                   keep: Sequence[np.ndarray] | None = None) -> BackoffScorer:
    """log10 form as lmplz writes it: prob = min(0, log10 p), `<s>` 0; backoff = log10 gamma for n-grams that
    are contexts, else 0. `keep` drops pruned n-grams."""
    order = index.order
    logp: list[np.ndarray] = [np.empty(0)]
    backoff: list[np.ndarray] = [np.empty(0)]
    with np.errstate(divide="ignore"):
        for n in range(1, order + 1):
            lp = np.minimum(np.log10(p[n]), 0.0)
            if n == 1:
                lp[BOS_ID] = 0.0  # KenLM: p(<s>) = 1; it is never predicted
            if n < order:  # gamma 0 (MLE-like contexts) gives -inf: log 0
                bo = np.where(index.is_context(n), np.log10(gamma[n]), 0.0)
            else:
                bo = np.zeros(index.size(n))
            logp.append(lp)
            backoff.append(bo)
    if keep is not None:
        index = compact_index(index, keep)
        logp = [x if n < 2 else x[keep[n]] for n, x in enumerate(logp)]
        backoff = [x if n < 2 else x[keep[n]] for n, x in enumerate(backoff)]
    return BackoffScorer(index, logp, backoff)


def context_sums(index: NgramIndex, n: int, values: np.ndarray) -> np.ndarray:
    """Sum of `values` (one per order-n n-gram) over the extensions of each order-(n-1) context."""
    return np.bincount(index.prefix(n), weights=values, minlength=index.size(n - 1))
