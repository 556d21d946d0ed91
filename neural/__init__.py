"""neural: NumPy module-based autodiff, layers, Transformer and RNN language models, optimizers, training.

Imports run `neural -> ngram -> tokenizers_kit`; nothing here imports `cli`.
"""
from __future__ import annotations

import os

from neural.module import Module, Parameter, no_grad

__all__ = ["Module", "Parameter", "load_model", "no_grad"]


def load_model(path: str | os.PathLike[str]):
    """Load a neural `.npz` model (Transformer or RNN), dispatching on the file's `format`."""
    from ngram.npzfile import read_meta
    from tokenizers_kit.errors import ModelFileError

    fmt = read_meta(path).get("format")
    if fmt == "tkit-transformer":
        from neural.transformer import TransformerLM

        return TransformerLM.load(path)
    if fmt == "tkit-rnn":
        from neural.rnn_lm import RNNLanguageModel

        return RNNLanguageModel.load(path)
    raise ModelFileError(f"{path} is a {fmt} file, not a neural model: use it with the matching command")
