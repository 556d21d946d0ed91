"""`tkit detokenize` cuts long ids lines into parts (tokenizers_kit.decode_windows): the text is the whole
line's decode, for any ids, including byte tokens, specials and ids whose bytes are not valid UTF-8."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli.tokenize_cmd as tokenize_cmd
from tests.cli.clirunner import run_tkit
from tests.tokenizers_kit.trained import trained, trained_path
from tokenizers_kit.decode_windows import continuation

ALGOS = ["bpe", "sentencepiece", "char"]


@pytest.mark.parametrize("name", ALGOS)
def test_the_trained_decoders_may_be_cut(name):
    assert continuation(trained(name).decoder) is not None


@pytest.mark.parametrize("name", ALGOS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), piece=st.integers(4, 30))
def test_cut_ids_lines_decode_as_whole_lines(tmp_path_factory, monkeypatch, name, data, piece):
    tok = trained(name)
    size = tok.get_vocab_size()
    ids = st.lists(st.integers(0, size - 1).filter(lambda i: tok.id_to_token(i) is not None), max_size=40)
    lines = data.draw(st.lists(ids, min_size=1, max_size=4))
    final_newline = data.draw(st.booleans())
    text = "\n".join(" ".join(map(str, line)) for line in lines) + ("\n" if final_newline else "")
    tmp = tmp_path_factory.mktemp("dt")
    (tmp / "ids.txt").write_bytes(text.encode("utf-8"))
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", piece)
    result = run_tkit("detokenize", "-t", str(trained_path(name)), str(tmp / "ids.txt"), "-o", str(tmp / "o.txt"))
    assert result.code == 0, result.err
    expected = "\n".join(tok.decode(line, skip_special_tokens=False) for line in lines)
    expected += "\n" if final_newline else ""
    assert (tmp / "o.txt").read_bytes() == expected.encode("utf-8", "surrogatepass")


def test_char_builtin_cut_anywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", 6)
    text = "To be, or not\r to be 🎉 日本"
    (tmp_path / "ids.txt").write_text(" ".join(str(ord(c)) for c in text), encoding="utf-8")
    result = run_tkit("detokenize", "--tokenizer", "char", str(tmp_path / "ids.txt"), "-o", str(tmp_path / "o"))
    assert result.code == 0, result.err
    assert (tmp_path / "o").read_bytes() == text.encode("utf-8")


def test_a_bad_id_in_a_later_part_names_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", 8)
    (tmp_path / "ids.txt").write_text("1 2\n" + "5 " * 30 + "x 7\n", encoding="utf-8")
    result = run_tkit("detokenize", "-t", str(trained_path("bpe")), str(tmp_path / "ids.txt"))
    assert result.code == 1 and "line 2" in result.err and "'x'" in result.err


@pytest.mark.parametrize("name", ["bpe", "sentencepiece"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(["🎉", "日本", "é", "ß", "a", " ", "  ", "’", "\u0301", "Σ", "King"]),
                     max_size=40).map("".join), piece=st.integers(4, 24))
def test_multibyte_characters_split_over_tokens(tmp_path_factory, monkeypatch, name, text, piece):
    """Characters whose bytes span several byte-level / <0xXX> tokens: a part never starts inside one."""
    tok = trained(name)
    tmp = tmp_path_factory.mktemp("mb")
    (tmp / "ids.txt").write_text(" ".join(map(str, tok.encode_ids(text))), encoding="utf-8")
    monkeypatch.setattr(tokenize_cmd, "PIECE_CHARS", piece)
    result = run_tkit("detokenize", "-t", str(trained_path(name)), str(tmp / "ids.txt"), "-o", str(tmp / "o.txt"))
    assert result.code == 0, result.err
    assert (tmp / "o.txt").read_bytes() == text.encode("utf-8")
