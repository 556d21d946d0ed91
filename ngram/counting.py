"""Counting n-grams with NumPy: text -> id stream -> distinct n-grams of every order with their counts.

The corpus becomes one int32 stream in which each line is a sentence `<s> w1 ... wm </s>` (KenLM's
convention, lm/builder/corpus_count.cc: tokens split on ASCII whitespace, an empty line is still `<s> </s>`;
every line, including a last one without a newline, ends in `</s>`). One `<s>` is enough: the n-gram ending at
position j is kept when it does not reach back past its sentence's `<s>`, which is the same set KenLM gets by
padding with N-1 `<s>` and collapsing "<s> <s> w" to "<s> w".

Where tkit departs from lmplz, on purpose: a last line without a newline still ends in `</s>` (lmplz drops that
`</s>`; tkit's scoring and `kenlm.Model.score` both add it); a literal `<unk>` in the text is the `<unk>` word
(lmplz refuses it, as it refuses `<s>` and `</s>`, which tkit also refuses unless `skip_symbols`); a vocabulary
limit given as a size (`--vocab-size`), or a word list with a smoothing other than (modified) Kneser-Ney, maps
the other words to `<unk>` and counts it like a word (SRILM's `-vocab -unk`); a word list with Kneser-Ney prunes
the n-grams that contain the other words, as lmplz's `--limit_vocab_file` (see `unlisted_words`).

All orders come from the stream with one `np.unique` per order: the key of the n-gram ending at j is
(index of the (n-1)-gram ending at j-1) * V + token[j], so keys stay 64-bit for any order and come out in
lexicographic order (see `ngram.tables`).
"""
from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, count, islice, repeat

import numpy as np

