"""Formatting ARPA lines with NumPy: a chunk of lines becomes one byte gather, no Python work per line.

Every line is a sequence of segments of one byte "blob": the probability's digits, a TAB, each word (from a
table of the vocabulary's UTF-8 bytes, with and without a trailing space), a TAB and the backoff's digits,
a newline. With the segments' (start, length) laid out line after line, the output is
`blob[repeat(start - out_offset, length) + arange(total)]` — a handful of vectorised passes over the bytes.
NumPy releases the GIL in these passes, so chunks can be formatted on several threads.

Numbers: log10 values <= 0 with 6 decimals ("-1.234568"), "0" for exact zero, "-99" for log 0 (SRILM).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RECORD = 10  # bytes per formatted number: "-dd.dddddd", right-aligned
_CONST = b"\t\n0-99"  # TAB, newline, "0", "-99"
_TAB, _NL, _ZERO, _LOGZERO = 0, 1, 2, 3  # offsets in _CONST
_ZERO_LEN, _LOGZERO_LEN = 1, 3
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_DIGITS3 = np.frombuffer("".join(f"{i:03d}" for i in range(1000)).encode(), dtype=np.uint8).reshape(1000, 3)


class VocabBytes:
    """The vocabulary's UTF-8 bytes, each token once with a trailing space and once without."""

    def __init__(self, tokens: Sequence[str]) -> None:
        encoded = [t.encode("utf-8") for t in tokens]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        spaced = b" ".join(encoded) + b" "  # token i + " " starts at spaced_start[i]
        self.spaced_start = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.spaced_len = lengths + 1
        self.bare_len = lengths
        self.blob = np.frombuffer(spaced, dtype=np.uint8)


def number_records(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(records (m, RECORD) uint8, start offset within the record, length) for log10 values <= 0.

    Exact 0 and log 0 get length 0 here; `format_lines` points them at the "0" / "-99" constants."""
    v = np.asarray(values, dtype=np.float64)
    micro = np.rint(-np.clip(v, -99.999999, 0.0) * 1e6).astype(np.int64)
    whole, frac = np.divmod(micro, 1_000_000)
    rec = np.empty((v.size, RECORD), dtype=np.uint8)
    hi, lo = np.divmod(frac, 1000)  # six decimals as two 3-digit table lookups
    rec[:, 4:7] = _DIGITS3[hi]
    rec[:, 7:10] = _DIGITS3[lo]
    rec[:, 3] = ord(".")
    tens, ones = np.divmod(whole, 10)
    two = tens > 0
    rec[:, 2] = _DIGITS[ones]
    rec[:, 1] = np.where(two, _DIGITS[np.minimum(tens, 9)], ord("-"))
    rec[:, 0] = ord("-")
    start = np.where(two, 0, 1)
    length = RECORD - start
    special = (micro == 0) | (v <= -99.0)
    length[special] = 0
    return rec, start, length


def format_lines(ids: np.ndarray, prob: np.ndarray, backoff: np.ndarray | None, vocab: VocabBytes) -> bytes:
    """ARPA lines `prob TAB w1 ... wn [TAB backoff]` for the n-grams in `ids` (m, n)."""
    m, n = ids.shape
    if m == 0:
        return b""
    p_rec, p_off, p_len = number_records(prob)
    parts = [p_rec.reshape(-1)]
    p_base = 0
    if backoff is not None:
        b_rec, b_off, b_len = number_records(backoff)
        parts.append(b_rec.reshape(-1))
        b_base = p_rec.size
    words_base = sum(x.size for x in parts)
    parts.append(vocab.blob)
    const_base = words_base + vocab.blob.size
    parts.append(np.frombuffer(_CONST, dtype=np.uint8))
    blob = np.concatenate(parts)

    segs = n + (5 if backoff is not None else 3)  # prob, TAB, n words, [TAB, backoff], newline
    start = np.empty((m, segs), dtype=np.int64)
    length = np.empty((m, segs), dtype=np.int64)
    rows = np.arange(m, dtype=np.int64)
    _number_segment(start[:, 0], length[:, 0], prob, p_base + rows * RECORD + p_off, p_len, const_base)
    start[:, 1], length[:, 1] = const_base + _TAB, 1
    for j in range(n):
        w = ids[:, j]
        start[:, 2 + j] = words_base + vocab.spaced_start[w]
        length[:, 2 + j] = vocab.spaced_len[w] if j < n - 1 else vocab.bare_len[w]
    if backoff is not None:
        start[:, n + 2], length[:, n + 2] = const_base + _TAB, 1
        _number_segment(start[:, n + 3], length[:, n + 3], backoff, b_base + rows * RECORD + b_off, b_len,
                        const_base)
    start[:, -1], length[:, -1] = const_base + _NL, 1
    return gather_segments(blob, start.reshape(-1), length.reshape(-1)).tobytes()


def _number_segment(start: np.ndarray, length: np.ndarray, values: np.ndarray, rec_start: np.ndarray,
                    rec_len: np.ndarray, const_base: int) -> None:
    start[:] = rec_start
    length[:] = rec_len
    zero = rec_len == 0
    if zero.any():
        logzero = zero & (np.asarray(values) <= -99.0)
        exact = zero & ~logzero
        start[exact], length[exact] = const_base + _ZERO, _ZERO_LEN
        start[logzero], length[logzero] = const_base + _LOGZERO, _LOGZERO_LEN


def gather_segments(blob: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Concatenate blob[start[i] : start[i] + length[i]] for all i, vectorised.

    The source index of output byte j is a running sum: +1 per byte, plus a jump at each segment's first
    byte. One cumsum instead of np.repeat, because repeat holds the GIL and the formatting threads need it
    released."""
    keep = length > 0
    start, length = start[keep], length[keep]
    if not length.size:
        return np.empty(0, dtype=np.uint8)
    total = int(length.sum())
    dtype = np.int32 if total + blob.size < 2**31 else np.int64  # int32 halves the memory traffic
    step = np.ones(total, dtype=dtype)
    first = np.cumsum(length)[:-1]  # output position of each later segment's first byte
    step[first] = (start[1:] - (start[:-1] + length[:-1] - 1)).astype(dtype)
    step[0] = start[0]
    np.cumsum(step, out=step)
    return np.take(blob, step)
