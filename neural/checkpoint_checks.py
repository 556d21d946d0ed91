"""Everything `--resume` reads from a checkpoint besides the model, checked before training continues.

The model part is checked by `model_file_checks`; this module checks the trainer's record (config, step,
random states, data cursor, history), the optimizer's counters and slot arrays (names and shapes derived
from a real optimizer of the recorded kind, values finite, Adam's second moments non-negative) and the
carried RNN state. Each check raises ModelFileError saying what is wrong (the caller names the file).
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from neural.config_checks import DROPOUT, SEED, config_problems
from neural.model_file_checks import check_arrays
from neural.module import Parameter
from neural.optim import make_optimizer
from neural.trainable import TrainableLM
from tokenizers_kit.errors import ModelFileError

MAX_COUNT = 2**53  # steps, positions: beyond this a JSON number is no longer an exact integer
OPTIMIZERS = ("adamw", "adam", "sgd")
UNIT = {"min": 0.0, "max": 1.0, "max_open": True}
# TrainConfig's ranges (its dataclass carries none); ints default to >= 1
TRAIN_RANGES: dict[str, dict] = {
    "lr": {"min": 0.0}, "min_lr": {"min": 0.0}, "warmup": {"min": 0}, "decay_steps": {"min": 0},
    "optimizer": {"choices": OPTIMIZERS}, "weight_decay": {"min": 0.0}, "beta1": UNIT, "beta2": UNIT,
    "momentum": {"min": 0.0, "max": 1.0}, "grad_clip": {"min": 0.0}, "val_every": {"min": 0},
    "eval_batches": {"min": 0}, "checkpoint_every": {"min": 0}, "seed": SEED, "val_fraction": DROPOUT,
}


def _count(name: str, value: Any, high: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFileError(f"its {name} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= high:
        raise ModelFileError(f"its {name} {value} is outside [0, {high}]")
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ModelFileError(f"its {name} must be a finite non-negative number (got {str(value)[:40]})")
    return float(value)


def _generator_state(name: str, state: Any) -> None:
    """A state a NumPy Generator accepts (tried on a throwaway one)."""
    try:
        np.random.default_rng(0).bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
        raise ModelFileError(f"its {name} is not a valid random generator state") from None


def _history(rows: Any) -> None:
    if not isinstance(rows, list):
        raise ModelFileError("its loss history is not a list")
    for row in rows:
        if not isinstance(row, dict) or "step" not in row or "train_loss" not in row:
            raise ModelFileError("its loss history has a row without step and train_loss")
        _count("history step", row["step"])
        for key in ("train_loss", "val_loss", "lr", "elapsed_s"):
            v = row.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise ModelFileError(f"its loss history has a {key} that is not a number")


def check_trainer_state(st: Any) -> Any:
    """The trainer record, checked; returns its training config (a `TrainConfig`)."""
    if not isinstance(st, dict):
        raise ModelFileError("its trainer record is not a JSON object")
    for key in ("step", "config", "rng"):
        if key not in st:
            raise ModelFileError(f"its trainer record lacks {key!r}")
    from neural.trainer import (
        TrainConfig,  # the trainer imports this package's checkpoint module
    )

    problems = config_problems(TrainConfig, st["config"], TRAIN_RANGES)
    if problems:
        raise ModelFileError(f"its training config is wrong: {'; '.join(problems)}")
    cfg = TrainConfig.from_dict(st["config"])
    _count("step", st["step"], cfg.steps)
    _generator_state("batch random state", st["rng"])
    states = st.get("dropout_rngs", [])
    if not isinstance(states, list):
        raise ModelFileError("its dropout random states are not a list")
    for s in states:
        _generator_state("dropout random state", s)
    _count("data position", st.get("position", 0))
    _history(st.get("history", []))
    _number("elapsed time", st.get("elapsed", 0.0))
    data = st.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ModelFileError("its data fingerprints are not strings")
    return cfg


def check_optimizer(meta: Any, arrays: dict[str, np.ndarray], model: TrainableLM, kind: str, step: int) -> None:
    """The optimizer's counters and slots: the names a real `kind` optimizer over the model's parameters
    writes, each of its parameter's shape, finite (and v >= 0 for Adam)."""
    if not isinstance(meta, dict):
        raise ModelFileError("its optimizer record is not a JSON object")
    if meta.get("kind") != kind:
        raise ModelFileError(f"its optimizer is {str(meta.get('kind'))[:20]!r} but its training config says {kind!r}")
    if _count("optimizer step count", meta.get("t")) != step:
        raise ModelFileError(f"its optimizer has taken {meta['t']} steps but the trainer {step}")
    _number("learning rate", meta.get("lr"))
    shapes = dict((n, p.shape) for n, p in model.named_parameters())
    # one element per parameter: the slot names without allocating the real state
    probe = make_optimizer(kind, [(n, Parameter(np.zeros(1, np.float32))) for n in shapes], 0.0)
    expected = {key: shapes[key.split(":", 1)[1]] for key in probe.state_arrays()}
    check_arrays(expected, arrays, "optimizer array")
    for key, arr in arrays.items():
        if key.startswith("v:") and kind != "sgd" and (arr < 0).any():
            raise ModelFileError(f"optimizer array {key} holds negative second moments")


def check_carry(arrays: dict[str, np.ndarray], model: TrainableLM, batch_size: int) -> None:
    """The carried hidden state of a stateful model: none, or every layer's, (batch_size, H) each."""
    if not arrays:
        return
    if not model.stateful or not hasattr(model, "hidden_state_arrays"):
        raise ModelFileError("holds a carried hidden state, which this model does not have")
    model.reset_state(1)
    expected = {k: (batch_size, *a.shape[1:]) for k, a in model.hidden_state_arrays().items()}
    check_arrays(expected, arrays, "carried state")
