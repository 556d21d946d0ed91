"""What the loader fuzzers (test_fuzz_*.py under `make fuzz`) found, kept as fixed cases: each file must be one
ModelFileError, not a TypeError/ValueError at load or a tokenizer that fails when it encodes."""
from __future__ import annotations

import json

import pytest

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.tokenizer import Tokenizer

BASE = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None, "post_processor": None,
        "decoder": None, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}}


def with_(key: str, value: object) -> str:
    return json.dumps({**BASE, key: value})


FOUND = {
    "a model type that is an object": (with_("model", {**BASE["model"], "type": {"x": 1}}), "unsupported model"),
    "a stage type that is a list": (with_("decoder", {"type": ["Fuse"]}), "decoder must be an object"),
    "a Replace decoder pattern null": (with_("decoder", {"type": "Replace", "pattern": None, "content": " "}),
                                       "pattern must be"),
    "a Replace normalizer pattern 5": (with_("normalizer", {"type": "Replace", "pattern": 5, "content": " "}),
                                       "pattern must be"),
    "a Split pattern list": (with_("pre_tokenizer", {"type": "Split", "pattern": [1], "behavior": "Isolated"}),
                             "pattern must be"),
    "template ids that are objects": (with_("post_processor", {
        "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "a"}}, {"Sequence": {"id": "A"}}],
        "special_tokens": {"a": {"id": "a", "ids": [{"Regex": "("}], "tokens": ["a"]}}}), "'ids' \\(integers\\)"),
    "a Bert cls id of -1": (with_("post_processor", {"type": "BertProcessing", "sep": ["a", 0], "cls": ["b", -1]}),
                            "'cls' must be a \\[token, id\\] pair"),
    "an id of 5000 digits": (json.dumps(BASE).replace('"b": 1', '"b": ' + "1" * 5000), "thousands of digits"),
    "a NaN dropout": (json.dumps(BASE).replace('"merges"', '"dropout": NaN, "merges"'), "NaN"),
    "a vocab key twice": (json.dumps(BASE).replace('"ab": 2', '"ab": 2, "a": 3'), "appears twice"),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_fuzz_findings_are_file_errors(tmp_path, case):
    text, message = FOUND[case]
    (tmp_path / "t.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match=message) as err:
        Tokenizer.from_file(tmp_path / "t.json")
    assert "\n" not in str(err.value)


def test_the_base_loads():
    assert Tokenizer.from_str(json.dumps(BASE)).encode_ids("ab") == [2]
