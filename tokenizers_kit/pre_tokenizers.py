"""Pre-tokenizers: normalized text -> chunks that the model encodes one at a time (HF semantics).

Every pre-tokenizer offers:
- `split(text, first=True) -> list[str]`: the chunks before `transform` (fast path; the Tokenizer caches the
  model's output per raw chunk, so the byte-level mapping only runs on a cache miss);
- `transform(chunk) -> str`: a per-chunk rewrite applied after splitting (ByteLevel's byte -> symbol map);
- `split_aligned(text, spans, first)`: final chunks with, per character, its span in the original text.
`first` says whether `text` starts at offset 0 of the original input (Metaspace prepend_scheme "first").
"""
from __future__ import annotations

import re as stdlib_re
from collections.abc import Callable
from typing import Any

import regex

from tokenizers_kit.bytes_map import bytes_to_unicode, text_to_symbols
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.json_fields import (
    ByteLevelFields,
    JsonComponent,
    Registry,
    field,
    items,
    metaspace_scheme,
)
from tokenizers_kit.normalizers import WHITESPACE, Spans, _pattern_regex
from tokenizers_kit.patterns import KNOWN_LINEAR, pattern_object

# GPT-2's split pattern (HF ByteLevel use_regex) and GPT-4's cl100k_base pattern (tiktoken_ext/openai_public.py).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}
KNOWN_LINEAR.update(PATTERNS.values())  # these run without a time limit (tokenizers_kit.patterns)

# Rust's char::is_whitespace (Unicode White_Space) and BERT's punctuation (ASCII punctuation or \p{P}).
_WS_CLASS = WHITESPACE
_PUNCT_CLASS = r"\p{P}!-/:-@\[-`{-~"
BEHAVIORS = ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")

Split_ = tuple[int, int, bool]  # (start, end, is_delimiter)

# ASCII-only twins of the hot patterns for the stdlib `re` engine, which beats `regex` on ASCII text (the
# common case of English corpora). On ASCII input they match exactly what the Unicode patterns match (\p{L} = [A-Za-z],
# \p{N} = [0-9], \s = [\t\n\v\f\r ] -- `regex`, Oniguruma and Rust all leave \x1c-\x1f out of \s).
_S = r"\t\n\x0b\x0c\r "
_GPT2_ASCII = stdlib_re.compile(
    rf"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^{_S}A-Za-z0-9]+|[{_S}]+(?![^{_S}])|[{_S}]+""")
_ASCII_PUNCT = r"!-/:-@\[-`{-~"
_BERT_ASCII = stdlib_re.compile(rf"[^{_S}{_ASCII_PUNCT}]+|[{_ASCII_PUNCT}]")
_WHITESPACE_ASCII = stdlib_re.compile(rf"[A-Za-z0-9_]+|[^A-Za-z0-9_{_S}]+")


