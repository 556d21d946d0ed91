"""Data parallelism across the cores for one training step: each worker thread runs forward AND backward
on its own slice of the batch rows, on a replica of the model that shares the weights.

Why: a step of a small model is half element-wise work (GELU, LayerNorm, softmax, Adam), which NumPy runs on
one core, and half small GEMMs, which OpenBLAS splits into pieces too small to scale. Batch rows are
independent until the loss, so k threads on B/k rows each (single-threaded BLAS per thread, as in
`neural.thread_pool`) keep both cores busy for the whole step; NumPy releases the GIL inside ufuncs and
BLAS calls, and the Python between them is a few microseconds per op.

A replica is a structural copy of the module tree: every `Module` copied shallowly with an empty cache
stack of its own, every `Parameter` copied so that `data` IS the original array (the optimizer's in-place
updates are seen at once) and `grad` is either the original's (replica 0: its gradients land where the
optimizer reads them) or private (the others: added into the original after the step). Tied parameters stay
tied (one copy per original Parameter). Each replica's Dropout layers draw from a generator of their own,
seeded from the model's dropout generator at every step, so runs are reproducible for a fixed number of
workers (and resume from a checkpoint, which saves that generator, gives the same curve).

Results equal the serial step's up to float32 summation order (the weight gradients are summed over rows in
two parts); `TKIT_THREADS=1` keeps everything serial.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from neural.layers import Dropout
from neural.module import Module, Parameter
from neural.thread_pool import run_parallel, split_bounds, workers


def replicate(model: Module, share_grads: bool) -> Module:
    """A copy of `model` whose Parameters share `data` with the original (and `grad` too if `share_grads`),
    with empty per-call caches; non-Module attributes (configs, buffers, vocabularies) are shared."""
    memo: dict[int, Any] = {}

    def param(p: Parameter) -> Parameter:
        twin = Parameter.__new__(Parameter)
        twin.data, twin.name, twin.decay = p.data, p.name, p.decay
        twin.grad = p.grad if share_grads else np.zeros_like(p.grad)
        return twin

    def copy_of(value: Any) -> Any:
        if isinstance(value, (Module, Parameter)):
            if id(value) not in memo:
                memo[id(value)] = param(value) if isinstance(value, Parameter) else module(value)
            return memo[id(value)]
        if isinstance(value, (list, tuple)) and any(isinstance(v, (Module, Parameter)) for v in value):
            return type(value)(copy_of(v) for v in value)
        return value

    def module(mod: Module) -> Module:
        twin = copy.copy(mod)
        memo[id(mod)] = twin
        twin.__dict__["_caches"] = []
        for key, value in vars(mod).items():
            if key != "_caches":
                twin.__dict__[key] = copy_of(value)
        return twin

    return copy_of(model)


def _dropouts(model: Module) -> list[Dropout]:
    return [m for _, m in model.named_modules() if isinstance(m, Dropout) and m.p > 0]


class DataParallelStep:
    """Runs `step(replica, x_rows, y_rows, weight) -> loss` for row slices of a batch on replicas of `model`,
    in parallel threads, and leaves the summed gradients in `model`'s Parameters.

    `weight` is the slice's share of the batch (rows / B): a step that back-propagates `weight` times the
    slice's mean loss makes the summed gradient that of the whole batch's mean loss."""

    MIN_ROWS = 1  # a single sequence is already a (T, C) GEMM per layer: worth a thread

    def __init__(self, model: Module, dropout_rng: np.random.Generator | None = None) -> None:
        self.model = model
        self.dropout_rng = dropout_rng
        self._replicas: list[Module] = []
        self._key: tuple = ()
        self._has_dropout = False

    def workers_for(self, rows: int) -> int:
        return min(workers(), rows // self.MIN_ROWS)

    def _replicas_for(self, k: int) -> list[Module]:
        """k replicas, rebuilt when the model's arrays were replaced (a dtype cast, a load)."""
        params = self.model.parameters()
        key = (k, *(id(p.data) for p in params), *(id(p.grad) for p in params))
        if key != self._key:
            self._replicas = [replicate(self.model, share_grads=(i == 0)) for i in range(k)]
            self._key = key
            self._has_dropout = bool(_dropouts(self.model))
        return self._replicas

    def run(self, x: np.ndarray, y: np.ndarray,
            step: Callable[[Module, np.ndarray, np.ndarray, float], float]) -> float:
        b = x.shape[0]
        k = self.workers_for(b)
        if k < 2:
            return step(self.model, x, y, 1.0)
        replicas = self._replicas_for(k)
        training = self.model.training
        for replica in replicas:
            if replica.training != training:
                replica.train(training)
        if training and self.dropout_rng is not None and self._has_dropout:
            for replica, seed in zip(replicas, self.dropout_rng.integers(0, 2**63, size=k)):
                rng = np.random.default_rng(int(seed))
                for layer in _dropouts(replica):
                    layer.rng = rng

        def task(i: int, lo: int, hi: int) -> float:
            replica = replicas[i]
            if i:  # private gradients start from zero (replica 0 writes into the model's own)
                for p in replica.parameters():
                    p.grad.fill(0)
            return step(replica, x[lo:hi], y[lo:hi], (hi - lo) / b)

        parts = split_bounds(b, k)
        try:
            losses = run_parallel([lambda i=i, lo=lo, hi=hi: task(i, lo, hi) for i, (lo, hi) in enumerate(parts)])
        except BaseException:
            for replica in replicas:
                replica.clear_caches()
            raise
        self._sum_gradients(replicas, k)
        return float(sum(loss * (hi - lo) / b for loss, (lo, hi) in zip(losses, parts)))

    def _sum_gradients(self, replicas: list[Module], k: int) -> None:
        """model.grad += replica.grad for the replicas with private gradients, parameters split across the
        workers."""
        pairs = [(mine.grad, [r.grad for r in theirs])
                 for mine, *theirs in zip(self.model.parameters(), *(r.parameters() for r in replicas[1:]))]

        def add(chunk: list[tuple[np.ndarray, list[np.ndarray]]]) -> None:
            for mine, theirs in chunk:
                for g in theirs:
                    mine += g

        run_parallel([lambda c=pairs[i::k]: add(c) for i in range(k)])
