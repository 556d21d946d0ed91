"""Fuzzing the GPT-2 vocab.json + merges.txt and tiktoken rank-file loaders (foreign.py): files a trained BPE
wrote, damaged line by line (deleted, repeated, swapped, bad ranks and ids, unknown tokens, garbage, empty lines,
CRLF, BOM, line separators inside tokens) and byte by byte (truncated, flipped, not UTF-8). See loader_fuzz.py
for what each case must do."""
from __future__ import annotations

import base64
import functools
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokenizers_kit.loader_fuzz import load_and_use
from tokenizers_kit.foreign import save_gpt2, save_tiktoken
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

CORPUS = ["the cat sat on the mat, 123 times! ünïcode — 日本語\n" * 20, "It's a dog's life.\n" * 10]
COUNTS: dict[str, int] = {}


@functools.lru_cache(maxsize=None)
def written() -> dict[str, bytes]:
    """vocab.json, merges.txt and a .tiktoken file of one small trained byte-level BPE."""
    tok = train_tokenizer(CORPUS, "bpe", vocab_size=320, special_tokens=["<|endoftext|>"])
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        save_gpt2(tok, base / "vocab.json", base / "merges.txt")
        save_tiktoken(tok, base / "r.tiktoken")
        return {name: (base / name).read_bytes() for name in ("vocab.json", "merges.txt", "r.tiktoken")}


LINE_NOISE = st.one_of(
    st.sampled_from(["", " ", "a b c", "Ġ", "Ġt he", "nosuch token", "x\u2028y z", "a\x85 b", "#version: 0.2",
                     "IQ== -1", "IQ== 1.5", "IQ== ١٢", "IQ== 99999999999", "IQ== " + "9" * 5000, "!!!! 3", "IQ=",
                     "==== 4", "IQ== 4 5", "QUFB 4", "\ufeffIQ== 0", "\t", "YQ==  \t 300"]),
    st.text(max_size=12),
    st.tuples(st.binary(min_size=1, max_size=30), st.integers(-5, 2**40)).map(
        lambda t: base64.b64encode(t[0]).decode() + f" {t[1]}"),
)


@st.composite
def damaged(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` with a few line edits, then perhaps one byte-level edit."""
    lines = raw.decode("utf-8").split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["delete", "repeat", "swap", "noise", "noise", "tokens"]))
        if how == "delete":
            del lines[i]
        elif how == "repeat":
            lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "noise":
            lines[i] = draw(LINE_NOISE)
        else:  # swap two fields between lines: unknown merges, rank collisions
            j = draw(st.integers(0, len(lines) - 1))
            a, b = lines[i].split(" "), lines[j].split(" ")
            if len(a) == 2 and len(b) == 2:
                lines[i], lines[j] = f"{a[0]} {b[1]}", f"{b[0]} {a[1]}"
        if not lines:
            lines = [""]
    out = "\n".join(lines).encode("utf-8")
    how = draw(st.sampled_from(["none", "none", "truncate", "flip", "garbage", "bom_crlf"]))
    at = draw(st.integers(0, len(out)))
    if how == "truncate":
        return out[:at]
    if how == "flip":
        return out[:at] + bytes([draw(st.integers(0, 255))]) + out[at + 1:]
    if how == "garbage":
        return out[:at] + draw(st.binary(min_size=1, max_size=8)) + out[at:]
    if how == "bom_crlf":
        return b"\xef\xbb\xbf" + out.replace(b"\n", b"\r\n")
    return out


@st.composite
def damaged_vocab(draw: st.DrawFn, raw: bytes) -> bytes:
    """vocab.json with ids made bad, keys renamed or removed, or the text damaged."""
    vocab = json.loads(raw)
    keys = list(vocab)
    for _ in range(draw(st.integers(1, 3))):
        key = keys[draw(st.integers(0, len(keys) - 1))]
        how = draw(st.sampled_from(["id", "id", "rename", "delete", "duplicate_id"]))
        if how == "id":
            vocab[key] = draw(st.sampled_from([-1, 2**32, 2**63, 10**40, 1.0, "3", None, True, [], len(vocab) + 70000]))
        elif how == "rename" and key in vocab:
            vocab[draw(st.text(min_size=1, max_size=4))] = vocab.pop(key)
        elif how == "delete":
            vocab.pop(key, None)
        elif key in vocab:
            vocab[key] = vocab[keys[0]] if keys[0] in vocab else 0
    text = json.dumps(vocab, ensure_ascii=False).encode("utf-8")
    if draw(st.booleans()):  # JSON Python reads but a vocab.json may not hold, as the first entry
        literal = draw(st.sampled_from([b'"x": ' + b"1" * 5000, b'"x": NaN', b'"x": -Infinity', b'"x": 1e999',
                                        b'"\\ud800": 3', b'"!": 7', b'"a\\u2028b": 9', b'"x": -0']))
        text = b"{" + literal + b", " + text[1:]
    return text if draw(st.booleans()) else draw(damaged(text))


def _count(kind: str, outcome: str) -> None:
    COUNTS[f"{kind}/{outcome}"] = COUNTS.get(f"{kind}/{outcome}", 0) + 1


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_damaged_gpt2_files_load_or_say_why(tmp_path_factory, data):
    files = written()
    tmp = tmp_path_factory.mktemp("gpt2")
    which = data.draw(st.sampled_from(["vocab", "merges", "both"]))
    vocab = data.draw(damaged_vocab(files["vocab.json"])) if which != "merges" else files["vocab.json"]
    merges = data.draw(damaged(files["merges.txt"])) if which != "vocab" else files["merges.txt"]
    (tmp / "vocab.json").write_bytes(vocab)
    (tmp / "merges.txt").write_bytes(merges)
    _count("gpt2", load_and_use(lambda: Tokenizer.from_gpt2(tmp / "vocab.json")))
    load_and_use(lambda: Tokenizer.from_file(tmp / "vocab.json"))


@SETTINGS
@given(data=st.data())
def test_damaged_tiktoken_files_load_or_say_why(tmp_path_factory, data):
    files = written()
    tmp = tmp_path_factory.mktemp("tt")
    (tmp / "r.tiktoken").write_bytes(data.draw(damaged(files["r.tiktoken"])))
    _count("tiktoken", load_and_use(lambda: Tokenizer.from_tiktoken(tmp / "r.tiktoken")))
    load_and_use(lambda: Tokenizer.from_file(tmp / "r.tiktoken"))
