"""ngram.kenlm against the real `kenlm` module, live: generated sentences (vocabulary words, unseen words,
`<s>`/`</s>`, KenLM's separators and non-separators) through full_scores, score, perplexity, BaseFullScore
chains (probability, length, OOV, state hash) and `in`, on probing, trie, quantised and compressed files."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.kenlm as ours
from tests.kenlm.cases import FIXTURES
from tests.peers import require_peer

KINDS = ["w3.arpa.gz", "w3.probing", "w3.q8b8.trie", "w5.a22.trie", "w5.q4b3.trie", "w3nounk.trie",
         "utf8.q8a22.trie"]
_cache: dict = {}


def models(name: str):
    kenlm = require_peer("kenlm")
    if name not in _cache:
        path = str(FIXTURES / name)
        _cache[name] = (ours.Model(path), kenlm.Model(path), kenlm)
    return _cache[name]


def sentences(vocab: list[str]):
    word = st.one_of(st.sampled_from(vocab), st.sampled_from(["<s>", "</s>", "<unk>", "zzq", "THE", ""]),
                     st.text(alphabet="ab▁é\u00a0", min_size=1, max_size=4))
    sep = st.sampled_from([" ", "  ", "\t", "\n", "\x0b", "\x0c", "\r"])
    return st.lists(st.tuples(word, sep), max_size=25).map(lambda parts: "".join(w + s for w, s in parts))


VOCAB = {"word": "the king of and a my lord , . ' to thou is not".split(), "char": list("thea▁ns.,Wo")}


@pytest.mark.parametrize("name", KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_sentences_score_as_kenlm(name, data):
    mine, real, kenlm = models(name)
    sentence = data.draw(sentences(VOCAB["char" if name.startswith("utf8") else "word"]))
    for bos in (True, False):
        for eos in (True, False):
            assert list(mine.full_scores(sentence, bos, eos)) == list(real.full_scores(sentence, bos, eos))
            assert mine.score(sentence, bos, eos).hex() == real.score(sentence, bos, eos).hex()
    assert mine.perplexity(sentence) == real.perplexity(sentence)
    a, b = ours.State(), kenlm.State()
    mine.BeginSentenceWrite(a)
    real.BeginSentenceWrite(b)
    for word in sentence.split() + ["</s>"]:
        a2, b2 = ours.State(), kenlm.State()
        x, y = mine.BaseFullScore(a, word, a2), real.BaseFullScore(b, word, b2)
        assert (x.log_prob, x.ngram_length, x.oov) == (y.log_prob, y.ngram_length, y.oov)
        assert hash(a2) == hash(b2)
        assert mine.BaseScore(a, word, ours.State()) == x.log_prob  # in_state is left as it was
        a, b = a2, b2
        assert (word in mine) == (word in real)


@pytest.mark.parametrize("name", ["w3.probing", "w5.trie"])
def test_api_surface_matches(name):
    mine, real, kenlm = models(name)
    assert mine.order == real.order and mine.path == real.path and isinstance(mine.path, bytes)
    assert repr(mine) == repr(real)
    for word in ["<s>", "</s>", "<unk>", "", "the", "zzq"]:
        assert (word in mine) == (word in real) and (word.encode() in mine) == (word.encode() in real)
    s, t = ours.State(), kenlm.State()
    assert hash(s) == hash(t) == 0
    mine.NullContextWrite(s)
    assert s == ours.State() and copy.copy(s) == s
    with pytest.raises(TypeError):
        mine.BaseScore(s, b"the", ours.State())
    with pytest.raises(TypeError):
        ours.Model(FIXTURES / name)  # a Path, as kenlm: str or bytes only
    assert isinstance(ours.LanguageModel(str(FIXTURES / name)), ours.Model)
