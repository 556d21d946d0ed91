"""Optimizers over `Parameter`s: SGD with momentum, Adam, AdamW (decoupled decay on 2-D weights only),
and clipping by global norm.

Each optimizer's state is a dict of named arrays plus a step counter, so checkpoints store it in an `.npz`
(`state_arrays` / `load_state_arrays`) and resume bit-for-bit.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neural.module import Parameter

ParamList = Sequence[Parameter] | Sequence[tuple[str, Parameter]]


def global_grad_norm(params: Sequence[Parameter]) -> float:
    """sqrt(sum of squared gradient entries over all parameters), accumulated in float64."""
    total = 0.0
    for p in params:
        g = p.grad.reshape(-1)
        total += float(np.dot(g, g))
    return math.sqrt(total)


def clip_grad_norm(params: Sequence[Parameter], max_norm: float) -> float:
    """Scale all gradients so their global norm is at most `max_norm` (torch's clip_grad_norm_); returns the
    norm before clipping."""
    norm = global_grad_norm(params)
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for p in params:
            p.grad *= p.grad.dtype.type(scale)
    return norm


class Optimizer:
    """Base: holds the parameters, the learning rate (set by the schedule each step) and a step count."""

    kind = "base"

    def __init__(self, params: ParamList, lr: float) -> None:
        items = list(params)
        if items and isinstance(items[0], tuple):  # (name, Parameter) pairs, e.g. model.named_parameters()
            self.names = [n for n, _ in items]
            self.params = [p for _, p in items]
        else:
            self.params = items
            self.names = [str(i) for i in range(len(items))]
        if len(set(self.names)) != len(self.names):  # names key the checkpointed state
            raise ValueError("optimizer parameters need distinct names")
        self.lr = lr
        self.t = 0

    def step(self) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    # ---- checkpointing ----------------------------------------------------------------------------------
    def _slots(self) -> dict[str, list[np.ndarray]]:
        return {}

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {f"{slot}:{name}": arr for slot, arrs in self._slots().items()
                for name, arr in zip(self.names, arrs)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for slot, arrs in self._slots().items():
            for name, arr in zip(self.names, arrs):
                arr[...] = arrays[f"{slot}:{name}"]

    def state_meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "t": self.t, "lr": self.lr}

    def load_state_meta(self, meta: dict[str, Any]) -> None:
        self.t = int(meta["t"])
        self.lr = float(meta["lr"])


class SGD(Optimizer):
    """v = mu v + g (+ wd * w);  w -= lr v   (torch.optim.SGD with momentum, dampening 0)."""

    kind = "sgd"

    def __init__(self, params: ParamList, lr: float = 0.1, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def _slots(self) -> dict[str, list[np.ndarray]]:
        return {"v": self.velocity}

    def step(self) -> None:
        self.t += 1
        for p, v in zip(self.params, self.velocity):
            dt = p.data.dtype.type
            g = p.grad
            if self.weight_decay and p.decay:
                g = g + dt(self.weight_decay) * p.data
            if self.momentum:
                v *= dt(self.momentum)
                v += g
                g = v
            p.data -= dt(self.lr) * g


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter), decay only where `Parameter.decay` (2-D
    weights), as nanoGPT's configure_optimizers. `weight_decay=0` is plain Adam.

        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
        w -= lr wd w;  w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)      (torch.optim.AdamW)
    """

    kind = "adamw"

    def __init__(self, params: ParamList, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self._tmp = [np.empty_like(p.data) for p in self.params]

    def _slots(self) -> dict[str, list[np.ndarray]]:
        return {"m": self.m, "v": self.v}

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bc1 = 1.0 - b1 ** self.t
        bc2 = 1.0 - b2 ** self.t
        step_size = self.lr / bc1
        for p, m, v, tmp in zip(self.params, self.m, self.v, self._tmp):
            dt = p.data.dtype.type
            g = p.grad
            if self.weight_decay and p.decay:
                p.data *= dt(1.0 - self.lr * self.weight_decay)
            m *= dt(b1)
            m += dt(1 - b1) * g
            v *= dt(b2)
            np.multiply(g, g, out=tmp)
            tmp *= dt(1 - b2)
            v += tmp
            # denom = sqrt(v) / sqrt(bc2) + eps   (torch's order of operations)
            np.sqrt(v, out=tmp)
            tmp *= dt(1.0 / math.sqrt(bc2))
            tmp += dt(self.eps)
            np.divide(m, tmp, out=tmp)
            tmp *= dt(step_size)
            p.data -= tmp


class Adam(AdamW):
    """Adam with classic L2 regularisation (decay added to the gradient), torch.optim.Adam."""

    kind = "adam"

    def step(self) -> None:
        if self.weight_decay:
            for p in self.params:
                if p.decay:
                    p.grad += p.grad.dtype.type(self.weight_decay) * p.data
        wd, self.weight_decay = self.weight_decay, 0.0
        try:
            super().step()
        finally:
            self.weight_decay = wd


def make_optimizer(kind: str, params: ParamList, lr: float, weight_decay: float = 0.0,
                   betas: tuple[float, float] = (0.9, 0.99), momentum: float = 0.9) -> Optimizer:
    """Build an optimizer by name: "adamw", "adam" or "sgd"."""
    if kind == "adamw":
        return AdamW(params, lr, betas, weight_decay=weight_decay)
    if kind == "adam":
        return Adam(params, lr, betas, weight_decay=weight_decay)
    if kind == "sgd":
        return SGD(params, lr, momentum, weight_decay)
    raise ValueError(f"unknown optimizer {kind!r}: choose adamw, adam or sgd")
