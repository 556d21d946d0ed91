"""Arrays the tasks write to the shared folder: raw native-endian files, written whole or not at all."""
from __future__ import annotations

import numpy as np

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
