"""Module-based reverse-mode autodiff: `Parameter`, `Module`, and the per-call cache stack.

The convention every layer in `neural/` follows (RNN cells included):

* A `Module` holds `Parameter`s (and sub-modules) as attributes, or inside lists/tuples of them; they are
  found recursively, so `parameters()` / `named_parameters()` need no registration calls. A Parameter
  reachable twice (tied weights, e.g. `wte` and `lm_head`) is listed once.
* `forward(*inputs)` computes the output and, when it needs something for the backward pass, stores it with
  `self.save(cache)`. Each call pushes ONE cache on the module's own stack (modules that need nothing for
  backward push nothing and pop nothing).
* `backward(grad_out)` pops the most recent cache with `self.saved()` and returns the gradient with respect
  to the forward inputs (a tuple when there were several inputs). Calling backward in the exact reverse
  order of the forward calls (LIFO) replays the tape: a module called T times in one forward pass (an RNN
  cell per time step, a tied weight) is simply back-propagated T times, last call first.
* Gradients ACCUMULATE: `p.grad += ...`, never `=`. Call `zero_grad()` before each forward/backward pass.
* Inside `with no_grad():` `save` stores nothing, so inference (validation, sampling) leaves no caches
  behind. `clear_caches()` drops leftovers (e.g. after an exception between forward and backward).
* `train()` / `eval()` set the `training` flag recursively (Dropout is the identity in eval mode).
* `to(dtype)` casts every parameter (float32 for training, float64 for gradient checks).

Caches must hold arrays that later code does not modify in place (a classic pitfall of hand-written
backprop): a module that saves its input must not see that same array changed by a later `+=`.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

# How many `no_grad()` blocks are open, in any thread: a depth, not a saved flag, because threads that score
# in parallel enter and leave their blocks interleaved (a saved "previous" flag would restore a stale value).
_NO_GRAD = {"depth": 0}
_NO_GRAD_LOCK = threading.Lock()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Forward passes inside this block keep no caches (inference only: backward is impossible)."""
    with _NO_GRAD_LOCK:
        _NO_GRAD["depth"] += 1
    try:
        yield
    finally:
        with _NO_GRAD_LOCK:
            _NO_GRAD["depth"] -= 1


def grad_enabled() -> bool:
    return _NO_GRAD["depth"] == 0


class Parameter:
    """A trainable array and its accumulated gradient (same shape and dtype).

    `decay` says whether AdamW's weight decay applies; by default 2-D (and higher) weights decay and
    biases, gains and other 1-D vectors do not (nanoGPT's `configure_optimizers`).
    """

    __slots__ = ("data", "grad", "name", "decay")

    def __init__(self, data: np.ndarray, name: str = "", decay: bool | None = None) -> None:
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)
        self.name = name
        self.decay = bool(self.data.ndim >= 2) if decay is None else decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def to(self, dtype: np.dtype | type) -> None:
        self.data = self.data.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: parameters and sub-modules as attributes, a cache stack, forward/backward."""

    training: bool = True

    def __init__(self) -> None:
        self._caches: list[Any] = []
        self.training = True

    # ---- the autodiff protocol ------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_out: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    def save(self, cache: Any) -> None:
        """Push what backward will need (a no-op under `no_grad()`)."""
        if grad_enabled():
            self._cache_stack().append(cache)

    def saved(self) -> Any:
        """Pop the cache of the most recent forward call not yet back-propagated."""
        stack = self._cache_stack()
        if not stack:
            raise RuntimeError(f"{type(self).__name__}.backward called without a matching forward "
                               "(or the forward ran under no_grad)")
        return stack.pop()

    def _cache_stack(self) -> list[Any]:
        # Subclasses may forget super().__init__(); create the stack lazily.
        stack = self.__dict__.get("_caches")
        if stack is None:
            stack = self.__dict__["_caches"] = []
        return stack

    # ---- traversal --------------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every sub-module, each once, depth first."""
        seen: set[int] = set()

        def walk(mod: Module, name: str) -> Iterator[tuple[str, Module]]:
            if id(mod) in seen:
                return
            seen.add(id(mod))
            yield name, mod
            for key, value in vars(mod).items():
                if key.startswith("_"):
                    continue
                child = f"{name}.{key}" if name else key
                if isinstance(value, Module):
                    yield from walk(value, child)
                elif isinstance(value, (list, tuple)):
                    for i, item in enumerate(value):
                        if isinstance(item, Module):
                            yield from walk(item, f"{child}.{i}")

        yield from walk(self, prefix)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter), each Parameter once even if tied (first name wins)."""
        seen: set[int] = set()
        for mod_name, mod in self.named_modules():
            for key, value in vars(mod).items():
                if key.startswith("_"):
                    continue
                items: list[tuple[str, Any]]
                if isinstance(value, Parameter):
                    items = [(key, value)]
                elif isinstance(value, (list, tuple)):
                    items = [(f"{key}.{i}", v) for i, v in enumerate(value) if isinstance(v, Parameter)]
                else:
                    continue
                for pname, param in items:
                    if id(param) not in seen:
                        seen.add(id(param))
                        yield (f"{mod_name}.{pname}" if mod_name else pname), param

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ---- state ------------------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def clear_caches(self) -> None:
        for _, mod in self.named_modules():
            mod._cache_stack().clear()

    def train(self, mode: bool = True) -> Module:
        for _, mod in self.named_modules():
            mod.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype: np.dtype | type) -> Module:
        """Cast every parameter (and its grad) to `dtype`; modules keeping other float arrays override
        `_cast_buffers`."""
        for p in self.parameters():
            p.to(dtype)
        for _, mod in self.named_modules():
            mod._cast_buffers(np.dtype(dtype))
        return self

    def _cast_buffers(self, dtype: np.dtype) -> None:
        """Hook for non-trainable float arrays (e.g. a sinusoidal table)."""

    @property
    def dtype(self) -> np.dtype:
        params = self.parameters()
        return params[0].data.dtype if params else np.dtype(np.float32)
