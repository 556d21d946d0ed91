"""Fast GRU kernels over a whole time-major window (PyTorch's equations, gate order r, z, n);
`neural.rnn_reference` is the plain version they are tested against.

    r, z = σ(x W_i{r,z} + b_i{r,z} + h W_h{r,z} + b_h{r,z});  n = tanh(x W_in + b_in + r (h W_hn + b_hn))
    h_t = (1 - z) n + z h_{t-1}

Shapes: pre = x W_ih + b_ih (T, B, 3H) from `neural.rnn_projection`, w_hh (H, 3H), b_hh (3H,), states
(B, H). The time loop runs on slices of the batch rows in the worker threads; σ and tanh go through exp.
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


def gru_forward(pre: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` (the input side x W_ih + b_ih) is consumed: it becomes r, z, n."""
    T, B = pre.shape[:2]
    act = pre                                                 # (T, B, 3H)
    hp = np.empty(act.shape, act.dtype)                       # h W_hh + b_hh (its n part is kept)
    hs = np.empty((T + 1, B, w_hh.shape[0]), w_hh.dtype)
    hs[0] = h0
    run_row_slices(_forward_rows, B, [(act, 1), (hp, 1), (w_hh, None), (b_hh, None), (hs, 1)])
    return hs[1:], (act, hp, hs)


def _forward_rows(act: np.ndarray, hp: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                  hs: np.ndarray) -> None:
    T, B, H3 = act.shape
    H = H3 // 3
    tmp = np.empty((B, H), dtype=act.dtype)
    product = StepProduct(w_hh, hp, indexed=True)
    with np.errstate(over="ignore"):
        for t in range(T):
            product(hs[t], t)
            hp[t] += b_hh
            rz = act[t, :, :2 * H]
            rz += hp[t, :, :2 * H]
            sigmoid_(rz)
            n = act[t, :, 2 * H:]
            np.multiply(rz[:, :H], hp[t, :, 2 * H:], out=tmp)
            n += tmp
            tanh_(n)
            h = hs[t + 1]
            np.subtract(hs[t], n, out=h)
            h *= rz[:, H:]
            h += n                                            # n + z (h_{t-1} - n)


def gru_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                 dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (input side, (T, B, 3H)), dw_hh (H, 3H), db_hh (3H,), dh0 (B, H). Consumes the cache:
    r, z, n become the input-side pre-activation gradients and h W_hh + b_hh the hidden-side ones."""
    act, hp, hs = cache
    dh0 = zeros_or_copy(hs[0], dh_last)
    run_row_slices(_backward_rows, dh0.shape[0], [(dhs, 1), (act, 1), (hp, 1), (hs, 1), (w_hh.T, None),
                                                  (dh0, 0)])
    dhp2 = flat(hp)
    return act, par_matmul(flat(hs[:-1]).T, dhp2), dhp2.sum(0), dh0


def _backward_rows(dhs: np.ndarray, act: np.ndarray, hp: np.ndarray, hs: np.ndarray,
                   w_hh_t: np.ndarray, dh_next: np.ndarray) -> None:
    T, B, H3 = act.shape
    H = H3 // 3
    dh, direct, t1, t2, dn = (np.empty_like(dh_next) for _ in range(5))
    product = StepProduct(w_hh_t, dh_next)
    for t in range(T - 1, -1, -1):
        r, z, n = act[t, :, :H], act[t, :, H:2 * H], act[t, :, 2 * H:]
        hn = hp[t, :, 2 * H:]
        np.add(dhs[t], dh_next, out=dh)
        np.multiply(dh, z, out=direct)                        # dh_{t-1} through z h_{t-1}
        np.subtract(hs[t], n, out=t1)
        t1 *= dh                                              # dz = dh (h_{t-1} - n)
        np.subtract(1, z, out=t2)                             # 1 - z
        np.multiply(n, n, out=dn)
        np.subtract(1, dn, out=dn)
        dn *= t2
        dn *= dh                                              # d pre_n = dh (1 - z)(1 - n²)
        t1 *= t2
        z *= t1                                               # d pre_z = dz σ'(z)
        np.subtract(1, r, out=t2)
        t2 *= r
        t2 *= hn                                              # d pre_n -> d pre_r: hn σ'(r)
        np.multiply(dn, r, out=hn)                            # d(h W_hn + b_hn) = d pre_n r
        np.multiply(dn, t2, out=r)                            # d pre_r
        n[...] = dn
        hp[t, :, :2 * H] = act[t, :, :2 * H]                  # r, z: same gradient on both sides
        product(hp[t])
        dh_next += direct
