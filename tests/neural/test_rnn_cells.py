"""Elman, GRU and LSTM cells and the stacked `RNN`: float64 gradient checks over whole windows (with a
carried-in state), single steps against the window kernels, truncated BPTT, dtypes."""
import numpy as np
import pytest

from neural.gradcheck import assert_module_grads, check_module
from neural.module import Module, Parameter, no_grad
from neural.rnn import RNN, GRUCell, LSTMCell, make_cell
from neural.rnn_ops import sigmoid_, tanh_

T, B, E, H = 4, 2, 3, 5
KINDS = ["elman", "gru", "lstm"]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _cell(kind, rng, **kw):
    # larger weights than the default init so the non-linearities are exercised away from 0
    cell = make_cell(kind, E, H, rng, **kw).to(np.float64)
    for p in cell.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    return cell


def _state(cell, rng):
    return tuple(rng.standard_normal((B, H)) for _ in range(cell.n_state))


@pytest.mark.parametrize("kind", KINDS)
def test_cell_window_gradients_including_initial_and_final_state(kind, rng):
    """check_module differentiates sum(R_hs * hs) + sum(R_hT * h_T) (+ c_T): every weight, x, h0 (c0)."""
    cell = _cell(kind, rng)
    errs = assert_module_grads(cell, rng.standard_normal((T, B, E)), *_state(cell, rng), tol=1e-7)
    names = {"input0", "input1", "w_ih", "w_hh", "b"} | ({"input2"} if kind == "lstm" else set())
    assert names <= set(errs)
    if kind == "gru":
        assert "b_hh" in errs


class _LookupThenCell(Module):
    """A table lookup fused into a cell's input projection (`forward_ids`), as a module for check_module."""

    def __init__(self, cell, table):
        super().__init__()
        self.cell, self.table = cell, Parameter(table, "table")

    def forward(self, ids, *state):
        return self.cell.forward_ids(self.table, ids, *state)

    def backward(self, grad):
        return self.cell.backward(grad)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("vocab", [4, 40])   # V <= 2E: one-hot sums per id; V > 2E: scatter-add of dx
def test_cell_fused_with_embedding_lookup(kind, vocab, rng):
    """forward_ids(table, ids) == forward(table[ids]) and its gradients (table included) are exact; the
    table is projected once when it has fewer rows than there are ids (vocab 4 < T*B = 8)."""
    cell = _cell(kind, rng)
    ids = rng.integers(0, vocab, size=(T, B))
    ids[0, 0] = ids[1, 1]                                            # repeated ids must accumulate
    mod = _LookupThenCell(cell, rng.standard_normal((vocab, E)))
    state = _state(cell, rng)
    with no_grad():
        fused, plain = mod(ids, *state), cell(mod.table.data[ids], *state)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    errs = assert_module_grads(mod, ids, *state, tol=1e-7)
    assert "table" in errs and "cell.w_ih" in errs


@pytest.mark.parametrize("kind", KINDS)
def test_cell_gradients_with_saturated_gates(kind, rng):
    """Large pre-activations (exp overflows to inf inside the kernels) still give exact gradients."""
    cell = _cell(kind, rng)
    for p in cell.parameters():
        p.data *= 6
    errs = check_module(cell, 3 * rng.standard_normal((T, B, E)), *_state(cell, rng))
    assert max(errs.values()) < 1e-6, errs


@pytest.mark.parametrize("kind", KINDS)
def test_step_matches_window(kind, rng):
    cell = _cell(kind, rng)
    x = rng.standard_normal((T, B, E))
    state = _state(cell, rng)
    with no_grad():
        out = cell(x, *state)
    s = state
    for t in range(T):
        s = cell.step(x[t], s)
        np.testing.assert_allclose(s[0], out[0][t], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s[-1], out[-1], rtol=1e-12, atol=1e-12)  # c_T (LSTM) or h_T


