"""The Tokenizer pipeline: API, special tokens, offsets, TextTokenizer protocol, hard inputs, caching paths."""
from __future__ import annotations

import pytest

from tests.tokenizers_kit.trained import held_out, trained, trained_path
from tokenizers_kit import TextTokenizer, load_text_tokenizer, tokenizer_from_spec
from tokenizers_kit.added_tokens import AddedToken, AddedVocabulary
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.pre_tokenizers import ByteLevel
from tokenizers_kit.tokenizer import Encoding, Tokenizer
from tokenizers_kit.training import train_tokenizer

HARD = ["", "\n", "   ", "a" * 100_000, "🎉👍🏽👨‍👩‍👧", "日本語のテキスト", "e\u0301\u0302\u0303", "\x00\x01\x1b\x7f\x1c",
        "mixed 🎉 text, 日本 and e\u0301 with \t tabs\r\n"]


def test_encoding_has_ids_tokens_and_char_offsets_into_the_original():
    tok = trained("bpe")
    text = "Wörld of 日本 🎉!"
    enc = tok.encode(text)
    assert isinstance(enc, Encoding) and len(enc) == len(enc.ids) == len(enc.tokens) == len(enc.offsets)
    assert enc.ids == tok.encode_ids(text)
    assert [tok.id_to_token(i) for i in enc.ids] == enc.tokens
    # Offsets are character offsets: each token covers whole characters of `text`, in order, no gaps.
    assert enc.offsets[0][0] == 0 and enc.offsets[-1][1] == len(text)
    for (a, b), (c, d) in zip(enc.offsets, enc.offsets[1:]):
        assert a <= b and (c == b or (c, d) == (a, b) or c == a)  # a multi-byte char may span several tokens


def test_encode_batch_and_decode_batch():
    tok = trained("bpe")
    texts = held_out()[:50]
    encs = tok.encode_batch(texts)
    assert [e.ids for e in encs] == tok.encode_batch_ids(texts)
    assert tok.decode_batch([e.ids for e in encs]) == texts


@pytest.mark.parametrize("name", ["bpe", "wordpiece", "unigram", "sentencepiece", "char"])
def test_special_tokens_are_never_split(name):
    tok = trained(name)
    specials = tok.special_tokens
    assert specials, name
    for sp in specials:
        for text in (sp, f"x{sp}y", f"  {sp}  {sp}{sp}", f"word{sp}\n"):
            ids = tok.encode_ids(text)
            enc = tok.encode(text, add_special_tokens=False)
            assert enc.ids == ids
            whole = [(a, b) for i, (a, b) in zip(enc.ids, enc.offsets) if i == tok.token_to_id(sp) and text[a:b] == sp]
            assert len(whole) == text.count(sp), (name, text)  # (an unknown "\n" may be <unk> too)
    # decode drops specials by default and keeps them on request
    sp = specials[-1]
    ids = tok.encode_ids(f"a{sp}b")
    assert sp not in tok.decode(ids)
    assert sp in tok.decode(ids, skip_special_tokens=False)


def test_added_tokens_lstrip_rstrip_single_word_and_longest_match():
    vocab = AddedVocabulary([AddedToken("<m>", 5, lstrip=True, rstrip=True), AddedToken("<mm>", 6),
                             AddedToken("cat", 7, single_word=True, special=False)])
    assert vocab.split_raw("a  <m>  b") == [(0, 1, None), (1, 8, 5), (8, 9, None)]
    assert vocab.split_raw("x<mm>y") == [(0, 1, None), (1, 5, 6), (5, 6, None)]
    assert vocab.split_raw("a cat b") == [(0, 2, None), (2, 5, 7), (5, 7, None)]
    assert vocab.split_raw("concatenate") == [(0, 11, None)]


def test_add_tokens_gets_new_ids_and_never_splits_them():
    tok = Tokenizer.from_file(trained_path("bpe"))
    size = tok.get_vocab_size()
    assert tok.add_tokens(["<tool>", "<tool>"]) == 1
    assert tok.token_to_id("<tool>") == size and tok.get_vocab_size() == size + 1
    ids = tok.encode_ids("call<tool>now")
    assert size in ids and tok.decode(ids) == "call<tool>now"  # not special: kept by decode
    tok.add_special_tokens(["<sep>"])
    assert tok.decode(tok.encode_ids("a<sep>b")) == "ab"


def test_text_tokenizer_protocol():
    tok = load_text_tokenizer(str(trained_path("bpe")))
    assert isinstance(tok, TextTokenizer) and tok.name == "bpe"
    text = "To be, or not to be:\nthat is the question. 🎉"
    tokens = tok.tokenize(text)
    assert tokens == [tok.id_to_token(i) for i in tok.encode_ids(text)]
    assert tok.detokenize(tokens) == text
    again = tokenizer_from_spec(tok.to_spec())
    assert again.tokenize(text) == tokens and again.name == "bpe"
    # a token outside the vocabulary (an n-gram model's <unk>) is written as itself, the text around it decoded
    to, be = tok.tokenize("to be")
    assert tok.detokenize([to, "<unk>", be]) == "to<unk> be"


