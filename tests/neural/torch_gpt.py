"""nanoGPT's model in PyTorch (GELU in tanh form), built from a tkit TransformerLM's weights: the peer for
parity tests and step-time benchmarks. Import only after `pytest.importorskip("torch")`."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class _Attn(nn.Module):
    def __init__(self, c, h, bias):
        super().__init__()
        self.c_attn = nn.Linear(c, 3 * c, bias=bias)
        self.c_proj = nn.Linear(c, c, bias=bias)
        self.h = h

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class _Block(nn.Module):
    def __init__(self, c, h, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c, bias=bias)
        self.attn = _Attn(c, h, bias)
        self.ln_2 = nn.LayerNorm(c, bias=bias)
        self.c_fc = nn.Linear(c, 4 * c, bias=bias)
        self.c_proj = nn.Linear(4 * c, c, bias=bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(_Block(cfg.n_embd, cfg.n_head, cfg.bias) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for blk in self.blocks:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.T  # tied lm_head
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def torch_name(name: str) -> str:
    """tkit parameter name -> TorchGPT parameter name."""
    return name.replace("mlp.c_fc", "c_fc").replace("mlp.c_proj", "c_proj")


def from_tkit(model, dtype=torch.float64) -> TorchGPT:
    """A TorchGPT with the same weights (Linear weights transposed: tkit stores (in, out))."""
    tm = TorchGPT(model.cfg).to(dtype)
    params = dict(tm.named_parameters())
    with torch.no_grad():
        for name, p in model.named_parameters():
            arr = p.data.T if _is_linear(name) else p.data
            params[torch_name(name)].copy_(torch.from_numpy(np.ascontiguousarray(arr)).to(dtype))
    return tm


def _is_linear(name: str) -> bool:
    return name.endswith(".weight") and ("c_attn" in name or "c_proj" in name or "c_fc" in name)


def tkit_grad_layout(name: str, grad: np.ndarray) -> np.ndarray:
    return grad.T if _is_linear(name) else grad


def init_like_nanogpt(tm: TorchGPT, n_layer: int) -> None:
    """Only for the step-time benchmark (the weights do not matter there)."""
    for name, p in tm.named_parameters():
        if p.dim() >= 2:
            std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02
            nn.init.normal_(p, 0.0, std)
