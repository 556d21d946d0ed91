"""Recurrences in helper processes (`neural.row_procs`): the same numbers as the threaded run, bit for bit,
and a fall-back to threads whenever the processes can't be used."""
from __future__ import annotations

import numpy as np
import pytest

from neural import rnn_math as K
from neural import row_procs
from neural.rnn import make_cell
from neural.rnn_threads import single_blas

pytestmark = pytest.mark.skipif(not row_procs.available(), reason="needs Linux memfds and 2+ workers")

B, T, E, H = 32, 12, 16, 48   # 32 rows: two ranges of 16, the second in a helper


def _run_cell(kind: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Forward + backward of one window through a fresh cell; every output and gradient."""
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, E, H, np.random.default_rng(1))
    x = rng.standard_normal((T, B, E)).astype(np.float32)
    state = tuple(rng.standard_normal((B, H)).astype(np.float32) for _ in range(cell.n_state))
    dhs = rng.standard_normal((T, B, H)).astype(np.float32)
    with single_blas():
        out = cell.forward(x, *state)
        dx, *dstate = cell.backward(dhs)
    res = {"hs": np.array(out[0]), "dx": dx, **{f"dstate{i}": d for i, d in enumerate(dstate)}}
    res.update({name: p.grad.copy() for name, p in cell.named_parameters()})
    return res


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman"])
def test_processes_give_the_threads_numbers_exactly(kind, monkeypatch):
    before = row_procs.stats["calls"]
    in_procs = _run_cell(kind)
    assert row_procs.stats["calls"] >= before + 2, "forward and backward should have used the helpers"
    monkeypatch.setenv("TKIT_PROCS", "0")
    in_threads = _run_cell(kind)
    assert in_procs.keys() == in_threads.keys()
    for name in in_procs:
        assert np.array_equal(in_procs[name], in_threads[name]), name


def test_arrays_outside_shared_memory_run_in_threads():
    hs = np.zeros((T + 1, B, H), np.float32)          # plain memory: the helpers could not see it
    pre = np.random.default_rng(0).standard_normal((T, B, H)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((H, H)).astype(np.float32) * 0.1
    before = row_procs.stats["calls"]
    with single_blas():
        row_procs.run_rows_shared(K._elman_forward_rows, B, [(pre.copy(), 1), (w, None), (hs, 1)])
    assert row_procs.stats["calls"] == before
    ref = np.zeros_like(hs)
    with single_blas():
        K._elman_forward_rows(pre.copy(), w, ref)
    np.testing.assert_allclose(hs, ref, rtol=1e-6, atol=1e-6)


def test_a_dead_helper_is_replaced_and_the_result_still_right():
    first = _run_cell("lstm")
    for helper in row_procs._helpers:
        helper.proc.kill()
        helper.proc.wait()
    again = _run_cell("lstm")          # the send fails: this call runs in threads, the next starts helpers
    for name in first:
        assert np.array_equal(first[name], again[name]), name
    before = row_procs.stats["calls"]
    _run_cell("lstm")
    assert row_procs.stats["calls"] >= before + 2
    assert all(h.proc.poll() is None for h in row_procs._helpers)


def test_an_error_in_the_helper_is_raised_here(monkeypatch):
    def not_in_the_helper(a):  # exists in this process's rnn_math only
        a[...] = 1
    monkeypatch.setattr(K, "not_in_the_helper", not_in_the_helper, raising=False)
    a = K.WORKSPACE.empty((B, 4), np.float32)
    with pytest.raises(RuntimeError, match="row helper.*not_in_the_helper"):
        row_procs.run_rows_shared(not_in_the_helper, B, [(a, 0)])
    _run_cell("gru")                   # and the next call works again


def test_pooled_arrays_are_not_handed_out_while_a_view_is_alive():
    ws = K.Workspace()
    a = ws.empty((64, 32), np.float32)
    view = a[1:]
    del a
    b = ws.empty((64, 32), np.float32)
    assert not np.shares_memory(b, view)
    del b, view
    c = ws.empty((64, 32), np.float32)
    assert len(ws._pool[((64, 32), np.dtype(np.float32).str)]) == 2   # c reuses one of the two
    del c
