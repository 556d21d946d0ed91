"""The training loop for any `TrainableLM`: schedule, clipping, validation, checkpoints, exact resume.

One step (nanoGPT's train.py, without its globals):

    lr = schedule(step); x, y = batch(); zero_grad(); loss_and_backward(x, y); clip(); optimizer.step()

Resuming restores the weights, the optimizer slots, every random stream (batch sampling and dropout, as
JSON Generator states), the data cursor and the carried RNN state, so an interrupted run followed by a
resumed one yields the same loss curve as an uninterrupted run. Ctrl-C is deferred to the end of the
current step, a checkpoint is written, and `TrainingInterrupted` is raised. This module never imports
`cli`: progress goes through the `on_step` callback.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from neural.checkpoint import Checkpoint, save_checkpoint
from neural.data import StreamBatcher, eval_windows, fingerprint, random_batch
from neural.layers import Dropout
from neural.module import no_grad
from neural.optim import Optimizer, make_optimizer
from neural.plot import write_loss_curve
from neural.schedule import WarmupCosine
from neural.trainable import TrainableLM
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.errors import TkitError


class TrainingInterrupted(TkitError):
    """Ctrl-C during training: a checkpoint was saved (its path is in the message)."""

    exit_code = 130  # what a shell expects of a process stopped by Ctrl-C


@dataclass
class TrainConfig:
    steps: int = 2000            # optimizer steps in total (a resumed run continues up to this)
    batch_size: int = 12         # B windows (or streams) per step
    lr: float = 1e-3             # peak learning rate
    min_lr: float = 1e-4         # floor of the cosine decay
    warmup: int = 100            # linear warmup steps
    decay_steps: int = 0         # cosine decay horizon; 0 means `steps`
    optimizer: str = "adamw"     # adamw | adam | sgd
    weight_decay: float = 0.1    # decoupled (AdamW) / L2 (adam, sgd), on 2-D weights only
    beta1: float = 0.9
    beta2: float = 0.99          # nanoGPT: 0.99 because few tokens per step
    momentum: float = 0.9        # SGD
    grad_clip: float = 1.0       # max global gradient norm; 0 = off
    val_every: int = 250         # steps between validations (and the last step); 0 = never
    eval_batches: int = 20       # validation batches per evaluation
    checkpoint_every: int = 0    # steps between checkpoints; 0 = at each validation
    seed: int = 1337             # batch sampling (model init has its own seed in the model config)
    val_fraction: float = 0.1    # the last part of the token stream held out (recorded for --resume)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def schedule(self) -> WarmupCosine:
        return WarmupCosine(self.lr, self.warmup, self.decay_steps or self.steps, self.min_lr)


@dataclass
class StepInfo:
    """What the progress callback sees after each step."""

    step: int                    # steps done so far
    steps: int                   # total
    loss: float                  # this step's training loss
    lr: float
    tokens_per_s: float          # moving average
    val_loss: float | None = None  # set on validation steps


@dataclass
class TrainResult:
    steps: int
    train_loss: float            # mean over the last 50 steps (less noisy than the last one)
    val_loss: float | None       # last validation
    best_val_loss: float | None
    seconds: float               # wall time of this run (not counting earlier runs of a resumed job)
    tokens: int                  # tokens processed in this run
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def _dropout_rngs(model: TrainableLM) -> list[np.random.Generator]:
    """The distinct Generators of the model's Dropout modules, in a stable order."""
    seen: dict[int, np.random.Generator] = {}
    for _, mod in model.named_modules():
        if isinstance(mod, Dropout) and id(mod.rng) not in seen:
            seen[id(mod.rng)] = mod.rng
    return list(seen.values())


