"""The plain causal convolution and GLU, forward and backward: loops over positions and taps, the textbook
equations. The readable twin of `neural.conv` / `neural.glu`, which the tests compare against.

Shapes: x (B, T, C_in), w (k, C_in, C_out) (tap j reads x[t - (k-1-j) d]), b (C_out,).
"""
from __future__ import annotations

import numpy as np


def causal_conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
    k = w.shape[0]
    y = np.zeros((*x.shape[:2], w.shape[2]), np.result_type(x, w)) + b
    for t in range(x.shape[1]):
        for j in range(k):
            s = t - (k - 1 - j) * dilation
            if s >= 0:                                    # earlier than the start: zero padding
                y[:, t] += x[:, s] @ w[j]
    return y


def causal_conv_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, dilation: int) -> dict[str, np.ndarray]:
    k = w.shape[0]
    grads = {"x": np.zeros_like(x), "w": np.zeros_like(w), "b": g.sum(axis=(0, 1))}
    for t in range(x.shape[1]):
        for j in range(k):
            s = t - (k - 1 - j) * dilation
            if s >= 0:
                grads["x"][:, s] += g[:, t] @ w[j].T
                grads["w"][j] += x[:, s].T @ g[:, t]
    return grads


def glu_forward(z: np.ndarray) -> np.ndarray:
    c = z.shape[-1] // 2
    return z[..., :c] / (1 + np.exp(-z[..., c:]))


def glu_backward(g: np.ndarray, z: np.ndarray) -> np.ndarray:
    c = z.shape[-1] // 2
    a, s = z[..., :c], 1 / (1 + np.exp(-z[..., c:]))
    return np.concatenate([g * s, g * a * s * (1 - s)], axis=-1)
