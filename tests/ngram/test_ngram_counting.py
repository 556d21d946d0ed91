"""Counting: the NumPy paths agree with plain Python Counters, in memory and within a tiny memory budget."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.chunked_counts import (
    count_windows_chunked,
    pack_ids32,
    parse_memory,
    unpack_ids32,
)
from ngram.counting import (
    CorpusEncoder,
    count_tables,
    encode_corpus,
    limit_vocabulary,
    padded_windows,
    rows_as_stream,
    unique_inverse,
)
from ngram.ngram_counts import count_ngrams
from ngram.packing import bits_per_id, pack_rows, unique_counts, unpack_rows
from tests.ngram.ngram_helpers import (
    FIXTURES,
    TRICKY_TEXT,
    counter_occurrences,
    counter_windows,
    kenlm_sentences,
    table_dict,
)
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer


def encode(text: str, tokenizer=None, **kw):
    enc = CorpusEncoder(tokenizer or WhitespaceTokenizer(), **kw)
    return encode_corpus([enc.encode_text(text)], enc)


def test_stream_is_kenlm_padding_with_first_appearance_ids():
    corpus = encode("b a\n\nc b\n")
    assert corpus.vocab.tokens == ["<unk>", "<s>", "</s>", "b", "a", "c"]
    assert corpus.stream.tolist() == [1, 3, 4, 2, 1, 2, 1, 5, 3, 2]  # an empty line is still <s> </s>
    assert (corpus.sentences, corpus.tokens) == (3, 4)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_windows_match_counter(order, tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TRICKY_TEXT, encoding="utf-8")
    counts = count_ngrams([str(path)], order, WhitespaceTokenizer())
    assert counts.as_dict() == dict(counter_windows(kenlm_sentences(TRICKY_TEXT), order))


@pytest.mark.parametrize("order", [1, 3, 6])
def test_all_order_tables_match_occurrence_counter(order):
    corpus = encode(TRICKY_TEXT)
    tables = count_tables(corpus.stream, order, len(corpus.vocab))
    sentences = kenlm_sentences(TRICKY_TEXT)
    for n in range(1, order + 1):
        assert table_dict(tables, corpus.vocab, n) == dict(counter_occurrences(sentences, n)), n
    # suffix links point at the n-gram without its first word
    index = tables.index
    for n in range(2, order + 1):
        words = index.word(n)
        assert np.array_equal(index.word(n - 1)[index.suffix(n)], words)


def test_char_tokenizer_keeps_spaces_and_handles_crlf():
    corpus = encode("ab a\r\nb\n", CharTokenizer())
    assert corpus.vocab.tokens[3:] == ["a", "b", " "]
    assert corpus.stream.tolist() == [1, 3, 4, 5, 3, 2, 1, 4, 2]


def test_reserved_tokens_are_refused_or_skipped():
    with pytest.raises(CorpusError, match="<s>"):
        encode("a <s> b\n")
    corpus = encode("a <s> b </s>\n", skip_symbols=True)
    assert corpus.vocab.decode(corpus.stream) == ["<s>", "a", "b", "</s>"]


def test_vocabulary_limit_maps_rare_words_to_unk():
    corpus = limit_vocabulary(encode("a a a b b c\nd a\n"), max_size=5)
    assert corpus.vocab.tokens == ["<unk>", "<s>", "</s>", "a", "b"]
    assert corpus.vocab.decode(corpus.stream) == ["<s>", "a", "a", "a", "b", "b", "<unk>", "</s>",
                                                  "<s>", "<unk>", "a", "</s>"]
    listed = limit_vocabulary(encode("a b c\n"), keep=["c", "zzz"])
    assert listed.vocab.tokens == ["<unk>", "<s>", "</s>", "c"]
    with pytest.raises(TkitError):
        limit_vocabulary(encode("a\n"), max_size=2)


@given(st.lists(st.integers(0, 2**20), min_size=1, max_size=300))
def test_unique_inverse_equals_numpy(values):
    keys = np.array(values, dtype=np.uint64) * np.uint64(977)
    ref_u, ref_i, ref_c = np.unique(keys, return_inverse=True, return_counts=True)
    for block in (7, 1 << 20):  # several blocks and one
        uniq, inv, cnt = unique_inverse(keys.copy(), block=block)  # it sorts in place
        assert np.array_equal(uniq, ref_u) and np.array_equal(inv, ref_i) and np.array_equal(cnt, ref_c)


@given(st.integers(1, 8), st.integers(2, 70000), st.data())
@settings(max_examples=40)
def test_packed_rows_round_trip_and_sort_lexicographically(order, vocab, data):
    rows = np.array(data.draw(st.lists(st.lists(st.integers(0, vocab - 1), min_size=order, max_size=order),
                                       min_size=1, max_size=40)), dtype=np.int32)
    bits = bits_per_id(vocab)
    keys = pack_rows(rows, bits)
    assert np.array_equal(unpack_rows(keys, order, bits), rows)
    assert np.array_equal(unpack_ids32(pack_ids32(rows), order), rows)
    uniq, counts = unique_counts(keys)
    ref_rows, ref_counts = np.unique(rows, axis=0, return_counts=True)  # lexicographic
    assert np.array_equal(unpack_rows(uniq, order, bits), ref_rows)
    assert np.array_equal(counts, ref_counts)


@pytest.mark.parametrize("order", [2, 5])
def test_chunked_counting_equals_in_memory(order, tmp_path):
    """A tiny budget forces many sorted runs on disk; the merged counts are the in-memory counts."""
    text = (FIXTURES / "shakespeare_words.txt").read_text(encoding="utf-8")[:60000]
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    enc = CorpusEncoder()
    blocks = [enc.encode_text(chunk) for chunk in _split_lines(text, 40)]
    rows, counts, runs = count_windows_chunked(blocks, order, memory=1 << 20, temp_dir=tmp_path)
    assert runs > 3
    memory = count_ngrams([str(path)], order, WhitespaceTokenizer())
    assert np.array_equal(rows, memory.rows) and np.array_equal(counts, memory.counts)
    assert list(tmp_path.iterdir()) == [path]  # runs cleaned up
    # re-counting the windows gives every order's table, as counting the stream does
    tokens, weights, reset = rows_as_stream(rows, counts)
    from_rows = count_tables(tokens, order, len(enc.vocab), weights, reset)
    corpus = encode(text)
    direct = count_tables(corpus.stream, order, len(corpus.vocab))
    for n in range(1, order + 1):
        assert np.array_equal(from_rows.index.keys[n], direct.index.keys[n])
        assert np.array_equal(from_rows.counts[n], direct.counts[n])


def _split_lines(text: str, parts: int) -> list[str]:
    lines = text.splitlines(keepends=True)
    step = max(1, len(lines) // parts)
    return ["".join(lines[i:i + step]) for i in range(0, len(lines), step)]


def test_padded_windows_order_one_and_parse_memory():
    corpus = encode("a b\n")
    assert padded_windows(corpus.stream, 1).ravel().tolist() == [3, 4, 2]
    assert parse_memory("2G") == 2 << 30 and parse_memory("500M") == 500 << 20 and parse_memory("1.5GB") == 3 << 29
    with pytest.raises(TkitError):
        parse_memory("lots")
    with pytest.raises(TkitError):
        parse_memory("10k")


def test_chunked_training_with_vocabulary_limit_equals_in_memory(tmp_path):
    from ngram import train_ngram

    path = tmp_path / "c.txt"
    path.write_text((FIXTURES / "shakespeare_words.txt").read_text(encoding="utf-8")[:40000], encoding="utf-8")
    a = train_ngram(path, order=3, vocab_size=300)
    b = train_ngram(path, order=3, vocab_size=300, memory="1M", temp_dir=tmp_path)
    assert b.info["runs"] > 1 and a.vocab.tokens == b.vocab.tokens and len(a.vocab) == 300
    for n in range(1, 4):
        assert np.array_equal(a.counts.index.keys[n], b.counts.index.keys[n])
        assert np.array_equal(a.counts.counts[n], b.counts.counts[n])
    counted = count_ngrams([str(path)], 3, WhitespaceTokenizer(), vocab_size=300, memory="1M", temp_dir=tmp_path)
    in_memory = count_ngrams([str(path)], 3, WhitespaceTokenizer(), vocab_size=300)
    assert counted.as_dict() == in_memory.as_dict()


# ---- the fast paths against plain Python ----------------------------------------------------------------------
WORDS = st.sampled_from(["a", "b", "c", "the", "cat", "<unk>", "x" * 40])
ODD_WORDS = st.sampled_from(["a", "b", "c", "<s>", "</s>", "", "\n", "<unk>"])


def reference_encode(sentences, skip_symbols=False, vocab=None):
    """The `<s> ... </s>` stream and vocabulary of token lists, one token at a time: `<s>`/`</s>` refused (or
    dropped with skip_symbols), empty tokens dropped, a "\\n" token ends the line, new words get the next id
    (or `<unk>` with a fixed vocabulary)."""
    tokens = list(vocab) if vocab else ["<unk>", "<s>", "</s>"]
    ids = {t: i for i, t in enumerate(tokens)}
    stream, line = [], [1]
    for sentence in sentences:
        for t in [*sentence, "\n"]:
            if t in ("<s>", "</s>"):
                if not skip_symbols:
                    raise CorpusError(t)
                continue
            if t == "\n":
                stream += [*line, 2]
                line = [1]
            elif t:
                if t not in ids and vocab is None:
                    ids[t] = len(tokens)
                    tokens.append(t)
                line.append(ids.get(t, 0))
    return tokens, stream


@given(st.lists(st.lists(ODD_WORDS, max_size=6), min_size=1, max_size=12), st.booleans(), st.integers(1, 4))
def test_sentence_batches_encode_like_one_token_at_a_time(sentences, skip_symbols, batch):
    try:
        ref_tokens, ref_stream = reference_encode(sentences, skip_symbols)
    except CorpusError:
        with pytest.raises(CorpusError, match="--skip-symbols"):
            enc = CorpusEncoder(skip_symbols=skip_symbols)
            list(enc.encode_sentences(sentences, batch=batch))
        return
    for given_as in (list, tuple, iter):  # lists, tuples and sentences without a length
        enc = CorpusEncoder(skip_symbols=skip_symbols)
        corpus = encode_corpus(enc.encode_sentences([given_as(s) for s in sentences], batch=batch), enc)
        assert corpus.vocab.tokens == ref_tokens
        assert corpus.vocab.index == {t: i for i, t in enumerate(ref_tokens)}
        assert corpus.stream.tolist() == ref_stream and corpus.stream.dtype == np.int32
        assert enc.lines == ref_stream.count(1)


def test_sentences_with_a_fixed_vocabulary_map_other_words_to_unk():
    from ngram.vocab import Vocabulary

    vocab = Vocabulary(["<unk>", "<s>", "</s>", "b", "a"])
    sentences = [["a", "zz", "b"], [], ["q", "<unk>"]]
    enc = CorpusEncoder(vocab=vocab)
    corpus = encode_corpus(enc.encode_sentences(sentences), enc)
    assert corpus.vocab.tokens == vocab.tokens and corpus.vocab.index == vocab.index
    assert corpus.stream.tolist() == reference_encode(sentences, vocab=vocab.tokens)[1]


def _tables_as_arrays(tables):
    index = tables.index
    return ([index.keys[n] for n in range(1, tables.order + 1)], tables.counts[1:],
            [index.prefix(n) for n in range(2, tables.order + 1)], [index.suffix(n) for n in range(2, tables.order + 1)])


@given(st.lists(st.lists(WORDS, max_size=7), min_size=1, max_size=15), st.integers(1, 6), st.integers(1, 6))
@settings(max_examples=60)
def test_joint_sort_counts_like_one_sort_per_order(sentences, order, joint_cap):
    """One sort for the first m orders (then one per order) gives the tables of one sort per order, and both
    give the plain Counter of n-gram occurrences; prefix and suffix links agree."""
    import ngram.counting as counting

    enc = CorpusEncoder()
    corpus = encode_corpus(enc.encode_sentences(sentences), enc)
    v = len(corpus.vocab)
    real_joint, real_min = counting.joint_orders, counting.JOINT_MIN
    try:
        counting.JOINT_MIN = 99
        per_order = count_tables(corpus.stream, order, v)
        counting.JOINT_MIN = 2
        counting.joint_orders = lambda size, order, vocab_size: min(real_joint(size, order, vocab_size), joint_cap)
        joint = count_tables(corpus.stream, order, v)
    finally:
        counting.joint_orders, counting.JOINT_MIN = real_joint, real_min
    default = count_tables(corpus.stream, order, v)
    for tables in (joint, default):
        for mine, ref in zip(_tables_as_arrays(tables), _tables_as_arrays(per_order)):
            for a, b in zip(mine, ref):
                assert a.dtype == b.dtype and np.array_equal(a, b)
    index = joint.index
    for n in range(1, order + 1):
        assert table_dict(joint, corpus.vocab, n) == dict(counter_occurrences(sentences, n)), n
        if n < order:
            assert np.array_equal(index.is_context(n), np.bincount(index.prefix(n + 1), minlength=index.size(n)) > 0)
    for n in range(2, order + 1):
        assert np.array_equal(index.prefix(n), index.keys[n] // np.uint64(v))
        assert np.array_equal(index.word(n - 1)[index.suffix(n)], index.word(n))


def test_joint_sort_is_used_where_it_fits():
    from ngram.counting import joint_orders

    assert joint_orders(375_000, 3, 14_500) == 3  # 3 x 14 bits of words + 19 bits of position
    assert joint_orders(1_460_000, 5, 27_000) == 2  # 15-bit words, 21-bit positions: one sort per order
    assert joint_orders(2, 5, 10) == 2  # no n-gram longer than the stream
