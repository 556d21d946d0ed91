"""The batched word2vec kernel equals its pair-at-a-time twin, and the pieces around it (windows, subsampling,
negatives, learning rate) do what word2vec.c / gensim do. Cases are generated: vocabulary sizes, windows,
masks, negatives that hit the center, repeated words within a batch."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.word2vec import (
    Word2VecConfig,
    corpus_from_sentences,
    learning_rate,
    train_corpus,
)
from neural.word2vec_kernel import (
    Batch,
    cbow_update,
    make_batch,
    skipgram_update,
    window_offsets,
)
from neural.word2vec_reference import cbow_reference, skipgram_reference
from neural.word2vec_vocab import draw_negatives, keep_probabilities, noise_cdf


@st.composite
def batches(draw) -> tuple[np.ndarray, np.ndarray, Batch, float]:
    vocab = draw(st.integers(2, 12))
    dim = draw(st.integers(1, 6))
    n = draw(st.integers(1, 6))
    width = 2 * draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    w_in = rng.normal(0, 0.5, (vocab, dim))
    w_out = rng.normal(0, 0.5, (vocab, dim))
    mask = rng.random((n, width)) < 0.7
    group = draw(st.integers(1, 4))
    negatives = np.repeat(rng.integers(0, vocab, (-(-n // group), k)), group, axis=0)[:n]
    batch = Batch(rng.integers(0, vocab, n + width), mask, negatives, group)
    return w_in, w_out, batch, draw(st.floats(0.001, 0.5))


@settings(max_examples=60, deadline=None)
@given(case=batches(), cbow=st.booleans())
def test_batched_update_equals_the_pair_by_pair_twin(case, cbow):
    w_in, w_out, batch, lr = case
    reference = cbow_reference if cbow else skipgram_reference
    want_in, want_out = reference(w_in, w_out, batch, lr)
    got_in, got_out = w_in.copy(), w_out.copy()
    (cbow_update if cbow else skipgram_update)(got_in, got_out, batch, lr)
    np.testing.assert_allclose(got_in, want_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=6), window=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_windows_stay_inside_their_sentence_and_reach(lengths, window, seed):
    sentence = np.repeat(np.arange(len(lengths)), lengths)
    ids = np.arange(len(sentence))            # each position its own word, so contexts name positions
    rng = np.random.default_rng(seed)
    batch = make_batch(ids, sentence, 0, len(ids), window, np.zeros((len(ids), 1), np.int64), rng)
    offsets = window_offsets(window)
    for i in range(len(ids)):
        got = set(batch.contexts[i][batch.mask[i]].tolist())
        reach = int(np.abs(offsets[batch.mask[i]]).max()) if got else 0
        assert reach <= window
        assert all(sentence[j] == sentence[i] and j != i for j in got)
        if reach:  # a dynamic window takes every position of the sentence within its width
            want = {i + o for o in offsets if abs(o) <= reach and 0 <= i + o < len(ids) and sentence[i + o] == sentence[i]}
            assert got == want


@settings(max_examples=30, deadline=None)
@given(counts=st.lists(st.integers(1, 10**6), min_size=1, max_size=30), sample=st.sampled_from([0, 1e-5, 1e-3, 0.1]))
def test_keep_probability_is_gensims_formula(counts, sample):
    c = np.array(counts)
    got = keep_probabilities(c, sample)
    for count, p in zip(counts, got):
        if sample == 0:
            assert p == 1
            continue
        t = sample * sum(counts)
        assert abs(p - min(1.0, ((count / t) ** 0.5 + 1) * t / count)) < 1e-12


def test_negatives_follow_the_unigram_075_distribution():
    counts = np.array([1000, 100, 10, 1])
    rng = np.random.default_rng(0)
    drawn = draw_negatives(noise_cdf(counts), (200_000,), rng)
    want = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / drawn.size, want, atol=0.005)


def test_learning_rate_decays_linearly():
    cfg = Word2VecConfig(alpha=0.05, min_alpha=0.001)
    assert learning_rate(cfg, 0.0) == 0.05
    assert abs(learning_rate(cfg, 0.5) - 0.0255) < 1e-12
    assert abs(learning_rate(cfg, 1.0) - 0.001) < 1e-15


def _topic_corpus(seed: int = 0) -> list[list[str]]:
    """Two topics that never share a sentence: words should end nearer their own topic."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(40)], [f"b{i}" for i in range(40)]]
    return [list(rng.choice(topics[n % 2], size=8)) for n in range(800)]


def test_training_separates_topics_and_repeats_from_its_seed():
    corpus = corpus_from_sentences(_topic_corpus(), min_count=1)
    for cbow in (False, True):
        cfg = Word2VecConfig(dim=16, epochs=3, cbow=cbow, sample=0, seed=3)
        wv = train_corpus(corpus, cfg)
        sims = wv.unit() @ wv.unit().T
        topic = np.array([w[0] for w in wv.words])
        np.fill_diagonal(sims, -np.inf)
        assert (topic[sims.argmax(axis=1)] == topic).all(), cbow   # every nearest neighbour from its own topic
        same = sims[np.equal.outer(topic, topic) & np.isfinite(sims)].mean()
        assert same > sims[~np.equal.outer(topic, topic)].mean() + 0.05, cbow
        np.testing.assert_array_equal(wv.vectors, train_corpus(corpus, cfg).vectors)
