"""Checks at the public boundary: a wrong type raises TypeError, a wrong value ArgumentError (a ValueError and
a TkitError, so the CLI prints it as one line), each naming the argument. Without them `encode(None)` gave an
empty encoding, `score(b"to be")` scored the bytes' repr and a negative id wrapped to the vocabulary's end."""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from tokenizers_kit.errors import TkitError


class ArgumentError(TkitError, ValueError):
    """An argument of the right type with a value that cannot be used."""


def _kind(value: Any) -> str:
    return type(value).__name__


def require_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_kind(value)}")
    return value


def require_strs(name: str, values: Any) -> list[str]:
    """An iterable of str (a lone str or bytes is refused: it would be taken character by character)."""
    if isinstance(values, (str, bytes, bytearray)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an iterable of str, not {_kind(values)}")
    out = list(values)
    for item in out:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold str items, not {_kind(item)}")
    return out


def require_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (bool refused) with low <= value < high."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {_kind(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value >= high):
        span = f"at least {low}" if high is None else f"in [{low if low is not None else '-inf'}, {high})"
        raise ArgumentError(f"{name} must be {span} (got {value})")
    return value


def require_ids(name: str, ids: Any, size: int) -> np.ndarray:
    """Token ids as int64, each in [0, size)."""
    if isinstance(ids, (str, bytes, bytearray)) or not isinstance(ids, Iterable):
        raise TypeError(f"{name} must be a sequence of int ids, not {_kind(ids)}")
    if isinstance(ids, np.ndarray):
        if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1:
            raise TypeError(f"{name} must be a 1-D array of int ids, not {ids.ndim}-D {ids.dtype}")
        items = ids
        lo, hi = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
    else:
        items = list(ids)
        for item in items:
            if isinstance(item, bool) or not isinstance(item, numbers.Integral):
                raise TypeError(f"{name} must hold int ids, not {_kind(item)}")
        lo, hi = (int(min(items)), int(max(items))) if items else (0, 0)
    if lo < 0:
        raise ArgumentError(f"{name} holds id {lo}: ids are non-negative")
    if hi >= size:
        raise ArgumentError(f"{name} holds id {hi}, outside the vocabulary [0, {size})")
    return np.asarray(items, dtype=np.int64)


def require_real(name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """A finite real number in [low, high] ((low, high] when low_open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {_kind(value)}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        lo = "-inf" if low is None else low
        span = f"{'(' if low_open else '['}{lo}, {'inf' if high is None else high}{')' if high is None else ']'}"
        raise ArgumentError(f"{name} must be a finite number in {span} (got {value})")
    return value
