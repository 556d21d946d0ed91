"""A literal "▁" (U+2581) in SentencePiece-style text, spelled with its byte pieces so that decode gives it back.

A SentencePiece-style pipeline writes spaces as "▁" and its decoder turns every "▁" back into a space, so a
"▁" that was in the text itself would come back as a space. No chain of HF normalizers and decoders can tell
the two apart (decoders are fixed per-token replacements), so tkit does it between normalization and the
model: each literal "▁" is held out of the text (a placeholder goes through the normalizer in its place) and
encoded as the byte pieces <0xE2><0x96><0x81>, which the decoder chain turns back into "▁" (its Replace runs
before ByteFallback). HF's own encoder gives the "▁" piece for such text; it decodes tkit's ids exactly.

It applies to every pipeline whose decoder reads "▁" as a space and whose model has those byte pieces, with
no pre-tokenizer (tkit's `sentencepiece` layout, and Llama's or Gemma's files).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

META = "\u2581"
META_BYTES = tuple(f"<0x{b:02X}>" for b in META.encode("utf-8"))
# Stand-ins for a literal "▁" while the text is normalized: private-use characters, which no normalizer tkit
# writes changes; one that is absent from the text is picked.
_PRIVATE_USE = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))

Spans = list[tuple[int, int]]


def literal_meta_ids(model: Any, pre_tokenizer: Any, decoder: Any) -> tuple[int, ...] | None:
    """The ids that spell a literal "▁" if the pipeline would otherwise read it back as a space, else None."""
    if pre_tokenizer is not None or decoder is None or not getattr(model, "byte_fallback", False):
        return None
    ids = tuple(model.token_to_id(t) for t in META_BYTES)
    if None in ids:
        return None
    if decoder.decode(["a", META, "b"]) != "a b" or decoder.decode(["a", *META_BYTES, "b"]) != "a" + META + "b":
        return None
    return ids  # type: ignore[return-value]


def _placeholder(text: str) -> str | None:
    first = chr(0xE000)
    if first not in text:
        return first
    present = set(text)
    return next((chr(c) for c in chain(*_PRIVATE_USE) if chr(c) not in present), None)


def split_normalized(text: str, normalize: Callable[[str], str] | None) -> list[str | None]:
    """normalize(text) cut at each literal "▁" of `text` (None stands for one), empty parts dropped."""
    hold = _placeholder(text)
    if hold is not None:
        out = text.replace(META, hold)
        out = normalize(out) if normalize is not None else out
        parts = out.split(hold)
        if len(parts) == text.count(META) + 1:
            return [p for p in _interleave(parts) if p != ""]
    # No free placeholder, or the normalizer changed it: encode as HF does.
    return [normalize(text) if normalize is not None else text]


def split_aligned(text: str, spans: Spans, normalize_aligned: Callable[[str, Spans], tuple[str, Spans]] | None
                  ) -> list[tuple[str | None, Any]]:
    """`split_normalized` with alignments: (normalized part, its spans), and (None, span) for each literal "▁".
    `normalize_aligned` is a normalizer's method, or None."""
    hold = _placeholder(text)
    if hold is not None:
        out, out_spans = _aligned(text.replace(META, hold), spans, normalize_aligned)
        if out.count(hold) == text.count(META):
            result: list[tuple[str | None, Any]] = []
            begin = 0
            for pos in _positions(out, hold):
                if pos > begin:
                    result.append((out[begin:pos], out_spans[begin:pos]))
                result.append((None, out_spans[pos]))
                begin = pos + 1
            if begin < len(out):
                result.append((out[begin:], out_spans[begin:]))
            return result
    return [_aligned(text, spans, normalize_aligned)]


def _aligned(text: str, spans: Spans, normalize_aligned: Any) -> tuple[str, Spans]:
    return normalize_aligned(text, spans) if normalize_aligned is not None else (text, spans)


def _positions(text: str, ch: str) -> Iterator[int]:
    pos = text.find(ch)
    while pos >= 0:
        yield pos
        pos = text.find(ch, pos + 1)


def _interleave(parts: list[str]) -> Iterator[str | None]:
    for k, part in enumerate(parts):
        if k:
            yield None
        yield part
