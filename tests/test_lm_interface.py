"""Every language model answers the same calls (`generate`, `score`, `evaluate`, `perplexity`), defined once
in `ngram.lm.LanguageModel`: checked here on an n-gram model and a neural one by what the numbers must be."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ngram import train_ngram
from ngram.evaluate import evaluate_files
from tests.neural.tiny import tiny_transformer
from tests.ngram.ngram_helpers import FIXTURES

TEXT = "abc\ncab\ngfedcba\n"


@pytest.fixture(scope="module")
def ngram_model():
    return train_ngram(FIXTURES / "shakespeare_words.txt", order=3)


def test_neural_score_is_the_sum_of_its_next_token_logprobs():
    model = tiny_transformer(dtype=np.float64, block_size=32)  # the whole text in one window
    ids = model.encode_text(TEXT)
    by_hand = sum(model.next_logprobs(ids[:i])[ids[i]] for i in range(1, len(ids)))
    assert model.score(TEXT) == pytest.approx(by_hand / math.log(10), rel=1e-9)


def test_neural_perplexity_matches_tkit_eval(tmp_path):
    model = tiny_transformer(dtype=np.float64)
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    report = evaluate_files(model, [str(path)])
    assert model.perplexity(TEXT) == pytest.approx(report.perplexity, rel=1e-12)
    assert model.perplexity(TEXT.splitlines()) == pytest.approx(report.perplexity, rel=1e-12)  # lines also do
    n = len(model.encode_text(TEXT)) - 1
    assert model.perplexity(TEXT) == pytest.approx(10 ** (-model.score(TEXT) / n), rel=1e-9)


@pytest.mark.parametrize("kind", ["ngram", "neural"])
def test_generate_is_seeded_text(kind, ngram_model):
    model = ngram_model if kind == "ngram" else tiny_transformer(dtype=np.float32)
    a = model.generate(30, prompt="", seed=3)
    assert isinstance(a, str) and a == model.generate(30, seed=3)
    assert a != model.generate(30, seed=4) or a != model.generate(30, seed=5)
    greedy = model.generate(10, prompt="a", temperature=0)
    assert greedy == model.generate(10, prompt="a", temperature=0, seed=99)  # greedy ignores the seed
    assert model.generate(8, prompt="a", beam=2) == model.generate(8, prompt="a", beam=2)


def test_ngram_keeps_kenlm_semantics(ngram_model):
    line = "to be or not to be"
    assert ngram_model.score(line) == pytest.approx(float(np.sum(ngram_model.word_scores(line))))
    n = len(line.split()) + 1
    assert ngram_model.perplexity(line) == pytest.approx(10 ** (-ngram_model.score(line) / n))


@pytest.mark.parametrize("bad", [None, b"to be", 3, ["to", None]])
def test_wrong_types_are_refused(bad, ngram_model):
    model = tiny_transformer()
    with pytest.raises(TypeError):
        model.score(bad)
    if not isinstance(bad, list):
        with pytest.raises(TypeError):
            model.perplexity(bad)
        with pytest.raises(TypeError):
            model.generate(5, prompt=bad)
