"""Learning-rate schedules: linear warmup then cosine decay to a floor (nanoGPT's `get_lr`)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class WarmupCosine:
    """lr(it): linear warmup lr*(it+1)/(warmup+1) for it < warmup, cosine from lr to min_lr until
    decay_steps, then min_lr. With decay_steps <= warmup the rate stays at lr after warmup."""

    lr: float
    warmup: int = 0
    decay_steps: int = 0
    min_lr: float = 0.0

    def __call__(self, it: int) -> float:
        if it < self.warmup:
            return self.lr * (it + 1) / (self.warmup + 1)
        if self.decay_steps <= self.warmup:
            return self.lr
        if it > self.decay_steps:
            return self.min_lr
        ratio = (it - self.warmup) / (self.decay_steps - self.warmup)
        coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))  # 1 -> 0
        return self.min_lr + coeff * (self.lr - self.min_lr)


def constant(lr: float) -> WarmupCosine:
    return WarmupCosine(lr)
