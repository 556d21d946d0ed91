"""Fuzzing the n-gram `.npz` loader (ngram/npzfile.py + ngram/storage.py): hypothesis takes valid model files
(a "counts" model for several smoothings, a "backoff" model read from ARPA) and changes them — arrays with the
wrong dtype, ndim or shape, object arrays, ids and keys out of range, negative or huge counts, metadata of the
wrong type or missing, metadata that is not JSON, members that are not arrays, truncation and byte flips of
the zip — and every result must load (and score text) or raise a one-line TkitError, within a time bound."""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ngram import NgramModel, load_ngram
from ngram.npzfile import META_KEY
from tests.ngram.fuzz_helpers import loads_or_refuses

SENTENCES = [["a", "b", "c"], ["b", "c", "a", "a"], ["c", "b"], ["a", "é", "b"], ["b", "b", "c", "a"]]
KINDS = ["modified-kneser-ney", "witten-bell", "add-k", "stupid-backoff", "backoff"]
META_VALUES = [None, True, False, -1, 0, 1, 2, 7, 10**9, 2**70, -(2**70), 1.5, float("inf"), "x", "3", [], {},
               [1, 2], {"k": 1}, "kneser-ney", "counts", "backoff", "char", "whitespace", [-1, 5], [0, "x"]]
ARRAY_VALUES = [0, 1, -1, 2, 255, 2**31 - 1, 2**31, 2**32, 2**63 - 1, -(2**63), 10**6]


@lru_cache(maxsize=None)
def good_file(kind: str) -> dict[str, np.ndarray]:
    """The arrays (meta included) of a valid model file of this kind."""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "backoff":
            arpa = Path(tmp) / "m.arpa"
            NgramModel.fit(SENTENCES, order=3, smoothing="kneser-ney").save(arpa)
            model = load_ngram(arpa)
        else:
            model = NgramModel.fit(SENTENCES, order=3, smoothing=kind)
        path = Path(tmp) / "m.npz"
        model.save(path)
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}


def _object_array() -> np.ndarray:
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = {"x": 1}, "y"
    return arr


@st.composite
def changed_array(draw, arr: np.ndarray) -> np.ndarray:
    kind = draw(st.sampled_from(["dtype", "ndim", "shape", "values", "object", "scalar", "empty"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from([np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.uint64,
                                      np.bool_, np.complex64, "U3", "S3"]))
        try:
            return arr.astype(dtype)
        except (ValueError, TypeError, OverflowError):
            return np.zeros(arr.shape, dtype=dtype)
    if kind == "ndim":
        return arr.reshape(1, -1) if draw(st.booleans()) else np.stack([arr, arr], axis=-1)
    if kind == "shape":
        flat = arr.reshape(-1)
        cut = draw(st.integers(0, max(0, flat.size - 1)))
        return flat[:cut] if draw(st.booleans()) else np.concatenate([flat, flat[:cut + 1]])
    if kind == "values" and arr.size:
        out = arr.copy()
        at = draw(st.integers(0, arr.size - 1))
        value = draw(st.sampled_from(ARRAY_VALUES) | st.sampled_from([np.nan, np.inf, -np.inf, 0.5]))
        try:
            out.reshape(-1)[at] = value
        except (OverflowError, ValueError, TypeError):
            out.reshape(-1)[at] = 0
        return out
    if kind == "object":
        return _object_array()
    if kind == "scalar":
        return np.array(draw(st.sampled_from(ARRAY_VALUES)))
    return arr.reshape(-1)[:0]


def _meta_text(draw, meta: dict) -> str:
    kind = draw(st.sampled_from(["value", "value", "delete", "add", "not json", "not a dict", "deep"]))
    meta = dict(meta)
    if kind == "value":
        key = draw(st.sampled_from(sorted(meta)))
        meta[key] = draw(st.sampled_from(META_VALUES))
        if key == "params" and draw(st.booleans()):
            meta[key] = {draw(st.sampled_from(["k", "discount", "alpha", "x", "strict", "discount_fallback"])):
                         draw(st.sampled_from(META_VALUES))}
    elif kind == "delete":
        del meta[draw(st.sampled_from(sorted(meta)))]
    elif kind == "add":
        meta[draw(st.text(max_size=5))] = draw(st.sampled_from(META_VALUES))
    elif kind == "not json":
        return draw(st.sampled_from(["{", "", "null", "[1]", "5", '"tkit-ngram"', "\udcff"]))
    elif kind == "deep":
        return "[" * 100_000 + "]" * 100_000
    return json.dumps(meta)


@st.composite
def mutated_npz(draw) -> bytes:
    arrays = dict(good_file(draw(st.sampled_from(KINDS))))
    meta = json.loads(str(arrays[META_KEY][()]))
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(arrays)))
        action = draw(st.sampled_from(["change", "change", "delete", "meta"]))
        if action == "meta":
            text = _meta_text(draw, meta)
            arrays[META_KEY] = np.array(text) if draw(st.integers(0, 5)) else np.array([1, 2])
        elif action == "delete":
            arrays.pop(key)
        else:
            arrays[key] = draw(changed_array(arrays[key]))
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # object arrays are pickled here, as a hostile file would have them
    if draw(st.integers(0, 9)) == 0:  # a member that is not an .npy array
        with zipfile.ZipFile(buf, "a") as archive:
            archive.writestr(draw(st.sampled_from(["keys_2", "payload", "logp_1", "x.npy.txt"])), b"\0" * 64)
    data = buf.getvalue()
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "flip"]))
    if cut == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    if cut == "flip":
        out = bytearray(data)
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=mutated_npz())
def test_npz_model_loads_or_refuses(data, tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(data)
    event(loads_or_refuses(lambda: load_ngram(path)))


def test_the_unmutated_files_load(tmp_path):
    """The fuzzer's seeds are sound, so the refusals it sees come from the mutations."""
    for kind in KINDS:
        path = tmp_path / f"{kind}.npz"
        np.savez(path, **good_file(kind))
        assert loads_or_refuses(lambda: load_ngram(path)) == "ok", kind
