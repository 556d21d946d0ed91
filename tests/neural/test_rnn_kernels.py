"""The fast recurrent kernels (through the cells: projection + time loop, threaded row split) against the
plain loops of `neural.rnn_reference`: outputs, final states and every gradient, float64, several shapes,
batches of 16+ rows so the recurrence really runs split across the worker threads."""
import threading

import numpy as np
import pytest

from neural import rnn_reference as ref
from neural import thread_pool
from neural.module import Parameter
from neural.rnn import make_cell

KINDS = ["elman", "gru", "lstm"]
SHAPES = [(5, 16, 3, 8), (4, 19, 6, 12), (3, 32, 5, 256)]   # (T, B, In, H); H 256: blocked step products


@pytest.fixture(params=["2", "1"], ids=["threads", "serial"])
def threads(request, monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", request.param)
    if request.param == "2" and thread_pool.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: the recurrence stays serial")
    return int(request.param)


def _setup(kind, shape, seed=0):
    T, B, n_in, H = shape
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n_in, H, rng).to(np.float64)
    for p in cell.parameters():                   # away from 0 so the non-linearities matter
        p.data[...] = rng.uniform(-1.5, 1.5, p.shape) / np.sqrt(H)
    x = rng.standard_normal((T, B, n_in))
    state = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_state))
    grads = (rng.standard_normal((T, B, H)),) + tuple(rng.standard_normal((B, H)) for _ in range(cell.n_state))
    return cell, x, state, grads


def _reference(kind, cell, x, state, grads):
    """-> (outputs (hs, h_T[, c_T]), gradients dict) from the plain loops."""
    w = cell.w_ih.data, cell.w_hh.data
    if kind == "elman":
        hs, cache = ref.elman_forward(x, *w, cell.b.data, *state)
        return (hs, hs[-1]), ref.elman_backward(grads[0], cache, grads[1])
    if kind == "gru":
        hs, cache = ref.gru_forward(x, *w, cell.b.data, cell.b_hh.data, *state)
        return (hs, hs[-1]), ref.gru_backward(grads[0], cache, grads[1])
    hs, c_last, cache = ref.lstm_forward(x, *w, cell.b.data, *state)
    return (hs, hs[-1], c_last), ref.lstm_backward(grads[0], cache, grads[1], grads[2])


def _param_grads(kind, g):
    names = {"w_ih": "w_ih", "w_hh": "w_hh", "b": "b_ih" if kind == "gru" else "b"}
    if kind == "gru":
        names["b_hh"] = "b_hh"
    return {ours: g[theirs] for ours, theirs in names.items()}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_fast_kernels_match_the_reference(kind, shape, threads):
    cell, x, state, grads = _setup(kind, shape)
    out_ref, g_ref = _reference(kind, cell, x, state, grads)
    cell.zero_grad()
    out = cell(x, *state)
    din = cell.backward(grads)
    for a, b in zip(out, out_ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(din[0], g_ref["x"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(din[1], g_ref["h0"], rtol=1e-9, atol=1e-11)
    if kind == "lstm":
        np.testing.assert_allclose(din[2], g_ref["c0"], rtol=1e-9, atol=1e-11)
    params = dict(cell.named_parameters())
    for name, expected in _param_grads(kind, g_ref).items():
        np.testing.assert_allclose(params[name].grad, expected, rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_fused_embedding_path_matches_the_reference(kind, threads):
    """forward_ids (lookup fused into the projection, the LM's first layer) on a table smaller than the
    batch, so the projected table is gathered and d table summed per id."""
    T, B, E, H, V = 6, 16, 5, 8, 7
    cell, _, state, grads = _setup(kind, (T, B, E, H), seed=1)
    rng = np.random.default_rng(2)
    table = Parameter(rng.standard_normal((V, E)), "table")
    ids = rng.integers(0, V, (T, B))
    out_ref, g_ref = _reference(kind, cell, table.data[ids], state, grads)
    cell.zero_grad()
    out = cell.forward_ids(table, ids, *state)
    din = cell.backward(grads)
    for a, b in zip(out, out_ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert din[0] is None
    dtable = np.zeros_like(table.data)
    np.add.at(dtable, ids.reshape(-1), g_ref["x"].reshape(-1, E))
    np.testing.assert_allclose(table.grad, dtable, rtol=1e-9, atol=1e-11)
    params = dict(cell.named_parameters())
    for name, expected in _param_grads(kind, g_ref).items():
        np.testing.assert_allclose(params[name].grad, expected, rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_decoding_step_is_the_reference_step(kind):
    cell, x, state, _ = _setup(kind, (1, 16, 4, 8))
    out = cell(x, *state)
    stepped = cell.step(x[0], state)
    for a, b in zip(stepped, out[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_a_batch_of_16_rows_is_split_across_two_threads(monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", "2")
    if thread_pool.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here")
    seen = []
    thread_pool.run_rows(16, lambda lo, hi: seen.append((lo, hi, threading.current_thread().name)))
    assert sorted(s[:2] for s in seen) == [(0, 8), (8, 16)]
    names = {s[2] for s in seen}
    assert names == {threading.current_thread().name, *(n for n in names if n.startswith("tkit-worker"))}
    assert len(names) == 2
