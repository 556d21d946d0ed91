"""Basic layers: Embedding, Linear, LayerNorm, activations, Dropout, fused softmax + cross-entropy.

Each follows `neural.module`'s protocol: forward saves what backward needs on the per-call cache stack,
backward pops it, accumulates parameter gradients with `+=` and returns the gradient of the input.
Shapes: leading dimensions are free, `(..., C)`; comments use (B, T, C).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neural.module import Module, Parameter

INIT_STD = 0.02  # GPT-2 / nanoGPT: N(0, 0.02) for Linear and Embedding weights


def normal(rng: np.random.Generator, shape: tuple[int, ...], std: float, dtype=np.float32) -> np.ndarray:
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(dtype)


# ---- pure functions ------------------------------------------------------------------------------------

def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x), stable (the row max is subtracted first)."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def target_logprobs(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log softmax(logits)[i, targets[i]] for logits (N, V), as float64 (N,): only the targets' entries,
    without the (N, V) float64 log-softmax."""
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1, dtype=np.float64))
    return z[np.arange(len(targets)), targets].astype(np.float64) - lse


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          overwrite: bool = False) -> tuple[float, np.ndarray]:
    """(mean cross-entropy in nats, probabilities) for logits (N, V) and int targets (N,).

    The probabilities are what the backward pass needs: d loss / d logits = (p - onehot(y)) / N.
    With `overwrite`, the probabilities are computed in the logits' own memory (saves a (N, V) copy).
    """
    n = logits.shape[0]
    p = logits if overwrite else logits.copy()
    p -= p.max(axis=1, keepdims=True)
    picked = p[np.arange(n), targets].astype(np.float64)  # shifted logit of the target
    np.exp(p, out=p)
    sums = p.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(sums[:, 0].astype(np.float64)) - picked))
    p /= sums
    return loss, p


def softmax_cross_entropy_backward(probs: np.ndarray, targets: np.ndarray, grad: float = 1.0) -> np.ndarray:
    """(p - onehot(y)) * grad / N, computed in place in `probs`."""
    n = probs.shape[0]
    probs[np.arange(n), targets] -= 1
    probs *= probs.dtype.type(grad / n)
    return probs


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (GPT-2, picoGPT): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _gelu(x)[0]


_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def _gelu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gelu(x), s) with s = 0.5 (1 + tanh(u)) = sigmoid(2u), u = k (x + a x^3).

    sigmoid(2u) = 1 / (1 + exp(-2u)) is the same function as the tanh form, and NumPy's exp is about twice
    as fast as its tanh on float32."""
    dt = x.dtype.type
    s = x * x
    s *= dt(-2 * _GELU_K * _GELU_A)
    s -= dt(2 * _GELU_K)
    s *= x                          # -2u
    with np.errstate(over="ignore"):  # exp(-2u) = inf for very negative x: s -> 0, as it should
        np.exp(s, out=s)
    s += dt(1)
    np.reciprocal(s, out=s)
    return x * s, s


def _gelu_backward(x: np.ndarray, s: np.ndarray, g: np.ndarray) -> np.ndarray:
    """d/dx x s(x) = s + x s (1 - s) 2u'(x) = s (1 + x (1 - s) 2k (1 + 3a x^2))."""
    dt = x.dtype.type
    d = x * x
    d *= dt(6 * _GELU_K * _GELU_A)
    d += dt(2 * _GELU_K)
    d *= x
    d *= dt(1) - s
    d += dt(1)
    d *= s
    d *= g
    return d


# ---- parameterised layers -------------------------------------------------------------------------------

class Linear(Module):
    """y = x @ W + b with W stored (in, out) so the forward matmul needs no transpose."""

    def __init__(self, n_in: int, n_out: int, bias: bool = True, rng: np.random.Generator | None = None,
                 std: float = INIT_STD, dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.weight = Parameter(normal(rng, (n_in, n_out), std, dtype), "weight")
        self.bias = Parameter(np.zeros(n_out, dtype=dtype), "bias") if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save(x)
        n_in, n_out = self.weight.data.shape
        y = x.reshape(-1, n_in) @ self.weight.data  # one 2-D GEMM is faster than a stack of them
        if self.bias is not None:
            y += self.bias.data
        return y.reshape(*x.shape[:-1], n_out)

    def backward(self, g: np.ndarray) -> np.ndarray:
        x = self.saved()
        n_in, n_out = self.weight.data.shape
        g2 = g.reshape(-1, n_out)
        self.weight.grad += x.reshape(-1, n_in).T @ g2
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)
        return (g2 @ self.weight.data.T).reshape(*g.shape[:-1], n_in)


