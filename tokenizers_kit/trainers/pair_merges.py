"""Applying one merge to the words that hold the pair, with incremental pair counts: the bookkeeping the BPE
and WordPiece trainers share.

Words are strings of symbol characters (`trainers.words`), a pair is the 2-char string, and `pos` lists the
words that may hold the pair (the trainer's index pair -> words). Merging replaces every non-overlapping
occurrence, left to right (HF `Word::merge`), and for each occurrence in a word of count n applies

    (prev, a) -n   (prev, new) +n   (b, next) -n   (new, next) +n

where `next` is the symbol after the pair before the merge. Only the affected words are touched: the corpus
is never rescanned. Per occurrence only the word index is filed under its neighbour; the counts are summed
per distinct neighbour afterwards, which keeps the per-word loop short.

What differs between the trainers is left to them: BPE keeps the merged pair's own count (as HF does) and
may refuse new pairs over `max_token_length` (`keep`); WordPiece also needs how many occurrences merged (its
symbol counts) and which pairs lost occurrences (its score queue).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple


class Merged(NamedTuple):
    """What one merge did: pairs that gained occurrences -> the words where they did; the pairs that lost
    occurrences and the weighted number of occurrences merged (these two only when asked for: `tally`)."""

    gained: dict[str, list[int]]
    lost: list[str]
    occurrences: int | None


def merge_pair(
    words: list[str],
    counts: list[int],
    pos: list[int],
    pair: str,
    cn: str,
    pc: defaultdict[str, int],
    *,
    fresh: bool,
    keep: Callable[[str], bool] | None = None,
    tally: bool = False,
) -> Merged:
    """Merge `pair` into the symbol `cn` in the words at `pos` and update the neighbour pairs' counts in `pc`
    (the merged pair's own count is the caller's). `fresh`: `cn` is new to the vocabulary, so no word holds it
    yet and every `cn` after the merge is one this merge made. `keep(neighbour)`: whether the new pair of
    `cn` with that neighbour is counted (BPE's max_token_length); None keeps all. `tally`: also report the
    occurrences merged and the pairs that lost some (WordPiece's exact counts; BPE skips the cost). Indices in
    `pos` whose word no longer holds the pair (listed twice, or merged away earlier) are skipped."""
    ca, cb = pair
    by_left: defaultdict[str, list[int]] = defaultdict(list)  # left neighbour -> words, once per occurrence
    by_right: defaultdict[str, list[int]] = defaultdict(list)  # symbol after the pair (before) -> words
    occurrences = 0
    for wi in pos:
        w = words[wi]
        j = w.find(pair)
        if j < 0:
            continue
        if not fresh and cn in w:  # `cn` was there before: only an explicit scan tells old from new
            nw = words[wi] = _merge_scan(w, wi, ca, cb, cn, by_left, by_right)
            if tally:
                occurrences += counts[wi] * (len(w) - len(nw))
            continue
        nw = words[wi] = w.replace(pair, cn)
        size = len(w)
        k = size - len(nw)
        if tally:
            occurrences += counts[wi] * k
        if k == 1:  # one occurrence, at j (the common case)
            if j:
                by_left[w[j - 1]].append(wi)
            if j + 2 < size:
                by_right[w[j + 2]].append(wi)
            continue
        last = len(nw) - 1
        j = nw.find(cn)
        while j >= 0:
            if j:
                by_left[nw[j - 1]].append(wi)
            if j < last:
                right = nw[j + 1]
                # A `cn` right after is the next occurrence: before the merge its `a` stood here.
                by_right[ca if right == cn else right].append(wi)
            j = nw.find(cn, j + 1)
    gained: dict[str, list[int]] = {}
    lost: list[str] = []
    weight = counts.__getitem__
    for left, wis in by_left.items():
        n = sum(map(weight, wis))
        pc[left + ca] -= n
        if tally:
            lost.append(left + ca)
        if keep is None or keep(left):
            pc[left + cn] += n
            gained[left + cn] = wis
    for right, wis in by_right.items():
        n = sum(map(weight, wis))
        pc[cb + right] -= n
        if tally:
            lost.append(cb + right)
        if keep is None or keep(right):
            pc[cn + right] += n
            if right == cn and cn + cn in gained:  # (cn, cn) also formed on the left of an older cn
                wis = gained[cn + cn] + wis
            gained[cn + right] = wis
    return Merged(gained, lost, occurrences if tally else None)


def _merge_scan(
    w: str,
    wi: int,
    ca: str,
    cb: str,
    cn: str,
    by_left: defaultdict[str, list[int]],
    by_right: defaultdict[str, list[int]],
) -> str:
    """`merge_pair` for one word by an explicit left-to-right scan (HF `Word::merge`), for words that held
    `cn` before the merge."""
    out: list[str] = []
    i, size = 0, len(w)
    while i < size:
        if w[i] == ca and i + 1 < size and w[i + 1] == cb:
            if out:
                by_left[out[-1]].append(wi)
            if i + 2 < size:
                by_right[w[i + 2]].append(wi)
            out.append(cn)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return "".join(out)
