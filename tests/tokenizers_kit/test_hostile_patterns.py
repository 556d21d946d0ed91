"""A regex read from a file runs under a time limit (tokenizers_kit.patterns): a catastrophically backtracking
pattern in any stage that takes one (Split pre-tokenizer, Replace normalizer, Replace decoder) ends in a
ModelFileError that says so, within the limit; the well-known patterns run as before. Cases generated."""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tokenizers_kit import patterns
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.pre_tokenizers import GPT2_PATTERN
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

LIMIT = 0.2


@pytest.fixture(autouse=True)
def short_limit(monkeypatch):
    monkeypatch.setattr(patterns, "BASE_SECONDS", LIMIT)


@pytest.fixture(scope="module")
def base() -> dict:
    return json.loads(train_tokenizer(["abc abd a b\n" * 20], "bpe", vocab_size=270).to_str())


def with_stage(base: dict, stage: str, pattern: str) -> Tokenizer:
    data = json.loads(json.dumps(base))
    regex_pattern = {"Regex": pattern}
    if stage == "split":
        data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": regex_pattern, "behavior": "Isolated", "invert": False},
            data["pre_tokenizer"]]}
    elif stage == "normalizer":
        data["normalizer"] = {"type": "Replace", "pattern": regex_pattern, "content": "x"}
    else:
        data["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": regex_pattern, "content": "x"}, data["decoder"]]}
    return Tokenizer.from_str(json.dumps(data))


@settings(max_examples=12, deadline=None)
@given(char=st.sampled_from("ab"), n=st.integers(min_value=34, max_value=60),
       stage=st.sampled_from(["split", "normalizer", "decoder"]))
def test_backtracking_patterns_stop_with_a_clear_error(base, char, n, stage):
    tok = with_stage(base, stage, f"({char}|{char})*$")
    text = char * n + "!"
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match="backtracks"):
        if stage == "decoder":
            tok.decoder.decode([text])  # the decoder sees tokens: one long one
        else:
            tok.encode(text)
    assert time.perf_counter() - start < LIMIT + 5  # bounded: the limit plus a little


def test_the_cli_says_it_in_one_line(base, tmp_path):
    path = tmp_path / "evil.json"
    path.write_text(with_stage(base, "split", "(a|a)*$").to_str(), encoding="utf-8")
    text = tmp_path / "t.txt"
    text.write_text("a" * 40 + "!\n", encoding="utf-8")
    assert_one_line_error(run_tkit("tokenize", "-t", str(path), str(text)), "backtracks")


def test_invalid_patterns_are_file_errors(base):
    for bad in ["(", "[a-", "a)", "(?P<1>a)"]:
        with pytest.raises(ModelFileError, match="invalid regex"):
            with_stage(base, "split", bad)


def test_well_known_patterns_have_no_limit():
    assert not isinstance(patterns.compile_from_file(GPT2_PATTERN, "t"), patterns.TimedPattern)
    assert isinstance(patterns.compile_from_file(GPT2_PATTERN + "|x", "t"), patterns.TimedPattern)
