"""`tkit count`: the n-grams of one order with their counts, as KenLM's corpus_count sees them.

Each line is a sentence padded with N-1 `<s>` and one `</s>`, and the n-gram ending at every token (and at
`</s>`) is counted — e.g. "<s> <s> to" for the first word at order 3. This is the input lmplz estimates from,
and what a `collections.Counter` over `zip(*(padded[i:] for i in range(N)))` gives.

Saved counts (`-o`): `.npz` (meta format "tkit-counts": `rows` (M, N) int32 word ids sorted lexicographically,
`counts` int64, the vocabulary as in n-gram models), or any other name: text, one n-gram a line,
`count<TAB>w1 w2 ... wN`, most frequent first, tokens escaped as in ARPA files (`\\s` for a space, `\\\\` for a
backslash; see ngram.escape).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ngram.arpa_format import NEWLINE, SPACE, VocabBytes, ragged_gather
from ngram.chunked_counts import count_windows_chunked, parse_memory
from ngram.counting import (
    EOS_ID,
    CorpusEncoder,
    encode_corpus,
    limit_vocabulary,
    padded_windows,
    vocabulary_limit,
)
from ngram.escape import escape_token
from ngram.npzfile import save_npz
from ngram.order_limits import check_order_fits, sentence_lengths, window_bytes
from ngram.packing import bits_per_id, pack_rows, unique_counts, unpack_rows
from ngram.vocab import Vocabulary
from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import TextTokenizer

FORMAT = "tkit-counts"
CHUNK = 1 << 16


@dataclass
class NgramCounts:
    """Distinct n-grams of one order (rows of word ids, lexicographic order) and their counts."""

    order: int
    vocab: Vocabulary
    rows: np.ndarray
    counts: np.ndarray
    tokenizer_spec: str = "whitespace"

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def sentences(self) -> int:
        return int(self.counts[self.rows[:, -1] == EOS_ID].sum()) if self.rows.size else 0

    def most_common(self, k: int | None = None) -> np.ndarray:
        """Row indices of the k most frequent n-grams (ties: lexicographic order of the word ids)."""
        order = np.argsort(-self.counts, kind="stable")
        return order if k is None else order[:k]

    def as_dict(self) -> dict[tuple[str, ...], int]:
        """{(w1, ..., wN): count} — convenient for small corpora and tests."""
        tokens = self.vocab.tokens
        return {tuple(tokens[i] for i in row): int(c) for row, c in zip(self.rows.tolist(), self.counts.tolist())}

    def lines(self, which: np.ndarray | None = None) -> Iterator[bytes]:
        """`count<TAB>tokens` lines (UTF-8 bytes, a chunk at a time) for the rows `which` (default: all,
        most frequent first)."""
        which = self.most_common() if which is None else which
        vb = VocabBytes([escape_token(t) for t in self.vocab.tokens])
        for lo in range(0, which.size, CHUNK):
            sel = which[lo:lo + CHUNK]
            yield format_count_lines(self.rows[sel], self.counts[sel], vb)

    def write_tsv(self, path: str | os.PathLike[str]) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            for chunk in self.lines():
                out.write(chunk)

    def save(self, path: str | os.PathLike[str]) -> None:
        """`.npz` (tkit-counts) or text, by the file name."""
        if str(path).lower().endswith(".npz"):
            from ngram.storage import (
                vocab_arrays,  # storage imports the model; keep counting light
            )

            meta = {"format": FORMAT, "version": 1, "order": self.order, "tokenizer": self.tokenizer_spec,
                    "padding": "kenlm"}
            save_npz(path, {"rows": self.rows, "counts": self.counts, **vocab_arrays(self.vocab)}, meta)
        else:
            self.write_tsv(path)


def format_count_lines(rows: np.ndarray, counts: np.ndarray, vb: VocabBytes) -> bytes:
    """`count TAB w1 ... wN NEWLINE` for each row, with one vectorised byte gather."""
    m, n = rows.shape
    if m == 0:
        return b""
    digits = [f"{c}\t".encode() for c in counts.tolist()]
    dlen = np.fromiter(map(len, digits), dtype=np.int64, count=m)
    dblob = np.frombuffer(b"".join(digits), dtype=np.uint8)
    blob = np.concatenate([dblob, vb.blob])
    start = np.empty((m, n + 1), dtype=np.int64)
    length = np.empty((m, n + 1), dtype=np.int64)
    start[:, 0], length[:, 0] = np.cumsum(dlen) - dlen, dlen
    for j in range(n):
        copy = SPACE if j < n - 1 else NEWLINE
        start[:, 1 + j] = vb.start[rows[:, j]] + (dblob.size + copy * vb.stride)
        length[:, 1 + j] = vb.length[rows[:, j]]
    return ragged_gather(blob, start.reshape(-1), length.reshape(-1)).tobytes()


def count_ngrams(paths: Sequence[str], order: int, tokenizer: TextTokenizer, *, memory: int | str | None = None,
                 temp_dir: str | os.PathLike[str] | None = None, vocab_size: int | None = None,
                 limit_vocab: Iterable[str] | None = None, skip_symbols: bool = False,
                 on_bytes: Callable[[int], None] | None = None) -> NgramCounts:
    """Count the order-N n-grams of text files (KenLM padding), in memory or within a `memory` budget."""
    if order < 1:
        raise TkitError(f"--order must be at least 1 (got {order})")
    encoder = CorpusEncoder(tokenizer, skip_symbols=skip_symbols)
    blocks = encoder.encode_files(paths, on_bytes)
    limited = vocab_size is not None or limit_vocab is not None
    if memory is None:
        corpus = encode_corpus(blocks, encoder)
        if limited:
            corpus = limit_vocabulary(corpus, vocab_size, limit_vocab)
        vocab = corpus.vocab
        lengths = sentence_lengths(corpus.stream)
        check_order_fits(order, lambda k: window_bytes(lengths, k))
        bits = bits_per_id(len(vocab))
        keys, counts = unique_counts(pack_rows(padded_windows(corpus.stream, order), bits))
        rows = unpack_rows(keys, order, bits)
    else:
        rows, counts, _ = count_windows_chunked(blocks, order, parse_memory(memory), temp_dir)
        if rows.shape[0] == 0:
            raise CorpusError("the corpus has no lines: give a file with some text in it")
        vocab = encoder.vocab
        if limited:
            freq = np.bincount(rows[:, -1], weights=counts, minlength=len(vocab))
            vocab, remap = vocabulary_limit(vocab, freq, vocab_size, limit_vocab)
            if remap is not None:
                bits = bits_per_id(len(vocab))
                keys, counts = unique_counts(pack_rows(remap[rows], bits), counts)
                rows = unpack_rows(keys, order, bits)
    return NgramCounts(order, vocab, rows, counts, tokenizer.to_spec())
