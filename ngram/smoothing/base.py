"""The one interface every smoothing method implements: counts in, a scorer out.

`Smoothing.estimate(tables, prune)` takes the `CountTables` of a corpus and returns an `Estimate`: a scorer
(a `BackoffScorer` for every method that has a backoff form, i.e. can be written as ARPA; add-k has its own),
plus warnings (e.g. discount fallbacks) and facts worth reporting (e.g. the discounts used).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from ngram.counting import CountTables


class Scorer(Protocol):
    """What the n-gram model needs from a smoothing's result (log10 values, as in ARPA)."""

    @property
    def order(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

    def position_logprobs(self, tokens: np.ndarray, dist: np.ndarray, max_order: int | None = None) -> np.ndarray:
        """log10 p of every position given its sentence so far (0 where dist == 0)."""
        ...

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log10 p(w | context) for every vocabulary id."""
        ...


@dataclass
class Estimate:
    scorer: Scorer
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


class Smoothing(ABC):
    """A smoothing method with its settings."""

    name: ClassVar[str]
    normalised: ClassVar[bool] = True  # next_logprobs sums to 1 over the vocabulary
    arpa: ClassVar[bool] = True  # has a backoff form (can be written as ARPA)
    supports_prune: ClassVar[bool] = True

    def params(self) -> dict[str, Any]:
        """Settings to store in model files (JSON-safe)."""
        return {}

    @abstractmethod
    def estimate(self, tables: CountTables, prune: Sequence[int] | None = None) -> Estimate:
        """Fit the method to the counts. `prune[n-1]` is the count cutoff of order n (0 = keep all)."""

    def describe(self) -> str:
        return self.name


def predictable_vocab(vocab_size: int) -> int:
    """|V| for uniform terms and add-k: every id except `<s>`, which is never predicted (KenLM counts
    `<unk>` and `</s>` but not `<s>`)."""
    return vocab_size - 1
