"""An ARPA model laid out as KenLM's TRIE binary (with -q/-b quantisation and -a Bhiksha pointer compression when
asked): what `tkit build-binary trie` writes. Word ids follow the order of the words' hashes (KenLM's sorted
vocabulary); each order's records are sorted by reversed n-gram, so the children of an (n-1)-gram are the
n-grams it ends, a contiguous range. Everything but the bin means is vectorised over whole sections.
"""
from __future__ import annotations

import numpy as np

from ngram.kenlm import binary_format as bf
from ngram.kenlm.arpa_source import ArpaSource
from ngram.kenlm.hashing import murmur64_many
from ngram.kenlm.probing_build import link_orders
from ngram.kenlm.trie import UNIGRAM

PROB_MASK = np.uint32(0x7FFFFFFF)  # a trie keeps 31 bits of a prob: its sign is always set


def pack_fields(entries: int, bits: int, fields: list[tuple[int, int, np.ndarray]]) -> bytes:
    """A bit-packed array of entries + 1 records of `bits` bits; fields are (shift, width, values), values
    given for records 0..len(values)-1."""
    out = np.zeros(bf.bitpacked_size(entries, bits), dtype=np.uint8)
    for shift, width, values in fields:
        values = np.asarray(values, dtype=np.uint64)
        at = np.arange(values.size, dtype=np.uint64) * np.uint64(bits) + np.uint64(shift)
        word = values << (at & np.uint64(7))  # width + 7 <= 64 bits: one uint64 per field
        byte = (at >> np.uint64(3)).astype(np.int64)
        parts = word[:, None].view(np.uint8).reshape(values.size, 8)  # little-endian bytes
        for k in range(8):
            np.bitwise_or.at(out, byte + k, parts[:, k])
    return out.tobytes()


def _renumber(src: ArpaSource) -> tuple[np.ndarray, np.ndarray]:
    """(new id of each ArpaSource id, the hashes of words 1.. in sorted order): ids in hash order."""
    hashes = murmur64_many(src.words[1:])
    order = np.argsort(hashes, kind="stable")
    new = np.zeros(len(src.words), dtype=np.int64)
    new[order + 1] = np.arange(1, len(src.words))
    return new, hashes[order]


def _bhiksha(entries: int, starts: np.ndarray, max_next: int, max_bits: int) -> tuple[bytes, np.ndarray, int]:
    """(the offset-table block, the inline low bits of each next pointer, their width) for one middle array
    placed at a file offset congruent to `at % 8` (the block's table is 8-aligned)."""
    chop = bf.bhiksha_chop(entries, max_next, max_bits)
    inline = bf.required_bits(max_next) - chop
    table_len = bf.bhiksha_table_len(max_next, inline)
    offsets = np.searchsorted(starts, np.arange(table_len, dtype=np.int64) << inline, side="left")
    low = starts & ((1 << inline) - 1)
    return offsets.astype("<u8"), low, inline


def _bhiksha_block(at: int, offsets: np.ndarray, max_bits: int) -> bytes:
    block = bytearray(bf.bhiksha_size(offsets.size))
    block[0], block[1] = 0, max_bits
    table = (at + 7) // 8 * 8 + 8 - at
    block[table:table + offsets.nbytes] = offsets.tobytes()
    return bytes(block)


def make_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """KenLM's MakeBins: the sorted values cut into `bins` runs of (nearly) equal count; each centre is its
    run's mean (summed in double, stored as float32); an empty run repeats the centre before it (-inf first)."""
    values = np.sort(values.astype(np.float32))
    centres = np.empty(bins, dtype=np.float32)
    start = 0
    for i in range(bins):
        finish = values.size * (i + 1) // bins
        if finish == start:
            centres[i] = centres[i - 1] if i else -np.inf
        else:
            total = 0.0
            for v in values[start:finish].tolist():  # sequential, as std::accumulate
                total += v
            centres[i] = np.float32(total / float(np.float32(finish - start)))
        start = finish
    return centres


def encode(centres: np.ndarray, values: np.ndarray, reserved: int = 0) -> np.ndarray:
    """KenLM's Bins::Encode: the nearer of the two centres around each value (the lower on a tie)."""
    table = centres[reserved:]
    above = np.searchsorted(table, values, side="left")
    lower = np.clip(above - 1, 0, table.size - 1)
    upper = np.clip(above, 0, table.size - 1)
    pick_lower = (values - table[lower]) < (table[upper] - values)
    code = np.where(above == 0, 0, np.where(above == table.size, table.size - 1, np.where(pick_lower, above - 1,
                                                                                          above)))
    return code + reserved


