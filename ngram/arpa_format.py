"""Formatting ARPA lines with NumPy: a chunk of lines becomes one byte gather, no Python work per line.

A line is a few segments of one byte "blob": the probability with its TAB, each word with the separator that
follows it (space, TAB or newline: the vocabulary is stored three times, once per separator), and the backoff
with its newline. With the segments' (start, length) laid out line after line, the output is one gather
(`ragged_gather`): a running sum gives the source index of every output byte.

Numbers are log10 values <= 0 with 6 decimals ("-1.234568"), "0" for exact zero, "-99" for log 0 (SRILM).
They are built as 12-byte right-aligned records from tables of two-character pairs (uint16 lookups), e.g.
" -1.234568\\t" — the segment starts after the padding.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from tokenizers_kit.running import running_sum

RECORD = 12  # bytes per formatted number incl. its separator: "?-dd.dddddd" + sep, right-aligned
SEPARATORS = b" \t\n"
SPACE, TAB, NEWLINE = 0, 1, 2


def _pairs(strings: Sequence[str]) -> np.ndarray:
    """Two-character strings as native uint16 (so a uint16 array views as the characters in order)."""
    return np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint16).copy()


_PAIR_DIGITS = _pairs([f"{i:02d}" for i in range(100)])  # "00" .. "99"
_DOT_DIGIT = _pairs([f".{i}" for i in range(10)])  # ".0" .. ".9"
_WHOLE = _pairs([f"-{i}" for i in range(10)] + [f"{i:02d}" for i in range(10, 100)])  # "-d" or "dd"
_LEAD = _pairs(["  ", " -"])  # padding before a one- or two-digit whole part
_DIGIT_SEP = np.stack([_pairs([f"{i}{chr(sep)}" for i in range(10)]) for sep in SEPARATORS])  # (3, 10)
_SPECIAL_TAIL = np.stack([_pairs([f"0{chr(sep)}", f"9{chr(sep)}"]) for sep in SEPARATORS])  # "0"+sep, "9"+sep
_MINUS_NINE = _pairs(["-9"])[0]


class VocabBytes:
    """The vocabulary's UTF-8 bytes three times over: each token followed by a space, a TAB, a newline."""

    def __init__(self, tokens: Sequence[str]) -> None:
        encoded = [t.encode("utf-8") for t in tokens]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        self.length = lengths + 1  # token + separator
        self.start = np.concatenate(([0], np.cumsum(self.length)[:-1])).astype(np.int64)
        self.stride = int(self.length.sum())  # offset between the three copies
        self.blob = np.frombuffer(b"".join(bytes([sep]).join(encoded) + bytes([sep]) for sep in SEPARATORS),
                                  dtype=np.uint8)
        self._work = self.blob  # the blob and writable bytes behind it (see workspace)

    def for_thread(self) -> "VocabBytes":
        """A copy sharing the vocabulary's arrays with its own workspace (one per formatting thread)."""
        twin = object.__new__(VocabBytes)
        twin.length, twin.start, twin.stride = self.length, self.start, self.stride
        twin.blob = twin._work = self.blob.copy()
        return twin

    def workspace(self, extra: int) -> np.ndarray:
        """The blob followed by at least `extra` writable bytes, reused across calls: a chunk's number records
        go behind the vocabulary without copying the vocabulary for every chunk."""
        size = self.blob.size
        spare = self._work.size - size
        if spare < extra or self._work is self.blob:
            self._work = np.empty(size + max(extra, 2 * spare), np.uint8)
            self._work[:size] = self.blob
            self.blob = self._work[:size]  # one copy of the vocabulary, not two
        return self._work


class ThreadVocab:
    """One VocabBytes per thread that formats lines (each writes its number records into its own workspace)."""

    def __init__(self, vocab: VocabBytes) -> None:
        self.vocab = vocab
        self._local = threading.local()

    def get(self) -> VocabBytes:
        mine = getattr(self._local, "vocab", None)
        if mine is None:
            mine = self._local.vocab = self.vocab.for_thread()
        return mine


