"""Finite-difference gradient checks (float64, centred differences) for modules and whole models.

Two entry points:

* `check_module(module, *inputs)` — for a `Module`: the scalar is `sum(R * out)` with a fixed random R
  (one per output if forward returns a tuple); compares `module.backward(R)` (the input gradients) and every
  `Parameter.grad` with centred differences. Integer inputs (token ids) are not differentiated.
* `check_loss(loss_fn, backward_fn, params)` — for a whole model: `loss_fn()` returns the scalar loss,
  `backward_fn()` fills the gradients of `params` (after `loss_fn()` was called once).

Both return {name: relative error} with the cs231n/llm.c measure ||a - n|| / max(||a|| + ||n||, tiny) and
the `assert_*` wrappers raise AssertionError naming the worst tensor. Use tiny shapes (B=2, T=3, C=4) and
cast modules to float64 first (`module.to(np.float64)`); dropout must be off or use a fixed mask.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neural.module import Module, Parameter, no_grad

EPS = 1e-5


def rel_error(a: np.ndarray, n: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), 0 when both are 0."""
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    return 0.0 if denom < 1e-30 else float(np.linalg.norm(a - n)) / denom


def _as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = EPS,
                   indices: Sequence[tuple[int, ...]] | None = None) -> np.ndarray:
    """Centred differences of the scalar `f()` with respect to `x` (perturbed in place, restored after).

    With `indices`, only those entries are computed (the others stay 0)."""
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in (indices if indices is not None else np.ndindex(*x.shape)):
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def _sample_indices(shape: tuple[int, ...], max_entries: int | None, rng: np.random.Generator):
    size = int(np.prod(shape))
    if max_entries is None or size <= max_entries:
        return None
    flat = rng.choice(size, size=max_entries, replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def _masked(a: np.ndarray, indices) -> np.ndarray:
    """Keep only the sampled entries of an analytic gradient (to compare with a sampled numerical one)."""
    if indices is None:
        return a
    out = np.zeros_like(a)
    for idx in indices:
        out[idx] = a[idx]
    return out


def check_module(module: Module, *inputs: Any, seed: int = 0, eps: float = EPS,
                 before_forward: Callable[[], None] | None = None,
                 max_entries: int | None = None) -> dict[str, float]:
    """Relative errors of the input gradients ("input0", ...) and parameter gradients (by name)."""
    rng = np.random.default_rng(seed)
    run = before_forward or (lambda: None)
    run()
    outs = _as_tuple(module(*inputs))
    weights = tuple(rng.standard_normal(np.shape(o)) for o in outs)  # a scalar output (a loss) gets a 0-d R

    def scalar() -> float:
        run()
        with no_grad():
            res = _as_tuple(module(*inputs))
        return float(sum(np.sum(w * o) for w, o in zip(weights, res)))

    module.zero_grad()
    grad_out = tuple(w if np.ndim(w) else float(w) for w in weights)
    grads_in = _as_tuple(module.backward(grad_out if len(grad_out) > 1 else grad_out[0]))
    errors: dict[str, float] = {}
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
            sel = _sample_indices(x.shape, max_entries, rng)
            errors[f"input{i}"] = rel_error(_masked(grads_in[i], sel), numerical_grad(scalar, x, eps, sel))
    for name, p in module.named_parameters():
        sel = _sample_indices(p.shape, max_entries, rng)
        errors[name] = rel_error(_masked(p.grad, sel), numerical_grad(scalar, p.data, eps, sel))
    return errors


def check_loss(loss_fn: Callable[[], float], backward_fn: Callable[[], None],
               params: Sequence[tuple[str, Parameter]] | Sequence[Parameter], eps: float = EPS,
               max_entries: int | None = None, seed: int = 0) -> dict[str, float]:
    """Relative errors of a whole model's gradients: `loss_fn()` once + `backward_fn()` give the analytic
    gradients; then each parameter entry (or `max_entries` random ones per tensor) is perturbed."""
    rng = np.random.default_rng(seed)
    named = [(p.name or str(i), p) if isinstance(p, Parameter) else p for i, p in enumerate(params)]
    for _, p in named:
        p.zero_grad()
    loss_fn()
    backward_fn()

    def scalar() -> float:
        with no_grad():
            return float(loss_fn())

    errors = {}
    for name, p in named:
        sel = _sample_indices(p.shape, max_entries, rng)
        errors[name] = rel_error(_masked(p.grad, sel), numerical_grad(scalar, p.data, eps, sel))
    return errors


def _assert_small(errors: dict[str, float], tol: float) -> None:
    worst = max(errors, key=errors.get) if errors else None
    if worst is not None and errors[worst] > tol:
        raise AssertionError(f"gradient check failed: {worst} rel. error {errors[worst]:.3g} > {tol:g} "
                             f"(all: { {k: f'{v:.2g}' for k, v in errors.items()} })")


def assert_module_grads(module: Module, *inputs: Any, tol: float = 1e-6, **kwargs: Any) -> dict[str, float]:
    errors = check_module(module, *inputs, **kwargs)
    _assert_small(errors, tol)
    return errors


def assert_loss_grads(loss_fn: Callable[[], float], backward_fn: Callable[[], None], params: Sequence,
                      tol: float = 1e-6, **kwargs: Any) -> dict[str, float]:
    errors = check_loss(loss_fn, backward_fn, params, **kwargs)
    _assert_small(errors, tol)
    return errors
