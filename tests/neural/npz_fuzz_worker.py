"""Fuzz the neural `.npz` loaders with files made by mutating a valid tiny model or checkpoint.

Run as `python -m tests.neural.npz_fuzz_worker TARGET N OUT.json` (test_npz_fuzz.py does, in a subprocess
under RLIMIT_AS, so an allocation driven by a hostile size fails here instead of taking the machine).
Hypothesis draws the mutations; every case must end in a loaded model or a TkitError. The report, per
mutation class: cases tried, cases that gave TkitError or loaded, the escapes (other exceptions), and the
slowest case's seconds.
"""
from __future__ import annotations

import io
import json
import math
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

META_KEY = "__tkit_meta__"
CLASSES = ("truncate", "byteflip", "dtype", "shape", "object", "nan", "meta_type", "huge", "missing", "header",
           "bomb")
BOMB_BYTES = 128 << 20
BOMB_MEMBER: tuple[str, bytes] = ("", b"")
HUGE = [0, -1, 10**9, 2**31 - 1, 2**31, 2**63, 10**40, 65535 * 65535]
ODD = [None, True, "64", 1.5, math.nan, [], {}, [1, 2], -7, 10**30, "x" * 100]


def make_files(tmp: Path) -> dict[str, Path]:
    """A tiny Transformer, a tiny LSTM and a GRU training checkpoint (2 steps, with Adam state and carry)."""
    from neural.rnn_lm import RNNLanguageModel
    from neural.trainer import TrainConfig, Trainer
    from neural.transformer import TransformerLM
    from ngram.vocab import Vocabulary
    from tokenizers_kit.simple import CharTokenizer

    vocab, tok = Vocabulary(list("abcdefg") + ["<unk>"]), CharTokenizer()
    TransformerLM.from_config(dict(n_layer=2, n_head=2, n_embd=8, block_size=8), vocab, tok).save(tmp / "t.npz")
    RNNLanguageModel.from_config(dict(cell="lstm", embedding_size=4, hidden_size=6), vocab, tok).save(tmp / "r.npz")
    rnn = RNNLanguageModel.from_config(dict(cell="gru", embedding_size=4, hidden_size=6, block_size=4), vocab, tok)
    ids = np.arange(400, dtype=np.int32) % 8
    trainer = Trainer(rnn, ids, ids[:50], TrainConfig(steps=2, batch_size=3, val_every=0, eval_batches=0),
                      tmp / "c.npz")
    trainer.run()
    return {"transformer": tmp / "t.npz", "rnn": tmp / "r.npz", "checkpoint": tmp / "c.npz"}


def read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(str(arrays.pop(META_KEY)[()])), arrays


def write(meta: object, arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{META_KEY: np.array(json.dumps(meta)), **arrays})  # object arrays are pickled: on purpose
    return buf.getvalue()


def _paths(obj: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a JSON value (dicts and lists)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list) and len(obj) < 50:
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _set(obj: object, path: tuple, value: object, delete: bool = False) -> None:
    for k in path[:-1]:
        obj = obj[k]  # type: ignore[index]
    if delete:
        del obj[path[-1]]  # type: ignore[attr-defined]
    else:
        obj[path[-1]] = value  # type: ignore[index]


def rewrite_member(original: bytes, member: str, edit) -> bytes:  # noqa: ANN001
    """The zip with one member's bytes replaced by edit(bytes), every other member as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info, edit(body) if info.filename == member else body)
    return out.getvalue()


def huge_header(body: bytes, dims: tuple[int, ...]) -> bytes:
    """An .npy member whose header declares `dims` (padded to the old header length) over the old data."""
    end = body.index(b"}") + 1
    new = body[10:end].decode("latin1")
    start = new.index("'shape': (") + len("'shape': ")
    stop = new.index(")", start) + 1
    new = new[:start] + repr(tuple(dims)) + new[stop:]
    header = new.encode("latin1").ljust(body.index(b"\n", end) - 10, b" ")
    return body[:8] + len(header + b"\n").to_bytes(2, "little") + header + b"\n" + body[10 + len(header) + 1:]


def bomb(member: str) -> tuple[str, bytes]:
    """A deflated member inflating to BOMB_BYTES of zero floats (a few hundred KB in the file)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": (BOMB_BYTES // 4,)})
    return member, buf.getvalue() + bytes(BOMB_BYTES)


