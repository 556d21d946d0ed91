"""Stage 1: each range's id stream, with its own vocabulary (first-appearance order); merged in range order
into the global vocabulary, so every id is the one the single-machine run gives."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ngram.counting import CorpusEncoder
from ngram.distributed.files import write_array
from ngram.vocab import SENTENCE_SPECIALS, Vocabulary
from tokenizers_kit import tokenizer_from_spec
from tokenizers_kit.byte_ranges import ByteRange, iter_range_text
from tokenizers_kit.simple import TextTokenizer


@dataclass
class RangeVocab:
    """One range's new words (after `<unk> <s> </s>`), how often each local id occurs, its sizes."""

    words: list[str]
    freq: np.ndarray
    lines: int
    ids: int  # stream length, `<s>`/`</s>` included
    bytes: int


@functools.lru_cache(maxsize=2)
def _tokenizer(spec: str) -> TextTokenizer:
    return tokenizer_from_spec(spec)


def encode_range(rng: ByteRange, tokenizer_spec: str, skip_symbols: bool, ids_path: str) -> RangeVocab:
    """Write the range's `<s> ... </s>` stream in local ids to `ids_path` (int32)."""
    encoder = CorpusEncoder(_tokenizer(tokenizer_spec), skip_symbols=skip_symbols)
    parts, nbytes = [], 0
    for text, size in iter_range_text(rng):
        parts.append(encoder.encode_text(text))
        nbytes += size
    stream = np.concatenate(parts) if parts else np.empty(0, np.int32)
    write_array(ids_path, stream.astype(np.int32, copy=False))
    freq = np.bincount(stream, minlength=len(encoder.tokens)).astype(np.int64)
    return RangeVocab(encoder.tokens[len(SENTENCE_SPECIALS):], freq, encoder.lines, int(stream.size), nbytes)


def merge_vocabularies(ranges: Iterable[RangeVocab]) -> tuple[Vocabulary, list[np.ndarray], np.ndarray]:
    """(global vocabulary, each range's local -> global id map, global word frequencies), ranges in order."""
    tokens = list(SENTENCE_SPECIALS)
    index = {t: i for i, t in enumerate(tokens)}
    maps: list[np.ndarray] = []
    freqs: list[tuple[np.ndarray, np.ndarray]] = []
    for part in ranges:
        local = np.empty(len(SENTENCE_SPECIALS) + len(part.words), dtype=np.int32)
        local[:len(SENTENCE_SPECIALS)] = np.arange(len(SENTENCE_SPECIALS))
        for j, word in enumerate(part.words, start=len(SENTENCE_SPECIALS)):
            gid = index.get(word)
            if gid is None:
                gid = index[word] = len(tokens)
                tokens.append(word)
            local[j] = gid
        maps.append(local)
        freqs.append((local, part.freq))
    freq = np.zeros(len(tokens), dtype=np.int64)
    for local, counts in freqs:
        freq[local] += counts  # a range's map is one-to-one
    return Vocabulary(tokens, index), maps, freq
