"""Tiny seq2seq models and padded batches shared by the seq2seq tests (float64 for gradient checks)."""
from __future__ import annotations

import numpy as np

from neural.seq2seq import Seq2SeqConfig
from neural.seq2seq_data import BOS_ID, EOS_ID, PAD_ID, SPECIALS
from neural.seq2seq_rnn import RNNSeq2Seq
from neural.seq2seq_transformer import TransformerSeq2Seq
from ngram.vocab import Vocabulary
from tokenizers_kit.simple import CharTokenizer

VOCAB = Vocabulary([*SPECIALS, *"abcdef"])


def tiny_seq2seq(arch: str = "transformer", dtype=np.float64, jitter: float = 0.1, seed: int = 0, **overrides):
    cfg = dict(vocab_size=len(VOCAB), arch=arch, n_layer=2, n_head=2, n_embd=8, hidden_size=6, max_source_len=7,
               max_target_len=6, seed=seed)
    cfg.update(overrides)
    cls = TransformerSeq2Seq if arch == "transformer" else RNNSeq2Seq
    model = cls(Seq2SeqConfig(**cfg), VOCAB, CharTokenizer()).to(dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.parameters():
        p.data += (rng.standard_normal(p.shape) * jitter).astype(dtype)
    return model


def padded_batch(rng: np.random.Generator, batch: int, max_src: int = 7, max_tgt: int = 6,
                 vocab: int = len(VOCAB)) -> tuple[np.ndarray, np.ndarray]:
    """(src (B, S), tgt (B, T + 2)) of random lengths, right-padded; the longest row fills each width."""
    s_len = rng.integers(1, max_src + 1, batch)
    t_len = rng.integers(1, max_tgt + 1, batch)
    s_len[0], t_len[-1] = max_src, max_tgt
    src = np.full((batch, max_src), PAD_ID, dtype=np.int64)
    tgt = np.full((batch, max_tgt + 2), PAD_ID, dtype=np.int64)
    for i in range(batch):
        src[i, :s_len[i]] = rng.integers(len(SPECIALS), vocab, s_len[i])
        tgt[i, :t_len[i] + 2] = [BOS_ID, *rng.integers(len(SPECIALS), vocab, t_len[i]), EOS_ID]
    return src, tgt