def ascii_dispatch(ascii_findall: Callable[[str], list[str]],
                   findall: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """The ASCII twin for ASCII text (str.isascii is O(1)), the Unicode pattern otherwise."""
    return lambda text: ascii_findall(text) if text.isascii() else findall(text)


def find_matches(pattern: regex.Pattern, text: str, invert: bool = False) -> list[Split_]:
    """Cover `text` with (start, end, is_match) pieces: matches and the gaps between them (HF find_matches)."""
    if not text:
        return [(0, 0, False)]
    out: list[Split_] = []
    prev = 0
    for m in pattern.finditer(text):
        s, e = m.span()
        if prev != s:
            out.append((prev, s, invert))
        out.append((s, e, not invert))
        prev = e
    if prev != len(text):
        out.append((prev, len(text), invert))
    return out


def split_spans(pieces: list[Split_], behavior: str) -> list[tuple[int, int]]:
    """Apply a delimiter behavior to find_matches output; returns the kept (start, end), non-empty."""
    if behavior == "Removed":
        return [(s, e) for s, e, is_match in pieces if not is_match and s != e]
    if behavior == "Isolated":
        return [(s, e) for s, e, _ in pieces if s != e]
    acc: list[list[int]] = []
    previous = False
    if behavior == "Contiguous":
        for s, e, is_match in pieces:
            if is_match == previous and acc:
                acc[-1][1] = e
            else:
                acc.append([s, e])
            previous = is_match
    elif behavior == "MergedWithPrevious":
        for s, e, is_match in pieces:
            if is_match and not previous and acc:
                acc[-1][1] = e
            else:
                acc.append([s, e])
            previous = is_match
    elif behavior == "MergedWithNext":
        for s, e, is_match in reversed(pieces):
            if is_match and not previous and acc:
                acc[-1][0] = s
            else:
                acc.append([s, e])
            previous = is_match
        acc.reverse()
    else:
        raise ModelFileError(f"unknown split behavior {behavior!r}: use one of {', '.join(BEHAVIORS)}")
    return [(s, e) for s, e in acc if s != e]


class PreTokenizer(JsonComponent):
    """Base class. Subclasses set `type` and implement `spans` (or override split/split_aligned)."""

    stage = "pre-tokenizer"

    def spans(self, text: str, first: bool = True) -> list[tuple[int, int]]:
        """(start, end) of each chunk in `text` (for pre-tokenizers that only cut the text)."""
        raise NotImplementedError

    def split(self, text: str, first: bool = True) -> list[str]:
        return [text[s:e] for s, e in self.spans(text, first)]

    def fast_split(self) -> Callable[[str], list[str]]:
        """`split` with first=True as the cheapest callable (often a compiled regex's findall)."""
        return self.split

    def transform(self, chunk: str) -> str:
        return chunk

    def pre_tokenize_str(self, text: str, first: bool = True) -> list[str]:
        """Final chunks (split, then transformed)."""
        return [self.transform(c) for c in self.split(text, first)]

    def split_aligned(self, text: str, spans: Spans, first: bool = True) -> list[tuple[str, Spans]]:
        return [(text[s:e], spans[s:e]) for s, e in self.spans(text, first)]


PRE_TOKENIZERS: Registry[PreTokenizer] = Registry("pre_tokenizer")


class _FindAll(PreTokenizer):
    """Chunks = the matches of one regex (everything else is dropped)."""

    _re: regex.Pattern
    _ascii: stdlib_re.Pattern | None = None

    def spans(self, text: str, first: bool = True) -> list[tuple[int, int]]:
        return [m.span() for m in self._re.finditer(text)]

    def split(self, text: str, first: bool = True) -> list[str]:
        if self._ascii is not None and text.isascii():
            return self._ascii.findall(text)
        return self._re.findall(text)

    def fast_split(self) -> Callable[[str], list[str]]:
        if self._ascii is not None:
            return ascii_dispatch(self._ascii.findall, self._re.findall)
        return self._re.findall


@PRE_TOKENIZERS.register
class Whitespace(_FindAll):
    """`\\w+|[^\\w\\s]+`: words and runs of punctuation; spaces dropped."""

    type = "Whitespace"
    _re = regex.compile(r"\w+|[^\w\s]+")
    _ascii = _WHITESPACE_ASCII


@PRE_TOKENIZERS.register
class WhitespaceSplit(_FindAll):
    """Split on Unicode whitespace (dropped)."""

    type = "WhitespaceSplit"
    _re = regex.compile(f"[^{_WS_CLASS}]+")


@PRE_TOKENIZERS.register
class BertPreTokenizer(_FindAll):
    """Split on whitespace (dropped) and isolate every punctuation character."""

    type = "BertPreTokenizer"
    _re = regex.compile(f"[^{_WS_CLASS}{_PUNCT_CLASS}]+|[{_PUNCT_CLASS}]")
    _ascii = _BERT_ASCII


@PRE_TOKENIZERS.register
class Split(PreTokenizer):
    """Split on a string or regex pattern with one of HF's delimiter behaviors."""

    type = "Split"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        where = cls.where()
        return cls(data.get("pattern"), field(data, "behavior", str, "Isolated", where),
                   field(data, "invert", bool, False, where))

    def __init__(self, pattern: str | dict[str, str], behavior: str = "Isolated", invert: bool = False) -> None:
        self.pattern = pattern_object(pattern, "Split pre-tokenizer")
        if behavior not in BEHAVIORS:
            raise ModelFileError(f"Split pre-tokenizer: unknown behavior {behavior!r}: use one of "
                                 f"{', '.join(BEHAVIORS)}")
        self.behavior, self.invert = behavior, invert
        self._re = _pattern_regex(self.pattern, "Split pre-tokenizer")

    def spans(self, text: str, first: bool = True) -> list[tuple[int, int]]:
        return split_spans(find_matches(self._re, text, self.invert), self.behavior)

    def split(self, text: str, first: bool = True) -> list[str]:
        if self.behavior == "Isolated" and not self.invert:
            chunks = self._re.findall(text)  # fast when the pattern covers the whole text (GPT-2/GPT-4 patterns)
            if sum(map(len, chunks)) == len(text) and all(chunks):
                return chunks
        return super().split(text, first)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "pattern": dict(self.pattern), "behavior": self.behavior, "invert": self.invert}


