"""The public Python API checks types and ranges at its boundary: a wrong type raises TypeError, a bad value
ArgumentError (a ValueError and a TkitError), each naming the argument; nothing answers wrongly instead.
Generated over the public calls and values of the wrong kind."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram import train_ngram
from ngram.decoding import SamplingConfig
from tests.ngram.ngram_helpers import FIXTURES
from tests.tokenizers_kit.trained import trained
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.errors import TkitError

NOT_TEXT = st.one_of(st.none(), st.binary(min_size=1, max_size=8), st.integers(), st.floats(allow_nan=True),
                     st.lists(st.integers(), min_size=1, max_size=3))
BAD_REAL = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.floats(max_value=-1e-9))


@pytest.fixture(scope="module")
def lm():
    return train_ngram(FIXTURES / "shakespeare_words.txt", order=3)


@pytest.fixture(scope="module")
def tok():
    return trained("bpe")


@settings(max_examples=40, deadline=None)
@given(value=NOT_TEXT)
def test_text_arguments_must_be_text(lm, tok, value):
    calls = (tok.encode, tok.encode_ids, lambda v: lm.generate(3, prompt=v), lm.perplexity,
             lambda v: tok.encode_batch([v]), lambda v: lm.score([v]), lambda v: lm.logprob(v))
    for call in calls:
        with pytest.raises(TypeError):
            call(value)


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(min_value=-(2**70), max_value=-1), min_size=1, max_size=4), data=st.data())
def test_negative_ids_never_wrap(lm, tok, ids, data):
    mixed = data.draw(st.permutations([*ids, 0, 1]))
    with pytest.raises(ValueError, match="non-negative"):
        tok.decode(mixed)
    with pytest.raises(ValueError, match="non-negative"):
        lm.vocab.decode(mixed)


def test_ids_past_the_vocabulary(lm, tok):
    assert tok.decode([10**12]) == ""  # skipped, as HF's decode does
    with pytest.raises(ArgumentError, match="outside the vocabulary"):
        lm.vocab.decode([len(lm.vocab)])
    with pytest.raises(TypeError):
        tok.decode([1.5])
    with pytest.raises(TypeError):
        tok.decode("1 2")


@settings(max_examples=40, deadline=None)
@given(temperature=BAD_REAL)
def test_sampling_settings_are_finite_and_in_range(temperature):
    with pytest.raises(ArgumentError, match="temperature"):
        SamplingConfig(10, temperature=temperature)
    with pytest.raises(ArgumentError, match="top_p"):
        SamplingConfig(10, top_p=abs(temperature) + 1.0 if math.isfinite(temperature) else temperature)
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, TkitError)


@pytest.mark.parametrize("kwargs, error", [
    ({"seed": -1}, ArgumentError), ({"seed": 1.5}, TypeError), ({"max_tokens": -1}, ArgumentError),
    ({"top_k": 0}, ArgumentError), ({"beam": 0}, ArgumentError), ({"top_p": 0.0}, ArgumentError),
])
def test_generate_settings(lm, kwargs, error):
    with pytest.raises(error):
        lm.generate(**{"max_tokens": 5, **kwargs})


def test_sequences_of_lines_are_checked(lm):
    with pytest.raises(TypeError, match="text"):
        lm.perplexity(["to be", 3])
    assert lm.perplexity(["to be", "or not"]) == pytest.approx(lm.perplexity("to be\nor not\n"))
    assert np.isfinite(lm.score(["to", "be"]))
