"""Reading KenLM's TRIE family (plain, quantised `-q/-b`, pointer-compressed `-a`): a sorted vocabulary and a
trie over reversed n-grams whose arrays are bit-packed records, read in place from the mapped file. Nodes are
record indices; the children of a node are a range of the next order's array, sorted by word id.
"""
from __future__ import annotations

import struct
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from ngram.kenlm import binary_format as bf
from tokenizers_kit.errors import ModelFileError

SIGN = 0x80000000
UNIGRAM = np.dtype([("prob", "<f4"), ("backoff", "<f4"), ("next", "<u8")])
BYTE_SPAN = np.arange(8)


@dataclass
class Array:
    """One order's bit-packed records: where the fields sit and what they mean."""
    base: int  # byte offset of record 0
    bits: int  # record width
    entries: int
    word_bits: int
    prob_shift: int
    prob_bits: int
    backoff_shift: int = 0
    backoff_bits: int = 0
    next_shift: int = 0
    next_bits: int = 0
    offsets: np.ndarray | None = None  # Bhiksha: first record whose next pointer reaches j << next_bits
    prob_table: np.ndarray | None = None  # quantisation centres (None: raw float bits)
    backoff_table: np.ndarray | None = None


def _quant_layout(buf: np.ndarray, start: int, h: bf.Header, size: int, name: str) -> tuple[int, int]:
    if start + 8 > size:
        raise ModelFileError(f"{name} is truncated: it ends inside the quantisation header; rebuild it")
    version, q, b = (int(x) for x in buf[start:start + 3])
    if version != 2:
        raise ModelFileError(f"{name}: quantisation version {version} is not 2: the file is corrupt")
    if not (1 <= q <= 25 and 1 <= b <= 25):
        raise ModelFileError(f"{name}: quantisation bits {q}/{b} are out of range: the file is corrupt")
    return q, b


def _layout(buf: np.ndarray, start: int, h: bf.Header, size: int, name: str) -> tuple[int, list[Array], tuple]:
    """(bytes of the search, the arrays of orders 2..N, (q, b) or ()) with every offset checked in turn."""
    c = h.counts
    order = h.order
    word_bits = bf.required_bits(c[0])
    offset = start
    quant: tuple = ()
    if h.quantized:
        quant = _quant_layout(buf, start, h, size, name)
        offset += bf.quant_size(order, *quant)
    offset += (c[0] + 2) * UNIGRAM.itemsize
    arrays: list[Array] = []
    max_bits = None
    for n in range(2, order + 1):
        entries = c[n - 1]
        if n == order:
            prob_bits = quant[0] if quant else 31
            arrays.append(Array(offset, word_bits + prob_bits, entries, word_bits, word_bits, prob_bits))
            offset += bf.bitpacked_size(entries, word_bits + prob_bits)
            break
        max_next = c[n]
        next_bits = bf.required_bits(max_next)
        table_len = 0
        if h.bhiksha:
            if offset + 8 > size:
                raise ModelFileError(f"{name} is truncated inside a pointer-compression header; rebuild it")
            if int(buf[offset]) != 0:
                raise ModelFileError(f"{name}: pointer-compression version {int(buf[offset])} is not 0: "
                                     "the file is corrupt")
            if max_bits is None:
                max_bits = int(buf[offset + 1])
            chop = bf.bhiksha_chop(entries, max_next, max_bits)
            next_bits -= chop
            table_len = bf.bhiksha_table_len(max_next, next_bits)
            table_at = (offset + 7) // 8 * 8 + 8
            block = bf.bhiksha_size(table_len)
            if offset + block > size:
                raise ModelFileError(f"{name} is truncated inside a pointer-compression table; rebuild it")
            offsets = np.ndarray((table_len,), dtype="<u8", buffer=buf, offset=table_at)
            offset += block
        if quant:
            q, b = quant
            fields = dict(backoff_shift=word_bits, backoff_bits=b, prob_shift=word_bits + b, prob_bits=q)
        else:
            fields = dict(prob_shift=word_bits, prob_bits=31, backoff_shift=word_bits + 31, backoff_bits=32)
        used = word_bits + fields["prob_bits"] + fields["backoff_bits"]
        array = Array(offset, used + next_bits, entries, word_bits, next_shift=used, next_bits=next_bits, **fields)
        if h.bhiksha:
            array.offsets = offsets
        arrays.append(array)
        offset += bf.bitpacked_size(entries, array.bits)
        if offset > size:
            break  # the caller reports the truncation
    return offset - start, arrays, quant


