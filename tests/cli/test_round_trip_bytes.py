"""`tkit tokenize -t T FILE | tkit detokenize -t T` gives FILE back byte for byte (lossless algorithms),
one output line per '\\n'-terminated input line, serial and parallel, long lines cut or not."""
from __future__ import annotations

import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli.tokenize_cmd as tokenize_cmd
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.tokenizers_kit.trained import trained, trained_path

# Line breaks str.splitlines() would split on, '\r' alone and in '\r\n', spaces, text, and text that looks like
# the tokenizers' own symbols (the space marker, byte pieces, special tokens).
PIECES = ["▁", "<0x41>", "<0x", ">", "<s>", "</s>", "<unk>", "<|endoftext|>", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", " ", "  ", "\t",
          "the", "King", "'s", ",", "42", "é", "e\u0301", "日本", "🎉", "\x00", "\u3000", "ß"]
FILES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=60).map("".join),
    st.sampled_from(["", "\n", "\n\n\n", "\r", "\r\n", "a", "a\n", "a\r", " ", "\n "]),
).map(lambda text: text.encode("utf-8"))
LOSSLESS = ["bpe", "sentencepiece"]


@pytest.fixture(scope="module", autouse=True)
def _trained_once():
    for name in LOSSLESS:
        trained_path(name)


def round_trip(tmp: os.PathLike, name: str, data: bytes, *extra: str) -> tuple[bytes, bytes]:
    src, ids, back = (os.path.join(tmp, n) for n in ("in.txt", "ids.txt", "back.txt"))
    with open(src, "wb") as f:
        f.write(data)
    tok = str(trained_path(name))
    result = run_tkit("tokenize", "-t", tok, src, "-o", ids, *extra)
    assert result.code == 0, result.err
    result = run_tkit("detokenize", "-t", tok, ids, "-o", back)
    assert result.code == 0, result.err
    with open(ids, "rb") as f, open(back, "rb") as g:
        return f.read(), g.read()


def expected_ids(name: str, data: bytes) -> bytes:
    tok = trained(name)
    lines = data.decode("utf-8").split("\n")
    last = lines.pop()
    out = "".join(" ".join(map(str, tok.encode_ids(line))) + "\n" for line in lines)
    return (out + " ".join(map(str, tok.encode_ids(last))) if last else out).encode("utf-8")


@pytest.mark.parametrize("name", LOSSLESS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=FILES)
def test_any_file_round_trips_serially(tmp_path_factory, name, data):
    ids, back = round_trip(tmp_path_factory.mktemp("rt"), name, data, "-j", "1")
    assert back == data
    assert ids == expected_ids(name, data)  # one output line per "\n", the last "\n" mirrored


@pytest.mark.parametrize("name", LOSSLESS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=FILES, piece=st.integers(3, 40))
def test_parallel_small_items_equal_serial(tmp_path_factory, monkeypatch, name, data, piece):
    """-j 2 with tiny work items, so the pool runs and long lines are cut into many parts."""
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", piece)
    tmp = tmp_path_factory.mktemp("rt")
    ids, back = round_trip(tmp, name, data, "-j", "2")
    assert back == data
    assert ids == expected_ids(name, data)



@pytest.mark.parametrize("name", LOSSLESS)
def test_the_pool_runs_on_small_items(tmp_path, monkeypatch, name):
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", 5)
    data = ("the King\r\n" * 20 + "a long line with no end " * 5).encode("utf-8")
    ids, back = round_trip(tmp_path, name, data, "-j", "2")
    assert back == data and ids == expected_ids(name, data)
    again = run_tkit("tokenize", "-t", str(trained_path(name)), str(tmp_path / "in.txt"), "-j", "2")
    assert "2 processes" in again.err


@pytest.mark.parametrize("name", LOSSLESS)
def test_stdin_and_fifo(tmp_path, name):
    data = "one\r\ntwo\x0bthree\u2028four\n\nlast without newline"
    ids, back = round_trip(tmp_path, name, data.encode("utf-8"))
    piped = run_tkit("tokenize", "-t", str(trained_path(name)), stdin=data)
    assert piped.code == 0 and piped.out.encode("utf-8") == ids
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(data.encode("utf-8")))
    writer.start()
    result = run_tkit("tokenize", "-t", str(trained_path(name)), str(fifo), "-o", str(tmp_path / "f.txt"))
    writer.join()
    assert result.code == 0, result.err
    assert (tmp_path / "f.txt").read_bytes() == ids


@pytest.mark.parametrize("fmt", ["ids", "tokens"])
def test_char_builtin_keeps_every_code_point(tmp_path, fmt):
    """--tokenizer char is lossless: '\\r' and other breaks are code points like any other."""
    data = "a\r\nb\x85c\u2028\n\rend"
    src = tmp_path / "in.txt"
    src.write_bytes(data.encode("utf-8"))
    out = tmp_path / "out.txt"
    result = run_tkit("tokenize", "--tokenizer", "char", "--format", fmt, str(src), "-o", str(out))
    assert result.code == 0, result.err
    lines = out.read_bytes().decode("utf-8").split("\n")
    assert len(lines) == data.count("\n") + 1
    if fmt == "ids":
        back = run_tkit("detokenize", "--tokenizer", "char", str(out), "-o", str(tmp_path / "back.txt"))
        assert back.code == 0, back.err
        assert (tmp_path / "back.txt").read_bytes() == data.encode("utf-8")


@pytest.mark.parametrize("data,line", [(b"ok\n\xff\n", 2), (b"a\nb\nc \xc3", 3), (b"\xed\xa0\x80", 1)])
def test_invalid_utf8_one_line_error_and_no_output(tmp_path, data, line):
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    out = tmp_path / "out.txt"
    result = run_tkit("tokenize", "-t", str(trained_path("bpe")), str(src), "-o", str(out))
    assert_one_line_error(result, "invalid UTF-8", f"line {line}")
    assert not out.exists()
    assert os.listdir(tmp_path) == ["in.txt"]  # no temporary file left either


def test_detokenize_invalid_utf8_names_the_line(tmp_path):
    src = tmp_path / "ids.txt"
    src.write_bytes(b"1 2\n3 \xc3\x28\n")
    out = tmp_path / "out.txt"
    result = run_tkit("detokenize", "-t", str(trained_path("bpe")), str(src), "-o", str(out))
    assert_one_line_error(result, "invalid UTF-8", "byte offset 6", "line 2")
    assert not out.exists()
