"""The batched word2vec update (negative sampling), skip-gram and CBOW, in NumPy.

A batch is a block of center positions in the subsampled corpus. Each center gets a dynamic window (as in
word2vec.c: a width drawn uniformly from 1..window) and K negatives. Skip-gram trains every (context, center)
pair as word2vec.c does (the context's input vector predicts the center's output vector) and the pairs of one
center share its K negatives, which turns the pairs of a center into one small matrix product (Ji et al. 2016,
"Parallelizing Word2Vec in Shared and Distributed Memory"); CBOW predicts the center from the mean of its
context vectors, as word2vec.c does. Every update of a batch is computed from the weights at the batch's start
and their sum applied once (`word2vec_reference.py` is the pair-at-a-time twin a test compares with).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Batch:
    centers: np.ndarray    # (N,) word ids
    contexts: np.ndarray   # (N, 2*window) word ids (0 where masked)
    mask: np.ndarray       # (N, 2*window) bool: a real context inside the dynamic window and the same sentence
    negatives: np.ndarray  # (N, K) word ids


def window_offsets(window: int) -> np.ndarray:
    return np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])


def make_batch(ids: np.ndarray, sentence: np.ndarray, start: int, stop: int, window: int,
               negatives: np.ndarray, rng: np.random.Generator) -> Batch:
    """Centers ids[start:stop] of the subsampled stream with their windows (which never cross a sentence)."""
    pos = np.arange(start, stop)
    reach = window - rng.integers(0, window, size=len(pos))           # word2vec.c: b = rand % window
    offsets = window_offsets(window)
    j = pos[:, None] + offsets
    inside = (j >= 0) & (j < len(ids)) & (np.abs(offsets)[None, :] <= reach[:, None])
    j = np.clip(j, 0, len(ids) - 1)
    mask = inside & (sentence[j] == sentence[pos][:, None])
    return Batch(ids[pos], np.where(mask, ids[j], 0), mask, negatives)


MAX_EXP = 6.0  # gensim (and word2vec.c's table) leave a pair whose score is beyond +-6 without an update


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -MAX_EXP, MAX_EXP)))


def _targets(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output rows [center, negatives...], labels [1, 0...], and a mask dropping a negative equal to the center
    (word2vec.c skips it)."""
    targets = np.concatenate([batch.centers[:, None], batch.negatives], axis=1)
    labels = np.zeros(targets.shape, dtype=np.float32)
    labels[:, 0] = 1.0
    live = np.ones(targets.shape, dtype=bool)
    live[:, 1:] = batch.negatives != batch.centers[:, None]
    return targets, labels, live


def scatter_add(table: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """table[rows] += values with repeated rows summed (a flat 1-D ufunc.at, NumPy's fast path)."""
    d = table.shape[1]
    flat = (rows.astype(np.int64)[:, None] * d + np.arange(d)).ravel()
    np.add.at(table.reshape(-1), flat, values.reshape(-1).astype(table.dtype, copy=False))


def skipgram_update(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> None:
    """One batched skip-gram step, in place."""
    targets, labels, live = _targets(batch)
    h = w_in[batch.contexts]                               # (N, C, d)
    o = w_out[targets]                                     # (N, T, d)
    scores = h @ o.transpose(0, 2, 1)                      # (N, C, T)
    p = _sigmoid(scores)
    weight = batch.mask[:, :, None] & live[:, None, :] & (np.abs(scores) < MAX_EXP)
    g = np.where(weight, (labels[:, None, :] - p) * lr, 0.0).astype(w_in.dtype)
    dh = g @ o                                             # (N, C, d)
    do = g.transpose(0, 2, 1) @ h                          # (N, T, d)
    scatter_add(w_in, batch.contexts[batch.mask], dh[batch.mask])
    scatter_add(w_out, targets.ravel(), do.reshape(-1, w_out.shape[1]))


def cbow_update(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> None:
    """One batched CBOW step (mean of the context vectors; the error goes to each context unscaled, as
    word2vec.c and gensim's cbow_mean=1 do)."""
    targets, labels, live = _targets(batch)
    m = batch.mask.astype(w_in.dtype)
    n_ctx = m.sum(axis=1)
    has = n_ctx > 0
    h = np.einsum("nc,ncd->nd", m, w_in[batch.contexts]) / np.maximum(n_ctx, 1)[:, None]
    o = w_out[targets]
    scores = np.einsum("nd,ntd->nt", h, o)
    p = _sigmoid(scores)
    weight = live & has[:, None] & (np.abs(scores) < MAX_EXP)
    g = np.where(weight, (labels - p) * lr, 0.0).astype(w_in.dtype)
    dh = np.einsum("nt,ntd->nd", g, o)
    do = g[:, :, None] * h[:, None, :]
    rows, cols = np.nonzero(batch.mask)
    scatter_add(w_in, batch.contexts[rows, cols], dh[rows])
    scatter_add(w_out, targets.ravel(), do.reshape(-1, w_out.shape[1]))