class Embedding(Module):
    """Rows of a (num, dim) table looked up by int ids; backward scatter-adds (repeated ids accumulate)."""

    def __init__(self, num: int, dim: int, rng: np.random.Generator | None = None, std: float = INIT_STD,
                 dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.weight = Parameter(normal(rng, (num, dim), std, dtype), "weight")

    def forward(self, ids: np.ndarray) -> np.ndarray:
        self.save(ids)
        return self.weight.data[ids]

    def backward(self, g: np.ndarray) -> None:
        ids = self.saved()
        embedding_backward(self.weight.grad, ids, g)
        return None


def embedding_backward(dweight: np.ndarray, ids: np.ndarray, g: np.ndarray) -> None:
    """dweight[ids[i]] += g[i] with duplicates summed (`dW[ids] += g` would drop them).

    Sort-and-segment-sum: rows of g are grouped by id and each group summed with `np.add.reduceat`, then
    each distinct row of dweight is updated once. Same result as `np.add.at(dweight, ids, g)`, without its
    slow per-element loop."""
    flat = ids.reshape(-1)
    if flat.size == 0:
        return
    rows = g.reshape(-1, dweight.shape[1])
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    dweight[sorted_ids[starts]] += np.add.reduceat(rows[order], starts, axis=0)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (eps 1e-5 as nanoGPT/torch)."""

    def __init__(self, dim: int, bias: bool = True, eps: float = 1e-5, dtype=np.float32) -> None:
        super().__init__()
        self.weight = Parameter(np.ones(dim, dtype=dtype), "weight", decay=False)
        self.bias = Parameter(np.zeros(dim, dtype=dtype), "bias", decay=False) if bias else None
        self.eps = eps

    def forward(self, x: np.ndarray) -> np.ndarray:
        c = x.shape[-1]
        x2 = x.reshape(-1, c)                           # (N, C)
        inv = np.full(c, 1.0 / c, dtype=x.dtype)
        # Row means and sums of squares as a GEMV and an einsum: NumPy's mean over a short last axis is
        # several times slower, and a LayerNorm of a small model is mostly such reductions.
        xc = x2 - (x2 @ inv)[:, None]
        var = np.einsum("ij,ij->i", xc, xc)             # (N,) C * variance
        var *= x.dtype.type(1.0 / c)
        var += x.dtype.type(self.eps)
        rstd = np.reciprocal(np.sqrt(var, out=var), out=var)
        xc *= rstd[:, None]                             # xc is now x-hat
        self.save((xc, rstd, inv))
        y = xc * self.weight.data
        if self.bias is not None:
            y += self.bias.data
        return y.reshape(x.shape)

    def backward(self, g: np.ndarray) -> np.ndarray:
        xhat, rstd, inv = self.saved()
        g2 = g.reshape(xhat.shape)
        self.weight.grad += np.einsum("ij,ij->j", g2, xhat)
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)
        return self.input_grad(g2 * self.weight.data, xhat, rstd, inv).reshape(g.shape)

    @staticmethod
    def input_grad(dxhat: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, inv: np.ndarray) -> np.ndarray:
        """dx from dxhat (N, C), in place: rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        (llm.c layernorm.md)."""
        m1 = dxhat @ inv
        m2 = np.einsum("ij,ij->i", dxhat, xhat)
        m2 *= inv[0]
        dxhat -= m1[:, None]
        dxhat -= xhat * m2[:, None]
        dxhat *= rstd[:, None]
        return dxhat


# ---- activations ------------------------------------------------------------------------------------------

class Tanh(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.save(y)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        y = self.saved()
        return g * (1 - y * y)


class Sigmoid(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = sigmoid(x)
        self.save(y)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        y = self.saved()
        return g * y * (1 - y)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow warnings for large |x| (via tanh)."""
    half = x.dtype.type(0.5) if isinstance(x, np.ndarray) else 0.5
    return half * (np.tanh(half * x) + 1)


class ReLU(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        mask = x > 0
        self.save(mask)
        return x * mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self.saved()


class GELU(Module):
    """GELU, tanh form (NumPy has no erf); matches torch `nn.GELU(approximate="tanh")`."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, t = _gelu(x)
        self.save((x, t))
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        x, t = self.saved()
        return _gelu_backward(x, t, g)


class Dropout(Module):
    """Inverted dropout: zero with probability p and scale by 1/(1-p) while training; identity in eval."""

    def __init__(self, p: float = 0.0, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("dropout probability must be in [0, 1)")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self.save(None)
            return x
        mask = (self.rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - self.p))
        self.save(mask)
        return x * mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        mask = self.saved()
        return g if mask is None else g * mask


class SoftmaxCrossEntropy(Module):
    """Fused softmax + mean cross-entropy: forward(logits (N, V), targets (N,)) -> loss (float).

    backward(grad=1.0) returns d loss / d logits = (p - onehot) * grad / N. With `overwrite=True` the logits
    array is reused for the probabilities (faster; only when the caller no longer needs the logits)."""

    def __init__(self, overwrite: bool = False) -> None:
        super().__init__()
        self.overwrite = overwrite

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        v = logits.shape[-1]
        loss, probs = softmax_cross_entropy(logits.reshape(-1, v), targets.reshape(-1), overwrite=self.overwrite)
        self.save((probs, targets.reshape(-1), logits.shape))
        return loss

    def backward(self, grad: float = 1.0) -> np.ndarray:
        probs, targets, shape = self.saved()
        return softmax_cross_entropy_backward(probs, targets, float(grad)).reshape(shape)


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse."""

    def __init__(self, layers: Sequence[Module]) -> None:
        super().__init__()
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, g: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            g = layer.backward(g)
        return g