def test_lstm_gate_order_is_pytorchs(rng):
    """Only the forget gate touches c_{t-1}: with w = 0, c_1 = σ(b_f) c_0 + σ(b_i) tanh(b_g)."""
    cell = LSTMCell(1, 1, rng, np.float64)
    cell.w_ih.data[...] = 0
    cell.w_hh.data[...] = 0
    cell.b.data[...] = [0.3, -1.2, 0.7, 2.0]                      # i, f, g, o
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h, c = cell.step(np.zeros((1, 1)), (np.zeros((1, 1)), np.full((1, 1), 2.0)))
    c_expected = sig(-1.2) * 2.0 + sig(0.3) * np.tanh(0.7)
    np.testing.assert_allclose(c, c_expected)
    np.testing.assert_allclose(h, sig(2.0) * np.tanh(c_expected))


def test_forget_bias_init(rng):
    plain = LSTMCell(3, 4, np.random.default_rng(1), forget_bias=0.0)
    biased = LSTMCell(3, 4, np.random.default_rng(1), forget_bias=1.0)
    diff = biased.b.data - plain.b.data
    np.testing.assert_allclose(diff, np.r_[np.zeros(4), np.ones(4), np.zeros(8)], atol=1e-6)


def test_gru_reset_gate_multiplies_hidden_bias(rng):
    """PyTorch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); with r -> 0, b_hn has no effect."""
    cell = GRUCell(1, 1, rng, np.float64)
    cell.w_ih.data[...] = 0
    cell.w_hh.data[...] = 0
    cell.b.data[...] = [-50.0, 0.0, 0.4]                            # r ≈ 0, z = 0.5, b_in
    cell.b_hh.data[...] = [0.0, 0.0, 9.0]
    (h,) = cell.step(np.zeros((1, 1)), (np.ones((1, 1)),))
    np.testing.assert_allclose(h, 0.5 * np.tanh(0.4) + 0.5 * 1.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_stacked_rnn_gradients_with_carried_in_state(kind, dropout, rng):
    """Two layers over a short window, starting from a random carried state (no gradient flows into it);
    with dropout the masks are made identical on every forward by reseeding."""
    rnn = RNN(kind, E, H, n_layer=2, dropout=dropout, rng=rng).to(np.float64)
    carried = [tuple(rng.standard_normal((B, H)) for _ in range(rnn.layers[0].n_state)) for _ in range(2)]

    def restore():
        rnn.state = [tuple(a.copy() for a in s) for s in carried]
        for i, d in enumerate(rnn.drops):
            d.rng = np.random.default_rng(i)

    errs = assert_module_grads(rnn, rng.standard_normal((T, B, E)), before_forward=restore, tol=1e-7)
    assert {"input0", "layers.0.w_ih", "layers.1.w_hh"} <= set(errs)


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bptt_state_equals_one_long_sequence(kind, rng):
    rnn = RNN(kind, E, H, n_layer=2, rng=rng).to(np.float64)
    x = rng.standard_normal((2 * T, B, E))
    rnn.reset_state(B)
    with no_grad():
        whole = rnn(x)
        final_whole = rnn.state
        rnn.reset_state(B)
        first, second = rnn(x[:T]), rnn(x[T:])
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12, atol=1e-12)
    for a, b in zip(final_whole, rnn.state):
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


def test_carried_state_is_detached_and_batch_change_resets(rng):
    rnn = RNN("lstm", E, H, rng=rng)
    x = rng.standard_normal((T, B, E)).astype(np.float32)
    rnn(x)
    s = rnn.state[0][0]
    rnn.backward(np.ones((T, B, H), np.float32))       # backward must leave the carried state alone
    assert rnn.state[0][0] is s and np.any(s != 0)
    rnn(rng.standard_normal((T, B + 1, E)).astype(np.float32))
    assert rnn.state[0][0].shape == (B + 1, H)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32(kind, rng):
    rnn = RNN(kind, E, H, n_layer=2, rng=rng)
    out = rnn(rng.standard_normal((T, B, E)).astype(np.float32))
    dx = rnn.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in rnn.parameters())
    assert all(a.dtype == np.float32 for s in rnn.state for a in s)


