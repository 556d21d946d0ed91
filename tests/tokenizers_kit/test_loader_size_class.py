"""Tokenizer files whose size is the attack (long tokens, ids at and past the sparseness limit, deep nesting,
large tables) load or are refused with a TkitError within a time bound and an address-space limit: each runs in
a child process under RLIMIT_AS, so a loader that sizes anything by a number from the file fails here."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokenizers_kit.foreign import MAX_TOKEN_BYTES

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 512 * 2**20  # bytes of address space for the child (Python with tkit imported needs a fraction of it)
SECONDS = 60

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from tokenizers_kit.errors import TkitError
from tokenizers_kit.tokenizer import Tokenizer
try:
    tok = Tokenizer.{loader}(sys.argv[1])
except TkitError as err:
    print("refused:", err)
else:
    for text in ["hello world", "a" * 5000, ""]:
        try:
            tok.decode(tok.encode(text).ids)
        except TkitError:
            pass
    print("loaded")
"""


def tiktoken_file(path: Path, tokens: dict[bytes, int]) -> None:
    ranks = {bytes([b]): b for b in range(256)} | tokens
    path.write_text("".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in ranks.items()), encoding="ascii")


def runs(limit: int) -> dict[bytes, int]:
    out, run = {}, b"a"
    while len(run) * 2 <= limit:
        run *= 2
        out[run] = 255 + len(out) + 1
    return out


def char_json(path: Path, ids: list[int]) -> None:
    vocab = {chr(0x10000 + i): idx for i, idx in enumerate(ids)}
    path.write_text(json.dumps({"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None,
                                "post_processor": None, "decoder": None,
                                "model": {"type": "BPE", "vocab": vocab, "merges": []}}), encoding="utf-8")


def deep_json(path: Path, depth: int) -> None:
    inner = '{"type": "Lowercase"}'
    nested = '{"type": "Sequence", "normalizers": [' * depth + inner + "]}" * depth
    text = '{"version": "1.0", "normalizer": ' + nested + ', "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}'
    path.write_text(text, encoding="utf-8")


def gpt2_files(path: Path, ids: list[int]) -> None:
    (path.parent / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    path.write_text(json.dumps({chr(0x10000 + i): idx for i, idx in enumerate(ids)}), encoding="utf-8")


N = 200_000
CASES = {
    "tiktoken runs to the length cap": ("r.tiktoken", "from_tiktoken", lambda p: tiktoken_file(p, runs(MAX_TOKEN_BYTES)),
                                        "loaded"),
    "tiktoken token of 4 MiB": ("r.tiktoken", "from_tiktoken", lambda p: tiktoken_file(p, {b"a" * 2**22: 256}),
                                "refused"),
    "tiktoken rank 2**32 - 1": ("r.tiktoken", "from_tiktoken", lambda p: tiktoken_file(p, {b"ab": 2**32 - 1}),
                                "refused"),
    "tiktoken 200k ranks": ("r.tiktoken", "from_tiktoken",
                            lambda p: tiktoken_file(p, {i.to_bytes(3, "big"): 256 + i for i in range(N)}), "refused"),
    "tokenizer.json 200k tokens": ("t.json", "from_file", lambda p: char_json(p, list(range(N))), "loaded"),
    "tokenizer.json ids at the sparseness limit": ("t.json", "from_file",
                                                   lambda p: char_json(p, [*range(999), 2 * 1000 + 65535]), "loaded"),
    "tokenizer.json ids past it": ("t.json", "from_file", lambda p: char_json(p, [*range(999), 2**32 - 1]), "refused"),
    "tokenizer.json nested 100k deep": ("t.json", "from_file", lambda p: deep_json(p, 100_000), "refused"),
    "GPT-2 200k tokens": ("vocab.json", "from_gpt2", lambda p: gpt2_files(p, list(range(N))), "loaded"),
    "GPT-2 id 2**40": ("vocab.json", "from_gpt2", lambda p: gpt2_files(p, [*range(999), 2**40]), "refused"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_size_attacks_stay_bounded(tmp_path, case):
    name, loader, make, expected = CASES[case]
    path = tmp_path / name
    make(path)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", CHILD.format(limit=LIMIT, loader=loader), str(path)],
                          capture_output=True, text=True, timeout=SECONDS, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(expected), done.stdout[-500:]
    assert "\n" not in done.stdout.strip()
