"""`tkit train tokenizer --normalization sentencepiece|nmt_nfkc` through the real entry point."""
from __future__ import annotations

import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import ALGOS


def _corpus(tmp_path) -> str:
    path = tmp_path / "verse.txt"
    verse = ["Shall I compare thee to a summer's day?", "Thou art more lovely and more temperate:"] * 40
    path.write_text("".join(("    " * (i % 3)) + line + "\n" for i, line in enumerate(verse)), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "char"])
def test_other_algorithms_say_so_and_write_nothing(algo: str, tmp_path) -> None:
    out = tmp_path / "tok.json"
    result = run_tkit("train", "tokenizer", _corpus(tmp_path), "--algo", algo, "--normalization", "sentencepiece",
                      "-o", str(out))
    assert_one_line_error(result, "--normalization sentencepiece", "--algo unigram or sentencepiece")
    assert not out.exists()


@pytest.mark.parametrize("algo", ["unigram", "sentencepiece"])
def test_indented_verse_tokenizes_as_collapsed(algo: str, tmp_path) -> None:
    out = tmp_path / "tok.json"
    result = run_tkit("train", "tokenizer", _corpus(tmp_path), "--algo", algo, "--vocab-size", "400",
                      "--normalization", "sentencepiece", "-o", str(out))
    assert result.code == 0, result.err
    tok = Tokenizer.from_file(out)
    assert tok.encode("        Thou  art\tmore ").ids == tok.encode("Thou art more").ids


def test_help_says_which_algo_keeps_what() -> None:
    result = run_tkit("train", "tokenizer", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for algo in ALGOS:
        assert f"{algo}:" in text
    assert "keeps every space" in text and "--normalization sentencepiece" in text
    assert "remove_extra_whitespaces" in text
