"""Counting n-grams with NumPy: text -> id stream -> distinct n-grams of every order with their counts.

The corpus becomes one int32 stream in which each line is a sentence `<s> w1 ... wm </s>` (KenLM's
convention, lm/builder/corpus_count.cc: tokens split on ASCII whitespace, an empty line is still `<s> </s>`;
every line, including a last one without a newline, ends in `</s>`). One `<s>` is enough: the n-gram ending at
position j is kept when it does not reach back past its sentence's `<s>`, which is the same set KenLM gets by
padding with N-1 `<s>` and collapsing "<s> <s> w" to "<s> w".

Where tkit departs from lmplz, on purpose: a last line without a newline still ends in `</s>` (lmplz drops that
`</s>`; tkit's scoring and `kenlm.Model.score` both add it); a literal `<unk>` in the text is the `<unk>` word
(lmplz refuses it, as it refuses `<s>` and `</s>`, which tkit also refuses unless `skip_symbols`); a vocabulary
limit maps the other words to `<unk>` and counts it like a word (SRILM's `-vocab -unk`), where lmplz's
`--limit_vocab_file` prunes the n-grams that contain them.

All orders come from the stream with one `np.unique` per order: the key of the n-gram ending at j is
(index of the (n-1)-gram ending at j-1) * V + token[j], so keys stay 64-bit for any order and come out in
lexicographic order (see `ngram.tables`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, count, islice, repeat

import numpy as np

from ngram.tables import NgramIndex, index_dtype
from ngram.vocab import BOS, EOS, SENTENCE_SPECIALS, Vocabulary
from tokenizers_kit.corpus import iter_text_blocks
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import CharTokenizer, TextTokenizer, WhitespaceTokenizer

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
SUB_BLOCK = 1 << 20  # characters tokenized at once
LINE_END = "\n"  # marks the end of a sentence in a token list; no tokenizer emits it inside a line


# ---- text -> ids ---------------------------------------------------------------------------------------------
class CorpusEncoder:
    """Token strings -> ids, growing a vocabulary in order of first appearance (KenLM's id order), or mapping
    to `<unk>` when the vocabulary is fixed. Produces the `<s> ... </s>` id stream one text block at a time."""

    def __init__(self, tokenizer: TextTokenizer | None = None, vocab: Vocabulary | None = None,
                 skip_symbols: bool = False) -> None:
        self.tokenizer = tokenizer or WhitespaceTokenizer()
        self.fixed = vocab is not None
        self.tokens: list[str] = list(vocab.tokens) if vocab is not None else list(SENTENCE_SPECIALS)
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.skip_symbols = skip_symbols
        self.lines = 0
        # literal <s>/</s> and empty tokens get negative ids, to be refused or dropped; LINE_END is </s>
        self._reserved = {BOS: -1, EOS: -2, "": -3, LINE_END: EOS_ID}
        self._ids: defaultdict[str, int] = defaultdict(None, {**self.index, **self._reserved})
        self._ids.default_factory = count(len(self.tokens)).__next__  # C-level: no Python call per new token

    def _drop_reserved(self, ids: np.ndarray) -> np.ndarray:
        for special, code in ((BOS, -1), (EOS, -2)):
            if not self.skip_symbols and np.any(ids == code):
                raise CorpusError(f"the corpus contains the token {special!r}, which tkit reserves for sentence "
                                  "boundaries (as KenLM does): remove it or pass --skip-symbols")
        return ids[ids >= 0]

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(self.tokens)

    def _tokens_of_block(self, text: str) -> list[str]:
        """The block's tokens with LINE_END after every line (a last line without newline included)."""
        tok = self.tokenizer
        if type(tok) is WhitespaceTokenizer:
            for delimiter in "\t\r\0":  # KenLM's other delimiters; str.replace is much faster than translate
                if delimiter in text:
                    text = text.replace(delimiter, " ")
            toks = list(filter(None, text.replace("\n", " \n ").split(" ")))
        elif type(tok) is CharTokenizer:
            toks = list(text.replace("\r\n", "\n"))
        else:
            toks = []
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for line in lines:
                if line.endswith("\r"):
                    line = line[:-1]
                toks.extend(t for t in tok.tokenize(line) if t)
                toks.append(LINE_END)
        if toks and toks[-1] != LINE_END:
            toks.append(LINE_END)
        return toks

    def encode_tokens(self, toks: list[str]) -> np.ndarray:
        """Ids of a token list whose sentences end in LINE_END -> the `<s> ... </s>` stream (int32)."""
        if not toks:
            return np.empty(0, dtype=np.int32)
        if self.fixed:
            local = {t: self.index.get(t, UNK_ID) for t in dict.fromkeys(toks)}
            local.update(self._reserved)
            ids = np.fromiter(map(local.__getitem__, toks), dtype=np.int32, count=len(toks))
        else:  # one C-level pass: unseen tokens get the next id from the defaultdict's factory
            seen = len(self._ids)
            ids = np.fromiter(map(self._ids.__getitem__, toks), dtype=np.int32, count=len(toks))
            self.tokens.extend(islice(self._ids, seen, None))
        if ids.min() < 0:
            ids = self._drop_reserved(ids)
        ends = np.flatnonzero(ids == EOS_ID)
        self.lines += int(ends.size)
        starts = np.concatenate(([0], ends[:-1] + 1))
        return np.insert(ids, starts, BOS_ID)

    def encode_text(self, text: str) -> np.ndarray:
        """The stream of a text block; long blocks go in ~1 MB pieces cut at newlines, so the Python token
        strings alive at once stay few (the memory peak of the whole count)."""
        if len(text) <= SUB_BLOCK:
            return self.encode_tokens(self._tokens_of_block(text))
        parts, start = [], 0
        while start < len(text):
            cut = text.find("\n", start + SUB_BLOCK) + 1 or len(text)
            parts.append(self.encode_tokens(self._tokens_of_block(text[start:cut])))
            start = cut
        return np.concatenate(parts)

    def encode_files(self, paths: Sequence[str], on_bytes: Callable[[int], None] | None = None) -> Iterable[np.ndarray]:
        """Yield the id stream block by block (each block ends on a sentence boundary)."""
        for path in paths:
            for block in iter_text_blocks(path):
                yield self.encode_text(block)
                if on_bytes:
                    on_bytes(len(block.encode("utf-8")))

    def encode_sentences(self, sentences: Iterable[Sequence[str]], batch: int = 8192) -> Iterable[np.ndarray]:
        """Yield the id stream of token lists (one list = one sentence), in batches."""
        it = iter(sentences)
        while chunk := list(islice(it, batch)):
            if isinstance(chunk[0], str):
                raise TypeError("fit() takes sentences as lists of tokens; use fit_text() for raw text")
            # sentence, [LINE_END], sentence, ... flattened at C speed
            yield self.encode_tokens(list(chain.from_iterable(chain.from_iterable(zip(chunk, repeat((LINE_END,)))))))


@dataclass
class EncodedCorpus:
    """The whole corpus as one `<s> w1 ... wm </s>` stream (int32), with its vocabulary."""

    vocab: Vocabulary
    stream: np.ndarray

    @property
    def sentences(self) -> int:
        return int(np.count_nonzero(self.stream == BOS_ID))

    @property
    def tokens(self) -> int:
        """Words, not counting `<s>`/`</s>`."""
        return int(self.stream.size) - 2 * self.sentences


def encode_corpus(blocks: Iterable[np.ndarray], encoder: CorpusEncoder) -> EncodedCorpus:
    parts = list(blocks)
    stream = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    if stream.size == 0:
        raise CorpusError("the corpus has no lines: give a file with some text in it")
    return EncodedCorpus(encoder.vocab, stream)


def vocabulary_limit(vocab: Vocabulary, freq: np.ndarray, max_size: int | None = None,
                     keep: Iterable[str] | None = None) -> tuple[Vocabulary, np.ndarray | None]:
    """Which words stay: the `max_size` most frequent (specials included; ties go to the earlier word) and/or
    those listed in `keep`. Returns the new vocabulary and the old id -> new id map (others -> `<unk>`), or
    None for the map when every word stays. Kept words keep their relative order."""
    size = len(vocab)
    kept = np.ones(size, dtype=bool)
    if keep is not None:
        allowed = set(keep)
        kept &= np.fromiter((t in allowed for t in vocab.tokens), dtype=bool, count=size)
    kept[:3] = True
    if max_size is not None:
        if max_size < 4:
            raise TkitError(f"--vocab-size must be at least 4 (<unk>, <s>, </s> and a word), got {max_size}")
        score = np.asarray(freq, dtype=np.float64).copy()
        score[~kept] = -1
        score[:3] = np.inf
        top = np.zeros(size, dtype=bool)
        top[np.argsort(-score, kind="stable")[:max_size]] = True
        kept &= top
    if kept.all():
        return vocab, None
    remap = np.where(kept, np.cumsum(kept) - 1, UNK_ID).astype(np.int32)
    return Vocabulary([t for t, k in zip(vocab.tokens, kept) if k]), remap


def limit_vocabulary(corpus: EncodedCorpus, max_size: int | None = None,
                     keep: Iterable[str] | None = None) -> EncodedCorpus:
    """The corpus with rare (or unlisted) words mapped to `<unk>` (see `vocabulary_limit`)."""
    freq = np.bincount(corpus.stream, minlength=len(corpus.vocab))
    vocab, remap = vocabulary_limit(corpus.vocab, freq, max_size, keep)
    return corpus if remap is None else EncodedCorpus(vocab, remap[corpus.stream])


# ---- ids -> n-gram tables ------------------------------------------------------------------------------------
@dataclass
class CountTables:
    """Every distinct n-gram of orders 1..N with its number of occurrences.

    `counts[n][i]` counts the order-n n-gram `i` of `index` (unigrams: every vocabulary id; `<s>` counts 0,
    since it is never predicted)."""

    index: NgramIndex
    counts: list[np.ndarray]

    @property
    def order(self) -> int:
        return self.index.order

    @property
    def vocab_size(self) -> int:
        return self.index.vocab_size

    def context_totals(self, n: int) -> np.ndarray:
        """c(h ·) for every order-n n-gram h as a context: the summed counts of its extensions (n < N)."""
        return np.bincount(self.index.prefix(n + 1), weights=self.counts[n + 1],
                           minlength=self.index.size(n)).astype(np.int64)


def unique_inverse(keys: np.ndarray, block: int = 1 << 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True, return_counts=True)` for uint64 keys, ~2.5x faster and lighter:
    when key and position fit in 64 bits together, one `np.sort` of (key << b | position) replaces the
    argsort, and the inverse is scattered a block at a time (no full-size permutation array).
    Overwrites `keys`. The inverse is int32 while it fits."""
    size = keys.size
    pos_bits = max(1, int(size - 1).bit_length())
    small = index_dtype(size)
    if size == 0 or int(keys.max()).bit_length() + pos_bits > 64:
        uniq, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
        return uniq, inv.astype(small), cnt.astype(np.int64)
    packed = keys
    packed <<= np.uint64(pos_bits)
    for lo in range(0, size, block):  # positions into the low bits, without a full-size arange
        packed[lo:lo + block] |= np.arange(lo, min(size, lo + block), dtype=np.uint64)
    packed.sort()
    shift, mask = np.uint64(pos_bits), np.uint64((1 << pos_bits) - 1)
    inv = np.empty(size, dtype=small)
    uniq_parts, first_parts = [], []
    groups = 0
    for lo in range(0, size, block):
        hi = min(size, lo + block)
        sorted_keys = packed[max(lo - 1, 0):hi] >> shift
        new = np.empty(hi - lo, dtype=bool)  # a key differs from the one before it
        if lo == 0:
            new[0] = True
            np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
        else:
            np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new)
            sorted_keys = sorted_keys[1:]
        group = np.cumsum(new, dtype=small)
        group += groups - 1
        groups = int(group[-1]) + 1
        inv[(packed[lo:hi] & mask).astype(np.intp)] = group
        firsts = np.flatnonzero(new)
        uniq_parts.append(sorted_keys[firsts])
        first_parts.append(firsts + lo)
    firsts = np.concatenate(first_parts)
    counts = np.diff(np.append(firsts, size))
    return np.concatenate(uniq_parts), inv, counts.astype(np.int64)


def count_tables(stream: np.ndarray, order: int, vocab_size: int, weights: np.ndarray | None = None,
                 reset: np.ndarray | None = None) -> CountTables:
    """All distinct n-grams of orders 1..`order` in an id stream, with their (weighted) counts.

    `reset` marks where sentences start (default: at each `<s>`); n-grams never reach back past one.
    `weights` (default 1) lets an already-counted table be re-counted (see `chunked_counts`)."""
    if order < 1:
        raise TkitError(f"the order must be at least 1, got {order}")
    tokens = np.ascontiguousarray(stream, dtype=np.int32)
    if reset is None:
        reset = tokens == BOS_ID
    w = None if weights is None else np.asarray(weights, dtype=np.int64)
    scored = tokens != BOS_ID
    counts: list[np.ndarray] = [np.empty(0, np.int64),
                                np.bincount(tokens[scored], weights=None if w is None else w[scored],
                                            minlength=vocab_size).astype(np.int64)]
    keys: list[np.ndarray] = []
    suffixes: list[np.ndarray] = []
    rank_prev = tokens  # index of the (n-1)-gram ending at each position (unigram index = id)
    v = np.uint64(vocab_size)
    starts_here = np.asarray(reset, dtype=bool)
    valid = np.ones(tokens.size, dtype=bool)  # an n-gram of the current order ends at each valid position
    for n in range(2, order + 1):
        # an n-gram ends at j when an (n-1)-gram ends at j-1 and no sentence starts at j
        valid = np.concatenate(([False], valid[:-1] & ~starts_here[1:]))
        ends = valid[1:]
        key = rank_prev[:-1][ends].astype(np.uint64)
        key *= v
        key += tokens[1:][ends].view(np.uint32)  # ids are >= 0; uint32 keeps the sum in uint64
        uniq, inv, cnt = unique_inverse(key)
        del key
        if w is not None:
            cnt = np.bincount(inv, weights=w[valid], minlength=uniq.size).astype(np.int64)
        suffix = np.empty(uniq.size, dtype=index_dtype(keys[-1].size if keys else vocab_size))
        suffix[inv] = rank_prev[valid]  # the (n-1)-gram ending at the same position
        rank = np.full(tokens.size, -1, dtype=index_dtype(uniq.size))
        rank[valid] = inv
        keys.append(uniq)
        suffixes.append(suffix)
        counts.append(cnt)
        rank_prev = rank
        del inv, ends
    index = NgramIndex(vocab_size, keys)
    for n, suffix in enumerate(suffixes, start=2):
        index.set_suffix(n, suffix)
    return CountTables(index, counts)


# ---- KenLM-padded windows (what `tkit count` lists) ------------------------------------------------------------
def padded_windows(stream: np.ndarray, order: int) -> np.ndarray:
    """(M, order) rows: the `order` tokens ending at each non-`<s>` position of the stream with N-1 `<s>` per
    sentence — exactly the n-grams KenLM's corpus_count emits (e.g. "<s> <s> a" for the first word at order 3)."""
    tokens = np.asarray(stream, dtype=np.int32)
    if order == 1:
        return tokens[tokens != BOS_ID][:, None].copy()
    padded = np.repeat(tokens, np.where(tokens == BOS_ID, order - 1, 1))
    ends = np.flatnonzero(padded != BOS_ID)
    view = np.lib.stride_tricks.sliding_window_view(padded, order)
    return view[ends - (order - 1)]


def rows_as_stream(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten counted KenLM windows into a stream `count_tables` can re-count: (tokens, weights, reset).

    Each row is its own little sentence (reset at its first column and at every `<s>`), and only its last
    token carries the row's count, so the order-n table counts the last n words of every row."""
    m, n = rows.shape
    tokens = rows.reshape(-1)
    weights = np.zeros(m * n, dtype=np.int64)
    weights[n - 1::n] = counts
    reset = np.zeros(m * n, dtype=bool)
    reset[::n] = True
    reset |= tokens == BOS_ID
    return tokens, weights, reset
