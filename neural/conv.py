"""A causal 1-D convolution (left padding only) as ONE matmul per call over an im2col view.

    y[t] = b + sum_j x[t - (k-1-j) d] W_j          x (B, T, C_in) -> y (B, T, C_out); x[s < 0] = 0

so position t never reads t+1. The weight is stored (k·C_in, C_out), tap-major: rows j·C_in .. (j+1)·C_in are
tap j, which reads x[t - (k-1-j) d]. A torch `nn.Conv1d` weight w (C_out, C_in, k) on an input padded by
(k-1)·d on the left is the same map with W = w.permute(2, 1, 0).reshape(k·C_in, C_out).

The im2col matrix (B·T, k·C_in) is a strided view of the padded input (`np.lib.stride_tricks.as_strided`:
tap j of row t is row t + j·d of the padded input), copied once into a contiguous array for the GEMM; the
backward's col2im adds the k tap slices of d cols back (k vectorised adds, no loop over positions).
`neural.conv_reference` is the readable twin (loops over positions and taps) the tests compare against.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from neural.module import Module, Parameter


def pad_left(x: np.ndarray, pad: int) -> np.ndarray:
    """(B, T, C) -> (B, pad + T, C) with `pad` zero rows first."""
    out = np.empty((x.shape[0], pad + x.shape[1], x.shape[2]), x.dtype)
    out[:, :pad] = 0
    out[:, pad:] = x
    return out


def im2col(xp: np.ndarray, kernel: int, dilation: int, length: int) -> np.ndarray:
    """A read-only view (B, T, k, C) of the left-padded input xp (B, (k-1)d + T, C): [b, t, j] = xp[b, t + j d]."""
    sb, st, sc = xp.strides
    return as_strided(xp, shape=(xp.shape[0], length, kernel, xp.shape[2]), strides=(sb, st, dilation * st, sc),
                      writeable=False)


def col2im(dcols: np.ndarray, dilation: int, padded_length: int) -> np.ndarray:
    """The adjoint of `im2col`: dcols (B, T, k, C) -> d xp (B, (k-1)d + T, C), tap j added at offset j d."""
    b, t, k, c = dcols.shape
    dxp = np.zeros((b, padded_length, c), dcols.dtype)
    for j in range(k):                                  # k vectorised adds
        dxp[:, j * dilation:j * dilation + t] += dcols[:, :, j]
    return dxp


class CausalConv1d(Module):
    """y = causal_conv(x): (B, T, C_in) -> (B, T, C_out); see the module docstring. Init as torch's Conv1d:
    weight and bias U(±1/sqrt(k·C_in))."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        bound = 1.0 / math.sqrt(kernel * c_in)
        self.kernel, self.dilation = kernel, dilation
        self.pad = (kernel - 1) * dilation
        self.weight = Parameter(rng.uniform(-bound, bound, (kernel * c_in, c_out)).astype(dtype), "weight")
        self.bias = Parameter(rng.uniform(-bound, bound, c_out).astype(dtype), "bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        b, t, c = x.shape
        cols = im2col(pad_left(x, self.pad), self.kernel, self.dilation, t).reshape(b * t, self.kernel * c)
        y = cols @ self.weight.data                      # the reshape above copied the view: one GEMM
        y += self.bias.data
        self.save((cols, x.shape))
        return y.reshape(b, t, -1)

    def backward(self, g: np.ndarray) -> np.ndarray:
        cols, (b, t, c) = self.saved()
        g2 = g.reshape(b * t, -1)
        self.weight.grad += cols.T @ g2
        self.bias.grad += g2.sum(axis=0)
        dcols = (g2 @ self.weight.data.T).reshape(b, t, self.kernel, c)
        return col2im(dcols, self.dilation, self.pad + t)[:, self.pad:]

    def step(self, window: np.ndarray) -> np.ndarray:
        """The output at the last position of `window` (..., (k-1)d + 1, C_in), the inputs it reads (the
        earlier ones being a decoder's cache): (..., C_out). Keeps no cache."""
        taps = window[..., ::self.dilation, :]           # (..., k, C_in): rows 0, d, ..., (k-1)d
        return taps.reshape(*taps.shape[:-2], -1) @ self.weight.data + self.bias.data
