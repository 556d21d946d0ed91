"""A decoder-only Transformer language model (GPT-2 / nanoGPT architecture) in NumPy.

    x = wte[idx] + pos[0:T]                       (B, T, C)
    x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))   pre-LN residual blocks, n_layer times
    logits = ln_f(x) @ wte^T                      (B, T, V)  lm_head tied to the token embedding

Init as nanoGPT: N(0, 0.02) for every weight, c_proj weights N(0, 0.02 / sqrt(2 n_layer)), zero biases.
Incremental decoding keeps a key/value cache per layer in `DecodeState.cache`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neural import param_shapes as ps
from neural.attention import CausalSelfAttention
from neural.config_checks import DROPOUT, SEED
from neural.data_parallel import DataParallelStep
from neural.layers import (
    GELU,
    INIT_STD,
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    log_softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    target_logprobs,
)
from neural.module import Module, grad_enabled, no_grad
from neural.positional import make_positional
from neural.thread_pool import run_rows, single_blas
from neural.trainable import TrainableLM, config_from_dict
from ngram.lm import DecodeState
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer

POSITIONAL = ("learned", "sinusoidal")  # what `make_positional` builds


@dataclass
class TransformerConfig:
    """Field metadata gives the ranges `neural.config_checks` enforces (ints default to >= 1)."""

    vocab_size: int = 65
    n_layer: int = 4          # residual blocks
    n_head: int = 4           # attention heads per block
    n_embd: int = 128         # model width C
    block_size: int = 64      # longest context
    dropout: float = field(default=0.0, metadata=DROPOUT)  # attention probabilities, residuals, embeddings
    bias: bool = False        # biases in Linear and LayerNorm (nanoGPT's default: False)
    positional: str = field(default="learned", metadata={"choices": POSITIONAL})  # wpe table or sinusoids
    seed: int = field(default=1337, metadata=SEED)  # initialisation (and dropout) RNG

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransformerConfig:
        return config_from_dict(cls, d)

    def problems(self) -> list[str]:
        """What is wrong beyond single fields' types and ranges."""
        if self.n_embd % self.n_head:
            return [f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"]
        return []


class MLP(Module):
    """C -> 4C, GELU (tanh form), 4C -> C, dropout."""

    def __init__(self, n_embd: int, bias: bool, dropout: float, rng: np.random.Generator, proj_std: float,
                 dropout_rng: np.random.Generator) -> None:
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias, rng=rng)
        self.gelu = GELU()
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias, rng=rng, std=proj_std)
        self.dropout = Dropout(dropout, dropout_rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    def backward(self, g: np.ndarray) -> np.ndarray:
        return self.c_fc.backward(self.gelu.backward(self.c_proj.backward(self.dropout.backward(g))))


class Block(Module):
    """Pre-LN residual block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, cfg: TransformerConfig, rng: np.random.Generator, dropout_rng: np.random.Generator) -> None:
        super().__init__()
        proj_std = INIT_STD / math.sqrt(2 * cfg.n_layer)
        self.ln_1 = LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg.n_embd, cfg.n_head, cfg.block_size, cfg.bias, cfg.dropout, rng,
                                        proj_std, dropout_rng)
        self.ln_2 = LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg.n_embd, cfg.bias, cfg.dropout, rng, proj_std, dropout_rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = x + self.attn(self.ln_1(x))
        x += self.mlp(self.ln_2(x))  # safe in place: ln_2 and mlp keep no reference to this x
        return x

    def backward(self, g: np.ndarray) -> np.ndarray:
        g = g + self.ln_2.backward(self.mlp.backward(g))
        g += self.ln_1.backward(self.attn.backward(g))
        return g

    def forward_cached(self, x: np.ndarray, past):
        a, kv = self.attn.forward_cached(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv


class TransformerLM(TrainableLM):
    """GPT-style character/subword language model; see the module docstring."""

    FORMAT = "tkit-transformer"
    Config = TransformerConfig
    stateful = False

    def __init__(self, cfg: TransformerConfig, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        self._setup(cfg, vocab, tokenizer)
        rng = np.random.default_rng(cfg.seed)
        self.dropout_rng = np.random.default_rng([cfg.seed, 1])
        self.wte = Embedding(cfg.vocab_size, cfg.n_embd, rng)
        self.wpe = make_positional(cfg.positional, cfg.block_size, cfg.n_embd, rng)
        self.drop = Dropout(cfg.dropout, self.dropout_rng)
        self.blocks = [Block(cfg, rng, self.dropout_rng) for _ in range(cfg.n_layer)]
        self.ln_f = LayerNorm(cfg.n_embd, bias=cfg.bias)
        self._last: tuple | None = None
        self._parallel: DataParallelStep | None = None

    # ---- sizes, known before building (model-file checks and memory estimates) ---------------------------
    @classmethod
    def param_shapes(cls, cfg: TransformerConfig) -> ps.Shapes:
        """Every parameter's shape, by the names `named_parameters` gives (lm_head is tied to wte)."""
        c, b = cfg.n_embd, cfg.bias
        shapes = ps.embedding("wte", cfg.vocab_size, c)
        if cfg.positional == "learned":
            shapes.update(ps.embedding("wpe", cfg.block_size, c))
        for i in range(cfg.n_layer):
            p = f"blocks.{i}"
            shapes.update(ps.layer_norm(f"{p}.ln_1", c, b))
            shapes.update(ps.linear(f"{p}.attn.c_attn", c, 3 * c, b))
            shapes.update(ps.linear(f"{p}.attn.c_proj", c, c, b))
            shapes.update(ps.layer_norm(f"{p}.ln_2", c, b))
            shapes.update(ps.linear(f"{p}.mlp.c_fc", c, 4 * c, b))
            shapes.update(ps.linear(f"{p}.mlp.c_proj", 4 * c, c, b))
        shapes.update(ps.layer_norm("ln_f", c, b))
        return shapes

    @classmethod
    def buffer_floats(cls, cfg: TransformerConfig) -> int:
        """Floats held besides the parameters: each block's causal mask and its transpose (T x T), and the
        sinusoidal table."""
        t = cfg.block_size
        table = t * cfg.n_embd if cfg.positional == "sinusoidal" else 0
        return cfg.n_layer * 2 * t * t + table

    @classmethod
    def activation_floats(cls, cfg: TransformerConfig, batch_size: int) -> int:
        """Floats one training step keeps or creates: per block about 24 C-wide arrays per position
        (LayerNorms, q/k/v and their head-major copies, the 4C MLP and GELU caches) and two (T x T)
        arrays per head (scores/probabilities and their gradient); the logits and their gradient (V)."""
        bt = batch_size * cfg.block_size
        per_block = 24 * bt * cfg.n_embd + 2 * batch_size * cfg.n_head * cfg.block_size ** 2
        return cfg.n_layer * per_block + 2 * bt * cfg.vocab_size + 4 * bt * cfg.n_embd

    @property
    def name(self) -> str:
        c = self.cfg
        return f"transformer {c.n_layer}L/{c.n_head}H/{c.n_embd} block {c.block_size}"

    @property
    def block_size(self) -> int:
        return self.cfg.block_size

    # ---- forward / backward -------------------------------------------------------------------------
    def hidden(self, idx: np.ndarray) -> np.ndarray:
        """ln_f output (B, T, C) for ids (B, T)."""
        t = idx.shape[1]
        if t > self.cfg.block_size:
            raise ValueError(f"sequence of {t} tokens is longer than block_size {self.cfg.block_size}")
        x = self.wte(idx) + self.wpe(0, t)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def hidden_backward(self, g: np.ndarray) -> None:
        g = self.ln_f.backward(g)
        for block in reversed(self.blocks):
            g = block.backward(g)
        g = self.drop.backward(g)
        self.wpe.backward(g.sum(axis=0))
        self.wte.backward(g)

    def logits(self, idx: np.ndarray) -> np.ndarray:
        """(B, T, V) logits (keeps caches for backward unless under no_grad)."""
        return self.hidden(idx) @ self.wte.weight.data.T

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        h = self.hidden(x)
        b, t, c = h.shape
        h2 = h.reshape(b * t, c)
        logits = h2 @ self.wte.weight.data.T                             # (N, V): lm_head, computed once
        loss, probs = softmax_cross_entropy(logits, y.reshape(-1), overwrite=True)
        self._last = (h2, probs, y.reshape(-1), (b, t, c)) if grad_enabled() else None
        return loss

    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        """Back-propagate `weight` times the last loss (a batch slice's share, in a data-parallel step)."""
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        h2, probs, targets, shape = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, targets, weight)  # (N, V)
        w = self.wte.weight
        w.grad += dlogits.T @ h2                                         # tied lm_head part of d wte
        self.hidden_backward((dlogits @ w.data).reshape(shape))

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """The training step's loss and gradients, the batch rows split across the cores (see
        `neural.data_parallel`)."""
        if self._parallel is None:
            self._parallel = DataParallelStep(self, self.dropout_rng)
        return self._parallel.run(x, y, _slice_loss_and_backward)

    def clear_caches(self) -> None:
        super().clear_caches()
        self._last = None

    # ---- LanguageModel: inference -------------------------------------------------------------------
    def _crop(self, context: Sequence[int]) -> list[int]:
        ids = [int(i) for i in context][-self.cfg.block_size:]
        if not ids:
            raise ValueError("a Transformer needs at least one context token (a stream model has no <s>)")
        return ids

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        return self.next_logprobs_batch([context])[0]

    def next_logprobs_batch(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """(N, V) float64: contexts are right-padded (causal attention never looks right) and each row's
        last real position goes through the lm_head."""
        crops = [self._crop(c) for c in contexts]
        t = max(len(c) for c in crops)
        idx = np.zeros((len(crops), t), dtype=np.int64)
        for i, c in enumerate(crops):
            idx[i, :len(c)] = c
        last = np.array([len(c) - 1 for c in crops])
        with no_grad(), _eval_mode(self), single_blas():
            h = self.hidden(idx)[np.arange(len(crops)), last]
            return log_softmax((h @ self.wte.weight.data.T).astype(np.float64))

    # Decoding multiplies one row (or one window) at a time: the BLAS's thread pool only adds wake-up latency
    # there, and when the other core is busy each tiny GEMM can wait milliseconds for it, so the decoding
    # paths run with single-threaded BLAS.
    def start(self, context: Sequence[int]) -> DecodeState:
        ids = tuple(self._crop(context))
        return self._recompute(tuple(int(i) for i in context), ids)

    def _recompute(self, all_ids: tuple[int, ...], window: Sequence[int]) -> DecodeState:
        with no_grad(), _eval_mode(self), single_blas():
            x = self.wte.weight.data[np.asarray(window)][None] + self.wpe(0, len(window))
            cache = []
            for block in self.blocks:
                x, kv = block.forward_cached(x, None)
                cache.append(kv)
            logits = self.ln_f(x[:, -1]) @ self.wte.weight.data.T
        return DecodeState(all_ids, log_softmax(logits[0].astype(np.float64)), tuple(cache))

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        ids = (*state.ids, int(token))
        past = state.cache
        pos = past[0][0].shape[2] if past else 0
        if past is None or pos >= self.cfg.block_size:
            # the window is full: slide it (recompute on the last block_size tokens, as next_logprobs does)
            return self._recompute(ids, ids[-self.cfg.block_size:])
        with no_grad(), _eval_mode(self), single_blas():
            x = self.wte.weight.data[[int(token)]][None] + self.wpe(pos, 1)
            cache = []
            for block, kv in zip(self.blocks, past):
                x, kv = block.forward_cached(x, kv)
                cache.append(kv)
            logits = self.ln_f(x[:, -1]) @ self.wte.weight.data.T
        return DecodeState(ids, log_softmax(logits[0].astype(np.float64)), tuple(cache))

    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        """log p(ids[i] | up to block_size previous ids) for i >= 1, by windows of block_size tokens.

        The first window scores all its positions; each later window starts half a block further on and
        scores only the positions the previous one did not reach, so every token after the first block
        has more than block_size/2 tokens of context. Windows are batched: no Python loop per token."""
        ids = np.asarray(ids, dtype=np.int64)
        n, bs = ids.size, self.cfg.block_size
        out = np.empty(max(n - 1, 0))
        if n < 2:
            return out
        stride = max(1, bs // 2)
        starts = [0]
        while starts[-1] + bs < n - 1:
            starts.append(starts[-1] + stride)
        group_size = max(1, min(64, (1 << 22) // (bs * self.vocab_size)))  # caps the (G, T, V) logits

        def score_windows(group: list[int], width: int, idx: np.ndarray) -> None:
            logits = self.logits(idx)                                      # (G, W, V)
            for r, s in enumerate(group):
                length = min(width, n - 1 - s)
                pos = np.arange(0 if s == 0 else bs - stride, length)      # predicts ids[s + pos + 1]
                out[s + pos] = target_logprobs(logits[r, pos], ids[s + pos + 1])

        with no_grad(), _eval_mode(self):  # forward keeps no state under no_grad: safe in threads
            for lo in range(0, len(starts), group_size):
                group = starts[lo:lo + group_size]
                width = min(bs, n - 1 - group[0])
                idx = np.zeros((len(group), width), dtype=np.int64)
                for r, s in enumerate(group):
                    seg = ids[s:s + min(width, n - 1 - s)]
                    idx[r, :seg.size] = seg
                # windows split across the cores, each thread with one BLAS thread: the element-wise
                # work (GELU, softmax, LayerNorm) runs in parallel too
                run_rows(len(group), lambda a, b: score_windows(group[a:b], width, idx[a:b]))
        return out


def _slice_loss_and_backward(model: TransformerLM, x: np.ndarray, y: np.ndarray, weight: float) -> float:
    loss = model.loss(x, y)
    model.backward(weight)
    return loss



class _eval_mode:
    """Temporarily switch dropout off (inference), restoring the previous mode after."""

    def __init__(self, model: Module) -> None:
        self.model, self.was = model, model.training

    def __enter__(self) -> None:
        if self.was:
            self.model.eval()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            self.model.train()
