"""The BPE model: encodes exactly as HF `tokenizers` (byte-level and plain, unk / byte fallback / prefix /
suffix / ignore_merges), fast on huge words, and reads/writes HF's "model" object."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tokenizers_kit.bytes_map import byte_alphabet, text_to_symbols
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.trainers.bpe import BPETrainer

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def lines_of_shakespeare(start: int, stop: int) -> list[str]:
    with open(SHAKESPEARE, encoding="utf-8", newline="") as f:
        return f.read().split("\n")[start:stop]


def encode_byte_level(model: BPEModel, text: str) -> list[int]:
    return [t[0] for chunk in GPT2_SPLIT.findall(text) for t in model.tokenize(text_to_symbols(chunk))]


def hf_tokenizer(model: BPEModel):
    """An HF tokenizer over our model's own tokenizer.json "model" object."""
    tk = require_peer("tokenizers")
    hf = tk.Tokenizer.from_str(json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None, "decoder": None, "model": model.to_dict(),
    }))
    return hf


@pytest.fixture(scope="module")
def byte_model() -> BPEModel:
    counts: Counter[str] = Counter()
    for line in lines_of_shakespeare(0, 30000):
        counts.update(GPT2_SPLIT.findall(line))
    words = {text_to_symbols(w): n for w, n in counts.items()}
    return BPETrainer(2000, special_tokens=["<|endoftext|>"], initial_alphabet=byte_alphabet()).train(words)


@pytest.fixture(scope="module")
def hf_byte(byte_model: BPEModel):
    return hf_tokenizer(byte_model)


# ---- byte-level parity -------------------------------------------------------------------------------


def test_held_out_lines_encode_like_hf(byte_model: BPEModel, hf_byte) -> None:
    lines = lines_of_shakespeare(150000, 153000)
    theirs = [e.ids for e in hf_byte.encode_batch(lines)]
    ours = [encode_byte_level(byte_model, line) for line in lines]
    assert ours == theirs
    assert sum(map(len, ours)) > 10000


def encode_hf_chunks(model: BPEModel, hf, text: str) -> list[int]:
    """Our model over HF's own pre-tokenization (so only the models are compared)."""
    return [t[0] for piece, _ in hf.pre_tokenizer.pre_tokenize_str(text) for t in model.tokenize(piece)]


@pytest.mark.parametrize("text", [
    "emoji 🙂🎉👩‍👩‍👧 and flags 🇫🇷", "中文字符和日本語のテキスト", "combining: e\u0301 a\u0308 \u0915\u094d\u0937",
    "control \x00\x01\x7f chars\tand\r\nnewlines", "   leading and   repeated spaces  ", "",
])
def test_hard_text_like_hf(byte_model: BPEModel, hf_byte, text: str) -> None:
    assert encode_byte_level(byte_model, text) == hf_byte.encode(text).ids
    assert encode_hf_chunks(byte_model, hf_byte, text) == hf_byte.encode(text).ids


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_any_text_like_hf(byte_model: BPEModel, hf_byte, text: str) -> None:
    assert encode_hf_chunks(byte_model, hf_byte, text) == hf_byte.encode(text).ids


@pytest.mark.parametrize("word", ["a" * 100_000, "the" * 33_000, "ab" * 50_000])
def test_huge_word_fast_and_like_hf(byte_model: BPEModel, hf_byte, word: str) -> None:
    start = time.perf_counter()
    ours = byte_model.tokenize(word)
    elapsed = time.perf_counter() - start
    assert [t[0] for t in ours] == hf_byte.encode(word).ids
    assert elapsed < 3.0  # O(n log n): about 0.3 s here; the quadratic scan would take minutes
    assert ours[0][1] == 0 and ours[-1][2] == len(word)
    assert all(a[2] == b[1] for a, b in zip(ours, ours[1:]))


