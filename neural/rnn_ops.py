"""Shared pieces of the recurrent kernels (`neural.elman_kernels`, `gru_kernels`, `lstm_kernels`):
in-place elementwise non-linearities, the per-step product h @ w_hh, the gate-major layout, and the
split of a recurrence's batch rows across the worker threads.

Shapes: a step's product is (B, K) @ (K, N); windows are time-major, (T, B, C).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neural import thread_pool


# ---- elementwise helpers (in place, `out` may be `a`) -----------------------------------------------------
def sigmoid_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(a) = 1 / (1 + e^-a); e^-a overflowing to inf is harmless (1/(1+inf) = 0)."""
    out = a if out is None else out
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def tanh_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh(a) = 2σ(2a) - 1, through exp like `sigmoid_`."""
    out = a if out is None else out
    np.multiply(a, -2, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(2, out, out=out)
    out -= 1
    return out


def flat(a: np.ndarray) -> np.ndarray:
    """(T, B, C) -> (T*B, C) without copying when possible."""
    return a.reshape(-1, a.shape[-1])


def zeros_or_copy(like: np.ndarray, a: np.ndarray | None) -> np.ndarray:
    """A fresh array shaped as `like`: a copy of `a` (cast to like's dtype), or zeros if a is None."""
    return np.zeros_like(like) if a is None else np.array(a, dtype=like.dtype)


# ---- the per-step recurrent product, h @ w_hh ---------------------------------------------------------
SMALL_GEMM = 1_000_000  # M·N·K up to which OpenBLAS (SkylakeX+ kernels) multiplies without packing


def column_blocks(w: np.ndarray, rows: int) -> np.ndarray:
    """w (..., K, N) -> contiguous (..., N/nb, K, nb) column blocks for `StepProduct` with `rows` rows.

    Why: a step's product is small in M (B/threads rows) and big in K·N, so a plain GEMM spends much of its
    time packing w, every step. With nb columns a block (the largest power of two dividing N such that
    rows·K·nb <= SMALL_GEMM), each block goes to OpenBLAS's small-matrix kernel, which reads w as it is:
    one stacked np.matmul over the blocks (the loop over blocks runs in C). It also avoids multiplying by
    a transposed view (w_hhᵀ in the backward), which OpenBLAS handles slowly at these sizes.
    nb = N (one block) when no smaller block fits."""
    k_dim, n = w.shape[-2:]
    nb = n & -n                                               # largest power of two dividing N
    while nb > 8 and rows * k_dim * nb > SMALL_GEMM:
        nb //= 2
    if nb < 8 or rows * k_dim * nb > SMALL_GEMM:
        nb = n
    blocks = w.reshape(*w.shape[:-1], n // nb, nb)            # (..., K, k, nb)
    return np.ascontiguousarray(np.moveaxis(blocks, -2, -3))


def reshape_view(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """a reshaped without a copy (results are written through it), else an error. NumPy < 2.1 has no
    `reshape(copy=False)`, so the check is ours."""
    view = a.reshape(shape)
    if not np.may_share_memory(view, a):
        raise ValueError(f"reshaping {a.shape} to {shape} would copy the array")
    return view


class StepProduct:
    """`out = a @ w` once per time step, for a fixed w (`column_blocks`) and a fixed output array: the
    blocked output view is built once, here, not every step (it costs about as much as a small product).

    out (..., M, N) or, with `indexed`, a stack of outputs (S, ..., M, N) written one at a time
    (`product(a, s)` -> out[s]). a (M, K), or (G, M, K) for a stacked w (G, K, N)."""

    def __init__(self, w: np.ndarray, out: np.ndarray, indexed: bool = False) -> None:
        self.blocks = column_blocks(w, out.shape[-2])
        k, nb = self.blocks.shape[-3], self.blocks.shape[-1]
        view = reshape_view(out, (*out.shape[:-1], k, nb))            # (..., M, k, nb)
        self.out = np.moveaxis(view, -2, -3)                           # (..., k, M, nb)
        self.indexed = indexed

    def __call__(self, a: np.ndarray, s: int = 0) -> None:
        np.matmul(a[..., None, :, :], self.blocks, out=self.out[s] if self.indexed else self.out)


# ---- gate-major layout ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GateMajor:
    """Pre-activations stored gate-major, (G, T, B, H): block j holds PyTorch's gate `order[j]` times
    `scale[j]`. A step's gates are then G contiguous (B, H) blocks, so its elementwise ops run on whole
    contiguous arrays (a strided (B, H) slice of a (B, G·H) row is markedly slower per element) and each
    gate's weights are a (K, H) block of their own."""

    order: tuple[int, ...]
    scale: tuple[float, ...]

    def blocks(self, w: np.ndarray, scaled: bool = True) -> np.ndarray:
        """w (..., G·H) in PyTorch's column order -> (G, ..., H) in this order (times the scales): a fresh
        contiguous array (fancy indexing copies)."""
        g = len(self.order)
        out = np.ascontiguousarray(np.moveaxis(w.reshape(*w.shape[:-1], g, -1), -2, 0)[list(self.order)])
        if scaled:
            out *= np.array(self.scale, dtype=w.dtype).reshape(g, *[1] * (out.ndim - 1))
        return out

    def unblocks(self, blocks: np.ndarray) -> np.ndarray:
        """Inverse of `blocks(..., scaled=False)`: (G, ..., H) -> (..., G·H) in PyTorch's order."""
        torch_order = np.empty_like(blocks)
        torch_order[list(self.order)] = blocks
        return np.moveaxis(torch_order, 0, -2).reshape(*blocks.shape[1:-1], -1)


def stacked_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[j] = a @ b[j] for a (M, K), b (G, K, N), out (G, M, N): whole products split across the
    workers when they are big enough to pay for it (splitting the rows of `a` instead is slower here)."""
    g = b.shape[0]
    if g < 2 or a.shape[0] * b.size < thread_pool.PAR_MIN_FLOPS:
        return np.matmul(a, b, out=out)
    unit = thread_pool.MIN_ROWS            # run_rows splits rows, at least MIN_ROWS a worker: g items of unit
    thread_pool.run_rows(g * unit, lambda lo, hi: np.matmul(a, b[lo // unit:hi // unit],
                                                            out=out[lo // unit:hi // unit]))
    return out


def stacked_sum_matmul(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_j d[j] @ w[j]ᵀ for d (G, M, H), w (G, K, H) -> (M, K): d x of a gate-major d pre."""
    out = thread_pool.par_matmul(d[0], w[0].T)
    for j in range(1, d.shape[0]):
        out += thread_pool.par_matmul(d[j], w[j].T)
    return out


# ---- a recurrence over slices of the batch --------------------------------------------------------------
def run_row_slices(kernel: Callable[..., None], n_rows: int,
                   args: Sequence[tuple[np.ndarray, int | None]]) -> None:
    """kernel(*slices) on row ranges [lo, hi) of the batch, in the worker threads when there are rows
    enough (`thread_pool.run_rows`). Each arg is (array, axis of the batch rows) or (array, None) for one
    shared by all ranges (weights). The B rows of a batch are independent streams, so a time loop over B
    rows splits into k loops over B/k rows."""
    def on_rows(lo: int, hi: int) -> None:
        kernel(*(a if axis is None else a[(slice(None),) * axis + (slice(lo, hi),)] for a, axis in args))

    thread_pool.run_rows(n_rows, on_rows)
