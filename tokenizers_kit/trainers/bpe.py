"""BPE training that reproduces HF `tokenizers`' BpeTrainer merge for merge (`models/bpe/trainer.rs`).

Input is the dict of distinct pre-tokenized words -> count. Each word is a list of symbol ids; pair counts are
weighted by word count (overlapping pairs, so "aaa" has (a, a) twice) and kept in 64-bit Python ints. The
best pair comes off a max-heap with lazy updates: an entry whose count is stale is pushed back with the
current one. Ties go to the smallest (left_id, right_id). After each merge only the words that held the pair
are rewritten, and the four neighbour-pair deltas per occurrence update the counts: the corpus is never
rescanned.

Exactness notes, all as HF does them: each heap entry carries the word indices it was created for (the
words where the pair was counted, or newly formed in one merge step), and a merge rewrites only those; the
merged pair's own count is not decremented; a pair merged twice keeps its last rank.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.trainers.words import check_word_counts, compute_alphabet, split_words, start_vocab

Progress = Callable[[int, int], None]  # (merges done, merges wanted)
PROGRESS_EVERY = 64


class BPETrainer:
    def __init__(
        self,
        vocab_size: int = 30000,
        *,
        min_frequency: int = 0,
        special_tokens: Iterable[str] = (),
        initial_alphabet: Iterable[str] = (),
        limit_alphabet: int | None = None,
        continuing_subword_prefix: str | None = None,
        end_of_word_suffix: str | None = None,
        max_token_length: int | None = None,
        progress: Progress | None = None,
        unk_token: str | None = None,
        fuse_unk: bool = False,
        byte_fallback: bool = False,
    ) -> None:
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise TkitError(f"vocab size must be a positive integer, got {vocab_size!r}")
        if min_frequency < 0:
            raise TkitError(f"min frequency must be >= 0, got {min_frequency}")
        if limit_alphabet is not None and limit_alphabet < 0:
            raise TkitError(f"limit alphabet must be >= 0, got {limit_alphabet}")
        if max_token_length is not None and max_token_length < 1:
            raise TkitError(f"max token length must be >= 1, got {max_token_length}")
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.special_tokens = list(special_tokens)
        self.initial_alphabet = list(initial_alphabet)
        self.limit_alphabet = limit_alphabet
        self.continuing_subword_prefix = continuing_subword_prefix
        self.end_of_word_suffix = end_of_word_suffix
        self.max_token_length = max_token_length
        self.progress = progress
        self.model_options = {"unk_token": unk_token, "fuse_unk": fuse_unk, "byte_fallback": byte_fallback}

    def train(self, word_counts: Mapping[str, int]) -> BPEModel:
        check_word_counts(word_counts)
        w2id, id2w = start_vocab(self.special_tokens)
        for ch in compute_alphabet(word_counts, self.initial_alphabet, self.limit_alphabet):
            if ch not in w2id:
                w2id[ch] = len(id2w)
                id2w.append(ch)
        prefix, suffix = self.continuing_subword_prefix, self.end_of_word_suffix
        words, counts = split_words(word_counts, w2id, id2w, prefix, suffix)
        if len(id2w) > self.vocab_size:
            raise TkitError(
                f"vocab size {self.vocab_size} is smaller than the {len(id2w)} special tokens and alphabet "
                f"symbols: use a vocab size of at least {len(id2w)} (or limit the alphabet)"
            )
        merges = self._merge(words, counts, w2id, id2w)
        return BPEModel(
            w2id,
            merges,
            continuing_subword_prefix=prefix,
            end_of_word_suffix=suffix,
            **self.model_options,  # type: ignore[arg-type]
        )

    def _merge(
        self, words_ids: list[list[int]], counts: list[int], w2id: dict[str, int], id2w: list[str]
    ) -> list[tuple[str, str]]:
        """The merge loop. A word is a str with one character per symbol (chr(id)): merging a pair in a word
        is then one C-level `str.replace`, and a pair key is the 2-char string (it orders like (a, b))."""
        vocab_size = self.vocab_size
        prefix = self.continuing_subword_prefix
        max_len = self.max_token_length
        sym_len = [1] * len(id2w)  # characters a symbol covers (HF's Symbol.len in training), for max_len
        words = ["".join(map(chr, w)) for w in words_ids]

        pc: defaultdict[str, int] = defaultdict(int)  # pair -> count (weighted by word counts)
        where: defaultdict[str, list[int]] = defaultdict(list)  # pair -> words it appears in
        add = str.__add__
        for wi, w in enumerate(words):
            n = counts[wi]
            for key in map(add, w, w[1:]):
                pc[key] += n
                where[key].append(wi)
        seq = 0  # heap entries never compare their word lists: (count, pair) ties fall to this counter
        heap = []
        for key, pos in where.items():
            if pc[key] > 0:
                heap.append((-pc[key], key, seq, pos))
                seq += 1
        heapq.heapify(heap)
        del where

        merged: list[str] = []  # pairs in merge order, repeats included
        target = vocab_size - len(id2w)
        done_at_start = len(id2w)
        heappush, heappop = heapq.heappush, heapq.heappop
        min_freq = self.min_frequency
        while len(id2w) < vocab_size and heap:
            negc, key, s, pos = heappop(heap)
            cur = pc[key]
            if -negc != cur:  # stale: count changed since this entry was pushed
                if cur > 0:
                    heappush(heap, (-cur, key, s, pos))
                continue
            if cur < 1 or cur < min_freq:
                break
            a, b = ord(key[0]), ord(key[1])
            part_b = id2w[b]
            if prefix is not None and part_b.startswith(prefix):
                part_b = part_b[len(prefix) :]
            token = id2w[a] + part_b
            new = w2id.get(token)
            token_is_new = new is None
            if new is None:
                new = w2id[token] = len(id2w)
                id2w.append(token)
                sym_len.append(sym_len[a] + sym_len[b])
            merged.append(key)
            fresh = _merge_words(words, counts, pos, key, chr(new), token_is_new, pc, sym_len, max_len)
            for fkey, fpos in fresh.items():
                c = pc[fkey]
                if c > 0:
                    heappush(heap, (-c, fkey, seq, fpos))
                    seq += 1
            if self.progress is not None and len(merged) % PROGRESS_EVERY == 0:
                self.progress(len(id2w) - done_at_start, target)
        if self.progress is not None:
            self.progress(len(id2w) - done_at_start, len(id2w) - done_at_start)  # done: the bar ends full
        last_rank = {pair: r for r, pair in enumerate(merged)}  # a repeated merge keeps its last rank (HF)
        return [(id2w[ord(p[0])], id2w[ord(p[1])]) for p, _ in sorted(last_rank.items(), key=lambda kv: kv[1])]


def _merge_words(
    words: list[str],
    counts: list[int],
    pos: list[int],
    pair: str,
    cn: str,
    token_is_new: bool,
    pc: defaultdict[str, int],
    sym_len: list[int],
    max_len: int | None,
) -> dict[str, list[int]]:
    """Replace every non-overlapping `pair`, left to right, by `cn` in the words at `pos` and apply HF's
    deltas per occurrence: (prev,a)-n (prev,new)+n (b,next)-n (new,next)+n, where `next` is the symbol
    after the pair before the merge. Returns pair -> words where it gained counts (the +n pairs; skipped when
    the new pair would reach `max_len` characters, as HF does).

    Deltas are summed per distinct neighbour first, so each occurrence costs two dict updates."""
    ca, cb = pair
    left_n: defaultdict[str, int] = defaultdict(int)  # left neighbour -> summed word counts
    left_w: defaultdict[str, list[int]] = defaultdict(list)  # left neighbour -> words
    right_n: defaultdict[str, int] = defaultdict(int)
    right_w: defaultdict[str, list[int]] = defaultdict(list)
    fresh: dict[str, list[int]] = {}
    for wi in pos:
        w = words[wi]
        j = w.find(pair)
        if j < 0:
            continue  # the pair left this word in an earlier merge
        n = counts[wi]
        if not token_is_new and cn in w:  # an earlier merge made the same string: scan explicitly
            words[wi] = _merge_word_slow(w, wi, n, ca, cb, cn, pc, fresh, sym_len, max_len)
            continue
        nw = words[wi] = w.replace(pair, cn)
        if len(w) - len(nw) == 1:  # one occurrence, at j (the common case)
            if j:
                left = w[j - 1]
                left_n[left] += n
                left_w[left].append(wi)
            if j + 2 < len(w):
                right = w[j + 2]
                right_n[right] += n
                right_w[right].append(wi)
            continue
        last = len(nw) - 1
        j = nw.find(cn)
        while j >= 0:
            if j:
                left = nw[j - 1]
                left_n[left] += n
                left_w[left].append(wi)
            if j < last:
                right = nw[j + 1]
                if right == cn:
                    right = ca  # the next occurrence: before the merge its first symbol stood here
                right_n[right] += n
                right_w[right].append(wi)
            j = nw.find(cn, j + 1)
    new_len = sym_len[ord(cn)]
    for left, n in left_n.items():
        pc[left + ca] -= n
        if max_len is None or sym_len[ord(left)] + new_len < max_len:
            key = left + cn
            pc[key] += n
            fresh.setdefault(key, []).extend(left_w[left])
    for right, n in right_n.items():
        pc[cb + right] -= n
        if max_len is None or sym_len[ord(right)] + new_len < max_len:
            key = cn + right
            pc[key] += n
            fresh.setdefault(key, []).extend(right_w[right])
    return fresh


def _merge_word_slow(
    w: str,
    wi: int,
    n: int,
    ca: str,
    cb: str,
    cn: str,
    pc: defaultdict[str, int],
    fresh: dict[str, list[int]],
    sym_len: list[int],
    max_len: int | None,
) -> str:
    """`_merge_words` for one word by an explicit left-to-right scan (HF `Word::merge`)."""
    new_len = sym_len[ord(cn)]
    out: list[str] = []
    i, size = 0, len(w)
    while i < size:
        if w[i] == ca and i + 1 < size and w[i + 1] == cb:
            if out:
                left = out[-1]
                pc[left + ca] -= n
                if max_len is None or sym_len[ord(left)] + new_len < max_len:
                    pc[left + cn] += n
                    fresh.setdefault(left + cn, []).append(wi)
            if i + 2 < size:
                right = w[i + 2]
                pc[cb + right] -= n
                if max_len is None or sym_len[ord(right)] + new_len < max_len:
                    pc[cn + right] += n
                    fresh.setdefault(cn + right, []).append(wi)
            out.append(cn)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return "".join(out)
