"""Pure NumPy kernels for recurrent layers (Elman, GRU, LSTM) over a whole time-major window.

A layer is split in two, so that the input-side work happens once per window, outside the time loop:

* the input projection `pre = x @ w_ih + b` of all T steps at once: ONE GEMM (`project`), or, when x is an
  embedding lookup, a gather from the projected table `(table @ w_ih + b)[ids]` (`project_ids`);
* the recurrence `*_forward(pre, w_hh, state0)`: per step only h @ w_hh and a few in-place elementwise ops
  on preallocated arrays. `*_backward` walks back through the steps producing d pre for every step, then
  d w_hh as one GEMM; `project_backward` / `project_ids_backward` give d x (or d table), d w_ih and d b,
  again with one GEMM each.

Layout follows PyTorch (`torch.nn.LSTM`/`GRU`/`RNN`, gate order i,f,g,o and r,z,n) with weights stored
(in, out) so `x @ w_ih` needs no transpose: w_ih (In, G*H), w_hh (H, G*H), biases (G*H,), G = 4, 3 or 1.
Shapes: x (T, B, In), pre (T, B, G*H), hs (T, B, H), states (B, H).

Non-linearities use exp (≈2x faster than np.tanh in float32): σ(a) = 1/(1+e^-a), tanh(a) = 2σ(2a) - 1.
The LSTM kernel takes its pre-activations scaled by `lstm_scale` (-1 on i, f, o and -2 on g), so that one
exp / +1 / reciprocal over the whole gate row yields every gate. exp overflowing to inf is harmless here
(1/(1+inf) = 0) and silenced.
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


# ---- input projections, hoisted out of the time loop ------------------------------------------------------
def project(x: np.ndarray, w_ih: np.ndarray, b: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """pre = x @ w_ih + b for all T steps in one GEMM (times `scale` if given): (T, B, In) -> (T, B, G*H)."""
    if scale is not None:
        w_ih, b = w_ih * scale, b * scale
    out = (_flat(x) @ w_ih).reshape(*x.shape[:2], w_ih.shape[1])
    out += b
    return out


def project_ids(table: np.ndarray, ids: np.ndarray, w_ih: np.ndarray, b: np.ndarray,
                scale: np.ndarray | None = None) -> np.ndarray:
    """`project(table[ids], ...)`; with fewer table rows than ids, the (V, E) table is projected once and
    its rows gathered (V·E·G multiply-adds instead of T·B·E·G)."""
    if table.shape[0] >= ids.size:
        return project(table[ids], w_ih, b, scale)
    if scale is not None:
        w_ih, b = w_ih * scale, b * scale
    proj = table @ w_ih
    proj += b
    return np.take(proj, ids, axis=0)


def project_backward(x: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray) -> tuple[np.ndarray, ...]:
    """-> dx (T, B, In), dw_ih, db from the pre-activation gradients of all steps (two GEMMs)."""
    dpre2 = _flat(dpre)
    return (dpre2 @ w_ih.T).reshape(x.shape), _flat(x).T @ dpre2, dpre2.sum(0)


def project_ids_backward(table: np.ndarray, ids: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray,
                         dtable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """-> dw_ih, db; adds d table into `dtable` (repeated ids add up).

    A small table (V <= 2E) first sums d pre per id, S = onehot(ids) @ d pre (V, G): one GEMM instead of
    the two of `project_backward`; dtable += S w_ihᵀ and dw_ih = tableᵀ S are then tiny."""
    dpre2 = _flat(dpre)
    v, e = table.shape
    flat_ids = ids.reshape(-1)
    if v <= 2 * e:
        onehot = np.zeros((v, flat_ids.size), dtype=dpre.dtype)
        onehot[flat_ids, np.arange(flat_ids.size)] = 1
        s = onehot @ dpre2                                    # (V, G)
        dtable += s @ w_ih.T
        return table.T @ s, s.sum(0)
    np.add.at(dtable, flat_ids, dpre2 @ w_ih.T)
    return table[flat_ids].T @ dpre2, dpre2.sum(0)


# ---- Elman (tanh) ---------------------------------------------------------------------------------------
# h_t = tanh(x_t W_ih + b + h_{t-1} W_hh)

def elman_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` is consumed."""
    T, B = pre.shape[:2]
    hs = np.empty((T + 1, B, w_hh.shape[0]), dtype=w_hh.dtype)
    hs[0] = h0
    tmp = np.empty_like(hs[0])
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], w_hh, out=tmp)
            pre[t] += tmp
            tanh_(pre[t], out=hs[t + 1])
    return hs[1:], (hs,)


