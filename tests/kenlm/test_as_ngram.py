"""KenLM binary files where tkit takes ARPA: `NgramModel.load`, `tkit eval`, `tkit sample`. Scores are KenLM's
(float32, equal to ngram.kenlm's full_scores), next-word distributions sum to 1 and match the ARPA model's up to
float32 rounding, eval agrees with the ARPA source, and what cannot work fails in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngram.kenlm as kenlm
from ngram.model import NgramModel
from tests.cli.clirunner import run_tkit
from tests.kenlm.cases import FIXTURES, WORD_TEXT
from tokenizers_kit.errors import TkitError

BINARIES = ["w5.probing", "w5.trie", "w5.q4b3.trie", "w3.a22.trie", "w3nounk.probing", "utf8.q8a22.trie"]
WORDS = "the king of and a my lord , . ' to thou is not zzq </s> <unk>".split()  # <s>: tkit restarts there
_models: dict = {}


def model(name: str) -> NgramModel:
    if name not in _models:
        _models[name] = NgramModel.load(FIXTURES / name)
    return _models[name]


def source(name: str) -> NgramModel:
    return model(name.split(".")[0] + ".arpa.gz")


@pytest.mark.parametrize("name", BINARIES)
@settings(max_examples=25, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=12), ctx_len=st.integers(0, 4))
def test_scores_and_distributions(name, words, ctx_len):
    m = model(name)
    k = kenlm.Model(str(FIXTURES / name))
    sentence = " ".join(words)
    want = np.array([p for p, _, _ in k.full_scores(sentence)], dtype=np.float32)
    assert np.array_equal(m.word_scores(sentence).astype(np.float32), want)
    ctx = [1] + m.vocab.encode(words[:ctx_len]).tolist()
    lp = m.next_logprobs(ctx)
    if "q4b3" not in name and "nounk" not in name:  # coarse quantisation, or no <unk> mass: not normalised
        assert abs(np.exp(lp).sum() - 1.0) < 1e-5
    if name.startswith("w5.") and "q" not in name:  # same model as the ARPA source: same distribution
        arpa = source(name)
        tokens = [t for t in m.vocab.tokens if t != "<s>"]
        ids_bin, ids_arpa = m.vocab.encode(tokens), arpa.vocab.encode(tokens)
        got = lp[ids_bin]
        want_lp = arpa.next_logprobs([1] + arpa.vocab.encode(words[:ctx_len]).tolist())[ids_arpa]
        assert np.allclose(got, want_lp, atol=1e-5)


@pytest.mark.parametrize("name", ["w5.probing", "w5.trie", "w5.a22.trie"])
def test_eval_agrees_with_the_arpa_source(name):
    got = run_tkit("eval", str(FIXTURES / name), str(WORD_TEXT), "--json")
    want = run_tkit("eval", str(FIXTURES / "w5.arpa.gz"), str(WORD_TEXT), "--json")
    assert got.code == 0 == want.code, got.err
    a, b = json.loads(got.out), json.loads(want.out)
    assert (a["tokens"], a["oov"]) == (b["tokens"], b["oov"])
    assert a["perplexity"] == pytest.approx(b["perplexity"], rel=1e-6)


def test_sample_and_per_line_from_a_binary():
    r = run_tkit("sample", str(FIXTURES / "w5.probing"), "--seed", "3")
    assert r.code == 0 and r.out.strip(), r.err
    r = run_tkit("eval", str(FIXTURES / "w5.trie"), str(WORD_TEXT), "--per-line")
    assert r.code == 0 and len(r.out.splitlines()) >= 400, r.err


@pytest.mark.parametrize("name", ["w5.novocab.probing", "w5.novocab.trie"])
def test_a_binary_without_words_is_one_error(name):
    r = run_tkit("eval", str(FIXTURES / name), str(WORD_TEXT))
    assert r.code != 0 and r.err.count("\n") == 1 and "vocabulary strings" in r.err


def test_a_binary_model_is_read_only(tmp_path):
    with pytest.raises(TkitError, match="cannot be saved"):
        model("w5.probing").save(tmp_path / "x.arpa")
    assert not list(tmp_path.iterdir())


def test_a_truncated_binary_is_one_error(tmp_path):
    bad = tmp_path / "cut.probing"
    bad.write_bytes((FIXTURES / "w5.probing").read_bytes()[:5000])
    r = run_tkit("eval", str(bad), str(WORD_TEXT))
    assert r.code != 0 and r.err.startswith("tkit: error:") and r.err.count("\n") == 1, r.err