def search_size(h: bf.Header, buf: np.ndarray, start: int, size: int, name: str) -> int:
    """Bytes of the vocabulary and search sections; reads only the small headers of the sections, each after
    checking it lies inside the file."""
    vocab = bf.trie_vocab_size(h.counts[0])
    if start + vocab > size:
        return vocab
    return vocab + _layout(buf, start + vocab, h, size, name)[0]


class SortedVocab:
    """Word hash -> id through KenLM's sorted hash array (id = 1 + position; 0 when absent)."""

    def __init__(self, buf: np.ndarray, offset: int, h: bf.Header, name: str) -> None:
        (stored,) = struct.unpack_from("<Q", buf, offset)
        if stored >= h.counts[0]:
            raise ModelFileError(f"{name}: the vocabulary holds {stored} words but the header counts "
                                 f"{h.counts[0]}: the file is corrupt")
        self.hashes = np.ndarray((stored,), dtype="<u8", buffer=buf, offset=offset + 8)
        self._sorted = memoryview(self.hashes).cast("B").cast("Q")
        self.bound = h.counts[0]

    def ids(self, hashes: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self.hashes, hashes)
        clipped = np.minimum(at, max(self.hashes.size - 1, 0))
        found = (at < self.hashes.size) & (self.hashes[clipped] == hashes) & (hashes != 0) if self.hashes.size \
            else np.zeros(hashes.size, bool)
        return np.where(found, at + 1, 0).astype(np.int64)

    def id(self, word_hash: int) -> int:
        at = bisect_left(self._sorted, word_hash)  # plain bisect: no NumPy call for one word
        return at + 1 if word_hash and at < len(self._sorted) and self._sorted[at] == word_hash else 0


