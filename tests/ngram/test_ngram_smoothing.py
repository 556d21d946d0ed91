"""Smoothing methods: normalised ones sum to 1 over the vocabulary for any context; hand-checked values;
sequence scoring agrees with next-token distributions; pruning follows KenLM's rules."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngram import NgramModel
from ngram.pruning import thresholds
from ngram.smoothing import NAMES, SMOOTHINGS, make_smoothing
from tokenizers_kit.errors import TkitError

NORMALISED = [name for name in NAMES if SMOOTHINGS[name].normalised]
PARAMS = {"add-k": {"k": 0.5}, "kneser-ney": {}, "stupid-backoff": {}}

corpora = st.lists(st.lists(st.sampled_from("abcde"), min_size=0, max_size=7), min_size=1, max_size=6)


@pytest.mark.parametrize("smoothing", NORMALISED)
@given(sentences=corpora, order=st.integers(1, 4), data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_next_token_distribution_sums_to_one(smoothing, sentences, order, data):
    model = NgramModel.fit(sentences, order=order, smoothing=smoothing, **PARAMS.get(smoothing, {}))
    v = len(model.vocab)
    context = [1] + data.draw(st.lists(st.integers(0, v - 1).filter(lambda i: i != 1), max_size=5))
    probs = np.exp(model.next_logprobs(context))
    assert math.fsum(probs.tolist()) == pytest.approx(1.0, abs=1e-9)
    assert probs[1] == 0.0  # <s> is never predicted
    if smoothing != "mle" and not has_zero_discount(model):
        assert np.all(probs[np.arange(v) != 1] > 0)


def has_zero_discount(model: NgramModel) -> bool:
    """lmplz accepts a closed-form discount of exactly 0 (e.g. D2 when no n-gram has adjusted count 3);
    a context whose every continuation falls in that class then leaves nothing for unseen words, so
    modified Kneser-Ney gives them probability 0 exactly as KenLM does (test_zero_discount_matches_lmplz)."""
    discounts = model.info.get("discounts", {})
    return any(d == 0 for ds in discounts.values() for d in np.atleast_1d(ds))


@pytest.mark.parametrize("smoothing", NAMES)
@given(sentences=corpora, order=st.integers(1, 4))
@settings(max_examples=15, deadline=None)
def test_sequence_scores_agree_with_next_token_distributions(smoothing, sentences, order):
    model = NgramModel.fit(sentences, order=order, smoothing=smoothing, **PARAMS.get(smoothing, {}))
    words = [0, *range(3, len(model.vocab))]
    ids = np.array([1, *(words[i % len(words)] for i in (1, 2, 0, 1, 1)), 2], dtype=np.int64)
    seq = model.sequence_logprobs(ids)
    step = np.array([model.next_logprobs(ids[:i])[ids[i]] for i in range(1, len(ids))])
    assert np.array_equal(np.isinf(seq), np.isinf(step))
    finite = np.isfinite(step)
    assert np.allclose(seq[finite], step[finite], atol=1e-9)
    state = model.start(ids[:3])
    state = model.advance(state, int(ids[3]))
    assert np.allclose(state.logprobs, model.next_logprobs(ids[:4]), equal_nan=True)


TEXT = [["a", "b", "a"], ["b", "b"], ["a"]]


def test_mle_relative_frequencies():
    model = NgramModel.fit(TEXT, order=2, smoothing="mle")
    # unigram counts of predicted tokens: a 3, b 3, </s> 3 -> 9
    assert model.logprob("a", base=math.e) == pytest.approx(math.log(3 / 9))
    assert model.logprob("b", ["a"]) == pytest.approx(math.log10(1 / 3))  # a -> b, </s>, </s>
    assert model.logprob("a", ["a"]) == -math.inf  # seen context, unseen word
    assert model.logprob("a", ["<unk>"]) == pytest.approx(math.log10(3 / 9))  # unseen context backs off


def test_add_k_laplace_and_zero_is_mle():
    laplace = NgramModel.fit(TEXT, order=2, smoothing="add-k")
    v = 5 - 1  # <unk> a b </s> (no <s>)
    assert laplace.logprob("b", ["a"], base=math.e) == pytest.approx(math.log((1 + 1) / (3 + v)))
    assert laplace.logprob("<unk>", ["b"], base=math.e) == pytest.approx(math.log(1 / (3 + v)))
    zero = NgramModel.fit(TEXT, order=3, smoothing="add-k", k=0)
    mle = NgramModel.fit(TEXT, order=3, smoothing="mle")
    for ctx in ([1], [1, 3], [3, 4], [4, 4], [0]):
        assert np.allclose(zero.next_logprobs(ctx), mle.next_logprobs(ctx))


def test_witten_bell_value():
    model = NgramModel.fit(TEXT, order=2, smoothing="witten-bell")
    # after "a": a->b, a-></s>, a-></s>: c=3, T=2. Unigrams: c(a)=c(b)=c(</s>)=3, N=9, T=3, |V|=4
    p_uni_b = (3 + 3 / 4) / (9 + 3)
    assert model.logprob("b", ["a"], base=math.e) == pytest.approx(math.log((1 + 2 * p_uni_b) / (3 + 2)))


def test_kneser_ney_single_discount_and_stupid_backoff_scores():
    kn = NgramModel.fit(TEXT, order=2, smoothing="kneser-ney", discount=0.5)
    assert kn.info["discounts"] == {1: 0.5, 2: 0.5}
    sb = NgramModel.fit(TEXT, order=2, smoothing="stupid-backoff", alpha=0.4)
    assert sb.logprob("a", ["a"], base=math.e) == pytest.approx(math.log(0.4 * 3 / 9))
    assert not sb.normalised
    total = math.fsum(np.exp(sb.next_logprobs([1, 3])).tolist())
    assert total > 1.0  # a score, not a probability


def test_modified_kneser_ney_strict_and_custom_fallback():
    with pytest.raises(TkitError, match="discount"):
        NgramModel.fit(TEXT, order=2, strict=True)
    model = NgramModel.fit(TEXT, order=2, discount_fallback=(0.4, 0.8, 1.2))
    assert model.info["discounts"][1] == [0.4, 0.8, 1.2]
    with pytest.raises(TkitError):
        make_smoothing("modified-kneser-ney", discount_fallback=(0.5, 3, 1))
    with pytest.raises(TkitError, match="does not apply"):
        make_smoothing("witten-bell", k=2)


def test_pruning_kenlm_semantics():
    sentences = [list("abcab"), list("abcd"), list("abd"), list("bcd")] * 3 + [list("ddd")]
    full = NgramModel.fit(sentences, order=3)
    pruned = NgramModel.fit(sentences, order=3, prune=[0, 3, 3])
    sizes, psizes = full.ngram_counts(), pruned.ngram_counts()
    assert psizes[0] == sizes[0] and psizes[1] < sizes[1] and psizes[2] < sizes[2]
    for ctx in ([1], [1, 3], [3, 4], [6, 6]):
        assert math.fsum(np.exp(pruned.next_logprobs(ctx)).tolist()) == pytest.approx(1.0, abs=1e-9)
    assert thresholds([0, 1], 4) == [0, 1, 1, 1]
    assert thresholds([0, 0], 3) is None
    for bad in ([1, 1], [0, 2, 1], [0, -1]):
        with pytest.raises(TkitError):
            thresholds(bad, 3)


@pytest.mark.parametrize("smoothing", ["witten-bell", "mle", "add-k", "stupid-backoff"])
def test_other_methods_prune_by_renormalising(smoothing):
    sentences = [list("abcab"), list("abcd"), list("abd")] * 2
    model = NgramModel.fit(sentences, order=3, smoothing=smoothing, prune=[0, 2])
    assert model.ngram_counts()[1] < NgramModel.fit(sentences, order=3, smoothing=smoothing).ngram_counts()[1]
    if SMOOTHINGS[smoothing].normalised:
        assert math.fsum(np.exp(model.next_logprobs([1, 3])).tolist()) == pytest.approx(1.0, abs=1e-9)


def test_high_orders_work():
    sentences = [list("the quick brown fox jumps over the lazy dog")] * 3
    model = NgramModel.fit(sentences, order=9)
    assert model.order == 9 and model.ngram_counts()[8] > 0
    assert math.fsum(np.exp(model.next_logprobs([1])).tolist()) == pytest.approx(1.0)
    assert model.score(list("the quick brown fox")) < 0
