"""A causal convolutional language model (gated CNN, Dauphin et al. 2017) in NumPy.

    x = wte[ids]                                   (B, T, C)
    x = x + dropout(GLU(causal_conv_l(x)))         n_layer residual blocks, conv C -> 2C, k taps, dilation d_l
    logits = LayerNorm(x) @ W_head + b             (B·T, V), fused softmax + cross-entropy

Left padding only: position t never sees t+1. Training reads random windows of block_size tokens (stateless,
like the Transformer; the batch rows split across the cores by `neural.data_parallel`). The receptive field
is 1 + sum_l (k-1)·d_l tokens (`neural.cnn_config`).

Decoding keeps, per block, its last (k-1)·d inputs (`DecodeState.cache`): one token costs one tap-gather and
one (k·C, 2C) product per block, never a recompute of the window. Scoring a stream runs the full convolution
over chunks that each first read the receptive field before them, so every position sees exactly what the
cached decoder sees.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neural import param_shapes as ps
from neural.cnn_config import CNNConfig, layer_dilations, receptive_field, total_padding
from neural.conv import CausalConv1d
from neural.data_parallel import DataParallelStep
from neural.glu import GLU, glu
from neural.layers import (
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
from neural.thread_pool import run_rows, single_blas
from neural.trainable import TrainableLM
from neural.transformer import _eval_mode
from ngram.lm import DecodeState
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import TextTokenizer

STREAM_CHUNK = 1024   # positions scored per window when scoring a stream (after the warm-up)
Cache = tuple[np.ndarray, ...]  # per block: its last (k-1)·d inputs, (P_l, C)


class ConvBlock(Module):
    """x + dropout(GLU(conv(x))): (B, T, C) -> (B, T, C)."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float, rng: np.random.Generator,
                 dropout_rng: np.random.Generator) -> None:
        super().__init__()
        self.conv = CausalConv1d(channels, 2 * channels, kernel, dilation, rng)
        self.glu = GLU()
        self.drop = Dropout(dropout, dropout_rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.drop(self.glu(self.conv(x)))

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g + self.conv.backward(self.glu.backward(self.drop.backward(g)))

    def step(self, window: np.ndarray) -> np.ndarray:
        """The block's output at the last row of `window` ((k-1)·d + 1, C): eval mode, no cache."""
        return window[-1] + glu(self.conv.step(window))[0]


class CNNLanguageModel(TrainableLM):
    """Embedding -> gated causal conv blocks -> LayerNorm -> Linear head; see the module docstring."""

    FORMAT = "tkit-cnn"
    Config = CNNConfig
    stateful = False

    def __init__(self, cfg: CNNConfig, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        self._setup(cfg, vocab, tokenizer)
        rng = np.random.default_rng(cfg.seed)
        self.dropout_rng = np.random.default_rng([cfg.seed, 1])
        c = cfg.channels
        self.wte = Embedding(cfg.vocab_size, c, rng, std=1.0)      # torch's N(0, 1)
        self.blocks = [ConvBlock(c, cfg.kernel_size, d, cfg.dropout, rng, self.dropout_rng)
                       for d in layer_dilations(cfg)]
        self.ln_f = LayerNorm(c)
        self.head = Linear(c, cfg.vocab_size, rng=rng, std=1.0 / math.sqrt(c))
        self._last: tuple | None = None
        self._parallel: DataParallelStep | None = None

    # ---- sizes, known before building (model-file checks and memory estimates) ---------------------------
    @classmethod
    def param_shapes(cls, cfg: CNNConfig) -> ps.Shapes:
        """Every parameter's shape, by the names `named_parameters` gives."""
        c = cfg.channels
        shapes = ps.embedding("wte", cfg.vocab_size, c)
        for i in range(cfg.n_layer):
            shapes.update(ps.causal_conv(f"blocks.{i}.conv", cfg.kernel_size, c, 2 * c))
        shapes.update(ps.layer_norm("ln_f", c))
        shapes.update(ps.linear("head", c, cfg.vocab_size))
        return shapes

    @classmethod
    def buffer_floats(cls, cfg: CNNConfig) -> int:
        """Floats held besides the parameters: the decoding cache, every block's last (k-1)·d inputs."""
        return total_padding(cfg) * cfg.channels

    @classmethod
    def activation_floats(cls, cfg: CNNConfig, batch_size: int) -> int:
        """Floats one training step keeps or creates: per block the padded input, the im2col matrix and its
        gradient (k·C per position each), the conv output, GLU caches and their gradients (about 10 C per
        position); the embeddings, the LayerNorm and the logits with their gradient (V)."""
        bt, c = batch_size * cfg.block_size, cfg.channels
        padded = batch_size * (cfg.n_layer * cfg.block_size + total_padding(cfg)) * c
        per_block = bt * (2 * cfg.kernel_size + 10) * c
        return cfg.n_layer * per_block + 2 * padded + 6 * bt * c + 2 * bt * cfg.vocab_size

    @property
    def name(self) -> str:
        c = self.cfg
        return (f"causal CNN {c.n_layer}x{c.channels} kernel {c.kernel_size} dilations {c.dilations} "
                f"(receptive field {receptive_field(c)})")

    @property
    def block_size(self) -> int:
        return self.cfg.block_size

    # ---- forward / backward -----------------------------------------------------------------------------
    def hidden(self, idx: np.ndarray) -> np.ndarray:
        """ln_f output (B, T, C) for ids (B, T) (keeps caches for backward unless under no_grad)."""
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def hidden_backward(self, g: np.ndarray) -> None:
        g = self.ln_f.backward(g)
        for block in reversed(self.blocks):
            g = block.backward(g)
        self.wte.backward(g)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        h = self.hidden(np.asarray(x))
        logits = self.head(h).reshape(-1, self.vocab_size)
        targets = np.asarray(y).reshape(-1)
        loss, probs = softmax_cross_entropy(logits, targets, overwrite=True)
        self._last = (probs, targets, h.shape) if grad_enabled() else None
        return loss

    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        """Back-propagate `weight` times the last loss (a batch slice's share, in a data-parallel step)."""
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        probs, targets, shape = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, targets, weight)
        self.hidden_backward(self.head.backward(dlogits.reshape(*shape[:2], -1)))

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """The training step's loss and gradients, the batch rows split across the cores."""
        if self._parallel is None:
            self._parallel = DataParallelStep(self, self.dropout_rng)
        return self._parallel.run(x, y, _slice_loss_and_backward)

    def clear_caches(self) -> None:
        super().clear_caches()
        self._last = None

    # ---- LanguageModel: inference -----------------------------------------------------------------------
    def _logprobs(self, h: np.ndarray) -> np.ndarray:
        """Top block outputs (..., C) -> float64 log p over the vocabulary."""
        return log_softmax(self.head(self.ln_f(h)).astype(np.float64))

    def start(self, context: Sequence[int]) -> DecodeState:
        """Runs the convolution over the last receptive-field tokens of the context (all the top layer can
        see) and keeps each block's last (k-1)·d inputs as the cache."""
        ids = tuple(int(i) for i in context)
        if not ids:  # nothing to condition on: the model has no <s>
            return DecodeState(ids, np.full(self.vocab_size, -math.log(self.vocab_size)), None)
        window = np.asarray(ids[-receptive_field(self.cfg):], dtype=np.int64)
        cache = []
        with no_grad(), _eval_mode(self), single_blas():
            x = self.wte.weight.data[window]                          # (n, C)
            for block in self.blocks:
                cache.append(_last_rows(x, block.conv.pad))
                x = block(x[None])[0]
            logprobs = self._logprobs(x[-1])
        return DecodeState(ids, logprobs, tuple(cache))

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        """One position through every block from the cached inputs (the cache is never modified)."""
        if state.cache is None:
            return self.start((*state.ids, int(token)))
        cache = []
        with no_grad(), _eval_mode(self), single_blas():
            x = self.wte.weight.data[int(token)]                      # (C,)
            for block, past in zip(self.blocks, state.cache):
                window = np.concatenate([past, x[None]])             # ((k-1)·d + 1, C)
                cache.append(window[1:])
                x = block.step(window)
            logprobs = self._logprobs(x)
        return DecodeState((*state.ids, int(token)), logprobs, tuple(cache))

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        return self.start(context).logprobs

    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        """log p(ids[i] | ids[:i]) for i >= 1, exactly as the decoder sees them (zero padding before ids[0]).

        The stream is cut into chunks of STREAM_CHUNK positions (or the receptive field, if longer); every
        chunk after the first reads the receptive field's worth of tokens before it, so its outputs are
        those of one convolution over the whole stream. Chunks run in batches across the cores."""
        ids = np.asarray(ids, dtype=np.int64)
        n = ids.size - 1                                               # predictions
        out = np.empty(max(n, 0))
        if n < 1:
            return out
        warm = receptive_field(self.cfg) - 1
        chunk = max(STREAM_CHUNK, warm)
        first = min(chunk, n)
        with no_grad(), _eval_mode(self), single_blas():
            out[:first] = self._target_logprobs(ids[None, :first], ids[1:first + 1])
        starts = list(range(first, n, chunk))
        width = warm + chunk
        per_position = max(self.vocab_size, 2 * self.cfg.kernel_size * self.cfg.channels)
        group = max(1, min(64, (1 << 22) // (width * per_position)))  # bounds the (G, width, ·) arrays

        def score(lo: int, hi: int) -> None:
            for g in range(lo, hi, group):
                batch = starts[g:min(g + group, hi)]
                idx = np.zeros((len(batch), width), np.int64)         # right padding: never read (causal)
                for r, s in enumerate(batch):
                    seg = ids[s - warm:min(s + chunk, n)]
                    idx[r, :seg.size] = seg
                with no_grad():
                    logits = self.head(self.hidden(idx))[:, warm:]    # (G, chunk, V)
                for r, s in enumerate(batch):
                    m = min(chunk, n - s)
                    out[s:s + m] = target_logprobs(logits[r, :m], ids[s + 1:s + 1 + m])

        with _eval_mode(self):
            run_rows(len(starts), score)  # forward keeps no state under no_grad: safe in threads
        return out

    def _target_logprobs(self, idx: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return target_logprobs(self.head(self.hidden(idx))[0], targets)


def _last_rows(x: np.ndarray, pad: int) -> np.ndarray:
    """The last `pad` rows of x (n, C), zero rows first when n < pad (the convolution's left padding)."""
    out = np.zeros((pad, x.shape[1]), x.dtype)
    take = min(pad, x.shape[0])
    if take:
        out[pad - take:] = x[x.shape[0] - take:]
    return out


def _slice_loss_and_backward(model: CNNLanguageModel, x: np.ndarray, y: np.ndarray, weight: float) -> float:
    loss = model.loss(x, y)
    model.backward(weight)
    return loss