def test_scan_and_heap_paths_agree(byte_model: BPEModel) -> None:
    """Chunks longer than LONG_CHUNK use the heap; the same merges must come out of both paths."""
    text = text_to_symbols(" ".join(lines_of_shakespeare(200, 260)))
    ids, sizes = [byte_model.vocab[c] for c in text], [1] * len(text)
    ids2, sizes2 = list(ids), list(sizes)
    byte_model._merge_scan(ids, sizes)
    byte_model._merge_heap(ids2, sizes2, None)
    assert (ids, sizes) == (ids2, sizes2)


# ---- offsets, cache, ids path -------------------------------------------------------------------------


def test_offsets_are_char_offsets(byte_model: BPEModel) -> None:
    chunk = text_to_symbols(" unto")
    tokens = byte_model.tokenize(chunk)
    assert "".join(byte_model.id_to_token(t[0]) for t in tokens) == chunk
    assert [chunk[s:e] for _, s, e in tokens] == [byte_model.id_to_token(t[0]) for t in tokens]


def test_cache_is_not_corrupted_by_callers(byte_model: BPEModel) -> None:
    first = byte_model.tokenize("Ġmistress")
    first.append((0, 0, 0))
    assert byte_model.tokenize("Ġmistress") == first[:-1]
    assert byte_model.tokenize_ids("Ġmistress") == tuple(t[0] for t in first[:-1])
    assert byte_model.tokenize("") == [] and byte_model.tokenize_ids("") == ()


# ---- plain BPE options vs HF's model -----------------------------------------------------------------

VOCAB = {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5, "##b": 6, "##c": 7, "a##": 8,
         "<0xC3>": 9, "<0xA9>": 10, "<0xE2>": 11, "b</w>": 12, "ab</w>": 13}


@pytest.mark.parametrize("options", [
    {"unk_token": "<unk>"},
    {"unk_token": "<unk>", "fuse_unk": True},
    {"unk_token": "<unk>", "byte_fallback": True},
    {"unk_token": "<unk>", "byte_fallback": True, "fuse_unk": True},
    {"unk_token": None},
    {"unk_token": "<unk>", "ignore_merges": True},
])
@pytest.mark.parametrize("text", ["abc", "abcab", "xxabyy", "é€éab", "€€", "aab", "ba", "abcabcabc"])
def test_plain_options_like_hf(options: dict, text: str) -> None:
    tk = require_peer("tokenizers")
    merges = [("a", "b"), ("ab", "c")]
    ours = BPEModel(VOCAB, merges, **options)
    theirs = tk.models.BPE(VOCAB, merges, **options)
    assert [t[0] for t in ours.tokenize(text)] == [t.id for t in theirs.tokenize(text)]


@pytest.mark.parametrize("text", ["abc", "ab", "b", "bcb", "cab"])
def test_prefix_and_suffix_like_hf(text: str) -> None:
    tk = require_peer("tokenizers")
    vocab = {"<unk>": 0, "a": 1, "b": 2, "c": 3, "##b": 4, "##c": 5, "##a": 6, "ab": 7, "abc": 8, "b</w>": 9,
             "##b</w>": 10, "##c</w>": 11, "ab</w>": 12, "c</w>": 13, "##a</w>": 14}
    merges = [("a", "##b"), ("ab", "##c")]
    prefix_only = {"continuing_subword_prefix": "##"}
    for options in (prefix_only, {**prefix_only, "end_of_word_suffix": "</w>"}):
        ours = BPEModel(vocab, merges, unk_token="<unk>", **options)
        theirs = tk.models.BPE(vocab, merges, unk_token="<unk>", **options)
        assert [t[0] for t in ours.tokenize(text)] == [t.id for t in theirs.tokenize(text)], options


def test_unk_offsets_span_the_fused_chars() -> None:
    model = BPEModel(VOCAB, [("a", "b")], unk_token="<unk>", fuse_unk=True)
    assert model.tokenize("axyb") == [(1, 0, 1), (0, 1, 3), (2, 3, 4)]
    fallback = BPEModel(VOCAB, [("a", "b")], unk_token="<unk>", byte_fallback=True)
    assert fallback.tokenize("éab") == [(9, 0, 1), (10, 0, 1), (4, 1, 3)]


