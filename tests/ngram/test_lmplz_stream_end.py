"""lmplz's count-of-counts rule for the n-grams open when its adjusted-count pass ends (ngram/smoothing/stream_end):
they are counted under their raw count, not their adjusted count. Guarded without lmplz by

- a character-level order-8 ARPA made by lmplz (closed-form discounts; the rule moves the unigram discounts
  from 0.375 0.875 2.7 to lmplz's 0.428571 0.0714285 2.71429);
- generated corpora whose count-of-counts are checked against a plain-Python re-enactment of lmplz's pass:
  padded windows sorted in suffix order, the last one's suffixes counted raw.
"""
from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from ngram import train_ngram
from ngram.counting import CorpusEncoder, count_tables, encode_corpus
from ngram.smoothing.kn_common import all_count_of_counts
from ngram.smoothing.stream_end import last_suffix_chain
from tests.ngram.ngram_helpers import FIXTURES
from tests.ngram.test_ngram_kenlm import assert_same_arpa

BOS, EOS = "<s>", "</s>"


def test_verse_chars_order8_matches_lmplz(tmp_path):
    """`lmplz -o 8` on 150 lines of verse, one character per token (spaces as `▁`)."""
    model = train_ngram(FIXTURES / "verse_chars.txt", order=8, tokenizer="whitespace")
    assert model.warnings == []
    assert model.info["discounts"][1] == [0.428571, 0.071429, 2.714286]  # lmplz: D1=0.428571 D2=0.0714285 D3+=2.71429
    model.save(tmp_path / "m.arpa")
    assert_same_arpa(tmp_path / "m.arpa", FIXTURES / "verse_chars.o8.arpa.gz")


def word_ids(sentences: list[list[str]]) -> dict[str, int]:
    """KenLM's numbering: <unk> 0, <s> 1, </s> 2, then words by first appearance."""
    ids = {"<unk>": 0, BOS: 1, EOS: 2}
    for sentence in sentences:
        for w in sentence:
            ids.setdefault(w, len(ids))
    return ids


def lmplz_count_of_counts(sentences: list[list[str]], order: int) -> list[list[int]]:
    """n_0..n_4 per order (index n-1) as lmplz's AdjustCounts records them, in plain Python."""
    windows: Counter = Counter()
    for s in sentences:
        padded = [BOS] * (order - 1) + s + [EOS]
        windows.update(tuple(padded[i:i + order]) for i in range(len(padded) - order + 1))
    raw: list[Counter] = [Counter() for _ in range(order)]  # raw[n-1]: n-grams, at most one <s>, first
    for w, c in windows.items():
        last_bos = max((i for i, x in enumerate(w) if x == BOS), default=-1)
        for n in range(1, order - max(last_bos, 0) + 1):
            raw[n - 1][w[order - n:]] += c
    left: list[Counter] = [Counter() for _ in range(order)]  # distinct left neighbours
    for n in range(2, order + 1):
        for g in raw[n - 1]:
            left[n - 2][g[1:]] += 1
    ids = word_ids(sentences)
    last = max(windows, key=lambda w: [ids[x] for x in reversed(w)])  # the end of the suffix-sorted stream
    open_at_end = set()
    for n in range(1, order):
        open_at_end.add(last[order - n:])
        if last[order - n] == BOS:
            break
    out = []
    for n in range(1, order + 1):
        nk = [0] * 5
        for g, c in raw[n - 1].items():
            counted_raw = n == order or g[0] == BOS or g in open_at_end
            k = c if counted_raw else left[n - 1][g]
            if k < 5:
                nk[k] += 1
        nk[0] += 1  # <unk> at order 1, added with count 0; a placeholder elsewhere (n_0 is never used)
        out.append(nk)
    return out


def counted(sentences: list[list[str]], order: int):
    """(encoded corpus, count tables) of the sentences, as `tkit train ngram` counts them."""
    encoder = CorpusEncoder()
    corpus = encode_corpus(encoder.encode_sentences(sentences), encoder)
    return corpus, count_tables(corpus.stream, order, len(corpus.vocab))


sentences_st = st.lists(st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=12), min_size=1, max_size=25)


@given(sentences=sentences_st, order=st.integers(2, 7))
@settings(max_examples=150, deadline=None)
def test_count_of_counts_as_lmplz_records_them(sentences, order):
    _, tables = counted(sentences, order)
    ours = all_count_of_counts(tables)
    expected = lmplz_count_of_counts(sentences, order)
    for n in range(1, order + 1):
        assert ours[n][1:].tolist() == expected[n - 1][1:], n


def ngram_ids(index, n: int, i: int) -> list[int]:
    """Word ids of the order-n n-gram number i, read back through the prefix links."""
    words = []
    for m in range(n, 1, -1):
        words.append(int(index.word(m)[i]))
        i = int(index.prefix(m)[i])
    return [i, *reversed(words)]


@given(sentences=sentences_st, order=st.integers(2, 7))
@settings(max_examples=100, deadline=None)
def test_last_suffix_chain_is_the_end_of_the_suffix_sorted_stream(sentences, order):
    corpus, tables = counted(sentences, order)
    chain = last_suffix_chain(tables)
    ids = word_ids(sentences)
    assert corpus.vocab.tokens[:len(ids)] == list(ids)  # same numbering as lmplz, or the chain would differ
    padded = [[BOS] * (order - 1) + s + [EOS] for s in sentences]
    last = max((p[i:i + order] for p in padded for i in range(len(p) - order + 1)),
               key=lambda w: [ids[x] for x in reversed(w)])
    expected = []
    for n in range(1, order):
        expected.append(tuple(last[order - n:]))
        if last[order - n] == BOS:
            break
    got = [tuple(corpus.vocab.tokens[w] for w in ngram_ids(tables.index, n, i)) for n, i in enumerate(chain, 1)]
    assert got == expected
