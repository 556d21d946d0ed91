"""Count cutoffs per order (`--prune`, KenLM's semantics) and compacting the tables they leave."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ngram.counting import CountTables
from ngram.tables import NgramIndex
from tokenizers_kit.errors import TkitError


def thresholds(prune: Sequence[int] | None, order: int) -> list[int] | None:
    """Per-order cutoffs: n-grams of order n seen at most `t[n-1]` times are pruned.

    As in lmplz: one value per order, the last one repeating; non-decreasing (so a kept n-gram keeps its
    prefix and suffix); unigrams cannot be pruned (limit the vocabulary instead). None when nothing is pruned."""
    if not prune:
        return None
    values = [int(x) for x in prune]
    if any(x < 0 for x in values):
        raise TkitError(f"--prune thresholds must be >= 0, got {values}")
    if values[0] != 0:
        raise TkitError("--prune cannot prune unigrams (the first threshold must be 0): use --vocab-size "
                        "to drop rare words")
    if any(b < a for a, b in zip(values, values[1:])):
        raise TkitError(f"--prune thresholds must be non-decreasing, as in KenLM, got {values}")
    values = (values + [values[-1]] * order)[:order]
    return values if any(values) else None


def cutoff_of(cutoffs: Sequence[int] | None, n: int) -> int:
    """Order n's count cutoff (0: nothing pruned)."""
    return cutoffs[n - 1] if cutoffs else 0


def keep_masks(tables: CountTables, cutoffs: Sequence[int] | None) -> list[np.ndarray]:
    """keep[n] (n = 1..N): which n-grams survive (count above the order's cutoff, and no word of
    `tables.drop_words` in them: lmplz marks those at every order, adjust_counts.cc)."""
    drop = tables.drop_words
    clean = np.ones(tables.vocab_size, dtype=bool) if drop is None else ~drop
    keep = [np.empty(0, bool), clean]
    for n in range(2, tables.order + 1):
        k = tables.counts[n] > cutoffs[n - 1] if cutoffs else np.ones(tables.index.size(n), dtype=bool)
        if drop is not None:  # hw is clean when h is and w is
            clean = clean[tables.index.prefix(n)] & keep[1][tables.index.word(n)]
            k &= clean
        keep.append(k)
    return keep


def compact_index(index: NgramIndex, keep: Sequence[np.ndarray]) -> NgramIndex:
    """The index without the dropped n-grams (prefixes and suffixes of kept n-grams must be kept); dropped
    unigrams leave the vocabulary, the kept words keeping their order."""
    v = np.uint64(index.vocab_size)
    words = np.where(keep[1], np.cumsum(keep[1]) - 1, -1)
    new_v = np.uint64(np.count_nonzero(keep[1]))
    remap = [np.empty(0, np.int64), words]
    keys: list[np.ndarray] = []
    suffixes: list[np.ndarray] = []
    for n in range(2, index.order + 1):
        k = keep[n]
        prefix = remap[n - 1][index.prefix(n)[k]]
        suffix = remap[n - 1][index.suffix(n)[k]]
        if np.any(prefix < 0) or np.any(suffix < 0):
            raise AssertionError("pruning dropped the prefix or suffix of a kept n-gram")
        keys.append(prefix.astype(np.uint64) * new_v + words[index.keys[n][k] % v].astype(np.uint64))
        suffixes.append(suffix)
        remap.append(np.where(k, np.cumsum(k) - 1, -1))
    out = NgramIndex(int(new_v), keys)
    for n, suffix in enumerate(suffixes, start=2):
        out.set_suffix(n, suffix)
    return out


def prune_tables(tables: CountTables, cutoffs: Sequence[int] | None) -> CountTables:
    """Drop the n-grams at or below the cutoffs (used by the methods that simply renormalise what is left)."""
    if not cutoffs:
        return tables
    keep = keep_masks(tables, cutoffs)
    counts = [tables.counts[0], tables.counts[1]] + [tables.counts[n][keep[n]] for n in range(2, tables.order + 1)]
    return CountTables(compact_index(tables.index, keep), counts)
