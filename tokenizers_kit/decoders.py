"""Decoders: token strings -> text, the inverse of the pre-tokenizer (HF `tokenizers.decoders` semantics).

`decode_chain(tokens)` maps a list of token strings to a list of strings (decoders compose in a Sequence);
`decode(tokens)` joins the final list.
"""
from __future__ import annotations

from typing import Any

from tokenizers_kit.bytes_map import symbols_to_bytes, unicode_to_bytes
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.json_fields import (
    ByteLevelFields,
    JsonComponent,
    Registry,
    field,
    items,
    metaspace_scheme,
)
from tokenizers_kit.normalizers import _pattern_regex
from tokenizers_kit.patterns import pattern_object
from tokenizers_kit.pre_tokenizers import PREPEND_SCHEMES


class Decoder(JsonComponent):
    stage = "decoder"

    def decode_chain(self, tokens: list[str]) -> list[str]:
        raise NotImplementedError

    def decode(self, tokens: list[str]) -> str:
        return "".join(self.decode_chain(list(tokens)))


DECODERS: Registry[Decoder] = Registry("decoder")


_SYMBOL_BYTES = unicode_to_bytes()


@DECODERS.register
class ByteLevel(ByteLevelFields, Decoder):
    """Symbols -> bytes -> UTF-8 (invalid sequences become U+FFFD, like Rust's from_utf8_lossy)."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True) -> None:
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex

    def decode_chain(self, tokens: list[str]) -> list[str]:
        try:  # all tokens byte-level: one translate + one decode, in C
            return [symbols_to_bytes("".join(tokens)).decode("utf-8", errors="replace")]
        except TkitError:
            pass
        data = bytearray()
        table = _SYMBOL_BYTES
        for token in tokens:
            try:
                data.extend([table[c] for c in token])
            except KeyError:  # not a byte-level token (e.g. an added token): its own UTF-8 bytes
                data.extend(token.encode("utf-8"))
        return [data.decode("utf-8", errors="replace")]


# HF wordpiece.rs `cleanup`: undo BERT's spaces before punctuation and inside contractions.
_CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def cleanup(text: str) -> str:
    for old, new in _CLEANUP:
        text = text.replace(old, new)
    return text


@DECODERS.register
class WordPiece(Decoder):
    """Join with spaces, gluing "##" continuations to the previous token; optional BERT cleanup."""

    type = "WordPiece"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WordPiece:
        where = cls.where()
        return cls(field(data, "prefix", str, "##", where), field(data, "cleanup", bool, True, where))

    def __init__(self, prefix: str = "##", cleanup: bool = True) -> None:
        self.prefix, self.cleanup = prefix, cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            if i != 0:
                token = token.replace(self.prefix, "", 1) if token.startswith(self.prefix) else " " + token
            out.append(cleanup(token) if self.cleanup else token)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "prefix": self.prefix, "cleanup": self.cleanup}


@DECODERS.register
class Metaspace(Decoder):
    """"▁" -> " "; in the first token every "▁" is dropped unless prepend_scheme is "never" (as HF does)."""

    type = "Metaspace"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metaspace:
        where = cls.where()
        return cls(field(data, "replacement", str, "▁", where), metaspace_scheme(data),
                   field(data, "split", bool, True, where))

    def __init__(self, replacement: str = "▁", prepend_scheme: str = "always", split: bool = True) -> None:
        if prepend_scheme not in PREPEND_SCHEMES:
            raise ModelFileError(f"Metaspace decoder: prepend_scheme must be always, first or never, "
                                 f"not {prepend_scheme!r}")
        self.replacement, self.prepend_scheme, self.split = replacement, prepend_scheme, split

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            sub = "" if i == 0 and self.prepend_scheme != "never" else " "
            out.append(token.replace(self.replacement, sub))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "replacement": self.replacement, "prepend_scheme": self.prepend_scheme,
                "split": self.split}


def _byte_token(token: str) -> int | None:
    """`<0xAB>` -> 0xAB (HF ByteFallback: exactly 6 chars, two hex digits)."""
    if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
        try:
            return int(token[3:5], 16)
        except ValueError:
            return None
    return None


@DECODERS.register
class ByteFallback(Decoder):
    """Runs of `<0xXX>` tokens -> their UTF-8 text (one U+FFFD per byte if the run is not valid UTF-8)."""

    type = "ByteFallback"

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        pending = bytearray()

        def flush() -> None:
            if pending:
                try:
                    out.append(pending.decode("utf-8"))
                except UnicodeDecodeError:
                    out.extend(["\ufffd"] * len(pending))
                pending.clear()

        for token in tokens:
            b = _byte_token(token)
            if b is None:
                flush()
                out.append(token)
            else:
                pending.append(b)
        flush()
        return out


@DECODERS.register
class Fuse(Decoder):
    """All tokens -> one string."""

    type = "Fuse"

    def decode_chain(self, tokens: list[str]) -> list[str]:
        return ["".join(tokens)]


@DECODERS.register
class Strip(Decoder):
    """Remove up to `start` leading and `stop` trailing `content` characters from each token."""

    type = "Strip"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strip:
        where = cls.where()
        return cls(field(data, "content", str, " ", where), field(data, "start", int, 0, where),
                   field(data, "stop", int, 0, where))

    def __init__(self, content: str = " ", start: int = 0, stop: int = 0) -> None:
        if len(content) != 1:
            raise ModelFileError(f"Strip decoder: content must be one character, not {content!r}")
        self.content, self.start, self.stop = content, start, stop

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for token in tokens:
            lo = 0
            while lo < self.start and lo < len(token) and token[lo] == self.content:
                lo += 1
            hi, cut = len(token), 0
            while cut < self.stop and hi > lo and token[hi - 1] == self.content:
                hi -= 1
                cut += 1
            out.append(token[lo:hi])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "content": self.content, "start": self.start, "stop": self.stop}


@DECODERS.register
class Replace(Decoder):
    """Replace a string or regex pattern in each token."""

    type = "Replace"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Replace:
        return cls(data.get("pattern"), field(data, "content", str, "", cls.where()))

    def __init__(self, pattern: str | dict[str, str], content: str) -> None:
        self.pattern = pattern_object(pattern, "Replace decoder")
        self.content = content
        self._re = _pattern_regex(self.pattern, "Replace decoder")

    def decode_chain(self, tokens: list[str]) -> list[str]:
        literal = self.pattern.get("String")
        if literal:
            return [t.replace(literal, self.content) for t in tokens]
        return [self._re.sub(lambda _m: self.content, t) for t in tokens]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "pattern": dict(self.pattern), "content": self.content}


@DECODERS.register
class BPEDecoder(Decoder):
    """Word-final suffix (e.g. "</w>") -> a space, except after the last token."""

    type = "BPEDecoder"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BPEDecoder:
        return cls(field(data, "suffix", str, "</w>", cls.where()))

    def __init__(self, suffix: str = "</w>") -> None:
        self.suffix = suffix

    def decode_chain(self, tokens: list[str]) -> list[str]:
        n = len(tokens)
        return [t.replace(self.suffix, "" if i == n - 1 else " ") for i, t in enumerate(tokens)]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "suffix": self.suffix}


@DECODERS.register
class Sequence(Decoder):
    type = "Sequence"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequence:
        return cls([d for d in map(DECODERS.build, items(data, "decoders", cls.where())) if d is not None])

    def __init__(self, decoders: list[Decoder]) -> None:
        self.decoders = list(decoders)

    def decode_chain(self, tokens: list[str]) -> list[str]:
        for d in self.decoders:
            tokens = d.decode_chain(tokens)
        return tokens

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "decoders": [d.to_dict() for d in self.decoders]}


def decoder_from_dict(data: Any) -> Decoder | None:
    """HF tokenizer.json "decoder" object -> Decoder (None for null)."""
    return DECODERS.build(data)
