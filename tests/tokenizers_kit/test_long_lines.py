"""Long lines cut into parts (tokenizers_kit.long_lines) give exactly the ids of the whole line."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenizers_kit.trained import trained
from tokenizers_kit import normalizers as nz
from tokenizers_kit import pre_tokenizers as pt
from tokenizers_kit.errors import CorpusError
from tokenizers_kit.long_lines import cut_finder, iter_pieces, iter_work, last_space_cut
from tokenizers_kit.parallel import BlockEncoder, LineJoiner
from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer

# Words, spaces of several kinds, punctuation, digits, accents, CJK, emoji, and text that looks like the
# tokenizers' own symbols (the space marker, byte pieces, special tokens).
PIECES = ["▁", "<0x41>", "<0x", ">", "<s>", "</s>", "<unk>", "<|endoftext|>", "the", " ", "  ", "King", "'s", "'", ",", ".", "123", "4", "\t", "\r", "\x0b", "\x85", "\u2028",
          "é", "e\u0301", "日本", "🎉", "Σ", "ß", "-", "!?", "\x00", "\x1c", "\u3000", "a", "z"]
LINES = st.lists(st.sampled_from(PIECES), min_size=1, max_size=120).map("".join)
ALGOS = ["bpe", "wordpiece", "unigram", "sentencepiece", "sentencepiece-bpe", "char"]


def windowed(tok, fmt: str, text: str, size: int, window: int) -> tuple[str, int]:
    """Output of encoding `text` as work items of the given sizes (what `tkit tokenize` writes)."""
    out: list[str] = []
    join = LineJoiner(out.append)
    items = list(iter_work(iter([text]), cut_finder(tok), size, window))
    encoder = BlockEncoder(tok, fmt)
    for item in items:
        result = encoder(item)
        join(result[0], result[4])
    return "".join(out), len(items)


@pytest.mark.parametrize("name", ALGOS)
def test_every_trained_pipeline_is_windowable(name):
    assert trained(name).windowable() in ("space", "any")


@pytest.mark.parametrize("name", ALGOS)
@settings(max_examples=40, deadline=None)
@given(line=LINES, size=st.integers(4, 40), window=st.integers(2, 12))
def test_cut_line_encodes_as_the_whole_line(name, line, size, window):
    tok = trained(name)
    plain = " ".join(map(str, tok.encode_ids(line)))
    got, items = windowed(tok, "ids", line, size, window)
    assert got == plain
    if len(line) >= 2 * size and last_space_cut(line[: len(line) // 2]):
        assert items > 1  # the line was really cut


@pytest.mark.parametrize("name", ["bpe", "sentencepiece"])
@settings(max_examples=20, deadline=None)
@given(lines=st.lists(LINES, min_size=1, max_size=6), size=st.integers(4, 30))
def test_tokens_format_and_many_lines(name, lines, size):
    tok = trained(name)
    text = "\n".join(lines)
    got, _ = windowed(tok, "tokens", text, size, 5)
    assert got == "\n".join(" ".join(t.replace(" ", "▁") for t in tok.tokenize(line)) for line in lines)


@settings(max_examples=40, deadline=None)
@given(line=LINES, size=st.integers(2, 20))
def test_builtins_cut_anywhere_or_at_spaces(line, size):
    char = CharTokenizer()
    assert windowed(char, "ids", line, size, 3)[0] == " ".join(str(ord(c)) for c in line)
    ws = WhitespaceTokenizer()
    assert windowed(ws, "tokens", line, size, 3)[0] == " ".join(ws.tokenize(line))


def test_unproven_pipelines_keep_lines_whole():
    tok = trained("bpe")
    assert tok.windowable() == "space"
    cases = [
        lambda t: setattr(t, "pre_tokenizer", pt.Split({"Regex": r"\w+ \w+|."}, "Isolated")),
        lambda t: setattr(t, "pre_tokenizer", pt.ByteLevel(use_regex=False)),
        lambda t: setattr(t, "normalizer", nz.Strip()),
        lambda t: setattr(t, "normalizer", nz.Replace({"Regex": "a b"}, "x")),
        lambda t: setattr(t, "normalizer", nz.Sequence([nz.Lowercase(), nz.Prepend("▁")])),
        lambda t: t.add_tokens(["new york"]),
    ]
    spm = [lambda t: setattr(t, "normalizer", nz.Sequence([nz.Replace("x", "\u2581"), t.normalizer]))]
    for change, name in [(c, "bpe") for c in cases] + [(c, "sentencepiece-bpe") for c in spm]:
        tok = trained(name)
        change(tok)
        tok._reset_caches()
        assert tok.windowable() is None
        assert cut_finder(tok) is None


def test_a_line_with_no_safe_cut_stays_one_item():
    line = "x" * 50
    items = list(iter_work(iter([line[:20], line[20:]]), last_space_cut, 8, 4))
    assert items == [(line, False)]


@given(data=st.binary(max_size=300) | st.text(max_size=200).map(str.encode), nbytes=st.integers(1, 7))
@settings(max_examples=80, deadline=None)
def test_pieces_rejoin_to_the_file_or_name_the_bad_byte(tmp_path_factory, data, nbytes):
    path = tmp_path_factory.mktemp("p") / "t.txt"
    path.write_bytes(data)
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        with pytest.raises(CorpusError, match=f"invalid UTF-8 at byte offset {err.start} \\(line {line},"):
            list(iter_pieces(str(path), nbytes))
        return
    assert "".join(iter_pieces(str(path), nbytes)) == expected


def test_invalid_utf8_names_offset_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\nfine\nbad \xff here\n")
    with pytest.raises(CorpusError, match=r"byte offset 12 \(line 3, byte 0xff\)"):
        list(iter_pieces(str(path), 4))


@pytest.mark.parametrize("name", ["sentencepiece", "unigram", "bpe"])
def test_a_word_too_long_to_cache_inside_a_cut_line(name):
    """A 300-char word makes the SentencePiece-style Unigram encode a text whole (no cache): the cut line
    still gives the whole line's ids."""
    tok = trained(name)
    line = "To be, or not to be " * 20 + "x" * 300 + " that is the question" * 20
    assert windowed(tok, "ids", line, 64, 40)[0] == " ".join(map(str, tok.encode_ids(line)))
