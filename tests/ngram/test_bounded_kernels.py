"""The bounded estimator's fast kernels against their plain twins, on generated keys of every width."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram.bounded_counts import order_keys, order_rows, sentence_chunks
from ngram.counting import BOS_ID, EOS_ID, count_tables
from ngram.extsort import id_keys, packed_words, sort_order, sort_records


@st.composite
def id_rows(draw):
    """(rows, n): ids of one width (up to 31 bits), few distinct values so that equal keys and shared
    prefixes occur, optionally pre-sorted in runs as a merge sees them."""
    n = draw(st.integers(1, 7))
    bits = draw(st.integers(1, 31))
    size = draw(st.integers(0, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pool = rng.integers(0, 1 << bits, size=draw(st.integers(1, 6)), dtype=np.int64)
    rows = rng.choice(pool, size=(size, n)).astype(np.int32)
    runs = draw(st.integers(0, 4))
    if runs and size:
        cuts = np.sort(rng.integers(0, size, runs))
        rows = np.concatenate([p[np.lexsort(p.T[::-1])] for p in np.split(rows, cuts)])
    return rows, n, bool(runs)


@settings(max_examples=300, deadline=None)
@given(case=id_rows())
def test_sort_order_sorts_as_the_byte_keys_do(case):
    rows, n, presorted = case
    keys = id_keys(rows.reshape(-1, n))
    perm = sort_order(keys, presorted)
    assert sorted(perm.tolist()) == list(range(keys.size))  # a permutation
    want = sorted(map(tuple, rows.tolist()))  # the plain twin: Python's tuple order
    assert [tuple(r) for r in rows[perm].tolist()] == want


@settings(max_examples=100, deadline=None)
@given(case=id_rows())
def test_packed_words_compare_as_the_rows(case):
    rows, n, _ = case
    words = packed_words(id_keys(rows.reshape(-1, n)))
    packed = list(zip(*(w.tolist() for w in words))) if rows.size else []
    for i in range(len(packed) - 1):
        a, b = tuple(rows[i].tolist()), tuple(rows[i + 1].tolist())
        assert (packed[i] < packed[i + 1]) == (a < b) and (packed[i] == packed[i + 1]) == (a == b)


@settings(max_examples=100, deadline=None)
@given(case=id_rows(), presorted=st.booleans())
def test_sort_records_sums_equal_keys(case, presorted):
    rows, n, _ = case
    records = np.empty(rows.shape[0], [("k", f"S{4 * n}"), ("c", np.int64)])
    records["k"] = id_keys(rows.reshape(-1, n))
    records["c"] = np.arange(1, rows.shape[0] + 1)
    out = sort_records(records, "c", presorted)
    want: dict = {}
    for r, c in zip(map(tuple, rows.tolist()), records["c"].tolist()):
        want[r] = want.get(r, 0) + c
    got = [(tuple(np.frombuffer(k.ljust(4 * n, b"\0"), ">u4").tolist()), int(c)) for k, c in
           zip(out["k"].tolist(), out["c"].tolist())]
    assert got == sorted(want.items())


# ---- ARPA lines: the vectorised formatter against Python string formatting ------------------------------------------
def _number(v: float) -> str:
    """The plain twin of number_records: 6 decimals, "0" for zero, "-99" for log 0."""
    if v <= -99.0:
        return "-99"
    micro = int(np.rint(-min(max(v, -99.999999), 0.0) * 1e6))
    return "0" if micro == 0 else f"-{micro // 1_000_000}.{micro % 1_000_000:06d}"


@settings(max_examples=60, deadline=None)
@given(vocab=st.lists(st.text(min_size=1, max_size=12).filter(lambda t: not any(c.isspace() for c in t)),
                      min_size=1, max_size=30, unique=True),
       chunks=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 40), st.booleans(), st.integers(0, 2**32 - 1)),
                       min_size=1, max_size=5))
def test_format_lines_against_python_formatting(vocab, chunks):
    """Consecutive chunks of any size on one VocabBytes (its reused workspace grows and is rewritten)."""
    from ngram.arpa_format import VocabBytes, format_lines
    vb = VocabBytes(vocab)
    for n, m, with_backoff, seed in chunks:
        rng = np.random.default_rng(seed)
        ids = rng.integers(0, len(vocab), (m, n)).astype(np.int32)
        prob = np.choose(rng.integers(0, 4, m), [-rng.random(m) * 120, np.zeros(m), np.full(m, -99.0),
                                                  -rng.random(m) * 1e-7])
        backoff = -rng.random(m) * 3 if with_backoff else None
        want = "".join(_number(prob[i]) + "\t" + " ".join(vocab[w] for w in ids[i])
                       + ("\t" + _number(backoff[i]) if with_backoff else "") + "\n" for i in range(m))
        assert format_lines(ids, prob, backoff, vb).decode("utf-8") == want


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.lists(st.integers(3, 40), max_size=12), min_size=1, max_size=25),
       order=st.integers(1, 7), spare=st.integers(0, 5000))
def test_order_keys_equal_the_prefix_walk(lines, order, spare):
    """order_keys (each order's rows from the order below's) against order_rows (each row's prefix links walked
    down to the first word), at any vocabulary size (`spare` unseen ids widen the key arithmetic)."""
    stream = np.array([t for line in lines for t in (BOS_ID, *line, EOS_ID)], dtype=np.int32)
    index = count_tables(stream, order, int(stream.max()) + 1 + spare).index
    got = dict(order_keys(index))
    assert sorted(got) == list(range(2, order + 1))
    for n in range(2, order + 1):
        assert got[n].tobytes() == id_keys(order_rows(index, n)).tobytes(), n


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(0, 30), min_size=1, max_size=60), tokens=st.integers(2, 80),
       block=st.integers(1, 8))
def test_sentence_chunks_cut_whole_sentences_of_about_the_size(lengths, tokens, block):
    """The chunks put back together are the stream; each starts a sentence; each but the last holds as many whole
    sentences as fit in the size (at least half of it), or, when none ends between half the size and the size,
    runs to the first sentence start past it.
    The blocks come as the encoder gives them: `block` whole sentences each."""
    sentences = [np.array([BOS_ID, *([7] * n), EOS_ID], dtype=np.int32) for n in lengths]
    blocks = [np.concatenate(sentences[i:i + block]) for i in range(0, len(sentences), block)]
    stream = np.concatenate(blocks)
    chunks = list(sentence_chunks(blocks, lambda: tokens))
    assert np.array_equal(np.concatenate(chunks), stream)
    assert all(c.size and c[0] == BOS_ID for c in chunks)
    for chunk, after in zip(chunks[:-1], chunks[1:]):
        inner = np.flatnonzero(chunk == BOS_ID)
        if chunk.size <= tokens:
            assert chunk.size >= tokens // 2
            next_sentence = int(np.flatnonzero(after == EOS_ID)[0]) + 1
            assert chunk.size + next_sentence > tokens  # as large as whole sentences allow
        else:  # no sentence start between half the size and the size: cut at the first start past it
            assert not np.any((inner >= tokens // 2) & (inner <= tokens))
            assert after[0] == BOS_ID
