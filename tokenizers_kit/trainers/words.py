"""What the BPE and WordPiece trainers share: validating word counts, the initial alphabet, words as strings
of symbol characters, and the initial pair counts (HF `BpeTrainer::compute_alphabet` / `tokenize_words` /
`count_pairs`, made deterministic).

A word is held as a str with one character per symbol, chr(symbol id). Merging a pair in a word is then one
C-level `str.replace`, and a pair is the 2-character string, which orders like (left id, right id).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from tokenizers_kit.errors import TkitError

MAX_VOCAB = 1_000_000  # symbol ids must stay below 0x110000 to be characters


def check_word_counts(word_counts: Mapping[str, int]) -> None:
    if not isinstance(word_counts, Mapping):
        raise TkitError("trainer input must be a mapping of word -> count")
    if not word_counts:
        raise TkitError("no words to train on: the corpus is empty (or the pre-tokenizer produced nothing)")


def check_vocab_size(vocab_size: object) -> None:
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or not 1 <= vocab_size <= MAX_VOCAB:
        raise TkitError(f"vocab size must be an integer from 1 to {MAX_VOCAB:,}, got {vocab_size!r}")


def start_vocab(special_tokens: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Vocabulary holding the special tokens first, in the given order (duplicates once)."""
    w2id: dict[str, int] = {}
    id2w: list[str] = []
    for tok in special_tokens:
        if not isinstance(tok, str) or not tok:
            raise TkitError(f"special token {tok!r} must be a non-empty string")
        if tok not in w2id:
            w2id[tok] = len(id2w)
            id2w.append(tok)
    return w2id, id2w


def compute_alphabet(
    word_counts: Mapping[str, int], initial_alphabet: Iterable[str], limit_alphabet: int | None
) -> list[str]:
    """Characters kept as base symbols, sorted by code point.

    Counts are weighted by word frequency; `initial_alphabet` chars always count as most frequent; with
    `limit_alphabet`, the rarest are dropped (HF leaves ties to hash order; here the higher code point goes first).
    """
    initial = list(initial_alphabet)
    for ch in initial:
        if not isinstance(ch, str) or len(ch) != 1:
            raise TkitError(f"initial alphabet entry {ch!r} must be a single character")
    seen = set("".join(word_counts)) | set(initial)
    if limit_alphabet is None or len(seen) <= limit_alphabet:
        return sorted(seen)  # counts only matter for choosing what to drop
    counts: dict[str, int] = {}
    get = counts.get
    for word, n in word_counts.items():
        for ch in word:
            counts[ch] = get(ch, 0) + n
    always = 1 << 64
    for ch in initial:
        counts[ch] = always
    kept = sorted(counts, key=lambda c: (counts[c], -ord(c)))
    return sorted(kept[len(kept) - limit_alphabet :])


def split_words(
    word_counts: Mapping[str, int],
    w2id: dict[str, int],
    id2w: list[str],
    prefix: str | None,
    suffix: str | None,
) -> tuple[list[str], list[int]]:
    """Each word as a str of symbol chars, with its count. Characters not in `w2id` are dropped (HF does so
    for chars cut by `limit_alphabet`). Prefixed/suffixed symbols (`##a`, `a</w>`) join the vocab in sorted
    order (HF adds them in hash-map order, which is not reproducible)."""
    counts = list(word_counts.values())
    if prefix is None and suffix is None:
        table: dict[int, str | None] = {ord(t): chr(i) for t, i in w2id.items() if len(t) == 1}
        dropped = set("".join(word_counts)) - {t for t in w2id if len(t) == 1}
        table.update({ord(ch): None for ch in dropped})
        return [w.translate(table) for w in word_counts], counts
    strings: list[list[str]] = []
    for word in word_counts:
        last = len(word) - 1
        syms = []
        for i, ch in enumerate(word):
            if ch not in w2id:
                continue
            # HF decides first/last by position in the word, kept chars or not.
            s = ch if i == 0 or prefix is None else prefix + ch
            if i == last and suffix is not None:
                s += suffix
            syms.append(s)
        strings.append(syms)
    for s in sorted({s for syms in strings for s in syms if s not in w2id}):
        w2id[s] = len(id2w)
        id2w.append(s)
    return ["".join([chr(w2id[s]) for s in syms]) for syms in strings], counts


def count_pairs(words: list[str], counts: list[int]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Adjacent (overlapping) pairs: pair -> count weighted by word counts, and pair -> words holding it.

    Vectorised: every symbol of every word in one array, pairs packed into one int64 key, grouped by a
    sort; only the distinct pairs are touched in Python."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    if lengths.sum() == 0:
        return {}, {}
    symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    owner = np.repeat(np.arange(len(words), dtype=np.int64), lengths)  # word index of each symbol
    same = owner[:-1] == owner[1:]  # position i starts a pair inside one word
    left = symbols[:-1][same]
    right = symbols[1:][same]
    wi = owner[:-1][same]
    if left.size == 0:
        return {}, {}
    keys = left << 21 | right  # chr() < 2**21
    order = np.lexsort((wi, keys))
    keys, wi = keys[order], wi[order]
    weights = np.asarray(counts, dtype=np.int64)[wi]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    totals = np.add.reduceat(weights, starts).tolist()
    bounds = [*starts.tolist(), len(keys)]
    wi_list = wi.tolist()
    distinct = keys[starts].tolist()
    mask = (1 << 21) - 1
    pc: dict[str, int] = {}
    where: dict[str, list[int]] = {}
    for j, key in enumerate(distinct):
        pair = chr(key >> 21) + chr(key & mask)
        pc[pair] = totals[j]
        where[pair] = wi_list[bounds[j] : bounds[j + 1]]
    return pc, where


def count_symbols(words: list[str], counts: list[int], size: int) -> list[int]:
    """How often each symbol id (< size) occurs, weighted by word counts."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    weights = np.repeat(np.asarray(counts, dtype=np.int64), lengths)
    totals = np.zeros(size, dtype=np.int64)
    np.add.at(totals, symbols, weights)
    return totals.tolist()
