"""Refuse a training run whose first step cannot fit in memory, before the model is built, and say what fits.

One step holds the parameters, their gradients, the optimizer's slots (Adam: m, v and a scratch buffer;
SGD: the velocity and a gradient copy), the model's fixed buffers and the activations of one batch
(`activation_floats`, from the model class).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from neural.model_file_checks import FLOAT_BYTES, param_count
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.memory import available_bytes, fits, human, largest_fitting

PARAM_COPIES = {"adamw": 7, "adam": 7, "sgd": 6}  # data, grad, slots, scratch, transient copies
SIZE_OPTIONS = ("hidden_size", "embedding_size", "n_embd", "channels", "kernel_size", "n_layer", "n_head", "block_size")


def training_bytes(model_cls: Any, cfg: Any, batch_size: int, optimizer: str = "adamw") -> int:
    floats = (PARAM_COPIES.get(optimizer, 7) * param_count(model_cls, cfg) + model_cls.buffer_floats(cfg)
              + model_cls.activation_floats(cfg, batch_size))
    return floats * FLOAT_BYTES


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def what_fits(model_cls: Any, cfg: Any, batch_size: int, optimizer: str, available: int,
              names: list[str]) -> list[str]:
    """For each option in `names`, the largest value that fits with every other option as given."""
    out = []
    for name in names:
        if name == "batch_size":
            best = largest_fitting(lambda v: training_bytes(model_cls, cfg, v, optimizer), batch_size, available)
        else:
            step = cfg.n_head if name == "n_embd" else 1
            best = largest_fitting(lambda v, n=name: training_bytes(model_cls, replace(cfg, **{n: v}), batch_size,
                                                                   optimizer),
                                   getattr(cfg, name), available, step)
        if best:
            out.append(f"{_option(name)} {best}")
    return out


def require_training_fits(model_cls: Any, cfg: Any, batch_size: int, optimizer: str,
                          given: list[str], held: int = 0) -> None:
    """ArgumentError if one training step of `cfg` would not fit in the memory available now (of which
    `held` bytes, e.g. a loaded model, are already in use); the message says which of the `given` size
    options (or, if none, the batch size) would fit."""
    need, have = training_bytes(model_cls, cfg, batch_size, optimizer), available_bytes()
    if have is not None:
        have += held
    if fits(need, have):
        return
    assert have is not None
    names = [n for n in given if n in (*SIZE_OPTIONS, "batch_size") and n != "n_head"] or ["batch_size"]
    options = what_fits(model_cls, cfg, batch_size, optimizer, have, names)
    hint = (f"{' or '.join(options)} would fit (each with the other options as given)" if options
            else f"lowering only one of {', '.join(map(_option, names))} is not enough: lower several")
    raise ArgumentError(f"one training step of this model needs about {human(need)} (parameters, optimizer state "
                        f"and activations) but {human(have)} of memory is available: {hint}")
