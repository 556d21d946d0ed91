"""WordPiece training as the WordPiece papers score merges: pick the pair maximising

    score(a, b) = count(ab) / (count(a) * count(b))

(the likelihood gain of a unigram model, up to a monotone transform), not by raw count as BPE does. HF's
WordPieceTrainer runs BPE instead (reference §2), so vocabularies differ from HF's; encoding does not: the
result is a plain WordPiece model (greedy longest-match-first) that HF loads and encodes identically.

Symbols after the first in a word carry the `##` prefix, so "hug" starts as [h, ##u, ##g] and merging
(h, ##u) gives "hu". Counts are exact 64-bit ints, updated incrementally: only words that hold the merged
pair are rewritten. Merging (a, b) lowers count(a) and count(b), which RAISES the score of every other pair
with a or b, so those pairs get fresh heap entries (found through a symbol -> pairs index); every other
change only lowers scores, which the lazy check on pop handles (recompute; if stale, push back). Ties go to
the smallest (left_id, right_id).
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping

from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.wordpiece import WordPieceModel
from tokenizers_kit.trainers.bpe import PROGRESS_EVERY, Progress
from tokenizers_kit.trainers.words import (
    check_vocab_size,
    check_word_counts,
    compute_alphabet,
    count_pairs,
    count_symbols,
    start_vocab,
)

GROUP, PAIR = 0, 1  # heap entry kinds; a group bound pops before a pair with the same key


class WordPieceTrainer:
    def __init__(
        self,
        vocab_size: int = 30000,
        *,
        min_frequency: int = 0,
        special_tokens: Iterable[str] = ("[UNK]",),
        unk_token: str = "[UNK]",
        continuing_subword_prefix: str = "##",
        initial_alphabet: Iterable[str] = (),
        limit_alphabet: int | None = None,
        max_input_chars_per_word: int = 100,
        progress: Progress | None = None,
    ) -> None:
        check_vocab_size(vocab_size)
        if min_frequency < 0:
            raise TkitError(f"min frequency must be >= 0, got {min_frequency}")
        if not continuing_subword_prefix:
            raise TkitError("the WordPiece continuing-subword prefix must be a non-empty string (e.g. '##')")
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        specials = list(special_tokens)
        self.special_tokens = specials if unk_token in specials else [unk_token, *specials]
        self.unk_token = unk_token
        self.prefix = continuing_subword_prefix
        self.initial_alphabet = list(initial_alphabet)
        self.limit_alphabet = limit_alphabet
        self.max_input_chars_per_word = max_input_chars_per_word
        self.progress = progress

    def train(self, word_counts: Mapping[str, int]) -> WordPieceModel:
        check_word_counts(word_counts)
        w2id, id2w = start_vocab(self.special_tokens)
        alphabet = compute_alphabet(word_counts, self.initial_alphabet, self.limit_alphabet)
        # Every kept char both word-initially and as a continuation, so held-out words that use a char in a
        # new position still encode (HF adds "##c" only for chars seen mid-word).
        for tok in [*alphabet, *(self.prefix + ch for ch in alphabet)]:
            if tok not in w2id:
                w2id[tok] = len(id2w)
                id2w.append(tok)
        if len(id2w) > self.vocab_size:
            raise TkitError(
                f"vocab size {self.vocab_size} is smaller than the {len(id2w)} special tokens and alphabet "
                f"symbols (each char also as '{self.prefix}' continuation): use a vocab size of at least "
                f"{len(id2w)} (or limit the alphabet)"
            )
        words, counts = self._split(word_counts, w2id)
        self._merge(words, counts, w2id, id2w)
        return WordPieceModel(
            w2id,
            unk_token=self.unk_token,
            continuing_subword_prefix=self.prefix,
            max_input_chars_per_word=self.max_input_chars_per_word,
        )

    def _split(self, word_counts: Mapping[str, int], w2id: dict[str, int]) -> tuple[list[str], list[int]]:
        """Each word as a str of symbol chars (chr(id)): the first char plain, the others as continuations.
        Words with a char outside the alphabet, or longer than max_input_chars_per_word, are left out: the
        model encodes them as one unk, so their pieces would never be used."""
        plen = len(self.prefix)
        first = {t: chr(i) for t, i in w2id.items() if len(t) == 1}
        cont = {ord(t[plen:]): chr(i) for t, i in w2id.items() if len(t) == plen + 1 and t.startswith(self.prefix)}
        alphabet = set(cont)
        alphabet_chars = {chr(c) for c in alphabet if chr(c) in first}
        limit = self.max_input_chars_per_word
        words: list[str] = []
        counts: list[int] = []
        for word, n in word_counts.items():
            if word and len(word) <= limit and alphabet_chars.issuperset(word):
                words.append(first[word[0]] + word[1:].translate(cont))
                counts.append(n)
        return words, counts

    def _merge(self, words: list[str], counts: list[int], w2id: dict[str, int], id2w: list[str]) -> None:
        vocab_size, min_freq, plen = self.vocab_size, self.min_frequency, len(self.prefix)
        sym_count = count_symbols(words, counts, vocab_size)  # weighted, in the current segmentation
        pc_init, where_init = count_pairs(words, counts)
        pc: defaultdict[str, int] = defaultdict(int, pc_init)  # pair (2-char str) -> weighted count, exact
        where: defaultdict[str, list[int]] = defaultdict(list, where_init)  # pair -> words that may hold it
        queue = _ScoreQueue(pc, sym_count)

        start = len(id2w)
        target = vocab_size - start
        n_merges = 0
        while len(id2w) < vocab_size:
            key = queue.pop_best(min_freq)
            if key is None:
                break
            a, b = ord(key[0]), ord(key[1])
            token = id2w[a] + id2w[b][plen:]  # b is never word-initial, so it always has the prefix
            new = w2id.get(token)
            if new is None:
                new = w2id[token] = len(id2w)
                id2w.append(token)
            cn = chr(new)
            gained = _merge_exact(words, counts, where.pop(key), key, cn, pc, sym_count)
            for gkey, gpos in gained.items():
                where[gkey].extend(gpos)
                queue.add(gkey)
            # count(a) and count(b) fell (and count(new) rose): rescore what that raises.
            queue.count_fell(key[0])
            if key[1] != key[0]:
                queue.count_fell(key[1])
            n_merges += 1
            if self.progress is not None and n_merges % PROGRESS_EVERY == 0:
                self.progress(len(id2w) - start, target)
        if self.progress is not None:
            self.progress(len(id2w) - start, len(id2w) - start)  # done: the bar ends full


class _ScoreQueue:
    """The pair with the best score c(uv) / (c(u) c(v)), under changing symbol counts.

    One symbol of each pair is its host (the more frequent one when the pair appears). Each host h keeps a
    heap of its pairs keyed by inner = c(uv) / c(other), which does not depend on c(h); a global heap holds
    one entry per host, score = inner / c(h) of its best pair. So when c(h) changes, only h's global entry
    needs a push, not every pair of h; when a non-host symbol's count falls, its (few) pairs get new
    inner entries in their hosts' heaps. All entries are lazy: checked against current counts when popped.
    Invariant: every host's best (score, pair) has a global entry that sorts no later than it.
    """

    def __init__(self, pc: defaultdict[str, int], sym_count: list[int]) -> None:
        self.pc = pc
        self.count = sym_count
        self.host: dict[str, str] = {}  # pair -> its host symbol
        self.hosted: defaultdict[str, list] = defaultdict(list)  # host -> heap of (-inner, pair)
        self.guests: defaultdict[str, set[str]] = defaultdict(set)  # symbol -> pairs where it is not host
        self.top: list = []  # global heap of (-score, pair, host)
        count, host_of, hosted, guests = self.count, self.host, self.hosted, self.guests
        for pair, c in pc.items():
            u, v = pair
            cu, cv = count[ord(u)], count[ord(v)]
            if cu >= cv:
                host_of[pair] = u
                guests[v].add(pair)
                hosted[u].append((-c / cv, pair))
            else:
                host_of[pair] = v
                guests[u].add(pair)
                hosted[v].append((-c / cu, pair))
        for h, heap in hosted.items():
            heapq.heapify(heap)
            self._push_host(h)

    def add(self, pair: str) -> None:
        """A pair whose score rose: it is new, its count rose, or its guest symbol's count fell."""
        c = self.pc[pair]
        if c <= 0:
            return
        count = self.count
        u, v = pair
        host = self.host.get(pair)
        if host is None:
            host = self.host[pair] = u if count[ord(u)] >= count[ord(v)] else v
            self.guests[v if host == u else u].add(pair)
        inner = c / count[ord(v if host == u else u)]
        heapq.heappush(self.hosted[host], (-inner, pair))
        heapq.heappush(self.top, (-inner / count[ord(host)], pair, host))

    def _best_of(self, h: str) -> tuple[float, str] | None:
        """Clean h's heap top (drop dead entries, requeue stale ones); its best (inner, pair)."""
        heap = self.hosted[h]
        pc, count = self.pc, self.count
        while heap:
            neg_inner, pair = heap[0]
            c = pc[pair]
            if c <= 0:
                heapq.heappop(heap)
                continue
            other = pair[1] if pair[0] == h else pair[0]
            inner = c / count[ord(other)]
            if inner == -neg_inner:
                return inner, pair
            heapq.heapreplace(heap, (-inner, pair))  # stale (it can only have fallen): requeue
        return None

    def _push_host(self, h: str) -> None:
        best = self._best_of(h)
        if best is not None:
            heapq.heappush(self.top, (-best[0] / self.count[ord(h)], best[1], h))

    def count_fell(self, sym: str) -> None:
        """c(sym) changed: its hosted pairs rescale together (one global push); its guest pairs get new
        inner keys in their hosts' heaps."""
        if self.count[ord(sym)] <= 0:
            return
        self._push_host(sym)
        pc, add = self.pc, self.add
        dead = []
        for pair in self.guests[sym]:
            if pc[pair] > 0:
                add(pair)
            else:
                dead.append(pair)
        self.guests[sym].difference_update(dead)

    def pop_best(self, min_freq: int) -> str | None:
        """Remove and return the best pair (count >= min_freq), or None when none is left."""
        top, count = self.top, self.count
        while top:
            neg_score, pair, h = top[0]
            best = self._best_of(h)
            if best is None:
                heapq.heappop(top)
                continue
            inner, bpair = best
            score = inner / count[ord(h)]
            if score != -neg_score or bpair != pair:
                heapq.heapreplace(top, (-score, bpair, h))  # stale global entry: requeue h's true best
                continue
            heapq.heappop(top)
            if self.pc[pair] < min_freq:
                heapq.heappop(self.hosted[h])  # too rare; an existing pair's count never grows back
                self._push_host(h)
                continue
            heapq.heappop(self.hosted[h])
            self._push_host(h)
            return pair
        return None


