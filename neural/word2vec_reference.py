"""The readable twin of `word2vec_kernel`: one (input, output) pair at a time, plain loops, float64.

Given the same batch (centers, windows, negatives) it computes each pair's negative-sampling gradient from
the weights at the batch's start and adds them up, which is what the batched kernel must equal.
"""
from __future__ import annotations

import math

import numpy as np

from neural.word2vec_kernel import Batch

MAX_EXP = 6.0


def _step(label: float, score: float, lr: float) -> float:
    """(label - sigmoid(score)) * lr; nothing for a score beyond +-MAX_EXP (gensim skips such a pair)."""
    if abs(score) >= MAX_EXP:
        return 0.0
    return (label - 1.0 / (1.0 + math.exp(-score))) * lr


def _outputs(batch: Batch, n: int) -> list[tuple[int, float]]:
    """(word, label) for center n: itself with label 1, then each negative that is not the center, label 0."""
    center = int(batch.centers[n])
    return [(center, 1.0)] + [(int(w), 0.0) for w in batch.negatives[n] if int(w) != center]


def skipgram_reference(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """New (w_in, w_out) after the batch, pair by pair: each context word's vector predicts the center."""
    d_in, d_out = np.zeros_like(w_in, dtype=np.float64), np.zeros_like(w_out, dtype=np.float64)
    for n in range(len(batch.centers)):
        for c in range(batch.contexts.shape[1]):
            if not batch.mask[n, c]:
                continue
            context = int(batch.contexts[n, c])
            h = w_in[context].astype(np.float64)
            for word, label in _outputs(batch, n):
                o = w_out[word].astype(np.float64)
                g = _step(label, float(h @ o), lr)
                d_in[context] += g * o
                d_out[word] += g * h
    return w_in + d_in, w_out + d_out


def cbow_reference(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """New (w_in, w_out) after the batch, center by center: the mean context vector predicts the center."""
    d_in, d_out = np.zeros_like(w_in, dtype=np.float64), np.zeros_like(w_out, dtype=np.float64)
    for n in range(len(batch.centers)):
        contexts = [int(batch.contexts[n, c]) for c in range(batch.contexts.shape[1]) if batch.mask[n, c]]
        if not contexts:
            continue
        h = np.mean([w_in[c].astype(np.float64) for c in contexts], axis=0)
        error = np.zeros_like(h)
        for word, label in _outputs(batch, n):
            o = w_out[word].astype(np.float64)
            g = _step(label, float(h @ o), lr)
            error += g * o
            d_out[word] += g * h
        for c in contexts:
            d_in[c] += error
    return w_in + d_in, w_out + d_out
