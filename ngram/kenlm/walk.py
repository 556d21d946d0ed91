"""The memo behind `score` and `full_scores`: states numbered, and transitions kept per state in a dict keyed by the
word's bytes, so a seen transition costs one list index and one dict lookup (no tuple to build and hash).

State numbers never leave a sentence loop, so the tables may be cleared at any time (when full: contexts and OOV
strings are unbounded); a miss re-registers the state it returns. State 0 is the null context, 1 begin-sentence.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ngram.kenlm import transitions

NULL, BOS = 0, 1

# A transition: (log10 p as float, the same as np.float32, out-state number, n-gram length, word id)
Hop = tuple[float, np.float32, int, int, int]


class Walk:
    def __init__(self, step: Callable, index: Callable[[bytes], int], bos: tuple, bos_backoffs: tuple) -> None:
        self.step = step
        self.index = index
        self.start = (((), ()), (bos, bos_backoffs))
        self.states: list[tuple[tuple, tuple]] = []  # number -> (words, backoffs)
        self.numbers: dict[tuple, int] = {}  # words -> number
        self.rows: list[dict[bytes, Hop]] = []  # number -> {word: transition}
        self.clear()

    def clear(self) -> None:
        """Forget everything but the two start states; in place, so a caller's bound `rows` stays valid."""
        self.states[:] = self.start
        self.numbers.clear()
        self.numbers.update({s[0]: i for i, s in enumerate(self.start)})
        self.rows[:] = [{} for _ in self.start]
        self.size = 0

    def miss(self, number: int, word: bytes) -> Hop:
        """The transition from state `number` on `word`, computed with the fused step and remembered."""
        words, backoffs = self.states[number]
        wid = self.index(word)
        prob, length, out_words, out_backoffs = self.step(words, backoffs, wid)
        if self.size >= transitions.LIMIT:
            self.clear()
            number = self.numbers.get(words, -1)
        out = self.numbers.get(out_words)
        if out is None:
            out = self.numbers[out_words] = len(self.states)
            self.states.append((out_words, out_backoffs))
            self.rows.append({})
        hop = (prob, np.float32(prob), out, length, wid)
        if number >= 0:
            self.rows[number][word] = hop
            self.size += 1
        return hop
