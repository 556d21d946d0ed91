"""Training data for stream language models: one token stream, a train/validation split, and batches.

* Transformers (stateless) get nanoGPT's random windows: B start offsets drawn uniformly, x = the window,
  y = the window shifted by one.
* RNNs (stateful, TBPTT) get char-rnn's contiguous streams: the train stream is cut into B rows
  (`data.view(batch_size, -1)`), and step after step the next T columns of every row are served, so row b
  of one batch continues row b of the previous one; after the last window the cursor wraps to 0 (a new epoch,
  where the carried state must be reset).
"""
from __future__ import annotations

import hashlib

import numpy as np

from tokenizers_kit.errors import CorpusError


def split_stream(ids: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, val): the last `val_fraction` of the stream is validation (nanoGPT's 90/10 split)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("the validation fraction must be in [0, 1)")
    n_train = len(ids) - int(round(len(ids) * val_fraction))
    return ids[:n_train], ids[n_train:]


def fingerprint(ids: np.ndarray) -> str:
    """A short hash of a token stream: `--resume` checks it is given the same data."""
    return hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]


def random_batch(tokens: np.ndarray, batch_size: int, block_size: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x, y (B, T) int64: B random windows of T tokens and their next tokens (nanoGPT's get_batch)."""
    if len(tokens) <= block_size:
        raise CorpusError(f"the training text has {len(tokens)} tokens, not more than block size {block_size}: "
                          "give more text or a smaller --block-size")
    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)
    offsets = starts[:, None] + np.arange(block_size)
    return tokens[offsets].astype(np.int64), tokens[offsets + 1].astype(np.int64)


class StreamBatcher:
    """B contiguous streams read T tokens at a time, for truncated BPTT.

    `position` (the column cursor) is the whole state: a checkpoint stores it and resumes the same order."""

    def __init__(self, tokens: np.ndarray, batch_size: int, block_size: int, position: int = 0) -> None:
        row_len = (len(tokens) - 1) // batch_size
        if row_len < block_size:
            raise CorpusError(f"the training text ({len(tokens)} tokens) is too short for {batch_size} streams of "
                              f"{block_size}-token windows: give more text or smaller --batch-size/--block-size")
        n = row_len * batch_size
        self.x_rows = np.ascontiguousarray(tokens[:n].reshape(batch_size, row_len), dtype=np.int64)
        self.y_rows = np.ascontiguousarray(tokens[1:n + 1].reshape(batch_size, row_len), dtype=np.int64)
        self.block_size = block_size
        self.windows = row_len // block_size  # whole windows per epoch (the ragged tail is skipped)
        self.position = position

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """(x, y, new_epoch): new_epoch is True when this window starts the streams over (reset state)."""
        new_epoch = self.position % self.windows == 0
        col = (self.position % self.windows) * self.block_size
        self.position += 1
        sl = slice(col, col + self.block_size)
        return self.x_rows[:, sl], self.y_rows[:, sl], new_epoch


def eval_windows(tokens: np.ndarray, n_batches: int, batch_size: int, block_size: int,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fixed set of random validation windows (the same at every evaluation, so curves compare)."""
    rng = np.random.default_rng([seed, 2024])
    return [random_batch(tokens, batch_size, block_size, rng) for _ in range(n_batches)]
