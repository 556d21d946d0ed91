"""Reading KenLM's PROBING (and REST_PROBING) search: hash tables with linear probing, viewed in place in the
mapped file. Nodes are n-gram keys (`hashing.ngram_key`); a lookup never changes the tables.
"""
from __future__ import annotations

import struct

import numpy as np

from ngram.kenlm import binary_format as bf
from ngram.kenlm.hashing import extend_key, extend_keys
from tokenizers_kit.errors import ModelFileError

NEG = np.uint32(0x80000000)


class ProbingTable:
    """A linear-probing table of fixed-size entries whose first 8 bytes are the uint64 key (0 = empty slot)."""

    def __init__(self, buf: np.ndarray, offset: int, slots: int, dtype: np.dtype, name: str) -> None:
        self.buf = buf
        self.raw = memoryview(buf).cast("B")  # struct reads from a memoryview, not through NumPy's buffer
        self.offset = offset
        self.slots = slots
        self.entry = dtype.itemsize
        self.name = name
        self.rows = np.ndarray((slots,), dtype=dtype, buffer=buf, offset=offset)
        self.keys = self.rows["key"]

    def find(self, key: int) -> int:
        """The slot holding `key`, or -1."""
        if key == 0 or self.slots == 0:
            return -1
        slot = key % self.slots
        for _ in range(self.slots):
            (got,) = struct.unpack_from("<Q", self.raw, self.offset + slot * self.entry)
            if got == key:
                return slot
            if got == 0:
                return -1
            slot = slot + 1 if slot + 1 < self.slots else 0
        raise ModelFileError(f"{self.name}: a probing table has no empty slot: the file is corrupt")

    def find_many(self, keys: np.ndarray) -> np.ndarray:
        """`find` for every key (int64 slots, -1 where missing)."""
        out = np.full(keys.shape, -1, dtype=np.int64)
        if self.slots == 0:
            return out
        todo = np.flatnonzero(keys != 0)
        want = keys[todo]
        slot = (want % np.uint64(self.slots)).astype(np.int64)
        for _ in range(self.slots):
            if not todo.size:
                return out
            got = self.keys[slot]
            hit = got == want
            out[todo[hit]] = slot[hit]
            more = ~hit & (got != 0)
            todo, want, slot = todo[more], want[more], slot[more] + 1
            slot[slot == self.slots] = 0
        raise ModelFileError(f"{self.name}: a probing table has no empty slot: the file is corrupt")


def _dtype(fields: list[tuple[str, str]]) -> np.dtype:
    return np.dtype(fields)  # packed: KenLM's entries are packed structs


VOCAB = _dtype([("key", "<u8"), ("id", "<u4")])
UNIGRAM = {bf.PROBING: _dtype([("prob", "<f4"), ("backoff", "<f4")]),
           bf.REST_PROBING: _dtype([("prob", "<f4"), ("backoff", "<f4"), ("rest", "<f4")])}
MIDDLE = {bf.PROBING: _dtype([("key", "<u8"), ("prob", "<f4"), ("backoff", "<f4")]),
          bf.REST_PROBING: _dtype([("key", "<u8"), ("prob", "<f4"), ("backoff", "<f4"), ("rest", "<f4")])}
LONGEST = _dtype([("key", "<u8"), ("prob", "<f4")])


def search_size(h: bf.Header) -> int:
    """Bytes of the vocabulary and search sections (everything between the header and the strings)."""
    c = h.counts
    pm = h.probing_multiplier
    size = bf.probing_vocab_size(c[0], pm) + (c[0] + 1) * UNIGRAM[h.model_type].itemsize
    size += sum(bf.buckets(n, pm) * MIDDLE[h.model_type].itemsize for n in c[1:-1])
    return size + bf.buckets(c[-1], pm) * LONGEST.itemsize


