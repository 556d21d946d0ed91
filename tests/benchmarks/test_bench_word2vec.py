"""word2vec, tkit (NumPy) vs gensim 4.4 (Cython) on data/shakespeare.txt, same run, same token lists and
settings: lowercase words ([a-z']+ per line, a line is a sentence), skip-gram, dim 100, window 5, 5 negatives,
min-count 5, sample 1e-3, 5 epochs; gensim with 2 workers, tkit with 1 and 2. Timed from the token lists to the
trained vectors (vocabulary building included on both sides).

Quality: the 10 nearest neighbours (cosine) of the words ranked 51-150 by frequency (the 50 most frequent are
function words: the, and, i, to, of, ...) overlap gensim's about as much as two gensim runs with different seeds
overlap each other.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_word2vec.py -o addopts="" -s
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from neural.word2vec import Word2VecConfig, corpus_from_sentences, train_corpus
from tests.benchmarks.common import peer, record

CORPUS = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
SETTINGS = {"dim": 100, "window": 5, "negative": 5, "min_count": 5, "sample": 1e-3, "epochs": 5}
RANKS = (50, 150)
TOP = 10


def sentences() -> list[list[str]]:
    text = CORPUS.read_text(encoding="utf-8").lower()
    return [words for line in text.split("\n") if (words := re.findall(r"[a-z']+", line))]


def neighbours(words: list[str], vectors: np.ndarray, queries: list[str]) -> dict[str, set[str]]:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = {w: i for i, w in enumerate(words)}
    out = {}
    for q in queries:
        sims = unit @ unit[index[q]]
        sims[index[q]] = -np.inf
        out[q] = {words[i] for i in np.argsort(-sims)[:TOP]}
    return out


def overlap(a: dict[str, set[str]], b: dict[str, set[str]]) -> float:
    return float(np.mean([len(a[q] & b[q]) / TOP for q in a]))


def gensim_run(sents: list[list[str]], seed: int) -> tuple[float, list[str], np.ndarray]:
    models = peer("gensim.models")
    start = time.perf_counter()
    model = models.Word2Vec(sents, vector_size=SETTINGS["dim"], window=SETTINGS["window"],
                            negative=SETTINGS["negative"], min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
                            epochs=SETTINGS["epochs"], sg=1, hs=0, workers=2, seed=seed)
    return time.perf_counter() - start, list(model.wv.index_to_key), model.wv.vectors


def tkit_run(sents: list[list[str]], seed: int, workers: int) -> tuple[float, list[str], np.ndarray]:
    start = time.perf_counter()
    corpus = corpus_from_sentences(sents, SETTINGS["min_count"])
    wv = train_corpus(corpus, Word2VecConfig(**SETTINGS, seed=seed, workers=workers))
    return time.perf_counter() - start, wv.words, wv.vectors


def test_word2vec_vs_gensim(benchmark):
    sents = sentences()
    g1_time, g_words, g1 = gensim_run(sents, seed=1)
    g2_time, g2_words, g2 = gensim_run(sents, seed=2)
    ours = {}
    ours[1] = tkit_run(sents, seed=1, workers=1)
    ours[2] = benchmark.pedantic(lambda: tkit_run(sents, seed=1, workers=2), rounds=1, iterations=1)
    queries = g_words[RANKS[0]:RANKS[1]]
    n_g1, n_g2 = neighbours(g_words, g1, queries), neighbours(g2_words, g2, queries)
    gensim_vs_gensim = overlap(n_g1, n_g2)
    tkit_vs_gensim = {w: (overlap(neighbours(ours[w][1], ours[w][2], queries), n_g1)
                          + overlap(neighbours(ours[w][1], ours[w][2], queries), n_g2)) / 2 for w in ours}
    gensim_seconds = min(g1_time, g2_time)
    record(benchmark, tokens=sum(map(len, sents)), vocabulary=len(g_words), gensim_seconds=gensim_seconds,
           tkit_seconds_1_worker=ours[1][0], tkit_seconds_2_workers=ours[2][0],
           overlap_gensim_gensim=gensim_vs_gensim, overlap_tkit_gensim_1_worker=tkit_vs_gensim[1],
           overlap_tkit_gensim_2_workers=tkit_vs_gensim[2])
    assert sorted(ours[1][1]) == sorted(g_words)          # the same vocabulary
    for w in ours:
        assert tkit_vs_gensim[w] >= 0.8 * gensim_vs_gensim, (w, tkit_vs_gensim[w], gensim_vs_gensim)
    assert min(ours[1][0], ours[2][0]) <= 2 * gensim_seconds
