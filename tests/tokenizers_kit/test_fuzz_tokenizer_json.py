"""Fuzzing the tokenizer.json loader (serialization.py): valid files of every algorithm, and one whose pipeline
has a stage of most kinds, mutated at every JSON path (wrong types, deleted keys, huge ids, deep nesting, bad
regexes, stage types of the wrong kind) and as bytes (truncated, garbage, not UTF-8). See loader_fuzz.py for
what each case must do."""
from __future__ import annotations

import copy
import functools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokenizers_kit.loader_fuzz import (
    delete_at,
    get_at,
    json_paths,
    load_and_use,
    set_at,
)
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

CORPUS = ["the cat sat on the mat, 123 times! ünïcode — 日本語\n" * 20, "It's a dog's life.\n" * 10]
ALGOS = ["bpe", "wordpiece", "unigram", "sentencepiece", "char"]
BASES = ALGOS + ["rich", "rich2"]

RICH_PIPELINE = {
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "Lowercase"},
        {"type": "Prepend", "prepend": " "}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": False},
        {"type": "Digits", "individual_digits": True}, {"type": "Punctuation", "behavior": "Isolated"},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "_"}, "content": " "},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 0, "stop": 0}]},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                  {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                       "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [0],
                                                            "tokens": ["<|endoftext|>"]}}},
}

RICH2_PIPELINE = {
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
         "lowercase": True}, {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Nmt"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "CharDelimiterSplit", "delimiter": "-"},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}]},
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "WordPiece", "prefix": "##", "cleanup": True}, {"type": "Metaspace", "replacement": "▁",
                                                                 "prepend_scheme": "always", "split": True},
        {"type": "ByteFallback"}, {"type": "BPEDecoder", "suffix": "</w>"}]},
    "post_processor": {"type": "Sequence", "processors": [
        {"type": "BertProcessing", "sep": ["[CLS]", 1], "cls": ["[CLS]", 1]},
        {"type": "RobertaProcessing", "sep": ["[CLS]", 1], "cls": ["<|endoftext|>", 0], "trim_offsets": True,
         "add_prefix_space": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
}


@functools.lru_cache(maxsize=None)
def base_text(name: str) -> str:
    """A small valid tokenizer.json: a trained algorithm, "rich" (BPE with RICH_PIPELINE) or "rich2"."""
    algo = "bpe" if name == "rich" else "wordpiece" if name == "rich2" else name
    tok = train_tokenizer(CORPUS, algo, vocab_size=None if algo == "char" else 340,
                          special_tokens=["<|endoftext|>", "[CLS]"])
    data = json.loads(tok.to_str())
    if name == "rich":
        data.update(copy.deepcopy(RICH_PIPELINE))
    elif name == "rich2":
        data.update(copy.deepcopy(RICH2_PIPELINE))
    text = json.dumps(data, ensure_ascii=False)
    Tokenizer.from_str(text)  # the base itself is valid
    return text


BAD_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1.5, 2**31, 2**32, 2**63, 2**64, -(2**63), 10**30, 1e308, "", "x",
                     "Regex", [], {}, [None], {"type": None}, {"type": 7}, {"Regex": "("}, {"String": 5}]),
    st.integers(), st.text(max_size=8),
    st.sampled_from(["NFC", "Sequence", "ByteLevel", "Split", "Replace", "BPE", "Unigram", "WordPiece",
                     "TemplateProcessing", "Metaspace", "Strip", "Digits"]).map(lambda t: {"type": t}),
)
NEST = "\u0000nest here\u0000"
BAD_REGEXES = st.sampled_from(["(", "[", "*", "a{99999999999}", "(?<", "\\", "(?P<a>x)(?P<a>y)", "(a|a)*$",
                               "(?i)" * 200, "\\p{Nope}", "a{2,1}", "", "(?=a)*", "x" * 5000])


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    data = json.loads(base_text(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 3))):
        paths = json_paths(data)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        how = draw(st.sampled_from(["replace", "replace", "delete", "regex", "nest", "huge_id"]))
        if how == "delete" and path:
            data = delete_at(data, path)
        elif how == "regex":
            data = set_at(data, path, {"Regex": draw(BAD_REGEXES)})
        elif how == "nest":  # a chain of Sequences or lists around the value, spliced in as text
            value, key = get_at(data, path), draw(st.sampled_from(["normalizers", "pretokenizers", "decoders", "[]"]))
            depth = draw(st.integers(1, 5000))
            head, tail = ("[", "]") if key == "[]" else (f'{{"type": "Sequence", "{key}": [', "]}")
            text = json.dumps(set_at(data, path, NEST), ensure_ascii=False)
            return text.replace(json.dumps(NEST), head * depth + json.dumps(value) + tail * depth)
        elif how == "huge_id" and path and isinstance(get_at(data, path), int):
            data = set_at(data, path, draw(st.sampled_from([2**32 - 1, 2**32, 2**40, -1, 10**100])))
        else:
            data = set_at(data, path, copy.deepcopy(draw(BAD_VALUES)))  # the samples are shared objects
    return json.dumps(data, ensure_ascii=False)


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    raw = base_text(draw(st.sampled_from(BASES))).encode("utf-8")
    how = draw(st.sampled_from(["truncate", "garbage", "flip", "bom_crlf", "literal"]))
    if how == "literal":  # JSON that Python reads but a tokenizer file may not hold
        at = raw.find(draw(st.sampled_from([b'"id": ', b'"content": ', b'"unk_id": ', b'"vocab": {', b'"dropout": '])))
        literal = draw(st.sampled_from([b"1" * 5000, b"NaN", b"-Infinity", b"1e999", b'"\\ud800", ',
                                        b'"\\udc80x": 5, ', b'"<|endoftext|>": 1, ', b"-0"]))
        if at >= 0:
            at = raw.index(b" ", at) + 1 if not raw[at:].startswith(b'"vocab"') else at + len(b'"vocab": {')
            return raw[:at] + literal + raw[at:]
    at = draw(st.integers(0, len(raw)))
    if how == "truncate":
        return raw[:at]
    if how == "garbage":
        return raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]
    if how == "flip":
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
    return b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")


COUNTS: dict[str, int] = {}


def _fuzz(tmp_path_factory, raw: bytes, kind: str) -> None:
    path = tmp_path_factory.mktemp("fz") / "tokenizer.json"
    path.write_bytes(raw)
    outcome = load_and_use(lambda: Tokenizer.from_file(path))
    COUNTS[f"{kind}/{outcome}"] = COUNTS.get(f"{kind}/{outcome}", 0) + 1


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=mutated_json())
def test_mutated_tokenizer_json_loads_or_says_why(tmp_path_factory, text):
    _fuzz(tmp_path_factory, text.encode("utf-8"), "json")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated_bytes())
def test_damaged_tokenizer_json_bytes_load_or_say_why(tmp_path_factory, raw):
    _fuzz(tmp_path_factory, raw, "bytes")


def test_every_base_file_is_valid():
    for name in BASES:
        assert load_and_use(lambda: Tokenizer.from_str(base_text(name))) == "loaded"
