"""`tkit count --memory` to text (or just `--top K`) in bounded memory: the chunked counter's merged blocks go to
a sorted file; a vocabulary limit re-sorts it with the words remapped; an external sort by count (highest
first, ties in lexicographic order of the ids, as `NgramCounts.most_common`) streams the lines out. Held
whole: vocabulary-sized arrays. (`.npz` output holds the counts in memory: one array per field.)
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ngram.arpa_format import VocabBytes
from ngram.bounded_counts import count_dtype
from ngram.chunked_counts import ChunkedCounter, parse_memory, unpack_ids32
from ngram.counting import EOS_ID, CorpusEncoder, vocabulary_limit
from ngram.escape import escape_token
from ngram.extsort import (
    ExternalSorter,
    id_keys,
    key_dtype,
    key_ids,
    read_blocks,
    write_records,
)
from ngram.ngram_counts import format_count_lines
from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import TextTokenizer

LINES = 1 << 16


@dataclass
class CountSummary:
    total: int
    distinct: int
    sentences: int
    vocab: int


def _by_count_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n + 2)), ("c", np.int64)])


def _by_count(records: np.ndarray, n: int) -> np.ndarray:
    """Records keyed by (highest count first, then the ids): the complement of the count, big-endian, in
    front of the ids."""
    out = np.empty(records.size, _by_count_dtype(n))
    rank = (np.uint64(2**63 - 1) - records["c"].astype(np.uint64)).astype(">u8").view(">u4").reshape(-1, 2)
    out["k"] = id_keys(np.concatenate([rank.astype(np.int64), key_ids(records["k"], n)], axis=1))
    out["c"] = records["c"]
    return out


def _lines(blocks: Iterator[np.ndarray], n: int, vb: VocabBytes, limit: int | None) -> Iterator[bytes]:
    left = limit
    for block in blocks:
        if left is not None:
            block = block[:left]
            left -= block.size
        if block.size:
            yield format_count_lines(key_ids(block["k"], n + 2)[:, 2:], block["c"], vb)
        if left == 0:
            return


def count_bounded(paths: Sequence[str], order: int, tokenizer: TextTokenizer, *, memory: int | str,
                  output: str | None, top: int | None, temp_dir: str | os.PathLike[str] | None = None,
                  vocab_size: int | None = None, limit_vocab: Iterable[str] | None = None,
                  skip_symbols: bool = False, on_bytes: Callable[[int], None] | None = None,
                  write_stdout: Callable[[Iterable[bytes]], None] | None = None) -> CountSummary:
    """Count the order-N windows (KenLM padding) of text files within `memory` bytes; write every count to
    `output` (text, most frequent first; "-" for stdout) and the `top` most frequent to stdout."""
    if order < 1:
        raise TkitError(f"--order must be at least 1 (got {order})")
    budget = parse_memory(memory)
    encoder = CorpusEncoder(tokenizer, skip_symbols=skip_symbols)
    directory = Path(tempfile.mkdtemp(prefix="tkit-count-", dir=None if temp_dir is None else str(temp_dir)))
    share = max(budget // 3, 1 << 20)
    dtype = count_dtype(order)
    try:
        lexical = directory / "counts"
        write_records(lexical, np.empty(0, dtype), "wb")
        freq = np.zeros(0, np.int64)
        with ChunkedCounter(order, budget, str(directory)) as counter:
            for block in encoder.encode_files(paths, on_bytes):
                counter.add(block)
            for keys, counts in counter.merged():
                rows = unpack_ids32(keys, order)
                records = np.empty(counts.size, dtype)
                records["k"], records["c"] = id_keys(rows), counts
                write_records(lexical, records)
                last = np.bincount(rows[:, -1], weights=counts).astype(np.int64)
                freq = np.concatenate([freq, np.zeros(max(0, last.size - freq.size), np.int64)])
                freq[:last.size] += last
        if freq.size == 0:
            raise CorpusError("the corpus has no lines: give a file with some text in it")
        vocab = encoder.vocab
        if vocab_size is not None or limit_vocab is not None:
            full = np.zeros(len(vocab), np.int64)
            full[:freq.size] = freq
            vocab, remap = vocabulary_limit(vocab, full, vocab_size, limit_vocab)
            if remap is not None:
                again = ExternalSorter(dtype, share, directory, "remap", reduce="c")
                for block in read_blocks(lexical, dtype):
                    block["k"] = id_keys(remap[key_ids(block["k"], order)])
                    again.add(block)
                again.to_file(lexical)
        ranked = ExternalSorter(_by_count_dtype(order), share, directory, "ranked")
        total = distinct = sentences = 0
        for block in read_blocks(lexical, dtype):
            total += int(block["c"].sum())
            distinct += block.size
            sentences += int(block["c"][key_ids(block["k"], order)[:, -1] == EOS_ID].sum())
            ranked.add(_by_count(block, order))
        os.remove(lexical)
        ranked.to_file(lexical)
        vb = VocabBytes([escape_token(t) for t in vocab.tokens])
        emit = write_stdout or (lambda chunks: [sys.stdout.buffer.write(c) for c in chunks])
        if output == "-":
            emit(_lines(read_blocks(lexical, _by_count_dtype(order), LINES), order, vb, None))
        elif output:
            with atomic_path(output) as tmp, open(tmp, "wb") as out:
                for chunk in _lines(read_blocks(lexical, _by_count_dtype(order), LINES), order, vb, None):
                    out.write(chunk)
        if top:
            emit(_lines(read_blocks(lexical, _by_count_dtype(order), LINES), order, vb, top))
        return CountSummary(total, distinct, sentences, len(vocab))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
