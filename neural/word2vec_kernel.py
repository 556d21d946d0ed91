"""The batched word2vec update (negative sampling), skip-gram and CBOW, in NumPy.

A batch is a block of center positions in the subsampled corpus. Each center gets a dynamic window (as in
word2vec.c: a width drawn uniformly from 1..window) and K negatives. Skip-gram trains every (context, center)
pair as word2vec.c does (the context's input vector predicts the center's output vector) and the pairs of one
center share its K negatives, which turns the pairs of a center into one small matrix product (Ji et al. 2016,
"Parallelizing Word2Vec in Shared and Distributed Memory"); CBOW predicts the center from the mean of its
context vectors, as word2vec.c does. With `group` > 1 a few consecutive centers share one draw of
negatives (the batch sharing of Ji et al.'s HogBatch and BlazingText), so a drawn negative's gradient is
summed before its single scatter. Every update of a batch is computed from the weights at the batch's start
and their sum applied once (`word2vec_reference.py` is the pair-at-a-time twin a test compares with).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Batch:
    """N consecutive centers and the stretch of the stream around them.

    `stream` holds the word ids of positions start-window .. stop+window-1 (clipped at the stream's ends), so
    the context in slot k of center n is stream[n + window + offsets[k]]: gathering and summing per position
    (not per pair) is then a few slices, and each position's vector is touched once per batch."""

    stream: np.ndarray     # (N + 2*window,) word ids
    mask: np.ndarray       # (N, 2*window) bool: a real context inside the dynamic window and the same sentence
    negatives: np.ndarray  # (N, K) word ids; rows n and m are equal when n // group == m // group
    group: int = 1         # consecutive centers that share one draw of negatives

    @property
    def window(self) -> int:
        return self.mask.shape[1] // 2

    @property
    def centers(self) -> np.ndarray:
        return self.stream[self.window:len(self.stream) - self.window]

    @property
    def contexts(self) -> np.ndarray:
        """(N, 2*window) word ids of each slot (masked slots hold whatever word is there)."""
        return np.stack(_slices(self.stream, self.window, len(self.centers)), axis=1)


def window_offsets(window: int) -> np.ndarray:
    return np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])


def _slices(rows: np.ndarray, window: int, n: int) -> list[np.ndarray]:
    """rows[n + window + offset] for n in range(n), one slice per offset."""
    return [rows[window + o:window + o + n] for o in window_offsets(window)]


def make_batch(ids: np.ndarray, sentence: np.ndarray, start: int, stop: int, window: int,
               negatives: np.ndarray, rng: np.random.Generator, group: int = 1) -> Batch:
    """Centers ids[start:stop] of the subsampled stream with their windows (which never cross a sentence);
    `negatives` holds one row per `group` centers."""
    pos = np.arange(start, stop)
    reach = window - rng.integers(0, window, size=len(pos))           # word2vec.c: b = rand % window
    offsets = window_offsets(window)
    j = pos[:, None] + offsets
    inside = (j >= 0) & (j < len(ids)) & (np.abs(offsets)[None, :] <= reach[:, None])
    j = np.clip(j, 0, len(ids) - 1)
    mask = inside & (sentence[j] == sentence[pos][:, None])
    stream = ids[np.clip(np.arange(start - window, stop + window), 0, len(ids) - 1)]
    return Batch(stream.astype(np.int64), mask, np.repeat(negatives, group, axis=0)[:len(pos)], group)


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
    kind = np.int32 if table.size < 2**31 else np.int64  # a smaller index is cheaper to build
    flat = (rows.astype(kind)[:, None] * kind(d) + np.arange(d, dtype=kind)).ravel()
    np.add.at(table.reshape(-1), flat, values.reshape(-1).astype(table.dtype, copy=False))


def _windows(rows: np.ndarray, batch: Batch) -> np.ndarray:
    """(N, 2w+1, d) view of the stream's rows: [n, c] is position n + c, the center at c = w (no copy: the
    windows of neighbouring centers overlap in memory)."""
    rows = np.ascontiguousarray(rows)
    step, item = rows.strides
    return np.lib.stride_tricks.as_strided(rows, shape=(len(batch.centers), 2 * batch.window + 1, rows.shape[1]),
                                           strides=(step, step, item), writeable=False)


def _full_mask(batch: Batch) -> np.ndarray:
    """The (N, 2w+1) mask of `_windows`: the slot mask with the center's own slot off."""
    return np.insert(batch.mask, batch.window, False, axis=1)


def _scatter_windows(table: np.ndarray, batch: Batch, grad: np.ndarray) -> None:
    """Add the (N, 2w+1, d) per-slot gradients to the stream's positions (summed per position first)."""
    n = len(batch.centers)
    per_position = np.zeros((len(batch.stream), table.shape[1]), dtype=table.dtype)
    for c in range(grad.shape[1]):
        if c != batch.window:
            per_position[c:c + n] += grad[:, c]
    scatter_add(table, batch.stream, per_position)


def _scatter_outputs(table: np.ndarray, batch: Batch, grad: np.ndarray) -> None:
    """Add the (N, 1+K, d) output gradients: the centers' rows, then the negatives' rows summed over each
    group of centers that shares them first (one scatter row per drawn negative, not per center)."""
    n, d = len(batch.centers), table.shape[1]
    scatter_add(table, batch.centers, grad[:, 0])
    negative = grad[:, 1:]
    if batch.group > 1:
        pad = -n % batch.group
        if pad:
            negative = np.concatenate([negative, np.zeros((pad, *negative.shape[1:]), negative.dtype)])
        negative = negative.reshape(-1, batch.group, *negative.shape[1:]).sum(axis=1)
    scatter_add(table, batch.negatives[::batch.group].ravel(), negative.reshape(-1, d))


def skipgram_update(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> None:
    """One batched skip-gram step, in place."""
    targets, labels, live = _targets(batch)
    h = _windows(w_in[batch.stream], batch)                # (N, C, d), C = 2w+1
    o = w_out[targets]                                     # (N, T, d)
    scores = h @ o.transpose(0, 2, 1)                      # (N, C, T)
    p = _sigmoid(scores)
    weight = _full_mask(batch)[:, :, None] & live[:, None, :] & (np.abs(scores) < MAX_EXP)
    g = np.where(weight, (labels[:, None, :] - p) * lr, 0.0).astype(w_in.dtype)
    _scatter_windows(w_in, batch, g @ o)
    _scatter_outputs(w_out, batch, g.transpose(0, 2, 1) @ h)


def cbow_update(w_in: np.ndarray, w_out: np.ndarray, batch: Batch, lr: float) -> None:
    """One batched CBOW step (mean of the context vectors; the error goes to each context unscaled, as
    word2vec.c and gensim's cbow_mean=1 do)."""
    targets, labels, live = _targets(batch)
    m = _full_mask(batch).astype(w_in.dtype)
    n_ctx = m.sum(axis=1)
    h = (m[:, None, :] @ _windows(w_in[batch.stream], batch))[:, 0] / np.maximum(n_ctx, 1)[:, None]
    o = w_out[targets]
    scores = np.einsum("nd,ntd->nt", h, o)
    p = _sigmoid(scores)
    weight = live & (n_ctx > 0)[:, None] & (np.abs(scores) < MAX_EXP)
    g = np.where(weight, (labels - p) * lr, 0.0).astype(w_in.dtype)
    dh = np.einsum("nt,ntd->nd", g, o)
    _scatter_windows(w_in, batch, m[:, :, None] * dh[:, None, :])
    _scatter_outputs(w_out, batch, g[:, :, None] * h[:, None, :])
