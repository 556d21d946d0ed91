"""Parallel data for sequence-to-sequence models: `source<TAB>target` lines, a joint vocabulary, packed rows.

A pair becomes one int32 row of a (N, S + T + 2) matrix: the source ids right-padded to S (the model's
`max_source_len`), then `<s> target </s>` right-padded to T + 2 (T = `max_target_len`). Batches are B
neighbouring rows of a length order (`length_order`, `bucket_batch`) with the all-padding columns cut off;
the model splits them again (`split_rows`). Neighbours in that order have about the same source and target
lengths, so a batch is mostly real tokens instead of padding up to its longest pair.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ngram.vocab import BOS, EOS, UNK, Vocabulary
from tokenizers_kit.corpus import iter_lines
from tokenizers_kit.errors import CorpusError
from tokenizers_kit.simple import TextTokenizer

PAD = "<pad>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


@dataclass(frozen=True)
class Pair:
    source: list[str]
    target: list[str]
    where: str            # "FILE:LINE", for messages


def split_line(line: str, where: str) -> tuple[str, str]:
    """(source, target) of one `source<TAB>target` line; CorpusError naming `where` otherwise."""
    line = line.rstrip("\r\n")
    if "\t" not in line:
        raise CorpusError(f"{where}: no tab: each line must be source<TAB>target")
    source, target = line.split("\t", 1)
    if "\t" in target:
        raise CorpusError(f"{where}: more than one tab: each line must be source<TAB>target")
    if not source.strip() or not target.strip():
        side = "source" if not source.strip() else "target"
        raise CorpusError(f"{where}: the {side} side is empty: each line must be source<TAB>target")
    return source, target


def read_pairs(files: Sequence[str], source_tok: TextTokenizer, target_tok: TextTokenizer) -> list[Pair]:
    """Every non-blank line of `files` as a tokenized Pair (blank lines are skipped)."""
    pairs = []
    for path in files:
        for number, line in enumerate(iter_lines([path]), 1):
            if not line.strip():
                continue
            source, target = split_line(line, f"{path}:{number}")
            pairs.append(Pair(source_tok.tokenize(source), target_tok.tokenize(target), f"{path}:{number}"))
    if not pairs:
        raise CorpusError(f"{', '.join(files)} holds no source<TAB>target lines: give a pairs file")
    return pairs


def build_vocab(pairs: Iterable[Pair]) -> Vocabulary:
    """`<pad> <s> </s> <unk>` then the sorted distinct tokens of both sides (one id space)."""
    seen: set[str] = set()
    for p in pairs:
        seen.update(p.source)
        seen.update(p.target)
    return Vocabulary([*SPECIALS, *sorted(seen - set(SPECIALS))])


def check_lengths(pairs: Sequence[Pair], max_source: int, max_target: int) -> None:
    """CorpusError naming the first pair longer than the model allows."""
    for p in pairs:
        if len(p.source) > max_source:
            raise CorpusError(f"{p.where}: the source has {len(p.source)} tokens, more than the model's "
                              f"{max_source}: shorten it or train with a larger --max-source-len")
        if len(p.target) > max_target:
            raise CorpusError(f"{p.where}: the target has {len(p.target)} tokens, more than the model's "
                              f"{max_target}: shorten it or train with a larger --max-target-len")


def pack(pairs: Sequence[Pair], vocab: Vocabulary, max_source: int, max_target: int) -> np.ndarray:
    """The (N, S + T + 2) int32 matrix of the module docstring (lengths checked first)."""
    check_lengths(pairs, max_source, max_target)
    rows = np.full((len(pairs), max_source + max_target + 2), PAD_ID, dtype=np.int32)
    for i, p in enumerate(pairs):
        rows[i, :len(p.source)] = vocab.encode(p.source)
        tgt = [BOS_ID, *vocab.encode(p.target).tolist(), EOS_ID]
        rows[i, max_source:max_source + len(tgt)] = tgt
    return rows


def split_rows(rows: np.ndarray, max_source: int) -> tuple[np.ndarray, np.ndarray]:
    """(source (B, S'), target (B, T')) with trailing all-padding columns cut from each."""
    return _trim(rows[:, :max_source]), _trim(rows[:, max_source:])


def _trim(a: np.ndarray) -> np.ndarray:
    used = np.flatnonzero((a != PAD_ID).any(axis=0))
    return np.ascontiguousarray(a[:, :used[-1] + 1 if used.size else 1], dtype=np.int64)


def length_order(rows: np.ndarray, max_source: int, seed: int) -> np.ndarray:
    """Row indices sorted by source length, then target length, ties in a random order fixed by `seed`."""
    src_len = np.count_nonzero(rows[:, :max_source] != PAD_ID, axis=1)
    tgt_len = np.count_nonzero(rows[:, max_source:] != PAD_ID, axis=1)
    ties = np.random.default_rng([seed, 11]).permutation(len(rows))
    return np.lexsort((ties, tgt_len, src_len))


def bucket_batch(rows: np.ndarray, order: np.ndarray, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """B rows that are neighbours in `order`, from a random start; the window wraps around, so every row is
    drawn with the same probability. One draw from `rng` per batch, so a resumed run draws the same batches."""
    start = int(rng.integers(0, len(order)))
    return rows[order[(start + np.arange(batch_size)) % len(order)]]


def split_pairs(pairs: list[Pair], val_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, validation): a fixed random `val_fraction` of the pairs held out (none if it rounds to 0)."""
    n_val = int(round(len(pairs) * val_fraction))
    if n_val == 0 or n_val >= len(pairs):
        return pairs, []
    order = np.random.default_rng([seed, 7]).permutation(len(pairs))
    held = set(order[:n_val].tolist())
    return ([p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held])


def fingerprint_rows(rows: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()[:16]