@pytest.mark.parametrize("name", ["bpe", "wordpiece", "unigram", "sentencepiece", "sentencepiece-bpe", "char"])
def test_hard_inputs(name):
    tok = trained(name)
    for text in HARD:
        ids = tok.encode_ids(text)
        enc = tok.encode(text, add_special_tokens=False)
        assert enc.ids == ids, (name, text[:20])
        assert all(0 <= i < tok.get_vocab_size() for i in ids)
        assert all(0 <= a <= b <= len(text) for a, b in enc.offsets)
        if name in ("bpe", "sentencepiece", "sentencepiece-bpe"):
            assert tok.decode(ids) == text, (name, text[:20])
    assert tok.encode_ids("") == [] and tok.decode([]) == ""


def test_long_word_is_fast_and_exact():
    tok = trained("bpe")
    word = "ab" * 50_000
    ids = tok.encode_ids(word)
    assert tok.decode(ids) == word and len(ids) <= len(word) / 2


def test_fast_and_aligned_paths_agree_on_held_out_text():
    for name in ("bpe", "wordpiece", "unigram", "sentencepiece"):
        tok = trained(name)
        texts = held_out()[1000:1400]
        assert [tok.encode(t, False).ids for t in texts] == tok.encode_batch_ids(texts), name
        assert tok.encode_lines(texts) == [" ".join(map(str, tok.encode_ids(t))) for t in texts], name


def test_cached_encoding_equals_uncached():
    a = trained("bpe")
    b = Tokenizer.from_file(trained_path("bpe"))
    texts = held_out()[:200]
    first = a.encode_batch_ids(texts)
    assert a.encode_batch_ids(texts) == first  # now from the cache
    b._ids_cache.max_chars = 0  # never cache
    assert b.encode_batch_ids(texts) == first


def test_subchunked_sentencepiece_bpe_equals_whole_line_encoding():
    tok = trained("sentencepiece-bpe")
    assert tok._subchunk is not None
    whole = Tokenizer.from_file(trained_path("sentencepiece-bpe"))
    whole._subchunk = None
    whole._split_first = lambda text: [text] if text else []
    texts = held_out()[:300] + ["  a  b   c ", "x" * 300 + "  y"]
    assert tok.encode_batch_ids(texts) == whole.encode_batch_ids(texts)


def test_char_tokenizer_is_one_token_per_character():
    tok = trained("char")
    text = "Hark! Who's there?\n"
    ids = tok.encode_ids(text)
    assert len(ids) == len(text) and tok.decode(ids) == text
    assert tok.tokenize("ab") == ["a", "b"]
    unk = tok.token_to_id("<unk>")
    assert tok.encode_ids("a日b") == [tok.token_to_id("a"), unk, tok.token_to_id("b")]


def test_train_from_iterator_equals_train_from_file(tmp_path):
    texts = held_out()[:2000]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    a = train_tokenizer(str(path), "bpe", vocab_size=400)
    b = train_tokenizer(iter(texts), "bpe", vocab_size=400)
    assert a.to_str() == b.to_str()


def test_model_and_pipeline_are_plain_objects():
    model = BPEModel({"a": 0, "b": 1, "ab": 2}, [("a", "b")])
    tok = Tokenizer(model, pre_tokenizer=ByteLevel(add_prefix_space=False, use_regex=False))
    assert tok.encode_ids("ab") == [2] and tok.decode([2]) == "ab"  # no decoder: tokens joined by spaces
    assert repr(tok).startswith("Tokenizer(")


def test_unigram_part_with_a_near_tie_is_encoded_whole(monkeypatch):
    tok = Tokenizer.from_file(trained_path("sentencepiece"))
    assert tok._may_fallback  # lines are cut before each "▁" so the parts hit the cache
    real = tok.model._encode_cached
    monkeypatch.setattr(tok.model, "_encode_cached", lambda chunk: (real(chunk)[0], chunk == "▁the"))
    whole: list[str] = []
    monkeypatch.setattr(tok, "_whole_ids", lambda text: whole.append(text) or [7])
    assert tok.encode_ids("in the end") == [7] and whole == ["in▁the▁end"]
    assert tok.encode_lines(["in the end", "in an end"])[0] == "7"
    assert tok.encode_lines(["in an end"]) == [" ".join(map(str, real_ids(tok, "in an end")))]


def real_ids(tok: Tokenizer, text: str) -> list[int]:
    return [t[0] for t in tok.model.tokenize(tok.normalizer.normalize_str(text))]
