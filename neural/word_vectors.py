"""Word vectors: the words, their float32 vectors, and word lookup with a one-line error for unknown words."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tokenizers_kit.checks import ArgumentError, require_strs


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray                      # (V, dim) float32
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _unit: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """Row ids of `words`; ArgumentError naming every unknown one."""
        words = require_strs("words", words)
        missing = [w for w in words if w not in self._index]
        if missing:
            names = ", ".join(repr(w) for w in dict.fromkeys(missing))
            raise ArgumentError(f"not in the vocabulary ({len(self):,} words): {names}; check the spelling and case")
        return np.array([self._index[w] for w in words], dtype=np.int64)

    def unit(self) -> np.ndarray:
        """Rows scaled to length 1 (a zero row stays zero), for cosine similarity."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = (self.vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        return self._unit

    def save(self, path: str | os.PathLike[str]) -> None:
        """word2vec text format, or the binary (GoogleNews) format for a `.bin` name; written atomically."""
        from neural.vectors_io import save_vectors

        save_vectors(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordVectors:
        from neural.vectors_io import load_vectors

        return load_vectors(path)
