"""Normalizers, pre-tokenizers and decoders against HF `tokenizers` as a live peer.

Each stage is serialized by tkit, loaded by HF from that JSON (so field names are checked too), and both are
run on the same hard strings and on hypothesis-generated text.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tokenizers_kit import decoders as dec
from tokenizers_kit import normalizers as nrm
from tokenizers_kit import pre_tokenizers as pre
from tokenizers_kit.decoders import decoder_from_dict
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.normalizers import normalizer_from_dict
from tokenizers_kit.pre_tokenizers import pre_tokenizer_from_dict

HARD = [
    "", " ", "  ", "Hello, world!", "  leading and   repeated  spaces ", "tab\there\nnewline\r\n",
    "It's, don't, we'll, they've, I'm, you're, he'd", "ÉCOLE Ærø straße İstanbul ΟΔΟΣ", "e\u0301 n\u0303 a\u0308\u0301",
    "日本語のテキスト、中文字符。한국어", "emoji 🎉👍🏽 👨‍👩‍👧 flags 🇫🇷", "ctrl \x00\x01\x07\x1b\x7f \x1c\x1d\x85 end",
    "numbers 123 4567 ١٢٣ ½ Ⅻ", "ﬁ ﬂ ℌ ① ｆｕｌｌ", "nbsp\xa0thin\u2009ideo\u3000line\u2028sep",
    "▁already▁metaspace", "a" * 300, "mixed: α+β=γ; x_1 -> y_2 ... !!! ???", "\ufeffBOM and \ufffd replacement",
]

# Characters from many classes (letters, marks, digits, punctuation, spaces, controls, CJK, emoji); all of
# them assigned in old Unicode versions, so Python's and Rust's Unicode tables agree on them.
ALPHABET = st.sampled_from(
    list("aZéÉßİıΣσςΟΔ日本中한🎉👍\u0301\u0308\u0303 \t\n\r\x0b\x0c\x00\x01\x1c\x85\xa0\u2009\u3000"
         "0123456789١½Ⅻ.,;:!?'\"-_()[]{}<>/\\@#$%^&*+=~`|ﬁ①▁\ufeff\u200b"))
TEXT = st.text(ALPHABET, max_size=40)


def hf_from(normalizer=None, pre_tokenizer=None, decoder=None):
    hf_tokenizers = require_peer("tokenizers")
    data = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": None, "decoder": decoder,
            "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}}
    return hf_tokenizers.Tokenizer.from_str(json.dumps(data))


NORMALIZERS = [
    nrm.NFC(), nrm.NFD(), nrm.NFKC(), nrm.NFKD(), nrm.Lowercase(), nrm.StripAccents(),
    nrm.Sequence([nrm.NFD(), nrm.StripAccents(), nrm.Lowercase()]),
    nrm.Replace(" ", "▁"), nrm.Replace({"Regex": r" {2,}"}, " "), nrm.Strip(), nrm.Strip(True, False),
    nrm.Prepend("▁"), nrm.Sequence([nrm.Prepend("▁"), nrm.Replace(" ", "▁")]),
    nrm.BertNormalizer(), nrm.BertNormalizer(lowercase=False), nrm.BertNormalizer(strip_accents=True, lowercase=False),
    nrm.BertNormalizer(clean_text=False, handle_chinese_chars=False), nrm.Nmt(),
]


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=repr)
def test_normalizers_match_hf(normalizer):
    hf = hf_from(normalizer=normalizer.to_dict()).normalizer
    for text in HARD:
        assert normalizer.normalize_str(text) == hf.normalize_str(text), text
        out, spans = normalizer.normalize_aligned(text, [(i, i + 1) for i in range(len(text))])
        assert out == normalizer.normalize_str(text) and len(spans) == len(out)
    assert normalizer_from_dict(normalizer.to_dict()) == normalizer


def _hf_char_offsets(normalizer, text):
    """HF's alignment of each normalized char: a one-char-per-token split over the normalized text."""
    data = {"type": "Split", "pattern": {"Regex": r"[\s\S]"}, "behavior": "Isolated", "invert": False}
    hf = hf_from(normalizer=normalizer.to_dict(), pre_tokenizer=data)
    return [tuple(o) for o in hf.encode(text).offsets]


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=repr)
def test_normalizer_alignments_match_hf_offsets(normalizer):
    for text in HARD:
        _, spans = normalizer.normalize_aligned(text, [(i, i + 1) for i in range(len(text))])
        assert spans == _hf_char_offsets(normalizer, text), text


@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_normalizers_match_hf_on_random_text(text):
    for normalizer in NORMALIZERS:
        hf = _hf_normalizer(normalizer)
        assert normalizer.normalize_str(text) == hf.normalize_str(text), (normalizer, text)


_HF_CACHE: dict[str, object] = {}


def _hf_normalizer(n):
    key = json.dumps(n.to_dict())
    if key not in _HF_CACHE:
        _HF_CACHE[key] = hf_from(normalizer=n.to_dict()).normalizer
    return _HF_CACHE[key]


def _hf_pre(p):
    key = "pre" + json.dumps(p.to_dict())
    if key not in _HF_CACHE:
        _HF_CACHE[key] = hf_from(pre_tokenizer=p.to_dict()).pre_tokenizer
    return _HF_CACHE[key]


