"""KenLM's hashes: MurmurHash64A (seed 0) of a word's bytes, and the fold that keys an n-gram by its word ids.

Each has a scalar form on Python ints (for `BaseScore`, one word at a time) and a vectorised form on uint64
arrays (for whole sentences and whole vocabularies); NumPy array arithmetic wraps mod 2**64, as C++ does.
"""
from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

MASK = (1 << 64) - 1
M = 0xC6A4A7935BD1E995
R = 47
KEY_MUL = 8978948897894561157  # CombineWordHash: h * KEY_MUL ^ (id + 1) * KEY_ADD
KEY_ADD = 17894857484156487943
CHUNK = 1 << 15  # words hashed per vectorised batch (their bytes are padded to the longest in it)


def murmur64(data: bytes) -> int:
    """MurmurHash64A(data, seed 0): the key a word has in KenLM's vocabulary tables."""
    n = len(data)
    h = (n * M) & MASK
    end = n - n % 8
    for k in struct.unpack_from(f"<{end >> 3}Q", data) if end else ():
        k = (k * M) & MASK
        k ^= k >> R
        k = (k * M) & MASK
        h = ((h ^ k) * M) & MASK
    if n % 8:
        h = ((h ^ int.from_bytes(data[end:], "little")) * M) & MASK
    h ^= h >> R
    h = (h * M) & MASK
    return h ^ (h >> R)


def murmur64_many(words: Sequence[bytes]) -> np.ndarray:
    """MurmurHash64A of every word, as uint64."""
    out = np.empty(len(words), dtype=np.uint64)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    order = np.argsort(lengths, kind="stable")  # batches of similar lengths pad little
    for start in range(0, len(words), CHUNK):
        rows = order[start:start + CHUNK]
        out[rows] = _murmur_batch([words[i] for i in rows.tolist()], lengths[rows])
    return out


def _murmur_batch(words: list[bytes], lengths: np.ndarray) -> np.ndarray:
    width = (int(lengths.max(initial=0)) // 8 + 1) * 8
    buf = np.zeros((len(words), width), dtype=np.uint8)
    flat = np.frombuffer(b"".join(words), dtype=np.uint8)
    rows = np.repeat(np.arange(len(words)), lengths)
    cols = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    buf[rows, cols] = flat
    blocks = buf.view("<u8")
    m = np.uint64(M)
    r = np.uint64(R)
    h = lengths.astype(np.uint64) * m
    full = lengths // 8
    for b in range(blocks.shape[1] - 1):
        live = full > b
        k = blocks[:, b] * m
        k ^= k >> r
        k *= m
        h = np.where(live, (h ^ k) * m, h)
    tail = blocks[np.arange(len(words)), full]  # the tail bytes, zero-padded: its little-endian value
    h = np.where(lengths % 8 != 0, (h ^ tail) * m, h)
    h ^= h >> r
    h *= m
    return h ^ (h >> r)


def ngram_key(ids_newest_first: Sequence[int]) -> int:
    """The hash-table key of an n-gram, given its word ids newest (the predicted word) first."""
    h = ids_newest_first[0]
    for w in ids_newest_first[1:]:
        h = ((h * KEY_MUL) ^ ((w + 1) * KEY_ADD)) & MASK
    return h


def extend_key(h: int, older: int) -> int:
    """The key of the n-gram `h` stands for, extended by one older word."""
    return ((h * KEY_MUL) ^ ((older + 1) * KEY_ADD)) & MASK


def extend_keys(h: np.ndarray, older: np.ndarray) -> np.ndarray:
    """`extend_key` on arrays."""
    return (h * np.uint64(KEY_MUL)) ^ ((older.astype(np.uint64) + np.uint64(1)) * np.uint64(KEY_ADD))
