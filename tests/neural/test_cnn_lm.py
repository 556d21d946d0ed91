"""The causal CNN language model: whole-model float64 gradient check, causality and the receptive field
through the whole stack, cached decoding == the full forward (chunked, threaded scoring included), parity with
a torch `nn.Conv1d` twin (same weights, same batch), config and file checks before allocation, save/load."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural import cnn_lm, load_model
from neural.cnn_config import CNNConfig, receptive_field
from neural.cnn_lm import CNNLanguageModel
from neural.config_checks import config_problems
from neural.gradcheck import assert_loss_grads, rel_error
from neural.model_file_checks import build_bytes
from neural.module import no_grad
from neural.trainer import TrainConfig, Trainer
from neural.training_budget import training_bytes
from ngram.npzfile import load_npz, save_npz
from ngram.vocab import Vocabulary
from tests.peers import require_peer
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import CharTokenizer

V = 9


def _model(dtype=np.float64, jitter=0.2, seed=0, **config) -> CNNLanguageModel:
    cfg = {"n_layer": 3, "channels": 6, "kernel_size": 3, "dilations": "1,2,3", "block_size": 8, "seed": seed,
           **config}
    model = CNNLanguageModel.from_config(cfg, Vocabulary([chr(97 + i) for i in range(V)]), CharTokenizer())
    model = model.to(dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.parameters():           # LayerNorm gains, biases off their trivial initial values
        p.data += (rng.standard_normal(p.shape) * jitter).astype(dtype)
    return model


def _logits(model, idx):
    with no_grad():
        return model.head(model.hidden(idx))


def test_whole_model_gradcheck_float64():
    model = _model()
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (2, 7)), rng.integers(0, V, (2, 7))
    assert_loss_grads(lambda: model.loss(x, y), model.backward, list(model.named_parameters()), tol=1e-6)


def test_data_parallel_step_equals_the_serial_one(monkeypatch):
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, V, (16, 8)), rng.integers(0, V, (16, 8))
    grads = []
    for threads in ("1", "2"):
        monkeypatch.setenv("TKIT_THREADS", threads)
        model = _model()
        model.zero_grad()
        loss = model.loss_and_backward(x, y)
        grads.append((loss, {n: p.grad.copy() for n, p in model.named_parameters()}))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
    for name, g in grads[0][1].items():
        np.testing.assert_allclose(grads[1][1][name], g, rtol=1e-9, atol=1e-12, err_msg=name)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), dilations=st.sampled_from(["1", "1,2", "2,3,1", "4"]), k=st.integers(1, 4))
def test_perturbing_a_future_token_changes_nothing_before_it(data, dilations, k):
    model = _model(dilations=dilations, kernel_size=k, n_layer=3)
    T = 24
    ids = np.random.default_rng(2).integers(0, V, (1, T))
    s = data.draw(st.integers(0, T - 1))
    other = ids.copy()
    other[0, s] = (ids[0, s] + data.draw(st.integers(1, V - 1))) % V
    diff = np.abs(_logits(model, other) - _logits(model, ids)).max(axis=2)[0]
    assert np.all(diff[:s] == 0)           # exactly: the earlier positions never read it
    assert diff[s] > 0


def test_the_receptive_field_is_exact():
    """The output at t reads token t - R + 1 and not t - R (R = 1 + (k-1) sum of dilations)."""
    model = _model(dilations="1,2,3", kernel_size=3)
    r = receptive_field(model.cfg)
    assert r == 1 + 2 * (1 + 2 + 3)
    ids = np.random.default_rng(3).integers(0, V, (1, r + 5))
    t = r + 4
    base = _logits(model, ids)[0, t]
    for s, changes in ((t - r, False), (t - r + 1, True)):
        other = ids.copy()
        other[0, s] = (ids[0, s] + 1) % V
        assert (np.abs(_logits(model, other)[0, t] - base).max() > 0) == changes, s


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 90), prefix=st.integers(1, 40), seed=st.integers(0, 1000))
def test_cached_decoding_equals_the_full_forward(n, prefix, seed):
    """start() on a prefix (longer or shorter than the receptive field) then advance() token by token gives
    the logprobs of one convolution over the whole stream, which sequence_logprobs computes in chunks."""
    model = _model()
    ids = np.random.default_rng(seed).integers(0, V, n)
    prefix = min(prefix, n - 1)
    with no_grad():
        full = model.head(model.ln_f(_top(model, ids)))[0]
    expected = np.array([full[i] - np.logaddexp.reduce(full[i]) for i in range(n - 1)])  # log softmax rows
    scored = model.sequence_logprobs(ids)
    np.testing.assert_allclose(scored, expected[np.arange(n - 1), ids[1:]], rtol=1e-10, atol=1e-12)
    state = model.start(ids[:prefix])
    np.testing.assert_allclose(state.logprobs, expected[prefix - 1], rtol=1e-10, atol=1e-12)
    for i in range(prefix, n - 1):
        state = model.advance(state, int(ids[i]))
        np.testing.assert_allclose(state.logprobs, expected[i], rtol=1e-10, atol=1e-12)


def _top(model, ids):
    with no_grad():
        x = model.wte.weight.data[ids[None]]
        for block in model.blocks:
            x = block(x)
    return x


def test_the_cache_holds_each_blocks_last_inputs_only():
    model = _model()
    state = model.start(np.arange(50) % V)
    assert [c.shape for c in state.cache] == [(2 * d, 6) for d in (1, 2, 3)]
    again = model.advance(state, 3)
    assert [c.shape for c in again.cache] == [(2 * d, 6) for d in (1, 2, 3)]
    assert model.advance(state, 3).logprobs.tobytes() == again.logprobs.tobytes()  # the cache is not modified


@pytest.mark.parametrize("threads", ["1", "2"])
def test_chunked_scoring_of_a_long_stream_is_exact(threads, monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", threads)
    monkeypatch.setattr(cnn_lm, "STREAM_CHUNK", 16)     # many chunks, batched and split across threads
    model = _model()
    ids = np.random.default_rng(4).integers(0, V, 700)
    with no_grad():
        full = model.head(model.ln_f(_top(model, ids)))[0]
    lp = full - np.logaddexp.reduce(full, axis=1, keepdims=True)
    np.testing.assert_allclose(model.sequence_logprobs(ids), lp[np.arange(699), ids[1:]], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.next_logprobs(ids[:500]), lp[499], rtol=1e-10, atol=1e-12)


def test_empty_context_is_uniform_and_sampling_works():
    model = _model(dtype=np.float32)
    np.testing.assert_allclose(np.exp(model.next_logprobs([])), 1 / V)
    text = model.generate(20, prompt="ab", seed=1)
    assert isinstance(text, str) and text == model.generate(20, prompt="ab", seed=1)


def test_save_and_load_round_trip(tmp_path):
    model = _model(dtype=np.float32)
    model.save(tmp_path / "c.npz")
    again = load_model(tmp_path / "c.npz")
    assert isinstance(again, CNNLanguageModel) and again.config == model.config
    ids = np.arange(30) % V
    np.testing.assert_array_equal(again.sequence_logprobs(ids), model.sequence_logprobs(ids))


# ---- configs and files --------------------------------------------------------------------------------------

@st.composite
def cnn_configs(draw):
    n_layer = draw(st.integers(1, 4))
    dilations = draw(st.lists(st.integers(1, 5), min_size=1, max_size=n_layer))
    return dict(n_layer=n_layer, channels=draw(st.integers(1, 6)), kernel_size=draw(st.integers(1, 4)),
                dilations=",".join(map(str, dilations)), block_size=draw(st.integers(1, 6)))


@settings(max_examples=30, deadline=None)
@given(config=cnn_configs(), vocab_size=st.integers(1, 9))
def test_param_shapes_and_buffers_are_those_of_a_built_model(config, vocab_size):
    model = CNNLanguageModel.from_config(config, Vocabulary([chr(97 + i) for i in range(vocab_size)]),
                                         CharTokenizer())
    assert CNNLanguageModel.param_shapes(model.cfg) == {n: p.shape for n, p in model.named_parameters()}
    state = model.start([0])
    assert CNNLanguageModel.buffer_floats(model.cfg) == sum(c.size for c in state.cache)
    assert build_bytes(CNNLanguageModel, model.cfg) >= 2 * model.num_parameters() * 4


@pytest.mark.parametrize("raw,fragment", [
    ({"dilations": "1,x"}, "comma-separated"), ({"dilations": ""}, "comma-separated"),
    ({"dilations": "0"}, "positive"), ({"dilations": 3}, "string"), ({"dilations": ["1"]}, "string"),
    ({"n_layer": 2, "dilations": "1,2,4"}, "at most one per layer"),
    ({"kernel_size": 100000, "dilations": "1000"}, "receptive field"),
    ({"n_layer": 2**31 - 1, "dilations": "1"}, "receptive field"),
    ({"channels": 0}, "channels"), ({"kernel_size": -1}, "kernel_size"), ({"channels": "64"}, "channels"),
    ({"dropout": 1.0}, "dropout"), ({"seed": -1}, "seed")])
def test_bad_configs_are_named(raw, fragment):
    problems = config_problems(CNNConfig, raw)
    assert problems and fragment in problems[0], problems


def test_a_sound_config_has_no_problems():
    assert config_problems(CNNConfig, {}) == []
    assert config_problems(CNNConfig, {"n_layer": 8, "dilations": "1, 2, 4, 8"}) == []


@pytest.mark.parametrize("field,value", [("channels", 10**9), ("n_layer", 10**8), ("kernel_size", 2**31 - 1)])
def test_a_hostile_model_file_is_refused_before_allocation(tmp_path, field, value):
    good = _model(dtype=np.float32)
    good.save(tmp_path / "good.npz")
    meta, arrays = load_npz(tmp_path / "good.npz")
    meta["config"][field] = value
    if field == "n_layer":
        meta["config"]["dilations"] = "1"
    save_npz(tmp_path / "bad.npz", arrays, meta)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="bad.npz"):
            load_model(tmp_path / "bad.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20


@pytest.mark.parametrize("config,batch", [(dict(n_layer=4, channels=64, kernel_size=3, block_size=64), 16),
                                          (dict(n_layer=2, channels=128, kernel_size=5, dilations="1,8",
                                                block_size=32), 8)])
def test_training_memory_estimate_is_near_the_measured_peak(config, batch):
    vocab = Vocabulary([chr(40 + i) for i in range(60)])
    ids = np.random.default_rng(0).integers(0, 60, 20000).astype(np.int32)
    tracemalloc.start()
    try:
        model = CNNLanguageModel.from_config(config, vocab, CharTokenizer())
        trainer = Trainer(model, ids, ids[:10], TrainConfig(steps=2, batch_size=batch, val_every=0, eval_batches=0))
        trainer.train_step()
        trainer.train_step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ratio = training_bytes(CNNLanguageModel, model.cfg, batch, "adamw") / peak
    assert 0.8 <= ratio <= 3.0, ratio


# ---- PyTorch twin ---------------------------------------------------------------------------------------------

def _torch_twin(torch, model):
    F = torch.nn.functional
    cfg = model.cfg

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            c = cfg.channels
            self.wte = torch.nn.Embedding(cfg.vocab_size, c)
            self.convs = torch.nn.ModuleList(torch.nn.Conv1d(c, 2 * c, cfg.kernel_size, dilation=b.conv.dilation)
                                             for b in model.blocks)
            self.ln_f = torch.nn.LayerNorm(c)
            self.head = torch.nn.Linear(c, cfg.vocab_size)

        def forward(self, idx):
            x = self.wte(idx).transpose(1, 2)                          # (B, C, T)
            for conv in self.convs:
                pad = (conv.kernel_size[0] - 1) * conv.dilation[0]
                x = x + F.glu(conv(F.pad(x, (pad, 0))), dim=1)        # left padding only
            return self.head(self.ln_f(x.transpose(1, 2)))

    twin = Twin().double()
    with torch.no_grad():
        twin.wte.weight.copy_(torch.from_numpy(model.wte.weight.data.astype(np.float64)))
        for conv, block in zip(twin.convs, model.blocks):
            k, c = cfg.kernel_size, cfg.channels
            w = block.conv.weight.data.astype(np.float64).reshape(k, c, 2 * c)   # (k, C_in, C_out)
            conv.weight.copy_(torch.from_numpy(w.transpose(2, 1, 0).copy()))
            conv.bias.copy_(torch.from_numpy(block.conv.bias.data.astype(np.float64)))
        twin.ln_f.weight.copy_(torch.from_numpy(model.ln_f.weight.data.astype(np.float64)))
        twin.ln_f.bias.copy_(torch.from_numpy(model.ln_f.bias.data.astype(np.float64)))
        twin.head.weight.copy_(torch.from_numpy(model.head.weight.data.T.astype(np.float64)))
        twin.head.bias.copy_(torch.from_numpy(model.head.bias.data.astype(np.float64)))
    return twin


def _grad_pairs(model, twin):
    yield "wte", model.wte.weight.grad, twin.wte.weight.grad.numpy()
    k, c = model.cfg.kernel_size, model.cfg.channels
    for i, (block, conv) in enumerate(zip(model.blocks, twin.convs)):
        yield f"conv{i}.w", block.conv.weight.grad, conv.weight.grad.numpy().transpose(2, 1, 0).reshape(k * c, 2 * c)
        yield f"conv{i}.b", block.conv.bias.grad, conv.bias.grad.numpy()
    yield "ln_f.w", model.ln_f.weight.grad, twin.ln_f.weight.grad.numpy()
    yield "ln_f.b", model.ln_f.bias.grad, twin.ln_f.bias.grad.numpy()
    yield "head.w", model.head.weight.grad, twin.head.weight.grad.numpy().T
    yield "head.b", model.head.bias.grad, twin.head.bias.grad.numpy()


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("batch,config", [(3, {}), (16, dict(channels=16, kernel_size=2, dilations="1,4,2")),
                                          (8, dict(n_layer=2, channels=8, kernel_size=4, dilations="3"))])
def test_loss_and_gradients_match_a_torch_conv1d_twin(dtype, tol, batch, config, monkeypatch):
    torch = require_peer("torch")
    monkeypatch.setenv("TKIT_THREADS", "2")
    model = _model(dtype=dtype, **config)
    twin = _torch_twin(torch, model)
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, V, (batch, 12)), rng.integers(0, V, (batch, 12))
    model.zero_grad()
    loss = model.loss_and_backward(x, y)
    ref = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)).reshape(-1, V), torch.from_numpy(y).reshape(-1))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=tol)
    for name, ours, theirs in _grad_pairs(model, twin):
        assert rel_error(ours.astype(np.float64), theirs) < tol, name
    assert math.isfinite(loss)
