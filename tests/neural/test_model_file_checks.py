"""The shape description a model file is checked against agrees with real models, and hostile configs are
refused before anything is built."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.config_checks import config_problems
from neural.model_file_checks import build_bytes, check_arrays
from neural.rnn_lm import RNNLanguageModel
from neural.transformer import TransformerLM
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import CharTokenizer

small = st.integers(1, 6)


@st.composite
def transformer_configs(draw):
    n_head = draw(small)
    return dict(n_layer=draw(st.integers(1, 3)), n_head=n_head, n_embd=n_head * draw(small),
                block_size=draw(small), bias=draw(st.booleans()),
                positional=draw(st.sampled_from(["learned", "sinusoidal"])))


@st.composite
def rnn_configs(draw):
    return dict(cell=draw(st.sampled_from(["elman", "gru", "lstm"])), embedding_size=draw(small),
                hidden_size=draw(small), n_layer=draw(st.integers(1, 3)))


def _real_shapes(model) -> dict:
    return {name: p.shape for name, p in model.named_parameters()}


@settings(max_examples=40, deadline=None)
@given(cls_cfg=st.one_of(st.tuples(st.just(TransformerLM), transformer_configs()),
                         st.tuples(st.just(RNNLanguageModel), rnn_configs())),
       vocab_size=st.integers(1, 9))
def test_param_shapes_are_the_shapes_of_a_built_model(cls_cfg, vocab_size):
    cls, config = cls_cfg
    model = cls.from_config(config, Vocabulary([chr(97 + i) for i in range(vocab_size)]), CharTokenizer())
    assert cls.param_shapes(model.cfg) == _real_shapes(model)
    params = sum(p.size for p in model.parameters())
    assert build_bytes(cls, model.cfg) >= 2 * params * 4


BAD_VALUES = {"a string": "64", "a float": 64.0, "null": None, "a list": [64], "true": True, "zero": 0,
              "negative": -3, "huge": 10**40, "NaN": math.nan}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("cls,field", [(TransformerLM, "n_head"), (TransformerLM, "n_embd"),
                                       (TransformerLM, "block_size"), (TransformerLM, "n_layer"),
                                       (RNNLanguageModel, "hidden_size"), (RNNLanguageModel, "embedding_size"),
                                       (RNNLanguageModel, "n_layer"), (RNNLanguageModel, "block_size")])
def test_a_bad_size_field_is_named(cls, field, kind):
    problems = config_problems(cls.Config, {field: BAD_VALUES[kind]})
    assert problems and field in problems[0]


@pytest.mark.parametrize("raw", [{"dropout": 1.0}, {"dropout": math.inf}, {"dropout": "0"}, {"seed": -1},
                                 {"positional": "rotary"}, {"bias": 1}, {"n_embd": 10, "n_head": 4}])
def test_other_transformer_fields(raw):
    assert config_problems(TransformerLM.Config, raw)


def test_a_sound_config_has_no_problems():
    assert config_problems(TransformerLM.Config, {"n_embd": 8, "n_head": 2, "dropout": 0.5}) == []
    assert config_problems(RNNLanguageModel.Config, {"cell": "gru", "forget_bias": -1.5}) == []
    assert config_problems(RNNLanguageModel.Config, "lstm")


def test_check_arrays_names_each_kind_of_problem():
    shapes = {"a": (2, 3)}
    good = np.zeros((2, 3), np.float32)
    check_arrays(shapes, {"a": good})
    for arrays, fragment in [({}, "lacks"), ({"a": good, "b": good}, "unexpected"),
                             ({"a": good.astype(np.int32)}, "dtype"), ({"a": good.astype(object)}, "dtype"),
                             ({"a": good.ravel()}, "shape"), ({"a": good[None]}, "shape"),
                             ({"a": np.full((2, 3), np.nan, np.float32)}, "NaN"),
                             ({"a": np.full((2, 3), np.inf, np.float16)}, "NaN")]:
        with pytest.raises(ModelFileError, match=fragment):
            check_arrays(shapes, arrays)
