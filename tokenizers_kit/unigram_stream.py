"""The Unigram Viterbi of a very long chunk (a line with no place where it may be cut) in bounded memory.

It makes exactly the decisions of `UnigramModel._viterbi` (same trie walk, same float sums in the same order,
same tie rules), but keeps its tables in compact arrays and only for the stretch of the chunk not yet decided:
every piece is at most `longest` characters, so the best path to the end passes through one of the last
`longest` positions; once the best paths to all of those share a position, the path up to it is final, and
it is handed on and forgotten. Tokens are built from the path in batches cut after a known piece, so
unknown runs are fused exactly as the model fuses them.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokenizers_kit.errors import TkitError

CHECK_EVERY = 1 << 12  # positions between two attempts to settle the path
LONG_CHUNK = 1 << 14  # chunks longer than this take this path instead of the model's list-based Viterbi


def _common_position(back: list[int], base: int, heads: set[int], floor: int) -> int:
    """The latest position that the best paths to all `heads` pass through (>= floor)."""
    while len(heads) > 1:
        last = max(heads)
        if last <= floor:
            return floor
        heads.remove(last)
        heads.add(back[last - base])
    return heads.pop()


def path_nodes(model: Any, chunk: str, check_every: int = CHECK_EVERY) -> Iterator[tuple[int, int, int]]:
    """The best path of `chunk` as (id, start, end) nodes, in order, as `model._viterbi(chunk)[0]`."""
    n = len(chunk)
    root, unk_score, unk_id = model._trie, model._unk_score, model.unk_id
    longest = max([len(p) for p in model._token_to_id] + [1])
    base, done = 0, 0  # tables hold positions base..; the path up to `done` has been handed on
    size = check_every + longest + 1  # tables are lists, short: they cover the unsettled stretch only
    best, back, ids = [0.0] * size, [-1] * size, [0] * size
    for i in range(n):
        if i + longest >= base + len(best):
            best += [0.0] * size
            back += [-1] * size
            ids += [0] * size
        k = i - base
        b = best[k]
        single = False
        node, j = root, i
        while j < n:  # every piece starting at i, shortest first (UnigramModel._viterbi)
            slot = node.get(chunk[j])
            if slot is None:
                break
            node, entry = slot
            j += 1
            if entry is None:
                continue
            if j == i + 1:
                single = True
            cand = b + entry[1]
            m = j - base
            if back[m] < 0 or cand > best[m]:
                best[m], back[m], ids[m] = cand, i, entry[0]
        if not single:
            m = k + 1
            cand = b + unk_score
            if back[m] < 0 or cand > best[m]:
                if unk_id is None:
                    raise TkitError(f"cannot encode {chunk[i]!r} (U+{ord(chunk[i]):04X}): it has no piece and the "
                                    "Unigram model has no unk_id; retrain with an unknown token or byte_fallback")
                best[m], back[m], ids[m] = cand, i, unk_id
        if (i + 1) % check_every == 0 and i + 1 < n:
            frontier = {p for p in range(max(done, i + 2 - longest), i + 2) if p == 0 or back[p - base] >= 0}
            settled = _common_position(back, base, frontier, done) if frontier else done
            if settled > done:
                yield from _trace(back, ids, base, done, settled)
                cut = settled - base
                best, back, ids = best[cut:], back[cut:], ids[cut:]
                base = done = settled
    yield from _trace(back, ids, base, done, n)


def _trace(back: list[int], ids: list[int], base: int, start: int, end: int) -> list[tuple[int, int, int]]:
    """The path nodes from position `start` to `end`, in order."""
    out = []
    j = end
    while j > start:
        i = back[j - base]
        out.append((ids[j - base], i, j))
        j = i
    out.reverse()
    return out


def _id_batches(model: Any, chunk: str, batch: int) -> Iterator[list[int]]:
    """The ids of `chunk` as `model` gives them, in batches cut after a known piece (unknown runs are fused
    within a batch)."""
    pending: list[tuple[int, int, int]] = []
    unk_id = model.unk_id
    for node in path_nodes(model, chunk):
        pending.append(node)
        if len(pending) >= batch and node[0] != unk_id:
            yield [t[0] for t in model._to_tokens(chunk, pending)]
            pending = []
    yield [t[0] for t in model._to_tokens(chunk, pending)]


def unigram_ids(model: Any, chunk: str, batch: int = 1 << 12) -> list[int]:
    """The ids of `chunk` as `model._viterbi` and `model._to_tokens` give them."""
    return [i for ids in _id_batches(model, chunk, batch) for i in ids]


def unigram_text(model: Any, chunk: str, batch: int = 1 << 12) -> str:
    """`unigram_ids` as space-separated text, without holding every id as an object at once."""
    return " ".join(" ".join(map(str, ids)) for ids in _id_batches(model, chunk, batch) if ids)