def number_records(values: np.ndarray, sep: int) -> tuple[np.ndarray, np.ndarray]:
    """(records (m, RECORD) uint8, first byte used in each) for log10 values <= 0, followed by separator
    SEPARATORS[sep]."""
    v = np.asarray(values, dtype=np.float64)
    micro = np.rint(-np.clip(v, -99.999999, 0.0) * 1e6).astype(np.int64)
    whole, frac = np.divmod(micro, 1_000_000)
    rec = np.empty((v.size, RECORD // 2), dtype=np.uint16)  # six character pairs per record
    two = whole >= 10
    rec[:, 0] = np.take(_LEAD, two.view(np.uint8))
    rec[:, 1] = np.take(_WHOLE, whole)
    hi, rest = np.divmod(frac, 100_000)
    rec[:, 2] = np.take(_DOT_DIGIT, hi)
    mid, rest = np.divmod(rest, 1000)
    rec[:, 3] = np.take(_PAIR_DIGITS, mid)
    low, last = np.divmod(rest, 10)
    rec[:, 4] = np.take(_PAIR_DIGITS, low)
    rec[:, 5] = np.take(_DIGIT_SEP[sep], last)
    start = np.where(two, 1, 2)
    zero, logzero = micro == 0, v <= -99.0
    if zero.any() or logzero.any():  # "0" + sep, "-99" + sep
        rec[zero, 5] = _SPECIAL_TAIL[sep, 0]
        start[zero] = RECORD - 2
        rec[logzero, 4] = _MINUS_NINE
        rec[logzero, 5] = _SPECIAL_TAIL[sep, 1]
        start[logzero] = RECORD - 4
    return rec.view(np.uint8), start


def format_lines(ids: np.ndarray, prob: np.ndarray, backoff: np.ndarray | None, vocab: VocabBytes) -> bytes:
    """ARPA lines `prob TAB w1 ... wn [TAB backoff] NEWLINE` for the n-grams in `ids` (m, n)."""
    m, n = ids.shape
    if m == 0:
        return b""
    p_rec, p_start = number_records(prob, TAB)
    b_rec, b_start = number_records(backoff, NEWLINE) if backoff is not None else (p_rec[:0], p_start[:0])
    base = vocab.blob.size  # the records sit behind the vocabulary in its workspace
    blob = vocab.workspace(p_rec.size + b_rec.size)
    blob[base:base + p_rec.size] = p_rec.reshape(-1)
    blob[base + p_rec.size:base + p_rec.size + b_rec.size] = b_rec.reshape(-1)
    rows = np.arange(m, dtype=np.int64) * RECORD + base

    segs = n + (2 if backoff is not None else 1)
    start = np.empty((m, segs), dtype=np.int64)
    length = np.empty((m, segs), dtype=np.int64)
    start[:, 0] = rows + p_start
    length[:, 0] = RECORD - p_start
    last_sep = TAB if backoff is not None else NEWLINE
    for j in range(n):
        w = ids[:, j]
        copy = SPACE if j < n - 1 else last_sep
        start[:, 1 + j] = np.take(vocab.start, w) + copy * vocab.stride
        length[:, 1 + j] = np.take(vocab.length, w)
    if backoff is not None:
        start[:, -1] = rows + (p_rec.size + b_start)
        length[:, -1] = RECORD - b_start
    return ragged_gather(blob, start.reshape(-1), length.reshape(-1)).tobytes()


def ragged_gather(blob: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Concatenate blob[start[i] : start[i] + length[i]] for all i (every length >= 1), vectorised.

    The source index of output byte j is a running sum: +1 per byte, plus a jump at each segment's first
    byte — one cumsum and one take."""
    if not length.size:
        return np.empty(0, dtype=np.uint8)
    ends = np.cumsum(length)
    total = int(ends[-1])
    step = np.ones(total, dtype=np.intp)  # take's own index type: int32 would be converted, costing more
    step[ends[:-1]] = start[1:] - (start[:-1] + length[:-1] - 1)
    step[0] = start[0]
    return np.take(blob, running_sum(step))
