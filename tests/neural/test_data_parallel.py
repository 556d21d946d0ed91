"""Data-parallel training steps: replicas share weights, the split step equals the serial one, AdamW in
slices equals AdamW in one pass."""
import threading

import numpy as np
import pytest

from neural.data_parallel import DataParallelStep, replicate
from neural.optim import AdamW
from tests.neural.tiny import tiny_transformer


@pytest.fixture
def two_workers(monkeypatch):
    import neural.thread_pool as rt
    monkeypatch.setenv("TKIT_THREADS", "2")
    if rt.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: steps stay serial")
    return rt


def _batch(seed=0, b=5, t=6):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 8, (b, t)), rng.integers(0, 8, (b, t))


def _serial_grads(model, x, y):
    model.zero_grad()
    loss = model.loss(x, y)
    model.backward()
    return loss, {n: p.grad.copy() for n, p in model.named_parameters()}


def test_replica_shares_weights_not_gradients_and_keeps_ties():
    model = tiny_transformer()
    own, private = replicate(model, share_grads=True), replicate(model, share_grads=False)
    for (name, p), (_, q), (_, r) in zip(model.named_parameters(), own.named_parameters(),
                                         private.named_parameters()):
        assert q is not p and q.data is p.data and r.data is p.data
        assert q.grad is p.grad and r.grad is not p.grad
    assert private.wte.weight is private.__dict__["wte"].weight  # the tied lm_head uses wte itself
    assert [n for n, _ in private.named_parameters()] == [n for n, _ in model.named_parameters()]
    model.loss(*_batch())
    assert all(not m._caches for _, m in private.named_modules())  # caches are per replica


@pytest.mark.parametrize("rows", [2, 5])
def test_split_step_equals_serial_step(two_workers, rows, monkeypatch):
    x, y = _batch(b=rows)
    model = tiny_transformer()
    loss, grads = _serial_grads(model, x, y)
    seen = set()
    import neural.data_parallel as dp
    original = dp.run_parallel

    def recording(tasks):
        return original([lambda t=t: (seen.add(threading.current_thread().name), t())[1] for t in tasks])

    monkeypatch.setattr(dp, "run_parallel", recording)
    model.zero_grad()
    split_loss = model.loss_and_backward(x, y)
    here = threading.current_thread().name        # the first slice runs in the calling thread
    assert here in seen and any(name.startswith("tkit-worker") for name in seen)
    assert split_loss == pytest.approx(loss, rel=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name], rtol=1e-10, atol=1e-14, err_msg=name)
    # a second step reuses the replicas and starts their private gradients from zero again
    model.zero_grad()
    model.loss_and_backward(x, y)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_one_worker_is_the_serial_step(monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", "1")
    x, y = _batch()
    model = tiny_transformer()
    loss, grads = _serial_grads(model, x, y)
    model.zero_grad()
    assert model.loss_and_backward(x, y) == loss
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, grads[name])


def test_dropout_steps_are_reproducible(two_workers):
    x, y = _batch(b=4)
    runs = []
    for _ in range(2):
        model = tiny_transformer(dropout=0.3)
        model.zero_grad()
        losses = [model.loss_and_backward(x, y) for _ in range(3)]
        runs.append((losses, model.wte.weight.grad.copy()))
    assert runs[0][0] == runs[1][0] and len(set(runs[0][0])) == 3  # fresh masks each step, same each run
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_worker_error_is_raised_and_leaves_no_caches(two_workers):
    model = tiny_transformer()
    step = DataParallelStep(model)

    def failing(replica, x, y, weight):
        replica.loss(x, y)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        step.run(*_batch(b=4), failing)
    assert all(not m._caches for r in step._replicas for _, m in r.named_modules())


def test_replicas_follow_a_dtype_cast(two_workers):
    model = tiny_transformer(dtype=np.float32)
    x, y = _batch(b=4)
    model.loss_and_backward(x, y)
    model.to(np.float64)
    model.zero_grad()
    model.loss_and_backward(x, y)
    assert model.wte.weight.grad.dtype == np.float64 and np.abs(model.wte.weight.grad).sum() > 0


def test_adamw_in_slices_is_bit_identical(monkeypatch):
    import neural.optim as optim
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("TKIT_THREADS", threads)
        monkeypatch.setattr(optim, "PAR_MIN_ELEMENTS", 0)
        model = tiny_transformer(dtype=np.float32)
        opt = AdamW(list(model.named_parameters()), lr=1e-2, weight_decay=0.1)
        for step in range(3):
            opt.flat_grad[...] = np.random.default_rng(step).standard_normal(opt.flat_grad.shape)
            opt.step()
        results.append((opt.flat.copy(), opt.m.copy(), opt.v.copy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
