"""Pure NumPy kernels for recurrent layers (Elman, GRU, LSTM) over a whole time-major window.

A layer is split in two, so that the input-side work happens once per window, outside the time loop:

* the input projection `pre = x @ w_ih + b` of all T steps at once: ONE GEMM (`project`), or, when x is an
  embedding lookup, a gather from the projected table `(table @ w_ih + b)[ids]` (`project_ids`);
* the recurrence `*_forward(pre, w_hh, state0)`: per step only h @ w_hh and a few in-place elementwise ops
  on preallocated arrays. `*_backward` walks back through the steps producing d pre for every step, then
  d w_hh as one GEMM; `project_backward` / `project_ids_backward` give d x (or d table), d w_ih and d b,
  again with one GEMM each.

Layout follows PyTorch (`torch.nn.LSTM`/`GRU`/`RNN`, gate order i,f,g,o and r,z,n) with weights stored
(in, out) so `x @ w_ih` needs no transpose: w_ih (In, G*H), w_hh (H, G*H), biases (G*H,), G = 4, 3 or 1.
Shapes: x (T, B, In), pre (T, B, G*H), hs (T, B, H), states (B, H). The LSTM kernel keeps its
pre-activations gate-major instead, (4, T, B, H) (`GateMajor`, `LSTM_LAYOUT`): every gate of a step is then
a contiguous (B, H) block; the weights' gradients still come back in PyTorch's layout.

The time loops run on slices of the batch in parallel: the first slice in the calling thread, the others in
helper processes on shared-memory arrays (`neural.row_procs`; threads, `neural.rnn_threads`, where that
can't be used). Every `_*_rows` function works on views [:, lo:hi] of arrays the caller allocated from
`WORKSPACE` (so, in shared memory). The per-step product h @ w_hh goes
through `StepProduct` (OpenBLAS's small-matrix path, no packing of w_hh every step).

Non-linearities: the LSTM uses np.tanh (NumPy 2's SIMD tanh is faster than np.exp in float32 here: 1.3
vs 1.7 us for 16 x 256) and σ(a) = (1 + tanh(a/2)) / 2 (its sigmoid gates' pre-activations come halved).
The Elman and GRU kernels use exp: σ(a) = 1/(1+e^-a), tanh(a) = 2σ(2a) - 1 (exp overflowing to inf is
harmless, 1/(1+inf) = 0, and silenced).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from neural import row_procs, rnn_threads
from neural.row_procs import run_rows_shared
from neural.rnn_threads import par_matmul, run_rows


# ---- elementwise helpers (in place, `out` may be `a`) -----------------------------------------------------
def sigmoid_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = a if out is None else out
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def tanh_(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = a if out is None else out
    np.multiply(a, -2, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(2, out, out=out)
    out -= 1
    return out


class Workspace:
    """Big work arrays reused from one window to the next, so a training step does not page-fault ~13 MB
    of fresh memory every time (measured: 3,400 minor faults per LSTM step without it).

    An array is handed out again only when nothing but the pool refers to it (no cache, output or view
    of it is alive: `sys.getrefcount`), so reuse can never overwrite data still in use."""

    MAX_ARRAY = 32 << 20     # bytes; bigger arrays are not pooled
    MAX_TOTAL = 128 << 20    # bytes pooled at most

    def __init__(self) -> None:
        self._pool: dict[tuple, list[np.ndarray]] = {}
        self._bytes = 0

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        key = (tuple(shape), np.dtype(dtype).str)
        arrays = self._pool.setdefault(key, [])
        for arr in arrays:
            if sys.getrefcount(arr) <= 3:  # the list, `arr` and getrefcount's argument: unused
                return arr
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if nbytes > self.MAX_ARRAY or self._bytes + nbytes > self.MAX_TOTAL:
            return np.empty(shape, dtype)
        # pooled arrays live in shared memory when the recurrences run in helper processes
        arr = row_procs.shared_empty(shape, dtype) if row_procs.available() else np.empty(shape, dtype)
        arrays.append(arr)
        self._bytes += nbytes
        return arr

    def shareable(self, a: np.ndarray) -> np.ndarray:
        """a itself if helper processes can read it (or none are in use), else a pooled copy."""
        if not row_procs.available() or row_procs.in_shared_memory(a):
            return a
        out = self.empty(a.shape, a.dtype)
        out[...] = a
        return out

    def zeros_or_copy(self, like: np.ndarray, a: np.ndarray | None) -> np.ndarray:
        """A pooled array shaped as `like`: a copy of `a` (cast to like's dtype), or zeros if a is None."""
        out = self.empty(like.shape, like.dtype)
        if a is None:
            out.fill(0)
        else:
            out[...] = a
        return out


WORKSPACE = Workspace()


# ---- the per-step recurrent product, h @ w_hh ---------------------------------------------------------
SMALL_GEMM = 1_000_000  # M·N·K up to which OpenBLAS (SkylakeX+ kernels) multiplies without packing


def column_blocks(w: np.ndarray, rows: int) -> np.ndarray:
    """w (..., K, N) -> contiguous (..., N/nb, K, nb) column blocks for `StepProduct` with `rows` rows.

    Why: a step's product is small in M (B/threads rows) and big in K·N, so a plain GEMM spends much of its
    time packing w, every step. With nb columns a block (the largest power of two dividing N such that
    rows·K·nb <= SMALL_GEMM), each block goes to OpenBLAS's small-matrix kernel, which reads w as it is:
    one stacked np.matmul over the blocks (the loop over blocks runs in C). Measured for 16 rows, H 256
    (float32, one thread): (16, 256) @ (256, 1024) 96 -> 64 us, (16, 1024) @ w_hhᵀ (1024, 256) 175 -> 72 us
    (the transposed view was the slow part). nb = N (one block) when no smaller block fits."""
    k_dim, n = w.shape[-2:]
    nb = n & -n                                               # largest power of two dividing N
    while nb > 8 and rows * k_dim * nb > SMALL_GEMM:
        nb //= 2
    if nb < 8 or rows * k_dim * nb > SMALL_GEMM:
        nb = n
    blocks = w.reshape(*w.shape[:-1], n // nb, nb)            # (..., K, k, nb)
    return np.ascontiguousarray(np.moveaxis(blocks, -2, -3))


class StepProduct:
    """`out = a @ w` once per time step, for a fixed w (`column_blocks`) and a fixed output array: the
    blocked output view is built once, here, not every step (building it cost ~10 us a call, 15% of the
    product itself for 16 rows, H 256).

    out (..., M, N) or, with `indexed`, a stack of outputs (S, ..., M, N) written one at a time
    (`product(a, s)` -> out[s]). a (M, K), or (G, M, K) for a stacked w (G, K, N)."""

    def __init__(self, w: np.ndarray, out: np.ndarray, indexed: bool = False) -> None:
        self.blocks = column_blocks(w, out.shape[-2])
        k, nb = self.blocks.shape[-3], self.blocks.shape[-1]
        view = np.reshape(out, (*out.shape[:-1], k, nb), copy=False)  # (..., M, k, nb), raises rather than copy
        self.out = np.moveaxis(view, -2, -3)                           # (..., k, M, nb)
        self.indexed = indexed

    def __call__(self, a: np.ndarray, s: int = 0) -> None:
        np.matmul(a[..., None, :, :], self.blocks, out=self.out[s] if self.indexed else self.out)


def _flat(a: np.ndarray) -> np.ndarray:
    """(T, B, C) -> (T*B, C) without copying when possible."""
    return a.reshape(-1, a.shape[-1])


# ---- gate-major layout ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GateMajor:
    """Pre-activations stored gate-major, (G, T, B, H): block j holds PyTorch's gate `order[j]` times
    `scale[j]`. A step's gates are then G contiguous (B, H) blocks, so its elementwise ops run on whole
    contiguous arrays (a (B, H) slice of a (B, G·H) row costs 2-3x the time per element here) and each
    gate's weights are a (K, H) block of their own."""

    order: tuple[int, ...]
    scale: tuple[float, ...]

    def blocks(self, w: np.ndarray, scaled: bool = True) -> np.ndarray:
        """w (..., G·H) in PyTorch's column order -> (G, ..., H) in this order (times the scales): a fresh
        contiguous array (fancy indexing copies)."""
        g = len(self.order)
        out = np.ascontiguousarray(np.moveaxis(w.reshape(*w.shape[:-1], g, -1), -2, 0)[list(self.order)])
        if scaled:
            out *= np.array(self.scale, dtype=w.dtype).reshape(g, *[1] * (out.ndim - 1))
        return out

    def unblocks(self, blocks: np.ndarray) -> np.ndarray:
        """Inverse of `blocks(..., scaled=False)`: (G, ..., H) -> (..., G·H) in PyTorch's order."""
        torch_order = np.empty_like(blocks)
        torch_order[list(self.order)] = blocks
        return np.moveaxis(torch_order, 0, -2).reshape(*blocks.shape[1:-1], -1)


def _stacked_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[j] = a @ b[j] for a (M, K), b (G, K, N), out (G, M, N): the G products split across the workers
    when they are big enough to pay for it (whole products per worker: for dw_hh, 3.75 ms vs 4.2 ms with
    the rows of a split)."""
    g = b.shape[0]
    if g < 2 or a.shape[0] * b.size < rnn_threads.PAR_MIN_FLOPS:
        return np.matmul(a, b, out=out)
    unit = rnn_threads.MIN_ROWS            # run_rows splits rows, at least MIN_ROWS a worker: g items of unit
    run_rows(g * unit, lambda lo, hi: np.matmul(a, b[lo // unit:hi // unit], out=out[lo // unit:hi // unit]))
    return out


def _stacked_sum_matmul(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_j d[j] @ w[j]ᵀ for d (G, M, H), w (G, K, H) -> (M, K): d x of a gate-major d pre."""
    out = par_matmul(d[0], w[0].T)
    for j in range(1, d.shape[0]):
        out += par_matmul(d[j], w[j].T)
    return out


# ---- input projections, hoisted out of the time loop ------------------------------------------------------
def project(x: np.ndarray, w_ih: np.ndarray, b: np.ndarray, layout: GateMajor | None = None) -> np.ndarray:
    """pre = x @ w_ih + b for all T steps in one GEMM: (T, B, In) -> (T, B, G*H), or (G, T, B, H) in
    `layout` (one stacked GEMM)."""
    dtype = np.result_type(x, w_ih)
    if layout is None:
        out = WORKSPACE.empty((*x.shape[:2], w_ih.shape[1]), dtype)
        par_matmul(_flat(x), w_ih, out=_flat(out))
        out += b
        return out
    w3, b3 = layout.blocks(w_ih), layout.blocks(b)            # (G, In, H), (G, H)
    out = WORKSPACE.empty((w3.shape[0], *x.shape[:2], w3.shape[2]), dtype)
    _stacked_matmul(_flat(x), w3, out.reshape(w3.shape[0], -1, w3.shape[2]))
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
    out = WORKSPACE.empty(shape, proj.dtype)
    return np.take(proj, ids, axis=axis, out=out, mode="clip")  # ids checked above; "clip": unbuffered


def project_backward(x: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray,
                     layout: GateMajor | None = None) -> tuple[np.ndarray, ...]:
    """-> dx (T, B, In), dw_ih, db from the pre-activation gradients of all steps (two GEMMs, or two
    stacks of them in `layout`; dw_ih and db come back in PyTorch's order either way)."""
    if layout is None:
        dpre2 = _flat(dpre)
        return par_matmul(dpre2, w_ih.T).reshape(x.shape), par_matmul(_flat(x).T, dpre2), dpre2.sum(0)
    d3 = dpre.reshape(dpre.shape[0], -1, dpre.shape[-1])       # (G, T·B, H)
    dx = _stacked_sum_matmul(d3, layout.blocks(w_ih, scaled=False)).reshape(x.shape)
    x2t = _flat(x).T
    dw = _stacked_matmul(x2t, d3, np.empty((d3.shape[0], x2t.shape[0], d3.shape[2]), d3.dtype))
    return dx, layout.unblocks(dw), layout.unblocks(d3.sum(axis=1))


def project_ids_backward(table: np.ndarray, ids: np.ndarray, dpre: np.ndarray, w_ih: np.ndarray,
                         dtable: np.ndarray, layout: GateMajor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> dw_ih, db; adds d table into `dtable` (repeated ids add up).

    A small table (V <= 2E) first sums d pre per id, S = onehot(ids) @ d pre (V, G): one GEMM instead of
    the two of `project_backward`; dtable += S w_ihᵀ and dw_ih = tableᵀ S are then tiny."""
    v, e = table.shape
    flat_ids = ids.reshape(-1)
    if layout is None:
        dpre2 = _flat(dpre)
        if v <= 2 * e:
            s = par_matmul(_onehot(flat_ids, v, dpre.dtype), dpre2)    # (V, G·H)
            dtable += s @ w_ih.T
            return table.T @ s, s.sum(0)
        np.add.at(dtable, flat_ids, par_matmul(dpre2, w_ih.T))
        return par_matmul(table[flat_ids].T, dpre2), dpre2.sum(0)
    d3 = dpre.reshape(dpre.shape[0], -1, dpre.shape[-1])       # (G, T·B, H)
    w3 = layout.blocks(w_ih, scaled=False)                    # (G, E, H)
    if v <= 2 * e:
        s = _stacked_matmul(_onehot(flat_ids, v, dpre.dtype), d3,
                            np.empty((d3.shape[0], v, d3.shape[2]), d3.dtype))   # (G, V, H)
        dtable += np.matmul(s, w3.transpose(0, 2, 1)).sum(0)
        return layout.unblocks(np.matmul(table.T, s)), layout.unblocks(s.sum(axis=1))
    np.add.at(dtable, flat_ids, _stacked_sum_matmul(d3, w3))
    rows_t = table[flat_ids].T
    dw = _stacked_matmul(rows_t, d3, np.empty((d3.shape[0], e, d3.shape[2]), d3.dtype))
    return layout.unblocks(dw), layout.unblocks(d3.sum(axis=1))


def _onehot(flat_ids: np.ndarray, v: int, dtype: np.dtype) -> np.ndarray:
    """(V, N) with a 1 at [id, position] (pooled: it is consumed right away)."""
    onehot = WORKSPACE.empty((v, flat_ids.size), dtype)
    onehot.fill(0)
    onehot[flat_ids, np.arange(flat_ids.size)] = 1
    return onehot


# ---- Elman (tanh) ---------------------------------------------------------------------------------------
# h_t = tanh(x_t W_ih + b + h_{t-1} W_hh)

def elman_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` is consumed."""
    T, B = pre.shape[:2]
    hs = WORKSPACE.empty((T + 1, B, w_hh.shape[0]), w_hh.dtype)
    hs[0] = h0
    run_rows_shared(_elman_forward_rows, B, [(pre, 1), (WORKSPACE.shareable(w_hh), None), (hs, 1)])
    return hs[1:], (hs,)


def _elman_forward_rows(pre: np.ndarray, w_hh: np.ndarray, hs: np.ndarray) -> None:
    tmp = np.empty_like(hs[0])
    product = StepProduct(w_hh, tmp)
    with np.errstate(over="ignore"):
        for t in range(pre.shape[0]):
            product(hs[t])
            pre[t] += tmp
            tanh_(pre[t], out=hs[t + 1])


def elman_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                   dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre, dw_hh, dh0."""
    (hs,) = cache
    dpre = WORKSPACE.empty(hs[1:].shape, hs.dtype)
    np.multiply(hs[1:], hs[1:], out=dpre)
    np.subtract(1, dpre, out=dpre)                            # tanh' = 1 - h², later times dh
    dh0 = WORKSPACE.zeros_or_copy(hs[0], dh_last)
    run_rows_shared(_elman_backward_rows, dh0.shape[0],
                    [(WORKSPACE.shareable(dhs), 1), (dpre, 1), (WORKSPACE.shareable(w_hh).T, None), (dh0, 0)])
    return dpre, par_matmul(_flat(hs[:-1]).T, _flat(dpre)), dh0


def _elman_backward_rows(dhs: np.ndarray, dpre: np.ndarray, w_hh_t: np.ndarray, dh_next: np.ndarray) -> None:
    dh = np.empty_like(dh_next)
    product = StepProduct(w_hh_t, dh_next)
    for t in range(dpre.shape[0] - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        dpre[t] *= dh
        product(dpre[t])


# ---- LSTM (PyTorch gate order i, f, g, o) --------------------------------------------------------------
# i,f,o = σ(·), g = tanh(·) of x_t W_ih + b + h_{t-1} W_hh;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
#
# Inside the kernel the gates are gate-major in the order o, i, f, g: the sigmoid gates o, i, f are one
# contiguous block for the forward's σ(a) = (1 + tanh(a/2)) / 2 (their pre-activations come halved), and
# i, f, g are one block for the backward's d pre = dc * (local derivative).
LSTM_LAYOUT = GateMajor(order=(3, 0, 1, 2), scale=(0.5, 0.5, 0.5, 1.0))
_O, _I, _F, _G = 0, 1, 2, 3
LSTM_CHUNK = 16  # backward: steps whose local derivatives are computed together (one op per chunk)


def lstm_forward(pre: np.ndarray, w_hh: np.ndarray, h0: np.ndarray,
                 c0: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """-> hs (T, B, H), c_T (B, H), cache. `pre` (4, T, B, H) is in LSTM_LAYOUT (`project(..., LSTM_LAYOUT)`)
    and is consumed: it becomes the gate activations."""
    _, T, B, H = pre.shape
    gates = pre
    w = WORKSPACE.shareable(LSTM_LAYOUT.blocks(w_hh))              # (4, H, H), halved on o, i, f
    hs = WORKSPACE.empty((T + 1, B, H), w_hh.dtype)
    cs = WORKSPACE.empty((T + 1, B, H), w_hh.dtype)
    tcs = WORKSPACE.empty((T, B, H), w_hh.dtype)             # tanh(c_t)
    hs[0], cs[0] = h0, c0
    run_rows_shared(_lstm_forward_rows, B, [(gates, 2), (w, None), (hs, 1), (cs, 1), (tcs, 1)])
    return hs[1:], cs[T], (gates, cs, tcs, hs)


def _lstm_forward_rows(gates: np.ndarray, w: np.ndarray, hs: np.ndarray, cs: np.ndarray,
                       tcs: np.ndarray) -> None:
    """Ten NumPy calls a step, each on whole contiguous (B, H) blocks (or the (4, B, H) stack)."""
    _, T, B, H = gates.shape
    tmp = np.empty((4, B, H), dtype=gates.dtype)
    ig = np.empty((B, H), dtype=gates.dtype)
    product = StepProduct(w, tmp)
    for t in range(T):
        a = gates[:, t]                                       # (4, B, H): o, i, f, g
        product(hs[t])
        a += tmp
        np.tanh(a, out=a)                                     # tanh(pre/2) on o, i, f; tanh(pre) on g
        sig = a[:_G]
        sig *= 0.5
        sig += 0.5                                            # σ(pre) = (1 + tanh(pre/2)) / 2
        c = cs[t + 1]
        np.multiply(a[_F], cs[t], out=c)
        np.multiply(a[_I], a[_G], out=ig)
        c += ig
        np.tanh(c, out=tcs[t])
        np.multiply(a[_O], tcs[t], out=hs[t + 1])


def lstm_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray, dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (4, T, B, H) in LSTM_LAYOUT (of the unscaled pre-activations), dw_hh (H, 4H) in PyTorch's
    order, dh0, dc0. Consumes the cache: the gate activations are overwritten with the pre-activation
    gradients, step by step while they are hot in cache."""
    gates, cs, tcs, hs = cache
    H = hs.shape[-1]
    dh0 = WORKSPACE.zeros_or_copy(hs[0], dh_last)
    dc0 = WORKSPACE.zeros_or_copy(hs[0], dc_last)
    w_t = WORKSPACE.shareable(LSTM_LAYOUT.blocks(w_hh, scaled=False)).transpose(0, 2, 1)   # (4, H, H): W_gateᵀ
    run_rows_shared(_lstm_backward_rows, dh0.shape[0], [(WORKSPACE.shareable(dhs), 1), (gates, 2), (cs, 1),
                                                        (tcs, 1), (w_t, None), (dh0, 0), (dc0, 0)])
    d3 = gates.reshape(4, -1, H)                              # (4, T·B, H)
    dw = _stacked_matmul(_flat(hs[:-1]).T, d3, np.empty((4, H, H), dtype=hs.dtype))
    return gates, LSTM_LAYOUT.unblocks(dw), dh0, dc0


def _lstm_backward_rows(dhs: np.ndarray, gates: np.ndarray, cs: np.ndarray, tcs: np.ndarray,
                        w_t: np.ndarray, dh_next: np.ndarray, dc_next: np.ndarray) -> None:
    """dh_next, dc_next: the gradients flowing into the last step, updated in place to dh0, dc0.

    The local derivatives (d pre / dc for i, f, g; d pre / dh for o; dc / dh) depend on no gradient, so
    they are computed for LSTM_CHUNK steps at a time (a dozen calls per chunk instead of per step);
    the step loop is then seven calls and the product with W_hhᵀ."""
    _, T, B, H = gates.shape
    dt = gates.dtype
    n_max = min(LSTM_CHUNK, T)
    dh, dc = np.empty_like(dh_next), np.empty_like(dh_next)
    loc = np.empty((4, n_max, B, H), dtype=dt)               # o: tanh(c) σ'(o); i: g σ'(i); f: c_{t-1} σ'(f);
    p = np.empty((n_max, B, H), dtype=dt)                     # g: i (1 - g²).   p: dc/dh = o (1 - tanh²(c))
    tmp = np.empty((4, B, H), dtype=dt)
    product = StepProduct(w_t, tmp)
    for end in range(T, 0, -n_max):
        start = max(0, end - n_max)
        a, tc, lc, pc = gates[:, start:end], tcs[start:end], loc[:, :end - start], p[:end - start]
        np.subtract(1, a[:_G], out=lc[:_G])
        lc[:_G] *= a[:_G]                                     # σ' of o, i, f
        lc[_O] *= tc
        lc[_I] *= a[_G]
        lc[_F] *= cs[start:end]
        np.multiply(a[_G], a[_G], out=lc[_G])
        np.subtract(1, lc[_G], out=lc[_G])
        lc[_G] *= a[_I]
        np.multiply(tc, tc, out=pc)
        np.subtract(1, pc, out=pc)
        pc *= a[_O]
        for t in range(end - 1, start - 1, -1):
            j = t - start
            a = gates[:, t]                                   # (4, B, H) -> d pre
            np.add(dhs[t], dh_next, out=dh)
            np.multiply(dh, pc[j], out=dc)
            dc += dc_next
            np.multiply(dc, a[_F], out=dc_next)               # dc_{t-1}
            np.multiply(lc[_I:, j], dc, out=a[_I:])           # d pre_{i,f,g}
            np.multiply(lc[_O, j], dh, out=a[_O])             # d pre_o
            product(a)                                        # (4, B, H): d pre_gate W_gateᵀ
            np.add.reduce(tmp, axis=0, out=dh_next)


# ---- GRU (PyTorch's equations, gate order r, z, n) -------------------------------------------------------
# r, z = σ(x W_i{r,z} + b_i{r,z} + h W_h{r,z} + b_h{r,z});  n = tanh(x W_in + b_in + r (h W_hn + b_hn))
# h_t = (1 - z) n + z h_{t-1}

def gru_forward(pre: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                h0: np.ndarray) -> tuple[np.ndarray, tuple]:
    """-> hs (T, B, H), cache. `pre` (the input side x W_ih + b_ih) is consumed: it becomes r, z, n."""
    T, B = pre.shape[:2]
    act = pre                                                 # (T, B, 3H)
    hp = WORKSPACE.empty(act.shape, act.dtype)                # h W_hh + b_hh (its n part is kept)
    hs = WORKSPACE.empty((T + 1, B, w_hh.shape[0]), w_hh.dtype)
    hs[0] = h0
    run_rows_shared(_gru_forward_rows, B, [(act, 1), (hp, 1), (WORKSPACE.shareable(w_hh), None),
                                           (WORKSPACE.shareable(b_hh), None), (hs, 1)])
    return hs[1:], (act, hp, hs)


def _gru_forward_rows(act: np.ndarray, hp: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                      hs: np.ndarray) -> None:
    T, B, H3 = act.shape
    H = H3 // 3
    tmp = np.empty((B, H), dtype=act.dtype)
    product = StepProduct(w_hh, hp, indexed=True)
    with np.errstate(over="ignore"):
        for t in range(T):
            product(hs[t], t)
            hp[t] += b_hh
            rz = act[t, :, :2 * H]
            rz += hp[t, :, :2 * H]
            sigmoid_(rz)
            n = act[t, :, 2 * H:]
            np.multiply(rz[:, :H], hp[t, :, 2 * H:], out=tmp)
            n += tmp
            tanh_(n)
            h = hs[t + 1]
            np.subtract(hs[t], n, out=h)
            h *= rz[:, H:]
            h += n


def gru_backward(dhs: np.ndarray, cache: tuple, w_hh: np.ndarray,
                 dh_last: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """-> dpre (input side), dw_hh, db_hh, dh0. Consumes the cache: r, z, n become the input-side
    pre-activation gradients and h W_hh + b_hh the hidden-side ones, step by step."""
    act, hp, hs = cache
    dh0 = WORKSPACE.zeros_or_copy(hs[0], dh_last)
    run_rows_shared(_gru_backward_rows, dh0.shape[0], [(WORKSPACE.shareable(dhs), 1), (act, 1), (hp, 1),
                                                       (hs, 1), (WORKSPACE.shareable(w_hh).T, None), (dh0, 0)])
    dhp2 = _flat(hp)
    return act, par_matmul(_flat(hs[:-1]).T, dhp2), dhp2.sum(0), dh0


def _gru_backward_rows(dhs: np.ndarray, act: np.ndarray, hp: np.ndarray, hs: np.ndarray,
                       w_hh_t: np.ndarray, dh_next: np.ndarray) -> None:
    T, B, H3 = act.shape
    H = H3 // 3
    dh, direct, t1, t2, dn = (np.empty_like(dh_next) for _ in range(5))
    product = StepProduct(w_hh_t, dh_next)
    for t in range(T - 1, -1, -1):
        r, z, n = act[t, :, :H], act[t, :, H:2 * H], act[t, :, 2 * H:]
        hn = hp[t, :, 2 * H:]
        np.add(dhs[t], dh_next, out=dh)
        np.multiply(dh, z, out=direct)                        # dh_{t-1} through z h_{t-1}
        np.subtract(hs[t], n, out=t1)
        t1 *= dh                                              # dz = dh (h_{t-1} - n)
        np.subtract(1, z, out=t2)                             # 1 - z
        np.multiply(n, n, out=dn)
        np.subtract(1, dn, out=dn)
        dn *= t2
        dn *= dh                                              # d pre_n = dh (1 - z)(1 - n²)
        t1 *= t2
        z *= t1                                               # d pre_z = dz σ'(z)
        np.subtract(1, r, out=t2)
        t2 *= r
        t2 *= hn                                              # d pre_n -> d pre_r: hn σ'(r)
        np.multiply(dn, r, out=hn)                            # d(h W_hn + b_hn) = d pre_n r
        np.multiply(dn, t2, out=r)                            # d pre_r
        n[...] = dn
        hp[t, :, :2 * H] = act[t, :, :2 * H]                  # r, z: same gradient on both sides
        product(hp[t])
        dh_next += direct


# ---- single steps for incremental decoding (no cache; plain and obviously right) -------------------------
def _sigmoid(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def elman_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.tanh(x @ w_ih + b + h @ w_hh)


def lstm_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, h: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    H = h.shape[-1]
    pre = x @ w_ih + b + h @ w_hh
    i, f, o = _sigmoid(pre[..., :H]), _sigmoid(pre[..., H:2 * H]), _sigmoid(pre[..., 3 * H:])
    c = f * c + i * np.tanh(pre[..., 2 * H:3 * H])
    return o * np.tanh(c), c


def gru_step(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
             h: np.ndarray) -> np.ndarray:
    H = h.shape[-1]
    xp, hp = x @ w_ih + b_ih, h @ w_hh + b_hh
    r = _sigmoid(xp[..., :H] + hp[..., :H])
    z = _sigmoid(xp[..., H:2 * H] + hp[..., H:2 * H])
    n = np.tanh(xp[..., 2 * H:] + r * hp[..., 2 * H:])
    return (1 - z) * n + z * h
