"""Corpus reading (UTF-8 validation with byte offsets, streaming), atomic output, built-in tokenizers."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenizers_kit import corpus
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer


def test_invalid_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\nstill good \xff here\n")
    with pytest.raises(CorpusError, match=r"byte offset 21 \(byte 0xff\)"):
        list(corpus.iter_lines([str(path)]))


def test_invalid_utf8_offset_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "READ_BLOCK", 7)
    path = tmp_path / "bad.txt"
    data = "héllo wörld\n".encode() * 3 + b"\xc3("
    path.write_bytes(data)
    with pytest.raises(CorpusError, match=f"byte offset {len(data) - 2}"):
        list(corpus.iter_lines([str(path)]))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
       block=st.integers(1, 16))
def test_blocks_reassemble_the_text_for_any_block_size(tmp_path_factory, text, block):
    path = tmp_path_factory.mktemp("c") / "t.txt"
    path.write_bytes(text.encode("utf-8"))
    old = corpus.READ_BLOCK
    corpus.READ_BLOCK = block
    try:
        blocks = list(corpus.iter_text_blocks(str(path)))
    finally:
        corpus.READ_BLOCK = old
    assert "".join(blocks) == text
    assert all(b.endswith("\n") for b in blocks[:-1])


def test_lines_strip_crlf_and_keep_empty_lines(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"a b\r\n\nc\n")
    assert list(corpus.iter_lines([str(path)])) == ["a b", "", "c"]


def test_missing_and_empty_corpora(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        list(corpus.iter_lines([str(tmp_path / "nope.txt")]))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    with pytest.raises(CorpusError, match="is empty"):
        corpus.require_nonempty([str(empty)])


def test_atomic_open_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_open(target) as handle:
        handle.write("done")
    assert target.read_text() == "done"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_atomic_open_refuses_missing_directory(tmp_path):
    with pytest.raises(TkitError, match="does not exist"):
        with atomic_open(tmp_path / "no" / "out.txt"):
            pass


def test_whitespace_tokenizer_splits_exactly_like_kenlm():
    tok = WhitespaceTokenizer()
    # KenLM splits on NUL, TAB, LF, CR and space only; \v, \f and Unicode spaces stay inside words.
    assert tok.tokenize("a\tb\x00c  d\r\ne\x0bf g\u00a0h\x0c") == ["a", "b", "c", "d", "e\x0bf", "g\u00a0h\x0c"]
    assert tok.tokenize("   ") == []


@given(st.text())
def test_char_tokenizer_round_trips(text):
    tok = CharTokenizer()
    assert tok.detokenize(tok.tokenize(text)) == text
