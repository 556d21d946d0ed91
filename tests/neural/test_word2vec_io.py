"""word2vec vector files: gensim loads what tkit writes and tkit loads what gensim writes (text and the binary
GoogleNews format); generated vocabularies round-trip; mutated files load or are refused with one line; a
header that promises more than the file holds is refused before the array is allocated."""
from __future__ import annotations

import tracemalloc
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from neural.similarity import most_similar
from neural.vectors_io import load_vectors
from neural.word_vectors import WordVectors
from tests.ngram.fuzz_helpers import time_bound
from tests.peers import require_peer
from tokenizers_kit.errors import TkitError

WORD = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=6)


@st.composite
def word_vectors(draw) -> WordVectors:
    words = draw(st.lists(WORD, min_size=1, max_size=8, unique=True))
    words = [w for w in words if not any(ch.isspace() for ch in w)] or ["x"]
    dim = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    return WordVectors(words, np.random.default_rng(seed).normal(0, 3, (len(words), dim)).astype(np.float32))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wv=word_vectors(), binary=st.booleans())
def test_round_trip(wv, binary, tmp_path):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    wv.save(path)
    back = load_vectors(path)
    assert back.words == wv.words
    np.testing.assert_allclose(back.vectors, wv.vectors, rtol=0 if binary else 1e-5, atol=0 if binary else 1e-5)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wv=word_vectors(), binary=st.booleans())
def test_gensim_loads_ours(wv, binary, tmp_path):
    models = require_peer("gensim.models")
    path = tmp_path / ("v.bin" if binary else "v.txt")
    wv.save(path)
    kv = models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(kv.index_to_key) == wv.words
    np.testing.assert_allclose(kv.vectors, wv.vectors, rtol=1e-5, atol=1e-5)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wv=word_vectors(), binary=st.booleans())
def test_we_load_gensims(wv, binary, tmp_path):
    models = require_peer("gensim.models")
    kv = models.KeyedVectors(vector_size=wv.dim)
    kv.add_vectors(wv.words, wv.vectors)
    path = tmp_path / ("g.bin" if binary else "g.txt")
    kv.save_word2vec_format(str(path), binary=binary)
    back = load_vectors(path)
    assert back.words == wv.words
    np.testing.assert_allclose(back.vectors, wv.vectors, rtol=1e-6, atol=1e-6)


# ---- fuzzing --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def good_file(binary: bool) -> bytes:
    import tempfile
    from pathlib import Path

    wv = WordVectors(["the", "king", "é", "a\\b"], np.arange(12, dtype=np.float32).reshape(4, 3) / 7 - 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("v.bin" if binary else "v.txt")
        wv.save(path)
        return path.read_bytes()


HEADERS = [b"4 3", b"5 3", b"3 3", b"4 2", b"4 4", b"0 3", b"4 0", b"-4 3", b"4", b"4 3 1", b"x 3", b"99999999999 3",
           b"4 99999999999", b"1000000000 1000000000", b"", b"\xef\xbb\xbf4 3", b"4\t3", b"04 03"]


@st.composite
def mutated(draw, binary: bool) -> bytes:
    data = good_file(binary)
    head, _, body = data.partition(b"\n")
    if draw(st.booleans()):
        head = draw(st.sampled_from(HEADERS))
    data = head + b"\n" + body
    kind = draw(st.sampled_from(["none", "truncate", "flip", "insert", "delete", "text"]))
    buf = bytearray(data)
    if kind == "truncate":
        buf = buf[:draw(st.integers(0, len(buf)))]
    elif kind in ("flip", "insert", "delete"):
        for _ in range(draw(st.integers(1, 4))):
            if not buf:
                break
            at = draw(st.integers(0, len(buf) - 1))
            byte = draw(st.sampled_from([0x00, 0x80, 0xFF, 0x0A, 0x0D, 0x20, 0x2D, 0x2E, 0x65, 0x6E]) | st.integers(0, 255))
            if kind == "flip":
                buf[at] = byte
            elif kind == "insert":
                buf.insert(at, byte)
            else:
                del buf[at]
    elif kind == "text" and not binary:
        lines = bytes(buf).split(b"\n")
        i = draw(st.integers(0, len(lines) - 1))
        fields = lines[i].split(b" ")
        j = draw(st.integers(0, len(fields) - 1))
        fields[j] = draw(st.sampled_from([b"nan", b"inf", b"-inf", b"1e999", b"", b"1_0", b"0x1p3", b"x", b"1,5"]))
        lines[i] = b" ".join(fields)
        buf = bytearray(b"\n".join(lines))
    return bytes(buf)


def _loads_or_refuses(path) -> str:
    with time_bound():
        try:
            wv = load_vectors(path)
        except TkitError as err:
            assert "\n" not in str(err), str(err)
            return "refused"
        assert np.isfinite(wv.vectors).all() and wv.vectors.shape == (len(wv.words), wv.dim)
        most_similar(wv, wv.words[0], top=2)
    return "ok"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.data(), binary=st.booleans())
def test_mutated_files_load_or_refuse(data, binary, tmp_path):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    path.write_bytes(data.draw(mutated(binary)))
    event(f"{'bin' if binary else 'txt'}: {_loads_or_refuses(path)}")


def test_the_unmutated_files_load(tmp_path):
    for binary in (False, True):
        path = tmp_path / ("v.bin" if binary else "v.txt")
        path.write_bytes(good_file(binary))
        assert _loads_or_refuses(path) == "ok"


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("header", [b"3000000000 300", b"1000 100000000", b"2 4611686018427387904"])
def test_a_huge_header_is_refused_before_allocating(tmp_path, binary, header):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    path.write_bytes(header + b"\n" + good_file(binary).partition(b"\n")[2])
    tracemalloc.start()
    try:
        with pytest.raises(TkitError, match="header promises"):
            load_vectors(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