class TrieSearch:
    def __init__(self, buf: np.ndarray, start: int, h: bf.Header, name: str) -> None:
        self.order = h.order
        self.buf = buf
        self.raw = memoryview(buf).cast("B")  # struct reads from a memoryview, not through NumPy's buffer
        self.name = name
        size, self.arrays, quant = _layout(buf, start, h, buf.size, name)
        offset = start
        if quant:
            q, b = quant
            offset += 8
            for array in self.arrays:
                array.prob_table = np.ndarray((1 << q,), "<f4", buf, offset).astype(np.float64)
                offset += 4 << q
                if array is not self.arrays[-1]:
                    array.backoff_table = np.ndarray((1 << b,), "<f4", buf, offset).copy()
                    offset += 4 << b
        self.unigrams = np.ndarray((h.counts[0] + 2,), UNIGRAM, buf, offset)
        self._uni_offset = offset
        self.uni_prob = self.unigrams["prob"]
        self.uni_backoff = self.unigrams["backoff"]
        self.uni_next = self.unigrams["next"].astype(np.int64)
        self.limit = h.counts[0]

    # ---- bit fields ---------------------------------------------------------------------------------------
    def _field(self, a: Array, record: int, shift: int, width: int) -> int:
        bit = record * a.bits + shift
        (v,) = struct.unpack_from("<Q", self.raw, a.base + (bit >> 3))
        return (v >> (bit & 7)) & ((1 << width) - 1)

    def _fields(self, a: Array, records: np.ndarray, shift: int, width: int) -> np.ndarray:
        bit = records * a.bits + shift
        at = a.base + (bit >> 3)
        raw = self.buf[at[:, None] + BYTE_SPAN].view("<u8")[:, 0] if at.size else np.zeros(0, np.uint64)
        return (raw >> (bit & 7).astype(np.uint64)) & np.uint64((1 << width) - 1)

    def _next(self, a: Array, record: int) -> int:
        low = self._field(a, record, a.next_shift, a.next_bits)
        if a.offsets is None:
            return low
        hi = int(np.searchsorted(a.offsets, record, side="right")) - 1
        return (hi << a.next_bits) | low

    def _next_many(self, a: Array, records: np.ndarray) -> np.ndarray:
        low = self._fields(a, records, a.next_shift, a.next_bits).astype(np.int64)
        if a.offsets is None:
            return low
        hi = np.searchsorted(a.offsets, records.astype(np.uint64), side="right").astype(np.int64) - 1
        return (hi << a.next_bits) | low

    def _prob(self, a: Array, record: int) -> float:
        code = self._field(a, record, a.prob_shift, a.prob_bits)
        if a.prob_table is not None:
            return float(a.prob_table[code])
        return struct.unpack("<f", struct.pack("<I", code | SIGN))[0]

    def _probs(self, a: Array, records: np.ndarray) -> np.ndarray:
        code = self._fields(a, records, a.prob_shift, a.prob_bits)
        if a.prob_table is not None:
            return a.prob_table[code].astype(np.float32)
        return (code.astype(np.uint32) | np.uint32(SIGN)).view(np.float32)

    def _backoff(self, a: Array, record: int) -> float:
        code = self._field(a, record, a.backoff_shift, a.backoff_bits)
        if a.backoff_table is not None:
            return float(a.backoff_table[code])
        return struct.unpack("<f", struct.pack("<I", code))[0]

    def _backoffs(self, a: Array, records: np.ndarray) -> np.ndarray:
        code = self._fields(a, records, a.backoff_shift, a.backoff_bits)
        if a.backoff_table is not None:
            return a.backoff_table[code]
        return code.astype(np.uint32).view(np.float32)

    # ---- navigation ---------------------------------------------------------------------------------------
    def _range(self, n: int, node: int) -> tuple[int, int]:
        """The children of an order-(n-1) node in the order-n array."""
        if n == 2:
            begin, end = int(self.uni_next[node]), int(self.uni_next[node + 1])
        else:
            a = self.arrays[n - 3]
            begin, end = self._next(a, node), self._next(a, node + 1)
        if not (begin <= end <= self.arrays[n - 2].entries):
            raise ModelFileError(f"{self.name}: a trie pointer is out of range: the file is corrupt")
        return begin, end

    def _find(self, n: int, node: int, word: int) -> int:
        begin, end = self._range(n, node)
        a = self.arrays[n - 2]
        lo, hi = begin, end
        while lo < hi:
            mid = (lo + hi) // 2
            if self._field(a, mid, 0, a.word_bits) < word:
                lo = mid + 1
            else:
                hi = mid
        if lo < end and self._field(a, lo, 0, a.word_bits) == word:
            return lo
        return -1

    def unigram(self, w: int) -> tuple[float, float, int]:
        prob, backoff = struct.unpack_from("<ff", self.raw, self._uni_offset + 16 * w)
        return prob, backoff, w

    def middle_find(self, n: int, node: int, older: int) -> tuple[float, float, int] | None:
        record = self._find(n, node, older)
        if record < 0:
            return None
        a = self.arrays[n - 2]
        return self._prob(a, record), self._backoff(a, record), record

    def longest_find(self, node: int, older: int) -> float | None:
        record = self._find(self.order, node, older)
        return None if record < 0 else self._prob(self.arrays[-1], record)

    # ---- whole sentences ----------------------------------------------------------------------------------
    def _ranges(self, n: int, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if n == 2:
            begin, end = self.uni_next[nodes], self.uni_next[nodes + 1]
        else:
            a = self.arrays[n - 3]
            begin, end = self._next_many(a, nodes), self._next_many(a, nodes + 1)
        if begin.size and not ((begin <= end).all() and int(end.max()) <= self.arrays[n - 2].entries):
            raise ModelFileError(f"{self.name}: a trie pointer is out of range: the file is corrupt")
        return begin, end

    def _find_many(self, n: int, nodes: np.ndarray, words: np.ndarray) -> np.ndarray:
        begin, end = self._ranges(n, nodes)
        a = self.arrays[n - 2]
        lo, hi = begin.copy(), end.copy()
        words = words.astype(np.uint64)
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) // 2
            below = self._fields(a, np.where(open_, mid, 0), 0, a.word_bits) < words
            lo = np.where(open_ & below, mid + 1, lo)
            hi = np.where(open_ & ~below, mid, hi)
        inside = lo < end
        hit = inside & (self._fields(a, np.where(inside, lo, 0), 0, a.word_bits) == words)
        return np.where(hit, lo, -1)

    def unigram_many(self, ids: np.ndarray):
        return self.uni_prob[ids], self.uni_backoff[ids], ids.astype(np.int64)

    def middle_many(self, n: int, nodes: np.ndarray, older: np.ndarray):
        records = self._find_many(n, nodes, older)
        found = records >= 0
        a = self.arrays[n - 2]
        rec = records[found]
        return found, self._probs(a, rec), self._backoffs(a, rec), rec

    def longest_many(self, nodes: np.ndarray, older: np.ndarray):
        records = self._find_many(self.order, nodes, older)
        found = records >= 0
        return found, self._probs(self.arrays[-1], records[found])
