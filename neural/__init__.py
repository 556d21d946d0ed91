"""neural: NumPy module-based autodiff, layers, Transformer and RNN language models, optimizers, training.

Imports run `neural -> ngram -> tokenizers_kit`; nothing here imports `cli`.
"""
from __future__ import annotations

import os

from neural.module import Module, Parameter, no_grad
from neural.trainable import TrainableLM

__all__ = ["Module", "Parameter", "TrainableLM", "load_model", "no_grad"]


def load_model(path: str | os.PathLike[str]) -> TrainableLM:
    """Load a neural `.npz` model (Transformer or RNN) by the file's `format`; a training checkpoint
    gives the model it holds."""
    from neural.checkpoint import FORMAT as CHECKPOINT
    from neural.checkpoint import load_checkpoint_model, model_class
    from ngram.npzfile import read_meta
    from tokenizers_kit.errors import ModelFileError

    fmt = read_meta(path).get("format")
    if fmt == CHECKPOINT:
        return load_checkpoint_model(path)
    if fmt in ("tkit-transformer", "tkit-rnn"):
        return model_class(fmt).load(path)
    raise ModelFileError(f"{path} is a {fmt} file, not a neural model: use it with the matching command")
