"""The memoised fast path (`score`, `BaseScore`, `BaseFullScore`) against its plain twins (the vectorised
whole-sentence lookup and the scalar step with no memo), on generated sentences over probing, trie, quantised and
ARPA models, with the memo cold, warm, and cleared mid-sentence by a tiny limit."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.kenlm as kenlm
from ngram.kenlm import transitions
from tests.kenlm.cases import FIXTURES

KINDS = ["w3.arpa.gz", "w5.probing", "w5.trie", "w5.q4b3.trie", "w3nounk.trie", "utf8.q8a22.trie"]
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


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("limit", [transitions.LIMIT, 3])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_memoised_path_equals_its_plain_twins(name, limit, data, monkeypatch):
    monkeypatch.setattr(transitions, "LIMIT", limit)
    m = model(name)
    m._memo.clear()
    sentence = data.draw(sentences(WORDS["char" if name.startswith("utf8") else "word"]))
    for _ in range(2):  # cold, then warm
        for bos in (True, False):
            for eos in (True, False):
                assert _bits(m.score(sentence, bos, eos)) == _bits(m._score_reference(sentence, bos, eos))
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
    assert len(m._memo.by_str) <= limit and len(m._memo.by_bytes) <= limit


def test_memo_keeps_bytes_and_str_apart():
    m = model("w5.probing")
    m.score("the king")  # memoises bytes keys
    state = kenlm.State()
    m.BeginSentenceWrite(state)
    for bad in (b"the", ["the"], None):
        with pytest.raises(TypeError):
            m.BaseScore(state, bad, kenlm.State())
