"""Normalizers: the first stage of the pipeline, text -> cleaned text (HF `tokenizers.normalizers` semantics).

Each normalizer has two paths:
- `normalize_str(text)`: the fast path used to compute ids (whole-string operations that run in C);
- `normalize_aligned(text, spans)`: the same output plus, for each output character, the (start, end) span of
  the original characters it came from, so `Tokenizer.encode` can report offsets into the original text.
The JSON form (`to_dict` / `normalizer_from_dict`) is HF's tokenizer.json "normalizer" object.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar

import regex

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.json_fields import JsonComponent, Registry, field, items
from tokenizers_kit.patterns import KNOWN_LINEAR, compile_from_file, pattern_object

Span = tuple[int, int]  # (start, end) character offsets in the original text
Spans = list[Span]

# Unicode White_Space (what Rust's `char::is_whitespace` tests). Python's str.isspace also accepts
# U+001C..U+001F, which HF does not treat as spaces, so the set is spelled out.
WHITESPACE_CHARS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
WHITESPACE = regex.escape(WHITESPACE_CHARS)  # for use inside a [...] class


def per_char_aligned(text: str, spans: Spans, fn: Callable[[str], str]) -> tuple[str, Spans]:
    """Apply a character-local map (one char -> zero or more chars); each output char keeps its source span."""
    out: list[str] = []
    out_spans: Spans = []
    for ch, span in zip(text, spans):
        piece = fn(ch)
        if piece:
            out.append(piece)
            out_spans.extend([span] * len(piece))
    return "".join(out), out_spans


def _unicode_aligned(form: str, text: str, spans: Spans) -> tuple[str, Spans]:
    """NFC/NFD/NFKC/NFKD with HF's alignments: a decomposed char keeps its source's span; a composed char
    takes the span of its starter (the chars composed into it drop out), as unicode-normalization-alignments
    reports them."""
    if unicodedata.is_normalized(form, text):
        return text, spans
    whole = unicodedata.normalize(form, text)
    decomp_form = "NFKD" if form in ("NFKC", "NFKD") else "NFD"
    chars: list[str] = []
    dspans: Spans = []
    for ch, span in zip(text, spans):
        piece = unicodedata.normalize(decomp_form, ch)
        chars.extend(piece)
        dspans.extend([span] * len(piece))
    _canonical_order(chars, dspans)
    if form in ("NFD", "NFKD"):
        return ("".join(chars), dspans) if "".join(chars) == whole else _coarse(whole, spans)
    out_spans: Spans = []
    used = [False] * len(chars)
    i = 0
    for o in whole:
        while i < len(chars) and used[i]:
            i += 1
        if i == len(chars):
            return _coarse(whole, spans)
        used[i] = True
        out_spans.append(dspans[i])
        if chars[i] == o:
            continue
        parts = unicodedata.normalize("NFD", o)
        if parts[0] != chars[i]:
            return _coarse(whole, spans)
        j = i + 1
        for part in parts[1:]:  # the marks (or jamo) composed into `o`, first unused occurrences
            while j < len(chars) and (used[j] or chars[j] != part):
                j += 1
            if j == len(chars):
                return _coarse(whole, spans)
            used[j] = True
    return whole, out_spans


def _canonical_order(chars: list[str], spans: Spans) -> None:
    """Unicode canonical ordering in place: stable sort of each run of non-starters by combining class."""
    n, i = len(chars), 0
    while i < n:
        if unicodedata.combining(chars[i]) == 0:
            i += 1
            continue
        j = i
        while j < n and unicodedata.combining(chars[j]) != 0:
            j += 1
        if j - i > 1:
            run = sorted(zip(chars[i:j], spans[i:j]), key=lambda cs: unicodedata.combining(cs[0]))
            chars[i:j] = [c for c, _ in run]
            spans[i:j] = [sp for _, sp in run]
        i = j


def _coarse(whole: str, spans: Spans) -> tuple[str, Spans]:
    """Fallback alignment (not expected to happen): every output char spans the whole input."""
    joined = (spans[0][0], spans[-1][1]) if spans else (0, 0)
    return whole, [joined] * len(whole)


class Normalizer(JsonComponent):
    """Base class. Subclasses set `type` (the JSON tag) and implement `normalize_str`."""

    stage = "normalizer"

    char_local: ClassVar[bool] = False  # True: output = concat of normalize_str(c) for each char c

    def normalize_str(self, text: str) -> str:
        raise NotImplementedError

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        if self.char_local:
            return per_char_aligned(text, spans, self.normalize_str)
        raise NotImplementedError


NORMALIZERS: Registry[Normalizer] = Registry("normalizer")


class _UnicodeForm(Normalizer):
    form: ClassVar[str] = ""

    def normalize_str(self, text: str) -> str:
        return unicodedata.normalize(self.form, text)

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        return _unicode_aligned(self.form, text, spans)


@NORMALIZERS.register
class NFC(_UnicodeForm):
    type = form = "NFC"


@NORMALIZERS.register
class NFD(_UnicodeForm):
    type = form = "NFD"


@NORMALIZERS.register
class NFKC(_UnicodeForm):
    type = form = "NFKC"


@NORMALIZERS.register
class NFKD(_UnicodeForm):
    type = form = "NFKD"


def lowercase_str(text: str) -> str:
    """Rust's per-character `to_lowercase`: like str.lower but without the final-sigma rule (Σ -> σ always)."""
    if "Σ" not in text:
        return text.lower()
    return "".join(c.lower() for c in text)


