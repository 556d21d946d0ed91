"""Pure NumPy kernels for recurrent layers (Elman, GRU, LSTM) over a whole time-major window.

Every `*_forward(x, ...)` takes x (T, B, In) and the initial state, returns the hidden states hs (T, B, H)
and a cache; `*_backward(dhs, cache, ...)` returns the gradients of the inputs, the weights and the initial
state. The layout follows PyTorch (`torch.nn.LSTM`/`GRU`/`RNN`, gate order i,f,g,o and r,z,n) but weights are
stored (in, out) so that `x @ w_ih` needs no transpose:

    w_ih (In, G*H), w_hh (H, G*H), biases (G*H,)       G = 4 (LSTM), 3 (GRU), 1 (Elman)

Speed (this is the hot loop of RNN training): the input projection of all T steps is ONE GEMM before the
loop, so the loop only does h @ w_hh and a few in-place elementwise ops on preallocated arrays; backward
collects the pre-activation gradients of all steps and does the weight and input GEMMs once after the loop.
Elementwise non-linearities use exp (≈2x faster than np.tanh in float32): σ(a) = 1/(1+e^-a),
tanh(a) = 2σ(2a) - 1. Overflow of exp to inf is harmless there (1/(1+inf) = 0) and silenced.
"""
from __future__ import annotations

import numpy as np


