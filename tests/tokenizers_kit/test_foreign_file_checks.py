"""GPT-2 vocab.json + merges.txt and tiktoken files get the checks tokenizer.json gets, read by the same code
(json_fields.parse_json, foreign.read_text_file / file_lines): BOM and CRLF are harmless, line separators other
than \\n stay inside tokens, and each kind of corruption is one ModelFileError naming the file."""
from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.foreign import save_gpt2, save_tiktoken
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

CORPUS = ["the cat sat on the mat\n" * 20, "It's a dog's life, 1234.\n" * 10]


def trained(tmp_path):
    tok = train_tokenizer(CORPUS, "bpe", vocab_size=290)
    save_gpt2(tok, tmp_path / "vocab.json", tmp_path / "merges.txt")
    save_tiktoken(tok, tmp_path / "r.tiktoken")
    return tok


@settings(max_examples=15, deadline=None)
@given(bom=st.booleans(), crlf=st.booleans(), trailing=st.integers(0, 3), text=st.text(max_size=40))
def test_bom_crlf_and_trailing_newlines_change_nothing(tmp_path_factory, bom, crlf, trailing, text):
    tmp = tmp_path_factory.mktemp("f")
    tok = trained(tmp)
    for name in ("vocab.json", "merges.txt", "r.tiktoken"):
        raw = (tmp / name).read_bytes() + b"\n" * trailing
        (tmp / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + (raw.replace(b"\n", b"\r\n") if crlf else raw))
    want = tok.encode_ids(text)
    assert Tokenizer.from_gpt2(tmp / "vocab.json").encode_ids(text) == want
    assert Tokenizer.from_tiktoken(tmp / "r.tiktoken").encode_ids(text) == want
    assert Tokenizer.from_file(tmp / "r.tiktoken").encode_ids(text) == want


VOCAB_DAMAGE = {
    "a key twice": (lambda t: '{"a": 0, ' + t[1:].replace('"a": 0', '"a": 5', 1) if '"a": ' in t else
                    '{"a": 0, "a": 1, ' + t[1:], "appears twice"),
    "NaN": (lambda t: '{"x": NaN, ' + t[1:], "NaN"),
    "Infinity": (lambda t: '{"x": -Infinity, ' + t[1:], "Infinity"),
    "5000 digits": (lambda t: '{"x": ' + "7" * 5000 + ", " + t[1:], "thousands of digits"),
    "a lone surrogate": (lambda t: '{"\\udc80": %d, ' % len(json.loads(t)) + t[1:], "surrogate"),  # a fresh id
    "deep nesting": (lambda t: '{"x": ' + "[" * 100_000 + "]" * 100_000 + ", " + t[1:], "JSON"),
    "an id past 2**32": (lambda t: '{"<new>": 4294967296, ' + t[1:], "below 2\\*\\*32"),
    "a sparse id": (lambda t: '{"<new>": 9999999, ' + t[1:], "sparse"),
}


@pytest.mark.parametrize("case", list(VOCAB_DAMAGE))
def test_vocab_json_damage(tmp_path, case):
    trained(tmp_path)
    damage, message = VOCAB_DAMAGE[case]
    (tmp_path / "vocab.json").write_text(damage((tmp_path / "vocab.json").read_text(encoding="utf-8")),
                                         encoding="utf-8")
    for load in (Tokenizer.from_gpt2, Tokenizer.from_file):
        with pytest.raises(ModelFileError, match=message) as err:
            load(tmp_path / "vocab.json")
        assert "\n" not in str(err.value) and "vocab.json" in str(err.value)


MERGES_DAMAGE = {
    "an empty line inside": (lambda lines: lines[:3] + [""] + lines[3:], "merges.txt:4"),
    "three fields": (lambda lines: lines[:2] + ["a b c"] + lines[2:], "merges.txt:3"),
    "an unknown token": (lambda lines: lines + ["Ġzz qq"], "not in the vocab"),
    "a U+2028 inside a token": (lambda lines: lines + ["t\u2028h e"], "not in the vocab"),
}


@pytest.mark.parametrize("case", list(MERGES_DAMAGE))
def test_merges_txt_damage(tmp_path, case):
    trained(tmp_path)
    damage, message = MERGES_DAMAGE[case]
    lines = (tmp_path / "merges.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
    (tmp_path / "merges.txt").write_text("\n".join(damage(lines)) + "\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match=message) as err:
        Tokenizer.from_gpt2(tmp_path / "vocab.json")
    assert "\n" not in str(err.value)


TIKTOKEN_DAMAGE = {
    "Arabic-Indic digits": ("enp6 ١٢", ":2:"),
    "a rank of 25 digits": ("enp6 " + "1" * 25, "enormous"),
    "a negative rank": ("enp6 -3", ":2:"),
    "bad base64": ("I!== 300", "not base64"),
    "bad padding": ("IQ= 300", "not base64"),
    "three fields": ("enp6 3 4", ":2:"),
    "a token twice": ("IQ== 300", "listed twice"),
    "a token over the cap": (base64.b64encode(b"a" * 20000).decode() + " 300", "at most"),
    "a rank past 2**32": ("enp6 4294967296", "below 2\\*\\*32"),
    "a U+0085 line break": ("enp6\x85300", ":2:"),
}


@pytest.mark.parametrize("case", list(TIKTOKEN_DAMAGE))
def test_tiktoken_damage(tmp_path, case):
    trained(tmp_path)
    line, message = TIKTOKEN_DAMAGE[case]
    lines = (tmp_path / "r.tiktoken").read_text(encoding="ascii").split("\n")
    (tmp_path / "r.tiktoken").write_text("\n".join(lines[:1] + [line] + lines[1:]), encoding="utf-8")
    for load in (Tokenizer.from_tiktoken, Tokenizer.from_file):
        with pytest.raises(ModelFileError, match=message) as err:
            load(tmp_path / "r.tiktoken")
        assert "\n" not in str(err.value)


def test_vocab_json_keys_kept_exactly(tmp_path):
    """A vocab.json key that is a JSON escape of a surrogate *pair* is one valid character, not an error."""
    trained(tmp_path)
    text = (tmp_path / "vocab.json").read_text(encoding="utf-8")
    (tmp_path / "vocab.json").write_text('{"\\ud83c\\udf89": ' + str(len(json.loads(text))) + ", " + text[1:],
                                         encoding="utf-8")
    assert Tokenizer.from_gpt2(tmp_path / "vocab.json").token_to_id("🎉") == len(json.loads(text))
