"""Differential test against live lmplz (run by `make bench`, which builds lmplz with .ci/build-lmplz; not part
of `make test`): many small generated corpora, words and characters, orders 2..10, with and without
--discount_fallback, with and without --prune, with and without --limit_vocab_file. For each, tkit's modified Kneser-Ney ARPA must hold exactly
lmplz's n-grams with every log10 probability and backoff within 1e-4, or both must refuse the corpus (closed-form
discounts failing without the fallback). A mismatch reports both sides' discounts.

The corpora come from a seeded RNG (TKIT_LMPLZ_CASES cases, default 120; TKIT_LMPLZ_SEED shifts them):
- words: a Zipf-distributed made-up vocabulary (5..400 types), or random lines of data/shakespeare.txt split
  into words;
- chars: random runs of consecutive lines of data/shakespeare.txt, one character per token, spaces as `▁`;
and some of them get empty lines (a sentence `<s> </s>` for both), and some a --limit_vocab_file listing a random
part of the corpus's words (and a word it lacks).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ngram.train import train_files
from tests.benchmarks.common import record
from tests.ngram.ngram_helpers import arpa_entries
from tests.peers import under_ci
from tokenizers_kit.errors import TkitError

ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "data" / "shakespeare.txt"
TOL = 1e-4
CASES = int(os.environ.get("TKIT_LMPLZ_CASES", "120"))
SEED = int(os.environ.get("TKIT_LMPLZ_SEED", "0"))
SPACE = "\u2581"


def lmplz_path() -> str | None:
    beside = Path(sys.executable).parent / "lmplz"
    return shutil.which("lmplz") or (str(beside) if beside.exists() else None)


@pytest.fixture(scope="module")
def lmplz() -> str:
    path = lmplz_path()
    if path is None:
        message = "lmplz is neither on PATH nor beside the Python executable: run .ci/build-lmplz"
        if under_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def source_lines() -> list[str]:
    return [line.strip() for line in TEXT.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Case:
    seed: int
    kind: str  # "words" | "chars"
    order: int
    fallback: bool
    prune: tuple[int, ...] | None
    lines: tuple[str, ...]
    limit: tuple[str, ...] | None = None  # --limit_vocab_file's words

    def describe(self) -> str:
        prune = " ".join(map(str, self.prune)) if self.prune else "-"
        limit = len(self.limit) if self.limit else "-"
        return (f"seed={self.seed} {self.kind} order={self.order} fallback={self.fallback} prune={prune} "
                f"limit_vocab={limit} lines={len(self.lines)}")


def zipf_lines(rng: np.random.Generator) -> list[str]:
    types = int(rng.integers(5, 400))
    weights = 1.0 / np.arange(1, types + 1) ** rng.uniform(0.6, 1.6)
    weights /= weights.sum()
    n_lines = int(rng.integers(10, 400))
    lengths = rng.integers(1, 16, size=n_lines)
    return [" ".join(f"w{i}" for i in rng.choice(types, size=k, p=weights)) for k in lengths]


def text_lines(rng: np.random.Generator, source: list[str], n_lines: int) -> list[str]:
    start = int(rng.integers(0, len(source) - n_lines))
    return source[start:start + n_lines]


def char_lines(lines: list[str]) -> list[str]:
    return [" ".join(SPACE if c == " " else c for c in line) for line in lines]


def word_lines(lines: list[str]) -> list[str]:
    return [" ".join(re.findall(r"[\w']+|[^\w'\s]", line.lower())) for line in lines]


def make_prune(rng: np.random.Generator, order: int) -> tuple[int, ...]:
    """lmplz's --prune: the unigram threshold 0, then non-decreasing thresholds (one per order)."""
    steps = rng.integers(0, 2, size=order - 1)
    return (0, *(int(t) for t in np.cumsum(steps) + rng.integers(0, 2)))


def make_case(seed: int, source: list[str]) -> Case:
    rng = np.random.default_rng([SEED, seed])
    kind = "chars" if rng.random() < 0.5 else "words"
    order = int(rng.integers(2, 11))
    if kind == "chars":
        lines = char_lines(text_lines(rng, source, int(rng.integers(20, 600))))
    elif rng.random() < 0.5:
        lines = zipf_lines(rng)
    else:
        lines = word_lines(text_lines(rng, source, int(rng.integers(20, 1500))))
    if rng.random() < 0.2:  # empty lines are sentences too (`<s> </s>`)
        for pos in rng.integers(0, len(lines), size=int(rng.integers(1, 4))):
            lines.insert(int(pos), "")
    prune = make_prune(rng, order) if rng.random() < 0.35 else None
    fallback = bool(rng.random() < 0.7)
    limit = make_limit(rng, lines) if rng.random() < 0.3 else None  # drawn last: the other cases stay as they were
    return Case(seed, kind, order, fallback, prune, tuple(lines), limit)