@NORMALIZERS.register
class Lowercase(Normalizer):
    type = "Lowercase"
    char_local = True

    def normalize_str(self, text: str) -> str:
        return lowercase_str(text)


_NONSPACING_MARK = regex.compile(r"\p{Mn}+")


@NORMALIZERS.register
class StripAccents(Normalizer):
    """Remove non-spacing marks (HF: use after NFD to strip accents)."""

    type = "StripAccents"
    char_local = True

    def normalize_str(self, text: str) -> str:
        return _NONSPACING_MARK.sub("", text)


def _pattern_regex(pattern: Any, where: str) -> regex.Pattern:
    """HF's {"String": s} or {"Regex": r} pattern object -> compiled regex."""
    if isinstance(pattern, dict) and len(pattern) == 1:
        (kind, value), = pattern.items()
        if isinstance(value, str):
            if kind == "String":
                return regex.compile(regex.escape(value))
            if kind == "Regex":
                return compile_from_file(value, where)
    raise ModelFileError(f"{where}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}, not {pattern!r}")


@NORMALIZERS.register
class Replace(Normalizer):
    """Replace every match of a string or regex pattern with `content` (HF `Replace`)."""

    type = "Replace"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Replace:
        where = cls.where()
        return cls(data.get("pattern"), field(data, "content", str, None, where))

    def __init__(self, pattern: str | dict[str, str], content: str) -> None:
        self.pattern = pattern_object(pattern, "Replace")
        self.content = content
        self._re = _pattern_regex(self.pattern, "Replace")
        self._literal = self.pattern.get("String")

    def normalize_str(self, text: str) -> str:
        if self._literal is not None:
            return text.replace(self._literal, self.content) if self._literal else text
        return self._re.sub(lambda _m: self.content, text)

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        out: list[str] = []
        out_spans: Spans = []
        prev = 0
        for m in self._re.finditer(text):
            s, e = m.span()
            if s == e:
                continue
            out.append(text[prev:s])
            out_spans.extend(spans[prev:s])
            out.append(self.content)
            out_spans.extend([spans[e - 1]] * len(self.content))  # HF: the span of the match's last char
            prev = e
        out.append(text[prev:])
        out_spans.extend(spans[prev:])
        return "".join(out), out_spans

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "pattern": dict(self.pattern), "content": self.content}


@NORMALIZERS.register
class Strip(Normalizer):
    """Strip whitespace on the left and/or right."""

    type = "Strip"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strip:
        where = cls.where()
        return cls(field(data, "strip_left", bool, True, where), field(data, "strip_right", bool, True, where))

    def __init__(self, left: bool = True, right: bool = True) -> None:
        self.left, self.right = left, right

    def _bounds(self, text: str) -> Span:
        start, end = 0, len(text)
        if self.left:
            start = end - len(text.lstrip(WHITESPACE_CHARS))
        if self.right:
            end = len(text.rstrip(WHITESPACE_CHARS))
        return start, max(start, end)

    def normalize_str(self, text: str) -> str:
        s, e = self._bounds(text)
        return text[s:e]

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        s, e = self._bounds(text)
        return text[s:e], spans[s:e]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "strip_left": self.left, "strip_right": self.right}


@NORMALIZERS.register
class Prepend(Normalizer):
    """Prepend a string to non-empty text (Llama-style "▁" prefix)."""

    type = "Prepend"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prepend:
        return cls(field(data, "prepend", str, None, cls.where()))

    def __init__(self, prepend: str) -> None:
        self.prepend = prepend

    def normalize_str(self, text: str) -> str:
        return self.prepend + text if text else text

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        if not text:
            return text, spans
        return self.prepend + text, [spans[0]] * len(self.prepend) + spans

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "prepend": self.prepend}


# BERT: drop NUL, U+FFFD and "other" characters (Cc Cf Cn Co Cs) except \t \n \r; then map spaces to " ".
_BERT_DROP = regex.compile(r"[\x00\ufffd]|[^\P{C}\t\n\r]")
_BERT_SPACE = regex.compile(f"[{regex.escape(WHITESPACE_CHARS.replace(' ', ''))}]")  # spaces other than " "
# The same cleanup for ASCII text as one str.translate: drop controls but \t \n \r, which become " ".
_BERT_ASCII = {c: None for c in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]} | {0x09: " ", 0x0A: " ",
                                                                                        0x0D: " "}
_CJK = "\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df\U0002a700-\U0002b73f\U0002b740-\U0002b81f" \
       "\U0002b920-\U0002ceaf\uf900-\ufaff\U0002f800-\U0002fa1f"
_BERT_CJK = regex.compile(f"([{_CJK}])")


