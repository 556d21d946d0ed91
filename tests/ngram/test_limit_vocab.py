"""--limit-vocab-file with (modified) Kneser-Ney is lmplz's --limit_vocab_file: the n-grams holding an unlisted
word are pruned at every order (its unigram too) after counting, with the discounts of the whole corpus, the
pruned mass moving to the backoffs. Checked against an lmplz fixture, and on generated corpora against the
unlimited model (same discounts, exactly its n-grams without unlisted words) and normalisation."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngram import load_ngram, train_ngram
from ngram.counting import BOS_ID
from ngram.train import read_vocab_file
from tests.ngram.ngram_helpers import FIXTURES, arpa_entries
from tests.ngram.test_ngram_kenlm import assert_same_arpa

CHARS = FIXTURES / "limit_chars.txt"
CHARS_VOCAB = FIXTURES / "limit_chars.vocab"


def test_char_model_matches_lmplz(tmp_path):
    """lmplz -o 4 --limit_vocab_file: 18 of 60 unigrams stay, and every n-gram with another character goes."""
    model = train_ngram(CHARS, order=4, tokenizer="whitespace", limit_vocab=read_vocab_file(str(CHARS_VOCAB)))
    assert model.warnings == []
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "limit_chars.o4.arpa")


def test_chunked_counting_gives_the_same_model(tmp_path):
    """--memory counts in sorted runs; the pruning happens after counting, so the model is the same."""
    words = read_vocab_file(str(CHARS_VOCAB))
    model = train_ngram(CHARS, order=4, tokenizer="whitespace", limit_vocab=words, memory="1M",
                        temp_dir=tmp_path)
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "limit_chars.o4.arpa")


def test_other_smoothings_map_unlisted_words_to_unk(tmp_path):
    """Witten-Bell has no lmplz counterpart: unlisted words become `<unk>` and are counted (SRILM's -vocab -unk)."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\nc b a\n", encoding="utf-8")
    model = train_ngram(corpus, order=2, smoothing="witten-bell", tokenizer="whitespace", limit_vocab=["a", "b"])
    model.save(tmp_path / "m.arpa")
    assert "b <unk>" in arpa_entries(tmp_path / "m.arpa")


corpora = st.lists(st.lists(st.sampled_from("abcdefg"), max_size=9).map(" ".join), min_size=1, max_size=25)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=corpora, listed=st.sets(st.sampled_from("abcdefgz")), order=st.integers(2, 5),
       smoothing=st.sampled_from(["modified-kneser-ney", "kneser-ney"]),
       prune=st.sampled_from([None, [0, 1], [0, 0, 1]]))
def test_pruned_model_is_the_full_model_without_unlisted_words(tmp_path, lines, listed, order, smoothing, prune):
    """Also with --prune: the count cutoffs and the word list prune independently, as in adjust_counts.cc."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    full = train_ngram(corpus, order=order, smoothing=smoothing, tokenizer="whitespace", prune=prune)
    limited = train_ngram(corpus, order=order, smoothing=smoothing, tokenizer="whitespace", prune=prune,
                          limit_vocab=sorted(listed) or ["z"])
    assert limited.info.get("discounts") == full.info.get("discounts")  # lmplz counts before it prunes
    full.save(tmp_path / "full.arpa")
    limited.save(tmp_path / "limited.arpa")
    allowed = set(listed) | {"<unk>", "<s>", "</s>"}
    expected = {k for k in arpa_entries(tmp_path / "full.arpa") if set(k.split(" ")) <= allowed}
    assert set(arpa_entries(tmp_path / "limited.arpa")) == expected
    assert set(limited.vocab.tokens) == {k for k in expected if " " not in k}
    for context in [[BOS_ID], *([i] for i in range(len(limited.vocab)) if i != BOS_ID)]:
        p = np.exp(limited.next_logprobs(context))  # sums to 1 over the kept words
        assert abs(p.sum() - 1.0) < 1e-6, (context, p.sum())


def test_npz_keeps_the_pruned_model(tmp_path):
    """The .npz holds the backoff tables (its counts alone could not say which words were unlisted)."""
    model = train_ngram(CHARS, order=4, tokenizer="whitespace", limit_vocab=read_vocab_file(str(CHARS_VOCAB)))
    model.save(tmp_path / "m.npz")
    back = load_ngram(tmp_path / "m.npz")
    back.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "limit_chars.o4.arpa")
