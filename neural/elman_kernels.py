"""Fast Elman (tanh RNN) kernels over a whole time-major window; `neural.rnn_reference` is the plain
version they are tested against.

    h_t = tanh(x_t W_ih + b + h_{t-1} W_hh)        pre = x W_ih + b comes from `neural.rnn_projection`

Shapes: pre (T, B, H), w_hh (H, H), states (B, H). The time loop runs on slices of the batch rows in the
worker threads (`rnn_ops.run_row_slices`); tanh goes through exp (`rnn_ops.tanh_`).
"""
from __future__ import annotations

import numpy as np

from neural.rnn_ops import StepProduct, flat, run_row_slices, tanh_, zeros_or_copy
from neural.thread_pool import par_matmul


def elman_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` is consumed."""
    T, B = pre.shape[:2]
    hs = np.empty((T + 1, B, w_hh.shape[0]), w_hh.dtype)     # hs[0] = h0
    hs[0] = h0
    run_row_slices(_forward_rows, B, [(pre, 1), (w_hh, None), (hs, 1)])
    return hs[1:], (hs,)


def _forward_rows(pre: np.ndarray, w_hh: np.ndarray, hs: np.ndarray) -> None:
    tmp = np.empty_like(hs[0])
    product = StepProduct(w_hh, tmp)
    with np.errstate(over="ignore"):
        for t in range(pre.shape[0]):
            product(hs[t])                                    # h_{t-1} W_hh
            pre[t] += tmp
            tanh_(pre[t], out=hs[t + 1])


def elman_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                   dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (T, B, H), dw_hh (H, H), dh0 (B, H)."""
    (hs,) = cache
    dpre = np.multiply(hs[1:], hs[1:])
    np.subtract(1, dpre, out=dpre)                            # tanh' = 1 - h², later times dh
    dh0 = zeros_or_copy(hs[0], dh_last)
    run_row_slices(_backward_rows, dh0.shape[0], [(dhs, 1), (dpre, 1), (w_hh.T, None), (dh0, 0)])
    return dpre, par_matmul(flat(hs[:-1]).T, flat(dpre)), dh0


def _backward_rows(dhs: np.ndarray, dpre: np.ndarray, w_hh_t: np.ndarray, dh_next: np.ndarray) -> None:
    """dh_next: the gradient flowing into the last step, updated in place to dh0."""
    dh = np.empty_like(dh_next)
    product = StepProduct(w_hh_t, dh_next)
    for t in range(dpre.shape[0] - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        dpre[t] *= dh
        product(dpre[t])                                      # dh_{t-1} = d pre_t W_hhᵀ
