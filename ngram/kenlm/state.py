"""`State`, `FullScoreReturn`, `Config` and its enums: the small value types of KenLM's Python API."""
from __future__ import annotations

import struct

from ngram.kenlm.hashing import murmur64


class State:
    """An n-gram context: word ids (most recent first) and their backoffs. `==` and `hash` look at the words
    only, as KenLM's do; a fresh State is the null context."""

    __slots__ = ("words", "backoffs")

    def __init__(self) -> None:
        self.words: tuple[int, ...] = ()
        self.backoffs: tuple[float, ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.words == other.words

    def __ne__(self, other: object) -> bool:
        return not self == other

    def _bytes(self) -> bytes:
        return struct.pack(f"<{len(self.words)}I", *self.words)

    def __lt__(self, other: State) -> bool:
        return (len(self.words), self._bytes()) < (len(other.words), other._bytes())

    def __le__(self, other: State) -> bool:
        return self == other or self < other

    def __gt__(self, other: State) -> bool:
        return other < self

    def __ge__(self, other: State) -> bool:
        return other <= self

    def __hash__(self) -> int:
        h = murmur64(self._bytes())
        h = h - (1 << 64) if h >= 1 << 63 else h
        return h

    def __copy__(self) -> State:
        s = State()
        s.words, s.backoffs = self.words, self.backoffs
        return s

    def __deepcopy__(self) -> State:  # KenLM's takes no memo either: copy.deepcopy raises TypeError
        return self.__copy__()

    def __reduce__(self):
        raise TypeError("kenlm State objects cannot be pickled")

    def __repr__(self) -> str:
        return f"<State words={list(self.words)}>"


class FullScoreReturn:
    """What `BaseFullScore` returns: log10 probability, n-gram length matched, and whether the word is OOV."""

    __slots__ = ("_log_prob", "_ngram_length", "_oov")

    def __init__(self, log_prob: float, ngram_length: int, oov: bool) -> None:
        self._log_prob, self._ngram_length, self._oov = log_prob, ngram_length, oov

    log_prob = property(lambda self: self._log_prob)
    ngram_length = property(lambda self: self._ngram_length)
    oov = property(lambda self: self._oov)

    def __repr__(self) -> str:
        return f"FullScoreReturn({self._log_prob!r}, {self._ngram_length!r}, {self._oov!r})"


class LoadMethod:
    LAZY = 0
    POPULATE_OR_LAZY = 1
    POPULATE_OR_READ = 2
    READ = 3
    PARALLEL_READ = 4


class ARPALoadComplain:
    ALL = 0
    EXPENSIVE = 1
    NONE = 2


class Config:
    """KenLM's loading options; kept for compatibility, none changes a score (files are always mapped)."""

    def __init__(self) -> None:
        self.load_method = LoadMethod.POPULATE_OR_READ
        self.show_progress = True
        self.arpa_complain = ARPALoadComplain.ALL
