"""The compact Viterbi for long Unigram chunks makes exactly the model's decisions."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenizers_kit.trained import trained
from tokenizers_kit.models.unigram import UnigramModel
from tokenizers_kit.unigram_stream import path_nodes, unigram_ids, unigram_text

# Letters the models know, ones they do not (UNK runs, byte fallback), and '▁' where the model expects it.
ALPHABET = list("abcdehilmnorstuwyABT',.!?-") + ["日", "🎉", "\x00", "é", "ß"]


def chunks(meta: bool) -> st.SearchStrategy[str]:
    text = st.lists(st.sampled_from(ALPHABET + (["▁"] if meta else [])), min_size=0, max_size=400).map("".join)
    return text.map(lambda t: "▁" + t)


@pytest.mark.parametrize("name", ["unigram", "sentencepiece"])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), check_every=st.integers(1, 30), batch=st.integers(1, 12))
def test_same_path_and_ids_as_the_model(name, data, check_every, batch):
    model = trained(name).model
    assert isinstance(model, UnigramModel)
    chunk = data.draw(chunks(name == "sentencepiece"))
    path, _ = model._viterbi(chunk)
    assert list(path_nodes(model, chunk, check_every)) == path
    ids = [t[0] for t in model._to_tokens(chunk, path)]
    assert unigram_ids(model, chunk, batch) == ids
    assert unigram_text(model, chunk, batch) == " ".join(map(str, ids))


def test_no_unk_id_is_an_error():
    model = UnigramModel([("a", -1.0), ("b", -2.0)], unk_id=None)
    assert unigram_ids(model, "ab" * 10) == [0, 1] * 10
    with pytest.raises(Exception, match="has no piece"):
        unigram_ids(model, "abc")


@pytest.mark.parametrize("name", ["unigram", "sentencepiece"])
def test_a_long_chunk_through_the_tokenizer(name, monkeypatch):
    """Chunks past LONG_CHUNK take the compact path in every encode entry point, with the same ids."""
    import tokenizers_kit.unigram_stream as us

    tok = trained(name)
    line = "Thereforeletusgo,andnotbeforgotten!" * 40 + " and then some words" * 5
    plain = tok.encode_ids(line)
    monkeypatch.setattr(us, "LONG_CHUNK", 64)
    short = trained(name)  # a fresh tokenizer: no cached chunk
    assert short.encode_ids(line) == plain
    assert short.encode_lines([line]) == [" ".join(map(str, plain))]


PIECES = st.text(alphabet="ab", min_size=1, max_size=5)
SCORES = st.sampled_from([-1.0, -1.5, -2.0, -3.0, -0.5])  # few values: exact ties between paths are common


@settings(max_examples=300, deadline=None)
@given(vocab=st.dictionaries(PIECES, SCORES, min_size=1, max_size=12), chunk=st.text(alphabet="abc", max_size=60),
       check_every=st.integers(1, 8))
def test_random_small_models_with_ties(vocab, chunk, check_every):
    """Tiny vocabularies with tied scores and pieces whose best segmentation depends on what comes later."""
    model = UnigramModel([("<unk>", 0.0), *vocab.items()], unk_id=0)
    path, _ = model._viterbi(chunk)
    assert list(path_nodes(model, chunk, check_every)) == path
    assert unigram_ids(model, chunk, 1) == [t[0] for t in model._to_tokens(chunk, path)]