# ---- elementwise helpers (in place, `out` may be `a`) -----------------------------------------------------
def sigmoid_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = a if out is None else out
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def tanh_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = a if out is None else out
    np.multiply(a, -2, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(2, out, out=out)
    out -= 1
    return out


def _flat(a: np.ndarray) -> np.ndarray:
    """(T, B, C) -> (T*B, C) without copying when possible."""
    return a.reshape(-1, a.shape[-1])


def _project(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x @ w + b for all T steps in one GEMM: (T, B, In) -> (T, B, Out)."""
    out = (_flat(x) @ w).reshape(*x.shape[:2], w.shape[1])
    out += b
    return out


# ---- Elman (tanh) ---------------------------------------------------------------------------------------
# h_t = tanh(x_t W_ih + b + h_{t-1} W_hh)

def elman_forward(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray,
                  h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    T, B = x.shape[:2]
    pre = _project(x, w_ih, b)                                # (T, B, H)
    hs = np.empty((T + 1, B, w_hh.shape[0]), dtype=w_hh.dtype)
    hs[0] = h0
    tmp = np.empty_like(hs[0])
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], w_hh, out=tmp)
            pre[t] += tmp
            tanh_(pre[t], out=hs[t + 1])
    return hs[1:], (x, hs)


def elman_backward(dhs: np.ndarray, cache: tuple, w_ih: np.ndarray, w_hh: np.ndarray,
                   dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dx, dw_ih, dw_hh, db, dh0."""
    x, hs = cache
    T = x.shape[0]
    dpre = hs[1:] * hs[1:]
    np.subtract(1, dpre, out=dpre)                            # tanh' = 1 - h², later times dh
    dh_next = np.zeros_like(hs[0]) if dh_last is None else np.array(dh_last, dtype=hs.dtype)
    dh = np.empty_like(dh_next)
    w_hh_t = w_hh.T
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        dpre[t] *= dh
        np.matmul(dpre[t], w_hh_t, out=dh_next)
    return _input_grads(x, dpre, w_ih) + (_flat(hs[:-1]).T @ _flat(dpre), _flat(dpre).sum(0), dh_next)


def _input_grads(x: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hoisted GEMMs: dx (T, B, In) and dw_ih (In, G*H) from the pre-activation grads of all steps."""
    dpre2 = _flat(dpre)
    return (dpre2 @ w_ih.T).reshape(x.shape), _flat(x).T @ dpre2


# ---- LSTM (PyTorch gate order i, f, g, o) --------------------------------------------------------------
# i,f,o = σ(·), g = tanh(·) of x_t W_ih + b + h_{t-1} W_hh;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

def _lstm_scale(H: int, dtype: np.dtype) -> np.ndarray:
    """-1 on the sigmoid gates, -2 on g: then one exp/+1/reciprocal gives σ(a) and σ(2a) for the whole row."""
    s = np.full(4 * H, -1.0, dtype=dtype)
    s[2 * H:3 * H] = -2.0
    return s


def lstm_forward(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray,
                 h0: np.ndarray, c0: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """-> hs (T, B, H), c_T (B, H), cache."""
    T, B = x.shape[:2]
    H = w_hh.shape[0]
    s = _lstm_scale(H, w_hh.dtype)
    gates = _project(x, w_ih * s, b * s)                      # (T, B, 4H): -pre (i, f, o), -2 pre (g)
    w = w_hh * s
    hs = np.empty((T + 1, B, H), dtype=w_hh.dtype)
    cs = np.empty_like(hs)
    tcs = np.empty((T, B, H), dtype=w_hh.dtype)              # tanh(c_t)
    hs[0], cs[0] = h0, c0
    tmp = np.empty((B, 4 * H), dtype=w_hh.dtype)
    ig = np.empty((B, H), dtype=w_hh.dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            a = gates[t]
            np.matmul(hs[t], w, out=tmp)
            a += tmp
            np.exp(a, out=a)
            a += 1
            np.reciprocal(a, out=a)                           # σ(pre) on i, f, o; σ(2 pre) on g
            g = a[:, 2 * H:3 * H]
            g *= 2
            g -= 1                                            # tanh(pre) = 2σ(2 pre) - 1
            np.multiply(a[:, H:2 * H], cs[t], out=cs[t + 1])
            np.multiply(a[:, :H], g, out=ig)
            cs[t + 1] += ig
            tanh_(cs[t + 1], out=tcs[t])
            np.multiply(a[:, 3 * H:], tcs[t], out=hs[t + 1])
    return hs[1:], cs[T], (x, gates, cs, tcs, hs)


def lstm_backward(dhs: np.ndarray, cache: tuple, w_ih: np.ndarray, w_hh: np.ndarray,
                  dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dx, dw_ih, dw_hh, db, dh0, dc0. Consumes the cache: the gate activations are overwritten with the
    pre-activation gradients, step by step while they are hot in cache."""
    x, gates, cs, tcs, hs = cache
    T, B, H4 = gates.shape
    H = H4 // 4
    dt = gates.dtype
    dh_next = np.zeros((B, H), dtype=dt) if dh_last is None else np.array(dh_last, dtype=dt)
    dc_next = np.zeros((B, H), dtype=dt) if dc_last is None else np.array(dc_last, dtype=dt)
    dh, dc, p = np.empty_like(dh_next), np.empty_like(dh_next), np.empty_like(dh_next)
    u = np.empty((B, 4, H), dtype=dt)                         # local derivatives d pre / d(c or h)
    u2 = u.reshape(B, 4 * H)
    w_hh_t = w_hh.T
    for t in range(T - 1, -1, -1):
        a = gates[t]                                          # (B, 4H): i, f, g, o
        a4 = a.reshape(B, 4, H)
        i, f, g, o = a4[:, 0], a4[:, 1], a4[:, 2], a4[:, 3]
        np.add(dhs[t], dh_next, out=dh)
        np.multiply(tcs[t], tcs[t], out=p)
        np.subtract(1, p, out=p)
        p *= o                                                # dh -> dc: o (1 - tanh²(c))
        np.multiply(dh, p, out=dc)
        dc += dc_next
        np.multiply(dc, f, out=dc_next)                       # dc_{t-1}
        np.subtract(1, a, out=u2)
        u2 *= a                                               # σ' of i, f, o (g's block replaced below)
        u[:, 0] *= g                                          # dc -> d pre_i: g σ'(i)
        u[:, 1] *= cs[t]                                      # dc -> d pre_f: c_{t-1} σ'(f)
        np.multiply(g, g, out=u[:, 2])
        np.subtract(1, u[:, 2], out=u[:, 2])
        u[:, 2] *= i                                          # dc -> d pre_g: i (1 - g²)
        np.multiply(u[:, 3], tcs[t], out=o)
        o *= dh                                               # d pre_o = dh tanh(c) σ'(o)
        np.multiply(u[:, :3], dc[:, None, :], out=a4[:, :3])  # d pre_{i,f,g} = dc * local
        np.matmul(a, w_hh_t, out=dh_next)
    dx, dw_ih = _input_grads(x, gates, w_ih)
    return dx, dw_ih, _flat(hs[:-1]).T @ _flat(gates), _flat(gates).sum(0), dh_next, dc_next


# ---- GRU (PyTorch's equations, gate order r, z, n) -------------------------------------------------------
# r, z = σ(x W_i{r,z} + b_i{r,z} + h W_h{r,z} + b_h{r,z});  n = tanh(x W_in + b_in + r (h W_hn + b_hn))
# h_t = (1 - z) n + z h_{t-1}

def gru_forward(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
                h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    T, B = x.shape[:2]
    H = w_hh.shape[0]
    act = _project(x, w_ih, b_ih)                             # (T, B, 3H): becomes r, z, n
    hp = np.empty_like(act)                                   # h W_hh + b_hh (its n part is kept)
    hs = np.empty((T + 1, B, H), dtype=w_hh.dtype)
    hs[0] = h0
    tmp = np.empty((B, H), dtype=w_hh.dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], w_hh, out=hp[t])
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
            h += n
    return hs[1:], (x, act, hp, hs)


def gru_backward(dhs: np.ndarray, cache: tuple, w_ih: np.ndarray, w_hh: np.ndarray,
                 dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dx, dw_ih, dw_hh, db_ih, db_hh, dh0."""
    x, act, hp, hs = cache
    T, B, H3 = act.shape
    H = H3 // 3
    r, z, n = (act[..., j * H:(j + 1) * H] for j in range(3))
    hn = hp[..., 2 * H:]
    kz = hs[:-1] - n; kz *= z; kz *= 1 - z                   # dh -> d pre_z: (h_{t-1} - n) σ'(z)
    kn = n * n; np.subtract(1, kn, out=kn); kn *= 1 - z      # dh -> d pre_n: (1 - z)(1 - n²)
    kr = 1 - r; kr *= r; kr *= hn                             # d pre_n -> d pre_r: hn σ'(r)
    dxp = np.empty_like(act)                                  # d(x-side pre-activations)
    dhp = np.empty_like(act)                                  # d(h-side pre-activations)
    dh_next = np.zeros((B, H), dtype=act.dtype) if dh_last is None else np.array(dh_last, dtype=act.dtype)
    dh, tmp = np.empty_like(dh_next), np.empty_like(dh_next)
    w_hh_t = w_hh.T
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        dn = dxp[t, :, 2 * H:]
        np.multiply(dh, kn[t], out=dn)
        np.multiply(dh, kz[t], out=dxp[t, :, H:2 * H])
        np.multiply(dn, kr[t], out=dxp[t, :, :H])
        dhp[t, :, :2 * H] = dxp[t, :, :2 * H]
        np.multiply(dn, r[t], out=dhp[t, :, 2 * H:])
        np.matmul(dhp[t], w_hh_t, out=dh_next)
        np.multiply(dh, z[t], out=tmp)
        dh_next += tmp
    dx, dw_ih = _input_grads(x, dxp, w_ih)
    dhp2 = _flat(dhp)
    return dx, dw_ih, _flat(hs[:-1]).T @ dhp2, _flat(dxp).sum(0), dhp2.sum(0), dh_next


# ---- single steps for incremental decoding (no cache; plain and obviously right) -------------------------
def _sigmoid(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def elman_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.tanh(x @ w_ih + b + h @ w_hh)


def lstm_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    H = h.shape[-1]
    pre = x @ w_ih + b + h @ w_hh
    i, f, o = _sigmoid(pre[..., :H]), _sigmoid(pre[..., H:2 * H]), _sigmoid(pre[..., 3 * H:])
    c = f * c + i * np.tanh(pre[..., 2 * H:3 * H])
    return o * np.tanh(c), c


def gru_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
             h: np.ndarray) -> np.ndarray:
    H = h.shape[-1]
    xp, hp = x @ w_ih + b_ih, h @ w_hh + b_hh
    r = _sigmoid(xp[..., :H] + hp[..., :H])
    z = _sigmoid(xp[..., H:2 * H] + hp[..., H:2 * H])
    n = np.tanh(xp[..., 2 * H:] + r * hp[..., 2 * H:])
    return (1 - z) * n + z * h
