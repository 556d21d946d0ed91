"""Added and special tokens: strings that are cut out of the text before normalization and never split.

As in HF's AddedVocabulary: tokens with `normalized=False` (all special tokens tkit writes) are matched on the
raw text, leftmost-longest; tokens with `normalized=True` are matched on each normalized segment. `lstrip` /
`rstrip` swallow the whitespace beside a match; `single_word` only matches a whole word.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import regex

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.models.base import MAX_ID
from tokenizers_kit.normalizers import WHITESPACE_CHARS

Segment = tuple[int, int, int | None]  # (start, end, token id or None for ordinary text)


@dataclass(frozen=True)
class AddedToken:
    content: str
    id: int
    special: bool = True
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "content": self.content, "single_word": self.single_word, "lstrip": self.lstrip,
                "rstrip": self.rstrip, "normalized": self.normalized, "special": self.special}

    @classmethod
    def from_dict(cls, data: Any) -> AddedToken:
        if not isinstance(data, dict) or not isinstance(data.get("content"), str) or not data["content"]:
            raise ModelFileError(f"added token {data!r} needs a non-empty \"content\": the file is corrupt")
        idx = data.get("id")
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx <= MAX_ID:
            raise ModelFileError(f"added token {data['content']!r} has id {idx!r}, not a non-negative integer: "
                                 "the file is corrupt")
        special = bool(data.get("special", False))
        flags = {k: bool(data.get(k, False)) for k in ("single_word", "lstrip", "rstrip")}
        return cls(data["content"], idx, special, normalized=bool(data.get("normalized", not special)), **flags)


def _is_word_char(c: str) -> bool:  # Rust's `char::is_alphanumeric` or '_'
    return c.isalnum() or c == "_"


class AddedVocabulary:
    """The added tokens of a tokenizer and the matchers that cut them out of text."""

    def __init__(self, tokens: Iterable[AddedToken] = ()) -> None:
        self.tokens: list[AddedToken] = []
        self._by_content: dict[str, AddedToken] = {}
        self._by_id: dict[int, AddedToken] = {}
        self._raw: regex.Pattern | None = None
        self._norm: regex.Pattern | None = None
        for t in tokens:
            self.add(t)

    def add(self, token: AddedToken) -> None:
        old = self._by_content.get(token.content)
        if old is not None:
            self.tokens.remove(old)
            self._by_id.pop(old.id, None)
        self.tokens.append(token)
        self._by_content[token.content] = token
        self._by_id[token.id] = token
        self._raw = self._matcher(t for t in self.tokens if not t.normalized)
        self._norm = self._matcher(t for t in self.tokens if t.normalized)

    @staticmethod
    def _matcher(tokens: Iterable[AddedToken]) -> regex.Pattern | None:
        contents = sorted({t.content for t in tokens}, key=lambda c: (-len(c), c))  # longest first
        return regex.compile("|".join(map(regex.escape, contents))) if contents else None

    def __len__(self) -> int:
        return len(self.tokens)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def token_to_id(self, content: str) -> int | None:
        t = self._by_content.get(content)
        return None if t is None else t.id

    def id_to_token(self, idx: int) -> str | None:
        t = self._by_id.get(idx)
        return None if t is None else t.content

    def is_special_id(self, idx: int) -> bool:
        t = self._by_id.get(idx)
        return t is not None and t.special

    @property
    def raw_pattern(self) -> regex.Pattern | None:
        """The matcher of the tokens cut from raw text (None if there are none)."""
        return self._raw

    @property
    def has_raw(self) -> bool:
        return self._raw is not None

    @property
    def has_normalized(self) -> bool:
        return self._norm is not None

    def split_raw(self, text: str) -> list[Segment]:
        return self._split(self._raw, text)

    def split_normalized(self, text: str) -> list[Segment]:
        return self._split(self._norm, text)

    def _split(self, pattern: regex.Pattern | None, text: str) -> list[Segment]:
        """Cover `text` with ordinary segments (id None) and added-token matches (HF find_matches)."""
        if pattern is None or not text:
            return [(0, len(text), None)] if text else []
        out: list[Segment] = []
        pos = 0
        for m in pattern.finditer(text):
            start, stop = m.span()
            if start < pos:  # swallowed by the previous token's rstrip
                continue
            token = self._by_content[m.group()]
            if token.single_word:
                before_ok = start == 0 or not _is_word_char(text[start - 1])
                after_ok = stop == len(text) or not _is_word_char(text[stop])
                if not (before_ok and after_ok):
                    continue
            if token.lstrip:
                start = max(pos, len(text[:start].rstrip(WHITESPACE_CHARS)))
            if token.rstrip:
                stop = len(text) - len(text[stop:].lstrip(WHITESPACE_CHARS))
            if pos < start:
                out.append((pos, start, None))
            out.append((start, stop, token.id))
            pos = stop
        if pos < len(text):
            out.append((pos, len(text), None))
        return out

    def to_list(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in sorted(self.tokens, key=lambda t: t.id)]
