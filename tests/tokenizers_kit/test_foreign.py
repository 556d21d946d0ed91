"""GPT-2 vocab.json + merges.txt and tiktoken base64-rank files: written from a trained tkit BPE, read back, and
compared with HF and tiktoken as live peers."""
from __future__ import annotations

import base64
import json

import pytest

from tests.peers import require_peer
from tests.tokenizers_kit.trained import held_out, trained, trained_path
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.foreign import (
    recover_merges,
    save_gpt2,
    save_tiktoken,
    tiktoken_ranks,
)
from tokenizers_kit.pre_tokenizers import GPT2_PATTERN
from tokenizers_kit.tokenizer import Tokenizer

TEXTS = ["Hello world", "  spaces  and\ttabs", "日本語 🎉 e\u0301", "It's 2024, isn't it?"]


def test_gpt2_vocab_and_merges_round_trip(tmp_path):
    tok = trained("bpe")
    save_gpt2(tok, tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert (tmp_path / "merges.txt").read_text(encoding="utf-8").startswith("#version: 0.2\n")
    loaded = Tokenizer.from_file(tmp_path / "vocab.json")  # merges.txt is found beside it
    assert loaded.name == "bpe" and loaded.token_to_id("<|endoftext|>") == tok.token_to_id("<|endoftext|>")
    texts = held_out()[:500] + TEXTS
    assert loaded.encode_batch_ids(texts) == tok.encode_batch_ids(texts)
    assert loaded.decode(loaded.encode_ids("a <|endoftext|> b"), skip_special_tokens=False) == "a <|endoftext|> b"

    hf = require_peer("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers

    peer = hf.Tokenizer(models.BPE.from_file(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")))
    peer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    peer.decoder = decoders.ByteLevel()
    assert [e.ids for e in peer.encode_batch(texts, add_special_tokens=False)] == loaded.encode_batch_ids(texts)


def test_gpt2_files_errors(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0, "b": 1}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="merges.txt"):
        Tokenizer.from_file(tmp_path / "vocab.json")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="merges.txt:2"):
        Tokenizer.from_file(tmp_path / "vocab.json")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not in the vocab"):
        Tokenizer.from_file(tmp_path / "vocab.json")


@pytest.mark.parametrize("filename", ["tkit.tiktoken", "ranks.txt"])
def test_tiktoken_file_round_trip(tmp_path, filename):
    tok = trained("bpe")
    path = tmp_path / filename
    save_tiktoken(tok, path)
    first = path.read_text(encoding="ascii").splitlines()[0].split()
    assert base64.b64decode(first[0]) == b"!" and first[1] == "1"  # id 0 is the special <|endoftext|>
    loaded = Tokenizer.from_file(path)  # by extension, or by content
    # Merges recovered from ranks are exactly the trained merges, in order.
    assert loaded.model.to_dict()["merges"] == tok.model.to_dict()["merges"]
    texts = held_out()[:500] + TEXTS
    assert loaded.encode_batch_ids(texts) == tok.encode_batch_ids(texts)
    assert all(loaded.decode(loaded.encode_ids(t)) == t for t in TEXTS)


def test_tiktoken_file_errors(tmp_path):
    bad = tmp_path / "bad.tiktoken"
    bad.write_text("IQ== 0\nnot base64!! x\n", encoding="ascii")
    with pytest.raises(ModelFileError, match="bad.tiktoken:2"):
        Tokenizer.from_tiktoken(bad)
    bad.write_text("IQ== 0\n", encoding="ascii")
    with pytest.raises(ModelFileError, match="256 bytes"):
        Tokenizer.from_tiktoken(bad)
    ranks = {bytes([b]): b for b in range(256)} | {b"abc": 256}  # "abc" has no two-part origin
    with pytest.raises(ModelFileError, match="cannot be built"):
        recover_merges(ranks)


def test_same_vocab_tiktoken_encodes_like_tkit():
    tiktoken = require_peer("tiktoken")
    tok = trained("bpe")
    enc = tiktoken.Encoding(name="tkit-bpe", pat_str=GPT2_PATTERN, mergeable_ranks=tiktoken_ranks(tok),
                            special_tokens={})
    texts = held_out() + TEXTS
    assert [enc.encode_ordinary(t) for t in texts] == tok.encode_batch_ids(texts)
    assert tiktoken_ranks(Tokenizer.from_file(trained_path("bpe"))) == tiktoken_ranks(tok)
