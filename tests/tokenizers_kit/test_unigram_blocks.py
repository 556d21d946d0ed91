"""The Unigram E-step and Viterbi pass in blocks of segments equal the whole-corpus lattice's.

Corpora are generated (hypothesis): words from a small alphabet with spaces, Zipf-like repeats, some long
segments (past the float32 limit, so the E-step's float type must come from the whole corpus, not the block)
and a tiny block size forcing many blocks. Checked: every block plan covers each segment once; expected
counts agree to float64 rounding (every node's posterior is the same; only the order in which the blocks'
sums are added differs) and Viterbi counts exactly; the trainer's vocabulary (pieces, ids, order) is the same
and its scores agree to that rounding.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenizers_kit.errors import TkitError
from tokenizers_kit.trainers.unigram import (
    BLOCK_NODES,
    MIN_BLOCK_NODES,
    UnigramTrainer,
    block_nodes_for,
    split_segments,
)
from tokenizers_kit.unigram_lattice import (
    FLOAT32_MAX_LENGTH,
    BlockedLattice,
    CorpusLattice,
    plan_blocks,
)
from tokenizers_kit.unigram_seeds import find_seeds, pack_segments

ONE_BLOCK = 1 << 62

words = st.text(alphabet="abcde▁xy", min_size=1, max_size=12)
corpora = st.dictionaries(words, st.integers(1, 50), min_size=3, max_size=60)


def _with_long(corpus: dict[str, int], long: bool) -> dict[str, int]:
    if long:  # one segment past the float32 limit: the whole corpus runs the E-step in float64
        corpus = {**corpus, "ab" * (FLOAT32_MAX_LENGTH // 2 + 3): 2}
    return corpus


def _lattice_inputs(corpus: dict[str, int]):
    seg = split_segments(corpus, 2048)
    segments = sorted(seg)
    packed = pack_segments(segments, np.array([seg[s] for s in segments], dtype=np.float64))
    seeds = find_seeds(packed, max_len=8, seed_size=500, min_seeds=40)
    return packed, seeds


def _random_scores(seeds, rng: np.random.Generator) -> np.ndarray:
    score = seeds.log_prob + rng.normal(0, 0.5, len(seeds.log_prob))
    dead = rng.random(len(score)) < 0.3
    dead[: (seeds.length == 1).sum()] = False  # characters stay: every segment keeps a path
    return np.where(dead, -np.inf, score)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, long=st.booleans(), block_nodes=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_blocked_passes_equal_the_whole_lattice(corpus, long, block_nodes, seed) -> None:
    packed, seeds = _lattice_inputs(_with_long(corpus, long))
    whole = CorpusLattice(packed.begin, packed.length, packed.count, seeds.table)
    blocked = BlockedLattice(packed.begin, packed.length, packed.count, seeds.table, block_nodes)
    plan = plan_blocks(packed.begin, packed.length, seeds.table, block_nodes)
    assert np.array_equal(np.sort(np.concatenate(plan)), np.arange(len(packed.begin)))  # each segment once
    assert len(blocked.blocks) == len(plan) and blocked.n_nodes == whole.n_nodes
    score = _random_scores(seeds, np.random.default_rng(seed))
    e_whole, obj_whole = whole.expected_counts(score)
    e_blocked, obj_blocked = blocked.expected_counts(score)
    np.testing.assert_allclose(e_blocked, e_whole, rtol=1e-12, atol=1e-12)
    assert obj_blocked == pytest.approx(obj_whole, rel=1e-12)
    assert np.array_equal(blocked.viterbi_counts(score), whole.viterbi_counts(score))  # integer sums: exact
    alive = np.isfinite(score)
    whole.keep(alive)
    blocked.keep(alive)
    np.testing.assert_allclose(blocked.expected_counts(score)[0], whole.expected_counts(score)[0], rtol=1e-12,
                               atol=1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, long=st.booleans(), block_nodes=st.integers(1, 64))
def test_trainer_in_blocks_gives_the_same_vocabulary(corpus, long, block_nodes) -> None:
    corpus = _with_long(corpus, long)
    size = 40
    try:
        whole = UnigramTrainer(size, block_nodes=ONE_BLOCK).train(corpus)
    except TkitError:  # alphabet larger than the vocabulary: nothing to compare
        return
    trainer = UnigramTrainer(size, block_nodes=block_nodes)
    blocked = trainer.train(corpus)
    assert [p for p, _ in blocked.vocab] == [p for p, _ in whole.vocab]
    np.testing.assert_allclose([s for _, s in blocked.vocab], [s for _, s in whole.vocab], rtol=1e-12)


def test_the_block_size_follows_the_memory_budget() -> None:
    assert block_nodes_for(None) == BLOCK_NODES
    assert block_nodes_for(1 << 40) == BLOCK_NODES
    assert block_nodes_for(1) == MIN_BLOCK_NODES
    small, large = block_nodes_for(32 << 20), block_nodes_for(64 << 20)
    assert MIN_BLOCK_NODES <= small < large <= BLOCK_NODES
    assert UnigramTrainer(10, memory=32 << 20).block_nodes == small


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_bad_block_size_is_a_clear_error(bad) -> None:
    with pytest.raises(TkitError, match="block_nodes"):
        UnigramTrainer(10, block_nodes=bad)
