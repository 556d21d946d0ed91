"""Optimizers, clipping and the learning-rate schedule."""
import math

import numpy as np
import pytest

from neural.module import Parameter
from neural.optim import (
    SGD,
    Adam,
    AdamW,
    clip_grad_norm,
    global_grad_norm,
    make_optimizer,
)
from neural.schedule import WarmupCosine


def test_warmup_cosine_matches_nanogpt():
    s = WarmupCosine(1e-3, warmup=100, decay_steps=2000, min_lr=1e-4)
    assert s(0) == pytest.approx(1e-3 / 101)
    assert s(99) == pytest.approx(1e-3 * 100 / 101)
    assert s(100) == pytest.approx(1e-3)
    assert s(1050) == pytest.approx(1e-4 + 0.5 * 0.9e-3)
    assert s(2000) == pytest.approx(1e-4)
    assert s(5000) == 1e-4
    lrs = [s(i) for i in range(100, 2001)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_constant_schedule_without_decay():
    s = WarmupCosine(0.1)
    assert s(0) == s(1000) == 0.1


def test_clip_by_global_norm():
    a, b = Parameter(np.zeros(3)), Parameter(np.zeros((2, 2)))
    a.grad[:] = [3.0, 0.0, 0.0]
    b.grad[:] = [[0.0, 4.0], [0.0, 0.0]]
    assert global_grad_norm([a, b]) == pytest.approx(5.0)
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    assert global_grad_norm([a, b]) == pytest.approx(1.0, rel=1e-5)
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0, rel=1e-5)  # below the limit: unchanged
    assert global_grad_norm([a, b]) == pytest.approx(1.0, rel=1e-5)


def test_adamw_first_step_is_sign_times_lr_and_decay_only_2d():
    w, bias = Parameter(np.ones((2, 2))), Parameter(np.ones(2))
    w.grad[:] = [[1.0, -2.0], [3.0, -4.0]]
    bias.grad[:] = [0.5, -0.5]
    opt = AdamW([("w", w), ("b", bias)], lr=0.1, betas=(0.9, 0.99), weight_decay=0.5)
    opt.step()
    # bias-corrected first step: m/sqrt(v) = sign(g); decay multiplies 2-D weights by (1 - lr*wd)
    np.testing.assert_allclose(w.data, 0.95 - 0.1 * np.sign(w.grad), rtol=1e-6)
    np.testing.assert_allclose(bias.data, 1.0 - 0.1 * np.sign(bias.grad), rtol=1e-6)


def test_adam_matches_reference_formula():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(4)
    p = Parameter(w0.copy(), decay=True)
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), weight_decay=0.1)
    m = v = np.zeros(4)
    w = w0.copy()
    for t in range(1, 6):
        g = rng.standard_normal(4)
        p.grad[:] = g
        opt.step()
        g = g + 0.1 * w
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(p.data, w, rtol=1e-10)


def test_sgd_plain_and_momentum():
    p = Parameter(np.array([1.0, 2.0]))
    opt = SGD([p], lr=0.5, momentum=0.0)
    p.grad[:] = [1.0, -1.0]
    opt.step()
    np.testing.assert_allclose(p.data, [0.5, 2.5])
    q = Parameter(np.array([0.0]))
    mom = SGD([q], lr=1.0, momentum=0.5)
    for _ in range(2):
        q.grad[:] = 1.0
        mom.step()
    np.testing.assert_allclose(q.data, [-(1 + 1.5)])


def test_optimizer_state_round_trip():
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    opt = make_optimizer("adamw", [("p", p)], 1e-3, 0.1)
    p.grad[:] = 1.0
    opt.step()
    arrays, meta = opt.state_arrays(), opt.state_meta()
    assert set(arrays) == {"m:p", "v:p"} and meta["t"] == 1
    other = make_optimizer("adamw", [("p", p)], 1e-3, 0.1)
    other.load_state_arrays({k: v.copy() for k, v in arrays.items()})
    other.load_state_meta(meta)
    np.testing.assert_array_equal(other.m[0], opt.m[0])
    assert other.t == 1 and math.isclose(other.lr, opt.lr)
    with pytest.raises(ValueError):
        make_optimizer("lion", [p], 1e-3)


def test_float32_stays_float32():
    p = Parameter(np.ones((3, 3), dtype=np.float32))
    opt = AdamW([p], lr=1e-3, weight_decay=0.1)
    p.grad[:] = 0.3
    opt.step()
    assert p.data.dtype == np.float32 and opt.m[0].dtype == np.float32


def test_parameters_live_in_one_flat_buffer():
    w, b, e = Parameter(np.ones((3, 5), np.float32)), Parameter(np.full(4, 2.0, np.float32)), \
        Parameter(np.full((2, 2), 3.0, np.float32))
    opt = AdamW([("w", w), ("b", b), ("e", e)], lr=0.1, weight_decay=0.5)
    assert np.shares_memory(w.data, opt.flat) and np.shares_memory(b.grad, opt.flat_grad)
    assert np.all(w.data == 1) and np.all(b.data == 2) and np.all(e.data == 3)  # values kept
    # decaying parameters come first, so decay touches exactly flat[:n_decay]
    assert opt.n_decay >= w.size + e.size and opt.flat[: opt.n_decay].sum() == 15 + 12
    for p in (w, b, e):
        p.grad[...] = 1.0
    opt.step()
    opt.step()
    used = w.size + e.size + b.size
    assert np.count_nonzero(opt.flat) == used  # alignment padding never moves
    assert set(opt.state_arrays()) == {"m:w", "m:b", "m:e", "v:w", "v:b", "v:e"}
    assert opt.clip_grad_norm(1.0) == pytest.approx(math.sqrt(used), rel=1e-6)
    assert math.sqrt(float(np.dot(opt.flat_grad, opt.flat_grad))) == pytest.approx(1.0, rel=1e-5)
