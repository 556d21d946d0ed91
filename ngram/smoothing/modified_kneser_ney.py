"""Interpolated modified Kneser-Ney exactly as KenLM's lmplz estimates it (Chen & Goodman eq. 26, three
discounts per order), with lmplz's `--discount_fallback` applied per order where the closed form fails."""
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

DEFAULT_FALLBACK = (0.5, 1.0, 1.5)


def closed_form_discounts(n: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """[0, D1, D2, D3+] from count-of-counts n = [n0..n4] in float32 as lmplz (adjust_counts.cc), or
    (None, reason) when it throws BadDiscountException."""
    f = np.float32
    for j in (1, 2, 3):
        if n[j] == 0:
            return None, f"no n-grams with adjusted count {j}"
    y = f(n[1]) / f(n[1] + 2.0 * n[2])
    d = np.zeros(4, dtype=np.float32)
    for j in (1, 2, 3):
        d[j] = f(j) - f(j + 1) * y * f(n[j + 1]) / f(n[j])
        if d[j] < 0 or d[j] > j:
            return None, f"discount D{j}{'+' if j == 3 else ''}={float(d[j]):.4g} out of range [0, {j}]"
    return d.astype(np.float64), None


class ModifiedKneserNey(Smoothing):
    name = "modified-kneser-ney"

    def __init__(self, discount_fallback: Sequence[float] = DEFAULT_FALLBACK, strict: bool = False) -> None:
        """`discount_fallback`: D1 D2 D3+ for the orders whose closed-form discounts fail; `strict`: fail
        there instead, as lmplz does without --discount_fallback."""
        fb = [float(x) for x in discount_fallback]
        if len(fb) != 3 or not all(0 <= d <= j for j, d in enumerate(fb, start=1)):
            raise TkitError(f"--discount-fallback needs three discounts D1 D2 D3+ with 0 <= Dk <= k, got {fb}")
        self.discount_fallback: tuple[float, ...] | None = None if strict else tuple(fb)
        self._fallback = tuple(fb)

    def params(self) -> dict[str, Any]:
        return {"discount_fallback": list(self._fallback), "strict": self.discount_fallback is None}

    def discounts(self, nk: Sequence[np.ndarray], order: int) -> tuple[list[np.ndarray], list[str]]:
        out: list[np.ndarray] = [np.zeros(4)]
        failures: list[tuple[int, str]] = []
        for n in range(1, order + 1):
            d, reason = closed_form_discounts(nk[n])
            if d is None:
                if self.discount_fallback is None:
                    raise TkitError(f"modified Kneser-Ney: cannot compute the {n}-gram discounts ({reason}; "
                                    "small or artificial data?): allow --discount-fallback")
                d = np.array([0.0, *self.discount_fallback])
                failures.append((n, reason or "undefined"))
            out.append(d)
        fb = " ".join(f"{x:g}" for x in self._fallback)
        return out, fallback_warning("modified Kneser-Ney", failures, f"the fallback {fb}",
                                     " (as lmplz --discount_fallback)")

    def discount_info(self, discounts: Sequence[np.ndarray], order: int) -> dict[str, Any]:
        return {"discounts": {n: [round(float(x), 6) for x in discounts[n][1:]] for n in range(1, order + 1)}}

    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        adjusted = all_adjusted_counts(tables)
        discounts, warnings = self.discounts(all_count_of_counts(tables, adjusted), tables.order)
        scorer = estimate_kn(tables, discounts, prune, adjusted)
        return Estimate(scorer, warnings, self.discount_info(discounts, tables.order))
