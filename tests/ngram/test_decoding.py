"""The shared decoding module, on a toy bigram model whose distributions we know exactly."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.decoding import (
    SamplingConfig,
    beam_search,
    ids_to_text,
    prompt_to_ids,
    sample_stream,
    sampling_distribution,
    top_next,
)
from tests.ngram.toy_models import random_bigram

WORDS = ["to", "be", "or", "not", "that", "is"]


@given(st.lists(st.floats(-20, 0), min_size=2, max_size=40), st.floats(0.1, 3.0),
       st.one_of(st.none(), st.integers(1, 40)), st.one_of(st.none(), st.floats(0.05, 1.0)))
@settings(max_examples=200, deadline=None)
def test_sampling_distribution_is_a_distribution(logits, temperature, top_k, top_p):
    probs = sampling_distribution(np.array(logits), temperature, top_k, top_p)
    assert math.isclose(math.fsum(probs), 1.0, rel_tol=1e-9)
    assert np.all(probs >= 0)
    if top_k is not None:  # ties with the k-th value are kept, as nanoGPT's `logits < v[-1]` does
        kth = np.sort(logits)[-min(top_k, len(logits))]
        assert np.count_nonzero(probs) <= np.count_nonzero(np.array(logits) >= kth)


def test_top_k_keeps_the_k_best_and_renormalises():
    logprobs = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    probs = sampling_distribution(logprobs, top_k=2)
    np.testing.assert_allclose(probs, [0, 0.4 / 0.7, 0, 0.3 / 0.7])


def test_top_p_keeps_the_smallest_nucleus():
    logprobs = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    probs = sampling_distribution(logprobs, top_p=0.65)  # 0.4 + 0.3 >= 0.65
    np.testing.assert_allclose(probs, [0, 0.4 / 0.7, 0, 0.3 / 0.7])


def test_temperature_zero_is_argmax_and_low_temperature_sharpens():
    logprobs = np.log(np.array([0.2, 0.5, 0.3]))
    assert sampling_distribution(logprobs, temperature=0).tolist() == [0, 1, 0]
    cold = sampling_distribution(logprobs, temperature=0.5)
    np.testing.assert_allclose(cold, np.array([0.04, 0.25, 0.09]) / 0.38)


def test_seeded_sampling_is_reproducible_and_follows_the_model():
    model = random_bigram(WORDS, seed=3)
    context = prompt_to_ids(model, "to be")
    config = SamplingConfig(max_tokens=4000)
    a = list(sample_stream(model, context, config, np.random.default_rng(7)))
    b = list(sample_stream(model, context, config, np.random.default_rng(7)))
    assert a == b
    # Empirical transition frequencies out of "be" match the table (a chi-by-eye bound on 4000 draws).
    seq = [*context, *a]
    be = model.vocab.index["be"]
    follows = [n for p, n in zip(seq, seq[1:]) if p == be]
    freq = np.bincount(follows, minlength=model.vocab_size) / len(follows)
    np.testing.assert_allclose(freq, np.exp(model.log_table[be]), atol=0.08)


def test_sentence_models_restart_after_end_of_sentence():
    model = random_bigram(WORDS, seed=1)
    ids = list(sample_stream(model, [model.vocab.bos_id], SamplingConfig(max_tokens=300),
                             np.random.default_rng(0)))
    eos = model.vocab.eos_id
    assert eos in ids
    text = ids_to_text(model, ids)
    assert text.count("\n") == ids.count(eos)
    assert "<s>" not in text and "</s>" not in text


def test_greedy_takes_the_argmax_each_step():
    model = random_bigram(WORDS, seed=2)
    ids = list(sample_stream(model, [model.vocab.bos_id], SamplingConfig(max_tokens=5, greedy=True),
                             np.random.default_rng(0)))
    prev = model.vocab.bos_id
    for token in ids:
        assert token == int(np.argmax(model.log_table[prev]))
        prev = model.vocab.bos_id if token == model.vocab.eos_id else token


def _exhaustive_best(model, context, length):
    best, best_ids = -math.inf, None
    v = model.vocab_size
    for seq in itertools.product(range(v), repeat=length):
        score, prev, ids = 0.0, context[-1], []
        for t in seq:
            score += model.log_table[prev, t]
            ids.append(t)
            prev = t
            if t == model.vocab.eos_id:
                break
        if ids == list(seq[: len(ids)]) and score > best:
            best, best_ids = score, ids
    return best, best_ids


def test_beam_search_with_a_wide_beam_finds_the_exact_best_sequence():
    model = random_bigram(["a", "b", "c"], seed=5)
    context = [model.vocab.bos_id]
    ids = beam_search(model, context, beam=model.vocab_size ** 3, max_tokens=3)
    best, _ = _exhaustive_best(model, context, 3)
    got = float(sum(model.log_table[p, t] for p, t in zip([*context, *ids], ids)))
    assert got == pytest.approx(best)
    assert beam_search(model, context, beam=4, max_tokens=3) == beam_search(model, context, beam=4, max_tokens=3)


def test_top_next_is_sorted_and_exact():
    model = random_bigram(WORDS, seed=4)
    ranked = top_next(model, prompt_to_ids(model, "not"), 3)
    probs = np.exp(model.log_table[model.vocab.index["not"]])
    expected = np.argsort(-probs, kind="stable")[:3]
    assert [i for i, _ in ranked] == expected.tolist()
    assert [p for _, p in ranked] == pytest.approx(probs[expected].tolist())
