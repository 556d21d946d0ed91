"""Stupid backoff (Brants et al., 2007): a score, not a probability.

    S(w | h) = c(hw) / c(h .)   if hw was seen,   else   alpha * S(w | h'),      S(w) = c(w) / total

Scores do not sum to 1 over the vocabulary, so perplexities are not comparable with the other methods and
ARPA output is refused (an ARPA reader would treat the scores as probabilities); `.npz` keeps it. Sampling
renormalises the scores."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ngram.backoff import BackoffScorer
from ngram.counting import CountTables
from ngram.pruning import prune_tables
from ngram.smoothing.base import Estimate, Smoothing
from ngram.smoothing.mle import relative_frequencies
from tokenizers_kit.errors import TkitError

DEFAULT_ALPHA = 0.4


class StupidBackoff(Smoothing):
    name = "stupid-backoff"
    normalised = False
    arpa = False

    def __init__(self, alpha: float = DEFAULT_ALPHA) -> None:
        if not 0 < alpha <= 1:
            raise TkitError(f"--alpha must be in (0, 1] for stupid backoff, got {alpha}")
        self.alpha = float(alpha)

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        tables = prune_tables(tables, prune)
        index, order = tables.index, tables.order
        step = math.log10(self.alpha)
        backoff = [np.empty(0)] + [np.full(index.size(n), step) for n in range(1, order)]
        backoff.append(np.zeros(index.size(order)))
        return Estimate(BackoffScorer(index, relative_frequencies(tables), backoff, missing_backoff=step))
