"""Fast UGRNN kernels over a whole time-major window (Collins et al. 2017, gate order u, c);
`neural.rnn_reference` is the plain version they are tested against.

    u = σ(x W_iu + h W_hu + b_u);  c = tanh(x W_ic + h W_hc + b_c);  h_t = u h_{t-1} + (1 - u) c

Shapes: pre = x W_ih + b (T, B, 2H) from `neural.rnn_projection` (the input side of every step in one GEMM),
w_hh (H, 2H) (both gates' recurrent weights fused: one product per step), states (B, H). The time loop runs on
slices of the batch rows in the worker threads; σ and tanh go through exp, as the GRU's.
"""
from __future__ import annotations

import numpy as np

from neural.rnn_ops import (
    StepProduct,
    flat,
    run_row_slices,
    sigmoid_,
    tanh_,
    zeros_or_copy,
)
from neural.thread_pool import par_matmul


def ugrnn_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` is consumed: it becomes u, c."""
    T, B = pre.shape[:2]
    hs = np.empty((T + 1, B, w_hh.shape[0]), w_hh.dtype)     # hs[0] = h0
    hs[0] = h0
    run_row_slices(_forward_rows, B, [(pre, 1), (w_hh, None), (hs, 1)])
    return hs[1:], (pre, hs)


def _forward_rows(act: np.ndarray, w_hh: np.ndarray, hs: np.ndarray) -> None:
    H = w_hh.shape[0]
    hp = np.empty(act.shape[1:], act.dtype)                   # h_{t-1} W_hh, (B, 2H)
    product = StepProduct(w_hh, hp)
    with np.errstate(over="ignore"):
        for t in range(act.shape[0]):
            product(hs[t])
            a = act[t]
            a += hp
            u, c = a[:, :H], a[:, H:]
            sigmoid_(u)
            tanh_(c)
            h = hs[t + 1]
            np.subtract(hs[t], c, out=h)
            h *= u
            h += c                                            # c + u (h_{t-1} - c)


def ugrnn_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                   dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (T, B, 2H), dw_hh (H, 2H), dh0 (B, H). Consumes the cache: u, c become the gradients of
    their pre-activations (the same on the input and the hidden side: one bias)."""
    act, hs = cache
    dh0 = zeros_or_copy(hs[0], dh_last)
    run_row_slices(_backward_rows, dh0.shape[0], [(dhs, 1), (act, 1), (hs, 1), (w_hh.T, None), (dh0, 0)])
    dpre2 = flat(act)
    return act, par_matmul(flat(hs[:-1]).T, dpre2), dh0


def _backward_rows(dhs: np.ndarray, act: np.ndarray, hs: np.ndarray, w_hh_t: np.ndarray,
                   dh_next: np.ndarray) -> None:
    """dh_next: the gradient flowing into the last step, updated in place to dh0."""
    H = dh_next.shape[1]
    dh, direct, du, t1 = (np.empty_like(dh_next) for _ in range(4))
    product = StepProduct(w_hh_t, dh_next)
    for t in range(act.shape[0] - 1, -1, -1):
        u, c = act[t, :, :H], act[t, :, H:]
        np.add(dhs[t], dh_next, out=dh)
        np.multiply(dh, u, out=direct)                        # dh_{t-1} through u h_{t-1}
        np.subtract(hs[t], c, out=du)
        du *= dh                                              # du = dh (h_{t-1} - c)
        np.subtract(1, u, out=t1)
        u *= t1
        u *= du                                               # d pre_u = du u (1 - u)
        t1 *= dh                                              # dc = dh (1 - u)
        np.multiply(c, c, out=du)
        np.subtract(1, du, out=du)
        np.multiply(t1, du, out=c)                            # d pre_c = dc (1 - c²)
        product(act[t])                                       # d pre_t W_hhᵀ
        dh_next += direct
