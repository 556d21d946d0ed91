"""Multi-head attention of queries x (B, Tq, C) over a memory m (B, Tk, C), with an additive key mask.

    q = x W_q,  k, v = m W_kv                         (B, H, T, hs)
    A = softmax(q k^T / sqrt(hs) + M)                 M (B, 1, 1, Tk): 0 for real keys, -inf for padding
    y = (A v) merged over heads @ W_proj              (B, Tq, C)

The Transformer encoder uses it as unmasked self-attention (m = x: the caller adds both input gradients),
the decoder as cross-attention to the encoder's output. Backward, per head (S the pre-softmax scores):
    dv = A^T dy,  dA = dy v^T,  dS = A * (dA - rowsum(dA * A)),  dq = dS k / sqrt(hs),  dk = dS^T q / sqrt(hs)
Padded keys have A = 0, so their dS is 0 with no special case.
"""
from __future__ import annotations

import math

import numpy as np

from neural.attention import softmax_lastdim_
from neural.layers import INIT_STD, Dropout, Linear
from neural.module import Module


def key_padding_mask(ids: np.ndarray, pad_id: int, dtype=np.float32) -> np.ndarray:
    """(B, 1, 1, T) additive mask: -inf where ids (B, T) are padding, 0 elsewhere."""
    return np.where(ids == pad_id, -np.inf, 0.0).astype(dtype)[:, None, None, :]


class Attention(Module):
    """q_proj (C -> C), kv_proj (C -> 2C), c_proj (C -> C), H heads, dropouts."""

    def __init__(self, n_embd: int, n_head: int, bias: bool = False, dropout: float = 0.0,
                 rng: np.random.Generator | None = None, proj_std: float = INIT_STD,
                 dropout_rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_head, self.n_embd = n_head, n_embd
        self.q_proj = Linear(n_embd, n_embd, bias=bias, rng=rng)
        self.kv_proj = Linear(n_embd, 2 * n_embd, bias=bias, rng=rng)
        self.c_proj = Linear(n_embd, n_embd, bias=bias, rng=rng, std=proj_std)
        self.attn_dropout = Dropout(dropout, dropout_rng)
        self.resid_dropout = Dropout(dropout, dropout_rng)

    def _split(self, a: np.ndarray, parts: int) -> np.ndarray:
        """(B, T, parts*C) -> (parts, B, H, T, hs), contiguous."""
        b, t, _ = a.shape
        hs = self.n_embd // self.n_head
        return np.ascontiguousarray(a.reshape(b, t, parts, self.n_head, hs).transpose(2, 0, 3, 1, 4))

    def _merge(self, y: np.ndarray) -> np.ndarray:
        b, h, t, hs = y.shape
        return y.transpose(0, 2, 1, 3).reshape(b, t, h * hs)

    def forward(self, x: np.ndarray, memory: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        scale = x.dtype.type(1.0 / math.sqrt(self.n_embd // self.n_head))
        q = self._split(self.q_proj(x), 1)[0] * scale
        kv = self._split(self.kv_proj(memory), 2)
        k, v = kv[0], kv[1]
        att = q @ k.transpose(0, 1, 3, 2)                      # (B, H, Tq, Tk)
        if mask is not None:
            att += mask
        softmax_lastdim_(att)
        att_d = self.attn_dropout(att)
        self.save((q, k, v, att, att_d))
        return self.resid_dropout(self.c_proj(self._merge(att_d @ v)))

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (d x, d memory)."""
        q, k, v, att, att_d = self.saved()
        b, h, tq, hs = q.shape
        dy = self.c_proj.backward(self.resid_dropout.backward(g))
        dy = dy.reshape(b, tq, h, hs).transpose(0, 2, 1, 3)    # (B, H, Tq, hs)
        dv = att_d.transpose(0, 1, 3, 2) @ dy
        datt = self.attn_dropout.backward(dy @ v.transpose(0, 1, 3, 2))
        datt -= np.einsum("bhij,bhij->bhi", datt, att)[..., None]
        datt *= att                                             # dS
        scale = q.dtype.type(1.0 / math.sqrt(hs))
        dq = (datt @ k) * scale
        dk = datt.transpose(0, 1, 3, 2) @ q                     # q was pre-scaled
        dx = self.q_proj.backward(self._merge(dq))
        dkv = np.stack([dk, dv]).transpose(1, 3, 0, 2, 4).reshape(b, k.shape[2], 2 * h * hs)
        return dx, self.kv_proj.backward(dkv)

    # ---- decoding (no gradients): the memory's keys and values are computed once per input --------------
    def memory_kv(self, memory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kv = memory @ self.kv_proj.weight.data
        if self.kv_proj.bias is not None:
            kv += self.kv_proj.bias.data
        kv = self._split(kv, 2)
        return kv[0], kv[1]

    def forward_cached(self, x: np.ndarray, kv: tuple[np.ndarray, np.ndarray],
                       mask: np.ndarray | None = None) -> np.ndarray:
        """Attend x (B, Tn, C) to precomputed memory keys/values (`memory_kv`)."""
        scale = x.dtype.type(1.0 / math.sqrt(self.n_embd // self.n_head))
        q = x @ self.q_proj.weight.data
        if self.q_proj.bias is not None:
            q += self.q_proj.bias.data
        q = self._split(q, 1)[0] * scale
        att = q @ kv[0].transpose(0, 1, 3, 2)
        if mask is not None:
            att += mask
        softmax_lastdim_(att)
        y = self._merge(att @ kv[1]) @ self.c_proj.weight.data
        if self.c_proj.bias is not None:
            y += self.c_proj.bias.data
        return y
