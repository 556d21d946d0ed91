"""Interpolated Witten-Bell (SRILM's -wbdiscount -interpolate; NLTK's WittenBellInterpolated):

    p(w | h) = (c(hw) + T(h) p(w | h')) / (c(h) + T(h)),    T(h) = number of distinct words seen after h

on raw counts, interpolated down to a uniform distribution over the vocabulary (so `<unk>` gets a share)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.counting import CountTables
from ngram.pruning import prune_tables
from ngram.smoothing.base import Estimate, Smoothing
from ngram.smoothing.interpolated import context_sums, interpolate_to_backoff


class WittenBell(Smoothing):
    name = "witten-bell"

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        tables = prune_tables(tables, prune)
        index = tables.index

        def terms(n: int) -> tuple[np.ndarray, np.ndarray | float]:
            cn = tables.counts[n].astype(np.float64)
            if n == 1:
                total, types = cn.sum(), float(np.count_nonzero(cn))
                return cn / (total + types), types / (total + types)
            norm = context_sums(index, n, cn)  # c(h .) + T(h)
            distinct = context_sums(index, n, np.ones_like(cn))
            norm += distinct
            cn /= norm[index.prefix(n)]
            np.divide(distinct, norm, out=distinct, where=norm > 0)
            return cn, distinct

        return Estimate(interpolate_to_backoff(index, terms))
