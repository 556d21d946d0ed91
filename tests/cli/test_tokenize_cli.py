"""`tkit tokenize` / `tkit detokenize`: line-for-line output, formats, built-ins, parallel == serial, errors."""
from __future__ import annotations

import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.tokenizers_kit.trained import held_out, trained, trained_path
from tokenizers_kit import parallel
from tokenizers_kit.long_lines import cut_finder, iter_work
from tokenizers_kit.parallel import BlockEncoder, map_blocks

TEXT = "To be, or not to be:\n\n  that is the question 🎉\r\nWhether 'tis nobler\nno final newline"


def test_ids_one_line_per_input_line_and_detokenize_inverts(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    result = run_tkit("tokenize", "-t", str(trained_path("bpe")), str(src))
    assert result.code == 0, result.err
    lines = result.out.split("\n")
    assert len(lines) == 5 and lines[-1]  # the last input line has no "\n", nor has its output line
    tok = trained("bpe")
    expected = TEXT.split("\n")  # "\r" is part of its line's text
    assert lines == [" ".join(map(str, tok.encode_ids(line))) for line in expected]
    assert lines[1] == ""  # an empty line stays an empty line
    ids = tmp_path / "ids.txt"
    ids.write_text(result.out, encoding="utf-8")
    back = run_tkit("detokenize", "-t", str(trained_path("bpe")), str(ids), "-o", str(tmp_path / "back.txt"))
    assert back.code == 0, back.err
    assert (tmp_path / "back.txt").read_bytes() == TEXT.encode("utf-8")


def test_stdin_stdout_and_tokens_format():
    result = run_tkit("tokenize", "-t", str(trained_path("bpe")), "--format", "tokens", stdin="Hello  world\n")
    assert result.code == 0, result.err
    tok = trained("bpe")
    assert result.out == " ".join(tok.tokenize("Hello  world")) + "\n"


@pytest.mark.parametrize("name", ["wordpiece", "unigram", "sentencepiece", "char"])
def test_every_trained_algo_tokenizes(name, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(held_out()[:200]) + "\n", encoding="utf-8")
    result = run_tkit("tokenize", "-t", str(trained_path(name)), str(src), "-o", str(tmp_path / "out.txt"))
    assert result.code == 0, result.err
    out = (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[:-1]
    tok = trained(name)
    assert out == [" ".join(map(str, tok.encode_ids(t))) for t in held_out()[:200]]


def test_builtin_tokenizers():
    char = run_tkit("tokenize", "--tokenizer", "char", stdin="ab c\n")
    assert char.out == "a b ▁ c\n"  # tokens by default for built-ins; a space shows as ▁
    ids = run_tkit("tokenize", "--tokenizer", "char", "--format", "ids", stdin="ab c\n日\n")
    assert ids.out == "97 98 32 99\n26085\n"  # code points
    back = run_tkit("detokenize", "--tokenizer", "char", stdin=ids.out)
    assert back.out == "ab c\n日\n"
    ws = run_tkit("tokenize", "--tokenizer", "whitespace", stdin="  a  b\tc \n")
    assert ws.out == "a b c\n"
    assert run_tkit("detokenize", "--tokenizer", "whitespace", stdin="a  b c\n").out == "a b c\n"
    no_ids = run_tkit("tokenize", "--tokenizer", "whitespace", "--format", "ids", stdin="a b\n")
    assert_one_line_error(no_ids, "no fixed vocabulary", "--format tokens")


def test_detokenize_bad_ids_name_the_line(tmp_path):
    path = str(trained_path("bpe"))
    bad = run_tkit("detokenize", "-t", path, stdin="1 2 3\n4 five 6\n")
    assert_one_line_error(bad, "line 2", "'five'")
    out = tmp_path / "o.txt"
    big = run_tkit("detokenize", "-t", path, "-o", str(out), stdin="1 2\n\n999999\n")
    assert_one_line_error(big, "line 3", "999999")
    assert not out.exists()
    neg = run_tkit("detokenize", "--tokenizer", "char", stdin="-5\n")
    assert_one_line_error(neg, "line 1")


def test_corrupt_tokenizer_files(tmp_path):
    text = trained_path("bpe").read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[:1000], encoding="utf-8")
    out = tmp_path / "out.txt"
    assert_one_line_error(run_tkit("tokenize", "-t", str(cut), "-o", str(out), stdin="hi\n"), "truncated")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(text.replace('"type": "BPE"', '"type": "Markov"'), encoding="utf-8")
    assert_one_line_error(run_tkit("tokenize", "-t", str(wrong), stdin="hi\n"), "Markov")
    assert_one_line_error(run_tkit("tokenize", "-t", str(tmp_path / "nope.json"), stdin="hi\n"),
                          "neither a file nor a built-in")
    assert_one_line_error(run_tkit("detokenize", "-t", str(cut), stdin="1\n"), "truncated")
    assert not out.exists()


def test_invalid_utf8_input_and_missing_output_dir(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xc3\x28\n")
    out = tmp_path / "out.txt"
    result = run_tkit("tokenize", "-t", str(trained_path("bpe")), str(bad), "-o", str(out))
    assert_one_line_error(result, "invalid UTF-8", "byte offset 3")
    assert not out.exists()
    result = run_tkit("tokenize", "-t", str(trained_path("bpe")), str(bad), "-o", str(tmp_path / "x" / "o.txt"))
    assert_one_line_error(result, "output directory")


def test_parallel_equals_serial_and_is_ordered(tmp_path, monkeypatch):
    text = "\n".join(held_out()) + "\n"
    tok = trained("bpe")
    encoder = BlockEncoder(tok, "ids")

    def items() -> list:  # many small items through the pool
        return list(iter_work(iter([text]), cut_finder(tok), 2000))
    serial = "".join(r[0] for r in map_blocks(encoder, items(), processes=1))
    pooled = list(map_blocks(encoder, items(), processes=2))
    assert len(pooled) > 10
    assert "".join(r[0] for r in pooled) == serial
    usage = parallel.PoolUsage()
    lazily = "".join(r[0] for r in map_blocks(encoder, items(), processes=2, start_after=20000, usage=usage))
    assert lazily == serial and usage.processes == 2
    small = parallel.PoolUsage()  # an input smaller than start_after never starts the pool
    assert "".join(r[0] for r in map_blocks(encoder, items(), 2, len(text) + 1, small)) == serial
    assert small.processes == 1
    src = tmp_path / "in.txt"
    src.write_text(text, encoding="utf-8")
    cli = run_tkit("tokenize", "-t", str(trained_path("bpe")), str(src), "-j", "2")
    assert cli.code == 0 and cli.out == serial


def test_work_items_cut_on_line_boundaries():
    block = "aaaa\nbb\ncccccc\nd"
    items = list(iter_work(iter([block]), None, 3))
    assert "".join(t for t, _ in items) == block and all(t.endswith("\n") for t, _ in items[:-1])
    assert not any(c for _, c in items)