class _CharClassSplit(PreTokenizer):
    """Split on each character of a class with a behavior (Digits, Punctuation, CharDelimiterSplit)."""

    _re: regex.Pattern
    behavior = "Isolated"

    def spans(self, text: str, first: bool = True) -> list[tuple[int, int]]:
        return split_spans(find_matches(self._re, text), self.behavior)


@PRE_TOKENIZERS.register
class Digits(_CharClassSplit):
    type = "Digits"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digits:
        return cls(field(data, "individual_digits", bool, False, cls.where()))

    def __init__(self, individual_digits: bool = False) -> None:
        self.individual_digits = individual_digits
        self._re = regex.compile(r"\p{N}")
        self.behavior = "Isolated" if individual_digits else "Contiguous"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "individual_digits": self.individual_digits}


@PRE_TOKENIZERS.register
class Punctuation(_CharClassSplit):
    type = "Punctuation"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Punctuation:
        return cls(field(data, "behavior", str, "Isolated", cls.where()))
    _re = regex.compile(f"[{_PUNCT_CLASS}]")

    def __init__(self, behavior: str = "Isolated") -> None:
        if behavior not in BEHAVIORS:
            raise ModelFileError(f"Punctuation pre-tokenizer: unknown behavior {behavior!r}")
        self.behavior = behavior

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "behavior": self.behavior}


@PRE_TOKENIZERS.register
class CharDelimiterSplit(_CharClassSplit):
    type = "CharDelimiterSplit"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharDelimiterSplit:
        return cls(field(data, "delimiter", str, " ", cls.where()))
    behavior = "Removed"

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self._re = regex.compile(regex.escape(delimiter))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "delimiter": self.delimiter}


_BYTE_CHARS = bytes_to_unicode()


@PRE_TOKENIZERS.register
class ByteLevel(ByteLevelFields, PreTokenizer):
    """GPT-2 byte-level: optional prefix space, the GPT-2 regex split, then bytes -> printable symbols."""

    _gpt2 = regex.compile(GPT2_PATTERN)

    def __init__(self, add_prefix_space: bool = False, trim_offsets: bool = True, use_regex: bool = True) -> None:
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex

    def _prefixed(self, text: str) -> tuple[str, bool]:
        if self.add_prefix_space and text and not text.startswith(" "):
            return " " + text, True
        return text, False

    def split(self, text: str, first: bool = True) -> list[str]:
        text, _ = self._prefixed(text)
        if not self.use_regex:
            return [text] if text else []
        return _GPT2_ASCII.findall(text) if text.isascii() else self._gpt2.findall(text)

    def fast_split(self) -> Callable[[str], list[str]]:
        if self.use_regex and not self.add_prefix_space:
            return ascii_dispatch(_GPT2_ASCII.findall, self._gpt2.findall)
        return self.split

    def transform(self, chunk: str) -> str:
        return text_to_symbols(chunk)

    def split_aligned(self, text: str, spans: Spans, first: bool = True) -> list[tuple[str, Spans]]:
        text, added = self._prefixed(text)
        if added:
            spans = [spans[0], *spans]
        pieces = [m.span() for m in self._gpt2.finditer(text)] if self.use_regex else ([(0, len(text))] if text
                                                                                       else [])
        out = []
        for s, e in pieces:
            chars: list[str] = []
            char_spans: Spans = []
            for ch, span in zip(text[s:e], spans[s:e]):
                symbols = "".join(_BYTE_CHARS[b] for b in ch.encode("utf-8"))
                chars.append(symbols)
                char_spans.extend([span] * len(symbols))
            out.append(("".join(chars), char_spans))
        return out


PREPEND_SCHEMES = ("always", "first", "never")


