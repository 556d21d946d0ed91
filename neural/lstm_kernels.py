"""Fast LSTM kernels over a whole time-major window (PyTorch's equations, gates i, f, g, o);
`neural.rnn_reference` is the plain version they are tested against.

    i, f, o = σ(·), g = tanh(·) of x_t W_ih + b + h_{t-1} W_hh;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

Inside the kernel the gates are gate-major (`LSTM_LAYOUT`, (4, T, B, H)) in the order o, i, f, g: every gate
of a step is a contiguous (B, H) block, the sigmoid gates o, i, f are one contiguous block for the forward's
σ(a) = (1 + tanh(a/2)) / 2 (their pre-activations come halved: NumPy's SIMD tanh is cheaper than exp in
float32), and i, f, g are one block for the backward's d pre = dc * (local derivative). The weights'
gradients come back in PyTorch's layout. The time loop runs on slices of the batch rows in the worker
threads.
"""
from __future__ import annotations

import numpy as np

from neural.rnn_ops import (
    GateMajor,
    StepProduct,
    flat,
    run_row_slices,
    stacked_matmul,
    zeros_or_copy,
)

LSTM_LAYOUT = GateMajor(order=(3, 0, 1, 2), scale=(0.5, 0.5, 0.5, 1.0))
_O, _I, _F, _G = 0, 1, 2, 3
LSTM_CHUNK = 16  # backward: steps whose local derivatives are computed together (one op per chunk)


def lstm_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray,
                 c0: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """-> hs (T, B, H), c_T (B, H), cache. `pre` (4, T, B, H) is in LSTM_LAYOUT (`project(..., LSTM_LAYOUT)`)
    and is consumed: it becomes the gate activations."""
    _, T, B, H = pre.shape
    gates = pre
    w = LSTM_LAYOUT.blocks(w_hh)                              # (4, H, H), halved on o, i, f
    hs = np.empty((T + 1, B, H), w_hh.dtype)
    cs = np.empty((T + 1, B, H), w_hh.dtype)
    tcs = np.empty((T, B, H), w_hh.dtype)                     # tanh(c_t)
    hs[0], cs[0] = h0, c0
    run_row_slices(_forward_rows, B, [(gates, 2), (w, None), (hs, 1), (cs, 1), (tcs, 1)])
    return hs[1:], cs[T], (gates, cs, tcs, hs)


def _forward_rows(gates: np.ndarray, w: np.ndarray, hs: np.ndarray, cs: np.ndarray, tcs: np.ndarray) -> None:
    """Ten NumPy calls a step, each on whole contiguous (B, H) blocks (or the (4, B, H) stack)."""
    _, T, B, H = gates.shape
    tmp = np.empty((4, B, H), dtype=gates.dtype)
    ig = np.empty((B, H), dtype=gates.dtype)
    product = StepProduct(w, tmp)
    for t in range(T):
        a = gates[:, t]                                       # (4, B, H): o, i, f, g
        product(hs[t])
        a += tmp
        np.tanh(a, out=a)                                     # tanh(pre/2) on o, i, f; tanh(pre) on g
        sig = a[:_G]
        sig *= 0.5
        sig += 0.5                                            # σ(pre) = (1 + tanh(pre/2)) / 2
        c = cs[t + 1]
        np.multiply(a[_F], cs[t], out=c)
        np.multiply(a[_I], a[_G], out=ig)
        c += ig
        np.tanh(c, out=tcs[t])
        np.multiply(a[_O], tcs[t], out=hs[t + 1])


def lstm_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray, dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (4, T, B, H) in LSTM_LAYOUT (of the unscaled pre-activations), dw_hh (H, 4H) in PyTorch's
    order, dh0, dc0. Consumes the cache: the gate activations are overwritten with the pre-activation
    gradients, step by step while they are hot in cache."""
    gates, cs, tcs, hs = cache
    H = hs.shape[-1]
    dh0 = zeros_or_copy(hs[0], dh_last)
    dc0 = zeros_or_copy(hs[0], dc_last)
    w_t = LSTM_LAYOUT.blocks(w_hh, scaled=False).transpose(0, 2, 1)   # (4, H, H): W_gateᵀ
    run_row_slices(_backward_rows, dh0.shape[0], [(dhs, 1), (gates, 2), (cs, 1), (tcs, 1), (w_t, None),
                                                  (dh0, 0), (dc0, 0)])
    d3 = gates.reshape(4, -1, H)                              # (4, T·B, H)
    dw = stacked_matmul(flat(hs[:-1]).T, d3, np.empty((4, H, H), dtype=hs.dtype))
    return gates, LSTM_LAYOUT.unblocks(dw), dh0, dc0


def _backward_rows(dhs: np.ndarray, gates: np.ndarray, cs: np.ndarray, tcs: np.ndarray,
                   w_t: np.ndarray, dh_next: np.ndarray, dc_next: np.ndarray) -> None:
    """dh_next, dc_next: the gradients flowing into the last step, updated in place to dh0, dc0.

    The local derivatives (d pre / dc for i, f, g; d pre / dh for o; dc / dh) depend on no gradient, so
    they are computed for LSTM_CHUNK steps at a time (a dozen calls per chunk instead of per step);
    the step loop is then seven calls and the product with W_hhᵀ."""
    _, T, B, H = gates.shape
    dt = gates.dtype
    n_max = min(LSTM_CHUNK, T)
    dh, dc = np.empty_like(dh_next), np.empty_like(dh_next)
    loc = np.empty((4, n_max, B, H), dtype=dt)               # o: tanh(c) σ'(o); i: g σ'(i); f: c_{t-1} σ'(f);
    p = np.empty((n_max, B, H), dtype=dt)                     # g: i (1 - g²).   p: dc/dh = o (1 - tanh²(c))
    tmp = np.empty((4, B, H), dtype=dt)
    product = StepProduct(w_t, tmp)
    for end in range(T, 0, -n_max):
        start = max(0, end - n_max)
        a, tc, lc, pc = gates[:, start:end], tcs[start:end], loc[:, :end - start], p[:end - start]
        np.subtract(1, a[:_G], out=lc[:_G])
        lc[:_G] *= a[:_G]                                     # σ' of o, i, f
        lc[_O] *= tc
        lc[_I] *= a[_G]
        lc[_F] *= cs[start:end]
        np.multiply(a[_G], a[_G], out=lc[_G])
        np.subtract(1, lc[_G], out=lc[_G])
        lc[_G] *= a[_I]
        np.multiply(tc, tc, out=pc)
        np.subtract(1, pc, out=pc)
        pc *= a[_O]
        for t in range(end - 1, start - 1, -1):
            j = t - start
            a = gates[:, t]                                   # (4, B, H) -> d pre
            np.add(dhs[t], dh_next, out=dh)
            np.multiply(dh, pc[j], out=dc)
            dc += dc_next
            np.multiply(dc, a[_F], out=dc_next)               # dc_{t-1}
            np.multiply(lc[_I:, j], dc, out=a[_I:])           # d pre_{i,f,g}
            np.multiply(lc[_O, j], dh, out=a[_O])             # d pre_o
            product(a)                                        # (4, B, H): d pre_gate W_gateᵀ
            np.add.reduce(tmp, axis=0, out=dh_next)
