"""Arrays the tasks write to the shared folder: raw native-endian files (or the bounded estimator's records),
written whole or not at all."""
from __future__ import annotations

import numpy as np

from ngram.bounded_counts import count_dtype
from ngram.extsort import key_dtype
from tokenizers_kit.atomic import atomic_path


def write_array(path: str, array: np.ndarray) -> None:
    """Temp file + rename: a rerun task (or two racing copies of it) leaves one complete file."""
    with atomic_path(path) as tmp:
        np.ascontiguousarray(array).tofile(tmp)


def read_rows(path: str, dtype: type, width: int, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of a raw file of `width` items a row, as a (rows, width) array."""
    count = max(0, stop - start)
    itemsize = np.dtype(dtype).itemsize
    out = np.fromfile(path, dtype=dtype, count=count * width, offset=start * width * itemsize)
    if out.size != count * width:
        raise OSError(f"{path}: shorter than expected (a task's output was damaged)")
    return out.reshape(count, width)


def count_records(keys: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """Packed keys (M, ceil(n/2)) uint64 and counts -> order-n records of `bounded_counts.count_dtype`: the
    words big-endian hold the ids big end first, so their first 4n bytes are the ids as byte keys."""
    out = np.empty(keys.shape[0], count_dtype(n))
    raw = np.ascontiguousarray(keys, dtype=">u8").view(np.uint8).reshape(keys.shape[0], 8 * keys.shape[1])
    out["k"] = np.ascontiguousarray(raw[:, :4 * n]).view(key_dtype(n)).reshape(-1)
    out["c"] = counts
    return out


def write_records(path: str, keys: np.ndarray, counts: np.ndarray, n: int) -> None:
    """A share as order-n count records, whole or not at all."""
    write_array(path, count_records(keys, counts, n))
