"""The JSON metadata of a tkit n-gram `.npz`, checked field by field: it comes from a file, so every type and
range is verified before any of it sizes a loop, picks a class or reaches a constructor."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ngram.order_limits import MAX_MODEL_ORDER
from ngram.pruning import thresholds
from ngram.smoothing import SMOOTHINGS, Smoothing, make_smoothing
from tokenizers_kit.errors import ModelFileError, TkitError

VERSION = 1
KINDS = ("counts", "backoff")


def bad_model(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path} is a corrupt tkit n-gram model ({what}): re-create it")


@dataclass(frozen=True)
class NgramMeta:
    order: int
    vocab_size: int
    kind: str
    tokenizer: str | None
    smoothing: Smoothing | None  # kind "counts" only
    prune: list[int] | None


def _int(meta: dict[str, Any], key: str, low: int, high: int, path: Path) -> int:
    value = meta.get(key)
    if type(value) is not int or not low <= value <= high:  # bool is an int subclass: refuse it too
        raise bad_model(path, f"metadata {key!r} is {value!r}, not a whole number in [{low}, {high}]")
    return value


def _smoothing(meta: dict[str, Any], path: Path) -> Smoothing:
    name, params = meta.get("smoothing"), meta.get("params") or {}
    if not isinstance(name, str) or name not in SMOOTHINGS:
        raise bad_model(path, f"unknown smoothing {name!r}")
    if not isinstance(params, dict):
        raise bad_model(path, "smoothing settings are not a mapping")
    try:
        return make_smoothing(name, **params)
    except (TkitError, TypeError, ValueError) as err:
        raise bad_model(path, f"smoothing settings {params!r}: {err}") from None


def _prune(meta: dict[str, Any], order: int, path: Path) -> list[int] | None:
    prune = meta.get("prune")
    if prune is None:
        return None
    if not isinstance(prune, list) or len(prune) != order or any(type(x) is not int for x in prune):
        raise bad_model(path, f"prune thresholds {prune!r} are not {order} whole numbers")
    try:
        return thresholds(prune, order)
    except TkitError as err:
        raise bad_model(path, f"prune thresholds: {err}") from None


def read_ngram_meta(meta: dict[str, Any], path: Path) -> NgramMeta:
    version = meta.get("version", 0)
    if type(version) is not int:
        raise bad_model(path, f"metadata 'version' is {version!r}")
    if version > VERSION:
        raise ModelFileError(f"{path} was written by a newer tkit (n-gram format {version}): upgrade tkit")
    order = _int(meta, "order", 1, MAX_MODEL_ORDER, path)
    vocab_size = _int(meta, "vocab_size", 3, 2**31 - 1, path)
    kind = meta.get("kind")
    if kind not in KINDS:
        raise bad_model(path, f"unknown kind {kind!r}")
    tokenizer = meta.get("tokenizer")
    if tokenizer is not None and not isinstance(tokenizer, str):
        raise bad_model(path, f"metadata 'tokenizer' is {type(tokenizer).__name__}, not a string")
    smoothing = _smoothing(meta, path) if kind == "counts" else None
    return NgramMeta(order, vocab_size, kind, tokenizer, smoothing, _prune(meta, order, path))
