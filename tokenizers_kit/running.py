"""Running sums and maxima that let other threads run meanwhile.

NumPy's accumulate holds the GIL for its whole length when its output is its input (`out=values`) or needs a
cast (a bool mask summed into integers, int32 summed into the default int64): every other thread of the
process waits, NumPy work included, and two threads doing it take turns instead of sharing the cores.
Accumulated into a fresh array of the input's own dtype, it releases the GIL as any other loop does. These
helpers always take that path: the cast, if any, is a separate step (casts release the GIL).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def _accumulated(ufunc: np.ufunc, values: np.ndarray, dtype: DTypeLike, out: np.ndarray | None = None) -> np.ndarray:
    same = np.asarray(values).astype(dtype, copy=False)
    if out is not None and np.shares_memory(out, same):
        same = same.copy()
    return ufunc.accumulate(same, dtype=same.dtype, out=out)  # an output apart from the input, its dtype: no cast


def running_sum(values: np.ndarray, dtype: DTypeLike | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """`np.cumsum(values, dtype=dtype, out=out)` for a 1-D array, with the GIL released (`out`, if given, of
    that dtype)."""
    values = np.asarray(values)
    if dtype is None:  # np.cumsum's own choice (int64 for bools and small integers)
        dtype = np.cumsum(values[:0]).dtype if out is None else out.dtype
    return _accumulated(np.add, values, dtype, out)


def running_max(values: np.ndarray) -> np.ndarray:
    """`np.maximum.accumulate(values)` for a 1-D array, with the GIL released."""
    values = np.asarray(values)
    return _accumulated(np.maximum, values, values.dtype)
