"""Reversible escaping of tokens that contain whitespace, for formats whose words are whitespace-separated
(ARPA files, count listings).

ARPA words are split on whitespace (KenLM: TAB/LF/CR/space; SRILM: any `isspace`), so the char tokenizer's
" " token, or a subword piece holding a TAB, cannot be written as is. tkit writes such tokens with backslash
escapes — `\\s` space, `\\t` tab, `\\n` newline, `\\r` CR, `\\v`, `\\f`, `\\0` NUL, and `\\\\` for a backslash —
and marks an escaped ARPA file with the header comment `# tkit-escape: backslash`, so a plain word-level model
(the KenLM-compatible case) is written byte for byte as lmplz would write it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_ESCAPES = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\v": "\\v", "\f": "\\f", "\0": "\\0"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}
_NEEDS = re.compile(r"[\s\0]")
_ESCAPE_RE = re.compile(r"[\\ \t\n\r\v\f\0]")
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)

ESCAPE_HEADER = "# tkit-escape: backslash"


def needs_escaping(tokens: Iterable[str]) -> bool:
    """True when some token holds whitespace and so cannot be written bare."""
    return any(_NEEDS.search(t) for t in tokens)


def escape_token(token: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], token)


def unescape_token(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        char = m.group(1)
        if char not in _UNESCAPES:
            raise ValueError(f"unknown escape \\{char} in {text!r}")
        return _UNESCAPES[char]

    return _UNESCAPE_RE.sub(repl, text) if "\\" in text else text
