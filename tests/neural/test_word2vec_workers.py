"""The word2vec worker processes: they write into the shared tables, their progress adds up, a failing worker
becomes one TkitError line, and a two-worker training learns what a one-worker training learns."""
from __future__ import annotations

import numpy as np
import pytest

from neural.word2vec import Word2VecConfig, corpus_from_sentences, train_corpus
from neural.word2vec_workers import run_workers, shared_tables
from tests.neural.test_word2vec_kernel import _topic_corpus
from tokenizers_kit.errors import TkitError


def test_workers_share_tables_and_report_progress():
    table = shared_tables(1, (3, 4))[0]
    seen = []

    def work(rank, tell):
        table[rank] += rank + 1
        tell(rank + 1)

    run_workers(work, 3, seen.append)
    np.testing.assert_array_equal(table[:, 0], [1, 2, 3])
    assert sum(seen) == 6


def test_a_failing_worker_is_one_error_line():
    def work(rank, tell):
        if rank == 1:
            raise ValueError("boom")

    with pytest.raises(TkitError, match="worker process failed") as err:
        run_workers(work, 2, lambda n: None)
    assert "\n" not in str(err.value)


def test_two_workers_learn_the_topics():
    corpus = corpus_from_sentences(_topic_corpus(), min_count=1)
    wv = train_corpus(corpus, Word2VecConfig(dim=16, epochs=3, sample=0, seed=3, workers=2))
    sims = wv.unit() @ wv.unit().T
    np.fill_diagonal(sims, -np.inf)
    topic = np.array([w[0] for w in wv.words])
    assert (topic[sims.argmax(axis=1)] == topic).mean() > 0.95
