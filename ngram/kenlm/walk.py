"""The memo behind `score` and `full_scores`: each state is a tuple (words, backoffs, row) whose row maps a word's
bytes to the transition, so a seen transition costs one dict lookup (no tuple key to build and hash) and the loop
moves to the out-state the transition holds.

A state is self-describing: clearing the registry (when full: contexts and OOV strings are unbounded) or two
threads registering the same context at once never makes a state mean another context; at worst a transition is
computed twice.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ngram.kenlm import transitions

WalkState = tuple[tuple, tuple, dict]  # (context words, their backoffs, word bytes -> Hop)
# A transition: (log10 p as float, the same as np.float32, out-state, n-gram length, word id)
Hop = tuple[float, np.float32, WalkState, int, int]


class Walk:
    def __init__(self, step: Callable, index: Callable[[bytes], int], bos: tuple, bos_backoffs: tuple) -> None:
        self.step = step
        self.index = index
        self.bos_words, self.bos_backoffs = bos, bos_backoffs
        self.known: dict[tuple, WalkState] = {}  # context words -> its state
        self.clear()

    def clear(self) -> None:
        """Forget every transition: new start states and an empty registry of states by context words."""
        self.null: WalkState = ((), (), {})
        self.bos: WalkState = (self.bos_words, self.bos_backoffs, {})
        # Swap in the new registry first, then break the old one's cycles (hops point at states and states at hops)
        # so memory is freed now. Another thread may still be adding to the old registry: iterate over a copy
        # (`list` of a dict view runs without a thread switch), never over the live dict.
        old, self.known = self.known, {(): self.null, self.bos_words: self.bos}
        self.size = 0
        for state in list(old.values()):
            state[2].clear()

    def miss(self, state: WalkState, word: bytes) -> Hop:
        """The transition from `state` on `word`, computed with the fused step and remembered in its row."""
        words, backoffs, row = state
        wid = self.index(word)
        prob, length, out_words, out_backoffs = self.step(words, backoffs, wid)
        if self.size >= transitions.LIMIT:
            self.clear()  # `state` may be a forgotten one: storing in its row below is harmless
        out = self.known.get(out_words)
        if out is None:
            out = self.known.setdefault(out_words, (out_words, out_backoffs, {}))
        hop = (prob, np.float32(prob), out, length, wid)
        row[word] = hop
        self.size += 1
        return hop
