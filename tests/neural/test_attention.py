"""Attention and positional encodings: float64 gradient checks, the causal mask, the sinusoid table."""
import numpy as np
import pytest

from neural.attention import CausalSelfAttention, causal_mask
from neural.gradcheck import assert_module_grads
from neural.module import no_grad
from neural.positional import LearnedPositional, SinusoidalPositional, sinusoid_table


def make_attention(bias, rng, dropout=0.0):
    att = CausalSelfAttention(8, 2, 5, bias=bias, dropout=dropout, rng=rng).to(np.float64)
    for p in att.parameters():
        p.data[:] = rng.standard_normal(p.shape) * 0.4
    return att


@pytest.mark.parametrize("bias", [False, True])
def test_attention_grads_with_mask(bias):
    rng = np.random.default_rng(0)
    att = make_attention(bias, rng)
    assert_module_grads(att, rng.standard_normal((2, 4, 8)))  # T=4 < block 5: the mask is sliced


def test_attention_grads_with_dropout_fixed_mask():
    rng = np.random.default_rng(1)
    att = make_attention(False, rng, dropout=0.3)

    def reseed():
        att.attn_dropout.rng = att.resid_dropout.rng = np.random.default_rng(5)

    assert_module_grads(att, rng.standard_normal((2, 3, 8)), before_forward=reseed)


def test_attention_is_causal():
    """Changing a later position never changes an earlier output."""
    rng = np.random.default_rng(2)
    att = make_attention(True, rng)
    x = rng.standard_normal((1, 5, 8))
    with no_grad():
        y1 = att(x)
        x2 = x.copy()
        x2[0, 3:] += 10.0
        y2 = att(x2)
    np.testing.assert_allclose(y1[0, :3], y2[0, :3], rtol=1e-12)
    assert not np.allclose(y1[0, 3:], y2[0, 3:])


def test_attention_matches_per_head_loop():
    """The batched (B, H, T, hs) computation equals a plain loop over heads and positions."""
    rng = np.random.default_rng(3)
    att = make_attention(True, rng)
    x = rng.standard_normal((2, 4, 8))
    with no_grad():
        y = att(x)
    qkv = x @ att.c_attn.weight.data + att.c_attn.bias.data
    q, k, v = np.split(qkv, 3, axis=-1)
    heads = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        out = np.zeros((2, 4, 4))
        for i in range(4):
            s = q[:, i, sl][:, None, :] @ k[:, : i + 1, sl].transpose(0, 2, 1) / 2.0
            w = np.exp(s - s.max(-1, keepdims=True))
            w /= w.sum(-1, keepdims=True)
            out[:, i] = (w @ v[:, : i + 1, sl])[:, 0]
        heads.append(out)
    expected = np.concatenate(heads, axis=-1) @ att.c_proj.weight.data + att.c_proj.bias.data
    np.testing.assert_allclose(y, expected, rtol=1e-10)


def test_kv_cached_attention_equals_full():
    rng = np.random.default_rng(4)
    att = make_attention(True, rng)
    x = rng.standard_normal((1, 5, 8))
    with no_grad():
        full = att(x)
        y1, past = att.forward_cached(x[:, :3], None)
        y2, past2 = att.forward_cached(x[:, 3:4], past)
        y3, _ = att.forward_cached(x[:, 4:], past2)
    np.testing.assert_allclose(np.concatenate([y1, y2, y3], axis=1), full, rtol=1e-10, atol=1e-12)
    assert past[0].shape == (1, 2, 3, 4)  # the old cache is untouched (beam search shares it)


def test_causal_mask():
    m = causal_mask(3)
    assert m.dtype == np.float32
    assert np.all(m[np.tril_indices(3)] == 0) and np.all(np.isneginf(m[np.triu_indices(3, 1)]))


def test_learned_positional_grads():
    from neural.module import Module

    pos = LearnedPositional(6, 4, np.random.default_rng(0)).to(np.float64)

    class AddPos(Module):
        def __init__(self):
            super().__init__()
            self.pos = pos

        def forward(self, x):
            return x * self.pos(1, x.shape[1])  # a product so the positional gradient depends on x

        def backward(self, g):
            x = self.saved_x
            self.pos.backward((g * x).sum(axis=0))
            return g * self.pos.weight.data[1:1 + x.shape[1]]

        def __call__(self, x):
            self.saved_x = x
            return self.forward(x)

    assert_module_grads(AddPos(), np.random.default_rng(1).standard_normal((2, 3, 4)))
    assert np.all(pos.weight.grad[[0, 4, 5]] == 0)  # only positions 1..3 were used


def test_sinusoidal_table():
    t = sinusoid_table(50, 6)
    np.testing.assert_allclose(t[:, 0], np.sin(np.arange(50)))
    np.testing.assert_allclose(t[:, 1], np.cos(np.arange(50)))
    np.testing.assert_allclose(t[7, 4], np.sin(7 / 10000 ** (4 / 6)))
    sp = SinusoidalPositional(50, 6)
    assert sp.parameters() == [] and sp(3, 2).shape == (2, 6) and sp(0, 1).dtype == np.float32
