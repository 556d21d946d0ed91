"""Memoised state transitions for `BaseScore`: (context words, word) -> what `full_score` gives, kept in a plain
dict so that a transition seen before costs one dict lookup (`walk.py` is the memo of `score`/`full_scores`).

A KenLM state's backoffs are a function of its words (they are the backoffs of the n-grams the words form), so
the context words alone key a transition. Words are keyed as given (str): a bytes word must still be refused by
BaseScore as KenLM refuses it.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ngram.kenlm.step import make_step

LIMIT = 1 << 17  # transitions remembered per table (this one and walk.py's) (cleared when full: contexts and OOV strings are unbounded)

# A transition: (log10 p as float, the same as np.float32, out words, out backoffs, n-gram length, word id)
Transition = tuple[float, np.float32, tuple[int, ...], tuple[float, ...], int, int]


class Transitions:
    """The memo tables of one model; a miss computes the transition with the fused step (`step.make_step`)."""

    def __init__(self, search, index: Callable[[bytes], int]) -> None:
        self.step = make_step(search)
        self.index = index
        self.by_str: dict[tuple, Transition] = {}

    def miss_str(self, words: tuple[int, ...], backoffs: tuple[float, ...], word: str) -> Transition:
        """The transition from a state on `word`, computed with the fused step and remembered."""
        if not isinstance(word, str):
            raise TypeError(f"Argument 'word' has incorrect type (expected str, got {type(word).__name__})")
        wid = self.index(word.encode("utf-8"))
        prob, length, out_words, out_backoffs = self.step(words, backoffs, wid)
        hit = (prob, np.float32(prob), out_words, out_backoffs, length, wid)
        if len(self.by_str) >= LIMIT:
            self.by_str.clear()
        self.by_str[(words, word)] = hit
        return hit

    def clear(self) -> None:
        self.by_str.clear()