class ProbingVocab:
    """Word bytes -> id through the hashed vocabulary (id 0, `<unk>`, for a word not in it)."""

    def __init__(self, buf: np.ndarray, offset: int, h: bf.Header, name: str) -> None:
        version, self.bound = struct.unpack_from("<II", buf, offset)
        if version != 0:
            raise ModelFileError(f"{name}: probing vocabulary version {version} is not 0: the file is corrupt")
        self.limit = h.counts[0]  # the largest id the unigram array holds
        self.table = ProbingTable(buf, offset + 8, bf.buckets(h.counts[0], h.probing_multiplier), VOCAB, name)
        self.name = name

    def ids(self, hashes: np.ndarray) -> np.ndarray:
        slots = self.table.find_many(hashes)
        ids = np.where(slots >= 0, self.table.rows["id"][np.maximum(slots, 0)], 0).astype(np.int64)
        if ids.size and int(ids.max()) > self.limit:
            raise ModelFileError(f"{self.name}: a vocabulary id is beyond the unigram table: the file is corrupt")
        return ids

    def id(self, word_hash: int) -> int:
        slot = self.table.find(word_hash)
        if slot < 0:
            return 0
        (wid,) = struct.unpack_from("<I", self.table.raw, self.table.offset + slot * 12 + 8)
        if wid > self.limit:
            raise ModelFileError(f"{self.name}: a vocabulary id is beyond the unigram table: the file is corrupt")
        return wid

    @property
    def buf(self) -> np.ndarray:
        return self.table.buf


class ProbingSearch:
    """Unigram array, middle tables and the longest table of a probing file; nodes are n-gram keys."""

    def __init__(self, buf: np.ndarray, offset: int, h: bf.Header, name: str) -> None:
        self.order = h.order
        pm = h.probing_multiplier
        kind = h.model_type
        self.unigrams = np.ndarray((h.counts[0] + 1,), dtype=UNIGRAM[kind], buffer=buf, offset=offset)
        self._uni_offset, self._uni_size = offset, UNIGRAM[kind].itemsize
        self.buf = buf
        self.raw = memoryview(buf).cast("B")
        offset += self.unigrams.nbytes
        self.middle: list[ProbingTable] = []
        for c in h.counts[1:-1]:
            table = ProbingTable(buf, offset, bf.buckets(c, pm), MIDDLE[kind], name)
            self.middle.append(table)
            offset += table.rows.nbytes
        self.longest = ProbingTable(buf, offset, bf.buckets(h.counts[-1], pm), LONGEST, name)
        self.end = offset + self.longest.rows.nbytes
        self.uni_prob = -np.abs(self.unigrams["prob"])
        self.uni_backoff = self.unigrams["backoff"]

    # ---- one word at a time (BaseScore) -------------------------------------------------------------------
    def unigram(self, w: int) -> tuple[float, float, int]:
        prob, backoff = struct.unpack_from("<ff", self.raw, self._uni_offset + w * self._uni_size)
        return -abs(prob), backoff, w

    def middle_find(self, n: int, node: int, older: int) -> tuple[float, float, int] | None:
        """The order-n entry (2 <= n < order) extending `node` by the older word: (prob, backoff, node)."""
        table = self.middle[n - 2]
        key = extend_key(node, older)
        slot = table.find(key)
        if slot < 0:
            return None
        prob, backoff = struct.unpack_from("<ff", self.raw, table.offset + slot * table.entry + 8)
        return -abs(prob), backoff, key

    def longest_find(self, node: int, older: int) -> float | None:
        slot = self.longest.find(extend_key(node, older))
        if slot < 0:
            return None
        return struct.unpack_from("<f", self.raw, self.longest.offset + slot * 12 + 8)[0]

    # ---- whole sentences ------------------------------------------------------------------------------------
    def unigram_many(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.uni_prob[ids], self.uni_backoff[ids], ids.astype(np.uint64)

    def middle_many(self, n: int, nodes: np.ndarray, older: np.ndarray):
        table = self.middle[n - 2]
        keys = extend_keys(nodes, older)
        slots = table.find_many(keys)
        found = slots >= 0
        rows = table.rows[slots[found]]
        return found, -np.abs(rows["prob"]), rows["backoff"], keys[found]

    def longest_many(self, nodes: np.ndarray, older: np.ndarray):
        slots = self.longest.find_many(extend_keys(nodes, older))
        found = slots >= 0
        return found, self.longest.rows["prob"][slots[found]]
