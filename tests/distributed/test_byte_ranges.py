"""Byte ranges read every line of a file exactly once, whatever the cut points (no cluster needed)."""
from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenizers_kit import byte_ranges
from tokenizers_kit.byte_ranges import (
    ByteRange,
    iter_range_bytes,
    iter_range_text,
    split_ranges,
)
from tokenizers_kit.errors import CorpusError

# lines with CRLF, empty lines, multi-byte characters; the file may lack its final newline
LINE = st.text(alphabet=st.sampled_from(list("ab \té\r") + ["\u2603", "\U0001F600"]), max_size=12)


def read_all(ranges: list[ByteRange]) -> bytes:
    return b"".join(raw for rng in ranges for _, raw in iter_range_bytes(rng))


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=30), final_newline=st.booleans(), size=st.integers(1, 40),
       block=st.sampled_from([3, 7, 1 << 22]))
def test_ranges_cover_every_line_once(tmp_path_factory, lines, final_newline, size, block):
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path = tmp_path_factory.mktemp("r") / "c.txt"
    path.write_bytes(text.encode("utf-8"))
    old = byte_ranges.READ_BLOCK
    byte_ranges.READ_BLOCK = block  # small blocks put the cut points inside a read as well as across reads
    try:
        ranges = split_ranges([str(path)], size)
        assert read_all(ranges) == text.encode("utf-8")
        # every range's text starts on a line start and decodes (cuts never split a UTF-8 sequence)
        assert "".join(t for r in ranges for t, _ in iter_range_text(r)) == text
    finally:
        byte_ranges.READ_BLOCK = old


def test_gzip_is_one_range(tmp_path):
    path = tmp_path / "c.txt.gz"
    path.write_bytes(gzip.compress("a b\nc d\n".encode()))
    ranges = split_ranges([str(path)], 1)
    assert len(ranges) == 1 and ranges[0].whole
    assert read_all(ranges) == b"a b\nc d\n"


def test_invalid_utf8_names_the_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nmore \xff here\n")
    with pytest.raises(CorpusError, match=r"invalid UTF-8 at byte offset 13 \(byte 0xff\)"):
        [t for r in split_ranges([str(path)], 4) for t in iter_range_text(r)]


def test_stdin_and_missing_files_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="stdin"):
        split_ranges(["-"], 1 << 20)
    with pytest.raises(CorpusError, match="does not exist"):
        split_ranges([str(tmp_path / "nope.txt")], 1 << 20)
