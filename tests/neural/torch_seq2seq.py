"""PyTorch twins of the seq2seq models, written functionally over a dict of tensors named as tkit's
`named_parameters` (weights stored (in, out) as tkit does): the peer for parity tests. The RNN twins run
`torch.nn.GRU` / `torch.nn.LSTM` through `torch.func.functional_call`. Import only after torch is known to be
installed."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

PAD = 0


def params_from(model, dtype=torch.float64) -> dict[str, torch.Tensor]:
    return {n: torch.tensor(p.data, dtype=dtype, requires_grad=True) for n, p in model.named_parameters()}


def _ln(x, w):
    return F.layer_norm(x, (x.shape[-1],), w, None, 1e-5)


def _heads(z, h):
    b, t, c = z.shape
    return z.view(b, t, h, c // h).transpose(1, 2)


def _mha(q, k, v, wo, h, mask=None, causal=False):
    y = F.scaled_dot_product_attention(_heads(q, h), _heads(k, h), _heads(v, h), attn_mask=mask, is_causal=causal)
    b, _, t, _ = y.shape
    return y.transpose(1, 2).reshape(b, t, -1) @ wo


def _mlp(x, p, pre):
    return F.gelu(x @ p[f"{pre}.c_fc.weight"], approximate="tanh") @ p[f"{pre}.c_proj.weight"]


def _loss(logits, tout):
    keep = tout.reshape(-1) != PAD
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1])[keep], tout.reshape(-1)[keep])


def transformer_loss(p: dict, n_layer: int, n_head: int, src: np.ndarray, tgt: np.ndarray) -> torch.Tensor:
    src, tgt = torch.from_numpy(src), torch.from_numpy(tgt)
    tin, tout = tgt[:, :-1], tgt[:, 1:]
    keep = (src != PAD)[:, None, None, :]                                # True = attend
    x = p["src_emb.weight"][src] + p["src_pos.weight"][: src.shape[1]]
    c = x.shape[-1]
    for i in range(n_layer):
        pre = f"encoder.{i}"
        hn = _ln(x, p[f"{pre}.ln_1.weight"])
        k, v = (hn @ p[f"{pre}.attn.kv_proj.weight"]).split(c, -1)
        x = x + _mha(hn @ p[f"{pre}.attn.q_proj.weight"], k, v, p[f"{pre}.attn.c_proj.weight"], n_head, keep)
        x = x + _mlp(_ln(x, p[f"{pre}.ln_2.weight"]), p, f"{pre}.mlp")
    mem = _ln(x, p["ln_enc.weight"])
    y = p["tgt_emb.weight"][tin] + p["tgt_pos.weight"][: tin.shape[1]]
    for i in range(n_layer):
        pre = f"decoder.{i}"
        q, k, v = (_ln(y, p[f"{pre}.ln_1.weight"]) @ p[f"{pre}.self_attn.c_attn.weight"]).split(c, -1)
        y = y + _mha(q, k, v, p[f"{pre}.self_attn.c_proj.weight"], n_head, causal=True)
        hn = _ln(y, p[f"{pre}.ln_2.weight"])
        k, v = (mem @ p[f"{pre}.cross.kv_proj.weight"]).split(c, -1)
        y = y + _mha(hn @ p[f"{pre}.cross.q_proj.weight"], k, v, p[f"{pre}.cross.c_proj.weight"], n_head, keep)
        y = y + _mlp(_ln(y, p[f"{pre}.ln_3.weight"]), p, f"{pre}.mlp")
    logits = _ln(y, p["ln_f.weight"]) @ p["tgt_emb.weight"].T
    return _loss(logits, tout)


def _rnn(kind: str, p: dict, pre: str, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """One torch.nn.GRU/LSTM layer with tkit's weights (w_ih = weight_ih_l0^T); x (T, B, In)."""
    n_in, gh = p[f"{pre}.w_ih"].shape
    h = p[f"{pre}.w_hh"].shape[0]
    module = (nn.GRU if kind == "gru" else nn.LSTM)(n_in, h).double()
    weights = {"weight_ih_l0": p[f"{pre}.w_ih"].T, "weight_hh_l0": p[f"{pre}.w_hh"].T, "bias_ih_l0": p[f"{pre}.b"],
               "bias_hh_l0": p[f"{pre}.b_hh"] if kind == "gru" else torch.zeros(gh, dtype=torch.float64)}
    state = h0[None] if kind == "gru" else (h0[None], torch.zeros_like(h0)[None])
    return torch.func.functional_call(module, weights, (x, state))[0]


def rnn_loss(p: dict, kind: str, n_layer: int, src: np.ndarray, tgt: np.ndarray) -> torch.Tensor:
    src, tgt = torch.from_numpy(src), torch.from_numpy(tgt)
    tin, tout = tgt[:, :-1], tgt[:, 1:]
    b = src.shape[0]
    last = (src != PAD).sum(1) - 1
    h = p["encoder.0.w_hh"].shape[0]
    x = p["src_emb.weight"][src.T]
    finals = []
    for i in range(n_layer):
        x = _rnn(kind, p, f"encoder.{i}", x, torch.zeros(b, h, dtype=torch.float64))
        finals.append(x[last, torch.arange(b)])
    mem = x.transpose(0, 1)                                              # (B, S, H)
    y = p["tgt_emb.weight"][tin.T]
    for i in range(n_layer):
        y = _rnn(kind, p, f"decoder.{i}", y, finals[i])
    s = y.transpose(0, 1)                                                # (B, T, H)
    u = torch.tanh((s @ p["attn.q_proj.weight"])[:, :, None] + (mem @ p["attn.k_proj.weight"] + p["attn.k_proj.bias"])[:, None])
    e = (u @ p["attn.v"]).masked_fill((src == PAD)[:, None, :], float("-inf"))
    ctx = torch.softmax(e, -1) @ mem
    o = torch.tanh(torch.cat([s, ctx], -1) @ p["out.weight"] + p["out.bias"])
    return _loss(o @ p["head.weight"] + p["head.bias"], tout)
