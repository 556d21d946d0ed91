"""Absolute positional encodings: learned (GPT-2/nanoGPT `wpe`) and fixed sinusoidal (Vaswani et al. 2017).

Both map a range of positions [start, start + T) to a (T, C) table that the model adds to the token
embeddings; backward receives the gradient summed over the batch, (T, C).
"""
from __future__ import annotations

import numpy as np

from neural.layers import INIT_STD, normal
from neural.module import Module, Parameter


class LearnedPositional(Module):
    """A trainable (block_size, C) table."""

    def __init__(self, block_size: int, dim: int, rng: np.random.Generator | None = None,
                 std: float = INIT_STD, dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.weight = Parameter(normal(rng, (block_size, dim), std, dtype), "weight")

    def forward(self, start: int, length: int) -> np.ndarray:
        self.save((start, length))
        return self.weight.data[start:start + length]

    def backward(self, g: np.ndarray) -> None:
        start, length = self.saved()
        self.weight.grad[start:start + length] += g
        return None


def sinusoid_table(n: int, dim: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/dim)), PE[pos, 2i+1] = cos(...)   (float64, (n, dim))."""
    pos = np.arange(n, dtype=np.float64)[:, None]
    freq = np.exp(-np.log(10000.0) * (np.arange(0, dim, 2, dtype=np.float64) / dim))
    table = np.zeros((n, dim))
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: dim // 2])
    return table


class SinusoidalPositional(Module):
    """The fixed sine/cosine table: no parameters, nothing to back-propagate."""

    def __init__(self, block_size: int, dim: int, dtype=np.float32) -> None:
        super().__init__()
        self._table = sinusoid_table(block_size, dim).astype(dtype)

    def forward(self, start: int, length: int) -> np.ndarray:
        return self._table[start:start + length]

    def backward(self, g: np.ndarray) -> None:
        return None

    def _cast_buffers(self, dtype: np.dtype) -> None:
        self._table = self._table.astype(dtype)


def make_positional(kind: str, block_size: int, dim: int, rng: np.random.Generator) -> Module:
    if kind == "learned":
        return LearnedPositional(block_size, dim, rng)
    if kind == "sinusoidal":
        return SinusoidalPositional(block_size, dim)
    raise ValueError(f"positional encoding must be 'learned' or 'sinusoidal', not {kind!r}")
