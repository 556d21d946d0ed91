"""Stage 2: a range's KenLM windows in global ids, counted (`chunked_counts.count_run`) and written as one
sorted run: `.keys` (rows of ceil(N/2) uint64, two 32-bit ids a word, so runs compare whatever their ids)
and `.counts` (int64). A few evenly spaced keys come back as the sample the shuffle's splitters are cut from."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ngram.chunked_counts import count_run
from ngram.counting import padded_windows
from ngram.distributed.files import write_array
from ngram.order_limits import check_order_fits, sentence_lengths, window_bytes

SAMPLES = 256  # keys sampled per run


@dataclass
class Run:
    """A sorted run (or a reducer's share) on the shared path: `stem`.keys and `stem`.counts."""

    stem: str
    rows: int
    width: int
    sample: np.ndarray  # (S, width) uint64, sorted


def key_width(order: int) -> int:
    return (order + 1) // 2


def count_range_windows(ids_path: str, id_map: np.ndarray, order: int, stem: str) -> Run:
    """Map the range's local ids through `id_map`, count its windows, write the sorted run."""
    stream = id_map[np.fromfile(ids_path, dtype=np.int32)]
    width = key_width(order)
    if stream.size == 0:
        keys, counts = np.empty((0, width), np.uint64), np.empty(0, np.int64)
    else:
        check_order_fits(order, lambda k: window_bytes(sentence_lengths(stream), k), "a range of the corpus")
        keys, counts = count_run(padded_windows(stream, order))
    write_array(f"{stem}.keys", keys)
    write_array(f"{stem}.counts", counts.astype(np.int64, copy=False))
    pick = np.unique(np.linspace(0, keys.shape[0] - 1, min(SAMPLES, keys.shape[0])).astype(np.int64))
    return Run(stem, int(keys.shape[0]), width, keys[pick].copy())
