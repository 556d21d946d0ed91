"""ngram: counting (NumPy), smoothing, the n-gram LanguageModel, ARPA read/write, and what every language
model shares (the LanguageModel interface, decoding, evaluation). Imports only tokenizers_kit.

    from ngram import NgramModel, load_ngram, train_ngram
    lm = train_ngram("data/shakespeare.txt", order=5, smoothing="modified-kneser-ney")
    lm.save("shakespeare.arpa"); lm.score("to be or not to be"); lm.generate(30, seed=0)
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ngram.model import NgramModel
from ngram.smoothing import NAMES as SMOOTHING_NAMES
from ngram.storage import load_ngram
from ngram.train import train_files, train_sentences
from tokenizers_kit.simple import TextTokenizer


def train_ngram(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], order: int = 3,
                smoothing: str = "modified-kneser-ney", tokenizer: TextTokenizer | str | None = None,
                **options: Any) -> NgramModel:
    """Train on text files (one sentence per line). See `ngram.train.train_files` for the options."""
    files = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    return train_files(files, order, smoothing, tokenizer, **options)


__all__ = ["SMOOTHING_NAMES", "NgramModel", "load_ngram", "train_files", "train_ngram", "train_sentences"]
