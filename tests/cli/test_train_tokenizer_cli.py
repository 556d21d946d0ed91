"""`tkit train tokenizer` through the real entry point: every algo, HF loads the file, bad input -> one line."""
from __future__ import annotations

import json

import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.peers import require_peer
from tests.tokenizers_kit.trained import held_out, train_file
from tokenizers_kit.tokenizer import Tokenizer


@pytest.mark.parametrize("algo, extra", [
    ("bpe", []), ("bpe", ["--pattern", "gpt4", "--lowercase"]), ("wordpiece", ["--lowercase"]), ("unigram", []),
    ("sentencepiece", []), ("sentencepiece", ["--model", "bpe", "--normalization", "nfkc"]), ("char", []),
])
def test_train_every_algo_and_hf_loads_it(algo, extra, tmp_path):
    out = tmp_path / "tok.json"
    size = [] if algo == "char" else ["--vocab-size", "700"]
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", algo, *size, *extra, "-o", str(out))
    assert result.code == 0, result.err
    assert result.out == ""  # results go to the file, the summary to stderr
    assert f"trained {algo} tokenizer: vocab" in result.err
    tok = Tokenizer.from_file(out)
    assert tok.name == algo
    if algo != "char":
        assert tok.get_vocab_size() == 700
    hf = require_peer("tokenizers").Tokenizer.from_file(str(out))
    texts = held_out()[:300]
    assert [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)] == tok.encode_batch_ids(texts)


def test_special_tokens_lowercase_and_min_frequency(tmp_path):
    out = tmp_path / "wp.json"
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "wordpiece", "--vocab-size", "600",
                      "--special-tokens", "[PAD],[CLS]", "--special-tokens", "[SEP] [MASK]", "--lowercase",
                      "--min-frequency", "3", "-o", str(out))
    assert result.code == 0, result.err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [t["content"] for t in data["added_tokens"]] == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    assert [t["id"] for t in data["added_tokens"]] == [0, 1, 2, 3, 4]
    assert data["normalizer"]["lowercase"] is True
    tok = Tokenizer.from_file(out)
    assert tok.encode_ids("HAMLET") == tok.encode_ids("hamlet")


def test_vocab_size_smaller_than_the_alphabet(tmp_path):
    for algo, size in (("bpe", "100"), ("wordpiece", "20"), ("unigram", "20"), ("sentencepiece", "200"),
                       ("char", "10")):
        out = tmp_path / f"{algo}.json"
        result = run_tkit("train", "tokenizer", str(train_file()), "--algo", algo, "--vocab-size", size,
                          "-o", str(out))
        assert_one_line_error(result, "vocab size")
        assert result.code == 1 and not out.exists()


def test_invalid_utf8_names_the_byte_offset(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nsecond \xff\xfe line\n")
    out = tmp_path / "t.json"
    result = run_tkit("train", "tokenizer", str(bad), "--algo", "bpe", "-o", str(out))
    assert_one_line_error(result, "invalid UTF-8", "byte offset 17")
    assert not out.exists()


def test_empty_and_missing_corpus(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    out = tmp_path / "t.json"
    assert_one_line_error(run_tkit("train", "tokenizer", str(empty), "--algo", "unigram", "-o", str(out)), "empty")
    assert_one_line_error(run_tkit("train", "tokenizer", str(tmp_path / "nope.txt"), "--algo", "bpe", "-o",
                                   str(out)), "does not exist")
    assert not out.exists()


def test_output_directory_is_checked_before_training(tmp_path):
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "bpe", "-o",
                      str(tmp_path / "no" / "such" / "dir" / "t.json"))
    assert_one_line_error(result, "output directory", "does not exist")


def test_usage_errors_exit_2(tmp_path):
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "bytepair", "-o", str(tmp_path / "t.json"))
    assert_one_line_error(result, "bytepair")
    assert result.code == 2
    assert run_tkit("train", "tokenizer", str(train_file()), "-o", str(tmp_path / "t.json")).code == 2  # no --algo
    assert run_tkit("train", "tokenizer", str(train_file()), "--algo", "bpe", "--vocab-size", "0",
                    "-o", str(tmp_path / "t.json")).code == 2


def test_train_from_stdin(tmp_path):
    out = tmp_path / "c.json"
    result = run_tkit("train", "tokenizer", "-", "--algo", "char", "-o", str(out), stdin="abc\ncab\n")
    assert result.code == 0, result.err
    tok = Tokenizer.from_file(out)
    assert sorted(tok.get_vocab()) == ["\n", "<unk>", "a", "b", "c"]


def test_wordpiece_score_option(tmp_path):
    """--wordpiece-score picks the merge rule: likelihood (default) learns frequent words, ratio rare pieces."""
    vocabs = {}
    for score in ("likelihood", "ratio"):
        out = tmp_path / f"{score}.json"
        result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "wordpiece", "--vocab-size", "700",
                          "--lowercase", "--wordpiece-score", score, "-o", str(out))
        assert result.code == 0, result.err
        vocabs[score] = json.loads(out.read_text(encoding="utf-8"))["model"]["vocab"]
    assert "the" in vocabs["likelihood"] and vocabs["likelihood"] != vocabs["ratio"]
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "wordpiece", "--wordpiece-score", "pmi",
                      "-o", str(tmp_path / "x.json"))
    assert result.code != 0 and "pmi" in result.err
