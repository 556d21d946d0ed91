"""Multi-head causal self-attention, batched over (B, H, T, hs) with `@`: no loop over heads or positions.

    qkv = x @ W_attn                                  (B, T, 3C)   one fused projection (nanoGPT c_attn)
    q, k, v                                           (B, H, T, hs)
    A = softmax(q k^T / sqrt(hs) + M)                 (B, H, T, T) M: 0 on/below the diagonal, -inf above
    y = (A v) merged over heads @ W_proj              (B, T, C)

Backward (per head, with S the pre-softmax scores):
    dA = dy_h v^T,  dv = A^T dy_h,  dS = A * (dA - rowsum(dA * A)),  dq = dS k / sqrt(hs),  dk = dS^T q / sqrt(hs)
Masked entries have A = 0, so their dS is 0 with no special case. The training path stores A transposed,
(B, H, Tk, Tq), so its softmax reduces over a strided axis (see `forward`).
"""
from __future__ import annotations

import math

import numpy as np

from neural.layers import INIT_STD, Dropout, Linear
from neural.module import Module


def causal_mask(n: int, dtype=np.float32) -> np.ndarray:
    """(n, n) additive mask: 0 where key j <= query i, -inf above the diagonal."""
    return np.triu(np.full((n, n), -np.inf, dtype=dtype), k=1)


def softmax_axis2_(x: np.ndarray) -> np.ndarray:
    """Softmax over the second-last axis, in place (x is overwritten and returned)."""
    x -= x.max(axis=-2, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-2, keepdims=True)
    return x


def softmax_lastdim_(x: np.ndarray) -> np.ndarray:
    """Row softmax in place (x is overwritten and returned)."""
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


class CausalSelfAttention(Module):
    """nanoGPT's CausalSelfAttention: fused c_attn (C -> 3C), H heads, c_proj (C -> C), dropouts."""

    def __init__(self, n_embd: int, n_head: int, block_size: int, bias: bool = False, dropout: float = 0.0,
                 rng: np.random.Generator | None = None, proj_std: float = INIT_STD,
                 dropout_rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_head, self.n_embd = n_head, n_embd
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias, rng=rng)
        self.c_proj = Linear(n_embd, n_embd, bias=bias, rng=rng, std=proj_std)
        self.attn_dropout = Dropout(dropout, dropout_rng)
        self.resid_dropout = Dropout(dropout, dropout_rng)
        self._mask = causal_mask(block_size)
        self._mask_t = np.ascontiguousarray(self._mask.T)  # for scores laid out (keys, queries)

    def _cast_buffers(self, dtype: np.dtype) -> None:
        self._mask = self._mask.astype(dtype)
        self._mask_t = self._mask_t.astype(dtype)

    def _heads(self, qkv: np.ndarray) -> np.ndarray:
        """(B, T, 3C) -> (3, B, H, T, hs), one contiguous copy so the batched matmuls stream memory."""
        b, t, _ = qkv.shape
        hs = self.n_embd // self.n_head
        return np.ascontiguousarray(qkv.reshape(b, t, 3, self.n_head, hs).transpose(2, 0, 3, 1, 4))

    def forward(self, x: np.ndarray) -> np.ndarray:
        b, t, c = x.shape
        qkv = self._heads(self.c_attn(x))
        scale = x.dtype.type(1.0 / math.sqrt(c // self.n_head))
        q = qkv[0] * scale                               # (B, H, T, hs), pre-scaled query
        k, v = qkv[1], qkv[2]
        # Scores kept transposed, keys on the second-last axis: A^T (B, H, Tk, Tq). The softmax then
        # reduces over a strided axis with the contiguous one vectorised, several times faster in NumPy
        # than a max/sum over a short last axis; the products take the transposes for free (BLAS flags).
        att_t = k @ q.transpose(0, 1, 3, 2)              # (B, H, Tk, Tq)
        att_t += self._mask_t[:t, :t]
        softmax_axis2_(att_t)
        att_d = self.attn_dropout(att_t)
        y = att_d.transpose(0, 1, 3, 2) @ v              # (B, H, Tq, hs)
        self.save((q, k, v, att_t, att_d))
        y = y.transpose(0, 2, 1, 3).reshape(b, t, c)     # merge heads (copy)
        return self.resid_dropout(self.c_proj(y))

    def backward(self, g: np.ndarray) -> np.ndarray:
        q, k, v, att_t, att_d = self.saved()             # att_t, att_d: A^T (B, H, Tk, Tq)
        b, h, t, hs = q.shape
        dy = self.c_proj.backward(self.resid_dropout.backward(g))      # (B, T, C)
        dy = dy.reshape(b, t, h, hs).transpose(0, 2, 1, 3)             # (B, H, T, hs) view
        dqkv = np.empty((b, t, 3, h, hs), dtype=q.dtype)
        dqkv_h = dqkv.transpose(2, 0, 3, 1, 4)                          # (3, B, H, T, hs) view to write into
        np.matmul(att_d, dy, out=dqkv_h[2])                             # dv = A^T dy
        datt_t = v @ dy.transpose(0, 1, 3, 2)                           # dA^T (B, H, Tk, Tq)
        datt_t = self.attn_dropout.backward(datt_t)
        # softmax backward in place: dS = A * (dA - rowsum(dA * A)), rows of A being columns of A^T
        coldot = np.einsum("bhji,bhji->bhi", datt_t, att_t)[:, :, None, :]
        datt_t -= coldot
        datt_t *= att_t                                                 # dS^T
        scale = q.dtype.type(1.0 / math.sqrt(hs))
        np.matmul(datt_t.transpose(0, 1, 3, 2), k, out=dqkv_h[0])       # dq = dS k (before scale)
        dqkv_h[0] *= scale
        np.matmul(datt_t, q, out=dqkv_h[1])                             # dk = dS^T q (q was pre-scaled)
        return self.c_attn.backward(dqkv.reshape(b, t, 3 * h * hs))

    # ---- incremental decoding (no gradients) -----------------------------------------------------------
    def forward_cached(self, x: np.ndarray, past: tuple[np.ndarray, np.ndarray] | None
                       ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Attend the new positions x (B, Tn, C) to the cached keys/values plus their own.

        Returns (y (B, Tn, C), (k, v) each (B, H, Tp + Tn, hs)); the past arrays are not modified, so a
        cache can be shared by several branches (beam search)."""
        b, tn, c = x.shape
        qkv = self._heads(x @ self.c_attn.weight.data + (0 if self.c_attn.bias is None else self.c_attn.bias.data))
        scale = x.dtype.type(1.0 / math.sqrt(c // self.n_head))
        q = qkv[0] * scale
        k, v = qkv[1], qkv[2]
        if past is not None:
            k = np.concatenate([past[0], k], axis=2)
            v = np.concatenate([past[1], v], axis=2)
        tk = k.shape[2]
        att = q @ k.transpose(0, 1, 3, 2)                               # (B, H, Tn, Tk)
        att += self._mask[tk - tn:tk, :tk]
        softmax_lastdim_(att)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(b, tn, c)
        y = y @ self.c_proj.weight.data
        if self.c_proj.bias is not None:
            y += self.c_proj.bias.data
        return y, (k, v)
