"""decode(encode(x)) == x for the lossless algorithms (byte-level BPE, SentencePiece-style) on any Unicode text,
plus HF agreement on the same random texts."""
from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tests.tokenizers_kit.trained import trained, trained_path

# Any code point but surrogates (not encodable). The hostile-symbol alphabet is in test_lossless_sp.py.
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
SPACEY = st.text(st.sampled_from(list(" \t\n\r  aéZ日🎉\u0301\x00.,")), max_size=40)
EXAMPLES = ["", " ", "  x", "x  ", "a   b", "\n\n", " \n ", "日本 語", "🎉", "e\u0301", "\x00\x1f\x7f", "\U0010FFFF",
            "<unk>", "<0x41>", "  <s>  ", "a▁b", "x <s> y"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _examples(f):
    for e in EXAMPLES:
        f = example(text=e)(f)
    return f


@SETTINGS
@_examples
@given(text=st.one_of(ANY_TEXT, SPACEY))
def test_byte_level_bpe_round_trips_any_text(text):
    tok = trained("bpe")
    ids = tok.encode_ids(text)
    assert tok.decode(ids) == text
    assert tok.encode(text, add_special_tokens=False).ids == ids


@SETTINGS
@_examples
@given(text=st.one_of(ANY_TEXT, SPACEY))
def test_sentencepiece_round_trips_any_text(text):
    for name in ("sentencepiece", "sentencepiece-bpe"):
        tok = trained(name)
        ids = tok.encode_ids(text)
        assert tok.decode(ids, skip_special_tokens=False) == text, name  # (a special in the text is one id)
        assert tok.encode(text, add_special_tokens=False).ids == ids


_HF = {}


def _hf(name):
    hf_tokenizers = require_peer("tokenizers")
    if name not in _HF:
        _HF[name] = hf_tokenizers.Tokenizer.from_file(str(trained_path(name)))
    return _HF[name]


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(st.characters(blacklist_categories=("Cs", "Cn", "Co")), max_size=60), SPACEY))
def test_hf_encodes_and_decodes_random_text_like_tkit(text):
    # Unassigned/private code points are left out: Python's and Rust's Unicode versions may classify them apart.
    for name in ("bpe", "sentencepiece", "sentencepiece-bpe"):
        tok, hf = trained(name), _hf(name)
        ids = tok.encode_ids(text)
        if name == "bpe" or "▁" not in text:  # (a literal "▁": test_lossless_sp.py)
            assert ids == hf.encode(text, add_special_tokens=False).ids, name
        assert tok.decode(ids) == hf.decode(ids), name


def test_literal_byte_piece_text_stays_text():
    # Byte pieces are never matched from text (trainers/unigram.py, trainers/bpe.py), in tkit and in HF alike.
    for name in ("sentencepiece", "sentencepiece-bpe"):
        tok, hf = trained(name), _hf(name)
        ids = tok.encode_ids("<0x41>")
        assert ids == hf.encode("<0x41>", add_special_tokens=False).ids and tok.decode(ids) == "<0x41>"
