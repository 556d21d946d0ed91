"""tkit's `.npz` model files: named arrays plus a JSON `meta` record; loaded without pickle, ever.

A file from a stranger must not be able to run code, so loading uses `allow_pickle=False` and any object
array is refused with a clear message. Nor may it exhaust memory: the header of every array is read first and
its declared shape checked against the bytes the archive holds and the memory available, because NumPy
allocates an array of the declared shape before reading its data.
"""
from __future__ import annotations

import json
import os
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.memory import available_memory, human

META_KEY = "__tkit_meta__"
FORMAT_PREFIX = "tkit-"


def save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write arrays and `meta` (which must hold `format`, e.g. "tkit-ngram") atomically."""
    if not str(meta.get("format", "")).startswith(FORMAT_PREFIX):
        raise ValueError("meta['format'] must name a tkit format")
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise ValueError(f"array {name!r} has dtype object, which would need pickle")
    payload = {META_KEY: np.array(json.dumps(meta, ensure_ascii=False)), **arrays}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a file handle keeps numpy from appending ".npz" to the temp name
            np.savez(handle, **payload)


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the JSON meta record (cheap: reads one member)."""
    meta, _ = load_npz(path, arrays=False)
    return meta


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """The path of an existing regular file, or a ModelFileError saying what is there instead."""
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"model {str(p)!r} is a directory: give the model file inside it")
    if not p.exists():
        raise ModelFileError(f"model file {str(p)!r} does not exist: check the path (train one with `tkit train`)")
    if not p.is_file():
        raise ModelFileError(f"model {str(p)!r} is not a regular file: give a model file")
    return p


MAX_INFLATION = 100  # tkit writes members uncompressed; a deflated member may not grow more than this
INFLATION_SLACK = 1 << 20  # small members compress well whatever they hold


def _member_nbytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> int:
    """Bytes the array in this member declares (its header only is read); ModelFileError when the member is a
    zip bomb, the header is bad, asks for pickle, or declares more data than the member holds."""
    if info.file_size > MAX_INFLATION * info.compress_size + INFLATION_SLACK:
        raise ModelFileError(f"{path}: member {info.filename[:60]!r} inflates {info.file_size} bytes from "
                             f"{info.compress_size}, a zip bomb, not a tkit model: re-create it")
    with archive.open(info) as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(member)
        else:
            raise ModelFileError(f"{path}: array {info.filename!r} has an .npy version tkit does not write "
                                 f"({version}): give a model written by tkit")
        held = info.file_size - member.tell()
    if dtype.hasobject:
        raise ModelFileError(f"{path} holds pickled Python objects, which tkit refuses to load "
                             "(they could run code): use a model written by tkit")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > held:
        raise ModelFileError(f"{path}: array {info.filename!r} declares {nbytes} bytes but holds "
                             f"{held}: the file is corrupt; re-create it")
    return nbytes


def check_archive(path: Path) -> None:
    """Check the declared size of every array before NumPy allocates it (see the module docstring)."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        for info in members:
            if not info.filename.endswith(".npy"):  # NumPy would read any other member whole, as bytes
                raise ModelFileError(f"{path} holds {info.filename[:60]!r}, which is not an array: "
                                     "give a model written by tkit")
        total = sum(_member_nbytes(archive, info, path) for info in members)
    have = available_memory()
    if total > have:
        raise ModelFileError(f"{path} holds arrays of {human(total)}, more than the {human(have)} "
                             "available: free memory or use a smaller model")


def load_npz(path: str | os.PathLike[str], expected_format: str | None = None,
             arrays: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a tkit `.npz`; ModelFileError for anything that is not a sound tkit file."""
    p = check_model_file(path)
    try:
        with open(p, "rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise ModelFileError(f"{p} cannot be read ({err.strerror}): check its permissions") from None
    if magic[:2] != b"PK":  # np.load would try anything else as a pickle, and say so
        kind = "a Python pickle" if magic[:1] == b"\x80" else "not a zip archive"
        raise ModelFileError(f"{p} is not a tkit .npz model ({kind}): give a model written by tkit")
    try:
        check_archive(p)
        with open(p, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            if META_KEY not in data.files:
                raise ModelFileError(f"{p} is an .npz but not a tkit model (no tkit metadata): "
                                     "give a file written by tkit")
            meta = json.loads(str(data[META_KEY][()]))
            loaded = {k: data[k] for k in data.files if k != META_KEY} if arrays else {}
    except ModelFileError:
        raise
    except ValueError as err:
        if "pickle" in str(err):
            raise ModelFileError(f"{p} holds pickled Python objects, which tkit refuses to load "
                                 "(they could run code): use a model written by tkit") from None
        raise ModelFileError(f"{p} is not a readable tkit model ({err}): re-create it") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError, RecursionError, zlib.error,
            NotImplementedError, SyntaxError, tokenize.TokenError) as err:  # the last two: a damaged .npy header
        raise ModelFileError(f"{p} is truncated or not a tkit model file ({type(err).__name__}): "
                             "re-create or re-download it") from None
    fmt = str(meta.get("format", "")) if isinstance(meta, dict) else ""
    if not fmt.startswith(FORMAT_PREFIX):
        raise ModelFileError(f"{p} is not a tkit model file (format {fmt or 'missing'}): give a file written by tkit")
    if expected_format and fmt != expected_format:
        raise ModelFileError(f"{p} is a {fmt} file, not {expected_format}: give the right kind of model")
    return meta, loaded
