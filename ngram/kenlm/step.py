"""KenLM's FullScore for one word, fused into one function per search kind: the cold path of `score`,
`full_scores` and `BaseScore`.

`scoring.full_score` is the plain twin (one method call per n-gram lookup); these closures do the same lookups
with everything bound to locals, the n-gram keys folded in Python ints (one key at a time is cheaper in plain int
arithmetic than in NumPy) and the mapped tables read with `struct.unpack_from`. A step returns
(log10 p, n-gram length, out-state words, out-state backoffs); the backoffs are added in float32, as KenLM does.
"""
from __future__ import annotations

import math
import struct
from bisect import bisect_right
from collections.abc import Callable

from ngram.kenlm.hashing import KEY_ADD, KEY_MUL, MASK
from tokenizers_kit.errors import ModelFileError

Step = Callable[[tuple, tuple, int], tuple]
F32 = struct.Struct("<f")
U32 = struct.Struct("<I")
WINDOW = 4  # probing slots read per struct call: most lookups, found or not, end within a few slots


def _f32_add(prob: float, backoff: float) -> float:
    return F32.unpack(F32.pack(prob + backoff))[0]


def make_step(search) -> Step:
    """The fused step of a ProbingSearch or a TrieSearch."""
    return _trie_step(search) if hasattr(search, "arrays") else _probing_step(search)


