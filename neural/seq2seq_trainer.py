"""`Trainer` for sequence-to-sequence models: the same loop, schedule, clipping, checkpoints, Ctrl-C and
exact resume; only the data differs. Batches are B pair rows of about the same lengths (`bucket_batch`:
little padding) instead of windows of a stream, and validation is a fixed set of held-out pairs.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neural.module import no_grad
from neural.optim import make_optimizer
from neural.seq2seq import Seq2SeqModel
from neural.seq2seq_data import PAD_ID, bucket_batch, length_order, split_rows
from neural.trainer import StepInfo, TrainConfig, Trainer
from tokenizers_kit.errors import CorpusError


class Seq2SeqTrainer(Trainer):
    """Trains a Seq2SeqModel on packed pair rows (N, S + T + 2); see `neural.trainer.Trainer`."""

    def __init__(self, model: Seq2SeqModel, train_rows: np.ndarray, val_rows: np.ndarray, config: TrainConfig,
                 checkpoint_path: str | os.PathLike[str] | None = None,
                 on_step: Callable[[StepInfo], None] | None = None,
                 on_checkpoint: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        if len(train_rows) == 0:
            raise CorpusError("no training pairs: give more pairs or a smaller --val-fraction")
        self.model, self.cfg = model, config
        self.on_checkpoint, self.on_step = on_checkpoint, on_step
        self.train_ids, self.val_ids = np.asarray(train_rows), np.asarray(val_rows)
        self.train_order = length_order(self.train_ids, model.cfg.max_source_len, config.seed)
        self.block_size = int(model.block_size)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.named_params = list(model.named_parameters())
        self.params = [p for _, p in self.named_params]
        self.optimizer = make_optimizer(config.optimizer, self.named_params, config.lr, config.weight_decay,
                                        (config.beta1, config.beta2), config.momentum)
        self.schedule = config.schedule()
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self.batcher = None
        n_val = min(len(self.val_ids), config.eval_batches * config.batch_size)
        self._val_batches = [self.val_ids[i:i + config.batch_size] for i in range(0, n_val, config.batch_size)]
        self._interrupted = False

    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        rows = bucket_batch(self.train_ids, self.train_order, self.cfg.batch_size, self.rng)
        return split_rows(rows, self.model.cfg.max_source_len)

    def evaluate(self) -> float | None:
        """Target cross-entropy (nats/token) over the fixed validation pairs, weighted by their tokens."""
        if not self._val_batches:
            return None
        self.model.eval()
        total = count = 0.0
        try:
            with no_grad():
                for rows in self._val_batches:
                    n = float(np.count_nonzero(rows[:, self.model.cfg.max_source_len + 1:] != PAD_ID))
                    total += self.model.rows_loss(rows) * n
                    count += n
        finally:
            self.model.train()
        return total / count
