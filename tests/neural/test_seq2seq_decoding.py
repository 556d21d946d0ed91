"""Cached decoding equals the teacher-forced forward pass; beam search with an end token and a length
penalty (the shared one, `ngram.decoding.beam_search`) finds what an exhaustive search finds."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.module import no_grad
from neural.seq2seq import SourceDecoder
from neural.seq2seq_data import BOS_ID, EOS_ID, PAD_ID
from ngram.decoding import beam_search
from ngram.lm import DecodeState
from tests.neural.seq2seq_tiny import VOCAB, padded_batch, tiny_seq2seq

ARCHS = ["transformer", "gru", "lstm"]


def _teacher_forced_logprobs(model, src, tin):
    """log p(. | src, tin[:t]) for every t, from the training forward pass (its saved softmax)."""
    tgt = np.concatenate([tin, np.full((1, 1), EOS_ID)], axis=1)   # every position is a real target
    model.loss(src, tgt)
    probs = next(a for a in model._last if isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] == len(VOCAB))
    probs = probs.copy()
    model.clear_caches()
    return np.log(probs)


@pytest.mark.parametrize("arch", ARCHS)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_cached_steps_equal_the_full_forward(arch, seed):
    model = tiny_seq2seq(arch, seed=seed % 5).eval()
    src, tgt = padded_batch(np.random.default_rng(seed), 1)
    src = src[:, :np.count_nonzero(src[0] != PAD_ID)]
    tin = tgt[:, :np.count_nonzero(tgt[0] != PAD_ID) - 1]
    full = _teacher_forced_logprobs(model, src, tin)
    with no_grad():
        decoder = SourceDecoder(model, src)
        state = decoder.start([BOS_ID])
        steps = [state.logprobs]
        for token in tin[0, 1:]:
            state = decoder.advance(state, int(token))
            steps.append(state.logprobs)
    stepped = np.array(steps)
    real = np.isfinite(stepped)            # <pad> and <s> are never emitted by the decoder
    full_renorm = full - np.log(np.exp(full + np.where(real, 0, -np.inf)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(stepped[real], full_renorm[real], atol=1e-9)


class TableModel:
    """A toy decoder: next-token log-probabilities from a fixed random table indexed by the last token."""

    sentence_mode = False

    def __init__(self, rng, v=5):
        self.vocab = VOCAB
        logits = rng.standard_normal((v, v)) * 2
        self.table = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def start(self, context):
        return DecodeState(tuple(context), self.table[context[-1]])

    def advance(self, state, token):
        return DecodeState((*state.ids, token), self.table[token])


def _exhaustive(model, max_tokens, eos, alpha):
    """Best sequence over all sequences up to max_tokens (ended by eos or by the limit)."""
    v = model.table.shape[0]
    best = None
    for n in range(1, max_tokens + 1):
        for seq in itertools.product(range(v), repeat=n):
            if eos in seq[:-1]:
                continue
            ids, score = [0, *seq], 0.0
            score = sum(model.table[a, b] for a, b in zip(ids, ids[1:]))
            if seq[-1] != eos and n < max_tokens:
                continue
            key = (-score / ((5 + n) / 6) ** alpha, list(seq))
            best = key if best is None or key < best else best
    return best[1]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), alpha=st.sampled_from([0.0, 0.6, 1.5]), max_tokens=st.integers(1, 4))
def test_a_full_width_beam_finds_the_exhaustive_best_with_eos_and_length_penalty(seed, alpha, max_tokens):
    model = TableModel(np.random.default_rng(seed))
    eos = 2
    beam = model.table.shape[0] ** max_tokens   # wide enough to keep every prefix
    got = beam_search(model, [0], beam, max_tokens, eos=eos, length_penalty=alpha)
    assert got == _exhaustive(model, max_tokens, eos, alpha)


def test_a_length_penalty_can_prefer_a_longer_output():
    """Two finished outputs: a short one with a slightly better total, a longer one with a better mean."""
    table = np.log(np.array([[0.01, 0.01, 0.50, 0.47, 0.01],
                             [0.2, 0.2, 0.2, 0.2, 0.2],
                             [0.2, 0.2, 0.2, 0.2, 0.2],
                             [0.01, 0.01, 0.96, 0.01, 0.01],
                             [0.2, 0.2, 0.2, 0.2, 0.2]]))
    model = TableModel(np.random.default_rng(0))
    model.table = table
    assert beam_search(model, [0], 4, 3, eos=2) == [2]
    assert beam_search(model, [0], 4, 3, eos=2, length_penalty=2.0) == [3, 2]


def test_beam_one_is_greedy_on_a_trained_free_model():
    model = tiny_seq2seq("gru", seed=3).eval()
    src = np.array([4, 5, 6])
    with no_grad():
        decoder = SourceDecoder(model, src[None])
        state, greedy = decoder.start([BOS_ID]), []
        for _ in range(model.cfg.max_target_len + 1):   # a longest output, then </s>
            token = int(np.argmax(state.logprobs))
            greedy.append(token)
            if token == EOS_ID:
                break
            state = decoder.advance(state, token)
    assert model.translate_ids(src, beam=1) == [t for t in greedy if t != EOS_ID][:model.cfg.max_target_len]