def test_missing_unk_token_is_a_clear_error() -> None:
    with pytest.raises(TkitError, match="unk token '<missing>' is not in the vocabulary"):
        BPEModel({"a": 0}, [], unk_token="<missing>").tokenize("ax")


def test_dropout() -> None:
    model = BPEModel(VOCAB, [("a", "b"), ("ab", "c")], dropout=1.0)
    assert [t[0] for t in model.tokenize("abc")] == [1, 2, 3]
    assert [t[0] for t in BPEModel(VOCAB, [("a", "b"), ("ab", "c")], dropout=0.0).tokenize("abc")] == [5]
    seen = {tuple(t[0] for t in BPEModel(VOCAB, [("a", "b"), ("ab", "c")], dropout=0.5).tokenize("abc"))
            for _ in range(200)}
    assert seen == {(1, 2, 3), (4, 3), (5,)}


# ---- serialization -----------------------------------------------------------------------------------


def test_to_dict_layout_and_round_trip(byte_model: BPEModel) -> None:
    data = byte_model.to_dict()
    assert list(data) == ["type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                          "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges"]
    assert list(data["vocab"].values()) == sorted(data["vocab"].values())
    assert all(isinstance(m, list) and len(m) == 2 for m in data["merges"])
    again = BPEModel.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert again.tokenize("ĠHamlet") == byte_model.tokenize("ĠHamlet")


def test_loads_what_hf_writes() -> None:
    tk = require_peer("tokenizers")
    hf = tk.Tokenizer(tk.models.BPE(unk_token="[UNK]"))
    hf.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    hf.train_from_iterator(lines_of_shakespeare(0, 3000),
                           tk.trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]"], show_progress=False))
    data = json.loads(hf.to_str())["model"]
    ours = BPEModel.from_dict(data)
    for word in ["Shakespeare", "wherefore", "thou", "Zyx"]:
        assert [t[0] for t in ours.tokenize(word)] == [t.id for t in hf.model.tokenize(word)]
    legacy = dict(data, merges=[" ".join(m) for m in data["merges"]])
    assert BPEModel.from_dict(legacy).merges == ours.merges


def test_legacy_merges_with_spaces_in_tokens() -> None:
    vocab = {"a": 0, " ": 1, "a ": 2, "b": 3, "a b": 4}
    model = BPEModel.from_dict({"type": "BPE", "vocab": vocab, "merges": ["a  ", "a  b"]})
    assert model.merges == [("a", " "), ("a ", "b")]


def test_repeated_merge_keeps_its_last_rank() -> None:
    model = BPEModel({"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4}, [("a", "b"), ("b", "c"), ("a", "b")])
    assert model.merges == [("b", "c"), ("a", "b")]
    assert [t[0] for t in model.tokenize("abc")] == [0, 4]


@pytest.mark.parametrize("data, message", [
    ([], "must be a JSON object"),
    ({"type": "WordPiece", "vocab": {"a": 0}, "merges": []}, "expected a BPE model"),
    ({"type": "BPE", "merges": []}, "'vocab' must be a non-empty object"),
    ({"type": "BPE", "vocab": {"a": 0}}, "'merges' must be a list"),
    ({"type": "BPE", "vocab": {"a": "0"}, "merges": []}, "not a non-negative integer"),
    ({"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}, "share id 0"),
    ({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}, "uses 'ab', which is not in the vocab"),
    ({"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}, "neither"),
    ({"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 2}, "dropout"),
    ({"type": "BPE", "vocab": {"a": 0}, "merges": [], "fuse_unk": "yes"}, "fuse_unk"),
    ({"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": 5}, "unk_token"),
])
def test_bad_model_objects(data, message: str) -> None:
    with pytest.raises(ModelFileError, match=message) as err:
        BPEModel.from_dict(data)
    assert "\n" not in str(err.value)
