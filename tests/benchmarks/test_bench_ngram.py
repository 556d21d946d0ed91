"""N-gram benchmarks against the peers on this machine (run with `make bench`; not part of `make test`).

Input, as in issue 4: data/shakespeare.txt lower-cased, words and punctuation split by spaces
(`[a-z']+|[^a-z'\\s]`), one line a sentence, empty lines dropped (~1.17M words, 146k lines).

- order-5 modified Kneser-Ney, text -> ARPA: `tkit train ngram` vs `lmplz -o 5 -S 2G` (when lmplz is on PATH
  or next to the Python executable), wall time and peak RSS of each process, and the two ARPA files compared;
- fit and scoring against NLTK's `nltk.lm` (when installed), on subsets NLTK can handle in seconds (see
  test_fit_vs_nltk for what each side's fit does);
- sentence scoring against the `kenlm` module (when installed);
- scale: 10M tokens (the corpus 9 times), in memory and with --memory (chunked counting).
Figures go to pytest-benchmark's extra_info and are printed (-s).
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import regex

from ngram import NgramModel, load_ngram

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "shakespeare.txt"
TKIT = [sys.executable, "-m", "cli.main"]


@pytest.fixture(scope="module")
def words_file(tmp_path_factory) -> Path:
    pattern = regex.compile(r"[a-z']+|[^a-z'\s]")
    lines = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        tokens = pattern.findall(line.lower())
        if tokens:
            lines.append(" ".join(tokens))
    path = tmp_path_factory.mktemp("ngram") / "shakespeare_words.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lmplz_path() -> str | None:
    beside = Path(sys.executable).parent / "lmplz"
    return shutil.which("lmplz") or (str(beside) if beside.exists() else None)


def run_measured(cmd: list[str], stdin: Path | None = None, stdout: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process.

    Through /usr/bin/time when it exists: a child forked straight from this (large) pytest process would
    report this process's resident size as its own peak (Linux counts the pre-exec image)."""
    timer = Path("/usr/bin/time")
    report_file = Path(os.devnull)
    if timer.exists():
        report_file = Path(str(stdout or "/tmp/tkit-bench") + ".rss")
        cmd = [str(timer), "-f", "%M", "-o", str(report_file), *cmd]
    start = time.perf_counter()
    with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0, cmd
    if timer.exists():
        return wall, int(report_file.read_text().split()[-1]) / 1024
    return wall, usage.ru_maxrss / 1024