def elman_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                   dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre, dw_hh, dh0."""
    (hs,) = cache
    dpre = hs[1:] * hs[1:]
    np.subtract(1, dpre, out=dpre)                            # tanh' = 1 - h², later times dh
    dh_next = np.zeros_like(hs[0]) if dh_last is None else np.array(dh_last, dtype=hs.dtype)
    dh = np.empty_like(dh_next)
    w_hh_t = w_hh.T
    for t in range(hs.shape[0] - 2, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        dpre[t] *= dh
        np.matmul(dpre[t], w_hh_t, out=dh_next)
    return dpre, _flat(hs[:-1]).T @ _flat(dpre), dh_next


# ---- LSTM (PyTorch gate order i, f, g, o) --------------------------------------------------------------
# i,f,o = σ(·), g = tanh(·) of x_t W_ih + b + h_{t-1} W_hh;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

def lstm_scale(H: int, dtype: np.dtype) -> np.ndarray:
    """(4H,): -1 on the sigmoid gates, -2 on g: one exp/+1/reciprocal of the row gives σ(a), σ(2a)."""
    s = np.full(4 * H, -1.0, dtype=dtype)
    s[2 * H:3 * H] = -2.0
    return s


def lstm_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray,
                 c0: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """-> hs (T, B, H), c_T (B, H), cache. `pre` must be scaled by `lstm_scale` (`project(..., scale)`)
    and is consumed: it becomes the gate activations."""
    T, B = pre.shape[:2]
    H = w_hh.shape[0]
    gates = pre                                               # (T, B, 4H): -pre on i, f, o; -2 pre on g
    w = w_hh * lstm_scale(H, w_hh.dtype)
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
    return hs[1:], cs[T], (gates, cs, tcs, hs)


def lstm_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray, dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (of the unscaled pre-activations), dw_hh, dh0, dc0. Consumes the cache: the gate activations
    are overwritten with the pre-activation gradients, step by step while they are hot in cache."""
    gates, cs, tcs, hs = cache
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
    return gates, _flat(hs[:-1]).T @ _flat(gates), dh_next, dc_next


# ---- GRU (PyTorch's equations, gate order r, z, n) -------------------------------------------------------
# r, z = σ(x W_i{r,z} + b_i{r,z} + h W_h{r,z} + b_h{r,z});  n = tanh(x W_in + b_in + r (h W_hn + b_hn))
# h_t = (1 - z) n + z h_{t-1}

def gru_forward(pre: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` (the input side x W_ih + b_ih) is consumed: it becomes r, z, n."""
    T, B = pre.shape[:2]
    H = w_hh.shape[0]
    act = pre                                                 # (T, B, 3H)
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
    return hs[1:], (act, hp, hs)


def gru_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                 dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (input side), dw_hh, db_hh, dh0. Consumes the cache: r, z, n become the input-side
    pre-activation gradients and h W_hh + b_hh the hidden-side ones, step by step."""
    act, hp, hs = cache
    T, B, H3 = act.shape
    H = H3 // 3
    dt = act.dtype
    dh_next = np.zeros((B, H), dtype=dt) if dh_last is None else np.array(dh_last, dtype=dt)
    dh, direct, t1, t2, dn = (np.empty((B, H), dtype=dt) for _ in range(5))
    w_hh_t = w_hh.T
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
        np.matmul(hp[t], w_hh_t, out=dh_next)
        dh_next += direct
    dhp2 = _flat(hp)
    return act, _flat(hs[:-1]).T @ dhp2, dhp2.sum(0), dh_next


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
