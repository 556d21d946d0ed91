"""Finite-difference gradient checks (float64) of the seq2seq modules and whole models, on padded batches of
generated lengths, and PyTorch parity (same weights, same batch: loss and every gradient at 1e-5 relative)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.additive_attention import AdditiveAttention
from neural.cross_attention import Attention, key_padding_mask
from neural.gradcheck import assert_loss_grads, assert_module_grads
from neural.module import Module
from tests.neural.seq2seq_tiny import padded_batch, tiny_seq2seq
from tests.peers import require_peer

ARCHS = ["transformer", "gru", "lstm"]


class Masked(Module):
    """The attention with a fixed mask (the mask is no input to differentiate)."""

    def __init__(self, inner, mask):
        super().__init__()
        self.inner, self.mask = inner, mask

    def forward(self, x, m):
        return self.inner(x, m, self.mask)

    def backward(self, g):
        return self.inner.backward(g)


def _mask_of(rng, b, tk):
    ids = np.ones((b, tk), dtype=np.int64)
    for i in range(b):
        ids[i, rng.integers(1, tk + 1):] = 0
    return ids


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10**6), b=st.integers(1, 3), tq=st.integers(1, 4), tk=st.integers(1, 5))
def test_cross_attention_gradcheck(seed, b, tq, tk):
    rng = np.random.default_rng(seed)
    attn = Attention(8, 2, bias=True, rng=rng).to(np.float64)
    mask = key_padding_mask(_mask_of(rng, b, tk), 0, np.float64)
    assert_module_grads(Masked(attn, mask), rng.standard_normal((b, tq, 8)), rng.standard_normal((b, tk, 8)))


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10**6), b=st.integers(1, 3), tq=st.integers(1, 4), tk=st.integers(1, 5))
def test_additive_attention_gradcheck(seed, b, tq, tk):
    rng = np.random.default_rng(seed)
    attn = AdditiveAttention(5, 4, 6, rng=rng).to(np.float64)
    mask = key_padding_mask(_mask_of(rng, b, tk), 0, np.float64)[:, 0]
    assert_module_grads(Masked(attn, mask), rng.standard_normal((b, tq, 5)), rng.standard_normal((b, tk, 4)))


@pytest.mark.parametrize("arch", ARCHS)
@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 10**6), batch=st.integers(1, 4))
def test_whole_model_gradcheck(arch, seed, batch):
    model = tiny_seq2seq(arch, seed=seed % 7)
    src, tgt = padded_batch(np.random.default_rng(seed), batch)

    def backward():
        model.zero_grad()
        model.loss(src, tgt)
        model.backward()

    assert_loss_grads(lambda: model.loss(src, tgt), backward, list(model.named_parameters()), max_entries=6,
                      tol=1e-5)


def _torch():
    torch = require_peer("torch")
    from tests.neural import torch_seq2seq
    return torch, torch_seq2seq


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_grads_match_torch(arch, seed):
    torch, ts = _torch()
    model = tiny_seq2seq(arch, seed=seed)
    src, tgt = padded_batch(np.random.default_rng(seed), 5)
    p = ts.params_from(model)
    if arch == "transformer":
        t_loss = ts.transformer_loss(p, 2, 2, src, tgt)
    else:
        t_loss = ts.rnn_loss(p, arch, 2, src, tgt)
    t_loss.backward()
    model.zero_grad()
    loss = model.loss(src, tgt)
    model.backward()
    assert abs(loss - t_loss.item()) <= 1e-10 * abs(loss)
    for name, param in model.named_parameters():
        expected = p[name].grad.numpy()
        err = np.max(np.abs(param.grad - expected)) / max(np.max(np.abs(expected)), 1e-12)
        assert err < 1e-5, name
