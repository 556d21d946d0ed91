"""The gradient checker itself: it passes right gradients and catches wrong ones."""
import numpy as np
import pytest

from neural.gradcheck import (
    assert_loss_grads,
    assert_module_grads,
    check_module,
    numerical_grad,
)
from neural.module import Module, Parameter


class Scale(Module):
    """y = w * x, with an optional deliberate bug in backward."""

    def __init__(self, bug=False):
        super().__init__()
        self.w = Parameter(np.array([1.5, -0.5]))
        self.bug = bug

    def forward(self, x):
        self.save(x)
        return x * self.w.data

    def backward(self, g):
        x = self.saved()
        self.w.grad += (g * x).sum(axis=0) * (2.0 if self.bug else 1.0)  # the bug: a factor 2
        return g * self.w.data


def test_right_gradients_pass():
    errs = assert_module_grads(Scale(), np.random.default_rng(0).standard_normal((3, 2)))
    assert errs["input0"] < 1e-9 and errs["w"] < 1e-9


def test_wrong_gradients_are_caught():
    errs = check_module(Scale(bug=True), np.random.default_rng(0).standard_normal((3, 2)))
    assert errs["w"] > 0.1 and errs["input0"] < 1e-9
    with pytest.raises(AssertionError, match="w rel. error"):
        assert_module_grads(Scale(bug=True), np.random.default_rng(0).standard_normal((3, 2)))


def test_check_loss_on_a_quadratic_with_sampled_entries():
    p = Parameter(np.random.default_rng(1).standard_normal((20, 20)), name="p")

    def loss():
        return float(np.sum(p.data**2) / 2)

    def backward():
        p.grad += p.data

    assert_loss_grads(loss, backward, [p], max_entries=30)


def test_numerical_grad_restores_the_input():
    x = np.array([1.0, 2.0])
    before = x.copy()
    g = numerical_grad(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(g, 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
