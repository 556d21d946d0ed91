"""An RNN encoder-decoder (GRU or LSTM) with additive attention, in NumPy.

    encoder:  h^l = cell_l(h^{l-1})                 over src_emb[src], time-major, from a zero state
    decoder:  s^l = cell_l(s^{l-1}), started at h^l[last real source position] (c = 0 for an LSTM)
              c_t = additive_attention(s_t, h^top, source padding masked)        (Bahdanau's score)
              o_t = tanh([s_t; c_t] W_o + b_o);  logits = o_t W_head + b_head   (Luong's attentional state)

The decoder reads <s> y1 .. yn with teacher forcing and its cells run whole sequences (the kernels of
`neural.rnn`), so the attention sits on top of the decoder's states rather than feeding its input. Source
padding comes after each source's end, so it never reaches the real positions' states; the attention masks
it and the decoder starts from each row's own last real state.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neural import param_shapes as ps
from neural.additive_attention import AdditiveAttention
from neural.layers import (
    Embedding,
    Linear,
    Tanh,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from neural.module import grad_enabled
from neural.rnn import CELLS, make_cell
from neural.seq2seq import Seq2SeqConfig, Seq2SeqModel, masked_targets
from neural.seq2seq_data import PAD_ID
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer


def _mask(src: np.ndarray, dtype) -> np.ndarray:
    return np.where(src == PAD_ID, -np.inf, 0.0).astype(dtype)[:, None, :]


class RNNSeq2Seq(Seq2SeqModel):
    """See the module docstring; n_layer encoder cells and n_layer decoder cells of hidden_size."""

    FORMAT = "tkit-seq2seq-rnn"

    def __init__(self, cfg: Seq2SeqConfig, vocab: Vocabulary, tokenizer: TextTokenizer,
                 target_tokenizer: TextTokenizer | None = None) -> None:
        self._setup2(cfg, vocab, tokenizer, target_tokenizer)
        rng = np.random.default_rng(cfg.seed)
        e, h = cfg.n_embd, cfg.hidden_size
        self.src_emb = Embedding(cfg.vocab_size, e, rng, std=1.0)
        self.tgt_emb = Embedding(cfg.vocab_size, e, rng, std=1.0)
        self.encoder = [make_cell(cfg.arch, e if i == 0 else h, h, rng) for i in range(cfg.n_layer)]
        self.decoder = [make_cell(cfg.arch, e if i == 0 else h, h, rng) for i in range(cfg.n_layer)]
        self.attn = AdditiveAttention(h, h, h, rng)
        self.out = Linear(2 * h, h, rng=rng, std=1.0 / np.sqrt(2 * h))
        self.out_act = Tanh()
        self.head = Linear(h, cfg.vocab_size, rng=rng, std=1.0 / np.sqrt(h))

    @classmethod
    def param_shapes(cls, cfg: Seq2SeqConfig) -> ps.Shapes:
        e, h, v = cfg.n_embd, cfg.hidden_size, cfg.vocab_size
        gates = CELLS[cfg.arch].n_gates if cfg.arch in CELLS else 1
        shapes = {**ps.embedding("src_emb", v, e), **ps.embedding("tgt_emb", v, e)}
        for side in ("encoder", "decoder"):
            for i in range(cfg.n_layer):
                shapes.update(ps.recurrent_cell(f"{side}.{i}", gates, e if i == 0 else h, h, cfg.arch == "gru"))
        shapes.update({**ps.linear("attn.q_proj", h, h, False), **ps.linear("attn.k_proj", h, h), "attn.v": (h,),
                       **ps.linear("out", 2 * h, h), **ps.linear("head", h, v)})
        return shapes

    @classmethod
    def buffer_floats(cls, cfg: Seq2SeqConfig) -> int:
        return 0

    @classmethod
    def activation_floats(cls, cfg: Seq2SeqConfig, batch_size: int) -> int:
        """Per layer and side the gate caches (as the RNN LM's estimate), the attention's (Tq, Tk, H) tanh
        array and its gradient, and the logits."""
        s, t, h = cfg.max_source_len, cfg.max_target_len + 1, cfg.hidden_size
        gates = CELLS[cfg.arch].n_gates if cfg.arch in CELLS else 1
        rnn = cfg.n_layer * (s + t) * batch_size * (3 * gates + 6) * h
        return rnn + 3 * batch_size * t * s * h + 2 * batch_size * t * cfg.vocab_size + 8 * batch_size * t * h

    @property
    def name(self) -> str:
        c = self.cfg
        return f"{c.arch} seq2seq {c.n_layer}+{c.n_layer}L/{c.hidden_size} additive attention"

    # ---- training ------------------------------------------------------------------------------------------
    def _encode(self, src: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """(top states (B, S, H), each layer's state at the last real position (B, H), last positions)."""
        b = src.shape[0]
        last = np.count_nonzero(src != PAD_ID, axis=1) - 1
        x = self.src_emb(src.T)                                       # (S, B, E)
        finals = []
        for cell in self.encoder:
            x = cell(x, *cell.init_state(b))[0]
            finals.append(x[last, np.arange(b)])
        return np.ascontiguousarray(x.transpose(1, 0, 2)), finals, last

    def loss(self, src: np.ndarray, tgt: np.ndarray) -> float:
        tin, keep, targets = masked_targets(tgt)
        mem, finals, last = self._encode(src)
        mask = _mask(src, self.dtype)
        x = self.tgt_emb(tin.T)                                       # (T, B, E)
        for cell, h0 in zip(self.decoder, finals):
            extra = (np.zeros_like(h0),) if cell.n_state == 2 else ()
            x = cell(x, h0, *extra)[0]
        s = np.ascontiguousarray(x.transpose(1, 0, 2))                # (B, T, H)
        ctx = self.attn(s, mem, mask)
        o = self.out_act(self.out(np.concatenate([s, ctx], axis=-1)))
        b, t, h = o.shape
        ok = o.reshape(b * t, h)[keep]
        loss, probs = softmax_cross_entropy(self.head(ok), targets, overwrite=True)
        self._last = (probs, targets, keep, (b, t, h), last, src.shape[1]) if grad_enabled() else None
        return loss

    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        probs, targets, keep, shape, last, s_len = self._last
        self._last = None
        b, t, h = shape
        dok = self.head.backward(softmax_cross_entropy_backward(probs, targets, weight))
        do = np.zeros((b * t, h), dtype=dok.dtype)
        do[keep] = dok
        dcat = self.out.backward(self.out_act.backward(do.reshape(shape)))
        ds, dmem = self.attn.backward(np.ascontiguousarray(dcat[..., h:]))
        ds = ds + dcat[..., :h]
        dx = np.ascontiguousarray(ds.transpose(1, 0, 2))              # (T, B, H)
        dfinals = []
        for cell in reversed(self.decoder):
            grads = cell.backward(dx)
            dx, dfinals = grads[0], [grads[1], *dfinals]
        self.tgt_emb.backward(dx)
        dx = np.ascontiguousarray(dmem.transpose(1, 0, 2))            # (S, B, H) into the top layer
        for i in range(len(self.encoder) - 1, -1, -1):
            dx[last, np.arange(b)] += dfinals[i]
            dx = self.encoder[i].backward(dx)[0]
        self.src_emb.backward(dx)

    def clear_caches(self) -> None:
        super().clear_caches()
        self._last = None

    # ---- decoding ----------------------------------------------------------------------------------------------
    def encode_source(self, src: np.ndarray) -> Any:
        mem, finals, _ = self._encode(src)
        return mem, self.attn.project_keys(mem), _mask(src, self.dtype), finals

    def decode_start(self, memory: Any) -> Any:
        finals = memory[3]
        return [(f, np.zeros_like(f)) if cell.n_state == 2 else (f,) for cell, f in zip(self.decoder, finals)]

    def decode_step(self, memory: Any, cache: Any, token: int, position: int) -> tuple[np.ndarray, Any]:
        mem, projected, mask, _ = memory
        x = self.tgt_emb.weight.data[[token]]
        new = []
        for cell, state in zip(self.decoder, cache):
            state = cell.step(x, state)
            new.append(state)
            x = state[0]
        ctx = self.attn.context(x, mem, projected, mask)
        o = np.tanh(np.concatenate([x, ctx], axis=-1) @ self.out.weight.data + self.out.bias.data)
        return (o @ self.head.weight.data + self.head.bias.data)[0], new
