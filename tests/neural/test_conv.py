"""The causal convolution and the GLU: the im2col kernels against their loop twins (`neural.conv_reference`)
on generated shapes, kernels and dilations; float64 gradient checks of each module; causality; the single
decoding step against the window."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural import conv_reference as ref
from neural.cnn_lm import ConvBlock
from neural.conv import CausalConv1d
from neural.glu import GLU
from neural.gradcheck import assert_module_grads


def _conv(c_in, c_out, k, d, seed=0):
    conv = CausalConv1d(c_in, c_out, k, d, np.random.default_rng(seed)).to(np.float64)
    return conv


def _ref_weight(conv, c_in):
    """(k·C_in, C_out) tap-major -> the twin's (k, C_in, C_out)."""
    return conv.weight.data.reshape(conv.kernel, c_in, -1)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 12), c_in=st.integers(1, 5), c_out=st.integers(1, 6),
       k=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_im2col_conv_matches_the_loop_twin(B, T, c_in, c_out, k, d, seed):
    rng = np.random.default_rng(seed)
    conv = _conv(c_in, c_out, k, d, seed)
    x, g = rng.standard_normal((B, T, c_in)), rng.standard_normal((B, T, c_out))
    conv.zero_grad()
    y = conv(x)
    dx = conv.backward(g)
    w = _ref_weight(conv, c_in)
    np.testing.assert_allclose(y, ref.causal_conv_forward(x, w, conv.bias.data, d), rtol=1e-12, atol=1e-12)
    grads = ref.causal_conv_backward(g, x, w, d)
    np.testing.assert_allclose(dx, grads["x"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.weight.grad, grads["w"].reshape(conv.weight.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.bias.grad, grads["b"], rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 12), k=st.integers(1, 4), d=st.integers(1, 4), data=st.data())
def test_position_t_never_sees_a_later_input(T, k, d, data):
    """Perturbing x[s] changes y[t] for t >= s only, and y[s + (k-1-j)d] through each tap j."""
    conv = _conv(2, 3, k, d)
    x = np.random.default_rng(0).standard_normal((1, T, 2))
    s = data.draw(st.integers(0, T - 1))
    x2 = x.copy()
    x2[0, s] += 1.0
    changed = np.abs(conv(x2) - conv(x)).max(axis=2)[0] > 1e-12
    expected = np.zeros(T, bool)
    for j in range(k):
        if s + j * d < T:
            expected[s + j * d] = True
    np.testing.assert_array_equal(changed, expected)


@pytest.mark.parametrize("k,d", [(1, 1), (2, 1), (3, 2), (4, 3)])
def test_conv_gradcheck_float64(k, d):
    rng = np.random.default_rng(k + d)
    assert_module_grads(_conv(3, 4, k, d, seed=k), rng.standard_normal((2, 7, 3)), tol=1e-8)


def test_glu_matches_its_twin_and_gradcheck():
    rng = np.random.default_rng(1)
    z, g = rng.standard_normal((2, 5, 6)) * 3, rng.standard_normal((2, 5, 3))
    glu = GLU()
    np.testing.assert_allclose(glu(z), ref.glu_forward(z), rtol=1e-12)
    np.testing.assert_allclose(glu.backward(g), ref.glu_backward(g, z), rtol=1e-12, atol=1e-14)
    assert_module_grads(GLU(), z, tol=1e-8)


def test_glu_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = GLU()(np.array([[1.0, 2.0, -1e4, 1e4]]))
    np.testing.assert_allclose(out, [[0.0, 2.0]])


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_block_gradcheck_float64(dropout):
    rng = np.random.default_rng(2)
    block = ConvBlock(4, 3, 2, dropout, rng, np.random.default_rng(7))
    block.to(np.float64)
    for p in block.parameters():
        p.data += rng.uniform(-0.3, 0.3, p.shape)

    def reseed():  # the same dropout mask for every evaluation
        block.drop.rng = np.random.default_rng(7)

    assert_module_grads(block, rng.standard_normal((2, 6, 4)), tol=1e-7, before_forward=reseed)


@pytest.mark.parametrize("k,d", [(1, 1), (3, 1), (2, 4)])
def test_decoding_step_is_the_window_output(k, d):
    conv = _conv(3, 4, k, d)
    x = np.random.default_rng(3).standard_normal((1, 9, 3))
    y = conv(x)
    for t in range(9):
        window = np.zeros((conv.pad + 1, 3))
        lo = max(0, t - conv.pad)
        window[conv.pad + 1 - (t + 1 - lo):] = x[0, lo:t + 1]
        np.testing.assert_allclose(conv.step(window), y[0, t], rtol=1e-12)
