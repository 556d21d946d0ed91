"""lmplz's count-of-counts rule for the n-grams still open at the end of its adjusted-count pass.

lmplz (adjust_counts.cc, `AdjustCounts::Run`) walks the top-order n-grams in suffix order (last word first) and
records each lower-order n-gram in the count-of-counts when it is closed, with its adjusted count. The n-grams
still open when the stream ends — the suffixes of the last top-order n-gram — are recorded with their raw
count instead. That is one n-gram per order below the top, but on a small vocabulary (characters) one unigram
moved between the buckets n1..n4 shifts the unigram discounts a lot, so tkit follows the same rule.
"""
from __future__ import annotations

import numpy as np

from ngram.counting import BOS_ID, CountTables


def last_suffix_chain(tables: CountTables) -> list[int]:
    """Index of the open n-gram per order 1, 2, ... (element n-1 is order n; at most order N-1 entries).

    The last n-gram in suffix order ends in the largest word id; its suffix of length n+1 extends the one of
    length n by the left neighbour with the largest id. The chain stops at an n-gram starting with `<s>`
    (lmplz keeps no word before `<s>`)."""
    index = tables.index
    seen = np.flatnonzero(tables.counts[1])
    seen = seen[seen != BOS_ID]
    if tables.order < 2 or seen.size == 0:
        return []
    chain = [int(seen[-1])]
    for n in range(2, tables.order):
        if index.starts_with(n - 1, BOS_ID)[chain[-1]]:
            break
        extensions = np.flatnonzero(index.suffix(n) == chain[-1])
        if extensions.size == 0:  # cannot happen for counts made from text; a made-up table just stops here
            break
        chain.append(int(extensions[np.argmax(first_words(tables, n, extensions))]))
    return chain


def first_words(tables: CountTables, n: int, rows: np.ndarray) -> np.ndarray:
    """First word id of the given order-n n-grams, following their prefix links (only those rows: the whole
    order's first words would cost a pass over every table below it)."""
    for m in range(n, 1, -1):
        rows = tables.index.prefix(m)[rows]
    return rows


def bucket(count: int) -> int | None:
    """The count-of-counts slot (0..4) a count is recorded in, or None (5 and more are not kept)."""
    return int(count) if 0 <= count < 5 else None


def record_raw(nk: np.ndarray, adjusted: int, raw: int) -> np.ndarray:
    """Count-of-counts `nk` with one n-gram recorded under its raw count instead of its adjusted count."""
    out = nk.copy()
    old, new = bucket(adjusted), bucket(raw)
    if old is not None:
        out[old] -= 1
    if new is not None:
        out[new] += 1
    return out
