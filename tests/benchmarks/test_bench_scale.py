"""Scale benchmark of issue 12 (run by `make bench`; not part of `make test`): order-5 modified Kneser-Ney on
about 20M tokens with about 27M distinct n-grams, `lmplz -S 1G` against tkit in memory and tkit `--memory 1G`.

The corpus is data/shakespeare.txt split as in test_bench_ngram.py (lower-cased, words and punctuation), written
TKIT_SCALE_COPIES times (default 17); in each copy a seeded fifth of the word types is renamed for that copy
(`word_<copy>`), so every copy brings new n-grams of every order instead of only raising old counts. Each side
runs as a subprocess of its own (wall time, CPU time and peak RSS through /usr/bin/time; lmplz right
after the budget run); the three ARPA files must list
the same number of n-grams of each order. Figures go to extra_info; report.py prints them as a README row.

The 100M-token run of issue 12: `TKIT_SCALE_COPIES=85 TKIT_SCALE_IN_MEMORY=0` (the in-memory run would need
many GB there; the budget run and lmplz are compared alone). Not run by default: it takes many minutes.
"""
from __future__ import annotations

import filecmp
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import regex

from tests.benchmarks.common import record
from tests.benchmarks.test_bench_ngram import (
    CORPUS,
    ROOT,
    TKIT,
    lmplz_path,
    run_measured,
)

COPIES = int(os.environ.get("TKIT_SCALE_COPIES", "17"))
RENAMED = 0.2  # the share of word types renamed in each copy
SEED = 12
IN_MEMORY = os.environ.get("TKIT_SCALE_IN_MEMORY", "1") != "0"
BUDGET = "1G"
_COUNT = re.compile(rb"^ngram (\d+)=(\d+)$")


def corpus_lines() -> list[list[str]]:
    pattern = regex.compile(r"[a-z']+|[^a-z'\s]")
    lines = (pattern.findall(line.lower()) for line in CORPUS.read_text(encoding="utf-8").splitlines())
    return [tokens for tokens in lines if tokens]


def write_corpus(path: Path, copies: int, seed: int = SEED) -> int:
    """The renamed copies into `path`; returns the number of tokens written."""
    lines = corpus_lines()
    types = sorted({w for line in lines for w in line})
    with open(path, "w", encoding="utf-8") as out:
        for copy in range(copies):
            picked = np.random.default_rng([seed, copy]).random(len(types)) < RENAMED
            rename = {w: f"{w}_{copy}" for w, p in zip(types, picked) if p}
            out.write("".join(" ".join([rename.get(w, w) for w in line]) + "\n" for line in lines))
    return copies * sum(len(line) for line in lines)


def run_cpu(cmd: list[str], stdin: Path | None = None, stdout: Path | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s = user + system, peak RSS MB) of one child through /usr/bin/time: on a shared machine the
    CPU seconds compare the two sides where the wall time also measures the other jobs."""
    timer = Path("/usr/bin/time")
    if not timer.exists():
        wall, peak = run_measured(cmd, stdin, stdout)
        return wall, float("nan"), peak
    report = Path(str(stdout or cmd[-1]) + ".time")
    with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
        subprocess.run([str(timer), "-f", "%e %U %S %M", "-o", str(report), *cmd], stdin=fin, stdout=fout,
                       stderr=subprocess.DEVNULL, cwd=ROOT, check=True)
    wall, user, system, peak_kb = report.read_text().split()[-4:]
    report.unlink()
    return float(wall), float(user) + float(system), int(peak_kb) / 1024


def arpa_counts(path: Path) -> dict[int, int]:
    """The `ngram N=COUNT` lines of an ARPA header."""
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            match = _COUNT.match(line.strip())
            if match:
                counts[int(match.group(1))] = int(match.group(2))
            elif line.startswith(b"\\1-grams:"):
                break
    return counts


@pytest.fixture(scope="module")
def scale_corpus(tmp_path_factory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("scale") / "renamed_copies.txt"
    return path, write_corpus(path, COPIES)


@pytest.mark.slow
@pytest.mark.parametrize("copies", [COPIES])  # in the test's name, so the 20M and 100M runs are rows of their own
def test_scale_order5_vs_lmplz(benchmark, copies, scale_corpus, tmp_path):
    corpus, tokens = scale_corpus
    base = [*TKIT, "-q", "train", "ngram", str(corpus), "-n", "5", "--tokenizer", "whitespace"]
    budget = tmp_path / "budget.arpa"
    runs = []
    benchmark.pedantic(lambda: runs.append(run_cpu([*base, "-o", str(budget), "--memory", BUDGET,
                                                    "--temp-dir", str(tmp_path)])), rounds=1, iterations=1)
    ours = arpa_counts(budget)
    figures = {"copies": copies, "tokens": tokens, "ngrams": sum(ours.values()), "budget_1G_s": runs[0][0],
               "budget_1G_cpu_s": runs[0][1], "budget_1G_peak_mb": runs[0][2],
               "load_avg": os.getloadavg()[0]}
    lmplz = lmplz_path()
    if lmplz:  # a binary, not a Python peer: the row says so when it is absent; right after ours, same load
        ref = tmp_path / "lmplz.arpa"
        peer = run_cpu([lmplz, "-o", "5", "-S", BUDGET, "-T", str(tmp_path), "--discount_fallback"],
                       stdin=corpus, stdout=ref)
        assert arpa_counts(ref) == ours
        ref.unlink()
        figures.update(lmplz_s=peer[0], lmplz_cpu_s=peer[1], lmplz_peak_mb=peer[2],
                       budget_time_ratio=runs[0][0] / peer[0], budget_cpu_ratio=runs[0][1] / peer[1])
    if IN_MEMORY:
        in_memory = tmp_path / "in_memory.arpa"
        whole = run_cpu([*base, "-o", str(in_memory)])
        assert filecmp.cmp(in_memory, budget, shallow=False)  # the same ARPA, entry for entry
        in_memory.unlink()
        figures.update(in_memory_s=whole[0], in_memory_cpu_s=whole[1], in_memory_peak_mb=whole[2])
        if lmplz:
            figures.update(in_memory_time_ratio=whole[0] / figures["lmplz_s"],
                           in_memory_cpu_ratio=whole[1] / figures["lmplz_cpu_s"])
    record(benchmark, **figures)
