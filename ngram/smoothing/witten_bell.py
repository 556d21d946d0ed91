"""Interpolated Witten-Bell (SRILM's -wbdiscount -interpolate; NLTK's WittenBellInterpolated):

    p(w | h) = (c(hw) + T(h) p(w | h')) / (c(h) + T(h)),    T(h) = number of distinct words seen after h

on raw counts, interpolated down to a uniform distribution over the vocabulary (so `<unk>` gets a share)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.counting import CountTables
from ngram.pruning import prune_tables
from ngram.smoothing.base import Estimate, Smoothing
from ngram.smoothing.interpolated import backoff_scorer, context_sums, interpolate


class WittenBell(Smoothing):
    name = "witten-bell"

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        tables = prune_tables(tables, prune)
        index, order = tables.index, tables.order
        c1 = tables.counts[1].astype(np.float64)
        total, types = c1.sum(), float(np.count_nonzero(c1))
        u: list[np.ndarray] = [np.empty(0), c1 / (total + types)]
        gamma: list[np.ndarray] = [np.empty(0)] * (order + 1)
        gamma[order] = np.zeros(index.size(order))
        for n in range(2, order + 1):
            cn = tables.counts[n].astype(np.float64)
            seen = context_sums(index, n, cn)
            distinct = context_sums(index, n, np.ones_like(cn))
            norm = seen + distinct
            u.append(cn / norm[index.prefix(n)])
            with np.errstate(invalid="ignore", divide="ignore"):
                gamma[n - 1] = np.where(norm > 0, distinct / np.where(norm > 0, norm, 1.0), 0.0)
        p = interpolate(index, u, types / (total + types), gamma)
        return Estimate(backoff_scorer(index, p, gamma))