def encode_backoff(centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Zero backoffs keep their sign as codes 0 (-0.0, no extension) and 1 (+0.0); others as `encode`."""
    code = encode(centres, values, 2)
    zero = values == 0
    return np.where(zero, np.where(np.signbit(values), 0, 1), code)


def trie_image(src: ArpaSource, name: str, max_bits: int | None = None, quant: tuple[int, int] | None = None) -> bytes:
    """The bytes of a TRIE file for the model (ARRAY_TRIE, pointers compressed to `max_bits`, when given;
    probabilities and backoffs of orders 2..N quantised to `quant` = (prob bits, backoff bits))."""
    link_orders(src, name)  # contexts' backoffs to +0.0; refuses models KenLM refuses
    order = len(src.counts)
    new, sorted_hashes = _renumber(src)
    c0 = len(src.words)
    counts = [c0] + [r.shape[0] for r in src.ids[1:]]
    kind = (bf.TRIE if max_bits is None else bf.ARRAY_TRIE) + (1 if quant else 0)
    header = bf.Header(order, float(np.float32(1.5)), kind, True, tuple(counts))
    parts = [bf.pack_header(header), np.array([c0 - 1], "<u8").tobytes(), sorted_hashes.astype("<u8").tobytes(),
             bytes(8)]
    # each order's rows in new ids, reversed (newest word first) and sorted; their parents' record indices
    rev = [None] + [new[r][:, ::-1] for r in src.ids[1:]]
    perm = [None] + [np.lexsort(r.T[::-1]) for r in rev[1:]]
    word_bits = bf.required_bits(c0)
    tables = _quant_tables(src, perm, quant) if quant else None
    if quant:
        parts.append(bytes([2, quant[0], quant[1], 0, 0, 0, 0, 0]))
        parts += [t.astype("<f4").tobytes() for pair in tables for t in pair if t is not None]
    uni = np.zeros(c0 + 2, dtype=UNIGRAM)
    uni["prob"][new] = src.prob[0]
    uni["backoff"][new] = src.backoff[0]
    uni["next"][:c0 + 1] = _starts(rev[1][perm[1]][:, 0], c0) if order >= 2 else 0
    parts.append(uni.tobytes())
    parent_keys = None
    for n in range(2, order + 1):
        rows = rev[n - 1][perm[n - 1]]
        prob = src.prob[n - 1][perm[n - 1]]
        prob = encode(tables[n - 2][0], prob) if quant else prob.view(np.uint32) & PROB_MASK
        prob_bits = quant[0] if quant else 31
        entries = rows.shape[0]
        if n == order:
            parts.append(pack_fields(entries, word_bits + prob_bits,
                                     [(0, word_bits, rows[:, -1]), (word_bits, prob_bits, prob)]))
            break
        backoff = src.backoff[n - 1][perm[n - 1]]
        backoff = encode_backoff(tables[n - 2][1], backoff) if quant else backoff.view(np.uint32)
        backoff_bits = quant[1] if quant else 32
        children = rev[n][perm[n]]
        next_bits = bf.required_bits(children.shape[0])
        parent_keys = _record_of(rows, children[:, :-1])
        starts = np.searchsorted(parent_keys, np.arange(entries + 1), side="left")
        if max_bits is not None:
            offsets, starts, next_bits = _bhiksha(entries, starts, children.shape[0], max_bits)
            parts.append(_bhiksha_block(sum(map(len, parts)), offsets, max_bits))
        bits = word_bits + prob_bits + backoff_bits + next_bits
        if quant:  # quantised records put the backoff code before the prob code
            fields = [(word_bits, backoff_bits, backoff), (word_bits + backoff_bits, prob_bits, prob)]
        else:
            fields = [(word_bits, prob_bits, prob), (word_bits + prob_bits, backoff_bits, backoff)]
        parts.append(pack_fields(entries, bits, [(0, word_bits, rows[:, -1]), *fields,
                                                 (word_bits + prob_bits + backoff_bits, next_bits, starts)]))
    parts.append(b"\0".join(src.words[i] for i in np.argsort(new).tolist()) + b"\0")
    return b"".join(parts)


def _quant_tables(src: ArpaSource, perm: list, quant: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per order 2..N: (prob centres, backoff centres or None for order N), trained as KenLM trains them: all
    the order's probs; its non-zero backoffs, with -0.0 and +0.0 as the first two centres."""
    q, b = quant
    out = []
    order = len(src.counts)
    for n in range(2, order + 1):
        probs = make_bins(src.prob[n - 1], 1 << q)
        if n == order:
            out.append((probs, None))
            break
        backoff = src.backoff[n - 1]
        centres = np.concatenate([np.array([-0.0, 0.0], np.float32),
                                  make_bins(backoff[backoff != 0], (1 << b) - 2)])
        out.append((probs, centres))
    return out


def _starts(first_words: np.ndarray, c0: int) -> np.ndarray:
    """next pointers of the unigrams: where each word's children begin (and the end), from the children's
    sorted newest words."""
    return np.searchsorted(first_words, np.arange(c0 + 1), side="left")


def _record_of(rows: np.ndarray, prefixes: np.ndarray) -> np.ndarray:
    """The index in `rows` (sorted, unique) of each prefix (sorted too): the parent record of each child."""
    width = rows.shape[1]
    view = np.ascontiguousarray(rows).view([("", rows.dtype)] * width).ravel()
    want = np.ascontiguousarray(prefixes).view([("", prefixes.dtype)] * width).ravel()
    return np.searchsorted(view, want)