PRE_TOKENIZERS = [
    pre.ByteLevel(add_prefix_space=False), pre.ByteLevel(add_prefix_space=True), pre.ByteLevel(use_regex=False),
    pre.Whitespace(), pre.WhitespaceSplit(), pre.BertPreTokenizer(),
    pre.Metaspace(), pre.Metaspace(prepend_scheme="never"), pre.Metaspace(prepend_scheme="first", split=False),
    pre.Metaspace(split=False), pre.Digits(True), pre.Digits(False), pre.Punctuation(),
    pre.Split({"Regex": pre.GPT4_PATTERN}, "Isolated"), pre.Split(" ", "Removed"), pre.Split(" ", "MergedWithPrevious"),
    pre.Split(" ", "MergedWithNext"), pre.Split({"Regex": "a+|[0-9]"}, "Contiguous"),
    pre.Split({"Regex": r"[a-z]+"}, "Removed", invert=True), pre.CharDelimiterSplit("a"),
    pre.Sequence([pre.Split({"Regex": pre.GPT4_PATTERN}, "Isolated"), pre.ByteLevel(use_regex=False)]),
    pre.Sequence([pre.WhitespaceSplit(), pre.Digits(True)]),
]


def _ours(p, text):
    """Final chunks with offsets (start, end) from the aligned path; also checks the fast path agrees."""
    aligned = p.split_aligned(text, [(i, i + 1) for i in range(len(text))])
    assert [c for c, _ in aligned] == p.pre_tokenize_str(text)
    fast = p.fast_split()(text)
    assert [p.transform(c) for c in fast] == p.pre_tokenize_str(text)
    return [(c, (sp[0][0], sp[-1][1])) for c, sp in aligned]


@pytest.mark.parametrize("pre_tokenizer", PRE_TOKENIZERS, ids=repr)
def test_pre_tokenizers_match_hf(pre_tokenizer):
    hf = _hf_pre(pre_tokenizer)
    for text in HARD:
        assert _ours(pre_tokenizer, text) == hf.pre_tokenize_str(text), text
    assert pre_tokenizer_from_dict(pre_tokenizer.to_dict()) == pre_tokenizer


@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_pre_tokenizers_match_hf_on_random_text(text):
    for p in PRE_TOKENIZERS:
        assert _ours(p, text) == _hf_pre(p).pre_tokenize_str(text), (p, text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(max_codepoint=127), max_size=60))
def test_ascii_twin_patterns_equal_unicode_patterns(text):
    assert pre._GPT2_ASCII.findall(text) == pre.ByteLevel._gpt2.findall(text)
    assert pre._BERT_ASCII.findall(text) == pre.BertPreTokenizer._re.findall(text)
    assert pre._WHITESPACE_ASCII.findall(text) == pre.Whitespace._re.findall(text)


TOKEN_LISTS = [
    [], ["Hello", "Ġworld", "!"], ["ĠÃ©", "t", "Ã©"], ["hello", "##x", ".", "do", "not", "'", "s", "n't", "?"],
    ["▁▁a▁b", "▁c", "▁"], ["▁Hello", "<0xE6>", "<0x97>", "<0xA5>", "▁", "▁", "x"], ["<0xFF>", "<0x41>", "a"],
    ["word</w>", "pie", "ce</w>"], ["  a  ", " b "], ["<0xZZ>", "<0x4>", "<0x41"],
]

DECODERS = [
    dec.ByteLevel(), dec.WordPiece(), dec.WordPiece(cleanup=False), dec.Metaspace(),
    dec.Metaspace(prepend_scheme="never"), dec.ByteFallback(), dec.Fuse(), dec.Strip(" ", 1, 0),
    dec.Strip(" ", 2, 1), dec.Replace("▁", " "), dec.BPEDecoder(),
    dec.Sequence([dec.Replace("▁", " "), dec.ByteFallback(), dec.Fuse(), dec.Strip(" ", 1, 0)]),
]


@pytest.mark.parametrize("decoder", DECODERS, ids=repr)
def test_decoders_match_hf(decoder):
    hf = hf_from(decoder=decoder.to_dict()).decoder
    for tokens in TOKEN_LISTS:
        assert decoder.decode(tokens) == hf.decode(tokens), tokens
    assert decoder_from_dict(decoder.to_dict()) == decoder


@pytest.mark.parametrize("bad", [
    {"type": "Precompiled", "precompiled_charsmap": ""}, {"type": "Nope"}, {"no": "type"}, "NFC", {"type": "Replace"},
])
def test_unknown_or_broken_normalizer_is_a_model_file_error(bad):
    with pytest.raises(ModelFileError):
        normalizer_from_dict(bad)


def test_unknown_types_name_the_type():
    with pytest.raises(ModelFileError, match="UnicodeScripts"):
        pre_tokenizer_from_dict({"type": "UnicodeScripts"})
    with pytest.raises(ModelFileError, match="CTC"):
        decoder_from_dict({"type": "CTC"})
    with pytest.raises(ModelFileError, match="behavior"):
        pre_tokenizer_from_dict({"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"})
    with pytest.raises(ModelFileError, match="regex"):
        pre_tokenizer_from_dict({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})


def test_legacy_metaspace_add_prefix_space_is_read():
    old = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": False}
    assert pre_tokenizer_from_dict(old).prepend_scheme == "never"
    assert decoder_from_dict({"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}).prepend_scheme \
        == "always"


def test_normalize_aligned_maps_each_output_char_to_its_source():
    text = "Ǆe\u0301ﬁ"
    out, spans = nrm.NFKC().normalize_aligned(text, [(i, i + 1) for i in range(len(text))])
    assert out == "DŽéfi"
    assert spans == [(0, 1), (0, 1), (1, 2), (3, 4), (3, 4)]  # HF: a composed char takes its starter's span
    out, spans = nrm.Sequence([nrm.Prepend("▁"), nrm.Replace(" ", "▁")]).normalize_aligned(
        "a b", [(0, 1), (1, 2), (2, 3)])
    assert out == "▁a▁b" and spans == [(0, 1), (0, 1), (1, 2), (2, 3)]
