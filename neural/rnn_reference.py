"""Plain Elman, GRU, LSTM and UGRNN layers, forward and backward: a loop over time and the textbook
equations, PyTorch's gate order and weights stored (in, out). This is the readable twin of the fast kernels
(`neural.elman_kernels`, `gru_kernels`, `lstm_kernels`, `ugrnn_kernels`), which the tests compare against
it; the `*_step` functions also serve incremental decoding.

Shapes: x (T, B, In), w_ih (In, G·H), w_hh (H, G·H), b (G·H,), states (B, H), G = 1 (Elman), 2 (UGRNN:
u, c), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o). The backward takes dhs (T, B, H), the gradient of the loss
w.r.t. every output, plus the gradients w.r.t. the final state, and returns a dict of gradients named as the arguments.
"""
from __future__ import annotations

import numpy as np

Array = np.ndarray


def sigmoid(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):                          # e^-a = inf -> 0, harmlessly
        return 1.0 / (1.0 + np.exp(-a))


# ---- Elman: h_t = tanh(x_t W_ih + b + h_{t-1} W_hh) ------------------------------------------------------
def elman_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.tanh(x @ w_ih + b + h @ w_hh)                   # (B, H)


def elman_forward(x: Array, w_ih: Array, w_hh: Array, b: Array, h0: Array) -> tuple[Array, tuple]:
    hs = [h0]
    for t in range(x.shape[0]):
        hs.append(elman_step(x[t], w_ih, w_hh, b, hs[-1]))
    return np.stack(hs[1:]), (x, w_ih, w_hh, hs)              # hs (T, B, H)


def elman_backward(dhs: Array, cache: tuple, dh_last: Array | None = None) -> dict[str, Array]:
    x, w_ih, w_hh, hs = cache
    g = {"x": np.zeros_like(x), "w_ih": np.zeros_like(w_ih), "w_hh": np.zeros_like(w_hh),
         "b": np.zeros(w_ih.shape[1], x.dtype)}
    dh_next = np.zeros_like(hs[0]) if dh_last is None else dh_last
    for t in reversed(range(x.shape[0])):
        dh = dhs[t] + dh_next                                 # from the output and from step t+1
        da = dh * (1 - hs[t + 1] ** 2)                        # through tanh, (B, H)
        g["x"][t] = da @ w_ih.T
        g["w_ih"] += x[t].T @ da
        g["w_hh"] += hs[t].T @ da
        g["b"] += da.sum(0)
        dh_next = da @ w_hh.T
    g["h0"] = dh_next
    return g


# ---- GRU: r, z = σ(x W_i + b_i + h W_h + b_h); n = tanh(x W_in + b_in + r (h W_hn + b_hn)) -------------------
#      h_t = (1 - z) n + z h_{t-1}
def gru_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
             h: np.ndarray) -> np.ndarray:
    return _gru_parts(x, w_ih, w_hh, b_ih, b_hh, h)[0]


def _gru_parts(x, w_ih, w_hh, b_ih, b_hh, h):
    H = h.shape[-1]
    xp, hp = x @ w_ih + b_ih, h @ w_hh + b_hh                 # (B, 3H) each
    r = sigmoid(xp[:, :H] + hp[:, :H])
    z = sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
    n = np.tanh(xp[:, 2 * H:] + r * hp[:, 2 * H:])
    return (1 - z) * n + z * h, (r, z, n, hp[:, 2 * H:])


def gru_forward(x: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array,
                h0: Array) -> tuple[Array, tuple]:
    hs, parts = [h0], []
    for t in range(x.shape[0]):
        h, p = _gru_parts(x[t], w_ih, w_hh, b_ih, b_hh, hs[-1])
        hs.append(h)
        parts.append(p)
    return np.stack(hs[1:]), (x, w_ih, w_hh, hs, parts)