def _merge_exact(
    words: list[str],
    counts: list[int],
    pos: list[int],
    pair: str,
    cn: str,
    pc: defaultdict[str, int],
    sym_count: list[int],
) -> dict[str, list[int]]:
    """Merge `pair` into `cn` in the words at `pos` (left to right, no overlap), keeping pair and symbol
    counts exact. Returns the pairs that gained occurrences -> the words where they did."""
    ca, cb = pair
    left_n: defaultdict[str, int] = defaultdict(int)
    left_w: defaultdict[str, list[int]] = defaultdict(list)
    right_n: defaultdict[str, int] = defaultdict(int)
    right_w: defaultdict[str, list[int]] = defaultdict(list)
    merged = 0  # weighted number of occurrences merged
    for wi in pos:
        w = words[wi]
        if pair not in w:
            continue
        n = counts[wi]
        if cn in w:  # the new token already occurs here: scan explicitly
            nw = _scan_merge(w, ca, cb, cn)
        else:
            nw = w.replace(pair, cn)
        words[wi] = nw
        merged += n * ((len(w) - len(nw)))
        # Walk the occurrences in the merged word; a neighbour equal to cn that came from this merge
        # stood as `ca` (right side) before it.
        last = len(nw) - 1
        origin = _occurrences(w, nw, pair, cn)
        for j in origin:
            if j:
                left = nw[j - 1]
                left_n[left] += n
                left_w[left].append(wi)
            if j < last:
                right = nw[j + 1]
                if right == cn and (j + 1) in origin:
                    right = ca
                right_n[right] += n
                right_w[right].append(wi)
    pc[pair] -= merged
    sym_count[ord(ca)] -= merged
    sym_count[ord(cb)] -= merged
    sym_count[ord(cn)] += merged
    gained: dict[str, list[int]] = {}
    for left, n in left_n.items():
        pc[left + ca] -= n
        pc[left + cn] += n
        gained.setdefault(left + cn, []).extend(left_w[left])
    for right, n in right_n.items():
        pc[cb + right] -= n
        pc[cn + right] += n
        gained.setdefault(cn + right, []).extend(right_w[right])
    return gained


def _occurrences(w: str, nw: str, pair: str, cn: str) -> set[int] | list[int]:
    """Positions in `nw` of the symbols this merge created."""
    if cn not in w:
        out = []
        j = nw.find(cn)
        while j >= 0:
            out.append(j)
            j = nw.find(cn, j + 1)
        return set(out) if len(out) > 1 else out
    # Rare: cn was already in the word. Replay the left-to-right merge to find which are new.
    out2: list[int] = []
    i, k = 0, 0
    while i < len(w):
        if w.startswith(pair, i):
            out2.append(k)
            i += 2
        else:
            i += 1
        k += 1
    return set(out2)


def _scan_merge(w: str, ca: str, cb: str, cn: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(w):
        if w[i] == ca and i + 1 < len(w) and w[i + 1] == cb:
            out.append(cn)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return "".join(out)
