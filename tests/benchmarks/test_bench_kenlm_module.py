"""ngram.kenlm against the real `kenlm` module, same files, same sentences, same run (issue 15): `score` over the
held-out test set, `BaseScore` in a Python loop (pyctcdecode's pattern), and opening a binary. ngram.kenlm
memoises state transitions, so each figure is taken warm (best of 3 passes over the same text, as a decoder
re-queries the same contexts) and cold (first pass on a freshly opened model, each module alike). The binaries are
the order-5 fixture model written by `tkit build-binary probing` and `tkit build-binary trie` (the same bytes as
KenLM's build_binary trie)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import ngram.kenlm as ours
from tests.benchmarks.common import best_of, peer, record
from tests.cli.clirunner import run_tkit

ROOT = Path(__file__).resolve().parents[2]
ARPA = ROOT / "tests" / "fixtures" / "kenlm" / "shakespeare_words.o5.arpa.gz"
TEXT = (ROOT / "tests" / "fixtures" / "kenlm" / "shakespeare_words.test.txt").read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def binaries(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("kenlm")
    out = {kind: d / f"m.{kind}" for kind in ("probing", "trie")}
    for kind, path in out.items():
        assert run_tkit("build-binary", kind, str(ARPA), str(path)).code == 0
    return out


def _score_all(model) -> float:
    return sum(model.score(line) for line in TEXT)


def _base_loop(module, model) -> int:
    n = 0
    for line in TEXT:
        state, out = module.State(), module.State()
        model.BeginSentenceWrite(state)
        for word in line.split():
            model.BaseScore(state, word, out)
            state, out = out, state
            n += 1
    return n


@pytest.mark.parametrize("kind", ["probing", "trie"])
def test_kenlm_module(benchmark, binaries, kind):
    kenlm = peer("kenlm")
    path = str(binaries[kind])
    mine, real = ours.Model(path), kenlm.Model(path)
    words = sum(len(line.split()) + 1 for line in TEXT)
    ours_score = benchmark.pedantic(_score_all, args=(mine,), rounds=3, warmup_rounds=1)
    real_s, real_score = best_of(3, lambda: _score_all(real))
    ours_s = benchmark.stats.stats.min
    ours_base, n = best_of(3, lambda: _base_loop(ours, mine))
    real_base, _ = best_of(3, lambda: _base_loop(kenlm, real))
    ours_open = min(_timed(lambda: ours.Model(path)) for _ in range(5))
    real_open = min(_timed(lambda: kenlm.Model(path)) for _ in range(5))
    fresh_ours, fresh_real = (lambda: ours.Model(path)), (lambda: kenlm.Model(path))
    ours_cold, _ = best_of(3, _score_all, warmup=0, setup=fresh_ours)
    real_cold, _ = best_of(3, _score_all, warmup=0, setup=fresh_real)
    ours_base_cold, _ = best_of(3, lambda m: _base_loop(ours, m), warmup=0, setup=fresh_ours)
    real_base_cold, _ = best_of(3, lambda m: _base_loop(kenlm, m), warmup=0, setup=fresh_real)
    record(benchmark, kind=kind, words=words, ours_words_per_s=words / ours_s, kenlm_words_per_s=words / real_s,
           score_ratio=ours_s / real_s, same_total=ours_score == real_score,
           ours_base_us=ours_base / n * 1e6, kenlm_base_us=real_base / n * 1e6, base_ratio=ours_base / real_base,
           ours_cold_words_per_s=words / ours_cold, kenlm_cold_words_per_s=words / real_cold,
           cold_score_ratio=ours_cold / real_cold, ours_cold_base_us=ours_base_cold / n * 1e6,
           kenlm_cold_base_us=real_base_cold / n * 1e6, cold_base_ratio=ours_base_cold / real_base_cold,
           ours_open_ms=ours_open * 1e3, kenlm_open_ms=real_open * 1e3, file_mb=Path(path).stat().st_size / 1e6)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
