"""Everything a neural model file says is checked before the model is built.

A `.npz` model is a JSON record (format, config, tokenizer, vocabulary) and named weight arrays. The config
alone decides how much `from_config` allocates, so a hostile one ("hidden_size": 10**9, "n_head": 0, NaN)
must be refused first: its fields' types and ranges (`config_checks`), the vocabulary and tokenizer it
comes with, the memory the build needs, and every weight's name, dtype, shape and values against the
shapes the model class derives from the config (`param_shapes`). Only then is anything constructed.
"""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np

from neural.config_checks import config_problems
from neural.param_shapes import Shapes, count
from ngram.vocab import Vocabulary
from tokenizers_kit import tokenizer_from_spec
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.memory import available_bytes, fits, human
from tokenizers_kit.simple import TextTokenizer

FLOAT_BYTES = 4  # models are built in float32
MAX_VOCAB = 1 << 24


def _per_layer(model_cls: Any, cfg: Any, measure: Any) -> int:
    """`measure(param_shapes)` for cfg's n_layer, from the descriptions of one and two layers: the models
    repeat one layer's parameters, so the value is linear in n_layer, and an absurd n_layer is never
    expanded into a dict of absurd length."""
    one = measure(model_cls.param_shapes(replace(cfg, n_layer=1)))
    two = measure(model_cls.param_shapes(replace(cfg, n_layer=2)))
    return one + (cfg.n_layer - 1) * (two - one)


def param_count(model_cls: Any, cfg: Any) -> int:
    return _per_layer(model_cls, cfg, count)


def build_bytes(model_cls: Any, cfg: Any) -> int:
    """Memory a freshly built model holds: every parameter and its gradient, and the fixed buffers."""
    return (2 * param_count(model_cls, cfg) + model_cls.buffer_floats(cfg)) * FLOAT_BYTES


def checked_config(model_cls: Any, raw: Any, vocab_size: int, error: type[TkitError] = ArgumentError,
                   memory: bool = True) -> Any:
    """The model's config dataclass from `raw`, or `error` naming every problem; with `memory`, also refuses
    a model whose build would not fit in the memory available now."""
    problems = config_problems(model_cls.Config, raw)
    if problems:
        raise error("; ".join(problems))
    cfg = model_cls.Config.from_dict({**raw, "vocab_size": vocab_size})
    need, have = build_bytes(model_cls, cfg), available_bytes()
    if memory and not fits(need, have):
        raise error(f"the model needs {human(need)} to build but only {human(have or 0)} is available")
    return cfg


def check_arrays(shapes: Shapes, arrays: dict[str, Any], what: str = "weight") -> None:
    """Every expected array present, none unexpected, each a finite float array of exactly its shape.

    Raises ModelFileError naming the first problem (without the file: the caller adds it)."""
    missing = [n for n in shapes if n not in arrays]
    if missing:
        raise ModelFileError(f"lacks {what} {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    extra = [n for n in arrays if n not in shapes]
    if extra:
        raise ModelFileError(f"has an unexpected {what} {extra[0][:60]!r}")
    for name, want in shapes.items():
        arr = arrays[name]
        if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
            kind = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ModelFileError(f"{what} {name} has dtype {kind}, not float")
        if arr.shape != tuple(want):
            raise ModelFileError(f"{what} {name} has shape {arr.shape}, expected {tuple(want)} from the config")
        if not np.isfinite(arr).all():
            raise ModelFileError(f"{what} {name} holds NaN or infinite values")


def _vocab(raw: Any) -> Vocabulary:
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise ModelFileError("its vocabulary is not a list of strings")
    if not 1 <= len(raw) <= MAX_VOCAB:
        raise ModelFileError(f"its vocabulary has {len(raw)} tokens (expected 1 to {MAX_VOCAB})")
    return Vocabulary(raw)


def _tokenizer(raw: Any) -> TextTokenizer:
    if not isinstance(raw, str):
        raise ModelFileError(f"its tokenizer must be a string, not {type(raw).__name__}")
    try:
        return tokenizer_from_spec(raw)
    except TkitError as err:
        raise ModelFileError(f"its tokenizer is unusable ({err})") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as err:
        raise ModelFileError(f"its tokenizer is unusable ({type(err).__name__})") from None


def checked_record(model_cls: Any, meta: Any, arrays: dict[str, Any], prefix: str
                   ) -> tuple[Any, Vocabulary, TextTokenizer, dict[str, np.ndarray]]:
    """(config, vocabulary, tokenizer, weights by parameter name) of a model file's record, every part
    checked; ModelFileError (without the file name) otherwise."""
    if not isinstance(meta, dict):
        raise ModelFileError("its model record is not a JSON object")
    for key in ("config", "vocab", "tokenizer"):
        if key not in meta:
            raise ModelFileError(f"its model record lacks {key!r}")
    vocab = _vocab(meta["vocab"])
    raw = meta["config"]
    if isinstance(raw, dict) and "vocab_size" in raw and raw["vocab_size"] != len(vocab):
        raise ModelFileError(f"its config says vocab_size {raw['vocab_size']!r} but the vocabulary has {len(vocab)} "
                             "tokens")
    cfg = checked_config(model_cls, raw, len(vocab), ModelFileError)
    weights = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    expected = _per_layer(model_cls, cfg, len)
    if expected > len(weights) + 64:  # listing the names of an absurd n_layer would take long
        raise ModelFileError(f"holds {len(weights)} weight arrays but its config implies {expected}")
    check_arrays(model_cls.param_shapes(cfg), weights)
    return cfg, vocab, _tokenizer(meta["tokenizer"]), weights


def named(path: str | os.PathLike[str], err: TkitError, what: str = "model file") -> ModelFileError:
    """`err` as a one-line ModelFileError about `path`, saying what to do."""
    return ModelFileError(f"{what} {path}: {err}; it is corrupt or from another tool: re-create it")
