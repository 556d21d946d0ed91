"""BPE training that reproduces HF `tokenizers`' BpeTrainer merge for merge (`models/bpe/trainer.rs`).

Input is the dict of distinct pre-tokenized words -> count. Each word is a string of symbol characters
(`trainers.words`), so merging a pair in it is one `str.replace`. Pair counts are weighted by word count
(overlapping pairs, so "aaa" has (a, a) twice) and are Python ints (no 32-bit overflow, unlike HF #2058).
The best pair comes off a max-heap with lazy updates: an entry whose count is stale is pushed back with the
current one. Ties go to the smallest (left_id, right_id). After each merge only the words that held the pair
are rewritten, and the four neighbour-pair deltas per occurrence update the counts: the corpus is never
rescanned.

Exactness notes, all as HF does them: each heap entry carries the word indices it was created for (the
words where the pair was counted, or newly formed in one merge step), and a merge rewrites only those; the
merged pair's own count is not decremented; a pair merged twice keeps its last rank.

One departure: a pair whose merge would spell a special token or a byte-fallback piece ("<0x41>") is never
merged (HF's trainer reuses that token's id). Such a token decodes to something else than its spelling (the
byte, or nothing when specials are skipped), so text that happened to spell it would not decode back.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.trainers.pair_merges import merge_pair
from tokenizers_kit.trainers.words import (
    check_vocab_size,
    check_word_counts,
    compute_alphabet,
    count_pairs,
    split_words,
    start_vocab,
)

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
        check_vocab_size(vocab_size)
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
        self, words: list[str], counts: list[int], w2id: dict[str, int], id2w: list[str]
    ) -> list[tuple[str, str]]:
        """The merge loop over words held as strings of symbol chars (see `trainers.words`)."""
        vocab_size = self.vocab_size
        prefix = self.continuing_subword_prefix
        max_len = self.max_token_length
        reserved = {t for t in self.special_tokens if len(t) > 1}  # what no merge may spell (module doc)
        sym_len = [1] * len(id2w)  # characters a symbol covers (HF's Symbol.len in training), for max_len
        pc, where = count_pairs(words, counts)  # pair -> count, pair -> words holding it
        pc = defaultdict(int, pc)
        # Heap entries (-count, pair, seq, words): ties on (count, pair) fall to seq, never to the word lists.
        heap = [(-pc[pair], pair, seq, pos) for seq, (pair, pos) in enumerate(where.items())]
        seq = len(heap)
        heapq.heapify(heap)
        del where

        merged: list[str] = []  # pairs in merge order, repeats included
        start = len(id2w)
        target = vocab_size - start
        heappush, heappop = heapq.heappush, heapq.heappop
        min_freq = self.min_frequency
        while len(id2w) < vocab_size and heap:
            negc, pair, s, pos = heappop(heap)
            cur = pc[pair]
            if -negc != cur:  # stale: the count changed since this entry was pushed
                if cur > 0:
                    heappush(heap, (-cur, pair, s, pos))
                continue
            if cur < 1 or cur < min_freq:
                break
            a, b = ord(pair[0]), ord(pair[1])
            part_b = id2w[b]
            if prefix is not None and part_b.startswith(prefix):
                part_b = part_b[len(prefix) :]
            token = id2w[a] + part_b
            if token in reserved:
                continue
            new = w2id.get(token)
            token_is_new = new is None
            if new is None:
                new = w2id[token] = len(id2w)
                id2w.append(token)
                sym_len.append(sym_len[a] + sym_len[b])
            merged.append(pair)
            cn = chr(new)
            keep = None
            if max_len is not None:  # HF skips new pairs that would reach max_len characters
                new_len = sym_len[new]
                keep = lambda sym: sym_len[ord(sym)] + new_len < max_len  # noqa: E731
            # The merged pair's own count stays as it is (HF).
            gained = merge_pair(words, counts, pos, pair, cn, pc, fresh=token_is_new, keep=keep).gained
            for gpair, gpos in gained.items():
                c = pc[gpair]
                if c > 0:
                    heappush(heap, (-c, gpair, seq, gpos))
                    seq += 1
            if self.progress is not None and len(merged) % PROGRESS_EVERY == 0:
                self.progress(len(id2w) - start, target)
        if self.progress is not None:
            self.progress(len(id2w) - start, len(id2w) - start)  # done: the bar ends full
        last_rank = {pair: r for r, pair in enumerate(merged)}  # a repeated merge keeps its last rank (HF)
        return [(id2w[ord(p[0])], id2w[ord(p[1])]) for p, _ in sorted(last_rank.items(), key=lambda kv: kv[1])]

