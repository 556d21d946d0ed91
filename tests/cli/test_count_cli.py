"""`tkit count` against plain Python Counters, its output formats, and its one-line errors."""
from __future__ import annotations

import pytest

from ngram.escape import unescape_token
from ngram.npzfile import load_npz
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.ngram.ngram_helpers import TRICKY_TEXT, counter_windows, kenlm_sentences


def parse(text: str) -> dict[tuple[str, ...], int]:
    out = {}
    for line in text.splitlines():
        count, tokens = line.split("\t")
        out[tuple(unescape_token(t) for t in tokens.split(" "))] = int(count)
    return out


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TRICKY_TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_count_agrees_with_counter(order, corpus, tmp_path):
    """KenLM padding: N-1 <s> before each line, </s> after; every count, saved as text."""
    out = tmp_path / "counts.tsv"
    result = run_tkit("count", str(corpus), "--order", str(order), "--tokenizer", "whitespace", "-o", str(out))
    assert result.code == 0, result.err
    assert result.out == ""
    expected = counter_windows(kenlm_sentences(TRICKY_TEXT), order)
    saved = out.read_text(encoding="utf-8")
    assert parse(saved) == dict(expected)
    counts = [int(line.split("\t")[0]) for line in saved.splitlines()]
    assert counts == sorted(counts, reverse=True)
    assert f"{sum(expected.values()):,} {order}-grams" in result.err


def test_top_k_and_memory_budget(corpus):
    plain = run_tkit("count", str(corpus), "-n", "2", "--tokenizer", "whitespace", "--top", "3")
    chunked = run_tkit("count", str(corpus), "-n", "2", "--tokenizer", "whitespace", "--top", "3", "--memory", "1M")
    assert plain.code == chunked.code == 0
    assert plain.out == chunked.out
    expected = counter_windows(kenlm_sentences(TRICKY_TEXT), 2).most_common(1)[0]
    first = plain.out.splitlines()[0]
    assert len(plain.out.splitlines()) == 3 and first == f"{expected[1]}\t{' '.join(expected[0])}"
    default = run_tkit("count", str(corpus), "-n", "1", "--tokenizer", "whitespace")
    assert len(default.out.splitlines()) == min(20, len(counter_windows(kenlm_sentences(TRICKY_TEXT), 1)))


def test_char_tokens_are_escaped_and_npz_output(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("ab a\\b\n", encoding="utf-8")
    result = run_tkit("count", str(path), "-n", "2", "--tokenizer", "char", "--top", "10")
    assert "1\tb \\s" in result.out.splitlines() and "1\t\\\\ b" in result.out.splitlines()
    sentences = [list("ab a\\b")]
    assert parse(result.out) == dict(counter_windows(sentences, 2))
    out = tmp_path / "counts.npz"
    assert run_tkit("count", str(path), "-n", "3", "--tokenizer", "char", "-o", str(out)).code == 0
    meta, arrays = load_npz(out, "tkit-counts")
    assert meta["order"] == 3 and meta["tokenizer"] == "char"
    assert arrays["rows"].shape == (len(arrays["counts"]), 3) and int(arrays["counts"].sum()) == 7


def test_vocab_size_limit(corpus):
    result = run_tkit("count", str(corpus), "-n", "1", "--tokenizer", "whitespace", "--vocab-size", "5", "--top", "50")
    tokens = {k[0] for k in parse(result.out)}
    assert "<unk>" in tokens and len(tokens) <= 4  # <s> is never counted at order 1


@pytest.mark.parametrize("args, fragment", [
    (["missing.txt", "-n", "2", "--tokenizer", "whitespace"], "does not exist"),
    (["EMPTY", "-n", "2", "--tokenizer", "whitespace"], "empty"),
    (["BAD", "-n", "2", "--tokenizer", "whitespace"], "byte offset 4"),
    (["CORPUS", "-n", "0", "--tokenizer", "whitespace"], "--order"),
    (["CORPUS", "-n", "2", "--tokenizer", "whitespace", "-o", "nodir/x.tsv"], "does not exist"),
    (["CORPUS", "-n", "2", "--tokenizer", "whitespace", "--memory", "lots"], "--memory"),
    (["CORPUS", "-n", "2"], "tokenizer"),
])
def test_errors(args, fragment, corpus, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc \xff\n")
    names = {"EMPTY": str(empty), "BAD": str(bad), "CORPUS": str(corpus), "missing.txt": str(tmp_path / "missing.txt"),
             "nodir/x.tsv": str(tmp_path / "nodir" / "x.tsv")}
    result = run_tkit("count", *[names.get(a, a) for a in args])
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "nodir").exists()
