"""Subword models: one pre-tokenized chunk in, (id, start, end) tokens out. See `base.Model`."""
from __future__ import annotations

from tokenizers_kit.models.base import MODELS, Model, Token
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.models.unigram import UnigramModel
from tokenizers_kit.models.wordpiece import WordPieceModel

__all__ = ["MODELS", "BPEModel", "Model", "Token", "UnigramModel", "WordPieceModel"]
