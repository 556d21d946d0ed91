"""Shared evaluation: KenLM's perplexity definition, OOV counting, bits per byte."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ngram.evaluate import evaluate_files, score_sentences
from tests.ngram.toy_models import random_bigram


def test_perplexity_counts_end_of_sentence_and_oov(tmp_path):
    model = random_bigram(["to", "be", "or", "not"], seed=0)
    model.log_table[:, 0] = np.log(0.01)  # give <unk> some mass so an OOV is finite
    text = "to be or not\nto be zzz\n"
    path = tmp_path / "t.txt"
    path.write_text(text)
    report = evaluate_files(model, [str(path)])
    v = model.vocab.index
    expected = 0.0
    for sent in (["to", "be", "or", "not"], ["to", "be", "<unk>"]):
        ids = [v["<s>"], *[v[w] for w in sent], v["</s>"]]
        expected += sum(model.log_table[a, b] for a, b in zip(ids, ids[1:]))
    assert report.tokens == 5 + 4  # words + </s> per line, OOV included
    assert report.oov == 1
    assert report.logprob == pytest.approx(expected)
    assert report.perplexity == pytest.approx(10 ** (-(expected / math.log(10)) / 9))
    assert report.bits_per_byte == pytest.approx(-expected / math.log(2) / len(text.encode()))
    lines = list(score_sentences(model, ["to be or not", "to be zzz"]))
    assert [s.tokens for s in lines] == [5, 4] and [s.oov for s in lines] == [0, 1]


def test_zero_probability_reports_null_perplexity(tmp_path):
    model = random_bigram(["a", "b"], seed=0)  # <unk> has probability 0
    path = tmp_path / "t.txt"
    path.write_text("a q\n")
    d = evaluate_files(model, [str(path)]).to_dict()
    assert d["perplexity"] is None and d["oov"] == 1