@PRE_TOKENIZERS.register
class Metaspace(PreTokenizer):
    """Spaces -> "▁", a "▁" prepended (always / first chunk only / never), optionally split before each "▁"."""

    type = "Metaspace"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metaspace:
        where = cls.where()
        return cls(field(data, "replacement", str, "▁", where), metaspace_scheme(data),
                   field(data, "split", bool, True, where))

    def __init__(self, replacement: str = "▁", prepend_scheme: str = "always", split: bool = True) -> None:
        if len(replacement) != 1:
            raise ModelFileError(f"Metaspace: replacement must be one character, not {replacement!r}")
        if prepend_scheme not in PREPEND_SCHEMES:
            raise ModelFileError(f"Metaspace: prepend_scheme must be always, first or never, not {prepend_scheme!r}")
        self.replacement, self.prepend_scheme, self.split_on_replacement = replacement, prepend_scheme, split
        self._re = regex.compile(regex.escape(replacement))
        # MergedWithNext on single "▁" chars == a "▁" followed by everything up to the next "▁" (or a
        # leading run without "▁").
        r = regex.escape(replacement)
        self._chunk_re = regex.compile(f"{r}[^{r}]*|[^{r}]+")

    def _prepend(self, text: str, first: bool) -> bool:
        if not text or text.startswith(self.replacement):
            return False
        return self.prepend_scheme == "always" or (self.prepend_scheme == "first" and first)

    def split(self, text: str, first: bool = True) -> list[str]:
        text = text.replace(" ", self.replacement)
        if self._prepend(text, first):
            text = self.replacement + text
        if not self.split_on_replacement:
            return [text] if text else []
        return self._chunk_re.findall(text)

    def fast_split(self) -> Callable[[str], list[str]]:
        if self.prepend_scheme != "always" or not self.split_on_replacement:
            return self.split
        rep, findall = self.replacement, self._chunk_re.findall

        def split(text: str) -> list[str]:
            text = text.replace(" ", rep)
            return findall(text if text[:1] == rep or not text else rep + text)
        return split

    def split_aligned(self, text: str, spans: Spans, first: bool = True) -> list[tuple[str, Spans]]:
        text = text.replace(" ", self.replacement)
        if self._prepend(text, first):
            text, spans = self.replacement + text, [spans[0], *spans]
        if not self.split_on_replacement:
            return [(text, spans)] if text else []
        cuts = split_spans(find_matches(self._re, text), "MergedWithNext")
        return [(text[s:e], spans[s:e]) for s, e in cuts]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "replacement": self.replacement, "prepend_scheme": self.prepend_scheme,
                "split": self.split_on_replacement}


@PRE_TOKENIZERS.register
class Sequence(PreTokenizer):
    """Apply pre-tokenizers in turn, each to every chunk of the previous one."""

    type = "Sequence"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequence:
        parts = items(data, "pretokenizers", cls.where())
        return cls([p for p in map(PRE_TOKENIZERS.build, parts) if p is not None])

    def __init__(self, pretokenizers: list[PreTokenizer]) -> None:
        if not pretokenizers:
            raise ModelFileError("Sequence pre-tokenizer: the list is empty: the file is corrupt")
        self.pretokenizers = list(pretokenizers)

    def split(self, text: str, first: bool = True) -> list[str]:
        *head, last = self.pretokenizers
        chunks = [text]
        firsts = [first]
        for step in head:
            new, new_firsts = [], []
            for chunk, f in zip(chunks, firsts):
                pieces = step.pre_tokenize_str(chunk, f)
                new.extend(pieces)
                new_firsts.extend([f] + [False] * (len(pieces) - 1))
            chunks, firsts = new, new_firsts
        out: list[str] = []
        for chunk, f in zip(chunks, firsts):
            out.extend(last.split(chunk, f))
        return out

    def transform(self, chunk: str) -> str:
        return self.pretokenizers[-1].transform(chunk)

    def split_aligned(self, text: str, spans: Spans, first: bool = True) -> list[tuple[str, Spans]]:
        pieces = [(text, spans, first)]
        for step in self.pretokenizers:
            new = []
            for t, sp, f in pieces:
                for i, (ct, csp) in enumerate(step.split_aligned(t, sp, f)):
                    new.append((ct, csp, f and i == 0))
            pieces = new
        return [(t, sp) for t, sp, _ in pieces]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "pretokenizers": [p.to_dict() for p in self.pretokenizers]}


def pre_tokenizer_from_dict(data: Any) -> PreTokenizer | None:
    """HF tokenizer.json "pre_tokenizer" object -> PreTokenizer (None for null)."""
    return PRE_TOKENIZERS.build(data)
