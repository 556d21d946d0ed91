"""Shared test data: Shakespeare slices and tokenizers trained once per test session (cached in-process)."""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "shakespeare.txt"
TRAIN_LINES = (0, 12000)  # the training slice
HELD_OUT = (160000, 163000)  # lines the trainers never see
VOCAB = {"bpe": 1000, "wordpiece": 1000, "unigram": 1000, "sentencepiece": 1000, "sentencepiece-bpe": 1000,
         "char": None}

_TMP = Path(tempfile.mkdtemp(prefix="tkit-test-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def lines(start: int, stop: int) -> tuple[str, ...]:
    with open(CORPUS, encoding="utf-8") as f:
        return tuple(f.read().split("\n")[start:stop])


@functools.lru_cache(maxsize=None)
def train_file() -> Path:
    path = _TMP / "train.txt"
    path.write_text("\n".join(lines(*TRAIN_LINES)) + "\n", encoding="utf-8")
    return path


def held_out() -> list[str]:
    return list(lines(*HELD_OUT))


@functools.lru_cache(maxsize=None)
def trained_path(name: str) -> Path:
    """tokenizer.json of `name` (an algo, or "sentencepiece-bpe"), trained on the training slice."""
    algo, _, model = name.partition("-")
    tok = train_tokenizer(str(train_file()), algo, vocab_size=VOCAB[name], sp_model=model or "unigram")
    path = _TMP / f"{name}.json"
    tok.save(path)
    return path


def trained(name: str) -> Tokenizer:
    return Tokenizer.from_file(trained_path(name))


ALL = ("bpe", "wordpiece", "unigram", "sentencepiece", "sentencepiece-bpe", "char")
