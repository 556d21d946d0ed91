"""A recurrent language model (Elman, GRU, LSTM or UGRNN) in NumPy, trained with truncated BPTT.

    e = dropout(wte[x])            (T, B, E)   time-major: the ids are transposed once, nothing else is
    h = dropout(RNN(e))            (T, B, H)   n_layer stacked cells, state carried across windows
                                               (without input dropout the lookup is fused into the first
                                               layer's input projection: see `RecurrentCell.forward_ids`)
    logits = h @ W_head + b        (T·B, V)    fused softmax + cross-entropy

`stateful = True`: the trainer feeds B parallel contiguous streams, window after window, and each window
starts from the state the previous one ended in (char-rnn's `init_state_global`). Decoding carries the
hidden state in `DecodeState.cache`, so sampling costs one step per token; scoring a stream runs the RNN over
all of it from a zero state, exactly what `next_logprobs` sees for every prefix.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neural import param_shapes as ps
from neural.config_checks import DROPOUT, SEED
from neural.layers import (
    Dropout,
    Embedding,
    Linear,
    log_softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    target_logprobs,
)
from neural.module import grad_enabled, no_grad
from neural.rnn import CELLS, RNN, State
from neural.thread_pool import par_matmul, single_blas
from neural.trainable import TrainableLM, config_from_dict
from ngram.lm import DecodeState
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer

STREAM_CHUNK = 1024   # steps per forward call when scoring a stream (bounds the (T, V) logits)
EXACT_MAX = 16384     # streams up to this many predictions are scored in one exact pass
SEGMENT_MIN = 4096    # longer ones: segments of at least this many tokens, ...
MAX_SEGMENTS = 64     # ... at most this many, run as one batch
WARMUP = 1024         # tokens each later segment reads first to build its state


@dataclass
class RNNConfig:
    """Field metadata gives the ranges `neural.config_checks` enforces (ints default to >= 1)."""

    vocab_size: int = 65
    cell: str = field(default="lstm", metadata={"choices": tuple(CELLS), "label": "RNN cell"})  # a key of CELLS
    embedding_size: int = 64    # E
    hidden_size: int = 256      # H, every layer
    n_layer: int = 1            # stacked cells
    block_size: int = 64        # training window length T (TBPTT truncation); decoding is unbounded
    dropout: float = field(default=0.0, metadata=DROPOUT)  # on the embeddings, between layers, before the head
    forget_bias: float = 1.0    # added to the LSTM forget-gate bias at init (0 = PyTorch's init)
    seed: int = field(default=1337, metadata=SEED)  # initialisation (and dropout) RNG

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RNNConfig:
        cfg = config_from_dict(cls, d)
        if cfg.cell not in CELLS:
            raise ValueError(f"unknown RNN cell {cfg.cell!r}: choose {', '.join(CELLS)}")
        return cfg

    def problems(self) -> list[str]:
        """What is wrong beyond single fields' types and ranges (none for an RNN)."""
        return []


