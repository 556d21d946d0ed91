"""Shared helpers for the n-gram tests: fixture paths and reference counting with plain Python."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kenlm"

# Lines with every KenLM subtlety: an empty line, repeated words, tabs and CR as delimiters, other Unicode
# spaces kept inside words, and a last line without a newline.
TRICKY_TEXT = "a a b a\n\nb a a b\nthe cat\tsat  on the\r\nmat\u00a0x the cat\nsat on the mat"


def kenlm_sentences(text: str) -> list[list[str]]:
    """Tokens of each line as KenLM splits them (ASCII delimiters only)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for line in lines:
        for d in "\t\r\0":
            line = line.replace(d, " ")
        out.append([t for t in line.split(" ") if t])
    return out


def counter_windows(sentences: list[list[str]], order: int) -> Counter:
    """The plain-Python answer: order-N windows over `<s>`*(N-1) + tokens + `</s>` for each sentence."""
    counts: Counter = Counter()
    for tokens in sentences:
        padded = ["<s>"] * (order - 1) + tokens + ["</s>"]
        counts.update(tuple(padded[i:i + order]) for i in range(len(padded) - order + 1))
    return counts


def counter_occurrences(sentences: list[list[str]], order: int) -> Counter:
    """Occurrences of each n-gram of exactly `order` words in `<s> tokens </s>` (one `<s>`), not ending in `<s>`."""
    counts: Counter = Counter()
    for tokens in sentences:
        padded = ["<s>"] + tokens + ["</s>"]
        counts.update(tuple(padded[i:i + order]) for i in range(len(padded) - order + 1) if i + order > 1)
    return counts


def table_dict(tables, vocab, n: int) -> dict[tuple[str, ...], int]:
    """{n-gram: count} of order n of a CountTables."""
    index = tables.index
    rows = np.arange(index.vocab_size)[:, None]
    for m in range(2, n + 1):
        rows = np.hstack([rows[index.prefix(m)], index.word(m)[:, None]])
    toks = vocab.tokens
    return {tuple(toks[i] for i in r): int(c) for r, c in zip(rows.tolist(), tables.counts[n].tolist()) if c}


def arpa_entries(path: Path) -> dict[str, tuple[float, float]]:
    """{n-gram: (log10 prob, log10 backoff)}, a missing backoff read as 0: read independently of tkit's ARPA
    reader, to compare tkit's files with lmplz's."""
    entries: dict[str, tuple[float, float]] = {}
    order = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        head = re.fullmatch(r"\\(\d+)-grams:", line)
        if head:
            order = int(head.group(1))
        elif order and "\t" in line:
            fields = line.split("\t")
            entries[fields[1]] = (float(fields[0]), float(fields[2]) if len(fields) > 2 else 0.0)
    return entries