def _probing_step(search) -> Step:
    raw, unpack, copysign = search.raw, struct.unpack_from, math.copysign
    uni_at, uni_size = search._uni_offset, search._uni_size
    window = WINDOW
    windows = {entry: [struct.Struct("<" + f"Q{entry - 8}x" * n) for n in range(window + 1)]
               for entry in {t.entry for t in search.middle} | {12}}
    middles = [(t.offset, t.slots, t.entry, windows[t.entry]) for t in search.middle]
    long_at, long_slots, name = search.longest.offset, search.longest.slots, search.longest.name
    long_windows = windows[12]
    order = search.order
    last = order - 2
    f32 = F32

    def probe(key: int, at: int, slots: int, entry: int, structs: list) -> int:
        """Linear probing from the key's home slot, `window` slots per read: the slot holding `key`, or -1."""
        if key == 0 or slots == 0:
            return -1
        slot = key % slots
        for _ in range(slots // window + 2):
            n = window if slot + window <= slots else slots - slot
            keys = structs[n].unpack_from(raw, at + slot * entry)
            if key in keys:  # a table built by insertion has no empty slot between a key's home and the key
                return slot + keys.index(key)
            if 0 in keys:
                return -1
            slot = (slot + n) % slots
        raise ModelFileError(f"{name}: a probing table has no empty slot: the file is corrupt")

    def step(words: tuple, backoffs: tuple, w: int) -> tuple:
        stored, backoff = unpack("<ff", raw, uni_at + w * uni_size)
        prob = -abs(stored)
        out_backoffs = [backoff]
        out_len = 1 if backoff != 0.0 or copysign(1.0, backoff) > 0 else 0
        length = 1
        key = w
        for j, older in enumerate(words):
            # the stored sign bit set means "independent left": no longer n-gram ends here, stop looking
            if stored < 0.0 or (stored == 0.0 and copysign(1.0, stored) < 0):
                break
            key = ((key * KEY_MUL) ^ ((older + 1) * KEY_ADD)) & MASK
            if j == last:
                slot = probe(key, long_at, long_slots, 12, long_windows)
                if slot >= 0:
                    prob, length = unpack("<f", raw, long_at + slot * 12 + 8)[0], order
                break
            at, slots, entry, structs = middles[j]
            slot = probe(key, at, slots, entry, structs)
            if slot < 0:
                break
            stored, backoff = unpack("<ff", raw, at + slot * entry + 8)
            prob = -abs(stored)
            out_backoffs.append(backoff)
            length = j + 2
            if backoff != 0.0 or copysign(1.0, backoff) > 0:
                out_len = length
        for b in backoffs[length - 1:]:
            prob = f32.unpack(f32.pack(prob + b))[0]
        return prob, length, ((w,) + words)[:out_len], tuple(out_backoffs[:out_len])

    return step


def _trie_step(search) -> Step:
    raw, unpack, copysign = search.raw, struct.unpack_from, math.copysign
    uni_at, order, name, bound = search._uni_offset, search.order, search.name, search.limit
    last = order - 2
    f32, u32, ff, uu = F32, U32, struct.Struct("<ff"), struct.Struct("<II")
    # per order 2..N: (base, record bits, entries, word mask, prob shift, prob mask, prob table, backoff shift,
    # backoff mask, backoff table, next shift, next bits, next mask, Bhiksha offsets as a memoryview or None)
    levels = []
    for a in search.arrays:
        offsets = memoryview(a.offsets).cast("B").cast("Q") if a.offsets is not None else None
        levels.append((a.base, a.bits, a.entries, (1 << a.word_bits) - 1, a.prob_shift, (1 << a.prob_bits) - 1,
                       None if a.prob_table is None else a.prob_table.tolist(), a.backoff_shift,
                       (1 << a.backoff_bits) - 1,
                       None if a.backoff_table is None else a.backoff_table.astype(float).tolist(),
                       a.next_shift, a.next_bits, (1 << a.next_bits) - 1, offsets))

    def bits_at(base: int, at: int, width: int) -> int:
        """The `width` bits from bit `at` of an array, as an int: several fields in one read."""
        start = base + (at >> 3)
        return int.from_bytes(raw[start:start + (((at & 7) + width + 7) >> 3)], "little") >> (at & 7)

    def find(level: tuple, begin: int, end: int, word: int) -> int:
        """The record of `word` among the sorted records begin..end of one order, or -1: KenLM's interpolation
        search (ids in trie files follow hash order, so they spread evenly and the first guess is close)."""
        if not begin <= end <= level[2]:
            raise ModelFileError(f"{name}: a trie pointer is out of range: the file is corrupt")
        base, bits, mask = level[0], level[1], level[3]
        lo, lo_val, hi, hi_val = begin - 1, 0, end, bound
        while hi - lo > 1:
            mid = lo + 1 + (word - lo_val) * (hi - lo - 1) // (hi_val - lo_val + 1)
            if not lo < mid < hi:  # values outside the ids the header allows: only in a corrupt file
                mid = (lo + hi) >> 1
            at = mid * bits
            got = (unpack("<Q", raw, base + (at >> 3))[0] >> (at & 7)) & mask
            if got < word:
                lo, lo_val = mid, got
            elif got > word:
                hi, hi_val = mid, got
            else:
                return mid
        return -1

    def step(words: tuple, backoffs: tuple, w: int) -> tuple:
        prob, backoff, begin, end = unpack("<ffQ8xQ", raw, uni_at + 16 * w)
        out_backoffs = [backoff]
        out_len = 1 if backoff != 0.0 or copysign(1.0, backoff) > 0 else 0
        length = 1
        for j, older in enumerate(words):
            level = levels[j]
            if begin == end:  # no children: "independent left", no longer n-gram ends here
                if end > level[2]:
                    raise ModelFileError(f"{name}: a trie pointer is out of range: the file is corrupt")
                break
            record = find(level, begin, end, older)
            if record < 0:
                break
            base, bits, _, _, prob_shift, prob_mask, prob_table, backoff_shift, backoff_mask, backoff_table, \
                next_shift, next_bits, next_mask, offsets = level
            if j == last:
                code = bits_at(base, record * bits + prob_shift, prob_mask.bit_length()) & prob_mask
                prob = prob_table[code] if prob_table else f32.unpack(u32.pack(code | 0x80000000))[0]
                length = order
                break
            # this record's prob, backoff and next pointer and the next record's pointer: one read
            v = bits_at(base, record * bits, bits + next_shift + next_bits)
            code, back = (v >> prob_shift) & prob_mask, (v >> backoff_shift) & backoff_mask
            if prob_table:
                prob, backoff = prob_table[code], backoff_table[back]
            else:
                prob, backoff = ff.unpack(uu.pack(code | 0x80000000, back))
            out_backoffs.append(backoff)
            length = j + 2
            if backoff != 0.0 or copysign(1.0, backoff) > 0:
                out_len = length
            begin, end = (v >> next_shift) & next_mask, (v >> (bits + next_shift)) & next_mask
            if offsets is not None:  # Bhiksha: the high bits of a pointer are where it falls in the offsets
                begin |= (bisect_right(offsets, record) - 1) << next_bits
                end |= (bisect_right(offsets, record + 1) - 1) << next_bits
        for b in backoffs[length - 1:]:
            prob = f32.unpack(f32.pack(prob + b))[0]
        return prob, length, ((w,) + words)[:out_len], tuple(out_backoffs[:out_len])

    return step