def test_gradients_accumulate_across_calls(rng):
    cell = _cell("lstm", rng)
    x, state = rng.standard_normal((T, B, E)), _state(cell, rng)
    g = rng.standard_normal((T, B, H))
    cell.zero_grad()
    cell(x, *state)
    cell.backward(g)
    once = cell.w_hh.grad.copy()
    cell(x, *state)
    cell(x, *state)
    cell.backward(g)
    cell.backward(g)
    np.testing.assert_allclose(cell.w_hh.grad, 3 * once, rtol=1e-12)


def test_exp_based_nonlinearities_match_numpy():
    a = np.linspace(-100, 100, 2001)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(tanh_(a.copy()), np.tanh(a), atol=1e-15)
        np.testing.assert_allclose(sigmoid_(a.copy()), 0.5 * (np.tanh(a / 2) + 1), atol=1e-15)
    a32 = a.astype(np.float32)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(tanh_(a32.copy()), np.tanh(a32), atol=2e-7)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="unknown RNN cell"):
        make_cell("transformer", 2, 2)


@pytest.fixture
def threaded(monkeypatch):
    """Split even tiny batches across worker threads (one row per thread)."""
    import neural.thread_pool as rt
    monkeypatch.setattr(rt, "MIN_ROWS", 1)
    monkeypatch.setenv("TKIT_THREADS", "2")
    if rt.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: the recurrence stays serial")
    return rt


def test_rows_really_run_in_worker_threads(threaded):
    import threading
    names = []
    threaded.run_rows(4, lambda lo, hi: names.append((lo, hi, threading.current_thread().name)))
    assert sorted(n[:2] for n in names) == [(0, 2), (2, 4)]
    ran_in = {n[2] for n in names}                 # the calling thread takes the first range
    assert threading.current_thread().name in ran_in and any(n.startswith("tkit-worker") for n in ran_in)


@pytest.mark.parametrize("kind", KINDS)
def test_threaded_recurrence_matches_serial_and_gradients(kind, rng, threaded, monkeypatch):
    cell = _cell(kind, rng)
    x, state = rng.standard_normal((T, B, E)), _state(cell, rng)
    g = rng.standard_normal((T, B, H))
    cell.zero_grad()
    out = cell(x, *state)
    din = cell.backward(g)
    grads = [p.grad.copy() for p in cell.parameters()]
    monkeypatch.setenv("TKIT_THREADS", "1")
    cell.zero_grad()
    ref = cell(x, *state)
    ref_din = cell.backward(g)
    for a, b in [*zip(out, ref), *zip(din, ref_din), *zip(grads, [p.grad for p in cell.parameters()])]:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    monkeypatch.setenv("TKIT_THREADS", "2")
    assert_module_grads(cell, x, *state, tol=1e-7)


def test_par_matmul_splits_rows_or_columns(threaded, monkeypatch, rng):
    monkeypatch.setattr(threaded, "PAR_MIN_FLOPS", 0)
    for shape_a, shape_b in [((9, 5), (5, 3)), ((3, 5), (5, 11))]:   # more rows / more columns
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        np.testing.assert_allclose(threaded.par_matmul(a, b), a @ b, rtol=1e-13)
        out = np.empty((shape_a[0], shape_b[1]))
        assert threaded.par_matmul(a, b, out=out) is out


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_of_earlier_windows_survive_later_ones(kind, rng):
    """An output still held by the caller is never overwritten by the next window."""
    rnn = RNN(kind, E, H, rng=rng)
    x1, x2 = (rng.standard_normal((T, B, E)).astype(np.float32) for _ in range(2))
    with no_grad():
        rnn.reset_state(B)
        out1 = rnn(x1)
        kept = out1.copy()
        rnn(x2)
        rnn(x2)
    np.testing.assert_array_equal(out1, kept)
