"""Float64 finite-difference checks for every basic layer, plus behaviour the checks cannot see."""
import numpy as np
import pytest

from neural.gradcheck import assert_module_grads, rel_error
from neural.layers import (
    GELU,
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    gelu_tanh,
    log_softmax,
    softmax_cross_entropy,
)
from neural.module import no_grad


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def x64(rng, *shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_grads(rng, bias):
    lin = Linear(4, 5, bias=bias, rng=rng, std=0.5).to(np.float64)
    errs = assert_module_grads(lin, x64(rng, 2, 3, 4))
    assert set(errs) == {"input0", "weight"} | ({"bias"} if bias else set())


def test_embedding_grads_with_repeated_ids(rng):
    emb = Embedding(6, 4, rng=rng).to(np.float64)
    ids = np.array([[1, 1, 3], [1, 5, 3]])  # repeats must accumulate
    assert_module_grads(emb, ids)
    # direct check: the row of id 1 gets the sum of three upstream gradients
    emb.zero_grad()
    emb(ids)
    g = np.ones((2, 3, 4))
    emb.backward(g)
    np.testing.assert_allclose(emb.weight.grad[1], 3.0)
    np.testing.assert_allclose(emb.weight.grad[0], 0.0)


@pytest.mark.parametrize("bias", [True, False])
def test_layernorm_grads(rng, bias):
    ln = LayerNorm(5, bias=bias).to(np.float64)
    ln.weight.data[:] = rng.standard_normal(5)
    if bias:
        ln.bias.data[:] = rng.standard_normal(5)
    assert_module_grads(ln, x64(rng, 2, 3, 5))


def test_layernorm_normalises(rng):
    y = LayerNorm(8)(rng.standard_normal((4, 8)).astype(np.float32) * 3 + 2)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1, atol=1e-3)
    assert y.dtype == np.float32


@pytest.mark.parametrize("act", [Tanh, Sigmoid, GELU])
def test_smooth_activation_grads(rng, act):
    assert_module_grads(act(), x64(rng, 2, 3, 4) * 2)


def test_relu_grads_away_from_kink(rng):
    x = x64(rng, 3, 4)
    x[np.abs(x) < 0.1] = 0.5  # finite differences are wrong within eps of 0
    assert_module_grads(ReLU(), x)


def test_gelu_tanh_values():
    # reference values of 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    k = np.sqrt(2 / np.pi)
    expected = 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gelu_tanh(x), expected, rtol=1e-12)
    assert gelu_tanh(x.astype(np.float32)).dtype == np.float32


def test_dropout_fixed_mask_grads(rng):
    drop = Dropout(0.4)
    x = x64(rng, 3, 5)
    assert_module_grads(drop, x, before_forward=lambda: setattr(drop, "rng", np.random.default_rng(7)))


def test_dropout_scaling_and_eval(rng):
    drop = Dropout(0.5, rng=np.random.default_rng(1))
    x = np.ones((200, 200), dtype=np.float32)
    y = drop(x)
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.05
    drop.eval()
    assert drop(x) is x


def test_softmax_ce_grads_and_value(rng):
    logits = x64(rng, 6, 5)
    y = rng.integers(0, 5, 6)
    ce = SoftmaxCrossEntropy()
    expected = -np.mean(log_softmax(logits)[np.arange(6), y])
    assert abs(ce(logits, y) - expected) < 1e-12
    ce.backward(1.0)
    assert_module_grads(ce, logits, y)


def test_softmax_ce_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4]], dtype=np.float32)
    loss, probs = softmax_cross_entropy(logits, np.array([1]))
    assert np.isfinite(loss) and abs(loss - 1e4) < 1
    assert np.all(np.isfinite(probs))


def test_sequential_and_module_reused_twice(rng):
    """A module called twice per forward pass (LIFO cache stack) gets both contributions."""
    lin = Linear(4, 4, rng=rng, std=0.5).to(np.float64)

    class Twice(Sequential):
        def __init__(self):
            super().__init__([lin, Tanh(), lin])

    assert_module_grads(Twice(), x64(rng, 2, 4))


def test_no_grad_leaves_no_cache(rng):
    lin = Linear(3, 3, rng=rng)
    with no_grad():
        lin(np.ones((2, 3), dtype=np.float32))
    assert lin._caches == []
    with pytest.raises(RuntimeError):
        lin.backward(np.ones((2, 3), dtype=np.float32))


def test_rel_error_zero_for_equal():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.ones(3), np.ones(3)) == 0.0


def test_embedding_backward_equals_add_at(rng):
    from neural.layers import embedding_backward

    ids = rng.integers(0, 7, (5, 9))
    g = rng.standard_normal((5, 9, 3))
    expected = np.zeros((7, 3))
    np.add.at(expected, ids.reshape(-1), g.reshape(-1, 3))
    got = np.zeros((7, 3))
    embedding_backward(got, ids, g)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    embedding_backward(got, np.zeros((0,), dtype=np.int64), np.zeros((0, 3)))  # empty batch: no-op