from ngram.tables import NgramIndex, group_starts, index_dtype
from ngram.vocab import BOS, EOS, SENTENCE_SPECIALS, Vocabulary
from tokenizers_kit.corpus import iter_text_blocks
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.running import running_sum
from tokenizers_kit.simple import CharTokenizer, TextTokenizer, WhitespaceTokenizer

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
SUB_BLOCK = 1 << 20  # characters tokenized at once
FIRST_BATCH = 8192  # sentences in the first batch of `encode_sentences`
BATCH_TOKENS = 1 << 20  # words per later batch (a list of that many strings: 8 MB)
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
        if self.fixed:
            return Vocabulary(self.tokens, self.index)
        index = dict(self._ids)  # the lookup dict is the vocabulary's index, but for the reserved entries
        del index[""], index[LINE_END]
        index[BOS], index[EOS] = BOS_ID, EOS_ID
        return Vocabulary(self.tokens, index)

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

    def _lookup(self, toks: list[str]) -> np.ndarray:
        """Ids of tokens (int32): reserved ones negative, LINE_END `</s>`; new words join the vocabulary."""
        if self.fixed:
            local = {t: self.index.get(t, UNK_ID) for t in dict.fromkeys(toks)}
            local.update(self._reserved)
            return np.fromiter(map(local.__getitem__, toks), dtype=np.int32, count=len(toks))
        # one C-level pass: unseen tokens get the next id from the defaultdict's factory
        seen = len(self._ids)
        ids = np.fromiter(map(self._ids.__getitem__, toks), dtype=np.int32, count=len(toks))
        if len(self._ids) > seen:  # the new words are the dict's last entries: read them from the end
            self.tokens.extend(reversed(list(islice(reversed(self._ids), len(self._ids) - seen))))
        return ids

    def encode_tokens(self, toks: list[str]) -> np.ndarray:
        """Ids of a token list whose sentences end in LINE_END -> the `<s> ... </s>` stream (int32)."""
        if not toks:
            return np.empty(0, dtype=np.int32)
        return self._wrap_lines(self._lookup(toks))

    def _wrap_lines(self, ids: np.ndarray) -> np.ndarray:
        """Ids whose sentences end in `</s>` -> the stream with `<s>` before each sentence."""
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

    def encode_sentences(self, sentences: Iterable[Sequence[str]], batch: int | None = None) -> Iterable[np.ndarray]:
        """Yield the id stream of token lists (one list = one sentence), `batch` sentences at a time; by default
        about BATCH_TOKENS words at a time (the first FIRST_BATCH sentences tell how many sentences that is)."""
        it = iter(sentences)
        size = batch or FIRST_BATCH
        while chunk := list(islice(it, size)):
            if isinstance(chunk[0], str):
                raise TypeError("fit() takes sentences as lists of tokens; use fit_text() for raw text")
            stream = self.encode_batch(chunk)
            if batch is None:  # each batch has a fixed cost beyond its words (fresh lists and arrays): few, large ones
                size = max(FIRST_BATCH, BATCH_TOKENS * len(chunk) // max(1, stream.size))
            yield stream

    def encode_batch(self, chunk: list[Sequence[str]]) -> np.ndarray:
        """The stream of some sentences: their words are looked up in one flat pass, then `<s>`/`</s>` are
        written around each sentence by position (the sentence lengths say where), with no search for them."""
        try:
            lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        except TypeError:  # sentences without a length (e.g. generators)
            chunk = [list(s) for s in chunk]
            lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        flat: list[str] = []
        deque(map(flat.extend, chunk), maxlen=0)  # flattened at C speed
        if len(flat) != int(lengths.sum()):  # a sentence whose len() disagrees with its items
            return self.encode_tokens(list(chain.from_iterable(chain.from_iterable(zip(chunk, repeat((LINE_END,)))))))
        ids = self._lookup(flat)
        ends = np.cumsum(lengths + 2) - 1  # where each sentence's </s> goes
        if ids.size and (ids.min() < 0 or np.any(ids == EOS_ID)):
            # a reserved word (refused or dropped) or a LINE_END word (a line break): the general path
            return self._wrap_lines(np.insert(ids, np.cumsum(lengths), EOS_ID))
        stream = np.empty(ids.size + 2 * len(chunk), dtype=np.int32)
        words = np.ones(stream.size, dtype=bool)
        words[ends] = False
        words[ends - lengths - 1] = False
        stream[ends] = EOS_ID
        stream[ends - lengths - 1] = BOS_ID
        stream[words] = ids
        self.lines += len(chunk)
        return stream


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


def unlisted_words(vocab: Vocabulary, keep: Iterable[str]) -> np.ndarray | None:
    """lmplz's prune_words (corpus_count.cc): True for the words not in `keep`, never `<unk> <s> </s>`; None
    when every word is listed."""
    allowed = set(keep)
    drop = np.fromiter((t not in allowed for t in vocab.tokens), dtype=bool, count=len(vocab))
    drop[:3] = False
    return drop if drop.any() else None


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
    # lmplz's --limit_vocab_file: True for the words whose n-grams (unigram included) are pruned after counting
    drop_words: np.ndarray | None = None

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


BLOCK = 1 << 20  # entries per step of the passes after a sort (bounds their temporaries)


def unique_inverse(keys: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True, return_counts=True)` for uint64 keys, faster and lighter (see
    `unique_ngrams`: one sort of packed values instead of an argsort). Overwrites `keys`. The inverse is int32 while it fits."""
    inv = np.empty(keys.size, dtype=index_dtype(keys.size))
    uniq, counts, _ = unique_ngrams(keys, np.ones(keys.size, dtype=bool), inv, block=block)
    return uniq, inv, counts


def unique_ngrams(keys: np.ndarray, where: np.ndarray, rank: np.ndarray | None = None,
                  weights: np.ndarray | None = None, block: int = BLOCK,
                  at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct keys of the n-grams ending at the stream positions `np.flatnonzero(where)` (one key each,
    in position order): (sorted distinct keys, counts, `at[j]` for the stream position j of each key's first
    occurrence — or j itself when `at` is None). `rank`, when given, gets rank[j] = index of the key at
    position j. Counts are the summed `weights` at those positions when given (else occurrences).

    When key and position fit in 64 bits together, one `np.sort` of (key << b | position) replaces
    `np.unique`'s argsort, and the passes after it go a block at a time (no full-size permutation or
    inverse array). Overwrites `keys`."""
    size = keys.size
    if size == 0:
        return keys, np.zeros(0, np.int64), np.zeros(0, np.int64)
    pos_bits = max(1, int(where.size - 1).bit_length())
    extra = int(keys.max()).bit_length() + pos_bits - 64
    if 0 < extra <= SPLIT_BITS:
        return _unique_by_top_bits(keys, where, rank, weights, block, at, extra, 64 - pos_bits)
    if extra > 0:
        return unique_ngrams_wide(keys, where, rank, weights, at)
    packed = keys
    packed <<= np.uint64(pos_bits)
    done = 0
    for lo in range(0, where.size, block):  # positions into the low bits, a block at a time
        pos = np.flatnonzero(where[lo:lo + block])
        pos += lo
        packed[done:done + pos.size] |= pos.view(np.uint64)
        done += pos.size
    packed.sort()
    shift, mask = np.uint64(pos_bits), np.uint64((1 << pos_bits) - 1)
    summed = None if weights is None else np.empty(size, dtype=np.int64)
    uniq_parts, first_parts, pos_parts = [], [], []
    groups, last = 0, None
    for lo in range(0, size, block):
        hi = min(size, lo + block)
        sorted_keys = packed[lo:hi] >> shift
        new = np.empty(hi - lo, dtype=bool)  # a key differs from the one before it
        new[0] = last is None or sorted_keys[0] != last
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
        last = sorted_keys[-1]
        pos = packed[lo:hi]
        pos &= mask  # in place: the sorted array is not needed past this block
        pos = pos.view(np.int64)
        firsts = np.flatnonzero(new)
        uniq_parts.append(np.take(sorted_keys, firsts))
        first_parts.append(firsts + lo)
        first_pos = np.take(pos, firsts)
        pos_parts.append(first_pos if at is None else np.take(at, first_pos))
        if rank is not None:
            group = running_sum(new, rank.dtype)
            group += groups - 1
            rank[pos] = group
        if summed is not None:
            summed[lo:hi] = weights[pos]
        groups += firsts.size
    firsts = np.concatenate(first_parts)
    if summed is None:
        counts = np.diff(firsts, append=size)
    else:
        counts = np.add.reduceat(summed, firsts)
    return np.concatenate(uniq_parts), counts.astype(np.int64, copy=False), np.concatenate(pos_parts)


SPLIT_BITS = 3  # keys up to this many bits too wide to pack are split by their top bits, one packed sort each


def _unique_by_top_bits(keys: np.ndarray, where: np.ndarray, rank: np.ndarray | None, weights: np.ndarray | None,
                        block: int, at: np.ndarray | None, extra: int, low_bits: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`unique_ngrams` for keys `extra` bits too wide to pack with a position: the keys are split by their top
    `extra` bits (those above the `low_bits` that fit beside a position) into 2**extra groups taken in
    increasing order, so each group's keys fit beside a position (one fast packed sort each) and the groups'
    results, concatenated, are sorted; ranks are offset by the distinct keys of the groups before."""
    shift = np.uint64(low_bits)
    top = keys >> shift
    low_mask = np.uint64((1 << low_bits) - 1)
    positions = np.flatnonzero(where)
    parts = []
    offset = 0
    for value in range(1 << extra):
        chosen = np.flatnonzero(top == value)
        if not chosen.size:
            continue
        mine = np.zeros(where.size, dtype=bool)
        mine[positions[chosen]] = True
        sub_keys = np.take(keys, chosen)
        sub_keys &= low_mask
        uniq, counts, first = unique_ngrams(sub_keys, mine, rank, weights, block, at)
        if rank is not None and offset:
            rank[mine] += offset  # the group's positions, in stream order
        uniq |= np.uint64(value) << shift
        parts.append((uniq, counts, first))
        offset += uniq.size
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))  # type: ignore[return-value]


def unique_ngrams_wide(keys: np.ndarray, where: np.ndarray, rank: np.ndarray | None = None,
                       weights: np.ndarray | None = None, at: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`unique_ngrams` for keys too wide to share 64 bits with a position: one unstable argsort (the vectorised
    quicksort, several times faster than the stable sort `np.unique` needs for first occurrences), the first
    occurrence of a key then being the least position in its group."""
    size = keys.size
    positions = np.flatnonzero(where)
    perm = np.argsort(keys, kind="quicksort")
    sorted_keys = np.take(keys, perm)
    new = group_starts(sorted_keys)
    starts = np.flatnonzero(new)
    uniq = np.take(sorted_keys, starts)
    del sorted_keys
    pos = np.take(positions, perm)  # the stream position of each sorted key
    del perm, positions
    first = np.minimum.reduceat(pos, starts)
    if rank is not None:
        group = running_sum(new, rank.dtype)
        group -= 1
        rank[pos] = group
    counts = np.diff(starts, append=size) if weights is None else np.add.reduceat(np.take(weights, pos), starts)
    return uniq, counts.astype(np.int64, copy=False), first if at is None else np.take(at, first)


def unique_ngrams_reference(keys: np.ndarray, where: np.ndarray, rank: np.ndarray | None = None,
                            weights: np.ndarray | None = None, at: np.ndarray | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plain twin of `unique_ngrams`: `np.unique` with first occurrences, inverse and counts."""
    positions = np.flatnonzero(where)
    uniq, first, inv, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    if rank is not None:
        rank[positions] = inv.reshape(-1)
    if weights is not None:
        counts = np.bincount(inv.reshape(-1), weights=weights[positions], minlength=uniq.size)
    first = positions[first]
    return uniq, counts.astype(np.int64), first if at is None else at[first]


JOINT_MIN = 3  # one sort for several orders pays when it replaces at least two sorts


def joint_orders(size: int, order: int, vocab_size: int) -> int:
    """How many orders (2..m) one sort can count: m word digits (id + 1, 0 for none) and a position must
    fit in 64 bits."""
    digit_bits = int(vocab_size).bit_length()
    pos_bits = max(1, int(size - 1).bit_length())
    return min(order, size, (64 - pos_bits) // digit_bits)  # no n-gram is longer than the stream


@dataclass
class _JointCounts:
    """Orders 1..m counted by `_count_joint`: lists indexed like `CountTables.counts` (n = 2..m for keys etc.)."""

    counts: list[np.ndarray]
    keys: list[np.ndarray]
    prefixes: list[np.ndarray]
    suffixes: list[np.ndarray]
    rank_end: np.ndarray  # index of the m-gram ending at each position (where `valid`), for the orders above
    valid: np.ndarray


def _count_joint(tokens: np.ndarray, reach_back: np.ndarray, m: int, vocab_size: int,
                 need_rank: bool) -> _JointCounts:
    """Orders 1..m from ONE sort (unweighted). Position s gets the key of the m words starting there, word k
    as the digit id + 1, or 0 when the k-gram starting at s would reach past a sentence start or the end.
    In sorted order, the runs of equal first-n digits are the order-n n-grams, already in the NgramIndex
    order (a missing word, 0, sorts before every word, so those runs are simply skipped).

    Few full-size temporaries, reused: on a VM a page fault costs ~2 us, so touching fresh memory costs
    about as much as the sort."""
    size = tokens.size
    bits = int(vocab_size).bit_length()
    pos_bits = max(1, int(size - 1).bit_length())
    u64 = np.uint64
    ids = tokens.view(np.uint32)  # ids are >= 0
    key = np.arange(size, dtype=np.uint64)  # the position, in the low bits
    work = np.empty(size, dtype=np.uint64)
    valid = np.ones(size, dtype=bool)  # a k-gram ends at j
    for k in range(1, m + 1):
        n_starts = size - k + 1  # positions where a k-gram can start
        digit = work[:n_starts]
        np.add(ids[k - 1:], u64(1), out=digit)
        if k > 1:  # every unigram exists
            ends = np.zeros(size, dtype=bool)
            np.logical_and(valid[:-1], reach_back[1:], out=ends[1:])
            valid = ends
            digit *= valid[k - 1:]  # 0 where no k-gram ends at s + k - 1
        digit <<= u64(bits * (m - k) + pos_bits)
        key[:n_starts] |= digit
    key.sort()
    # agree[i]: how many first digits entry i shares with entry i-1 (the highest differing bit says); then the
    # u64 buffer is free for the per-entry n-gram indices below (no fresh full-size arrays for them)
    differ = work[:size - 1]
    np.bitwise_xor(key[1:], key[:-1], out=differ)
    agree = np.zeros(size, dtype=np.uint8)
    below = np.empty(size - 1, dtype=bool)
    for n in range(1, m + 1):
        np.less(differ, u64(1) << u64(bits * (m - n) + pos_bits), out=below)
        agree[1:] += below.view(np.uint8)
    del differ, below
    pos = np.empty(size, dtype=index_dtype(size))
    np.bitwise_and(key, u64((1 << pos_bits) - 1), out=pos, casting="unsafe")
    digit_mask = u64((1 << bits) - 1)
    change = np.empty(size + 1, dtype=bool)  # the first n digits change at entry i; change[size] ends the last run
    change[0] = change[size] = True
    out = _JointCounts([np.empty(0, np.int64)], [], [], [], np.empty(0, np.int32), valid)
    idx = index_dtype(size)
    group = work.view(idx)[:size]  # per sorted entry: index of its (n-1)-gram
    rank_start = work.view(idx)[size:2 * size] if idx is np.int32 else np.empty(size, dtype=idx)  # per position
    for n in range(1, m + 1):
        shift = u64(bits * (m - n) + pos_bits)  # below it: digits n+1.. and the position
        np.less(agree[1:], n, out=change[1:size])
        bounds = np.flatnonzero(change)  # run starts, then size: runs [bounds[i], bounds[i + 1])
        starts = bounds[:-1]
        last = np.take(key, starts)
        last >>= shift
        last &= digit_mask  # digit n
        if n == 1:  # every position starts a unigram
            unigrams = np.zeros(vocab_size, dtype=np.int64)
            unigrams[last - u64(1)] = np.diff(bounds)
            if vocab_size > BOS_ID:
                unigrams[BOS_ID] = 0  # <s> is never predicted
            out.counts.append(unigrams)
            continue
        present = last != 0  # runs whose n-th word exists are the n-grams
        firsts = np.compress(present, starts)
        counts = np.compress(present, bounds[1:])
        counts -= firsts  # run sizes
        del bounds, starts
        last = np.compress(present, last)
        last -= u64(1)
        if n == 2:
            head = np.take(key, firsts)
            head >>= shift + u64(bits)
            head -= u64(1)  # the first word
        else:
            head = np.take(group, firsts).astype(np.uint64)  # index of the first n-1 words
        prev_size = vocab_size if n == 2 else out.keys[-1].size
        out.prefixes.append(head.astype(index_dtype(prev_size)))
        head *= u64(vocab_size)
        head += last
        out.keys.append(head)
        out.counts.append(counts)
        first_pos = np.take(pos, firsts)
        first_pos += 1  # the suffix starts one word later
        out.suffixes.append(np.take(tokens if n == 2 else rank_start, first_pos).astype(index_dtype(prev_size),
                                                                                     copy=False))
        if n < m or need_rank:
            mark = change[:size]  # reused: its runs are done with
            mark[:] = False
            mark[firsts] = True
            running_sum(mark, out=group)
            group -= 1  # n-gram index of each entry (garbage where its n-th word is missing: never read)
            rank_start[pos] = group
            change[0] = True
    if need_rank:
        out.rank_end = np.full(size, -1, dtype=rank_start.dtype)
        out.rank_end[m - 1:] = rank_start[:size - m + 1]
    return out


def count_tables(stream: np.ndarray, order: int, vocab_size: int, weights: np.ndarray | None = None,
                 reset: np.ndarray | None = None, block: int = BLOCK) -> CountTables:
    """All distinct n-grams of orders 1..`order` in an id stream, with their (weighted) counts.

    `reset` marks where sentences start (default: at each `<s>`); n-grams never reach back past one.
    `weights` (default 1) lets an already-counted table be re-counted (see `chunked_counts`)."""
    if order < 1:
        raise TkitError(f"the order must be at least 1, got {order}")
    tokens = np.ascontiguousarray(stream, dtype=np.int32)
    bos = tokens == BOS_ID
    w = None if weights is None else np.asarray(weights, dtype=np.int64)
    reach_back = ~(bos if reset is None else np.asarray(reset, dtype=bool))  # no sentence starts here
    keys: list[np.ndarray] = []
    prefixes: list[np.ndarray] = []  # known for the jointly counted orders
    suffixes: list[np.ndarray] = []
    rank_prev = tokens  # index of the (n-1)-gram ending at each position (unigram index = id), -1 for none
    prev_size = vocab_size
    valid = np.ones(tokens.size, dtype=bool)  # an n-gram of the current order ends at each valid position
    first_order = 2
    joint = joint_orders(tokens.size, order, vocab_size)
    if w is None and joint >= JOINT_MIN:
        done = _count_joint(tokens, reach_back, joint, vocab_size, need_rank=joint < order)
        counts, keys, prefixes, suffixes = done.counts, done.keys, done.prefixes, done.suffixes
        rank_prev, valid, prev_size, first_order = done.rank_end, done.valid, keys[-1].size, joint + 1
        del done
    elif w is None:
        unigrams = np.bincount(tokens, minlength=vocab_size).astype(np.int64, copy=False)
        if unigrams.size > BOS_ID:
            unigrams[BOS_ID] = 0  # <s> is never predicted
        counts = [np.empty(0, np.int64), unigrams]
    else:
        scored = ~bos
        counts = [np.empty(0, np.int64),
                  np.bincount(tokens[scored], weights=w[scored], minlength=vocab_size).astype(np.int64)]
    v = np.uint64(vocab_size)
    for n in range(first_order, order + 1):
        # an n-gram ends at j when an (n-1)-gram ends at j-1 and no sentence starts at j
        ends = np.zeros(tokens.size, dtype=bool)
        np.logical_and(valid[:-1], reach_back[1:], out=ends[1:])
        valid = ends
        if not valid.any():  # past the longest sentence: every higher order is empty, so skip their work
            _append_empty_orders(keys, counts, suffixes, order - n + 1, prev_size)
            break
        key = np.compress(valid[1:], rank_prev[:-1]).astype(np.uint64)  # >= 0: an (n-1)-gram ends at j-1
        key *= v
        key += np.compress(valid[1:], tokens[1:]).view(np.uint32)  # ids >= 0; uint32 keeps the sum in uint64
        # the top order needs no rank: nothing extends it
        rank = np.full(tokens.size, -1, dtype=index_dtype(key.size)) if n < order else None
        # the suffix of an n-gram is the (n-1)-gram ending at the same position (any occurrence will do)
        uniq, cnt, suffix = unique_ngrams(key, valid, rank, w, block, at=rank_prev)
        del key
        suffixes.append(suffix.astype(index_dtype(prev_size), copy=False))
        keys.append(uniq)
        counts.append(cnt)
        rank_prev, prev_size = rank, uniq.size
    index = NgramIndex(vocab_size, keys)
    for n, suffix in enumerate(suffixes, start=2):
        index.set_suffix(n, suffix)
    for n, prefix in enumerate(prefixes, start=2):
        index.set_prefix(n, prefix)
    return CountTables(index, counts)


# ---- KenLM-padded windows (what `tkit count` lists) ------------------------------------------------------------
def _append_empty_orders(keys: list[np.ndarray], counts: list[np.ndarray], suffixes: list[np.ndarray],
                         how_many: int, prev_size: int) -> None:
    for _ in range(how_many):
        keys.append(np.empty(0, np.uint64))
        counts.append(np.empty(0, np.int64))
        suffixes.append(np.empty(0, index_dtype(prev_size)))
        prev_size = 0


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