def gru_backward(dhs: Array, cache: tuple, dh_last: Array | None = None) -> dict[str, Array]:
    x, w_ih, w_hh, hs, parts = cache
    g = {"x": np.zeros_like(x), "w_ih": np.zeros_like(w_ih), "w_hh": np.zeros_like(w_hh),
         "b_ih": np.zeros(w_ih.shape[1], x.dtype), "b_hh": np.zeros(w_hh.shape[1], x.dtype)}
    dh_next = np.zeros_like(hs[0]) if dh_last is None else dh_last
    for t in reversed(range(x.shape[0])):
        r, z, n, hn = parts[t]                                # hn = h W_hn + b_hn
        dh = dhs[t] + dh_next
        dn = dh * (1 - z) * (1 - n ** 2)                      # d of n's pre-activation
        dz = dh * (hs[t] - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        dxp = np.concatenate([dr, dz, dn], axis=1)            # input side (B, 3H)
        dhp = np.concatenate([dr, dz, dn * r], axis=1)        # hidden side (B, 3H)
        g["x"][t] = dxp @ w_ih.T
        g["w_ih"] += x[t].T @ dxp
        g["b_ih"] += dxp.sum(0)
        g["w_hh"] += hs[t].T @ dhp
        g["b_hh"] += dhp.sum(0)
        dh_next = dh * z + dhp @ w_hh.T
    g["h0"] = dh_next
    return g


# ---- LSTM: i, f, o = σ(·), g = tanh(·) of x W_ih + b + h W_hh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t) ----
def lstm_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, c, _ = _lstm_parts(x, w_ih, w_hh, b, h, c)
    return h, c


def _lstm_parts(x, w_ih, w_hh, b, h, c):
    H = h.shape[-1]
    a = x @ w_ih + b + h @ w_hh                               # (B, 4H)
    i, f = sigmoid(a[..., :H]), sigmoid(a[..., H:2 * H])
    g, o = np.tanh(a[..., 2 * H:3 * H]), sigmoid(a[..., 3 * H:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new, (i, f, g, o)


def lstm_forward(x: Array, w_ih: Array, w_hh: Array, b: Array, h0: Array,
                 c0: Array) -> tuple[Array, Array, tuple]:
    hs, cs, gates = [h0], [c0], []
    for t in range(x.shape[0]):
        h, c, gate = _lstm_parts(x[t], w_ih, w_hh, b, hs[-1], cs[-1])
        hs.append(h)
        cs.append(c)
        gates.append(gate)
    return np.stack(hs[1:]), cs[-1], (x, w_ih, w_hh, hs, cs, gates)   # hs (T, B, H), c_T (B, H)


def lstm_backward(dhs: Array, cache: tuple, dh_last: Array | None = None,
                  dc_last: Array | None = None) -> dict[str, Array]:
    x, w_ih, w_hh, hs, cs, gates = cache
    g_ = {"x": np.zeros_like(x), "w_ih": np.zeros_like(w_ih), "w_hh": np.zeros_like(w_hh),
          "b": np.zeros(w_ih.shape[1], x.dtype)}
    dh_next = np.zeros_like(hs[0]) if dh_last is None else dh_last
    dc_next = np.zeros_like(cs[0]) if dc_last is None else dc_last
    for t in reversed(range(x.shape[0])):
        i, f, g, o = gates[t]
        tc = np.tanh(cs[t + 1])
        dh = dhs[t] + dh_next
        dc = dc_next + dh * o * (1 - tc ** 2)
        da = np.concatenate([dc * g * i * (1 - i),            # d pre of i, f, g, o  (B, 4H)
                             dc * cs[t] * f * (1 - f),
                             dc * i * (1 - g ** 2),
                             dh * tc * o * (1 - o)], axis=1)
        g_["x"][t] = da @ w_ih.T
        g_["w_ih"] += x[t].T @ da
        g_["w_hh"] += hs[t].T @ da
        g_["b"] += da.sum(0)
        dh_next, dc_next = da @ w_hh.T, dc * f
    g_["h0"], g_["c0"] = dh_next, dc_next
    return g_


# ---- UGRNN (Collins et al. 2017): u = σ(·), c = tanh(·) of x W_ih + b + h W_hh; h_t = u h_{t-1} + (1 - u) c ----
def ugrnn_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    return _ugrnn_parts(x, w_ih, w_hh, b, h)[0]


def _ugrnn_parts(x, w_ih, w_hh, b, h):
    H = h.shape[-1]
    a = x @ w_ih + b + h @ w_hh                               # (B, 2H)
    u, c = sigmoid(a[..., :H]), np.tanh(a[..., H:])
    return u * h + (1 - u) * c, (u, c)


def ugrnn_forward(x: Array, w_ih: Array, w_hh: Array, b: Array, h0: Array) -> tuple[Array, tuple]:
    hs, gates = [h0], []
    for t in range(x.shape[0]):
        h, gate = _ugrnn_parts(x[t], w_ih, w_hh, b, hs[-1])
        hs.append(h)
        gates.append(gate)
    return np.stack(hs[1:]), (x, w_ih, w_hh, hs, gates)       # hs (T, B, H)


def ugrnn_backward(dhs: Array, cache: tuple, dh_last: Array | None = None) -> dict[str, Array]:
    x, w_ih, w_hh, hs, gates = cache
    g = {"x": np.zeros_like(x), "w_ih": np.zeros_like(w_ih), "w_hh": np.zeros_like(w_hh),
         "b": np.zeros(w_ih.shape[1], x.dtype)}
    dh_next = np.zeros_like(hs[0]) if dh_last is None else dh_last
    for t in reversed(range(x.shape[0])):
        u, c = gates[t]
        dh = dhs[t] + dh_next
        da = np.concatenate([dh * (hs[t] - c) * u * (1 - u),  # d pre of u, c  (B, 2H)
                             dh * (1 - u) * (1 - c ** 2)], axis=1)
        g["x"][t] = da @ w_ih.T
        g["w_ih"] += x[t].T @ da
        g["w_hh"] += hs[t].T @ da
        g["b"] += da.sum(0)
        dh_next = dh * u + da @ w_hh.T
    g["h0"] = dh_next
    return g
