"""Array sizes declared in an `.npz` are checked before NumPy allocates them (ngram.npzfile.check_archive):
an array header that promises more bytes than its member holds, or arrays larger than the memory available,
are refused with one line instead of a MemoryError or an allocation the size of the lie."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format

import ngram.npzfile as npzfile
from ngram import NgramModel, load_ngram
from ngram.npzfile import META_KEY, load_npz
from tests.ngram.limited_run import LOAD_MODELS, run_limited
from tokenizers_kit.errors import ModelFileError

META = json.dumps({"format": "tkit-ngram", "version": 1, "order": 1, "kind": "backoff", "vocab_size": 3})


def npy_bytes(shape: tuple[int, ...], dtype: str, data: bytes) -> bytes:
    """An .npy member whose header declares `shape` but whose data is `data`."""
    out = io.BytesIO()
    npy_format.write_array_header_1_0(out, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


def write_lying_npz(path, shape: tuple[int, ...], dtype: str, held: int) -> None:
    meta = io.BytesIO()
    np.save(meta, np.array(META))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(META_KEY + ".npy", meta.getvalue())
        archive.writestr("logp_1.npy", npy_bytes(shape, dtype, b"\0" * held))


shapes = st.lists(st.integers(1, 2**20), min_size=1, max_size=3).map(tuple)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, dtype=st.sampled_from(["<f8", "<i4", "<u8", "|u1", "<c16"]), held=st.integers(0, 64))
def test_headers_that_promise_more_than_the_member_holds_are_refused(shape, dtype, held, tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "m.npz"
    write_lying_npz(path, shape, dtype, held)
    declared = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    if declared <= held:
        return  # an honest header: nothing to refuse here
    with pytest.raises(ModelFileError, match="declares"):
        load_npz(path)


def test_a_header_promising_terabytes_costs_nothing(tmp_path):
    """In a child under RLIMIT_AS 1.5 GB: a member of a few bytes whose header declares 2**50 float64 values
    (NumPy would allocate them before reading) is refused at once."""
    path = tmp_path / "lie.npz"
    write_lying_npz(path, (2**47,), "<f8", 8)
    result = run_limited(LOAD_MODELS, str(path), timeout=60)
    row = json.loads(result.out.splitlines()[0])
    assert row["outcome"] == "ModelFileError" and "declares" in row["message"], row
    assert row["seconds"] < 5


def test_arrays_larger_than_available_memory_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    NgramModel.fit([["a", "b"], ["b", "c"]], order=2).save(path)
    load_ngram(path)
    monkeypatch.setattr(npzfile, "available_memory", lambda: 100)
    with pytest.raises(ModelFileError, match="more than the"):
        load_ngram(path)


@pytest.mark.parametrize("name", ["payload", "keys_2", "x.txt", "__tkit_meta__"])
def test_members_that_are_not_arrays_are_refused_unread(name, tmp_path):
    """NumPy hands back any non-.npy member whole, as bytes: a large one would be read into memory, and
    bytes are no array; such a member is refused by its name alone."""
    path = tmp_path / "m.npz"
    NgramModel.fit([["a", "b"], ["b", "c"]], order=2).save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, b"\0" * 4096)
    with pytest.raises(ModelFileError, match="not an array"):
        load_ngram(path)
