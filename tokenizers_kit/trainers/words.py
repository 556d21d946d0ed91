"""What the BPE and WordPiece trainers share: validating word counts, the initial alphabet, and splitting each
distinct word into symbol ids (HF `BpeTrainer::compute_alphabet` / `tokenize_words`, made deterministic)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from tokenizers_kit.errors import TkitError


def check_word_counts(word_counts: Mapping[str, int]) -> None:
    if not isinstance(word_counts, Mapping):
        raise TkitError("trainer input must be a mapping of word -> count")
    if not word_counts:
        raise TkitError("no words to train on: the corpus is empty (or the pre-tokenizer produced nothing)")


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
    counts: dict[str, int] = {}
    get = counts.get
    for word, n in word_counts.items():
        for ch in word:
            counts[ch] = get(ch, 0) + n
    always = 1 << 64
    for ch in initial_alphabet:
        if not isinstance(ch, str) or len(ch) != 1:
            raise TkitError(f"initial alphabet entry {ch!r} must be a single character")
        counts[ch] = always
    kept = list(counts)
    if limit_alphabet is not None and len(kept) > limit_alphabet:
        kept.sort(key=lambda c: (counts[c], -ord(c)))
        kept = kept[len(kept) - limit_alphabet :]
    return sorted(kept)


def split_words(
    word_counts: Mapping[str, int],
    w2id: dict[str, int],
    id2w: list[str],
    prefix: str | None,
    suffix: str | None,
) -> tuple[list[list[int]], list[int]]:
    """Each word as a list of symbol ids, with its count. Characters not in `w2id` are dropped (HF does so
    for chars cut by `limit_alphabet`). Prefixed/suffixed symbols (`##a`, `a</w>`) join the vocab in sorted
    order (HF adds them in hash-map order, which is not reproducible)."""
    words: list[list[int]] = []
    counts: list[int] = []
    if prefix is None and suffix is None:
        for word, n in word_counts.items():
            words.append([w2id[ch] for ch in word if ch in w2id])
            counts.append(n)
        return words, counts
    strings: list[list[str]] = []
    for word, n in word_counts.items():
        chars = [(i, ch) for i, ch in enumerate(word) if ch in w2id]
        last = len(word) - 1
        syms = []
        for i, ch in chars:
            # HF checks first/last against the word's characters, kept or not.
            s = ch if i == 0 or prefix is None else prefix + ch
            if i == last and suffix is not None:
                s += suffix
            syms.append(s)
        strings.append(syms)
        counts.append(n)
    new = sorted({s for syms in strings for s in syms if s not in w2id})
    for s in new:
        w2id[s] = len(id2w)
        id2w.append(s)
    words = [[w2id[s] for s in syms] for syms in strings]
    return words, counts
