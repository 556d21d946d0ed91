"""WordPiece training: repeatedly merge the adjacent pair (a, b) with the best score. Two scores:

- "likelihood" (default): the gain in training-data log-likelihood under a unigram model of the units, the
  criterion of the WordPiece paper (Schuster & Nakajima 2012). With L = sum_u c_u log(c_u / N) and merging
  k = c_ab occurrences (c_a, c_b fall by k, the unit ab rises from m (usually 0) to m + k, N falls by k),
  the exact delta is in `likelihood_gain`; roughly k * (log(k N / (c_a c_b)) - 1). It weighs a pair's
  association by how often it occurs, so frequent words ("the", "thee") become tokens.
- "ratio": count(ab) / (count(a) * count(b)), the score in the HF course's description of WordPiece. A pure
  PMI-style ratio that favours rare pairs whose parts rarely occur apart, so it compresses far worse (it
  learns neither "the" nor "thee" on Shakespeare).

HF's WordPieceTrainer runs BPE instead (highest count(ab), reference §2), so vocabularies differ from HF's;
encoding does not: the result is a plain WordPiece model (greedy longest-match-first) that HF loads and
encodes identically.

Symbols after the first in a word carry the `##` prefix, so "hug" starts as [h, ##u, ##g] and merging
(h, ##u) gives "hu". Counts are exact Python ints, updated incrementally: only the words that hold the merged
pair are rewritten. Merging (a, b) lowers count(a) and count(b), which RAISES the score of other pairs
holding a or b (under both scores); `_ScoreQueue` (ratio) and `_GainQueue` (likelihood) keep the best pair
findable under that. Ties go to the smallest (left_id, right_id).
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from math import inf, log, log1p, nextafter

from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.wordpiece import WordPieceModel
from tokenizers_kit.trainers.bpe import PROGRESS_EVERY, Progress
from tokenizers_kit.trainers.pair_merges import merge_pair
from tokenizers_kit.trainers.words import (
    check_vocab_size,
    check_word_counts,
    compute_alphabet,
    count_pairs,
    count_symbols,
    start_vocab,
)

SCORES = ("likelihood", "ratio")


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
        score: str = "likelihood",
        progress: Progress | None = None,
    ) -> None:
        """`score`: "likelihood" (default; the WordPiece paper's unigram log-likelihood gain) or "ratio"
        (count(ab) / (count(a) count(b))). Likelihood is the default because it compresses held-out text
        about as well as HF's trainer (which runs BPE) does; ratio does not."""
        check_vocab_size(vocab_size)
        if score not in SCORES:
            raise TkitError(f"unknown WordPiece score {score!r}: choose one of {', '.join(SCORES)}")
        self.score = score
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
        queue: _ScoreQueue | _GainQueue
        if self.score == "ratio":
            queue = _ScoreQueue(pc, sym_count)
        else:
            queue = _GainQueue(pc, sym_count, words, counts, where, id2w, w2id, plen, min_freq)

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
            fresh = new is None
            if new is None:
                new = w2id[token] = len(id2w)
                id2w.append(token)
            cn = chr(new)
            done = merge_pair(words, counts, where.pop(key), key, cn, pc, fresh=fresh, tally=True)
            k = done.occurrences
            assert k is not None
            pc[key] -= k  # counts stay exact (BPE, as HF, leaves the merged pair's count alone)
            sym_count[a] -= k
            sym_count[b] -= k
            sym_count[new] += k
            for gkey, gpos in done.gained.items():
                where[gkey].extend(gpos)
            # count(a) and count(b) fell (and count(new) rose): rescore what that raises.
            queue.merged(key, cn, k, done.lost)
            for gkey in done.gained:
                queue.add(gkey)
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

    def merged(self, pair: str, cn: str, k: int, lost: list[str]) -> None:
        """Nothing to do: the ratio of a pair whose count fell only falls, and N does not enter it."""

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


def likelihood_gain(ca: int, cb: int, k: int, m: int, n: int, self_pair: bool = False) -> float:
    """Exact change in L = sum_u c_u log(c_u / N) = sum_u f(c_u) - f(N), f(x) = x log x, when k occurrences of
    (a, b) merge into the unit t = ab, which already occurs m times (usually m = 0):

        dL = f(c_a - k) - f(c_a) + f(c_b - k) - f(c_b) + f(m + k) - f(m) - f(N - k) + f(N)
           = k log((m + k) N / (c_a c_b)) + m log(1 + k/m)
             + (c_a - k) log(1 - k/c_a) + (c_b - k) log(1 - k/c_b) - (N - k) log(1 - k/N)

    (each x log(1 - k/x) term ~ -k, so dL ~ k (log(k N / (c_a c_b)) - 1) when k << counts). For a = b,
    c_a falls by 2k: the two c terms become one, (c_a - 2k) log(1 - 2k/c_a), with c_a c_b = c_a^2.
    Written with log1p so that no term is a difference of two huge x log x values."""
    gain = k * log((m + k) * n / (ca * cb)) - (n - k) * log1p(-k / n)
    if m:
        gain += m * log1p(k / m)
    if self_pair:
        if ca > 2 * k:
            gain += (ca - 2 * k) * log1p(-2 * k / ca)
        return gain
    if ca > k:
        gain += (ca - k) * log1p(-k / ca)
    if cb > k:
        gain += (cb - k) * log1p(-k / cb)
    return gain


class _GainQueue:
    """The pair with the best `likelihood_gain`, under changing counts: a lazy max-heap of (-key, pair).

    Invariant: every live pair (count >= min_freq) has an entry whose key is >= its current gain; then a popped
    entry whose key equals the recomputed gain is the best pair. Gains FALL (entries stay valid upper bounds)
    when N falls (every merge: d/dN [f(N) - f(N-k)] = log(N / (N-k)) > 0) or a unit's count rises. They RISE
    when c_a or c_b falls (d/dc [f(c - k) - f(c)] = log(1 - k/c) < 0), when the pair's count rises, or falls
    while its gain is negative (dL is convex in k with dL(0) = 0), or when the unit it makes gains occurrences
    (m rises, or the token just appeared); each such rise is pushed here.

    c_a falls on every merge of a, and a frequent symbol is in thousands of pairs, whose rises all differ (each
    depends on its own k), so pushing them all each time is the cost to avoid. Instead most keys are computed
    with each symbol's count replaced by its `floor` (<= the count; the gain falls as counts rise, so the key
    stays an upper bound while the count stays >= the floor). Only when c_s drops below floor[s] are s's
    pairs rekeyed (with a new floor 3/4 of the count: O(log) times per symbol). Keys computed from the true
    counts ("exact", for pairs that reached the top) are rekeyed on every fall of c_a or c_b.
    A pair far below the top (its ceiling, the gain at c_a = c_b = k, is at most `cold`, half the last best
    gain) gets the ceiling as its key instead: a bound whatever c_a and c_b do, so it is never rekeyed when
    they fall, nor when its own k falls (the ceiling rises with k); such pairs are `ceiled` and left out of
    `of_sym`, which lists only the pairs whose keys depend on floors. New cold pairs that make no existing unit
    (most new pairs: counts of a few) share one heap entry per count k (`_pool`): the heap stays about half as
    big, and a pool whose ceiling reaches the top is flushed into floor keys at once.
    `pending` holds each pair's highest queued key, so pushes that would not raise it are skipped.
    """

    def __init__(self, pc: defaultdict[str, int], sym_count: list[int], words: list[str], counts: list[int],
                 where: defaultdict[str, list[int]], id2w: list[str], w2id: dict[str, int], plen: int,
                 min_freq: int) -> None:
        self.pc, self.count, self.words, self.counts, self.where = pc, sym_count, words, counts, where
        self.id2w, self.w2id, self.plen = id2w, w2id, plen
        self.min_count = max(min_freq, 1)
        self.n = sum(sym_count)  # N: units in the current segmentation
        self.floor = [self._floor(c) for c in sym_count]
        self.makes: dict[str, str] = {}  # pair -> the token string it merges into
        self.makers: defaultdict[str, set[str]] = defaultdict(set)  # token string -> pairs that make it
        self.of_sym: defaultdict[str, set[str]] = defaultdict(set)  # symbol -> pairs holding it
        self.exact_of: defaultdict[str, set[str]] = defaultdict(set)  # symbol -> pairs that may have exact keys
        self.exact: set[str] = set()  # pairs whose pending key came from the true counts
        self.self_k: dict[str, int] = {}  # self pair (a, a) -> non-overlapping weighted count, cached
        self.cold = -inf
        self.pools: dict[str, list[str]] = {}  # pool marker -> pairs pooled there (some may have left)
        self.pool_key: dict[str, float] = {}  # pool marker -> the key of its heap entry
        self.pooled: dict[str, str] = {}  # pair -> its pool marker, while it has no heap entry of its own
        self.ceiling_at: dict[int, float] = {}  # k -> ceiling at m = 0 and the current N
        self.ceiled: set[str] = set()  # pairs whose queued key is >= their ceiling: bounds whatever counts do
        for pair in pc:
            self._index(pair)
            self.of_sym[pair[0]].add(pair)
            self.of_sym[pair[1]].add(pair)
        self.pending: dict[str, float] = {p: self.gain(p, self.floor) for p, c in pc.items() if c >= self.min_count}
        self.heap = [(-g, p) for p, g in self.pending.items()]
        heapq.heapify(self.heap)

    COLD_SHARE = 0.5
    FLOOR_SHARE = 4  # floor = count - count // FLOOR_SHARE (tests use 10**9: floor = count, every fall rekeys)

    def _floor(self, c: int) -> int:
        return c - c // self.FLOOR_SHARE

    def _index(self, pair: str) -> None:
        if pair not in self.makes:
            u, v = pair
            token = self.id2w[ord(u)] + self.id2w[ord(v)][self.plen :]
            self.makes[pair] = token
            self.makers[token].add(pair)

    def _self_count(self, pair: str) -> int:
        """Merges (a, a) would make: left to right, non-overlapping, as str.count counts (aaa -> 1)."""
        k = self.self_k.get(pair)
        if k is None:
            words, counts = self.words, self.counts
            k = self.self_k[pair] = sum(counts[wi] * words[wi].count(pair) for wi in set(self.where[pair]))
        return k

    def gain(self, pair: str, count: list[int]) -> float:
        """likelihood_gain with symbol counts from `count` (self.count: the true gain; self.floor: a bound)."""
        u, v = pair
        t = self.w2id.get(self.makes[pair])
        m = self.count[t] if t is not None else 0
        if u == v:
            k = self._self_count(pair)
            cu = 2 * k if count is None else max(count[ord(u)], 2 * k)
            return likelihood_gain(cu, cu, k, m, self.n, True)
        k = self.pc[pair]
        if count is None:
            return likelihood_gain(k, k, k, m, self.n)
        return likelihood_gain(max(count[ord(u)], k), max(count[ord(v)], k), k, m, self.n)

    def _push(self, pair: str) -> None:
        """Queue a key that bounds the pair's gain: its ceiling if that is a bound already or cold, else the
        gain at the floors (both as in `gain`, with k and m looked up once). Hot path: the non-self case is
        `likelihood_gain` inlined, term for term (the same floats), sharing its N term between the two keys."""
        k = self.pc.get(pair, 0)
        if k < self.min_count:
            return
        u, v = pair
        t = self.w2id.get(self.makes[pair])
        m = self.count[t] if t is not None else 0
        n = self.n
        if u == v:
            k = self._self_count(pair)
            ceiling = likelihood_gain(2 * k, 2 * k, k, m, n, True)
        else:
            tail = (n - k) * log1p(-k / n)
            if m:
                mterm = m * log1p(k / m)
                ceiling = k * log((m + k) * n / (k * k)) - tail + mterm
            else:
                ceiling = k * log(k * n / (k * k)) - tail
        pending = self.pending
        old = pending.get(pair)
        if old is not None and old >= ceiling:
            self.ceiled.add(pair)
            return
        if ceiling <= self.cold:
            key = ceiling
            self.ceiled.add(pair)
        else:
            self.ceiled.discard(pair)
            floor = self.floor
            if u == v:
                cu = max(floor[ord(u)], 2 * k)
                key = likelihood_gain(cu, cu, k, m, n, True)
            else:
                ca = floor[ord(u)]
                cb = floor[ord(v)]
                if ca < k:
                    ca = k
                if cb < k:
                    cb = k
                key = k * log((m + k) * n / (ca * cb)) - tail
                if m:
                    key += mterm
                if ca > k:
                    key += (ca - k) * log1p(-k / ca)
                if cb > k:
                    key += (cb - k) * log1p(-k / cb)
            self.of_sym[u].add(pair)
            self.of_sym[v].add(pair)
        if old is None or key > old:
            pending[pair] = key
            heapq.heappush(self.heap, (-key, pair))
            self.exact.discard(pair)
            self.pooled.pop(pair, None)
        # else: the queued key is higher, and it stays valid as long as this one would (floors only fall)

    def add(self, pair: str) -> None:
        """The pair's count rose (or it is new). A new pair that is cold by its ceiling (most are: counts of a
        few) and makes no existing unit goes to the pool of its count instead of the heap."""
        self._index(pair)
        u, v = pair
        if u == v:
            self.self_k.pop(pair, None)
        elif pair not in self.pending:
            k = self.pc.get(pair, 0)
            t = self.w2id.get(self.makes[pair])
            if k >= self.min_count and (t is None or not self.count[t]):
                ceiling = self.ceiling_at.get(k)
                if ceiling is None:
                    n = self.n
                    ceiling = self.ceiling_at[k] = k * log(k * n / (k * k)) - (n - k) * log1p(-k / n)
                if ceiling <= self.cold:
                    self._pool(pair, k, ceiling)
                    return
        self._push(pair)

    def _pool(self, pair: str, k: int, ceiling: float) -> None:
        """Queue a pair of count k and m = 0 under one heap entry for all such pairs: the ceiling at count k
        bounds them (it only falls with N, and with their counts; a pair whose count rises or whose m rises is
        pushed on its own). The entry's key is one ulp above the ceiling, so the pool is flushed before any
        pair of equal gain is taken (ties stay exact)."""
        marker = "pool" + str(k)  # never a pair: pairs are 2 chars
        members = self.pools.get(marker)
        if members is None:
            self.pools[marker] = [pair]
            key = self.pool_key[marker] = nextafter(ceiling, inf)
            heapq.heappush(self.heap, (-key, marker))
        else:
            members.append(pair)
        self.pooled[pair] = marker
        self.pending[pair] = ceiling
        self.ceiled.add(pair)

    def _flush(self, marker: str) -> None:
        """A pool's entry reached the top: queue its members on their own."""
        del self.pool_key[marker]
        pooled, pending = self.pooled, self.pending
        for p in self.pools.pop(marker):
            if pooled.get(p) == marker:
                del pooled[p]
                pending.pop(p, None)
                self._push(p)

    def merged(self, pair: str, cn: str, k: int, lost: list[str]) -> None:
        """`pair` merged k times into `cn`: N fell by k; counts of pair's symbols fell, cn's rose."""
        self.n -= k
        self.ceiling_at.clear()  # ceilings depend on N
        c = self.count[ord(cn)]
        self.floor[ord(cn)] = max(self.floor[ord(cn)], self._floor(c))  # a higher floor is still <= the count
        for sym in {pair[0], pair[1], cn}:
            self.self_k.pop(sym + sym, None)  # runs of these symbols changed
        makes, ceiled = self.makes, self.ceiled
        for p in lost:
            # (not in makes: it is new, one of the gained pairs `add` pushes; in ceiled: k fell, and the ceiling
            # rises with k: d/dk = log((m + k)(N - k) / k^2) > 0 for 2k <= N)
            if p in makes and (p not in ceiled or p[0] == p[1]):
                self._push(p)
        pc = self.pc
        makers = self.makers[self.makes[pair]]
        for p in list(makers):
            if pc[p] <= 0:
                makers.discard(p)  # (re-added by _index if it comes back)
            else:
                self._push(p)
        if cn + cn in self.makes:  # its non-overlapping count may have changed (if new, `add` pushes it)
            self._push(cn + cn)

    def count_fell(self, sym: str) -> None:
        c = self.count[ord(sym)]
        if c <= 0:
            return
        exact = self.exact
        if c < self.floor[ord(sym)]:  # keys from the old floor are no longer bounds: rekey all of sym's pairs
            self.floor[ord(sym)] = self._floor(c)
            pairs = self.of_sym.pop(sym, set())
            pairs.update(p for p in self.exact_of[sym] if p in exact)
        else:  # floor keys stay bounds; only keys from the true counts must rise
            pairs = {p for p in self.exact_of[sym] if p in exact}
        self.exact_of[sym].clear()
        for p in pairs:
            self._push(p)
        exact.difference_update(pairs)  # pushed with floor keys, or covered by a higher key: bounds till floors drop
        if len(self.heap) > 4 * len(self.pending) + 1024:  # mostly superseded entries: rebuild
            pooled = self.pooled
            self.heap = [(-g, p) for p, g in self.pending.items() if p not in pooled]
            self.heap += [(-g, marker) for marker, g in self.pool_key.items()]
            heapq.heapify(self.heap)

    def pop_best(self, min_freq: int) -> str | None:
        heap, pending, pc = self.heap, self.pending, self.pc
        while heap:
            neg, pair = heapq.heappop(heap)
            if len(pair) != 2:
                self._flush(pair)
                continue
            if pending.get(pair) == -neg:
                del pending[pair]
            elif pair in pending:
                continue  # covered by its pending entry
            if pc[pair] < self.min_count:
                self.exact.discard(pair)
                continue  # dead or too rare; `add` requeues it if it gains
            g = self.gain(pair, self.count)
            if g == -neg:
                self.exact.discard(pair)
                self.cold = g * self.COLD_SHARE if g > 0 else -inf
                return pair
            # a bound above the true gain: requeue at the true gain, rekeyed when c_a or c_b falls
            self.ceiled.discard(pair)
            self.pooled.pop(pair, None)
            pending[pair] = g
            heapq.heappush(heap, (-g, pair))
            self.exact.add(pair)
            self.exact_of[pair[0]].add(pair)
            self.exact_of[pair[1]].add(pair)
        return None

