"""An ARPA model laid out as KenLM's PROBING binary: what `Model` maps for an ARPA file (as KenLM builds one in
memory) and what `tkit build-binary probing` writes. Everything is vectorised over whole sections.
"""
from __future__ import annotations

import numpy as np

from ngram.kenlm import binary_format as bf
from ngram.kenlm.arpa_source import ArpaSource
from ngram.kenlm.hashing import KEY_ADD, KEY_MUL, murmur64_many
from ngram.kenlm.probing import LONGEST, MIDDLE, UNIGRAM, VOCAB
from tokenizers_kit.errors import ModelFileError

SIGN = np.uint32(0x80000000)


def keys_of(ids: np.ndarray) -> np.ndarray:
    """Hash keys of n-gram rows (oldest word first): folded from the newest word back."""
    h = ids[:, -1].astype(np.uint64)
    for j in range(ids.shape[1] - 2, -1, -1):
        h = (h * np.uint64(KEY_MUL)) ^ ((ids[:, j].astype(np.uint64) + np.uint64(1)) * np.uint64(KEY_ADD))
    return h


def place(keys: np.ndarray, slots: int) -> np.ndarray:
    """A slot for every key in a linear-probing table of `slots` (each key on an unbroken run of occupied
    slots from its home, which is all lookups need); keys earlier in the array win ties."""
    where = np.empty(keys.size, dtype=np.int64)
    used = np.zeros(slots, dtype=bool)
    pending = np.arange(keys.size)
    pos = (keys % np.uint64(slots)).astype(np.int64)
    while pending.size:
        free = ~used[pos]
        slot, first = np.unique(pos[free], return_index=True)
        winners = np.flatnonzero(free)[first]
        where[pending[winners]] = slot
        used[slot] = True
        keep = np.ones(pending.size, dtype=bool)
        keep[winners] = False
        pending, pos = pending[keep], pos[keep] + 1
        pos[pos == slots] = 0
    return where


def _member(sorted_keys: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, index into the unsorted keys) of each wanted key."""
    at = np.minimum(np.searchsorted(sorted_keys, wanted), max(sorted_keys.size - 1, 0))
    found = sorted_keys[at] == wanted if sorted_keys.size else np.zeros(wanted.size, bool)
    return found, order[at]


def link_orders(src: ArpaSource, name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per order: the entries' keys, and whether each extends left (is the suffix of a longer entry). Sets the
    backoff of every context of a longer entry from -0.0 to +0.0, as KenLM does; a missing context is an error."""
    keys = [src.ids[0][:, 0].astype(np.uint64)] + [keys_of(r) for r in src.ids[1:]]
    left = [np.zeros(k.size, dtype=bool) for k in keys]
    for n in range(2, len(keys) + 1):
        lower = keys[n - 2]
        order = np.argsort(lower, kind="stable")
        sorted_lower = lower[order]
        rows = src.ids[n - 1]
        prefix = keys_of(rows[:, :-1]) if n > 2 else rows[:, 0].astype(np.uint64)
        found, at = _member(sorted_lower, order, prefix)
        if not found.all():
            raise ModelFileError(f"{name}: the context of every {n}-gram must appear as a {n - 1}-gram, but "
                                 f"{_words(src, rows[int(np.flatnonzero(~found)[0])])!r} has none: KenLM "
                                 "cannot load this model")
        bo = src.backoff[n - 2]
        ctx = at[bo[at].view(np.uint32) == SIGN]
        bo[ctx] = np.float32(0.0)
        suffix = keys_of(rows[:, 1:]) if n > 2 else rows[:, 1].astype(np.uint64)
        found, at = _member(sorted_lower, order, suffix)
        if not found.all():
            raise ModelFileError(f"{name}: the {n}-gram {_words(src, rows[int(np.flatnonzero(~found)[0])])!r} "
                                 f"has no {n - 1}-gram suffix (SRILM-style pruning): tkit does not build KenLM "
                                 "tables for such models yet; prune with lmplz or keep the suffixes")
        left[n - 2][at] = True
    return keys, left


def _words(src: ArpaSource, row: np.ndarray) -> str:
    return " ".join(src.words[i].decode("utf-8", "replace") for i in row.tolist())[:80]


def _flagged(prob: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Probabilities with KenLM's flag in the sign bit: clear where the entry extends left, set elsewhere."""
    bits = prob.view(np.uint32)
    return np.where(left, bits & ~SIGN, bits | SIGN).view(np.float32)


def _table(dtype: np.dtype, keys: np.ndarray, slots: int, **values: np.ndarray) -> np.ndarray:
    rows = np.zeros(slots, dtype=dtype)
    where = place(keys, slots)
    rows["key"][where] = keys
    for field, value in values.items():
        rows[field][where] = value
    return rows


def probing_image(src: ArpaSource, name: str, multiplier: float = 1.5, rest: bool = False) -> bytes:
    """The bytes of a PROBING (or REST_PROBING, rest = prob) file for the model."""
    kind = bf.REST_PROBING if rest else bf.PROBING
    order = len(src.counts)
    keys, left = link_orders(src, name)
    c0 = src.counts[0]
    header = bf.Header(order, float(np.float32(multiplier)), kind, True, tuple(src.counts))
    parts = [bf.pack_header(header), np.array([0, len(src.words)], dtype="<u4").tobytes()]
    hashes = murmur64_many(src.words[1:])
    parts.append(_table(VOCAB, hashes, bf.buckets(c0, multiplier), id=np.arange(1, len(src.words))).tobytes())
    uni = np.zeros(c0 + 1, dtype=UNIGRAM[kind])
    uni["prob"][:len(src.words)] = _flagged(src.prob[0], left[0])
    uni["backoff"][:len(src.words)] = src.backoff[0]
    if rest:
        uni["rest"][:len(src.words)] = src.prob[0]
    parts.append(uni.tobytes())
    for n in range(2, order):
        extra = {"rest": src.prob[n - 1]} if rest else {}
        parts.append(_table(MIDDLE[kind], keys[n - 1], bf.buckets(src.counts[n - 1], multiplier),
                            prob=_flagged(src.prob[n - 1], left[n - 1]), backoff=src.backoff[n - 1],
                            **extra).tobytes())
    parts.append(_table(LONGEST, keys[-1], bf.buckets(src.counts[-1], multiplier), prob=src.prob[-1]).tobytes())
    parts.append(b"\0".join(src.words) + b"\0")
    return b"".join(parts)
