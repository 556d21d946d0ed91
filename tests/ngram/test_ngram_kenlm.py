"""KenLM exactness: our modified Kneser-Ney ARPA files hold lmplz's entries (every log10 value within 1e-4),
and models score text as `kenlm.Model.score` does (the fixtures were made by lmplz and kenlm 0.3.0)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ngram import load_ngram, train_ngram
from ngram.arpa import read_arpa
from tests.ngram.ngram_helpers import FIXTURES
from tests.peers import require_peer

TOL = 1e-4


def assert_same_arpa(ours_path, reference_path) -> None:
    """Same vocabulary (KenLM numbers words by first appearance, as tkit does), same n-grams, same values."""
    ours, ref = read_arpa(ours_path), read_arpa(reference_path)
    assert ours.vocab.tokens == ref.vocab.tokens
    a, b = ours.scorer, ref.scorer
    assert a.index.sizes() == b.index.sizes()
    for n in range(1, a.order + 1):
        assert np.array_equal(a.index.keys[n], b.index.keys[n]), n
        assert_close_log10(a.logp[n], b.logp[n], n)
        assert_close_log10(a.backoff[n], b.backoff[n], n)


def assert_close_log10(ours: np.ndarray, ref: np.ndarray, order: int) -> None:
    """Within TOL where finite; -inf (KenLM) and -99 (SRILM, tkit) both read as -inf, and must coincide."""
    assert np.array_equal(np.isneginf(ours), np.isneginf(ref)), order
    finite = np.isfinite(ref)
    assert np.max(np.abs(ours[finite] - ref[finite]), initial=0.0) < TOL, order


@pytest.mark.parametrize("name", ["toy0", "toy1"])
def test_toy_files_exactly(name, tmp_path):
    """lmplz --discount_fallback -o 3: the closed form fails at every order, the fallback 0.5 1 1.5 is used."""
    model = train_ngram(FIXTURES / f"{name}.txt", order=3)
    assert len(model.warnings) == 1 and "orders 1-3" in model.warnings[0] and "fallback" in model.warnings[0]
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / f"{name}.o3.arpa")
    ref = (FIXTURES / f"{name}.o3.arpa").read_text().split("\n")
    ours = (tmp_path / "m.arpa").read_text().split("\n")
    assert [line.split("\t")[1:2] for line in sorted(ours) if "\t" in line] == \
           [line.split("\t")[1:2] for line in sorted(ref) if "\t" in line]


@pytest.mark.parametrize("order", [2, 3, 5])
def test_shakespeare_words_closed_form_discounts(order, tmp_path):
    model = train_ngram(FIXTURES / "shakespeare_words.txt", order=order, tokenizer="whitespace")
    assert model.warnings == []
    model.save(tmp_path / "m.arpa.gz")
    assert_same_arpa(tmp_path / "m.arpa.gz", FIXTURES / f"shakespeare_words.o{order}.arpa.gz")


def test_pruned_model_matches_lmplz(tmp_path):
    """--prune 0 1 1: singleton bigrams and trigrams dropped, their mass moved to the backoffs, as lmplz does."""
    model = train_ngram(FIXTURES / "shakespeare_words.txt", order=3, prune=[0, 1, 1])
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "shakespeare_words.o3.prune011.arpa.gz")


def test_shakespeare_chars_order6_with_fallback(tmp_path):
    """Characters written one per token (spaces as `_`); order 6 needs lmplz --discount_fallback."""
    model = train_ngram(FIXTURES / "shakespeare_chars.txt", order=6, tokenizer="whitespace")
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "shakespeare_chars.o6.arpa.gz")


def kenlm_scores(order: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = (FIXTURES / f"shakespeare_words.test.o{order}.scores.tsv").read_text(encoding="utf-8").split("\n")[1:]
    rows = [r.split("\t") for r in rows if r]
    lines = (FIXTURES / "shakespeare_words.test.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert [r[2] for r in rows] == lines
    return lines, np.array([float(r[0]) for r in rows]), np.array([int(r[1]) for r in rows])


# kenlm 0.3.0 on shakespeare_words.test.txt (fixture README): total log10, perplexity; 3,862 tokens, 136 OOV
KENLM_TOTALS = {3: (-8048.1545, 121.3205), 5: (-8018.0100, 119.1596)}


@pytest.mark.parametrize("order", [3, 5])
def test_kenlm_sentence_scores_and_perplexity(order):
    """Trained by tkit and read from lmplz's ARPA, both score each held-out line as kenlm.Model.score."""
    lines, expected, oov = kenlm_scores(order)
    trained = train_ngram(FIXTURES / "shakespeare_words.txt", order=order)
    models = [trained]
    if order == 3:
        models.append(load_ngram(FIXTURES / "shakespeare_words.o3.arpa.gz"))
    for model in models:
        scores = np.array([model.score(line) for line in lines])
        assert np.max(np.abs(scores - expected)) < TOL
        ids = [np.concatenate(([1], model.encode_text(line), [2])) for line in lines]
        assert sum(int(np.sum(s[1:-1] == 0)) for s in ids) == oov.sum() == 136
        total = sum(float(np.sum(lp)) for lp in model.sentences_logprobs(ids)) / math.log(10)
        tokens = sum(len(s) - 1 for s in ids)
        assert tokens == 3862
        assert total == pytest.approx(KENLM_TOTALS[order][0], abs=1e-3)
        assert model.perplexity("\n".join(lines)) == pytest.approx(KENLM_TOTALS[order][1], abs=1e-3)


def test_live_kenlm_reads_our_arpa(tmp_path):
    """When the `kenlm` module is installed: it loads tkit's ARPA and scores exactly as tkit does."""
    kenlm = require_peer("kenlm")
    model = train_ngram(FIXTURES / "shakespeare_words.txt", order=4)
    model.save(tmp_path / "m.arpa")
    lm = kenlm.Model(str(tmp_path / "m.arpa"))
    lines, _, _ = kenlm_scores(3)
    for line in lines[:200]:
        assert model.score(line) == pytest.approx(lm.score(line, bos=True, eos=True), abs=TOL)
        assert model.score(line, bos=False, eos=False) == pytest.approx(lm.score(line, bos=False, eos=False), abs=TOL)


def test_zero_discount_matches_lmplz(tmp_path):
    """A closed-form discount of exactly 0 is legal in lmplz: context `a` keeps all its mass (backoff -inf,
    written -99 by tkit as SRILM does) and unseen words after it get probability 0, in both tools."""
    model = train_ngram(FIXTURES / "zero_discount.txt", order=2, tokenizer="whitespace")
    assert model.info["discounts"][2][1] == 0.0
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "zero_discount.2.arpa")
    ref = load_ngram(FIXTURES / "zero_discount.2.arpa")
    a = int(ref.vocab.encode(["a"])[0])
    probs = np.exp(ref.next_logprobs([1, a]))
    assert probs[2] == pytest.approx(1.0) and probs.sum() == pytest.approx(1.0)
