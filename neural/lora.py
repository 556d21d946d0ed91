"""LoRA (Hu et al. 2021) layers: a frozen Linear plus a trainable low-rank update, and frozen layer variants.

    y = x W0 + b0 + (alpha / r) (x A) B        W0 (in, out) frozen, A (in, r), B (r, out) trainable

A starts Kaiming-uniform as HF peft's `lora_A` (torch's `kaiming_uniform_(a=sqrt(5))` on its (r, in) weight:
U(-1/sqrt(in), 1/sqrt(in))) and B at zeros, so the adapted model starts exactly at the base model.

Frozen layers compute only the gradient of their input: their weights get no gradient and hold no gradient
buffer (a zero-size `grad`, so an accidental `grad += ...` fails loudly instead of silently costing memory).
"""
from __future__ import annotations

import math

import numpy as np

from neural.layers import Embedding, LayerNorm, Linear
from neural.module import Module, Parameter
from neural.positional import LearnedPositional


def kaiming_uniform_a(rng: np.random.Generator, n_in: int, rank: int, dtype=np.float32) -> np.ndarray:
    """peft's lora_A init, in tkit's (in, out) layout: U(-1/sqrt(n_in), 1/sqrt(n_in)) of shape (n_in, rank)."""
    bound = 1.0 / math.sqrt(n_in)
    return rng.uniform(-bound, bound, size=(n_in, rank)).astype(dtype)


def drop_grad(p: Parameter) -> None:
    """A frozen Parameter keeps no gradient buffer."""
    p.grad = np.zeros(0, dtype=p.data.dtype)


class FrozenLinear(Linear):
    """A Linear whose weight and bias are constants: backward returns only the input's gradient."""

    def backward(self, g: np.ndarray) -> np.ndarray:
        self.saved()
        n_in, n_out = self.weight.data.shape
        return (g.reshape(-1, n_out) @ self.weight.data.T).reshape(*g.shape[:-1], n_in)


class LoRALinear(Linear):
    """A frozen Linear plus (alpha / r) x A B; see the module docstring."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        n_in, n_out = self.weight.data.shape
        x2 = x.reshape(-1, n_in)
        xa = x2 @ self.lora_A.data                              # (N, r)
        y = x2 @ self.weight.data
        y += (xa * xa.dtype.type(self.scale)) @ self.lora_B.data
        if self.bias is not None:
            y += self.bias.data
        self.save((x2, xa))
        return y.reshape(*x.shape[:-1], n_out)

    def backward(self, g: np.ndarray) -> np.ndarray:
        x2, xa = self.saved()
        n_in, n_out = self.weight.data.shape
        g2 = g.reshape(-1, n_out)
        s = g2.dtype.type(self.scale)
        self.lora_B.grad += (xa.T @ g2) * s                     # d B = s (x A)^T g
        dxa = (g2 @ self.lora_B.data.T) * s                     # d (x A) = s g B^T
        self.lora_A.grad += x2.T @ dxa
        dx = g2 @ self.weight.data.T
        dx += dxa @ self.lora_A.data.T
        return dx.reshape(*g.shape[:-1], n_in)

    def delta(self) -> np.ndarray:
        """The update this adapter adds to the weight: (alpha / r) A B, (in, out)."""
        return (self.lora_A.data @ self.lora_B.data) * self.lora_A.data.dtype.type(self.scale)


def make_lora(linear: Linear, rank: int, alpha: float, rng: np.random.Generator) -> LoRALinear:
    """`linear` turned into a LoRALinear in place (same weight arrays), with fresh adapters."""
    n_in, n_out = linear.weight.data.shape
    dtype = linear.weight.data.dtype
    linear.__class__ = LoRALinear  # keep the object (its parent and the weight arrays stay as they are)
    linear.lora_A = Parameter(kaiming_uniform_a(rng, n_in, rank, dtype), "lora_A")
    linear.lora_B = Parameter(np.zeros((rank, n_out), dtype=dtype), "lora_B")
    linear.scale = alpha / rank
    return linear  # type: ignore[return-value]


class FrozenLayerNorm(LayerNorm):
    """A LayerNorm with constant gain and bias: backward returns only the input's gradient."""

    def backward(self, g: np.ndarray) -> np.ndarray:
        xhat, rstd, inv = self.saved()
        return self.input_grad(g.reshape(xhat.shape) * self.weight.data, xhat, rstd, inv).reshape(g.shape)


class FrozenEmbedding(Embedding):
    def backward(self, g: np.ndarray) -> None:
        self.saved()
        return None


class FrozenLearnedPositional(LearnedPositional):
    def backward(self, g: np.ndarray) -> None:
        self.saved()
        return None


FROZEN = {Linear: FrozenLinear, LayerNorm: FrozenLayerNorm, Embedding: FrozenEmbedding,
          LearnedPositional: FrozenLearnedPositional}


def freeze(module: Module) -> None:
    """Every plain layer in `module` becomes its frozen variant (in place) and its weights lose their
    gradient buffers; LoRA adapters stay trainable."""
    for _, mod in module.named_modules():
        frozen = FROZEN.get(type(mod))
        if frozen is not None:
            mod.__class__ = frozen
        for name, value in vars(mod).items():
            if isinstance(value, Parameter) and name not in ("lora_A", "lora_B"):
                drop_grad(value)
