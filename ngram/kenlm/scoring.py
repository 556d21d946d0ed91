"""KenLM's FullScore over any search (probing or trie), in float32 as KenLM computes it.

`full_score` is the one-word step of `BaseScore`; `sentence_scores` does a whole sentence at once with one
vectorised lookup per n-gram length. The two agree because KenLM's state only drops context words that no
longer n-gram can follow, whose backoffs are -0.0 (adding them changes nothing).
"""
from __future__ import annotations

import math
import struct

import numpy as np

F32 = struct.Struct("<f")


def f32(x: float) -> float:
    """Round a Python float to float32 (the sum of two float32s is exact enough in double to round once)."""
    return F32.unpack(F32.pack(x))[0]


def extends(backoff: float) -> bool:
    """KenLM's "has extension": any backoff but -0.0."""
    return backoff != 0.0 or math.copysign(1.0, backoff) > 0


def full_score(search, ctx_words: tuple[int, ...], ctx_backoffs: tuple[float, ...],
               word: int) -> tuple[float, int, tuple[int, ...], tuple[float, ...]]:
    """(log10 p, n-gram length, out-state words, out-state backoffs) of `word` after the state's context
    (most recent word first)."""
    prob, backoff, node = search.unigram(word)
    out_backoffs = [backoff]
    out_len = 1 if extends(backoff) else 0
    length = 1
    last = search.order - 2
    for j, older in enumerate(ctx_words):
        if j == last:
            got = search.longest_find(node, older)
            if got is not None:
                prob, length = got, search.order
            break
        found = search.middle_find(j + 2, node, older)
        if found is None:
            break
        prob, backoff, node = found
        out_backoffs.append(backoff)
        length = j + 2
        if extends(backoff):
            out_len = length
    for b in ctx_backoffs[length - 1:]:
        prob = f32(prob + b)
    return prob, length, ((word,) + ctx_words)[:out_len], tuple(out_backoffs[:out_len])


def sentence_scores(search, seq: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 log10 p and n-gram length of seq[first:], each word scored after the words before it in `seq`
    (`first` is 1 when seq starts with `<s>`, which is context only)."""
    probs, lengths = batch_scores(search, seq, np.arange(seq.size))
    return probs[first:], lengths[first:]


def batch_scores(search, seq: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 log10 p and n-gram length of every position of `seq`, position t scored after the `limit[t]`
    words before it (several sentences in one array: limit is the distance from each one's first word)."""
    order = search.order
    size = seq.size
    prob, backoff, nodes = search.unigram_many(seq)
    prob = prob.astype(np.float32)
    lengths = np.ones(size, dtype=np.int64)
    backoffs = np.zeros((size, order), dtype=np.float32)  # [t, c]: backoff of the c-gram ending at t
    backoffs[:, 1] = backoff
    alive = np.arange(size)
    for j in range(order - 1):
        alive_mask = limit[alive] > j  # an older word of the same sentence exists
        alive, nodes = alive[alive_mask], nodes[alive_mask]
        if not alive.size:
            break
        older = seq[alive - j - 1]
        if j == order - 2:
            found, p = search.longest_many(nodes, older)
            hit = alive[found]
            prob[hit], lengths[hit] = p, order
            break
        found, p, b, new_nodes = search.middle_many(j + 2, nodes, older)
        alive = alive[found]
        prob[alive], backoffs[alive, j + 2], lengths[alive] = p, b, j + 2
        nodes = new_nodes
    # the context of position t is what position t - 1 matched, at most order - 1 words
    ctx = np.zeros(size, dtype=np.int64)
    ctx[1:] = np.minimum(lengths[:-1], order - 1)
    ctx[limit == 0] = 0
    prev = np.zeros_like(backoffs)
    prev[1:] = backoffs[:-1]
    for c in range(1, order):
        add = (c >= lengths) & (c <= ctx)
        prob = np.where(add, prob + prev[:, c], prob)  # float32 + float32 stays float32
    return prob, lengths


def next_word_scores(search, ctx_words: tuple[int, ...], ctx_backoffs: tuple[float, ...],
                     candidates: np.ndarray) -> np.ndarray:
    """float32 log10 p of every candidate word after one state: `full_score` vectorised over the words."""
    prob, _, nodes = search.unigram_many(candidates)
    prob = prob.astype(np.float32)
    lengths = np.ones(candidates.size, dtype=np.int64)
    alive = np.arange(candidates.size)
    for j, older in enumerate(ctx_words):
        olders = np.full(alive.size, older, dtype=np.int64)
        if j == search.order - 2:
            found, p = search.longest_many(nodes, olders)
            prob[alive[found]], lengths[alive[found]] = p, search.order
            break
        found, p, _, new_nodes = search.middle_many(j + 2, nodes, olders)
        alive, nodes = alive[found], new_nodes
        prob[alive], lengths[alive] = p, j + 2
        if not alive.size:
            break
    for c, b in enumerate(ctx_backoffs):
        prob = np.where(lengths - 1 <= c, prob + np.float32(b), prob)
    return prob