class RNNLanguageModel(TrainableLM):
    """Embedding -> stacked RNN -> Linear head; see the module docstring."""

    FORMAT = "tkit-rnn"
    Config = RNNConfig
    stateful = True

    def __init__(self, cfg: RNNConfig, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        self._setup(cfg, vocab, tokenizer)
        rng = np.random.default_rng(cfg.seed)
        drop_rng = np.random.default_rng([cfg.seed, 1])
        # PyTorch's defaults: N(0, 1) embeddings, U(±1/sqrt(H)) recurrent weights, head std 1/sqrt(H)
        self.wte = Embedding(cfg.vocab_size, cfg.embedding_size, rng, std=1.0)
        self.drop_in = Dropout(cfg.dropout, drop_rng)
        self.rnn = RNN(cfg.cell, cfg.embedding_size, cfg.hidden_size, cfg.n_layer, cfg.dropout, rng,
                       forget_bias=cfg.forget_bias if cfg.cell == "lstm" else 0.0)
        self.drop_out = Dropout(cfg.dropout, drop_rng)
        self.head = Linear(cfg.hidden_size, cfg.vocab_size, rng=rng, std=1.0 / math.sqrt(cfg.hidden_size))
        self._last: tuple | None = None

    # ---- sizes, known before building (model-file checks and memory estimates) ---------------------------
    @classmethod
    def param_shapes(cls, cfg: RNNConfig) -> ps.Shapes:
        """Every parameter's shape, by the names `named_parameters` gives."""
        gates = CELLS[cfg.cell].n_gates
        shapes = ps.embedding("wte", cfg.vocab_size, cfg.embedding_size)
        for i in range(cfg.n_layer):
            n_in = cfg.embedding_size if i == 0 else cfg.hidden_size
            shapes.update(ps.recurrent_cell(f"rnn.layers.{i}", gates, n_in, cfg.hidden_size, cfg.cell == "gru"))
        shapes.update(ps.linear("head", cfg.hidden_size, cfg.vocab_size))
        return shapes

    @classmethod
    def buffer_floats(cls, cfg: RNNConfig) -> int:
        """Floats held besides the parameters (none: the carried state is counted with the activations)."""
        return 0

    @classmethod
    def activation_floats(cls, cfg: RNNConfig, batch_size: int) -> int:
        """Floats one training step keeps or creates: per layer the gate pre-activations, caches and their
        gradients (G*H each) and a few H-wide arrays per step; the embeddings; the logits and their
        gradient (V)."""
        tb = cfg.block_size * batch_size
        gates = CELLS[cfg.cell].n_gates
        per_layer = tb * (3 * gates + 6) * cfg.hidden_size
        return cfg.n_layer * per_layer + 2 * tb * cfg.embedding_size + 2 * tb * cfg.vocab_size

    @property
    def name(self) -> str:
        c = self.cfg
        return f"{c.cell} RNN {c.n_layer}x{c.hidden_size} emb {c.embedding_size}"

    @property
    def block_size(self) -> int:
        return self.cfg.block_size

    # ---- training: one window of B streams ---------------------------------------------------------------
    def reset_state(self, batch_size: int) -> None:
        self.rnn.reset_state(batch_size)

    def hidden_state_arrays(self) -> dict[str, np.ndarray]:
        """The carried state (for checkpoints that resume mid-stream): "l{layer}.{h|c}" -> (B, H)."""
        if self.rnn.state is None:
            return {}
        return {f"l{i}.{'hc'[j]}": a for i, s in enumerate(self.rnn.state) for j, a in enumerate(s)}

    def load_hidden_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        n = self.rnn.layers[0].n_state
        self.rnn.state = [tuple(np.array(arrays[f"l{i}.{'hc'[j]}"], dtype=self.dtype) for j in range(n))
                          for i in range(self.cfg.n_layer)]

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        with single_blas():  # the recurrence runs in worker threads: keep the BLAS's own pool idle
            return self._loss(x, y)

    def _loss(self, x: np.ndarray, y: np.ndarray) -> float:
        ids = np.ascontiguousarray(np.asarray(x).T)                      # (T, B)
        fused = not (self.drop_in.training and self.drop_in.p > 0)
        if fused:   # embedding lookup fused into the first layer's input projection
            h = self.rnn.forward_ids(self.wte.weight, ids)
        else:
            h = self.rnn(self.drop_in(self.wte(ids)))
        h = self.drop_out(h)                                            # (T, B, H)
        t, b, hid = h.shape
        h2 = h.reshape(t * b, hid)
        logits = par_matmul(h2, self.head.weight.data)                  # (T·B, V): the head, split
        logits += self.head.bias.data                                   # across the worker threads
        targets = np.asarray(y).T.reshape(-1)
        loss, probs = softmax_cross_entropy(logits, targets, overwrite=True)
        self._last = (h2, probs, targets, h.shape, fused) if grad_enabled() else None
        return loss

    def backward(self) -> None:  # type: ignore[override]
        with single_blas():
            self._backward()

    def _backward(self) -> None:
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        h2, probs, targets, shape, fused = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, targets)       # (T·B, V)
        self.head.weight.grad += par_matmul(h2.T, dlogits)
        self.head.bias.grad += dlogits.sum(axis=0)
        g = par_matmul(dlogits, self.head.weight.data.T).reshape(shape)  # (T, B, H)
        g = self.rnn.backward(self.drop_out.backward(g))
        if not fused:
            self.wte.backward(self.drop_in.backward(g))

    def clear_caches(self) -> None:
        super().clear_caches()
        self._last = None

    # ---- inference ---------------------------------------------------------------------------------------
    def _zero_state(self) -> list[State]:
        return self.rnn.init_state(1)

    def _run(self, ids: np.ndarray, state: list[State], chunk: int | None = None
             ) -> Iterator[tuple[np.ndarray, list[State]]]:
        """Top-layer hidden states of S parallel streams, ids (n, S) time-major (or (n,) for one stream),
        `chunk` steps at a time: yields (hs (t, S, H), state after the chunk). Eval mode: no dropout, no
        caches."""
        ids = ids.reshape(ids.shape[0], -1)
        chunk = chunk or STREAM_CHUNK
        with no_grad():
            for lo in range(0, ids.shape[0], chunk):
                x = ids[lo:lo + chunk]                                          # (t, S)
                new_state = []
                for i, (layer, s) in enumerate(zip(self.rnn.layers, state)):
                    out = layer.forward_ids(self.wte.weight, x, *s) if i == 0 else layer(x, *s)
                    x = out[0]
                    new_state.append(tuple(np.array(a) for a in out[1:]))
                state = new_state
                yield x, state

    def _logprobs(self, h: np.ndarray) -> np.ndarray:
        """(..., H) -> float64 log p over the vocabulary."""
        return log_softmax((h @ self.head.weight.data + self.head.bias.data).astype(np.float64))

    def _start(self, ids: Sequence[int]) -> tuple[np.ndarray, list[State] | None]:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size == 0:  # no input yet: nothing to condition on, the model has no <s>
            return np.full(self.vocab_size, -math.log(self.vocab_size)), None
        h, state = np.zeros(0), self._zero_state()
        for h, state in self._run(arr, state):
            pass
        return self._logprobs(h[-1, 0]), state

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log p(· | context), recomputed from a zero state over the whole context (an RNN needs no crop)."""
        return self._start(context)[0]

    def start(self, context: Sequence[int]) -> DecodeState:
        ids = tuple(int(i) for i in context)
        logprobs, state = self._start(ids)
        return DecodeState(ids, logprobs, state)

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        """One RNN step from the state in the cache: O(1) per token (the cache is never modified)."""
        x = self.wte.weight.data[[int(token)]]                            # (1, E)
        h, new = self.rnn.step(x, state.cache if state.cache is not None else self._zero_state())
        return DecodeState((*state.ids, int(token)), self._logprobs(h[0]), new)

    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        """log p(ids[i] | ids[:i]) for i >= 1, from a zero state at ids[0].

        Up to EXACT_MAX predictions this is one exact pass over the stream (what `next_logprobs` gives for
        every prefix). A longer stream is cut into up to MAX_SEGMENTS segments run side by side as one batch
        (a step costs about the same for 1 or 64 rows): segment 0 is exact, every later one starts from
        the state reached by reading the WARMUP tokens before it from a zero state (an LSTM's memory of
        text 1000 characters back is negligible; see the test for the size of the difference)."""
        ids = np.asarray(ids, dtype=np.int64)
        n = ids.size - 1                                                      # predictions
        out = np.empty(max(n, 0))
        if n < 1:
            return out
        if n <= EXACT_MAX:
            lo = 0
            for h, _ in self._run(ids[:-1], self._zero_state()):
                out[lo:lo + h.shape[0]] = self._target_logprobs(h[:, 0], ids[lo + 1:lo + 1 + h.shape[0]])
                lo += h.shape[0]
            return out
        with single_blas():  # the rows run in worker threads: keep the BLAS's own pool idle
            self._segments_logprobs(ids, out)
        return out

    def _segments_logprobs(self, ids: np.ndarray, out: np.ndarray) -> None:
        """The long-stream path of `sequence_logprobs` (fills `out`)."""
        n = ids.size - 1
        n_seg = min(MAX_SEGMENTS, max(2, n // max(SEGMENT_MIN, WARMUP)))  # length >= WARMUP
        length = -(-n // n_seg)
        # pos[τ, k]: the input position segment k reads at step τ (negative or >= n: padding)
        pos = np.arange(WARMUP + length)[:, None] + (np.arange(n_seg) * length - WARMUP)[None, :]
        grid = ids[np.clip(pos, 0, n - 1)]
        gates = self.rnn.layers[0].n_gates * self.cfg.hidden_size
        # bound the (t, S, V) logits and the (t, S, G*H) gate arrays to 8 M floats (32 MB)
        chunk = max(16, min(STREAM_CHUNK, (1 << 23) // (n_seg * max(self.vocab_size, gates))))
        state = self.rnn.init_state(n_seg)
        for _, state in self._run(grid[:WARMUP], state, chunk):
            pass
        state = [tuple(_zero_row(a) for a in s) for s in state]             # segment 0 starts exactly at 0
        lo = WARMUP
        for h, state in self._run(grid[WARMUP:], state, chunk):
            p = pos[lo:lo + h.shape[0]]                                       # (t, S)
            keep = (p >= 0) & (p < n)
            out[p[keep]] = self._target_logprobs(h[keep], ids[p[keep] + 1])
            lo += h.shape[0]

    def _target_logprobs(self, h: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return target_logprobs(h @ self.head.weight.data + self.head.bias.data, targets)


def _zero_row(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a[0] = 0
    return a
