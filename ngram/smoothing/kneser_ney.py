"""Interpolated Kneser-Ney with one absolute discount per order (KenLM's estimator with D1 = D2 = D3+).

Default discount per order: Ney's closed form D = n1 / (n1 + 2 n2) on the adjusted counts (0.75 where it is
undefined); `--discount D` uses D for every order."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ngram.counting import CountTables
from ngram.smoothing.base import Estimate, Smoothing
from ngram.smoothing.fallback_notes import fallback_warning
from ngram.smoothing.kn_common import (
    all_adjusted_counts,
    all_count_of_counts,
    estimate_kn,
)
from tokenizers_kit.errors import TkitError

FALLBACK_DISCOUNT = 0.75


class KneserNey(Smoothing):
    name = "kneser-ney"

    def __init__(self, discount: float | None = None) -> None:
        if discount is not None and not 0 < discount <= 1:
            raise TkitError(f"--discount must be in (0, 1] for Kneser-Ney, got {discount}")
        self.discount = discount

    def params(self) -> dict[str, Any]:
        return {"discount": self.discount}

    def discounts(self, count_of_counts: Sequence[np.ndarray], order: int) -> tuple[list[np.ndarray], list[str]]:
        """[0, D, D, D] per order (index n) from the count-of-counts, and the fallback warnings."""
        discounts: list[np.ndarray] = [np.zeros(4)]
        failures: list[tuple[int, str]] = []
        for n in range(1, order + 1):
            d = self.discount
            if d is None:
                nk = count_of_counts[n]
                d = nk[1] / (nk[1] + 2.0 * nk[2]) if nk[1] > 0 else 0.0
                if not 0 < d <= 1:
                    failures.append((n, "no n-grams with adjusted count 1, so D is undefined"))
                    d = FALLBACK_DISCOUNT
            discounts.append(np.array([0.0, d, d, d]))
        return discounts, fallback_warning("Kneser-Ney", failures, f"D={FALLBACK_DISCOUNT}")

    def discount_info(self, discounts: Sequence[np.ndarray], order: int) -> dict[str, Any]:
        return {"discounts": {n: round(float(discounts[n][1]), 6) for n in range(1, order + 1)}}

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        adjusted = all_adjusted_counts(tables)
        discounts, warnings = self.discounts(all_count_of_counts(tables, adjusted), tables.order)
        scorer = estimate_kn(tables, discounts, prune, adjusted)
        return Estimate(scorer, warnings, self.discount_info(discounts, tables.order))
