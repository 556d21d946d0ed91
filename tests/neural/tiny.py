"""Tiny models shared by the neural tests (float64 for gradient checks)."""
from __future__ import annotations

import numpy as np

from neural.transformer import TransformerConfig, TransformerLM
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import CharTokenizer

CHARS = list("abcdefg\n")


def tiny_transformer(dtype=np.float64, jitter: float = 0.1, seed: int = 0, **overrides) -> TransformerLM:
    """2 layers, 2 heads, width 8, block 6 over 8 characters; weights jittered so LayerNorm gains, biases
    and the like are not at their trivial initial values."""
    cfg = dict(vocab_size=len(CHARS), n_layer=2, n_head=2, n_embd=8, block_size=6, seed=seed)
    cfg.update(overrides)
    model = TransformerLM(TransformerConfig(**cfg), Vocabulary(CHARS), CharTokenizer()).to(dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.parameters():
        p.data += (rng.standard_normal(p.shape) * jitter).astype(dtype)
    return model
