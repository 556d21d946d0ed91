"""Whether an n-gram order fits in memory on a given corpus, decided before counting starts.

Counting work grows with the order: `tkit count` builds one row of `order` ids per token (tokens x order
slots), and a model keeps every n-gram occurrence of orders 1..N, which stop growing once N passes the longest
sentence. Both are computed exactly from the encoded corpus, so an order that cannot fit is refused at once
with the largest order that does, instead of after minutes of work and gigabytes of memory.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ngram.counting import BOS_ID
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.memory import available_memory, human

MAX_MODEL_ORDER = 10_000  # the largest order the ARPA and .npz readers accept, so a model can be read back
WINDOW_ID_BYTES = 8  # an id of a window row: the row (int32), its packed key and the sort's copies
NGRAM_BYTES = 48  # an n-gram occurrence in the count tables: key, count, suffix link, ranks, the smoothing
TOKEN_BYTES = 64  # per token, whatever the order: the stream and one order's working arrays


def sentence_lengths(stream: np.ndarray) -> np.ndarray:
    """Tokens per sentence of a `<s> w1 ... wm </s>` stream (without `<s>` and `</s>`)."""
    starts = np.flatnonzero(stream == BOS_ID)
    ends = np.append(starts[1:], stream.size)
    return (ends - starts - 2).astype(np.int64)


def window_bytes(lengths: np.ndarray, order: int) -> int:
    """`tkit count`: one window of `order` ids per token and per `</s>`."""
    return int(lengths.sum() + lengths.size) * order * WINDOW_ID_BYTES


def ngram_occurrences(lengths: np.ndarray, order: int) -> int:
    """N-gram occurrences of orders 1..order (KenLM's model padding: one `<s>`): a sentence of L words has
    L+1 unigrams (not `<s>`) and L+3-n n-grams of each order 2 <= n <= L+2."""
    top = np.minimum(order, lengths + 2)  # the highest order with an n-gram in each sentence
    higher = (top - 1) * (lengths + 3) - (top * (top + 1) // 2 - 1)  # sum over n = 2..top of L+3-n
    return int((lengths + 1).sum() + higher.sum())


def model_bytes(lengths: np.ndarray, order: int) -> int:
    return ngram_occurrences(lengths, order) * NGRAM_BYTES + int(lengths.sum() + 2 * lengths.size) * TOKEN_BYTES


def largest_order(need: Callable[[int], int], have: int, below: int) -> int:
    """The largest order < `below` whose need fits in `have` bytes (0 if none); need grows with the order."""
    lo, hi = 0, below - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need(mid) <= have:
            lo = mid
        else:
            hi = mid - 1
    return lo


ON_DISK = "lower --order, or give --memory SIZE to count (and estimate) on disk within SIZE"


def check_order_fits(order: int, need: Callable[[int], int], what: str = "this corpus",
                     remedy: str = ON_DISK) -> None:
    """ArgumentError saying what fits, and what to do, when the order's need exceeds the memory available."""
    have = available_memory()
    required = need(order)
    if required <= have:
        return
    fits = largest_order(need, have, order)
    advice = f"at most order {fits} fits" if fits else "no order fits"
    raise ArgumentError(f"--order {order} needs about {human(required)} for {what}; {advice} in the "
                        f"{human(have)} available: {remedy}")


def check_model_order(order: int) -> None:
    if order > MAX_MODEL_ORDER:
        raise ArgumentError(f"--order {order} is above {MAX_MODEL_ORDER}, the largest order tkit reads back from "
                            "a model file: lower --order (orders past the longest sentence add nothing)")
