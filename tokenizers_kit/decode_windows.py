"""Decoding a long line of ids in parts: where an ids line may be cut so that the text of the whole is the
text of the first part followed by the continuation text of the rest (`tkit detokenize` in bounded memory).

Accepted decoders, and the token a part may start with:
- ByteLevel: a token whose first byte is ASCII. UTF-8 decoding restarts at an ASCII byte, and an unfinished
  sequence before it gives the same U+FFFD whether the text ends there or the ASCII byte follows.
- Fuse: any token.
- a Sequence of per-token stages (Replace, ByteFallback) and Fuse, optionally ending in Strip(start <= 1,
  stop 0): a token that is not a `<0xXX>` byte (byte runs are decoded together); the continuation is decoded
  without the final Strip, which only touches the start of the line's text (unless that text is still empty).
Anything else returns None: its lines are decoded whole.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokenizers_kit import decoders as dc
from tokenizers_kit.bytes_map import unicode_to_bytes

_SYMBOL_BYTES = unicode_to_bytes()
ContinuationDecoder = Callable[[list[str]], str]


def _first_byte(token: str) -> int:
    first = token[:1]
    if not first:
        return 0x80  # an empty token: never a place to cut
    value = _SYMBOL_BYTES.get(first)
    return value if value is not None else first.encode("utf-8")[0]


def _sequence_parts(decoder: dc.Sequence) -> tuple[bool, dc.Decoder | None] | None:
    """(ok, the decoder for continuations) for a Sequence, or None when its stages are not accepted."""
    stages = list(decoder.decoders)
    strip = stages[-1] if stages and isinstance(stages[-1], dc.Strip) else None
    if strip is not None:
        stages = stages[:-1]
        if strip.start > 1 or strip.stop or not stages or not isinstance(stages[-1], dc.Fuse):
            return None
    fused = False
    for stage in stages:
        if fused or not isinstance(stage, (dc.Replace, dc.ByteFallback, dc.Fuse)):
            return None  # after Fuse nothing but the final Strip; a Replace there could span the cut
        fused = isinstance(stage, dc.Fuse)
    return True, dc.Sequence(stages)


def continuation(decoder: Any) -> tuple[Callable[[str], bool], ContinuationDecoder] | None:
    """(may a part start with this token, decode a continuing part's tokens), or None."""
    if isinstance(decoder, dc.ByteLevel):
        return (lambda token: _first_byte(token) < 0x80), decoder.decode
    if isinstance(decoder, dc.Fuse):
        return (lambda token: True), decoder.decode
    if isinstance(decoder, dc.Sequence):
        parts = _sequence_parts(decoder)
        if parts is None:
            return None
        rest = parts[1]
        assert rest is not None
        return (lambda token: dc._byte_token(token) is None), rest.decode
    return None


def id_cut_finder(safe_id: Callable[[int], bool], tries: int = 4096) -> Callable[[str], int]:
    """For `long_lines.iter_work` over an ids line: the last ' ' (after an id) before a complete id that a
    part may start with; 0 if none among the last `tries` ids."""
    def cut(text: str) -> int:
        after = text.rfind(" ")  # the id before the last space may be cut by the read: skip it
        for _ in range(tries):
            at = text.rfind(" ", 0, after)
            if at <= 0:
                return 0
            word = text[at + 1:after]
            if word.isascii() and word.isdigit() and len(word) < 19 and not text[at - 1].isspace() \
                    and safe_id(int(word)):
                return at
            after = at
        return 0
    return cut
