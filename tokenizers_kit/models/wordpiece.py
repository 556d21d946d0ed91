"""The WordPiece model (BERT): greedy longest-match-first, exactly as HF `models/wordpiece` encodes.

From the start of the chunk, take the longest vocabulary entry (spelled with the `##` continuation prefix
when not at the start), then continue after it. If some position has no match, or the chunk is longer than
`max_input_chars_per_word`, the whole chunk becomes one unk token spanning it.
"""
from __future__ import annotations

from typing import ClassVar

from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.base import (
    MODELS,
    DictVocab,
    Token,
    check_type,
    check_vocab,
    optional_str,
)

CACHE_MAX_CHARS = 256
DEFAULT_CACHE_CAPACITY = 1 << 17


@MODELS.register
class WordPieceModel(DictVocab):
    type: ClassVar[str] = "WordPiece"

    def __init__(
        self,
        vocab: dict[str, int],
        *,
        unk_token: str = "[UNK]",
        continuing_subword_prefix: str = "##",
        max_input_chars_per_word: int = 100,
        cache_capacity: int = DEFAULT_CACHE_CAPACITY,
    ) -> None:
        self.vocab = dict(vocab)
        self.vocab_r = {i: t for t, i in self.vocab.items()}
        self.unk_token = unk_token
        self.continuing_subword_prefix = continuing_subword_prefix
        self.max_input_chars_per_word = max_input_chars_per_word
        self.cache_capacity = cache_capacity
        self._cache: dict[str, tuple[Token, ...]] = {}
        # No match can be longer than the longest entry: start the shrinking search there.
        self._max_piece = max(map(len, self.vocab), default=0)

    def tokenize(self, chunk: str) -> list[Token]:
        cached = self._cache.get(chunk)
        if cached is not None:
            return list(cached)
        tokens = tuple(self._tokenize(chunk))
        if len(chunk) < CACHE_MAX_CHARS:
            if len(self._cache) >= self.cache_capacity:
                self._cache.clear()
            self._cache[chunk] = tokens
        return list(tokens)

    def _unk(self, chunk: str) -> list[Token]:
        unk_id = self.vocab.get(self.unk_token)
        if unk_id is None:
            raise TkitError(f"the WordPiece unk token {self.unk_token!r} is not in the vocabulary: "
                            "add it to the vocab or set unk_token to a vocab entry")
        return [(unk_id, 0, len(chunk))]

    def _tokenize(self, chunk: str) -> list[Token]:
        n = len(chunk)
        if n > self.max_input_chars_per_word:
            return self._unk(chunk)
        vocab, prefix, longest = self.vocab, self.continuing_subword_prefix, self._max_piece
        out: list[Token] = []
        start = 0
        while start < n:
            end = min(n, start + longest)
            while end > start:
                piece = chunk[start:end] if start == 0 else prefix + chunk[start:end]
                tid = vocab.get(piece)
                if tid is not None:
                    out.append((tid, start, end))
                    break
                end -= 1
            else:
                return self._unk(chunk)
            start = end
        return out

    def to_dict(self) -> dict:
        return {
            "type": "WordPiece",
            "unk_token": self.unk_token,
            "continuing_subword_prefix": self.continuing_subword_prefix,
            "max_input_chars_per_word": self.max_input_chars_per_word,
            "vocab": dict(sorted(self.vocab.items(), key=lambda kv: kv[1])),
        }

    @classmethod
    def from_dict(cls, data: dict) -> WordPieceModel:
        check_type(data, "WordPiece")
        vocab = check_vocab(data, "WordPiece")
        unk = optional_str(data, "unk_token", "WordPiece", "[UNK]")
        prefix = optional_str(data, "continuing_subword_prefix", "WordPiece", "##")
        max_chars = data.get("max_input_chars_per_word", 100)
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 0:
            raise ModelFileError(f"WordPiece model: max_input_chars_per_word {max_chars!r} is not a "
                                 "non-negative integer: the file is corrupt")
        if unk is None or prefix is None:
            raise ModelFileError("WordPiece model: unk_token and continuing_subword_prefix must be strings: "
                                 "the file is corrupt")
        return cls(vocab, unk_token=unk, continuing_subword_prefix=prefix, max_input_chars_per_word=max_chars)
