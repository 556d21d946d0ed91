"""neural: NumPy module-based autodiff, layers, Transformer, RNN and causal CNN language models, optimizers,
training.

Imports run `neural -> ngram -> tokenizers_kit`; nothing here imports `cli`.
"""
from __future__ import annotations

import os

from neural.module import Module, Parameter, no_grad
from neural.trainable import TrainableLM
from ngram.lm import LanguageModel
from tokenizers_kit.simple import TextTokenizer

__all__ = ["Module", "Parameter", "TrainableLM", "load_model", "no_grad"]

ARPA_SUFFIXES = (".arpa", ".arpa.gz", ".lm", ".lm.gz")


def load_model(path: str | os.PathLike[str], tokenizer: TextTokenizer | str | None = None,
               adapter: str | os.PathLike[str] | None = None) -> LanguageModel:
    """Any language model file tkit reads, by its kind: ARPA (word-level unless `tokenizer` is given), an
    n-gram `.npz`, a neural `.npz` (Transformer, RNN or causal CNN) or a training checkpoint (the model it
    holds). `.npz` models carry their own tokenizer, so `tokenizer` must then be left out. `adapter` names a LoRA
    adapter file (`tkit finetune --adapter-only`) to merge into the Transformer at `path`."""
    if adapter is not None:
        from neural.adapter_files import apply_adapter

        return apply_adapter(load_model(path, tokenizer), adapter)  # type: ignore[arg-type]
    from neural.checkpoint import FORMAT as CHECKPOINT
    from neural.checkpoint import load_checkpoint_model, model_class
    from ngram import load_ngram
    from ngram.npzfile import check_model_file, read_meta
    from tokenizers_kit.errors import ModelFileError, TkitError

    p = check_model_file(path)
    from ngram.kenlm.as_ngram import is_kenlm_binary

    if p.name.lower().endswith(ARPA_SUFFIXES) or is_kenlm_binary(p):
        return load_ngram(p, tokenizer=tokenizer)
    fmt = read_meta(p).get("format")
    if tokenizer is not None:
        raise TkitError(f"{p} carries its own tokenizer: drop -t/--tokenizer")
    if fmt == "tkit-ngram":
        return load_ngram(p)
    if fmt == CHECKPOINT:
        return load_checkpoint_model(p)
    if fmt in ("tkit-transformer", "tkit-rnn", "tkit-cnn", "tkit-mlm"):
        return model_class(fmt).load(p)
    raise ModelFileError(f"{p} is a {fmt} file, which is not a language model tkit can load")
