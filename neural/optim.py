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
from neural.thread_pool import run_parallel, split_bounds, workers

ParamList = Sequence[Parameter] | Sequence[tuple[str, Parameter]]


def global_grad_norm(params: Sequence[Parameter]) -> float:
    """sqrt(sum of squared gradient entries over all parameters)."""
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


PAR_MIN_ELEMENTS = 1 << 17  # smaller updates stay in the calling thread
ALIGN = 16  # elements: each parameter starts on a 64-byte boundary of the flat buffer (float32)


def flatten_parameters(params: Sequence[Parameter]) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
    """Move the parameters' data and grads into two flat buffers (each Parameter keeps a view), decaying
    parameters first. Returns (data, grad, n_decay): the update then runs as a few whole-buffer operations
    instead of a dozen small ones per parameter, and flat[:n_decay] is exactly what weight decay touches.
    Gaps between parameters (alignment padding) stay 0 in every buffer, so they never move."""
    dtype = params[0].data.dtype
    ordered = [p for p in params if p.decay] + [p for p in params if not p.decay]
    offsets, total, n_decay = [], 0, 0
    for p in ordered:
        offsets.append(total)
        total += -(-p.size // ALIGN) * ALIGN
        if p.decay:
            n_decay = total
    data, grad = np.zeros(total, dtype=dtype), np.zeros(total, dtype=dtype)
    for p, off in zip(ordered, offsets):
        d, g = data[off:off + p.size].reshape(p.shape), grad[off:off + p.size].reshape(p.shape)
        d[...] = p.data
        g[...] = p.grad
        p.data, p.grad = d, g
    where = dict(zip(map(id, ordered), offsets))
    return data, grad, n_decay, [where[id(p)] for p in params]


class Optimizer:
    """Base: holds the parameters, the learning rate (set by the schedule each step) and a step count.

    The parameters are flattened into one buffer at construction (`flatten_parameters`), so a Parameter's
    `data`/`grad` must be updated in place afterwards (as every layer does), never rebound."""

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
        if not self.params or len({p.data.dtype for p in self.params}) != 1:
            raise ValueError("an optimizer needs parameters, all of one dtype")
        self.flat, self.flat_grad, self.n_decay, self._offsets = flatten_parameters(self.params)
        self.lr = lr
        self.t = 0

    def _views(self, buffer: np.ndarray) -> list[np.ndarray]:
        """Per-parameter views of a flat state buffer, laid out like the parameters (for checkpoints)."""
        return [buffer[off:off + p.size].reshape(p.shape) for p, off in zip(self.params, self._offsets)]

    def step(self) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        self.flat_grad.fill(0)

    def clip_grad_norm(self, max_norm: float) -> float:
        """`clip_grad_norm` over the flat gradient buffer (one dot product); returns the norm before."""
        g = self.flat_grad
        norm = math.sqrt(float(np.dot(g, g)))
        if max_norm > 0 and norm > max_norm:
            g *= g.dtype.type(max_norm / (norm + 1e-6))
        return norm

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
        self.velocity = np.zeros_like(self.flat)

    def _slots(self) -> dict[str, list[np.ndarray]]:
        return {"v": self._views(self.velocity)}

    def step(self) -> None:
        self.t += 1
        dt = self.flat.dtype.type
        w, g, nd = self.flat, self.flat_grad.copy(), self.n_decay
        if self.weight_decay:
            g[:nd] += dt(self.weight_decay) * w[:nd]
        if self.momentum:
            self.velocity *= dt(self.momentum)
            self.velocity += g
            g = self.velocity
        w -= dt(self.lr) * g


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
        self.m = np.zeros_like(self.flat)
        self.v = np.zeros_like(self.flat)
        self._tmp = np.empty_like(self.flat)

    def _slots(self) -> dict[str, list[np.ndarray]]:
        return {"m": self._views(self.m), "v": self._views(self.v)}

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bc1 = 1.0 - b1 ** self.t
        bc2 = 1.0 - b2 ** self.t
        decay = 1.0 - self.lr * self.weight_decay
        n = self.flat.size

        def update(lo: int, hi: int) -> None:
            d = max(0, min(self.n_decay, hi) - lo)  # the decaying prefix of this slice
            adamw_update(self.flat[lo:hi], self.flat_grad[lo:hi], self.m[lo:hi], self.v[lo:hi],
                         self._tmp[lo:hi], d, decay, b1, b2, bc1, bc2, self.lr, self.eps)

        k = workers() if n >= PAR_MIN_ELEMENTS else 1
        if k < 2:
            update(0, n)
            return
        # element-wise, so slices are independent: both cores, and bit-identical to one pass
        chunks = [(lo * ALIGN, min(n, hi * ALIGN)) for lo, hi in split_bounds(-(-n // ALIGN), k)]
        run_parallel([lambda lo=lo, hi=hi: update(lo, hi) for lo, hi in chunks])


def adamw_update(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, tmp: np.ndarray, n_decay: int,
                 decay: float, b1: float, b2: float, bc1: float, bc2: float, lr: float, eps: float) -> None:
    """One AdamW update in place on flat slices; w[:n_decay] gets the decoupled weight decay."""
    dt = w.dtype.type
    if n_decay and decay != 1.0:
        w[:n_decay] *= dt(decay)
    m *= dt(b1)
    np.multiply(g, dt(1 - b1), out=tmp)
    m += tmp
    v *= dt(b2)
    np.multiply(g, g, out=tmp)
    tmp *= dt(1 - b2)
    v += tmp
    # denom = sqrt(v) / sqrt(bc2) + eps   (torch's order of operations)
    np.sqrt(v, out=tmp)
    tmp *= dt(1.0 / math.sqrt(bc2))
    tmp += dt(eps)
    np.divide(m, tmp, out=tmp)
    tmp *= dt(lr / bc1)
    w -= tmp


class Adam(AdamW):
    """Adam with classic L2 regularisation (decay added to the gradient), torch.optim.Adam."""

    kind = "adam"

    def step(self) -> None:
        if self.weight_decay:
            nd = self.n_decay
            self.flat_grad[:nd] += self.flat.dtype.type(self.weight_decay) * self.flat[:nd]
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
