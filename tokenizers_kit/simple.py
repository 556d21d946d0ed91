"""The built-in tokenizers that need no training: `whitespace` (KenLM's split) and `char`.

Every tokenizer tkit's language models use has the same small surface (`TextTokenizer`): text -> token
strings and back, plus a spec string that model files store to rebuild it. Trained subword tokenizers
(`tokenizers_kit.tokenizer.Tokenizer`) implement it too.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

# KenLM (lm/builder/corpus_count.cc) splits tokens on exactly these bytes; other Unicode spaces are word chars.
KENLM_DELIMITERS = "\0\t\n\r "
_TO_SPACE = str.maketrans({c: " " for c in KENLM_DELIMITERS})


@runtime_checkable
class TextTokenizer(Protocol):
    """What language models need from a tokenizer."""

    name: str

    def tokenize(self, text: str) -> list[str]:
        """Token strings of `text`."""
        ...

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Text from token strings (the inverse of `tokenize` where the tokenizer is lossless)."""
        ...

    def to_spec(self) -> str:
        """A string from which `tokenizer_from_spec` rebuilds this tokenizer (stored in model files)."""
        ...


class WhitespaceTokenizer:
    """Words split on ASCII whitespace exactly as KenLM does (NUL, TAB, LF, CR, space)."""

    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        # str.split() would also split on \v, \f, \x1c-\x1f and Unicode spaces, which KenLM keeps in words.
        return [t for t in text.translate(_TO_SPACE).split(" ") if t]

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)

    def to_spec(self) -> str:
        return self.name


class CharTokenizer:
    """One token per Unicode character (code point); lossless."""

    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def to_spec(self) -> str:
        return self.name


BUILTIN_TOKENIZERS = {"whitespace": WhitespaceTokenizer, "char": CharTokenizer}
