"""Seq2seq model files: the shapes they are checked against agree with built models, save -> load gives the
same translations, and damaged or hostile files are refused (one ModelFileError) before anything is built."""
from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.model_file_checks import build_bytes
from neural.seq2seq import load_seq2seq
from neural.seq2seq_data import SPECIALS
from neural.seq2seq_rnn import RNNSeq2Seq
from neural.seq2seq_transformer import TransformerSeq2Seq
from ngram.npzfile import load_npz, save_npz
from ngram.vocab import Vocabulary
from tests.neural.seq2seq_tiny import tiny_seq2seq
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import CharTokenizer

small = st.integers(1, 5)


@st.composite
def configs(draw):
    arch = draw(st.sampled_from(["transformer", "gru", "lstm"]))
    n_head = draw(small)
    return arch, dict(arch=arch, n_layer=draw(st.integers(1, 3)), n_head=n_head, n_embd=n_head * draw(small),
                      hidden_size=draw(small), max_source_len=draw(small), max_target_len=draw(small))


@settings(max_examples=30, deadline=None)
@given(arch_cfg=configs(), extra=st.integers(0, 5))
def test_param_shapes_are_the_shapes_of_a_built_model(arch_cfg, extra):
    arch, config = arch_cfg
    cls = TransformerSeq2Seq if arch == "transformer" else RNNSeq2Seq
    vocab = Vocabulary([*SPECIALS, *(chr(97 + i) for i in range(extra))])
    model = cls.from_config(config, vocab, CharTokenizer())
    assert cls.param_shapes(model.cfg) == {n: p.shape for n, p in model.named_parameters()}
    assert build_bytes(cls, model.cfg) >= 2 * model.num_parameters() * 4


@pytest.mark.parametrize("arch", ["transformer", "gru", "lstm"])
def test_save_load_translates_the_same(tmp_path, arch):
    model = tiny_seq2seq(arch, dtype=np.float32, jitter=0.5).eval()
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_seq2seq(path)
    for text in ("abc", "f", "fedcbaa"):
        assert loaded.translate(text, beam=2) == model.translate(text, beam=2)


def _rewrite(src, dst, meta_change=None, arrays_change=None):
    fmt = json.loads(str(np.load(src, allow_pickle=False)["__tkit_meta__"]))["format"]
    meta, arrays = load_npz(src, fmt)
    if meta_change:
        meta_change(meta)
    if arrays_change:
        arrays_change(arrays)
    save_npz(dst, arrays, meta)


HOSTILE = {"huge width": ("n_embd", 2**30), "huge layers": ("n_layer", 2**31 - 1), "zero heads": ("n_head", 0),
           "NaN dropout": ("dropout", math.nan), "unknown arch": ("arch", "cnn"), "huge source": ("max_source_len", 10**9),
           "string length": ("max_target_len", "64")}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_config_is_refused_before_allocation(tmp_path, kind):
    field, value = HOSTILE[kind]
    good = tmp_path / "good.npz"
    tiny_seq2seq("transformer", dtype=np.float32).save(good)
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, meta_change=lambda m: m["config"].__setitem__(field, value))
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=str(bad)):
            load_seq2seq(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_damaged_records_are_refused(tmp_path):
    good = tmp_path / "good.npz"
    tiny_seq2seq("gru", dtype=np.float32).save(good)
    cases = {
        "target tokenizer": lambda m: m.pop("target_tokenizer"),
        "specials": lambda m: m.__setitem__("vocab", list(reversed(m["vocab"]))),
    }
    for name, change in cases.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.npz"
        _rewrite(good, bad, meta_change=change)
        with pytest.raises(ModelFileError, match=str(bad)):
            load_seq2seq(bad)
    bad = tmp_path / "shape.npz"
    _rewrite(good, bad, arrays_change=lambda a: a.__setitem__("w:attn.v", np.zeros(3, dtype=np.float32)))
    with pytest.raises(ModelFileError, match="attn.v"):
        load_seq2seq(bad)
