"""A Transformer encoder-decoder (Vaswani et al. 2017, pre-LN as nanoGPT's blocks) in NumPy.

    encoder:  e = src_emb[src] + pos;  e = e + attn(ln_1(e), ln_1(e), pad mask); e = e + mlp(ln_2(e))
              memory = ln_enc(e)                                    (B, S, C)
    decoder:  d = tgt_emb[tgt_in] + pos;  d = d + self_attn(ln_1(d))        causal (CausalSelfAttention)
              d = d + cross(ln_2(d), memory, pad mask);  d = d + mlp(ln_3(d))
              logits = ln_f(d) @ tgt_emb^T                          (B, T, V) tied head

Padding: source padding is masked out of every attention's keys; target padding sits after each target's
</s>, so causal attention keeps it out of the real positions, and the loss only counts real positions.
Decoding keeps, per decoder layer, the self-attention key/value cache and the memory's keys/values.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from neural import param_shapes as ps
from neural.attention import CausalSelfAttention
from neural.cross_attention import Attention, key_padding_mask
from neural.layers import (
    INIT_STD,
    Dropout,
    Embedding,
    LayerNorm,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from neural.module import Module, grad_enabled
from neural.positional import make_positional
from neural.seq2seq import Seq2SeqConfig, Seq2SeqModel, masked_targets
from neural.seq2seq_data import PAD_ID
from neural.transformer import MLP
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer


class EncoderBlock(Module):
    """x + attn(ln_1(x) over itself, padding masked), then + mlp(ln_2(x))."""

    def __init__(self, c: int, n_head: int, dropout: float, rng: np.random.Generator, proj_std: float,
                 dropout_rng: np.random.Generator) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(c, bias=False)
        self.attn = Attention(c, n_head, False, dropout, rng, proj_std, dropout_rng)
        self.ln_2 = LayerNorm(c, bias=False)
        self.mlp = MLP(c, False, dropout, rng, proj_std, dropout_rng)

    def forward(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h = self.ln_1(x)
        x = x + self.attn(h, h, mask)
        return x + self.mlp(self.ln_2(x))

    def backward(self, g: np.ndarray) -> np.ndarray:
        g = g + self.ln_2.backward(self.mlp.backward(g))
        dq, dkv = self.attn.backward(g)
        return g + self.ln_1.backward(dq + dkv)


class DecoderBlock(Module):
    """x + self_attn(ln_1(x)) (causal), + cross(ln_2(x), memory), + mlp(ln_3(x))."""

    def __init__(self, c: int, n_head: int, block_size: int, dropout: float, rng: np.random.Generator,
                 proj_std: float, dropout_rng: np.random.Generator) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(c, bias=False)
        self.self_attn = CausalSelfAttention(c, n_head, block_size, False, dropout, rng, proj_std, dropout_rng)
        self.ln_2 = LayerNorm(c, bias=False)
        self.cross = Attention(c, n_head, False, dropout, rng, proj_std, dropout_rng)
        self.ln_3 = LayerNorm(c, bias=False)
        self.mlp = MLP(c, False, dropout, rng, proj_std, dropout_rng)

    def forward(self, x: np.ndarray, memory: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = x + self.self_attn(self.ln_1(x))
        x = x + self.cross(self.ln_2(x), memory, mask)
        return x + self.mlp(self.ln_3(x))

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (d x, d memory)."""
        g = g + self.ln_3.backward(self.mlp.backward(g))
        dx, dmem = self.cross.backward(g)
        g = g + self.ln_2.backward(dx)
        return g + self.ln_1.backward(self.self_attn.backward(g)), dmem

    def step(self, x: np.ndarray, past: Any, mem_kv: Any, mask: np.ndarray) -> tuple[np.ndarray, Any]:
        a, kv = self.self_attn.forward_cached(self.ln_1(x), past)
        x = x + a
        x = x + self.cross.forward_cached(self.ln_2(x), mem_kv, mask)
        return x + self.mlp(self.ln_3(x)), kv


