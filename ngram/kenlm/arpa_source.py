"""An ARPA file as KenLM reads it: word strings, float32 values and n-gram rows in KenLM's id space (`<unk>` is
0, the other words 1, 2, ... in the order of the unigram section), parsed by tkit's streaming ARPA reader and
its checks. Values are rounded to float32 once, as KenLM's parser does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ngram.arpa_lines import ArpaLines
from ngram.arpa_read import (
    HEADER_MAX_LINE,
    NGRAM_MAX_LINE,
    check_declared,
    parse_header,
    read_end,
    read_ngrams,
    read_unigrams,
)
from tokenizers_kit.errors import ModelFileError

UNK_NAMES = ("<unk>", "<UNK>")
SRILM_LOG_ZERO = np.float32(-99.0)  # the reader turns log10 values <= -99 into -inf; KenLM keeps SRILM's -99


@dataclass
class ArpaSource:
    words: list[bytes]  # by KenLM id; words[0] is b"<unk>"
    has_unk: bool
    counts: list[int]  # as the ARPA header declares them
    prob: list[np.ndarray]  # [n - 1]: float32 log10 p of each order-n entry (unigrams by id)
    backoff: list[np.ndarray]  # [n - 1]: float32, -0.0 where missing or 0 (KenLM's "no extension")
    ids: list[np.ndarray]  # [n - 1]: (count, n) int64 ids, oldest word first; ids[0] is a column of ids


def _f32(values: np.ndarray) -> np.ndarray:
    out = values.astype(np.float32)
    out[np.isneginf(out)] = SRILM_LOG_ZERO
    return out


def _backoffs(values: np.ndarray) -> np.ndarray:
    out = _f32(values)
    out[out == 0] = np.float32(-0.0)
    return out


def read_arpa_source(path: str | os.PathLike[str], unk_prob: float = -100.0) -> ArpaSource:
    p = Path(path)
    with ArpaLines(p, HEADER_MAX_LINE) as src:
        header = parse_header(src)
        counts = header.counts
        if len(counts) < 2:
            raise ModelFileError(f"{p} is an order-1 model: KenLM's formats need order 2 or more")
        check_declared(src, counts)
        src.max_line = NGRAM_MAX_LINE
        uni = read_unigrams(src, counts[0])
        kid, words, has_unk = _kenlm_ids(src, uni.words, uni.first)
        prob = np.zeros(len(words), np.float32)
        backoff = np.zeros(len(words), np.float32)
        prob[kid], backoff[kid] = _f32(uni.prob), _backoffs(uni.backoff)
        if not has_unk:
            prob[0], backoff[0] = np.float32(unk_prob), np.float32(0.0)
        lookup = {w: i for i, w in enumerate(uni.words)}
        probs, backs, rows = [prob], [backoff], [np.arange(len(words), dtype=np.int64)[:, None]]
        for n in range(2, len(counts) + 1):
            section = read_ngrams(src, n, counts[n - 1], lookup)
            rows.append(kid[section.ids])
            probs.append(_f32(section.prob))
            backs.append(_backoffs(section.backoff))
        read_end(src)
    return ArpaSource([w.encode("utf-8") for w in words], has_unk, list(counts), probs, backs, rows)


def _kenlm_ids(src: ArpaLines, names: list[str], first: int) -> tuple[np.ndarray, list[str], bool]:
    """The KenLM id of each unigram line, the words by id, and whether the file has `<unk>`."""
    unk = [j for j, w in enumerate(names) if w in UNK_NAMES]
    if len(unk) > 1:
        raise src.error(first + unk[1], "the unigrams list <unk> twice")
    kid = np.zeros(len(names), dtype=np.int64)
    rest = [j for j in range(len(names)) if not unk or j != unk[0]]
    kid[rest] = np.arange(1, len(rest) + 1)
    words = ["<unk>"] + [names[j] for j in rest]
    present = set(words)
    if len(present) != len(words):
        seen: set[str] = set()
        for j, name in enumerate(names):
            if name in seen:
                raise src.error(first + j, f"the unigram {name[:40]!r} appears twice")
            seen.add(name)
    for special in ("<s>", "</s>"):
        if special not in present:
            raise ModelFileError(f"{src.path} has no {special} unigram: KenLM models need <s> and </s>")
    return kid, words, bool(unk)

