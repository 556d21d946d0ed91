"""Recurrent layers as Modules: Elman (tanh), GRU, LSTM and UGRNN cells, and `RNN`, a stack of them that
runs whole windows and carries its state from one window to the next (truncated BPTT).

Everything is time-major, as `torch.nn.LSTM` by default: x (T, B, In) -> hs (T, B, H). A cell's forward runs
the whole window with the time loop inside (`neural.elman_kernels`, `gru_kernels`, `lstm_kernels`,
`ugrnn_kernels`, after the input projection of `neural.rnn_projection`), so it is ONE call per window and
follows the module protocol directly (one cache per call):

    cell.forward(x, h0[, c0]) -> (hs, h_T[, c_T])
    cell.forward_ids(table, ids, h0[, c0])     the same on x = table.data[ids], the lookup fused into the
                                               input projection (the first layer of a language model)
    cell.backward(dhs | (dhs, dh_T[, dc_T])) -> (dx, dh0[, dc0])      dx is None after forward_ids

Weights are stored (in, out) and biases follow PyTorch's equations, so a parity test can copy weights across:
`w_ih = weight_ih_l0.T`, `w_hh = weight_hh_l0.T`; the LSTM, Elman and UGRNN keep one bias (torch's b_ih + b_hh sum),
the GRU keeps both (its b_hn sits inside r * (...)).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from neural import rnn_reference as ref
from neural.elman_kernels import elman_backward, elman_forward
from neural.gru_kernels import gru_backward, gru_forward
from neural.layers import Dropout
from neural.lstm_kernels import LSTM_LAYOUT, lstm_backward, lstm_forward
from neural.module import Module, Parameter
from neural.rnn_ops import GateMajor
from neural.rnn_projection import (
    project,
    project_backward,
    project_ids,
    project_ids_backward,
)
from neural.ugrnn_kernels import ugrnn_backward, ugrnn_forward

State = tuple[np.ndarray, ...]


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float, dtype) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class RecurrentCell(Module):
    """A recurrent layer: `n_gates` blocks of H columns in w_ih (In, G*H) and w_hh (H, G*H).

    Init as PyTorch: every weight and bias U(-1/sqrt(H), 1/sqrt(H))."""

    kind: ClassVar[str] = ""
    n_gates: ClassVar[int] = 1
    n_state: ClassVar[int] = 1  # arrays in the carried state: (h,) or (h, c)

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float32) -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.input_size, self.hidden_size = input_size, hidden_size
        k = 1.0 / math.sqrt(hidden_size)
        gh = self.n_gates * hidden_size
        self.w_ih = Parameter(_uniform(rng, (input_size, gh), k, dtype), "w_ih")
        self.w_hh = Parameter(_uniform(rng, (hidden_size, gh), k, dtype), "w_hh")
        self.b = Parameter(_uniform(rng, (gh,), k, dtype), "b")

    def init_state(self, batch_size: int) -> State:
        return tuple(np.zeros((batch_size, self.hidden_size), dtype=self.w_hh.data.dtype)
                     for _ in range(self.n_state))

    # ---- a window: the module protocol -----------------------------------------------------------------
    def forward(self, x: np.ndarray, *state: np.ndarray) -> tuple[np.ndarray, ...]:
        """x (T, B, In), state (h0[, c0]) -> (hs (T, B, H), h_T[, c_T])."""
        out, cache = self._recur(project(x, self.w_ih.data, self.b.data, self._layout()), *state)
        self.save(("x", x, cache))
        return out

    def forward_ids(self, table: Parameter, ids: np.ndarray, *state: np.ndarray) -> tuple[np.ndarray, ...]:
        """`forward(table.data[ids], *state)` fused with the embedding lookup (ids (T, B)): the table is
        projected instead of every row of x, and backward adds d table into `table.grad` (returning None
        in place of dx)."""
        pre = project_ids(table.data, ids, self.w_ih.data, self.b.data, self._layout())
        out, cache = self._recur(pre, *state)
        self.save(("ids", (table, ids), cache))
        return out

    def backward(self, grad: Any) -> tuple[np.ndarray | None, ...]:
        """grad: dhs, or (dhs, dh_T[, dc_T]) with None for no gradient -> (dx, dh0[, dc0])."""
        mode, inputs, cache = self.saved()
        grads = tuple(grad) if isinstance(grad, tuple) else (grad,)
        grads += (None,) * (1 + self.n_state - len(grads))
        dpre, dstate = self._recur_backward(grads[0], cache, *grads[1:])
        if mode == "x":
            dx, dw_ih, db = project_backward(inputs, dpre, self.w_ih.data, self._layout())
        else:
            table, ids = inputs
            dx = None
            dw_ih, db = project_ids_backward(table.data, ids, dpre, self.w_ih.data, table.grad,
                                               self._layout())
        self.w_ih.grad += dw_ih
        self.b.grad += db
        return (dx, *dstate)

    # ---- what each cell defines ----------------------------------------------------------------------
    def _layout(self) -> GateMajor | None:
        """The layout the kernel wants its input pre-activations in (None: (T, B, G*H) as PyTorch)."""
        return None

    def _recur(self, pre: np.ndarray, *state: np.ndarray) -> tuple[tuple[np.ndarray, ...], Any]:
        """The time loop: -> ((hs, h_T[, c_T]), cache)."""
        raise NotImplementedError

    def _recur_backward(self, dhs: np.ndarray, cache: Any, *dlast: np.ndarray | None
                        ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """-> (d pre, (dh0[, dc0])), accumulating the recurrent weights' gradients."""
        raise NotImplementedError

    def step(self, x: np.ndarray, state: State) -> State:
        """One time step for incremental decoding, x (B, In) -> the new state (h first); keeps no cache."""
        raise NotImplementedError


