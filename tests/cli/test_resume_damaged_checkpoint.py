"""`--resume` from a damaged checkpoint: each kind of damage gives one line `tkit: error:` naming the
checkpoint, a non-zero exit, and leaves the checkpoint and the -o file as they were."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit

META = "__tkit_meta__"
TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 30
RNN = ["--cell", "gru", "--embedding-size", "4", "--hidden-size", "8", "--block-size", "8", "--batch-size", "4"]
TRANSFORMER = ["--n-layer", "1", "--n-head", "2", "--n-embd", "8", "--block-size", "8", "--batch-size", "4"]


def _npz(meta, arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{META: np.array(json.dumps(meta)), **arrays})
    return buf.getvalue()


def _edit(fn):
    """A damage that edits the (meta, arrays) of the valid checkpoint."""
    def damage(raw: bytes) -> bytes:
        with np.load(io.BytesIO(raw)) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays.pop(META)[()]))
        fn(meta, arrays)
        return _npz(meta, arrays)
    return damage


def _first(arrays, prefix):
    return sorted(k for k in arrays if k.startswith(prefix))[0]


def _set_nan(arrays, prefix):
    key = _first(arrays, prefix)
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = math.nan


DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "zero bytes": lambda raw: b"",
    "not a zip": lambda raw: b"this is not a checkpoint\n" * 10,
    "no meta entry": lambda raw: _npz_without_meta(raw),
    "meta not JSON": lambda raw: _raw_meta(raw, "{not json"),
    "meta a list": lambda raw: _raw_meta(raw, "[1, 2]"),
    "trainer a string": _edit(lambda m, a: m.__setitem__("trainer", "x")),
    "config types": _edit(lambda m, a: m["model"]["config"].__setitem__("hidden_size", "8")),
    "zero heads/size": _edit(lambda m, a: m["model"]["config"].__setitem__("n_layer", 0)),
    "missing optimizer state": _edit(lambda m, a: [a.pop(k) for k in list(a) if k.startswith("opt:")]),
    "missing optimizer record": _edit(lambda m, a: m.pop("optimizer")),
    "optimizer array shape": _edit(lambda m, a: a.__setitem__(_first(a, "opt:m:"), np.zeros((3, 3), np.float32))),
    "step negative": _edit(lambda m, a: m["trainer"].__setitem__("step", -1)),
    "step not int": _edit(lambda m, a: m["trainer"].__setitem__("step", "2")),
    "step huge": _edit(lambda m, a: m["trainer"].__setitem__("step", 10**30)),
    "optimizer count disagrees": _edit(lambda m, a: m["optimizer"].__setitem__("t", 7)),
    "NaN in weights": _edit(lambda m, a: _set_nan(a, "w:")),
    "NaN in Adam moments": _edit(lambda m, a: _set_nan(a, "opt:v:")),
    "negative Adam v": _edit(lambda m, a: a.__setitem__(_first(a, "opt:v:"), -np.abs(a[_first(a, "opt:v:")]) - 1)),
    "pickled object array": _edit(lambda m, a: a.__setitem__(_first(a, "w:"), np.array([object()], dtype=object))),
    "bad random state": _edit(lambda m, a: m["trainer"].__setitem__("rng", {"bit_generator": "PCG64"})),
    "huge batch size": _edit(lambda m, a: m["trainer"]["config"].__setitem__("batch_size", 2**40)),
    "carry of wrong shape": _edit(lambda m, a: a.__setitem__(_first(a, "carry:"), np.zeros((2, 2), np.float32))),
}


def _npz_without_meta(raw: bytes) -> bytes:
    with np.load(io.BytesIO(raw)) as f:
        arrays = {k: f[k] for k in f.files if k != META}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _raw_meta(raw: bytes, text: str) -> bytes:
    with np.load(io.BytesIO(raw)) as f:
        arrays = {k: f[k] for k in f.files if k != META}
    buf = io.BytesIO()
    np.savez(buf, **{META: np.array(text), **arrays})
    return buf.getvalue()


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A 3-step GRU run's checkpoint (Adam state and carried hidden state) and its corpus."""
    tmp = tmp_path_factory.mktemp("ckpt")
    corpus = tmp / "text.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    ckpt = tmp / "run.ckpt.npz"
    r = run_tkit("train", "rnn", str(corpus), *RNN, "--steps", "3", "--val-every", "0", "--checkpoint-every", "3",
                 "--checkpoint", str(ckpt), "-o", str(tmp / "m.npz"))
    assert r.code == 0, r.err
    return corpus, ckpt.read_bytes()


def _resume(tmp_path, corpus, data: bytes, *extra: str, command: str = "rnn"):
    ckpt, out = tmp_path / "damaged.ckpt.npz", tmp_path / "out.npz"
    ckpt.write_bytes(data)
    out.write_bytes(b"previous model")
    r = run_tkit("train", command, str(corpus), "--resume", str(ckpt), "--checkpoint", str(ckpt), *extra,
                 "--steps", "5", "-o", str(out))
    return r, ckpt, out


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_checkpoint_is_one_line_error(tmp_path, valid, kind):
    corpus, raw = valid
    damaged = DAMAGE[kind](raw)
    r, ckpt, out = _resume(tmp_path, corpus, damaged)
    assert_one_line_error(r, str(ckpt))
    assert ckpt.read_bytes() == damaged and out.read_bytes() == b"previous model"


@pytest.mark.parametrize("option,value", [("--cell", "lstm"), ("--hidden-size", "16"), ("--embedding-size", "5"),
                                          ("--block-size", "4"), ("--batch-size", "2"), ("--lr", "0.5"),
                                          ("--tokenizer", "whitespace")])
def test_options_that_disagree_with_the_checkpoint(tmp_path, valid, option, value):
    corpus, raw = valid
    r, ckpt, out = _resume(tmp_path, corpus, raw, option, value)
    assert_one_line_error(r, str(ckpt), option if option != "--tokenizer" else "tokenizer")
    assert ckpt.read_bytes() == raw and out.read_bytes() == b"previous model"


def test_options_that_agree_are_accepted(tmp_path, valid):
    corpus, raw = valid
    r, ckpt, out = _resume(tmp_path, corpus, raw, "--cell", "gru", "--hidden-size", "8", "--tokenizer", "char")
    assert r.code == 0, r.err
    assert out.read_bytes()[:2] == b"PK"


def test_transformer_checkpoint_resumed_as_rnn_and_back(tmp_path, valid):
    corpus, raw = valid
    r, ckpt, out = _resume(tmp_path, corpus, raw, command="transformer")
    assert_one_line_error(r, str(ckpt), "tkit-rnn")
    t_ckpt = tmp_path / "t.ckpt.npz"
    assert run_tkit("train", "transformer", str(corpus), *TRANSFORMER, "--steps", "2", "--checkpoint", str(t_ckpt),
                    "-o", str(tmp_path / "t.npz")).code == 0
    r, ckpt, out = _resume(tmp_path, corpus, t_ckpt.read_bytes())
    assert_one_line_error(r, str(ckpt), "tkit-transformer")


def test_other_text_names_the_checkpoint(tmp_path, valid):
    corpus, raw = valid
    other = tmp_path / "other.txt"
    other.write_text(TEXT.upper(), encoding="utf-8")
    r, ckpt, out = _resume(tmp_path, other, raw)
    assert_one_line_error(r, str(ckpt))
    assert ckpt.read_bytes() == raw and out.read_bytes() == b"previous model"
