"""The fast paths against their plain twins, on generated sentences and states over every kind of file (ARPA,
probing, trie, quantised, pointer-compressed, order 2 to 5, with and without `<unk>`):
- `score`, `full_scores`, `BaseScore`, `BaseFullScore` (a memo over the fused step) against the vectorised
  whole-sentence lookup and the plain scalar step with no memo, the memo cold, warm, and cleared mid-sentence;
- the fused step (`step.make_step`) against the plain per-n-gram loop (`scoring.full_score`) on random contexts,
  OOV ids, `<s>` and `</s>` among them."""
from __future__ import annotations

import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.kenlm as kenlm
from ngram.kenlm import transitions
from ngram.kenlm.scoring import full_score
from ngram.kenlm.step import make_step
from tests.kenlm.cases import FIXTURES, sentences_for

KINDS = ["w3.arpa.gz", "w5.probing", "w5.trie", "w5.q4b3.trie", "w3nounk.trie", "utf8.q8a22.trie"]
STEP_KINDS = KINDS + ["w2.probing", "w2.q8a22.trie", "w3.q8b8.trie", "w3nounk.probing", "w5.a22.trie",
                      "w5.a0.trie", "w5.q8a255.trie", "w5.p2.probing", "utf8.probing"]
WORDS = {"word": "the king of and a my lord , . ' to thou is not <s> </s> <unk> zzq".split(),
         "char": list("thea▁ns.,Wo") + ["<s>", "zz"]}
_models: dict[str, kenlm.Model] = {}


def model(name: str) -> kenlm.Model:
    if name not in _models:
        _models[name] = kenlm.Model(str(FIXTURES / name))
    return _models[name]


def sentences(vocab: list[str]):
    word = st.one_of(st.sampled_from(vocab), st.text(alphabet="ab\0é", min_size=1, max_size=3))
    return st.lists(word, max_size=30).map(" ".join)


def _bits(x: float) -> str:
    return float(x).hex()


def _plain(m: kenlm.Model, sentence: str, bos: bool, eos: bool) -> tuple:
    """score and full_scores of the vectorised twin, as bit strings."""
    return (_bits(m._score_reference(sentence, bos, eos)),
            [(_bits(p), n, o) for p, n, o in m._full_scores_reference(sentence, bos, eos)])


def _score(m: kenlm.Model, sentence: str, bos: bool, eos: bool) -> str:
    return _bits(m.score(sentence, bos, eos))


def _full_scores(m: kenlm.Model, sentence: str, bos: bool, eos: bool) -> list:
    return [(_bits(p), n, o) for p, n, o in m.full_scores(sentence, bos, eos)]


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("limit", [transitions.LIMIT, 3])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_memoised_path_equals_its_plain_twins(name, limit, data, monkeypatch):
    monkeypatch.setattr(transitions, "LIMIT", limit)
    m = model(name)
    m._clear_caches()
    sentence = data.draw(sentences(WORDS["char" if name.startswith("utf8") else "word"]))
    flags = [(bos, eos) for bos in (True, False) for eos in (True, False)]
    expected = {f: _plain(m, sentence, *f) for f in flags}
    for score_first in (True, False):  # each of score and full_scores checked cold, then warm
        for f in flags:
            m._walk.clear()
            if score_first:
                got_score = _score(m, sentence, *f)
                got = (got_score, _full_scores(m, sentence, *f))
            else:
                got_full = _full_scores(m, sentence, *f)
                got = (_score(m, sentence, *f), got_full)
            assert got == expected[f]
        fast, plain = kenlm.State(), kenlm.State()
        m.BeginSentenceWrite(fast)
        m.BeginSentenceWrite(plain)
        for word in sentence.split() + ["</s>"]:
            fast_out, plain_out = kenlm.State(), kenlm.State()
            got = m.BaseFullScore(fast, word, fast_out)
            want = m._base_reference(plain, word, plain_out)
            assert (_bits(got.log_prob), got.ngram_length, got.oov) == (_bits(want[0]), want[1], want[2])
            assert _bits(m.BaseScore(fast, word, kenlm.State())) == _bits(want[0])
            assert (fast_out.words, fast_out.backoffs) == (plain_out.words, plain_out.backoffs)
            fast, plain = fast_out, plain_out
    assert len(m._memo.by_str) <= limit and m._walk.size <= limit


def test_memo_keeps_bytes_and_str_apart():
    m = model("w5.probing")
    m.score("the king")  # memoises bytes keys
    state = kenlm.State()
    m.BeginSentenceWrite(state)
    for bad in (b"the", ["the"], None):
        with pytest.raises(TypeError):
            m.BaseScore(state, bad, kenlm.State())


@pytest.mark.parametrize("name", STEP_KINDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_fused_step_equals_the_plain_loop(name, data):
    """Walk a generated id sequence from the null or begin-sentence state with the plain step and check the
    fused step at every position: ids of common words (so that long n-grams are found), any id (OOV 0, <s>,
    </s> and rare words among them), and contexts of every length up to order - 1."""
    m = model(name)
    search, step = m._search, make_step(m._search)
    common = [m._index(w.encode("utf-8")) for w in WORDS["char" if name.startswith("utf8") else "word"]]
    any_id = st.integers(0, m._file.header.counts[0] - 1)
    ids = data.draw(st.lists(st.one_of(st.sampled_from(common), any_id,
                                       st.sampled_from([0, m._bos, m._eos])), max_size=25))
    words, backoffs = (m._bos_words, m._bos_backoffs) if data.draw(st.booleans()) else ((), ())
    for wid in ids:
        want = full_score(search, words, backoffs, wid)
        got = step(words, backoffs, wid)
        assert (_bits(got[0]), got[1], got[2]) == (_bits(want[0]), want[1], want[2])
        assert [_bits(b) for b in got[3]] == [_bits(b) for b in want[3]]
        words, backoffs = want[2], want[3]


ROUNDS = 200


def test_threads_sharing_a_model_score_as_alone(monkeypatch):
    """Two threads scoring on one model while its memo is cleared every few transitions (and the interpreter
    switches threads as often as it can): every score equals the plain twin's."""
    monkeypatch.setattr(transitions, "LIMIT", 3)
    m = model("w5.probing")
    lines = [line for line in sentences_for("w5.probing") if line.strip()][:40]
    want = [_bits(m._score_reference(line)) for line in lines]
    got: dict[int, list[str]] = {}

    def run(k: int) -> None:
        got[k] = [_bits(m.score(line)) for line in (lines if k == 0 else lines[::-1])]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(ROUNDS):  # a race shows in a few rounds of many: run enough that one round would catch it
            got.clear()
            threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert got == {0: want, 1: want[::-1]}
    finally:
        sys.setswitchinterval(old)