class ElmanCell(RecurrentCell):
    """h_t = tanh(x_t W_ih + b + h_{t-1} W_hh)   (torch.nn.RNN, nonlinearity="tanh")."""

    kind = "elman"
    n_gates = 1

    def _recur(self, pre: np.ndarray, h0: np.ndarray) -> tuple[tuple[np.ndarray, ...], Any]:
        hs, cache = elman_forward(pre, self.w_hh.data, h0)
        return (hs, hs[-1]), cache

    def _recur_backward(self, dhs, cache, dh_last=None):
        dpre, dw_hh, dh0 = elman_backward(dhs, cache, self.w_hh.data, dh_last)
        self.w_hh.grad += dw_hh
        return dpre, (dh0,)

    def step(self, x: np.ndarray, state: State) -> State:
        return (ref.elman_step(x, self.w_ih.data, self.w_hh.data, self.b.data, state[0]),)


class LSTMCell(RecurrentCell):
    """PyTorch's LSTM, gates i, f, g, o: c_t = f c_{t-1} + i g, h_t = o tanh(c_t).

    `forget_bias` is added to the forget gate's bias at init (char-rnn and Jozefowicz et al. 2015 use 1.0:
    the cell remembers by default early in training); 0 gives PyTorch's init."""

    kind = "lstm"
    n_gates = 4
    n_state = 2

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float32, forget_bias: float = 0.0) -> None:
        super().__init__(input_size, hidden_size, rng, dtype)
        self.b.data[hidden_size:2 * hidden_size] += forget_bias

    def _layout(self) -> GateMajor:
        return LSTM_LAYOUT

    def _recur(self, pre: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> tuple[tuple[np.ndarray, ...], Any]:
        hs, c_last, cache = lstm_forward(pre, self.w_hh.data, h0, c0)
        return (hs, hs[-1], c_last), cache

    def _recur_backward(self, dhs, cache, dh_last=None, dc_last=None):
        dpre, dw_hh, dh0, dc0 = lstm_backward(dhs, cache, self.w_hh.data, dh_last, dc_last)
        self.w_hh.grad += dw_hh
        return dpre, (dh0, dc0)

    def step(self, x: np.ndarray, state: State) -> State:
        return ref.lstm_step(x, self.w_ih.data, self.w_hh.data, self.b.data, state[0], state[1])


class GRUCell(RecurrentCell):
    """PyTorch's GRU, gates r, z, n: n = tanh(x W_in + b_in + r (h W_hn + b_hn)), h_t = (1-z) n + z h_{t-1}.

    `b` is the input-side bias (torch's bias_ih) and `b_hh` the hidden-side one (bias_hh)."""

    kind = "gru"
    n_gates = 3

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float32) -> None:
        super().__init__(input_size, hidden_size, rng, dtype)
        rng = rng if rng is not None else np.random.default_rng(1)
        self.b_hh = Parameter(_uniform(rng, (3 * hidden_size,), 1.0 / math.sqrt(hidden_size), dtype), "b_hh")

    def _recur(self, pre: np.ndarray, h0: np.ndarray) -> tuple[tuple[np.ndarray, ...], Any]:
        hs, cache = gru_forward(pre, self.w_hh.data, self.b_hh.data, h0)
        return (hs, hs[-1]), cache

    def _recur_backward(self, dhs, cache, dh_last=None):
        dpre, dw_hh, db_hh, dh0 = gru_backward(dhs, cache, self.w_hh.data, dh_last)
        self.w_hh.grad += dw_hh
        self.b_hh.grad += db_hh
        return dpre, (dh0,)

    def step(self, x: np.ndarray, state: State) -> State:
        return (ref.gru_step(x, self.w_ih.data, self.w_hh.data, self.b.data, self.b_hh.data, state[0]),)


