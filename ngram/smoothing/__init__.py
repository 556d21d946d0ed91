"""Smoothing methods, one module each, all with the `Smoothing.estimate(tables, prune) -> Estimate` interface."""
from __future__ import annotations

import functools
import inspect
from typing import Any

from ngram.smoothing.add_k import AddK
from ngram.smoothing.base import Estimate, Smoothing
from ngram.smoothing.kneser_ney import KneserNey
from ngram.smoothing.mle import MLE
from ngram.smoothing.modified_kneser_ney import ModifiedKneserNey
from ngram.smoothing.stupid_backoff import StupidBackoff
from ngram.smoothing.witten_bell import WittenBell
from tokenizers_kit.errors import TkitError

SMOOTHINGS: dict[str, type[Smoothing]] = {
    cls.name: cls for cls in (MLE, AddK, WittenBell, KneserNey, ModifiedKneserNey, StupidBackoff)
}
NAMES = tuple(SMOOTHINGS)


@functools.cache
def _parameters(cls: type[Smoothing]) -> frozenset[str]:
    return frozenset(inspect.signature(cls.__init__).parameters)


def make_smoothing(name: str, **params: Any) -> Smoothing:
    """A smoothing by name with its settings (None values mean "the default")."""
    if name not in SMOOTHINGS:
        raise TkitError(f"unknown smoothing {name!r}: choose one of {', '.join(NAMES)}")
    cls = SMOOTHINGS[name]
    accepted = _parameters(cls)
    given = {k: v for k, v in params.items() if v is not None}
    for key in given:
        if key not in accepted:
            raise TkitError(f"--{key.replace('_', '-')} does not apply to {name} smoothing")
    return cls(**given)


__all__ = ["NAMES", "SMOOTHINGS", "Estimate", "Smoothing", "make_smoothing"]
