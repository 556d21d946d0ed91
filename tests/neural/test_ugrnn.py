"""The UGRNN cell (Collins et al. 2017): the fast kernel against its plain reference twin (float64, threaded
and serial, blocked step products), float64 gradient checks of the cell and of a whole language model, the
decoding step, and forward/backward parity with a PyTorch twin written here (same weights, same batch)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural import rnn_reference as ref
from neural import thread_pool
from neural.gradcheck import assert_loss_grads, assert_module_grads, rel_error
from neural.module import Parameter
from neural.rnn import UGRNNCell, make_cell
from neural.rnn_lm import RNNLanguageModel
from ngram.vocab import Vocabulary
from tests.peers import require_peer
from tokenizers_kit.simple import CharTokenizer

SHAPES = [(5, 16, 3, 8), (4, 19, 6, 12), (3, 32, 5, 256)]   # (T, B, In, H); H 256: blocked step products


@pytest.fixture(params=["2", "1"], ids=["threads", "serial"])
def threads(request, monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", request.param)
    if request.param == "2" and thread_pool.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: the recurrence stays serial")


def _setup(shape, seed=0, scale=1.5):
    T, B, n_in, H = shape
    rng = np.random.default_rng(seed)
    cell = make_cell("ugrnn", n_in, H, rng).to(np.float64)
    for p in cell.parameters():                   # away from 0 so the non-linearities matter
        p.data[...] = rng.uniform(-scale, scale, p.shape) / np.sqrt(H)
    x = rng.standard_normal((T, B, n_in))
    h0 = rng.standard_normal((B, H))
    grads = (rng.standard_normal((T, B, H)), rng.standard_normal((B, H)))
    return cell, x, h0, grads


def _assert_matches_reference(cell, x, h0, grads, out, din):
    hs, cache = ref.ugrnn_forward(x, cell.w_ih.data, cell.w_hh.data, cell.b.data, h0)
    g = ref.ugrnn_backward(grads[0], cache, grads[1])
    np.testing.assert_allclose(out[0], hs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[1], hs[-1], rtol=1e-10, atol=1e-12)
    if din[0] is not None:
        np.testing.assert_allclose(din[0], g["x"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(din[1], g["h0"], rtol=1e-9, atol=1e-11)
    for name in ("w_ih", "w_hh", "b"):
        np.testing.assert_allclose(getattr(cell, name).grad, g[name], rtol=1e-9, atol=1e-11, err_msg=name)
    return g


def test_the_cell_is_registered_with_two_gates():
    cell = make_cell("ugrnn", 3, 4)
    assert isinstance(cell, UGRNNCell) and cell.w_ih.shape == (3, 8) and cell.w_hh.shape == (4, 8)
    assert not hasattr(cell, "b_hh")


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_kernel_matches_the_reference(shape, threads):
    cell, x, h0, grads = _setup(shape)
    cell.zero_grad()
    out = cell(x, h0)
    _assert_matches_reference(cell, x, h0, grads, out, cell.backward(grads))


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 20), n_in=st.integers(1, 6), H=st.integers(1, 9),
       seed=st.integers(0, 2**16), scale=st.floats(0.1, 4.0))
def test_fast_kernel_matches_the_reference_on_generated_shapes(T, B, n_in, H, seed, scale):
    cell, x, h0, grads = _setup((T, B, n_in, H), seed, scale)
    cell.zero_grad()
    out = cell(x, h0)
    _assert_matches_reference(cell, x, h0, grads, out, cell.backward(grads))


def test_fused_embedding_path_matches_the_reference(threads):
    T, B, E, H, V = 6, 16, 5, 8, 7
    cell, _, h0, grads = _setup((T, B, E, H), seed=1)
    rng = np.random.default_rng(2)
    table = Parameter(rng.standard_normal((V, E)), "table")
    ids = rng.integers(0, V, (T, B))
    cell.zero_grad()
    out = cell.forward_ids(table, ids, h0)
    din = cell.backward(grads)
    assert din[0] is None
    g = _assert_matches_reference(cell, table.data[ids], h0, grads, out, din)
    dtable = np.zeros_like(table.data)
    np.add.at(dtable, ids.reshape(-1), g["x"].reshape(-1, E))
    np.testing.assert_allclose(table.grad, dtable, rtol=1e-9, atol=1e-11)


def test_decoding_step_is_the_window_kernel():
    cell, x, h0, _ = _setup((1, 16, 4, 8))
    out = cell(x, h0)
    np.testing.assert_allclose(cell.step(x[0], (h0,))[0], out[1], rtol=1e-12, atol=1e-13)


def test_the_equations_by_hand():
    """h_t = u h_{t-1} + (1 - u) tanh(W x + A h + b), u = σ(W_u x + A_u h + b_u), written out once more."""
    cell, x, h0, _ = _setup((1, 3, 2, 4))
    w_u, w_c = cell.w_ih.data[:, :4], cell.w_ih.data[:, 4:]
    a_u, a_c = cell.w_hh.data[:, :4], cell.w_hh.data[:, 4:]
    u = 1 / (1 + np.exp(-(x[0] @ w_u + h0 @ a_u + cell.b.data[:4])))
    h = u * h0 + (1 - u) * np.tanh(x[0] @ w_c + h0 @ a_c + cell.b.data[4:])
    np.testing.assert_allclose(cell(x, h0)[1], h, rtol=1e-12)


def test_cell_gradcheck_float64():
    """Every weight, x and h0 against centred differences of sum(R_hs hs) + sum(R_hT h_T)."""
    cell, x, h0, _ = _setup((4, 2, 3, 5), seed=3)
    errs = assert_module_grads(cell, x, h0, tol=1e-7)
    assert {"input0", "input1", "w_ih", "w_hh", "b"} <= set(errs)


def _lm(hidden=6, layers=2, seed=5):
    model = RNNLanguageModel.from_config(
        {"cell": "ugrnn", "embedding_size": 4, "hidden_size": hidden, "n_layer": layers, "seed": seed},
        Vocabulary([chr(97 + i) for i in range(7)]), CharTokenizer()).to(np.float64)
    return model


def test_language_model_gradcheck_float64():
    model = _lm()
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))

    def loss():
        model.reset_state(2)
        return model.loss(x, y)

    assert_loss_grads(loss, model.backward, list(model.named_parameters()), tol=1e-6)


def test_language_model_cached_decoding_equals_scoring():
    model = _lm()
    ids = np.random.default_rng(1).integers(0, 7, 12)
    scored = model.sequence_logprobs(ids)
    state = model.start(ids[:1])
    stepped = []
    for i in range(1, len(ids)):
        stepped.append(state.logprobs[ids[i]])
        state = model.advance(state, int(ids[i]))
    np.testing.assert_allclose(stepped, scored, rtol=1e-10)


# ---- PyTorch twin -------------------------------------------------------------------------------------------

def _torch_ugrnn(torch):
    class UGRNN(torch.nn.Module):
        """The same equations in torch (no UGRNN in torch.nn): Linear maps, a loop over time."""

        def __init__(self, n_in, hidden):
            super().__init__()
            self.ih = torch.nn.Linear(n_in, 2 * hidden)
            self.hh = torch.nn.Linear(hidden, 2 * hidden, bias=False)
            self.hidden = hidden

        def forward(self, x, h):                                  # x (T, B, In), h (B, H)
            outs = []
            for t in range(x.shape[0]):
                a = self.ih(x[t]) + self.hh(h)
                u = torch.sigmoid(a[:, :self.hidden])
                h = u * h + (1 - u) * torch.tanh(a[:, self.hidden:])
                outs.append(h)
            return torch.stack(outs), h

    return UGRNN


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("batch,hidden", [(3, 8), (16, 12), (32, 256)])
def test_forward_and_backward_match_a_torch_twin(dtype, tol, batch, hidden, monkeypatch):
    torch = require_peer("torch")
    monkeypatch.setenv("TKIT_THREADS", "2")
    T, n_in = 7, 5
    cell, x, h0, grads = _setup((T, batch, n_in, hidden), seed=4)
    cell = cell.to(dtype)
    x, h0 = x.astype(dtype), h0.astype(dtype)
    twin = _torch_ugrnn(torch)(n_in, hidden).double()
    with torch.no_grad():
        twin.ih.weight.copy_(torch.from_numpy(cell.w_ih.data.T.astype(np.float64)))
        twin.ih.bias.copy_(torch.from_numpy(cell.b.data.astype(np.float64)))
        twin.hh.weight.copy_(torch.from_numpy(cell.w_hh.data.T.astype(np.float64)))
    tx = torch.from_numpy(x.astype(np.float64)).requires_grad_()
    th = torch.from_numpy(h0.astype(np.float64)).requires_grad_()
    hs_t, last_t = twin(tx, th)
    ((hs_t * torch.from_numpy(grads[0])).sum() + (last_t * torch.from_numpy(grads[1])).sum()).backward()

    cell.zero_grad()
    hs, last = cell(x, h0)
    dx, dh0 = cell.backward(tuple(g.astype(dtype) for g in grads))
    assert rel_error(hs, hs_t.detach().numpy()) < tol
    assert rel_error(last, last_t.detach().numpy()) < tol
    for name, ours, theirs in [("x", dx, tx.grad), ("h0", dh0, th.grad), ("w_ih", cell.w_ih.grad, twin.ih.weight.grad.T),
                               ("b", cell.b.grad, twin.ih.bias.grad), ("w_hh", cell.w_hh.grad, twin.hh.weight.grad.T)]:
        assert rel_error(ours.astype(np.float64), theirs.numpy()) < tol, name


@settings(max_examples=15, deadline=None)
@given(E=st.integers(1, 6), H=st.integers(1, 6), layers=st.integers(1, 3))
def test_model_file_shapes_know_the_cell(E, H, layers):
    model = RNNLanguageModel.from_config({"cell": "ugrnn", "embedding_size": E, "hidden_size": H, "n_layer": layers},
                                         Vocabulary(list("abc")), CharTokenizer())
    assert RNNLanguageModel.param_shapes(model.cfg) == {n: p.shape for n, p in model.named_parameters()}