class UGRNNCell(RecurrentCell):
    """The Update-Gate RNN (Collins et al. 2017), gates u, c:
    u = σ(x W_iu + h W_hu + b_u), c = tanh(x W_ic + h W_hc + b_c), h_t = u h_{t-1} + (1 - u) c."""

    kind = "ugrnn"
    n_gates = 2

    def _recur(self, pre: np.ndarray, h0: np.ndarray) -> tuple[tuple[np.ndarray, ...], Any]:
        hs, cache = ugrnn_forward(pre, self.w_hh.data, h0)
        return (hs, hs[-1]), cache

    def _recur_backward(self, dhs, cache, dh_last=None):
        dpre, dw_hh, dh0 = ugrnn_backward(dhs, cache, self.w_hh.data, dh_last)
        self.w_hh.grad += dw_hh
        return dpre, (dh0,)

    def step(self, x: np.ndarray, state: State) -> State:
        return (ref.ugrnn_step(x, self.w_ih.data, self.w_hh.data, self.b.data, state[0]),)


CELLS: dict[str, type[RecurrentCell]] = {"elman": ElmanCell, "gru": GRUCell, "lstm": LSTMCell,
                                         "ugrnn": UGRNNCell}


def make_cell(kind: str, input_size: int, hidden_size: int, rng: np.random.Generator | None = None,
              dtype=np.float32, forget_bias: float = 0.0) -> RecurrentCell:
    if kind not in CELLS:
        raise ValueError(f"unknown RNN cell {kind!r}: choose {', '.join(CELLS)}")
    if kind == "lstm":
        return LSTMCell(input_size, hidden_size, rng, dtype, forget_bias=forget_bias)
    return CELLS[kind](input_size, hidden_size, rng, dtype)


class RNN(Module):
    """`n_layer` stacked cells over whole time-major windows, x (T, B, In) -> hs (T, B, H).

    The final state of each window is kept (`state`) and starts the next window, WITHOUT gradient: backward
    stops at the window's first step (truncated BPTT, as char-rnn). Dropout (inverted) applies to the outputs
    of every layer but the last, as `torch.nn.LSTM(dropout=p)`. `reset_state(B)` zeroes the state; a batch of
    another size resets it too.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, n_layer: int = 1, dropout: float = 0.0,
                 rng: np.random.Generator | None = None, dtype=np.float32, forget_bias: float = 0.0) -> None:
        super().__init__()
        if n_layer < 1:
            raise ValueError("an RNN needs at least one layer")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.cell, self.hidden_size, self.n_layer = cell, hidden_size, n_layer
        sizes = [input_size] + [hidden_size] * (n_layer - 1)
        self.layers = [make_cell(cell, n_in, hidden_size, rng, dtype, forget_bias) for n_in in sizes]
        self.drops = [Dropout(dropout, rng=np.random.default_rng(rng.integers(2**63)))
                      for _ in range(n_layer - 1)]
        self.state: list[State] | None = None

    # ---- carried state ------------------------------------------------------------------------------------
    def init_state(self, batch_size: int) -> list[State]:
        return [layer.init_state(batch_size) for layer in self.layers]

    def reset_state(self, batch_size: int) -> None:
        self.state = self.init_state(batch_size)

    def _cast_buffers(self, dtype: np.dtype) -> None:
        if self.state is not None:
            self.state = [tuple(a.astype(dtype) for a in s) for s in self.state]

    # ---- a window -----------------------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x, None)

    def forward_ids(self, table: Parameter, ids: np.ndarray) -> np.ndarray:
        """`forward(table.data[ids])` with the first layer fused with the embedding lookup (ids (T, B));
        backward then adds into `table.grad` and returns None."""
        return self._forward(ids, table)

    def _forward(self, x: np.ndarray, table: Parameter | None) -> np.ndarray:
        if self.state is None or self.state[0][0].shape[0] != x.shape[1]:
            self.reset_state(x.shape[1])
        assert self.state is not None
        new_state: list[State] = []
        for i, layer in enumerate(self.layers):
            if i:
                x = self.drops[i - 1](x)
            if i == 0 and table is not None:
                out = layer.forward_ids(table, x, *self.state[i])
            else:
                out = layer(x, *self.state[i])
            x = out[0]
            new_state.append(tuple(np.array(a) for a in out[1:]))  # copies: detached from this window's cache
        self.state = new_state
        return x

    def backward(self, dhs: np.ndarray) -> np.ndarray | None:
        for i in range(self.n_layer - 1, -1, -1):
            dhs = self.layers[i].backward(dhs)[0]  # no gradient into the carried-in state (TBPTT)
            if i:
                dhs = self.drops[i - 1].backward(dhs)
        return dhs

    # ---- one step (decoding) ------------------------------------------------------------------------------
    def step(self, x: np.ndarray, state: list[State]) -> tuple[np.ndarray, list[State]]:
        """x (B, In) -> (top hidden state (B, H), new per-layer state); eval mode (no dropout), no caches."""
        new_state = []
        for layer, s in zip(self.layers, state):
            s = layer.step(x, s)
            new_state.append(s)
            x = s[0]
        return x, new_state
