"""GPT-2's byte <-> printable-character map, used by byte-level BPE.

Every byte gets a visible, non-space character so byte strings can live in a JSON vocabulary: `!`..`~`,
0xA1..0xAC and 0xAE..0xFF map to themselves, the other 68 bytes to U+0100.. in byte order (the table of
`bytes_to_unicode` in GPT-2's encoder.py, and of HF `pre_tokenizers/byte_level.rs::bytes_char`).
"""
from __future__ import annotations

from functools import lru_cache

from tokenizers_kit.errors import TkitError


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """byte value (0..255) -> its printable stand-in character."""
    kept = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in kept}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return dict(sorted(table.items()))


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    """The inverse map: stand-in character -> byte value."""
    return {c: b for b, c in bytes_to_unicode().items()}


def byte_alphabet() -> list[str]:
    """The 256 stand-in characters, in byte order (HF `ByteLevel.alphabet()` as a sorted list)."""
    return list(bytes_to_unicode().values())


# str.translate tables. Decoding UTF-8 bytes as latin-1 gives one char per byte (code point == byte value),
# which one translate call then maps to the stand-ins: both steps run in C.
_TO_SYMBOLS = {b: c for b, c in bytes_to_unicode().items()}
_FROM_SYMBOLS = {ord(c): b for b, c in bytes_to_unicode().items()}
# Latin-1 characters that are not stand-ins (space, controls, U+0080..U+00A0, U+00AD) would otherwise pass
# through `translate` unchanged and encode silently: send them out of latin-1 so `encode` reports them.
_FROM_SYMBOLS.update({c: 0xFFFF for c in range(256) if c not in _FROM_SYMBOLS})


def bytes_to_symbols(data: bytes) -> str:
    """Bytes as a string of stand-in characters (one per byte)."""
    return data.decode("latin-1").translate(_TO_SYMBOLS)


def text_to_symbols(text: str) -> str:
    """The stand-in string of `text`'s UTF-8 bytes: what byte-level BPE sees."""
    return text.encode("utf-8").decode("latin-1").translate(_TO_SYMBOLS)


def symbols_to_bytes(symbols: str) -> bytes:
    """Inverse of `bytes_to_symbols`; a character outside the byte alphabet is an error."""
    raw = symbols.translate(_FROM_SYMBOLS)
    try:
        return raw.encode("latin-1")
    except UnicodeEncodeError as err:
        bad = symbols[err.start]
        raise TkitError(
            f"character {bad!r} (U+{ord(bad):04X}) is not in the byte-level alphabet: "
            "the token does not come from a byte-level vocabulary"
        ) from None
