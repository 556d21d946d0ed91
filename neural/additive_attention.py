"""Additive (Bahdanau) attention of decoder states over encoder states, batched over all query positions.

    e[b, t, j] = v . tanh(s[b, t] W_q + h[b, j] W_k + b_k)      (B, Tq, Tk)  Bahdanau et al. 2015's score
    a = softmax_j(e + M)                                        M: -inf at padded source positions
    c[b, t] = sum_j a[b, t, j] h[b, j]                          (B, Tq, Dk)  the context vector

The (B, Tq, Tk, A) tanh array is formed once: sources and targets of a seq2seq batch are short. Backward
returns (d queries, d keys).
"""
from __future__ import annotations

import math

import numpy as np

from neural.attention import softmax_lastdim_
from neural.layers import Linear
from neural.module import Module, Parameter


class AdditiveAttention(Module):
    def __init__(self, query_size: int, key_size: int, attn_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.q_proj = Linear(query_size, attn_size, bias=False, rng=rng, std=1.0 / math.sqrt(query_size))
        self.k_proj = Linear(key_size, attn_size, bias=True, rng=rng, std=1.0 / math.sqrt(key_size))
        self.v = Parameter((rng.standard_normal(attn_size) / math.sqrt(attn_size)).astype(dtype), "v", decay=True)

    def forward(self, queries: np.ndarray, keys: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """queries (B, Tq, Dq), keys (B, Tk, Dk), mask (B, 1, Tk) additive -> contexts (B, Tq, Dk)."""
        u = np.tanh(self.q_proj(queries)[:, :, None, :] + self.k_proj(keys)[:, None, :, :])   # (B, Tq, Tk, A)
        a = u @ self.v.data                                                                  # (B, Tq, Tk)
        if mask is not None:
            a += mask
        softmax_lastdim_(a)
        self.save((u, a, keys))
        return a @ keys

    def backward(self, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, a, keys = self.saved()
        dkeys = a.transpose(0, 2, 1) @ dc                       # through c = a h
        da = dc @ keys.transpose(0, 2, 1)
        de = a * (da - np.einsum("btj,btj->bt", da, a)[..., None])
        self.v.grad += np.einsum("btja,btj->a", u, de)
        dpre = de[..., None] * self.v.data
        dpre *= 1 - u * u                                       # (B, Tq, Tk, A)
        dq = self.q_proj.backward(dpre.sum(axis=2))
        dkeys += self.k_proj.backward(dpre.sum(axis=1))
        return dq, dkeys

    # ---- decoding: the keys' projection is computed once per input ------------------------------------------
    def project_keys(self, keys: np.ndarray) -> np.ndarray:
        return keys @ self.k_proj.weight.data + self.k_proj.bias.data

    def context(self, query: np.ndarray, keys: np.ndarray, projected: np.ndarray,
                mask: np.ndarray | None = None) -> np.ndarray:
        """One query per row (B, Dq) -> context (B, Dk), no caches."""
        u = np.tanh((query @ self.q_proj.weight.data)[:, None, :] + projected)             # (B, Tk, A)
        a = u @ self.v.data
        if mask is not None:
            a += mask[:, 0]
        softmax_lastdim_(a)
        return np.einsum("bj,bjd->bd", a, keys)