def mutate(kind: str, data: st.DataObject, original: bytes, meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    draw = data.draw
    names = sorted(arrays)
    if kind == "header":
        member = draw(st.sampled_from(names)) + ".npy"
        dims = draw(st.sampled_from([(10**6, 10**6), (2**40,), (65536, 65536, 16), (3, 10**12)]))
        return rewrite_member(original, member, lambda body: huge_header(body, dims))
    if kind == "bomb":
        out = io.BytesIO(original)
        with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(*BOMB_MEMBER)
        return out.getvalue()
    if kind == "truncate":
        return original[:draw(st.integers(0, len(original) - 1))]
    if kind == "byteflip":
        raw = bytearray(original)
        for _ in range(draw(st.integers(1, 8))):
            raw[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
        return bytes(raw)
    name = draw(st.sampled_from(names)) if names else None
    arr = arrays[name] if name else None
    if kind == "dtype" and name:
        arrays[name] = arr.astype(draw(st.sampled_from([np.int32, np.int64, np.bool_, np.complex64, np.uint8,
                                                        np.float16, np.float64, "U3", "S2"])))
    elif kind == "shape" and name:
        arrays[name] = draw(st.sampled_from([arr.ravel(), arr[None], arr.T.copy(), arr[..., :0],
                                             np.zeros(()), np.zeros((2,) * 5, arr.dtype), np.concatenate([arr, arr])]))
    elif kind == "object" and name:
        arrays[name] = np.array([object(), 1], dtype=object) if draw(st.booleans()) else arr.astype(object)
    elif kind == "nan" and name and arr.size:
        bad = arr.astype(np.float32).copy()
        bad.flat[draw(st.integers(0, bad.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        arrays[name] = bad
    elif kind == "meta_type":
        _set(meta, draw(st.sampled_from(_paths(meta))), draw(st.sampled_from(ODD)))
    elif kind == "huge":
        ints = [p for p in _paths(meta) if _get_int(meta, p)]
        _set(meta, draw(st.sampled_from(ints)), draw(st.sampled_from(HUGE)))
    elif kind == "missing":
        if draw(st.booleans()) and names:
            del arrays[name]
        else:
            _set(meta, draw(st.sampled_from(_paths(meta))), None, delete=True)
    return write(meta, arrays)


def _get_int(obj: object, path: tuple) -> bool:
    for k in path:
        obj = obj[k]  # type: ignore[index]
    return isinstance(obj, int) and not isinstance(obj, bool)


def load(target: str, path: Path) -> None:
    from neural import load_model
    from neural.checkpoint import load_checkpoint

    if target == "checkpoint":
        load_checkpoint(path)
    else:
        load_model(path)


def run(target: str, examples: int) -> dict:
    from tokenizers_kit.errors import TkitError

    tmp = Path(tempfile.mkdtemp())
    source = make_files(tmp)[target]
    original = source.read_bytes()
    global BOMB_MEMBER
    BOMB_MEMBER = bomb("w:zz_bomb.npy")
    report = {k: {"tried": 0, "passed": 0, "loaded": 0, "escapes": [], "slowest_s": 0.0} for k in CLASSES}
    case = tmp / "case.npz"

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(CLASSES), data=st.data())
    def fuzz(kind: str, data: st.DataObject) -> None:
        meta, arrays = read(source)
        case.write_bytes(mutate(kind, data, original, meta, arrays))
        row = report[kind]
        row["tried"] += 1
        t0 = time.perf_counter()
        try:
            load(target, case)
            row["loaded"] += 1
            row["passed"] += 1
        except TkitError as err:
            if "\n" in str(err):
                row["escapes"].append(f"multi-line TkitError: {err!r}"[:300])
            else:
                row["passed"] += 1
        except BaseException as err:  # noqa: BLE001 (what the fuzz is looking for)
            tb = traceback.extract_tb(err.__traceback__)[-1]
            row["escapes"].append(f"{type(err).__name__}: {str(err)[:150]} at {tb.filename}:{tb.lineno}")
        row["slowest_s"] = max(row["slowest_s"], round(time.perf_counter() - t0, 3))

    fuzz()
    return report


if __name__ == "__main__":
    out = run(sys.argv[1], int(sys.argv[2]))
    Path(sys.argv[3]).write_text(json.dumps(out, indent=1))
