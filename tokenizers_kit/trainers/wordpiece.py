"""WordPiece training with the WordPiece score: merge the pair maximising

    score(a, b) = count(ab) / (count(a) * count(b))

(a PMI-style ratio: it favours pairs whose parts rarely occur apart), not the raw count BPE uses. HF's
WordPieceTrainer runs BPE instead (reference §2), so vocabularies differ from HF's; encoding does not: the
result is a plain WordPiece model (greedy longest-match-first) that HF loads and encodes identically.

Symbols after the first in a word carry the `##` prefix, so "hug" starts as [h, ##u, ##g] and merging
(h, ##u) gives "hu". Counts are exact Python ints, updated incrementally: only the words that hold the merged
pair are rewritten. Merging (a, b) lowers count(a) and count(b), which RAISES the score of every other pair
holding a or b; `_ScoreQueue` keeps the best pair findable under that without requeueing all of them.
Ties go to the smallest (left_id, right_id).
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
        alphabet_chars = {chr(c) for c in cont if chr(c) in first}
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
    one entry per host, keyed by the score of its best pair. So when c(h) changes, only h's global entry
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
        heapq.heappush(self.top, (-c / (count[ord(u)] * count[ord(v)]), pair, host))

    def score(self, pair: str) -> float:
        """c(uv) / (c(u) c(v)): the int product, then one correctly rounded division."""
        return self.pc[pair] / (self.count[ord(pair[0])] * self.count[ord(pair[1])])

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
            heapq.heappush(self.top, (-self.score(best[1]), best[1], h))

    def count_fell(self, sym: str) -> None:
        """c(sym) fell: its hosted pairs all rise together (one global push); its guest pairs get new inner
        keys in their hosts' heaps (and one global push per host, for the best of them)."""
        count = self.count
        own = count[ord(sym)]
        if own <= 0:
            return
        self._push_host(sym)
        pc, host_of, hosted = self.pc, self.host, self.hosted
        best: dict[str, tuple[float, str]] = {}  # host -> its best raised (-score, pair)
        dead = []
        for pair in self.guests[sym]:
            c = pc[pair]
            if c <= 0:
                dead.append(pair)
                continue
            h = host_of[pair]
            inner = c / own
            heapq.heappush(hosted[h], (-inner, pair))
            item = (-c / (own * count[ord(h)]), pair)
            if h not in best or item < best[h]:
                best[h] = item
        for h, (neg_score, pair) in best.items():
            heapq.heappush(self.top, (neg_score, pair, h))
        self.guests[sym].difference_update(dead)

    def pop_best(self, min_freq: int) -> str | None:
        """Remove and return the best pair (count >= min_freq), or None when none is left."""
        top = self.top
        while top:
            neg_score, pair, h = top[0]
            best = self._best_of(h)
            if best is None:
                heapq.heappop(top)
                continue
            inner, bpair = best
            score = self.score(bpair)
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
    counts exact: per occurrence in a word of count n, (prev,a)-n (prev,new)+n (b,next)-n (new,next)+n
    and (a,b)-n, where `next` is the symbol after the pair before the merge. Word indices are filed under
    their neighbour per occurrence and summed per neighbour afterwards. Returns the pairs that gained
    occurrences -> the words where they did."""
    ca, cb = pair
    by_left: defaultdict[str, list[int]] = defaultdict(list)
    by_right: defaultdict[str, list[int]] = defaultdict(list)
    merged = 0  # weighted number of occurrences merged
    for wi in pos:
        w = words[wi]
        j = w.find(pair)
        if j < 0:
            continue  # merged already (the word was listed twice), or the pair left it
        n = counts[wi]
        pre_existing = cn in w
        nw = words[wi] = _scan_merge(w, ca, cb, cn) if pre_existing else w.replace(pair, cn)
        size = len(w)
        k = size - len(nw)  # occurrences merged here
        merged += n * k
        if k == 1:  # the common case: one occurrence, at j
            if j:
                by_left[w[j - 1]].append(wi)
            if j + 2 < size:
                by_right[w[j + 2]].append(wi)
            continue
        last = len(nw) - 1
        origin = _occurrences(w, nw, pair, cn) if pre_existing else _positions(nw, cn)
        for j in origin:
            if j:
                by_left[nw[j - 1]].append(wi)
            if j < last:
                right = nw[j + 1]
                # The next occurrence: before the merge its first symbol stood here.
                by_right[ca if right == cn and (j + 1) in origin else right].append(wi)
    pc[pair] -= merged
    sym_count[ord(ca)] -= merged
    sym_count[ord(cb)] -= merged
    sym_count[ord(cn)] += merged
    gained: dict[str, list[int]] = {}
    weight = counts.__getitem__
    for left, wis in by_left.items():
        n = sum(map(weight, wis))
        pc[left + ca] -= n
        pc[left + cn] += n
        gained[left + cn] = wis
    for right, wis in by_right.items():
        n = sum(map(weight, wis))
        pc[cb + right] -= n
        pc[cn + right] += n
        gained[cn + right] = wis
    return gained


def _positions(nw: str, cn: str) -> set[int]:
    """Positions of `cn` in `nw`."""
    out = set()
    j = nw.find(cn)
    while j >= 0:
        out.add(j)
        j = nw.find(cn, j + 1)
    return out


def _occurrences(w: str, nw: str, pair: str, cn: str) -> set[int]:
    """Positions in `nw` of the symbols this merge created, when `cn` also occurred before it: replay the
    left-to-right merge of `w`."""
    out: set[int] = set()
    i, k = 0, 0
    while i < len(w):
        if w.startswith(pair, i):
            out.add(k)
            i += 2
        else:
            i += 1
        k += 1
    return out


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
