"""The gated linear unit (Dauphin et al. 2017): z = [a, g] (..., 2C) -> a σ(g) (..., C), as torch's
`F.glu(z, dim=-1)`."""
from __future__ import annotations

import numpy as np

from neural.module import Module


def glu(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (a σ(g), a, σ(g)); σ through exp (e^-g = inf gives 0, harmlessly)."""
    c = z.shape[-1] // 2
    a, g = z[..., :c], z[..., c:]
    with np.errstate(over="ignore"):
        s = np.exp(-g)
    s += 1
    np.reciprocal(s, out=s)
    return a * s, a, s


class GLU(Module):
    def forward(self, z: np.ndarray) -> np.ndarray:
        out, a, s = glu(z)
        self.save((a, s))
        return out

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, s = self.saved()
        dz = np.empty((*g.shape[:-1], 2 * g.shape[-1]), g.dtype)
        c = g.shape[-1]
        da, dg = dz[..., :c], dz[..., c:]
        np.multiply(g, s, out=da)                         # d a = g σ
        np.multiply(da, a, out=dg)
        dg *= 1 - s                                       # d g = g a σ (1 - σ)
        return dz
