"""BERT's masked-LM corruption (Devlin et al. 2019): choose `prob` of the ordinary tokens, then replace 80% of the
chosen by [MASK], 10% by a random ordinary token and leave 10% unchanged; the loss is on the chosen only.
"""
from __future__ import annotations

import numpy as np

IGNORE = -1  # target of a position that is not chosen


def mask_tokens(ids: np.ndarray, rng: np.random.Generator, prob: float, mask_id: int,
                special: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(corrupted input, targets) for ids (B, T); `special` is a bool per vocabulary id (never chosen, never
    drawn as a random replacement). Every row with an ordinary token gets at least one chosen position, so
    each slice of the batch has a loss."""
    ids = np.asarray(ids, dtype=np.int64)
    ordinary = ~special[ids]
    chosen = (rng.random(ids.shape) < prob) & ordinary
    for row in np.flatnonzero(~chosen.any(axis=1) & ordinary.any(axis=1)):
        chosen[row, rng.choice(np.flatnonzero(ordinary[row]))] = True
    r = rng.random(ids.shape)
    inp = ids.copy()
    inp[chosen & (r < 0.8)] = mask_id
    swap = chosen & (r >= 0.8) & (r < 0.9)
    pool = np.flatnonzero(~special)
    inp[swap] = pool[rng.integers(0, len(pool), int(swap.sum()))]
    return inp, np.where(chosen, ids, IGNORE)


def wrap(windows: np.ndarray, cls_id: int, sep_id: int) -> np.ndarray:
    """[CLS] w[:T-2] [SEP] for each window (B, T): the post-processor's frame, at the model's length T."""
    b, t = windows.shape
    out = np.empty((b, t), dtype=np.int64)
    out[:, 0], out[:, -1] = cls_id, sep_id
    out[:, 1:-1] = windows[:, :t - 2]
    return out
