"""HF `tokenizers` as a live peer: every file tkit writes loads in HF and encodes held-out text to the same ids
(and offsets); files HF trains and saves load in tkit and encode identically."""
from __future__ import annotations

import pytest

from tests.peers import require_peer
from tests.tokenizers_kit.trained import (
    ALL,
    held_out,
    train_file,
    trained,
    trained_path,
)
from tokenizers_kit.tokenizer import Tokenizer

HARD = [
    "", " ", "   ", "x", "  two leading, three   inside, trailing  ", "\ttabs\tand\x0bvertical\x0cfeeds",
    "Émile's café — naïve façade", "e\u0301\u0302 combining marks ̈alone", "日本語のテキスト。中文字符，한국어",
    "emoji 🎉👍🏽 👨‍👩‍👧 🇫🇷", "control \x00\x01\x1b\x7f\x1c\x85 chars", "digits 1234567890 ١٢٣",
    "ﬁ ﬂ ① ｆｕｌｌ", "<unk> [UNK] <|endoftext|> <s></s> [CLS]x[SEP]", "▁literal▁meta", "a" * 2000,
    "Thou art a boil, a plague-sore, an embossed carbuncle, in my corrupted blood.",
]


def _compare(ours: Tokenizer, hf, texts: list[str], offsets: bool = True) -> None:
    hf_encs = hf.encode_batch(texts, add_special_tokens=False)
    fast = ours.encode_batch_ids(texts)
    for text, h, ids in zip(texts, hf_encs, fast):
        assert ids == h.ids, (text, ids[:30], h.ids[:30])
        if offsets:
            enc = ours.encode(text, add_special_tokens=False)
            assert enc.ids == h.ids, text
            assert enc.tokens == h.tokens, text
            assert enc.offsets == [tuple(o) for o in h.offsets], text


@pytest.mark.parametrize("name", ALL)
def test_tkit_files_load_in_hf_and_encode_identically(name):
    hf_tokenizers = require_peer("tokenizers")
    path = trained_path(name)
    ours = Tokenizer.from_file(path)
    hf = hf_tokenizers.Tokenizer.from_file(str(path))
    assert ours.get_vocab_size() == hf.get_vocab_size()
    assert ours.get_vocab() == hf.get_vocab()
    texts = held_out()
    hard = HARD if not name.startswith("sentencepiece") else [t for t in HARD if "▁" not in t]  # (test_lossless_sp)
    _compare(ours, hf, texts[:300] + hard)  # ids, tokens and offsets
    _compare(ours, hf, texts, offsets=False)  # ids on all ~3000 held-out lines
    ids = [ours.encode_ids(t) for t in texts[:300] + HARD]
    for text, i in zip(texts[:300] + HARD, ids):  # literal "▁" included: HF decodes tkit's byte pieces
        assert ours.decode(i) == hf.decode(i), text


@pytest.mark.parametrize("name", ["bpe", "sentencepiece", "sentencepiece-bpe"])
def test_lossless_algorithms_decode_back_exactly(name):
    tok = trained(name)
    for text in held_out()[:500] + HARD:  # special tokens in the text are kept by skip_special_tokens=False
        assert tok.decode(tok.encode_ids(text), skip_special_tokens=False) == text


def test_vocab_sizes_are_honoured_exactly():
    for name in ("bpe", "wordpiece", "unigram", "sentencepiece", "sentencepiece-bpe"):
        assert trained(name).get_vocab_size() == 1000, name


def _hf_trained(kind: str, tmp_path):
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    if kind == "bpe":
        tok = HFTokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    elif kind == "wordpiece":
        tok = HFTokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=800, special_tokens=["[UNK]", "[CLS]", "[SEP]"],
                                            show_progress=False)
    elif kind == "bpe-suffix":  # classic (non byte-level) BPE: unk, "</w>" suffix, Whitespace, BPEDecoder
        tok = HFTokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(True)])
        tok.decoder = decoders.BPEDecoder(suffix="</w>")
        trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>"], end_of_word_suffix="</w>",
                                      show_progress=False)
    else:
        tok = HFTokenizer(models.Unigram())
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=500, special_tokens=["<unk>"], unk_token="<unk>",
                                          show_progress=False)
    tok.train([str(train_file())], trainer)
    if kind == "wordpiece":
        from tokenizers import processors

        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")),
                                                     ("[SEP]", tok.token_to_id("[SEP]"))])
    path = tmp_path / f"hf-{kind}.json"
    tok.save(str(path))
    return path, tok


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram", "bpe-suffix"])
def test_hf_files_load_in_tkit_and_encode_identically(kind, tmp_path):
    hf_tokenizers = require_peer("tokenizers")
    path, hf = _hf_trained(kind, tmp_path)
    ours = Tokenizer.from_file(path)
    assert ours.name == {"bpe": "bpe", "wordpiece": "wordpiece", "unigram": "unigram", "bpe-suffix": "file"}[kind]
    texts = held_out()[:1000] + HARD
    _compare(ours, hf, texts)
    # Saving keeps the file loadable and equivalent (HF's post-processor is saved back as it was read).
    ours.save(tmp_path / "again.json")
    again = hf_tokenizers.Tokenizer.from_file(str(tmp_path / "again.json"))
    _compare(ours, again, texts[:200], offsets=False)
    if kind == "wordpiece":  # the BERT template: [CLS] ... [SEP] with add_special_tokens
        text = "Good morrow, cousin."
        assert ours.encode(text).ids == hf.encode(text).ids
        assert ours.encode(text).tokens[0] == "[CLS]"
