"""Sizes a `.npz` declares, checked before NumPy allocates by them.

`np.load` allocates each array by the shape in its `.npy` header before reading a byte of data, so a
flipped digit in a header ("(2, 3)" -> "(200000, 300000)") asks for hundreds of GB; and a deflated member can
inflate a thousandfold. Each member's header must therefore describe no more bytes than the member holds,
and a member may not inflate more than MAX_INFLATION times (tkit writes uncompressed members).
"""
from __future__ import annotations

import zipfile

import numpy as np

from tokenizers_kit.errors import ModelFileError

MAX_INFLATION = 100
SLACK = 1 << 20  # small members compress well whatever they hold


def _declared_bytes(handle) -> int | None:  # noqa: ANN001 (a zip member stream)
    """Bytes the array in a `.npy` stream declares (None for object arrays, which are refused later)."""
    major, _ = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle)
    if dtype.hasobject:
        return None
    n = dtype.itemsize
    for d in shape:
        n *= int(d)
    return n


def check_members(zf: zipfile.ZipFile, path: object) -> None:
    """ModelFileError naming `path` if a member inflates suspiciously or declares more data than it holds."""
    for info in zf.infolist():
        if info.file_size > MAX_INFLATION * info.compress_size + SLACK:
            raise ModelFileError(f"{path}: member {info.filename[:60]!r} inflates {info.file_size} bytes from "
                                 f"{info.compress_size}, a zip bomb, not a tkit model: re-create it")
        if not info.filename.endswith(".npy"):
            continue
        with zf.open(info) as handle:
            declared = _declared_bytes(handle)
        if declared is not None and declared > info.file_size:
            raise ModelFileError(f"{path}: array {info.filename[:-4][:60]!r} declares {declared} bytes but holds "
                                 f"{info.file_size}: the file is corrupt; re-create it")
