"""Token tables read from files are checked before anything is sized by them, the same way for every loader
(tokenizer.json models and added tokens, GPT-2 vocab.json + merges.txt, tiktoken ranks): duplicate, negative,
non-integer, enormous (>= 2**63 too) or wildly sparse ids give a ModelFileError and nothing else, quickly."""
from __future__ import annotations

import base64
import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

BAD_ID = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32, max_value=2**80),
                   st.sampled_from([10**12, 2**63, 2**64 - 1, 1.5, "7", None, True]))


def corrupt(ids: dict, how: str, bad: object) -> dict:
    out = dict(ids)
    keys = sorted(out, key=out.get)
    if how == "bad_id":
        out[keys[len(keys) // 2]] = bad
    elif how == "duplicate":
        out[keys[-1]] = out[keys[0]]
    else:  # sparse: one id far past the rest
        out[keys[-1]] = 2 * len(out) + (1 << 16) + (abs(bad) if isinstance(bad, int) and not isinstance(bad, bool)
                                                     and abs(bad) < 2**31 else 12345)
    return out


def expect_model_file_error(load) -> None:
    start = time.perf_counter()
    try:
        load()
    except ModelFileError as err:
        assert "\n" not in str(err)
    else:
        raise AssertionError("a corrupt id table loaded")
    assert time.perf_counter() - start < 5


@settings(max_examples=40, deadline=None)
@given(how=st.sampled_from(["bad_id", "duplicate", "sparse"]), bad=BAD_ID,
       where=st.sampled_from(["bpe_vocab", "wordpiece_vocab", "added", "gpt2", "tiktoken"]))
def test_corrupt_id_tables_are_refused(tmp_path_factory, how, bad, where):
    tmp = tmp_path_factory.mktemp("ids")
    algo = "wordpiece" if where == "wordpiece_vocab" else "bpe"
    tok = train_tokenizer(["the cat sat on the mat\n" * 30], algo, vocab_size=280, special_tokens=["<|endoftext|>"])
    data = json.loads(tok.to_str())
    if where in ("bpe_vocab", "wordpiece_vocab"):
        data["model"]["vocab"] = corrupt(data["model"]["vocab"], how, bad)
        path = tmp / "tokenizer.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        expect_model_file_error(lambda: Tokenizer.from_file(path))
    elif where == "added":
        added = {t["content"]: t["id"] for t in data["added_tokens"]}
        added["<extra>"] = len(data["model"]["vocab"]) + 5
        table = corrupt(added, "bad_id" if how == "duplicate" else how, bad)
        if how == "sparse":
            table = {k: v + 2**33 for k, v in table.items()}
        data["added_tokens"] = [{"id": v, "content": k, "special": True} for k, v in table.items()]
        path = tmp / "tokenizer.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        expect_model_file_error(lambda: Tokenizer.from_file(path))
    elif where == "gpt2":
        vocab = corrupt(data["model"]["vocab"], how, bad)
        (tmp / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (tmp / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in data["model"]["merges"]),
                                        encoding="utf-8")
        expect_model_file_error(lambda: Tokenizer.from_gpt2(tmp / "vocab.json"))
    else:
        ranks = {bytes([i]): i for i in range(256)} | {b"th": 256, b"the": 257, b"at": 258}
        ranks = corrupt(ranks, how, bad)
        lines = [f"{base64.b64encode(t).decode()} {r}" for t, r in ranks.items()]
        if how == "duplicate":
            lines.append(lines[0].split()[0] + " 999")
        (tmp / "r.tiktoken").write_text("\n".join(lines) + "\n", encoding="utf-8")
        expect_model_file_error(lambda: Tokenizer.from_tiktoken(tmp / "r.tiktoken"))


@settings(max_examples=20, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=8).filter(lambda b: not _utf8(b)))
def test_merges_txt_that_is_not_utf8(tmp_path_factory, garbage):
    tmp = tmp_path_factory.mktemp("m")
    (tmp / "vocab.json").write_text(json.dumps({"a": 0, "b": 1, "ab": 2}), encoding="utf-8")
    (tmp / "merges.txt").write_bytes(b"#version: 0.2\na b\n" + garbage + b"\n")
    expect_model_file_error(lambda: Tokenizer.from_gpt2(tmp / "vocab.json"))


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
