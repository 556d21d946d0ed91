"""tokenizer.json: HF's layout and key order, round trips, determinism, and corrupt files as one-line errors."""
from __future__ import annotations

import json

import pytest

from tests.tokenizers_kit.trained import ALL, held_out, train_file, trained_path
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.serialization import model_from_dict
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

TOP_KEYS = ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor",
            "decoder", "model"]


@pytest.mark.parametrize("name", ALL)
def test_layout_is_hf_tokenizer_json(name):
    data = json.loads(trained_path(name).read_text(encoding="utf-8"))
    assert list(data) == TOP_KEYS and data["version"] == "1.0"
    for t in data["added_tokens"]:
        assert list(t) == ["id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"]
        assert t["special"] and not t["normalized"]
    model = data["model"]
    if model["type"] == "BPE":
        assert list(model)[:9] == ["type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                                   "fuse_unk", "byte_fallback", "ignore_merges", "vocab"]
        assert all(isinstance(m, list) and len(m) == 2 for m in model["merges"])  # [a, b] pairs
        assert list(model["vocab"].values()) == sorted(model["vocab"].values())


@pytest.mark.parametrize("name", ALL)
def test_save_load_save_is_identical(name, tmp_path):
    tok = Tokenizer.from_file(trained_path(name))
    assert tok.name == name.split("-")[0]
    tok.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == trained_path(name).read_text(encoding="utf-8")
    again = Tokenizer.from_str(tok.to_str())
    texts = held_out()[:100]
    assert again.encode_batch_ids(texts) == tok.encode_batch_ids(texts)


@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "unigram", "sentencepiece", "char"])
def test_training_is_deterministic(algo, tmp_path):
    a = train_tokenizer(str(train_file()), algo, vocab_size=600 if algo != "char" else None)
    b = train_tokenizer(str(train_file()), algo, vocab_size=600 if algo != "char" else None)
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def _bpe_json() -> dict:
    return json.loads(trained_path("bpe").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version="2.0"), "version"),
    (lambda d: d["model"].update(type="Word2Vec"), "Word2Vec"),
    (lambda d: d.update(normalizer={"type": "Precompiled", "precompiled_charsmap": "AAAA"}), "Precompiled"),
    (lambda d: d.update(pre_tokenizer={"type": "Frobnicate"}), "Frobnicate"),
    (lambda d: d.update(decoder={"type": "CTC"}), "CTC"),
    (lambda d: d["model"]["merges"].append(["no-such", "tokens"]), "not in the vocab"),
    (lambda d: d["model"].update(vocab=[1, 2]), "vocab"),
    (lambda d: d.pop("model"), "no \"model\""),
    (lambda d: d.update(added_tokens=[{"id": 0, "content": "Ġthe", "special": True}]), "Ġthe"),
    (lambda d: d.update(added_tokens=[{"id": "x", "content": "<x>"}]), "<x>"),
    (lambda d: d.update(normalizer=[]), "normalizer must be an object"),
    (lambda d: d.update(normalizer={"type": "Strip", "strip_left": "yes"}), "Strip normalizer: 'strip_left' must be "
                                                                            "true or false, not 'yes'"),
    (lambda d: d.update(normalizer={"type": "BertNormalizer", "strip_accents": 1}), "'strip_accents' must be true"),
    (lambda d: d.update(normalizer={"type": "Sequence", "normalizers": {}}), "'normalizers' must be a list"),
    (lambda d: d["pre_tokenizer"].update(add_prefix_space=None), "ByteLevel pre-tokenizer: 'add_prefix_space'"),
    (lambda d: d.update(pre_tokenizer={"type": "Metaspace", "replacement": 9}), "'replacement' must be a string"),
    (lambda d: d.update(decoder={"type": "Strip", "content": " ", "start": True}), "Strip decoder: 'start' must be "
                                                                                  "an integer, not True"),
    (lambda d: d.update(decoder={"type": "Sequence"}), "Sequence decoder: 'decoders' must be a list"),
])
def test_corrupt_tokenizer_json_is_a_one_line_model_file_error(mutate, message, tmp_path):
    data = _bpe_json()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match=message) as err:
        Tokenizer.from_file(path)
    assert "\n" not in str(err.value)


def test_truncated_missing_empty_and_binary_files(tmp_path):
    text = trained_path("bpe").read_text(encoding="utf-8")
    (tmp_path / "cut.json").write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ModelFileError, match="truncated"):
        Tokenizer.from_file(tmp_path / "cut.json")
    with pytest.raises(ModelFileError, match="does not exist"):
        Tokenizer.from_file(tmp_path / "nope.json")
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    with pytest.raises(ModelFileError, match="empty"):
        Tokenizer.from_file(tmp_path / "empty.json")
    (tmp_path / "bin.json").write_bytes(b"\x80\x81PK\x03\x04")
    with pytest.raises(ModelFileError, match="UTF-8"):
        Tokenizer.from_file(tmp_path / "bin.json")
    (tmp_path / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(ModelFileError, match="neither"):
        Tokenizer.from_file(tmp_path / "list.json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        Tokenizer.from_str("{nope")


def test_model_type_is_inferred_when_absent_as_hf_does():
    data = _bpe_json()["model"]
    data.pop("type")
    assert model_from_dict(data).to_dict()["type"] == "BPE"
    with pytest.raises(ModelFileError, match="unsupported model type"):
        model_from_dict({"vocab": {"a": 0}})


def test_hf_post_processor_truncation_and_padding_are_kept_verbatim(tmp_path):
    data = _bpe_json()
    data["truncation"] = {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0}
    data["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                              "use_regex": True}
    tok = Tokenizer.from_str(json.dumps(data))
    assert json.loads(tok.to_str()) == data