class Trainer:
    """Trains `model` on `train_ids`, validating on `val_ids`; see the module docstring."""

    def __init__(self, model: TrainableLM, train_ids: np.ndarray, val_ids: np.ndarray, config: TrainConfig,
                 checkpoint_path: str | os.PathLike[str] | None = None,
                 on_step: Callable[[StepInfo], None] | None = None,
                 on_checkpoint: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.model, self.cfg = model, config
        self.on_checkpoint = on_checkpoint  # e.g. rewrite the loss log, so a long run can be watched
        self.train_ids, self.val_ids = np.asarray(train_ids), np.asarray(val_ids)
        self.block_size = int(model.block_size)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.on_step = on_step
        self.named_params = list(model.named_parameters())
        self.params = [p for _, p in self.named_params]
        self.optimizer: Optimizer = make_optimizer(config.optimizer, self.named_params, config.lr,
                                                   config.weight_decay, (config.beta1, config.beta2),
                                                   config.momentum)
        self.schedule = config.schedule()
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.elapsed = 0.0  # seconds over all runs of this job
        self.batcher = (StreamBatcher(self.train_ids, config.batch_size, self.block_size)
                        if model.stateful else None)
        if not model.stateful:  # fail early on too-short text
            random_batch(self.train_ids, 1, self.block_size, np.random.default_rng(0))
        self._val = (eval_windows(self.val_ids, config.eval_batches, config.batch_size, self.block_size,
                                  config.seed)
                     if not model.stateful and len(self.val_ids) > self.block_size and config.eval_batches else None)
        self._interrupted = False

    # ---- one step ------------------------------------------------------------------------------------
    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self.batcher is None:
            return random_batch(self.train_ids, self.cfg.batch_size, self.block_size, self.rng)
        x, y, new_epoch = self.batcher.next()
        if new_epoch:
            self.model.reset_state(self.cfg.batch_size)
        return x, y

    def train_step(self) -> float:
        lr = self.schedule(self.step)
        self.optimizer.lr = lr
        x, y = self._batch()
        self.optimizer.zero_grad()
        loss = self.model.loss_and_backward(x, y)
        if self.cfg.grad_clip > 0:
            self.optimizer.clip_grad_norm(self.cfg.grad_clip)
        self.optimizer.step()
        self.step += 1
        return loss

    # ---- validation ----------------------------------------------------------------------------------
    def evaluate(self) -> float | None:
        """Mean validation loss (nats/token): fixed random windows (stateless models) or, for stateful
        models, B contiguous validation streams from a zero state; the training state is left untouched."""
        model = self.model
        if model.stateful:
            return self._evaluate_streams()
        if self._val is None:
            return None
        model.eval()
        try:
            with no_grad():
                return float(np.mean([model.loss(x, y) for x, y in self._val]))
        finally:
            model.train()

    def _evaluate_streams(self) -> float | None:
        model, b, t = self.model, self.cfg.batch_size, self.block_size
        b = max(1, min(b, (len(self.val_ids) - 1) // max(t, 1)))
        if len(self.val_ids) <= t + 1 or not self.cfg.eval_batches:
            return None
        carry = model.hidden_state_arrays() if hasattr(model, "hidden_state_arrays") else None
        batcher = StreamBatcher(self.val_ids, b, t)
        model.eval()
        try:
            with no_grad():
                model.reset_state(b)
                losses = [model.loss(*batcher.next()[:2]) for _ in range(min(self.cfg.eval_batches, batcher.windows))]
        finally:
            model.train()
            if carry:
                model.load_hidden_state_arrays(carry)
            elif carry is not None:
                model.reset_state(self.cfg.batch_size)
        return float(np.mean(losses))

    # ---- the loop ------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        tokens_per_step = cfg.batch_size * self.block_size
        start, start_step = time.perf_counter(), self.step
        tps = 0.0
        ckpt_every = cfg.checkpoint_every or cfg.val_every
        self.model.train()
        with self._defer_sigint():
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                lr = self.schedule(self.step)
                loss = self.train_step()
                dt = time.perf_counter() - t0
                tps = tokens_per_step / dt if tps == 0 else 0.9 * tps + 0.1 * tokens_per_step / dt
                row: dict[str, Any] = {"step": self.step, "lr": lr, "train_loss": loss, "val_loss": None}
                last = self.step == cfg.steps
                if cfg.val_every and (self.step % cfg.val_every == 0 or last):
                    row["val_loss"] = self.evaluate()
                row["elapsed_s"] = round(self.elapsed + time.perf_counter() - start, 3)
                self.history.append(row)
                if not math.isfinite(loss):  # never save it: a diverged run must not replace a good checkpoint
                    raise TkitError(f"training diverged at step {self.step} (loss {loss}): lower --lr or raise "
                                    f"--warmup{self._kept_note()}")
                if self.on_step:
                    self.on_step(StepInfo(self.step, cfg.steps, loss, lr, tps, row["val_loss"]))
                if self._interrupted:
                    self._save(start)
                    where = f"; checkpoint {self.checkpoint_path}" if self.checkpoint_path else ""
                    raise TrainingInterrupted(f"interrupted at step {self.step}/{cfg.steps}{where} "
                                              f"(continue with --resume {self.checkpoint_path or 'CKPT'})")
                if self.checkpoint_path and ((ckpt_every and self.step % ckpt_every == 0) or last):
                    self._save(start)
        seconds = time.perf_counter() - start
        self.elapsed += seconds
        return self._result(seconds, (self.step - start_step) * tokens_per_step)

    def _result(self, seconds: float, tokens: int) -> TrainResult:
        train = [r["train_loss"] for r in self.history[-50:]]
        vals = [r["val_loss"] for r in self.history if r.get("val_loss") is not None]
        return TrainResult(self.step, float(np.mean(train)) if train else float("nan"),
                           vals[-1] if vals else None, min(vals) if vals else None, seconds, tokens,
                           self.history)

    @contextlib.contextmanager
    def _defer_sigint(self) -> Iterator[None]:
        """Ctrl-C sets a flag checked after each step, so the checkpoint is never of a half-done step."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._interrupted:  # a second Ctrl-C: stop now, without a checkpoint
                raise KeyboardInterrupt
            self._interrupted = True

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    # ---- checkpoints -----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"step": self.step, "config": asdict(self.cfg),
                "rng": self.rng.bit_generator.state,
                "dropout_rngs": [g.bit_generator.state for g in _dropout_rngs(self.model)],
                "position": self.batcher.position if self.batcher else 0,
                "history": self.history, "elapsed": self.elapsed,
                "data": {"train": fingerprint(self.train_ids), "val": fingerprint(self.val_ids)}}

    def _kept_note(self) -> str:
        if self.checkpoint_path and os.path.exists(self.checkpoint_path):
            return f"; the last good checkpoint {self.checkpoint_path} is kept"
        return "; nothing was saved"

    def _save(self, run_start: float) -> None:
        if not self.checkpoint_path:
            return
        if not all(np.isfinite(p.data).all() for p in self.model.parameters()):
            raise TkitError(f"training diverged by step {self.step} (weights are no longer finite): lower --lr or "
                            f"raise --warmup{self._kept_note()}")
        state = self.state()
        state["elapsed"] = self.elapsed + time.perf_counter() - run_start
        carry = self.model.hidden_state_arrays() if hasattr(self.model, "hidden_state_arrays") else None
        save_checkpoint(self.checkpoint_path, self.model, self.optimizer.state_meta(),
                        self.optimizer.state_arrays(), _jsonable(state), carry)
        if self.on_checkpoint:
            self.on_checkpoint(self.history)

    @classmethod
    def resume(cls, ckpt: Checkpoint, train_ids: np.ndarray, val_ids: np.ndarray,
               checkpoint_path: str | os.PathLike[str] | None = None,
               on_step: Callable[[StepInfo], None] | None = None, steps: int | None = None,
               on_checkpoint: Callable[[list[dict[str, Any]]], None] | None = None) -> Trainer:
        """A trainer in exactly the state the checkpoint recorded (`steps` may extend the run)."""
        st = ckpt.trainer
        data = st.get("data", {})
        if data.get("train") != fingerprint(train_ids) or data.get("val") != fingerprint(val_ids):
            raise TkitError("the checkpoint was trained on different text (or tokenizer/split): give the same "
                            "FILES and options as the run that wrote it")
        cfg = TrainConfig.from_dict(st["config"])
        if steps is not None and steps != cfg.steps:
            if not cfg.decay_steps:
                cfg.decay_steps = cfg.steps  # keep the original schedule; extra steps run at min_lr
            cfg.steps = steps
        trainer = cls(ckpt.model, train_ids, val_ids, cfg, checkpoint_path, on_step, on_checkpoint)
        trainer.optimizer.load_state_meta(ckpt.optimizer_meta)
        trainer.optimizer.load_state_arrays(ckpt.optimizer_arrays)
        trainer.step = int(st["step"])
        trainer.rng.bit_generator.state = st["rng"]
        for g, s in zip(_dropout_rngs(ckpt.model), st.get("dropout_rngs", [])):
            g.bit_generator.state = s
        trainer.history = list(st.get("history", []))
        trainer.elapsed = float(st.get("elapsed", 0.0))
        if trainer.batcher is not None:
            trainer.batcher.position = int(st.get("position", 0))
            if ckpt.carry and hasattr(ckpt.model, "load_hidden_state_arrays"):
                ckpt.model.load_hidden_state_arrays(ckpt.carry)
        return trainer


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON (Generator states hold big Python ints; NumPy scalars become floats)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


# ---- the loss log ------------------------------------------------------------------------------------------

LOG_COLUMNS = ("step", "lr", "train_loss", "val_loss", "elapsed_s")


def write_loss_log(path: str | os.PathLike[str], history: list[dict[str, Any]]) -> None:
    """CSV (default) or JSON Lines (a `.jsonl` path): one row per step; val_loss empty/null when not evaluated."""
    p = Path(path)
    with atomic_open(p, "w") as handle:
        if p.suffix == ".jsonl":
            for row in history:
                handle.write(json.dumps({k: row.get(k) for k in LOG_COLUMNS}) + "\n")
            return
        handle.write(",".join(LOG_COLUMNS) + "\n")
        for row in history:
            handle.write(",".join("" if row.get(k) is None else repr(row[k]) if isinstance(row[k], float)
                                  else str(row[k]) for k in LOG_COLUMNS) + "\n")


def write_history_plot(path: str | os.PathLike[str], history: list[dict[str, Any]], title: str) -> None:
    steps = [r["step"] for r in history]
    train = [r["train_loss"] for r in history]
    val = [(r["step"], r["val_loss"]) for r in history if r.get("val_loss") is not None]
    write_loss_curve(path, steps, train, [s for s, _ in val], [v for _, v in val], title)
