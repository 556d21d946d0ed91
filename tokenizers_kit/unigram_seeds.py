"""Seed pieces for Unigram training: the frequent substrings of the corpus, found with a suffix sort in NumPy.

sentencepiece builds an enhanced suffix array over all sentences and takes every internal node of the suffix
tree (a substring seen at least twice and followed by two different characters somewhere, i.e. right-branching)
that is a valid piece, scored `frequency * length`; the top `seed_size` plus every single character are the
seeds (`unigram_model_trainer.cc::MakeSeedSentencePieces`).

Here the distinct segments are packed into one int array and the suffixes sorted by their first `max_len`
characters only, which is all a piece can use (prefix doubling: two or three sorts of packed int64 keys).
Adjacent suffixes' common prefix lengths then give, for each length L, the runs of suffixes sharing an
L-character prefix: one run per distinct substring, with its frequency (the segment counts summed over the run)
and whether it branches (its members are followed by different characters).

sentencepiece's array holds whole lines, so a word is followed by the `▁` of the next word: a word that is
always followed by a space is not right-branching and never a seed (its prefixes are). Here the end of a
segment counts as that one character, which keeps this behaviour. It costs a few whole words on the training
text and generalises better (fewer held-out tokens, closer to sentencepiece's).

The same pass gives the lattice: `table[p, L-1]` is the seed piece id of the substring of length L at text
position p, or -1 (a `PieceTable`: only a position's valid windows have slots). The trainer's lattices are read
off this table, so no string is ever hashed or looked up.

A window is a valid piece when it lies inside one segment, has no `▁` after its first character (▁ only as a
prefix, as sentencepiece requires with split_by_whitespace) and is at most `max_len` characters long; with
`split_by_script`, also when its characters (other than a leading ▁) share one Unicode script, counting
punctuation and digits as the script Common and Hiragana/Katakana as Han (sentencepiece's
`split_by_unicode_script`, on by default there).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import regex

SPACE = "\u2581"
# Scripts told apart; characters of any other script form one more class. Han must stay first (see below).
_SCRIPTS = ("Han", "Hiragana", "Katakana", "Common", "Inherited", "Latin", "Greek", "Cyrillic", "Armenian",
            "Hebrew", "Arabic", "Syriac", "Thaana", "Nko", "Devanagari", "Bengali", "Gurmukhi", "Gujarati",
            "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar",
            "Georgian", "Hangul", "Ethiopic", "Cherokee", "Canadian_Aboriginal", "Ogham", "Runic", "Khmer",
            "Mongolian", "Bopomofo", "Yi", "Tifinagh", "Javanese", "Balinese", "Sundanese", "Braille", "Coptic",
            "Glagolitic", "Gothic", "Tagalog", "Cham", "Lisu", "Vai", "Bamum", "Adlam", "Tai_Le", "Tai_Tham")
_HAN_LIKE = {"Hiragana", "Katakana"}


@lru_cache(maxsize=1)
def _script_pattern() -> regex.Pattern:
    return regex.compile("|".join(f"(\\p{{Script={name}}})" for name in _SCRIPTS))


def script_classes(chars: list[str]) -> np.ndarray:
    """A script class per character: equal classes may share a piece."""
    pattern = _script_pattern()
    out = np.empty(len(chars), dtype=np.int64)
    for i, ch in enumerate(chars):
        m = pattern.match(ch)
        k = m.lastindex if m else len(_SCRIPTS) + 1
        if ch == "\u30fc" or (m and _SCRIPTS[k - 1] in _HAN_LIKE):  # ー and kana count as Han
            k = 1
        out[i] = k
    return out


@dataclass
class PackedSegments:
    """Distinct segments in one array: `text[begin[s] + i]` is char i of segment s (ids from 1); each segment
    is followed by a 0. `joined[p]` is the character at text position p (so pieces are `joined[p:p+L]`)."""

    text: np.ndarray  # (n,) int32 char ids, 0 = end of segment
    begin: np.ndarray  # (S,) int64
    length: np.ndarray  # (S,) int64
    count: np.ndarray  # (S,) float64 occurrences of each segment in the corpus
    chars: list[str]  # char id - 1 -> character
    joined: str

    @property
    def n_pos(self) -> int:
        return len(self.text)


def pack_segments(segments: list[str], counts: np.ndarray) -> PackedSegments:
    """Pack segments (non-empty strings) with their counts."""
    joined = "\0".join(segments) + "\0"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    length = np.fromiter((len(s) for s in segments), dtype=np.int64, count=len(segments))
    begin = np.zeros(len(segments), dtype=np.int64)
    np.cumsum(length[:-1] + 1, out=begin[1:])
    is_char = np.ones(len(cps), dtype=bool)
    is_char[begin + length] = False  # the separators
    alphabet, ids = np.unique(cps[is_char], return_inverse=True)
    text = np.zeros(len(cps), dtype=np.int32)
    text[is_char] = ids + 1
    chars = [chr(c) for c in alphabet.tolist()]
    return PackedSegments(text, begin, length, np.asarray(counts, dtype=np.float64), chars, joined)


class PieceTable:
    """`table[p, L-1]`: the seed piece id of the length-L window at text position p, or -1. Ragged: position
    p has `width[p]` slots, its longest valid window (no longer window is ever a piece), which is a fraction
    of a (positions x max_len) matrix since most positions sit near the end of a short segment.

    Indexing: `table[rows, cols]` reads (-1 past a row's width); `table[rows]` gathers rows into a new table;
    `table[rows, cols] = ids` writes slots that must exist."""

    def __init__(self, width: np.ndarray, max_len: int, ids: np.ndarray | None = None) -> None:
        self.width = np.asarray(width, dtype=np.int16 if max_len < np.iinfo(np.int16).max else np.int32)
        self.off = np.zeros(len(width) + 1, dtype=np.int64)
        np.cumsum(self.width, out=self.off[1:])
        self.ids = np.full(int(self.off[-1]), -1, dtype=np.int32) if ids is None else ids
        self.max_len = max_len

    @classmethod
    def of(cls, table: PieceTable | np.ndarray) -> PieceTable:
        """`table` itself, or a dense (positions x max_len) matrix as a table (every slot present)."""
        if isinstance(table, PieceTable):
            return table
        n, max_len = table.shape
        return cls(np.full(n, max_len), max_len, np.ascontiguousarray(table, dtype=np.int32).ravel())

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.width), self.max_len

    def __len__(self) -> int:
        return len(self.width)

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        if not isinstance(key, tuple):
            return self._rows(np.asarray(key))
        rows, cols = np.asarray(key[0]), np.broadcast_to(np.asarray(key[1]), np.shape(key[0]))
        ok = cols < self.width[rows]
        out = np.full(rows.shape, -1, dtype=np.int32)
        out[ok] = self.ids[self.off[rows[ok]] + cols[ok]]
        return out

    def __setitem__(self, key: tuple, ids: np.ndarray) -> None:
        rows, cols = np.asarray(key[0]), np.broadcast_to(np.asarray(key[1]), np.shape(key[0]))
        if np.any(cols >= self.width[rows]):
            raise ValueError("piece table: a window longer than its position's width")
        self.ids[self.off[rows] + cols] = ids

    def _rows(self, rows: np.ndarray) -> PieceTable:
        w = self.width[rows]
        first = np.cumsum(w, dtype=np.int64) - w
        src = np.repeat(self.off[rows] - first, w) + np.arange(int(first[-1] + w[-1]) if len(w) else 0)
        return PieceTable(w, self.max_len, self.ids[src])

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, length, piece) of every window that is a piece, in (position, length) order."""
        flat = np.flatnonzero(self.ids >= 0)
        start = np.searchsorted(self.off, flat, side="right") - 1
        return start, flat - self.off[start] + 1, self.ids[flat]

    def pieces_per_row(self) -> np.ndarray:
        """How many windows at each position are pieces."""
        seen = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(self.ids >= 0, out=seen[1:])
        return seen[self.off[1:]] - seen[self.off[:-1]]


@dataclass
class Seeds:
    pieces: list[str]  # seed pieces: all single characters first, then substrings by score
    length: np.ndarray  # (P,) characters per piece
    rep: np.ndarray  # (P,) a text position where the piece occurs
    log_prob: np.ndarray  # (P,) initial scores: log(score / sum of scores)
    table: PieceTable  # piece id of text[p:p+L] or -1
    char_count: np.ndarray  # (A,) weighted frequency of each single-character piece (ids 0..A-1)

    def keep_piece_rows(self) -> None:
        """Shrink `table` to the rows of every piece's own occurrence (rep .. rep + length - 1), renumbering
        `rep`: all that `second_best` reads once the lattice is built. Each range stays contiguous: the kept
        rows are sorted and every row of a range is kept."""
        span = self.length
        starts = np.repeat(self.rep - (np.cumsum(span) - span), span)
        rows = np.unique(starts + np.arange(int(span.sum())))
        self.table = self.table[rows]
        self.rep = np.searchsorted(rows, self.rep)


def _max_valid_length(packed: PackedSegments, max_len: int, split_by_script: bool) -> np.ndarray:
    """Longest valid piece starting at each text position: inside the segment, no ▁ after the first char
    (and one script)."""
    text = packed.text
    n = len(text)
    seg_end = np.repeat(packed.begin + packed.length, packed.length + 1)
    limit = seg_end - np.arange(n)  # chars left in the segment (0 at separators)
    space_id = packed.chars.index(SPACE) + 1 if SPACE in packed.chars else -1
    if space_id > 0:
        limit = np.minimum(limit, _distance_to_next(text == space_id, max_len))
    if split_by_script:
        cls = np.concatenate([[0], script_classes(packed.chars)])[text]
        brk = np.zeros(n, dtype=bool)  # a piece may not hold both text[p-1] and text[p]
        brk[1:] = (cls[1:] != cls[:-1]) & (text[:-1] != space_id) & (text[:-1] > 0) & (text[1:] > 0)
        limit = np.minimum(limit, _distance_to_next(brk, max_len))
    return np.minimum(limit, max_len)


def _distance_to_next(flags: np.ndarray, cap: int) -> np.ndarray:
    """For each position p: q - p for the first q > p with flags[q] (cap if none)."""
    n = len(flags)
    where = np.flatnonzero(flags)
    nxt = np.searchsorted(where, np.arange(n), side="right")
    has = nxt < len(where)
    dist = np.full(n, cap, dtype=np.int64)
    dist[has] = where[nxt[has]] - np.flatnonzero(has)
    return dist


def _suffix_order(text: np.ndarray, n_ids: int, depth: int) -> np.ndarray:
    """Text positions sorted by their next `depth` characters (prefix doubling on dense ranks)."""
    n = len(text)
    padded = np.concatenate([text, np.zeros(depth, dtype=np.int64)])
    bits = max(1, int(n_ids).bit_length())
    k = max(1, min(depth, 62 // bits))
    key = np.zeros(n, dtype=np.int64)
    for d in range(k):  # pack the first k characters into one int64
        key = (key << bits) | padded[d:d + n]
    order, rank = _sort_and_rank(key)
    while k < depth:  # rank of 2k characters = (rank of the first k, rank of the k after them)
        new = min(2 * k, depth)
        r = np.concatenate([rank, np.zeros(depth, dtype=rank.dtype)])
        order, rank = _sort_and_rank(rank * (int(rank.max()) + 2) + r[new - k:new - k + n])
        k = new
    return order


def _sort_and_rank(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stable sort order of `key`, and the dense rank of every element."""
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.empty(len(key), dtype=np.int64)
    new[0] = 0
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.cumsum(new)
    return order, rank


def find_seeds(packed: PackedSegments, *, max_len: int, seed_size: int, min_seeds: int = 0,
               split_by_script: bool = False) -> Seeds:
    """Seed pieces and the lattice table. `min_seeds`: when fewer than this many right-branching substrings
    seen at least twice exist (a tiny corpus), the other distinct substrings are used as well."""
    text = packed.text
    n = len(text)
    # Per-position arrays in narrow dtypes, and each dropped once used: with the table they are this phase's
    # memory. Lengths fit int16 (pieces are short), positions int32.
    small = np.int16 if max_len < np.iinfo(np.int16).max else np.int32
    pos = np.int32 if n < np.iinfo(np.int32).max else np.int64
    weight = np.repeat(packed.count, packed.length + 1)  # count of the segment holding each position
    n_chars = len(packed.chars)
    char_count = np.bincount(text, weights=weight, minlength=n_chars + 1)[1:]
    sa = _suffix_order(text, len(packed.chars) + 1, max_len).astype(pos)
    w = weight[sa]
    del weight
    limit = _max_valid_length(packed, max_len, split_by_script).astype(small)
    lim = limit[sa]
    # lcp[j]: common prefix length of suffixes sa[j-1] and sa[j], stopping at a separator (every suffix
    # reaches one before the end of the text). Pairs drop out as soon as they differ.
    lcp = np.zeros(n, dtype=small)
    pair = np.arange(1, n)
    for d in range(max_len):
        ta = text[np.minimum(sa[pair - 1] + d, n - 1)]
        pair = pair[(ta == text[np.minimum(sa[pair] + d, n - 1)]) & (ta != 0)]
        lcp[pair] += 1

    # Every distinct valid substring of length L >= 2 is one run of consecutive suffixes with lim >= L (two
    # suffixes sharing L characters agree on lim >= L, so a run is never interrupted).
    def runs_by_length():
        """(L, sa indices of the suffixes with a valid L-prefix, run number of each, is-first-of-run)."""
        vi = np.flatnonzero(lim >= 2)
        for L in range(2, max_len + 1):
            vi = vi[lim[vi] >= L]
            if len(vi) == 0:
                return
            first = lcp[vi] < L
            yield L, vi, np.cumsum(first) - 1, first

    def candidates(everything: bool):
        """(length, first sa index of the run, freq, good) of the substrings that may become seeds: the good
        ones (right-branching, seen twice), or with `everything` all distinct valid substrings."""
        out = []
        for L, vi, run, first in runs_by_length():
            heads = np.flatnonzero(first)
            freq = np.bincount(run, weights=w[vi], minlength=len(heads))
            # Right-branching: two occurrences are followed by different characters (the end of a segment
            # counts as one character, as the space after a word does in sentencepiece's array of lines).
            nxt = text[np.minimum(sa[vi] + L, n - 1)]
            good = (np.maximum.reduceat(nxt, heads) != np.minimum.reduceat(nxt, heads)) & (freq >= 2)
            keep = slice(None) if everything else good
            out.append((np.full(len(heads[keep]), L, dtype=np.int64), vi[heads[keep]], freq[keep], good[keep]))
        if not out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, dtype=bool)
        return tuple(np.concatenate(parts) for parts in zip(*out))

    r_len, r_sa, r_freq, r_good = candidates(everything=False)
    if len(r_len) < min_seeds:  # a tiny corpus: let the other substrings in, after the good ones
        r_len, r_sa, r_freq, r_good = candidates(everything=True)

    # Choose the seeds: best freq * len first (ties: longer, then suffix order).
    r_score = r_freq * r_len
    pool = np.lexsort((r_sa, -r_len, -r_score, ~r_good))[:max(0, seed_size)]

    # Single characters, most frequent first.
    char_order = np.lexsort((np.arange(n_chars), -char_count))
    char_piece = np.empty(n_chars, dtype=np.int64)
    char_piece[char_order] = np.arange(n_chars)
    n_sub = len(pool)
    P = n_chars + n_sub

    table = PieceTable(limit, max_len)
    del limit
    is_char = np.flatnonzero(text > 0)
    table[is_char, 0] = char_piece[text[is_char] - 1]
    # Write each seed's occurrences into the table: the seed of a run is found by its first sa index.
    head_piece = np.full(n, -1, dtype=np.int32)
    piece_of = np.empty(len(r_sa), dtype=np.int64)
    piece_of[pool] = n_chars + np.arange(n_sub)
    chosen_by_length = {L: pool[r_len[pool] == L] for L in range(2, max_len + 1)}
    for L, vi, run, first in runs_by_length():
        chosen = chosen_by_length[L]
        if not len(chosen):
            continue
        head_piece[r_sa[chosen]] = piece_of[chosen]
        p = head_piece[vi[first]][run]
        head_piece[r_sa[chosen]] = -1
        keep = p >= 0
        table[sa[vi[keep]], L - 1] = p[keep]

    rep = np.empty(P, dtype=np.int64)
    rep[char_piece] = _first_positions(text, n_chars)
    rep[n_chars:] = sa[r_sa[pool]]
    length = np.ones(P, dtype=np.int64)
    length[n_chars:] = r_len[pool]
    joined = packed.joined
    pieces = [packed.chars[c] for c in char_order.tolist()]
    pieces += [joined[p:p + L] for p, L in zip(rep[n_chars:].tolist(), length[n_chars:].tolist())]
    score = np.concatenate([char_count[char_order], r_score[pool]])
    log_prob = np.log(score) - np.log(score.sum())
    return Seeds(pieces, length, rep, log_prob, table, char_count[char_order])


def _first_positions(text: np.ndarray, n_chars: int) -> np.ndarray:
    """First text position of each char id 1..n_chars."""
    first = np.full(n_chars + 1, len(text), dtype=np.int64)
    np.minimum.at(first, text, np.arange(len(text)))
    return first[1:]
