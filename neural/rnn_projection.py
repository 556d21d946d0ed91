"""The input side of a recurrent layer, hoisted out of the time loop: pre = x @ w_ih + b for all T steps
at once (one GEMM), or, when x is an embedding lookup, a gather from the projected table
(table @ w_ih + b)[ids]; and the backward of both (one GEMM per gradient).

Shapes: x (T, B, In), ids (T, B), table (V, E), w_ih (In, G·H), b (G·H,), pre (T, B, G·H) in PyTorch's
column order, or (G, T, B, H) in a `GateMajor` layout (the LSTM kernel's).
"""
from __future__ import annotations

import numpy as np

from neural.rnn_ops import GateMajor, flat, stacked_matmul, stacked_sum_matmul
from neural.thread_pool import par_matmul


def project(x: np.ndarray, w_ih: np.ndarray, b: np.ndarray, layout: GateMajor | None = None) -> np.ndarray:
    """pre = x @ w_ih + b: (T, B, In) -> (T, B, G·H), or (G, T, B, H) in `layout` (one stacked GEMM)."""
    dtype = np.result_type(x, w_ih)
    if layout is None:
        out = np.empty((*x.shape[:2], w_ih.shape[1]), dtype)
        par_matmul(flat(x), w_ih, out=flat(out))
        out += b
        return out
    w3, b3 = layout.blocks(w_ih), layout.blocks(b)            # (G, In, H), (G, H)
    out = np.empty((w3.shape[0], *x.shape[:2], w3.shape[2]), dtype)
    stacked_matmul(flat(x), w3, out.reshape(w3.shape[0], -1, w3.shape[2]))
    out += b3[:, None, None, :]
    return out


def project_ids(table: np.ndarray, ids: np.ndarray, w_ih: np.ndarray, b: np.ndarray,
                layout: GateMajor | None = None) -> np.ndarray:
    """`project(table[ids], ...)`; with fewer table rows than ids, the (V, E) table is projected once and
    its rows gathered (V·E·G multiply-adds instead of T·B·E·G)."""
    if table.shape[0] >= ids.size:
        return project(table[ids], w_ih, b, layout)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise IndexError(f"token ids must be in [0, {table.shape[0]})")
    if layout is None:
        proj = table @ w_ih                                   # (V, G·H)
        proj += b
        axis, shape = 0, (*ids.shape, proj.shape[1])
    else:
        proj = np.matmul(table, layout.blocks(w_ih))          # (G, V, H)
        proj += layout.blocks(b)[:, None, :]
        axis, shape = 1, (proj.shape[0], *ids.shape, proj.shape[2])
    out = np.empty(shape, proj.dtype)
    return np.take(proj, ids, axis=axis, out=out, mode="clip")  # ids checked above; "clip": unbuffered


def project_backward(x: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray,
                     layout: GateMajor | None = None) -> tuple[np.ndarray, ...]:
    """-> dx (T, B, In), dw_ih, db from the pre-activation gradients of all steps (two GEMMs, or two
    stacks of them in `layout`; dw_ih and db come back in PyTorch's order either way)."""
    if layout is None:
        dpre2 = flat(dpre)
        return par_matmul(dpre2, w_ih.T).reshape(x.shape), par_matmul(flat(x).T, dpre2), dpre2.sum(0)
    d3 = dpre.reshape(dpre.shape[0], -1, dpre.shape[-1])       # (G, T·B, H)
    dx = stacked_sum_matmul(d3, layout.blocks(w_ih, scaled=False)).reshape(x.shape)
    x2t = flat(x).T
    dw = stacked_matmul(x2t, d3, np.empty((d3.shape[0], x2t.shape[0], d3.shape[2]), d3.dtype))
    return dx, layout.unblocks(dw), layout.unblocks(d3.sum(axis=1))


def project_ids_backward(table: np.ndarray, ids: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray,
                         dtable: np.ndarray, layout: GateMajor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> dw_ih, db; adds d table into `dtable` (repeated ids add up).

    A small table (V <= 2E) first sums d pre per id, S = onehot(ids) @ d pre (V, G): one GEMM instead of
    the two of `project_backward`; dtable += S w_ihᵀ and dw_ih = tableᵀ S are then tiny."""
    v, e = table.shape
    flat_ids = ids.reshape(-1)
    if layout is None:
        dpre2 = flat(dpre)
        if v <= 2 * e:
            s = par_matmul(_onehot(flat_ids, v, dpre.dtype), dpre2)    # (V, G·H)
            dtable += s @ w_ih.T
            return table.T @ s, s.sum(0)
        np.add.at(dtable, flat_ids, par_matmul(dpre2, w_ih.T))
        return par_matmul(table[flat_ids].T, dpre2), dpre2.sum(0)
    d3 = dpre.reshape(dpre.shape[0], -1, dpre.shape[-1])       # (G, T·B, H)
    w3 = layout.blocks(w_ih, scaled=False)                    # (G, E, H)
    if v <= 2 * e:
        s = stacked_matmul(_onehot(flat_ids, v, dpre.dtype), d3,
                           np.empty((d3.shape[0], v, d3.shape[2]), d3.dtype))   # (G, V, H)
        dtable += np.matmul(s, w3.transpose(0, 2, 1)).sum(0)
        return layout.unblocks(np.matmul(table.T, s)), layout.unblocks(s.sum(axis=1))
    np.add.at(dtable, flat_ids, stacked_sum_matmul(d3, w3))
    rows_t = table[flat_ids].T
    dw = stacked_matmul(rows_t, d3, np.empty((d3.shape[0], e, d3.shape[2]), d3.dtype))
    return layout.unblocks(dw), layout.unblocks(d3.sum(axis=1))


def _onehot(flat_ids: np.ndarray, v: int, dtype: np.dtype) -> np.ndarray:
    """(V, N) with a 1 at [id, position]."""
    onehot = np.zeros((v, flat_ids.size), dtype)
    onehot[flat_ids, np.arange(flat_ids.size)] = 1
    return onehot
