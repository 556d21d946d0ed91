"""The parameter shapes of the layers in `neural.layers` / `neural.rnn` / `neural.conv`, by the names
`named_parameters` gives.

A model class composes these into `param_shapes(cfg)`: the shapes a model file must hold, known before the
model is built (so a hostile config is refused without allocating anything). tests/neural/
test_model_file_checks.py checks, for generated configs, that they equal the shapes of a model really built.
"""
from __future__ import annotations

Shapes = dict[str, tuple[int, ...]]


def linear(prefix: str, n_in: int, n_out: int, bias: bool = True) -> Shapes:
    out: Shapes = {f"{prefix}.weight": (n_in, n_out)}
    if bias:
        out[f"{prefix}.bias"] = (n_out,)
    return out


def layer_norm(prefix: str, dim: int, bias: bool = True) -> Shapes:
    out: Shapes = {f"{prefix}.weight": (dim,)}
    if bias:
        out[f"{prefix}.bias"] = (dim,)
    return out


def embedding(prefix: str, num: int, dim: int) -> Shapes:
    return {f"{prefix}.weight": (num, dim)}


def recurrent_cell(prefix: str, n_gates: int, n_in: int, hidden: int, hidden_bias: bool) -> Shapes:
    """w_ih (In, G*H), w_hh (H, G*H), b (G*H), and the GRU's separate hidden-side bias b_hh."""
    gh = n_gates * hidden
    out: Shapes = {f"{prefix}.w_ih": (n_in, gh), f"{prefix}.w_hh": (hidden, gh), f"{prefix}.b": (gh,)}
    if hidden_bias:
        out[f"{prefix}.b_hh"] = (gh,)
    return out


def count(shapes: Shapes) -> int:
    """Total number of elements (Python ints: no overflow for absurd sizes)."""
    total = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def causal_conv(prefix: str, kernel: int, c_in: int, c_out: int) -> Shapes:
    """`neural.conv.CausalConv1d`: weight (k*C_in, C_out) tap-major, bias (C_out,)."""
    return linear(prefix, kernel * c_in, c_out)