def make_limit(rng: np.random.Generator, lines: list[str]) -> tuple[str, ...]:
    """A random part (10%..95%) of the corpus's word types, plus one word the corpus does not hold."""
    types = sorted({w for line in lines for w in line.split()})
    share = rng.uniform(0.1, 0.95)
    chosen = [w for w in types if rng.random() < share]
    return (*chosen, "never-in-the-corpus")


def gap(a: float, b: float) -> float:
    """|a - b| in log10, where -inf and anything at or below -99 (SRILM's log 0) are the same value."""
    zero_a, zero_b = a <= -99 or math.isinf(a), b <= -99 or math.isinf(b)
    if zero_a or zero_b:
        return 0.0 if zero_a == zero_b else math.inf
    return abs(a - b)


def lmplz_discounts(stderr: str) -> dict[int, list[float]]:
    """The discounts lmplz prints (`N count D1=.. D2=.. D3+=..`) per order."""
    found = re.findall(r"^(\d+) \d+ D1=(\S+) D2=(\S+) D3\+=(\S+)$", stderr, flags=re.M)
    return {int(n): [float(d1), float(d2), float(d3)] for n, d1, d2, d3 in found}


@dataclass
class Outcome:
    ok: bool
    detail: str
    max_gap: float = 0.0


def run_case(case: Case, lmplz: str, workdir: Path) -> Outcome:
    corpus = workdir / f"case{case.seed}.txt"
    corpus.write_text("".join(line + "\n" for line in case.lines), encoding="utf-8")
    ref = workdir / f"case{case.seed}.lmplz.arpa"
    cmd = [lmplz, "-o", str(case.order), "-S", "64M", "-T", str(workdir)]
    cmd += ["--discount_fallback"] if case.fallback else []
    cmd += ["--prune", *map(str, case.prune)] if case.prune else []
    if case.limit is not None:
        vocab_file = workdir / f"case{case.seed}.vocab"
        vocab_file.write_text("\n".join(case.limit) + "\n", encoding="utf-8")
        cmd += ["--limit_vocab_file", str(vocab_file)]
    with open(corpus, "rb") as fin, open(ref, "wb") as fout:
        peer = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, timeout=120)
    peer_err = peer.stderr.decode("utf-8", "replace")
    try:
        model = train_files([str(corpus)], order=case.order, tokenizer="whitespace",
                            prune=list(case.prune) if case.prune else None, strict=not case.fallback,
                            limit_vocab=case.limit)
    except TkitError as exc:
        if peer.returncode != 0:
            return Outcome(True, "both refused")
        return Outcome(False, f"tkit refused ({exc}) but lmplz did not; lmplz discounts "
                              f"{lmplz_discounts(peer_err)}")
    if peer.returncode != 0:
        last = [line for line in peer_err.splitlines() if line.strip()][-3:]
        return Outcome(False, f"lmplz refused ({' | '.join(last)}) but tkit did not; tkit discounts "
                              f"{model.info.get('discounts')}")
    ours = workdir / f"case{case.seed}.tkit.arpa"
    model.save(ours)
    a, b = arpa_entries(ours), arpa_entries(ref)
    if a.keys() != b.keys():
        only_a, only_b = sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5]
        return Outcome(False, f"n-grams differ: only tkit {only_a}, only lmplz {only_b}")
    worst, where = 0.0, ""
    for key, (pa, ba) in a.items():
        pb, bb = b[key]
        g = max(gap(pa, pb), gap(ba, bb))
        if g > worst:
            worst, where = g, key
    if worst > TOL:
        return Outcome(False, f"max |dlog10| {worst:.3g} at {where!r}; tkit discounts "
                              f"{model.info.get('discounts')}; lmplz {lmplz_discounts(peer_err)}", worst)
    return Outcome(True, f"max |dlog10| {worst:.2g}", worst)


def run_all(lmplz: str, source: list[str], workdir: Path) -> tuple[list[str], list[float], int]:
    """(failures described, max gap of each agreeing case, cases both sides refused)."""
    failures, gaps, refused = [], [], 0
    for seed in range(CASES):
        case = make_case(seed, source)
        outcome = run_case(case, lmplz, workdir)
        refused += outcome.detail == "both refused"
        if outcome.ok:
            gaps.append(outcome.max_gap)
        else:
            failures.append(f"{case.describe()}: {outcome.detail}")
        for leftover in workdir.glob(f"case{seed}.*"):
            leftover.unlink()
    return failures, gaps, refused


def test_lmplz_differential(benchmark, lmplz, source_lines, tmp_path):
    """Every generated case agrees with lmplz; the failures, if any, are listed with both sides' discounts.
    One round (the figure is the whole run's wall time, both sides and the comparison)."""
    failures, gaps, refused = benchmark.pedantic(run_all, args=(lmplz, source_lines, tmp_path), rounds=1,
                                                 iterations=1)
    record(benchmark, corpora=CASES, agree=CASES - len(failures), refused_by_both=refused,
           max_abs_dlog10=max(gaps, default=0.0))
    assert not failures, f"{len(failures)} of {CASES} corpora differ from lmplz:\n" + "\n".join(failures)