@NORMALIZERS.register
class BertNormalizer(Normalizer):
    """BERT's cleanup: control chars out, spaces to " ", spaces around CJK ideographs, accents, lowercase."""

    type = "BertNormalizer"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BertNormalizer:
        where = cls.where()
        return cls(field(data, "clean_text", bool, True, where), field(data, "handle_chinese_chars", bool, True, where),
                   field(data, "strip_accents", bool, None, where, nullable=True),
                   field(data, "lowercase", bool, True, where))

    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True,
                 strip_accents: bool | None = None, lowercase: bool = True) -> None:
        self.clean_text = clean_text
        self.handle_chinese_chars = handle_chinese_chars
        self.strip_accents = strip_accents
        self.lowercase = lowercase

    @property
    def _strip(self) -> bool:  # HF: strip_accents=None follows lowercase
        return self.lowercase if self.strip_accents is None else self.strip_accents

    def _char_stage(self, text: str) -> str:
        if text.isascii():
            return text.translate(_BERT_ASCII) if self.clean_text else text
        if self.clean_text:
            text = _BERT_SPACE.sub(" ", _BERT_DROP.sub("", text))
        if self.handle_chinese_chars:
            text = _BERT_CJK.sub(r" \1 ", text)
        return text

    def normalize_str(self, text: str) -> str:
        text = self._char_stage(text)
        if text.isascii():
            return text.lower() if self.lowercase else text
        if self._strip:
            text = _NONSPACING_MARK.sub("", unicodedata.normalize("NFD", text))
        if self.lowercase:
            text = lowercase_str(text)
        return text

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        text, spans = per_char_aligned(text, spans, self._char_stage)
        if self._strip:
            text, spans = _unicode_aligned("NFD", text, spans)
            text, spans = per_char_aligned(text, spans, lambda c: _NONSPACING_MARK.sub("", c))
        if self.lowercase:
            text, spans = per_char_aligned(text, spans, lowercase_str)
        return text, spans

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "clean_text": self.clean_text, "handle_chinese_chars": self.handle_chinese_chars,
                "strip_accents": self.strip_accents, "lowercase": self.lowercase}


_NMT_DROP = regex.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]")
_NMT_SPACE = regex.compile(r"[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]")


@NORMALIZERS.register
class Nmt(Normalizer):
    """SentencePiece's nmt cleanup as HF implements it (used by T5/ALBERT-style files)."""

    type = "Nmt"
    char_local = True

    def normalize_str(self, text: str) -> str:
        return _NMT_SPACE.sub(" ", _NMT_DROP.sub("", text))


@NORMALIZERS.register
class Sequence(Normalizer):
    type = "Sequence"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequence:
        return cls([n for n in map(NORMALIZERS.build, items(data, "normalizers", cls.where())) if n is not None])

    def __init__(self, normalizers: list[Normalizer]) -> None:
        self.normalizers = list(normalizers)

    def normalize_str(self, text: str) -> str:
        for n in self.normalizers:
            text = n.normalize_str(text)
        return text

    def normalize_aligned(self, text: str, spans: Spans) -> tuple[str, Spans]:
        for n in self.normalizers:
            text, spans = n.normalize_aligned(text, spans)
        return text, spans

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "normalizers": [n.to_dict() for n in self.normalizers]}


def normalizer_from_dict(data: Any) -> Normalizer | None:
    """HF tokenizer.json "normalizer" object -> Normalizer (None for null)."""
    return NORMALIZERS.build(data)


# sentencepiece's nmt_nfkc rule beyond NFKC, as sentencepiece 0.2 applies it (checked code point by code point
# against `SentencePieceNormalizer(rule_name="nmt_nfkc")` in tests/tokenizers_kit/test_sp_normalization.py).
# HF's `Nmt` stage differs from it on U+061C (kept) and U+200D (made a space), so plain Replace stages are used.
NMT_DROP = "".join(map(chr, [*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, 0x8F, 0x9F]))
NMT_SPACE = "\t\n\x0c\r\u061c\u1680\u200b\u200c\u200e\u200f\u2028\u2029\u2581\ufeff\ufffd"


def _char_class(chars: str) -> str:
    return "[" + "".join(regex.escape(c) for c in chars) + "]"


NMT_PATTERNS = (_char_class(NMT_DROP), _char_class(NMT_SPACE))
COLLAPSE_PATTERNS = (" {2,}", "^ | $")  # only " " counts, as in sentencepiece (a "\x85" at either end stays)
KNOWN_LINEAR.update(NMT_PATTERNS + COLLAPSE_PATTERNS)  # a class or a run of one character: no time limit needed


def sentencepiece_normalizers(remove_extra_whitespaces: bool) -> list[Normalizer]:
    """sentencepiece's nmt_nfkc rule, then (its default) remove_extra_whitespaces, as HF stages."""
    stages: list[Normalizer] = [NFKC(), Replace({"Regex": NMT_PATTERNS[0]}, ""),
                                Replace({"Regex": NMT_PATTERNS[1]}, " ")]
    if remove_extra_whitespaces:
        stages += [Replace({"Regex": COLLAPSE_PATTERNS[0]}, " "), Replace({"Regex": COLLAPSE_PATTERNS[1]}, "")]
    return stages