def report(benchmark, **figures) -> None:
    benchmark.extra_info.update(figures)
    print("\n" + "  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


def test_order5_arpa_vs_lmplz(benchmark, words_file, tmp_path):
    ours = tmp_path / "ours.arpa"
    cmd = [*TKIT, "-q", "train", "ngram", str(words_file), "-n", "5", "--tokenizer", "whitespace", "-o", str(ours)]
    runs = []
    benchmark.pedantic(lambda: runs.append(run_measured(cmd)), rounds=3, iterations=1)
    wall, rss = min(runs)
    figures = {"tkit_s": wall, "tkit_peak_mb": rss}
    lmplz = lmplz_path()
    if lmplz:
        ref = tmp_path / "lmplz.arpa"
        peer = min(run_measured([lmplz, "-o", "5", "-S", "2G"], stdin=words_file, stdout=ref) for _ in range(3))
        figures.update(lmplz_s=peer[0], lmplz_peak_mb=peer[1], time_ratio=wall / peer[0], memory_ratio=rss / peer[1])
        from tests.ngram.test_ngram_kenlm import assert_same_arpa

        assert_same_arpa(ours, ref)
    report(benchmark, **figures)


def sentences(path: Path, limit_tokens: int) -> list[list[str]]:
    out, total = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        out.append(line.split())
        total += len(out[-1])
        if total >= limit_tokens:
            break
    return out


def best_of(runs: int, fit) -> tuple[float, object]:
    """(minimum wall seconds over `runs` calls of `fit`, the last result)."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return min(times), result


def test_fit_vs_nltk(benchmark, words_file):
    """Fit on the same 300k tokens (order 3, token lists in memory): best of 5 (after a warm-up) for ours, best
    of 3 for NLTK (4 s a run).

    What each side's timed call does: NLTK's `fit` builds its vocabulary and its `NgramCounter` (every 1..3-gram
    of the padded sentences; `padded_everygram_pipeline` is lazy, so the padding is timed too) and nothing else:
    its Kneser-Ney arithmetic runs inside each `score` call. Ours, `NgramModel.fit`, does the same (vocabulary,
    counts of orders 1..3, KenLM's n-grams: one `<s>` per sentence where NLTK pads with two `<s>` and two `</s>`)
    and then the whole Kneser-Ney estimate (discounts, probability and backoff of every
    n-gram), so `fit_speedup` understates the like-for-like ratio; `count_speedup` is like for like: our
    vocabulary and counts only (`CorpusEncoder` + `count_tables`, what `fit` does before estimating)."""
    from ngram.counting import CorpusEncoder, count_tables, encode_corpus

    train = sentences(words_file, 300_000)
    tokens = sum(len(s) for s in train)
    # one warm-up round, as pytest-benchmark's own calibration would do: the first fit in a process pays
    # for fresh pages (page faults) that every later fit reuses
    ours = benchmark.pedantic(lambda: NgramModel.fit(train, order=3, smoothing="kneser-ney"), rounds=5,
                              iterations=1, warmup_rounds=1)
    ours_s = benchmark.stats.stats.min

    def count_only():
        encoder = CorpusEncoder()
        corpus = encode_corpus(encoder.encode_sentences(train), encoder)
        return count_tables(corpus.stream, 3, len(corpus.vocab))

    count_s, _ = best_of(3, count_only)
    figures = {"tokens": tokens, "tkit_fit_s": ours_s, "tkit_tokens_per_s": tokens / ours_s, "tkit_count_s": count_s}
    nltk_lm = pytest.importorskip("nltk.lm")
    from nltk.lm.preprocessing import padded_everygram_pipeline

    def nltk_fit():
        data, vocab = padded_everygram_pipeline(3, train)
        model = nltk_lm.KneserNeyInterpolated(3)
        model.fit(data, vocab)
        return model

    nltk_s, peer = best_of(3, nltk_fit)
    figures.update(nltk_fit_s=nltk_s, nltk_tokens_per_s=tokens / nltk_s, fit_speedup=nltk_s / ours_s,
                   count_speedup=nltk_s / count_s)
    # scoring: NLTK's KneserNeyInterpolated manages ~33 words/s; give it 60 words
    words = [w for s in train[:40] for w in s][:60]
    start = time.perf_counter()
    for i, w in enumerate(words):
        peer.score(w, words[max(0, i - 2):i])
    nltk_wps = len(words) / (time.perf_counter() - start)
    ids = [np.concatenate(([1], ours.vocab.encode(s), [2])) for s in train]
    start = time.perf_counter()
    ours.sentences_logprobs(ids)
    ours_wps = sum(len(i) - 1 for i in ids) / (time.perf_counter() - start)
    figures.update(nltk_score_words_per_s=nltk_wps, tkit_score_words_per_s=ours_wps, score_speedup=ours_wps / nltk_wps)
    report(benchmark, **figures)


def test_scoring_vs_kenlm(benchmark, words_file, tmp_path):
    model = NgramModel.fit_files(str(words_file), order=5)
    lines = words_file.read_text(encoding="utf-8").splitlines()[:50_000]
    ids = [np.concatenate(([1], model.encode_text(line), [2])) for line in lines]
    benchmark.pedantic(lambda: model.sentences_logprobs(ids), rounds=3, iterations=1)
    words = sum(len(i) - 1 for i in ids)
    figures = {"words": words, "tkit_words_per_s": words / benchmark.stats.stats.min}
    kenlm = pytest.importorskip("kenlm")
    path = tmp_path / "m.arpa"
    model.save(path)
    peer = kenlm.Model(str(path))
    start = time.perf_counter()
    total = sum(peer.score(line, bos=True, eos=True) for line in lines)
    kenlm_s = time.perf_counter() - start
    ours_total = sum(float(np.sum(x)) for x in model.sentences_logprobs(ids)) / math.log(10)
    assert ours_total == pytest.approx(total, rel=1e-6)
    figures.update(kenlm_words_per_s=words / kenlm_s)
    report(benchmark, **figures)


@pytest.mark.slow
def test_scale_10m_tokens(benchmark, words_file, tmp_path):
    """The corpus 9 times (~10.5M tokens): in memory, and counted within a 1G budget."""
    big = tmp_path / "big.txt"
    text = words_file.read_text(encoding="utf-8")
    big.write_text(text * 9, encoding="utf-8")
    out = tmp_path / "m.arpa"
    base = [*TKIT, "-q", "train", "ngram", str(big), "-n", "5", "--tokenizer", "whitespace", "-o", str(out)]
    runs = []
    benchmark.pedantic(lambda: runs.append(run_measured(base)), rounds=1, iterations=1)
    chunked = run_measured([*base, "--memory", "1G", "--temp-dir", str(tmp_path)])
    count = run_measured([*TKIT, "-q", "count", str(big), "-n", "5", "--tokenizer", "whitespace", "--memory", "500M",
                          "-o", str(tmp_path / "c.npz"), "--temp-dir", str(tmp_path)])
    figures = {"tokens": 9 * len(text.split()), "in_memory_s": runs[0][0], "in_memory_peak_mb": runs[0][1],
               "chunked_1G_s": chunked[0], "chunked_1G_peak_mb": chunked[1], "count_500M_s": count[0],
               "count_500M_peak_mb": count[1]}
    lmplz = lmplz_path()
    if lmplz:
        peer = run_measured([lmplz, "-o", "5", "-S", "2G", "-T", str(tmp_path), "--discount_fallback"], stdin=big,
                            stdout=tmp_path / "l.arpa")  # 9 copies: no top-order count is 1, 2 or 3
        figures.update(lmplz_s=peer[0], lmplz_peak_mb=peer[1])
    assert load_ngram(out).order == 5
    report(benchmark, **figures)