class TransformerSeq2Seq(Seq2SeqModel):
    """See the module docstring; n_layer encoder blocks and n_layer decoder blocks of width n_embd."""

    FORMAT = "tkit-seq2seq-transformer"

    def __init__(self, cfg: Seq2SeqConfig, vocab: Vocabulary, tokenizer: TextTokenizer,
                 target_tokenizer: TextTokenizer | None = None) -> None:
        self._setup2(cfg, vocab, tokenizer, target_tokenizer)
        c = cfg.n_embd
        rng = np.random.default_rng(cfg.seed)
        self.dropout_rng = np.random.default_rng([cfg.seed, 1])
        proj_std = INIT_STD / math.sqrt(2 * cfg.n_layer)
        self.src_emb = Embedding(cfg.vocab_size, c, rng)
        self.tgt_emb = Embedding(cfg.vocab_size, c, rng)
        self.src_pos = make_positional("learned", cfg.max_source_len, c, rng)
        self.tgt_pos = make_positional("learned", cfg.max_target_len + 1, c, rng)
        self.drop_src = Dropout(cfg.dropout, self.dropout_rng)
        self.drop_tgt = Dropout(cfg.dropout, self.dropout_rng)
        self.encoder = [EncoderBlock(c, cfg.n_head, cfg.dropout, rng, proj_std, self.dropout_rng)
                        for _ in range(cfg.n_layer)]
        self.ln_enc = LayerNorm(c, bias=False)
        self.decoder = [DecoderBlock(c, cfg.n_head, cfg.max_target_len + 1, cfg.dropout, rng, proj_std,
                                     self.dropout_rng) for _ in range(cfg.n_layer)]
        self.ln_f = LayerNorm(c, bias=False)

    # ---- sizes, known before building ----------------------------------------------------------------------------
    @classmethod
    def param_shapes(cls, cfg: Seq2SeqConfig) -> ps.Shapes:
        c, v = cfg.n_embd, cfg.vocab_size
        shapes = {**ps.embedding("src_emb", v, c), **ps.embedding("tgt_emb", v, c),
                  **ps.embedding("src_pos", cfg.max_source_len, c),
                  **ps.embedding("tgt_pos", cfg.max_target_len + 1, c)}

        def attention(p: str) -> ps.Shapes:
            return {**ps.linear(f"{p}.q_proj", c, c, False), **ps.linear(f"{p}.kv_proj", c, 2 * c, False),
                    **ps.linear(f"{p}.c_proj", c, c, False)}

        def mlp(p: str) -> ps.Shapes:
            return {**ps.linear(f"{p}.c_fc", c, 4 * c, False), **ps.linear(f"{p}.c_proj", 4 * c, c, False)}

        for i in range(cfg.n_layer):
            p = f"encoder.{i}"
            shapes.update({**ps.layer_norm(f"{p}.ln_1", c, False), **attention(f"{p}.attn"),
                           **ps.layer_norm(f"{p}.ln_2", c, False), **mlp(f"{p}.mlp")})
        shapes.update(ps.layer_norm("ln_enc", c, False))
        for i in range(cfg.n_layer):
            p = f"decoder.{i}"
            shapes.update({**ps.layer_norm(f"{p}.ln_1", c, False), **ps.linear(f"{p}.self_attn.c_attn", c, 3 * c, False),
                           **ps.linear(f"{p}.self_attn.c_proj", c, c, False), **ps.layer_norm(f"{p}.ln_2", c, False),
                           **attention(f"{p}.cross"), **ps.layer_norm(f"{p}.ln_3", c, False), **mlp(f"{p}.mlp")})
        shapes.update(ps.layer_norm("ln_f", c, False))
        return shapes

    @classmethod
    def buffer_floats(cls, cfg: Seq2SeqConfig) -> int:
        """Each decoder block's causal mask and its transpose."""
        return cfg.n_layer * 2 * (cfg.max_target_len + 1) ** 2

    @classmethod
    def activation_floats(cls, cfg: Seq2SeqConfig, batch_size: int) -> int:
        """As the decoder-only model's estimate, for an encoder and a decoder (with cross-attention scores)."""
        s, t, c, h = cfg.max_source_len, cfg.max_target_len + 1, cfg.n_embd, cfg.n_head
        enc = 24 * batch_size * s * c + 2 * batch_size * h * s * s
        dec = 32 * batch_size * t * c + 2 * batch_size * h * t * (t + s)
        return cfg.n_layer * (enc + dec) + 2 * batch_size * t * cfg.vocab_size + 4 * batch_size * (s + t) * c

    @property
    def name(self) -> str:
        c = self.cfg
        return f"transformer seq2seq {c.n_layer}+{c.n_layer}L/{c.n_head}H/{c.n_embd}"

    # ---- training --------------------------------------------------------------------------------------------
    def _encode(self, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = self.drop_src(self.src_emb(src) + self.src_pos(0, src.shape[1]))
        for block in self.encoder:
            x = block(x, mask)
        return self.ln_enc(x)

    def loss(self, src: np.ndarray, tgt: np.ndarray) -> float:
        tin, keep, targets = masked_targets(tgt)
        mask = key_padding_mask(src, PAD_ID, self.dtype)
        memory = self._encode(src, mask)
        x = self.drop_tgt(self.tgt_emb(tin) + self.tgt_pos(0, tin.shape[1]))
        for block in self.decoder:
            x = block(x, memory, mask)
        h = self.ln_f(x)
        b, t, c = h.shape
        hk = h.reshape(b * t, c)[keep]
        loss, probs = softmax_cross_entropy(hk @ self.tgt_emb.weight.data.T, targets, overwrite=True)
        self._last = (hk, probs, targets, keep, (b, t, c), memory.shape) if grad_enabled() else None
        return loss

    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        hk, probs, targets, keep, shape, mem_shape = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, targets, weight)
        w = self.tgt_emb.weight
        w.grad += dlogits.T @ hk
        dh = np.zeros((shape[0] * shape[1], shape[2]), dtype=hk.dtype)
        dh[keep] = dlogits @ w.data
        g = self.ln_f.backward(dh.reshape(shape))
        dmem = np.zeros(mem_shape, dtype=hk.dtype)
        for block in reversed(self.decoder):
            g, dm = block.backward(g)
            dmem += dm
        g = self.drop_tgt.backward(g)
        self.tgt_pos.backward(g.sum(axis=0))
        self.tgt_emb.backward(g)
        g = self.ln_enc.backward(dmem)
        for block in reversed(self.encoder):
            g = block.backward(g)
        g = self.drop_src.backward(g)
        self.src_pos.backward(g.sum(axis=0))
        self.src_emb.backward(g)

    def clear_caches(self) -> None:
        super().clear_caches()
        self._last = None

    # ---- decoding (callers hold no_grad; eval mode) ---------------------------------------------------------------
    def encode_source(self, src: np.ndarray) -> Any:
        mask = key_padding_mask(src, PAD_ID, self.dtype)
        memory = self._encode(src, mask)
        return [block.cross.memory_kv(memory) for block in self.decoder], mask

    def decode_start(self, memory: Any) -> Any:
        return None

    def decode_step(self, memory: Any, cache: Any, token: int, position: int) -> tuple[np.ndarray, Any]:
        mem_kvs, mask = memory
        x = self.tgt_emb.weight.data[[token]][None] + self.tgt_pos(position, 1)
        new = []
        for i, block in enumerate(self.decoder):
            x, kv = block.step(x, None if cache is None else cache[i], mem_kvs[i], mask)
            new.append(kv)
        return (self.ln_f(x[:, -1]) @ self.tgt_emb.weight.data.T)[0], new
