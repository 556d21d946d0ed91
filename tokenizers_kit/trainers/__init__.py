"""Trainers: distinct pre-tokenized words with their counts in, a trained model out."""
from __future__ import annotations

from tokenizers_kit.trainers.bpe import BPETrainer
from tokenizers_kit.trainers.wordpiece import WordPieceTrainer

__all__ = ["BPETrainer", "WordPieceTrainer"]
