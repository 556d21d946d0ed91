"""PyTorch parity (those tests are skipped without torch): same weights and batch -> same loss and
gradients (float64), serial and in the data-parallel step (batches of 16+ rows split across the worker
threads), and optimizer steps with nanoGPT's parameter groups."""
import numpy as np
import pytest

from neural import thread_pool
from neural.optim import SGD, AdamW, clip_grad_norm
from tests.neural.tiny import tiny_transformer
from tests.peers import require_peer


def _torch():
    """torch and the nanoGPT twin (tests/neural/torch_gpt.py imports torch at import time)."""
    torch = require_peer("torch")
    from tests.neural import torch_gpt
    return torch, torch_gpt


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)


@pytest.mark.parametrize(("batch", "parallel"), [(3, False), (16, True), (19, True)])
@pytest.mark.parametrize("bias", [False, True])
def test_loss_and_grads_match_torch(bias, batch, parallel, monkeypatch):
    torch, tg = _torch()
    monkeypatch.setenv("TKIT_THREADS", "2")
    if parallel and thread_pool.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: the step stays serial")
    model = tiny_transformer(n_embd=16, n_head=4, block_size=8, bias=bias, vocab_size=8)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 8, (batch, 8)), rng.integers(0, 8, (batch, 8))
    tm = tg.from_tkit(model)
    t_loss = tm(torch.from_numpy(x), torch.from_numpy(y))
    t_loss.backward()
    model.zero_grad()
    if parallel:   # the training step: rows split across the worker threads, gradients summed
        loss = model.loss_and_backward(x, y)
    else:
        loss = model.loss(x, y)
        model.backward()
    assert abs(loss - t_loss.item()) <= 1e-10 * abs(loss)
    tparams = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        expected = tparams[tg.torch_name(name)].grad.numpy()
        assert _rel(tg.tkit_grad_layout(name, p.grad), expected) < 1e-5, name


@pytest.mark.parametrize("batch", [2, 16])
def test_adamw_step_matches_torch(batch, monkeypatch):
    """Clip by global norm, then one AdamW step (decay on 2-D weights only) — several steps, same result."""
    torch, tg = _torch()
    monkeypatch.setenv("TKIT_THREADS", "2")
    model = tiny_transformer(bias=True)
    tm = tg.from_tkit(model)
    decay = [p for p in tm.parameters() if p.dim() >= 2]
    no_decay = [p for p in tm.parameters() if p.dim() < 2]
    topt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=1e-2, betas=(0.9, 0.99))
    opt = AdamW(list(model.named_parameters()), 1e-2, (0.9, 0.99), weight_decay=0.1)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = rng.integers(0, 8, (batch, 6)), rng.integers(0, 8, (batch, 6))
        topt.zero_grad()
        tm(torch.from_numpy(x), torch.from_numpy(y)).backward()
        torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
        topt.step()
        model.zero_grad()
        model.loss_and_backward(x, y)
        clip_grad_norm(model.parameters(), 0.5)
        opt.step()
    tparams = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        expected = tparams[tg.torch_name(name)].detach().numpy()
        np.testing.assert_allclose(tg.tkit_grad_layout(name, p.data), expected, rtol=1e-7, atol=1e-9, err_msg=name)


def test_sgd_momentum_matches_torch():
    torch, _ = _torch()
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((3, 4))
    from neural.module import Parameter

    p = Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(4):
        g = rng.standard_normal((3, 4))
        p.grad[...] = g
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
