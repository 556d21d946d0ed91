"""`Model`: KenLM's Python API over a mapped KenLM binary or an ARPA file, scoring bit for bit as KenLM does."""
from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ngram.kenlm.binary_file import open_model
from ngram.kenlm.hashing import murmur64, murmur64_many
from ngram.kenlm.scoring import full_score, sentence_scores
from ngram.kenlm.state import Config, FullScoreReturn, State
from ngram.kenlm.transitions import Transitions
from ngram.kenlm.walk import Walk
from tokenizers_kit.errors import ModelFileError

WORD_CACHE = 1 << 20  # words remembered by BaseScore's lookup (cleared when full: OOV strings are unbounded)
ZERO32 = np.float32(0.0)


class LoadError(ModelFileError, OSError):
    """A model that cannot be read: a ModelFileError for tkit, an OSError as KenLM's module raises."""


def _as_bytes(text: str | bytes, what: str = "") -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("utf-8")
    raise TypeError(f"Cannot convert {type(text)} to string")


class Model:
    """A KenLM language model (`kenlm.Model`): ARPA, .arpa.gz or any KenLM binary file."""

    def __init__(self, path: str | bytes, config: Config | None = None) -> None:
        raw = _as_bytes(path)
        self.path = os.path.abspath(raw)
        self._config = config or Config()
        shown = raw.decode("utf-8", "replace")
        try:
            self._file = open_model(os.fsdecode(raw), shown)
        except ModelFileError as err:
            raise LoadError(f"Cannot read model '{shown}' ({err})") from err
        self._vocab = self._file.vocab
        self._search = self._file.search
        self._order = self._file.header.order
        self._words: dict[bytes, int] = {}
        self._bos = self._index(b"<s>")
        self._eos = self._index(b"</s>")
        self._memo = Transitions(self._search, self._index)
        self._bos_words = (self._bos,)
        self._bos_backoffs = (self._search.unigram(self._bos)[1],)
        self._walk = Walk(self._memo.step, self._index, self._bos_words, self._bos_backoffs)

    # ---- properties -------------------------------------------------------------------------------------------
    @property
    def order(self) -> int:
        return self._order

    def __repr__(self) -> str:
        return f"<Model from {os.path.basename(self.path)!r}>"

    def __reduce__(self):
        return (Model, (self.path,))

    def _clear_caches(self) -> None:
        """Forget every memoised transition and word id: the next pass is as cold as on a freshly opened model."""
        self._memo.clear()
        self._walk.clear()
        self._words.clear()
        self._bos = self._index(b"<s>")
        self._eos = self._index(b"</s>")

    # ---- vocabulary ---------------------------------------------------------------------------------------------
    def _index(self, word: bytes) -> int:
        got = self._words.get(word)
        if got is None:
            if len(self._words) >= WORD_CACHE:
                self._words.clear()
            got = self._words[word] = self._vocab.id(murmur64(word.split(b"\0", 1)[0]))
        return got

    def _indices(self, words: list[bytes]) -> np.ndarray:
        return self._vocab.ids(murmur64_many([w.split(b"\0", 1)[0] for w in words]))

    def __contains__(self, word: str | bytes) -> bool:
        return self._index(_as_bytes(word)) != 0

    def vocabulary(self) -> list[str]:
        """The words the file lists, in id order (empty for a file built without them, `build_binary -v`)."""
        raw = bytes(self._file.buf[self._file.strings_offset:])
        return [w.decode("utf-8", "replace") for w in raw.split(b"\0")[:-1]] if raw else []

    # ---- sentences ----------------------------------------------------------------------------------------------
    def _scores(self, sentence: str | bytes, bos: bool, eos: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        words = _as_bytes(sentence).split()
        ids = self._indices(words)
        seq = np.concatenate([[self._bos] if bos else [], ids, [self._eos] if eos else []]).astype(np.int64)
        if not seq.size:
            return np.zeros(0, np.float32), np.zeros(0, np.int64), ids
        probs, lengths = sentence_scores(self._search, seq, 1 if bos else 0)
        return probs, lengths, ids

    def score(self, sentence: str | bytes, bos: bool = True, eos: bool = True) -> float:
        """log10 p(sentence), summed in float32 word by word as KenLM does: a state loop over memoised
        transitions (`_score_reference` is its vectorised twin)."""
        text = _as_bytes(sentence)
        if bos and eos:
            text = text.split(b"\0", 1)[0]  # KenLM's C++ path stops at a NUL
        walk = self._walk
        miss = walk.miss
        state = walk.bos if bos else walk.null
        total = ZERO32  # from +0.0, as KenLM's float total starts
        for w in text.split():
            hop = state[2].get(w) or miss(state, w)
            total = total + hop[1]  # np.float32 + np.float32: rounded to float32 each word, as KenLM
            state = hop[2]
        if eos:
            hop = state[2].get(b"</s>") or miss(state, b"</s>")
            total = total + hop[1]
        return float(total)

    def _score_reference(self, sentence: str | bytes, bos: bool = True, eos: bool = True) -> float:
        """`score` through the vectorised whole-sentence lookup, with no memo."""
        text = _as_bytes(sentence)
        if bos and eos:
            text = text.split(b"\0", 1)[0]
        probs = self._scores(text, bos, eos)[0]
        total = np.concatenate([np.zeros(1, np.float32), probs])
        return float(np.add.accumulate(total, dtype=np.float32)[-1])

    def perplexity(self, sentence: str | bytes) -> float:
        words = len(_as_bytes(sentence).split()) + 1  # for </s>
        return 10.0 ** (-self.score(sentence) / words)

    def full_scores(self, sentence: str | bytes, bos: bool = True, eos: bool = True) -> Iterator[tuple]:
        """(log10 p, n-gram length, oov) for each word, then for `</s>` if eos: the same state loop as `score`
        (`_full_scores_reference` is its vectorised twin)."""
        walk = self._walk
        miss = walk.miss
        state = walk.bos if bos else walk.null
        out = []
        for w in _as_bytes(sentence).split():
            hop = state[2].get(w) or miss(state, w)
            out.append((hop[0], hop[3], hop[4] == 0))
            state = hop[2]
        if eos:
            hop = state[2].get(b"</s>") or miss(state, b"</s>")
            out.append((hop[0], hop[3], False))
        return iter(out)

    def _full_scores_reference(self, sentence: str | bytes, bos: bool = True, eos: bool = True) -> Iterator[tuple]:
        """`full_scores` through the vectorised whole-sentence lookup, with no memo."""
        probs, lengths, ids = self._scores(sentence, bos, eos)
        oov = np.zeros(probs.size, dtype=bool)
        oov[:ids.size] = ids == 0
        return iter(list(zip(probs.tolist(), lengths.tolist(), oov.tolist())))

    # ---- one word at a time ---------------------------------------------------------------------------------
    def BeginSentenceWrite(self, state: State) -> None:
        state.words, state.backoffs = self._bos_words, self._bos_backoffs

    def NullContextWrite(self, state: State) -> None:
        state.words, state.backoffs = (), ()

    def BaseScore(self, in_state: State, word: str, out_state: State) -> float:
        words = in_state.words
        try:
            hit = self._memo.by_str.get((words, word))
        except TypeError:  # an unhashable word: refused by miss_str as KenLM refuses it
            hit = None
        if hit is None:
            hit = self._memo.miss_str(words, in_state.backoffs, word)
        out_state.words, out_state.backoffs = hit[2], hit[3]
        return hit[0]

    def BaseFullScore(self, in_state: State, word: str, out_state: State) -> FullScoreReturn:
        try:
            hit = self._memo.by_str.get((in_state.words, word))
        except TypeError:
            hit = None
        if hit is None:
            hit = self._memo.miss_str(in_state.words, in_state.backoffs, word)
        out_state.words, out_state.backoffs = hit[2], hit[3]
        return FullScoreReturn(hit[0], hit[4], hit[5] == 0)

    def _base_reference(self, in_state: State, word: str, out_state: State) -> tuple[float, int, bool]:
        """BaseFullScore with no memo: the plain scalar step."""
        if not isinstance(word, str):
            raise TypeError(f"Argument 'word' has incorrect type (expected str, got {type(word).__name__})")
        wid = self._index(word.encode("utf-8"))
        prob, length, out_state.words, out_state.backoffs = full_score(
            self._search, in_state.words, in_state.backoffs, wid)
        return prob, length, wid == 0


class LanguageModel(Model):
    """KenLM's alias of Model."""
