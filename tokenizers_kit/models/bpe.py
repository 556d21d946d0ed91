"""The BPE model: apply learned merges to one pre-tokenized chunk, lowest rank first (HF `models/bpe`).

A chunk becomes one symbol per character (with the continuation prefix / end-of-word suffix when set, unknown
characters as `<0xXX>` bytes or `unk`), then the adjacent pair with the lowest merge rank is merged, leftmost
first, until no pair has a rank. That is exactly HF's `Word::merge_all` order. Short chunks use a list scan
(C-level `min`/`index`, like tiktoken's small-piece path); long ones a heap over a linked list, so a
100,000-character word costs O(n log n), not O(n^2). Results are cached per distinct chunk.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from typing import ClassVar

from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.base import (
    MODELS,
    DictVocab,
    Token,
    check_type,
    check_vocab,
    optional_str,
)

LONG_CHUNK = 48  # symbols; the heap path pays for its set-up only on long chunks, the scan is O(n^2)
CACHE_MAX_CHARS = 256  # HF caches words shorter than 256 bytes; longer chunks are rare and costly to key
DEFAULT_CACHE_CAPACITY = 1 << 17


def byte_token(b: int) -> str:
    """The byte-fallback token of byte `b` (HF/sentencepiece spelling: `<0x0A>`)."""
    return f"<0x{b:02X}>"


@MODELS.register
class BPEModel(DictVocab):
    """Byte-pair encoding with HF `tokenizers` semantics and its tokenizer.json "model" layout."""

    type: ClassVar[str] = "BPE"

    def __init__(
        self,
        vocab: dict[str, int],
        merges: Iterable[tuple[str, str]],
        *,
        unk_token: str | None = None,
        continuing_subword_prefix: str | None = None,
        end_of_word_suffix: str | None = None,
        fuse_unk: bool = False,
        byte_fallback: bool = False,
        dropout: float | None = None,
        ignore_merges: bool = False,
        cache_capacity: int = DEFAULT_CACHE_CAPACITY,
    ) -> None:
        if dropout is not None and not 0.0 <= dropout <= 1.0:
            raise TkitError(f"BPE dropout must be between 0 and 1, got {dropout}")
        self.vocab = dict(vocab)
        self.vocab_r = {i: t for t, i in self.vocab.items()}
        self.unk_token = unk_token
        self.continuing_subword_prefix = continuing_subword_prefix
        self.end_of_word_suffix = end_of_word_suffix
        self.fuse_unk = fuse_unk
        self.byte_fallback = byte_fallback
        self.dropout = dropout
        self.ignore_merges = ignore_merges
        self.cache_capacity = cache_capacity
        self._build_merges(merges)
        self._cache: dict[str, tuple[Token, ...]] = {}
        self._ids_cache: dict[str, tuple[int, ...]] = {}

    def _build_merges(self, merges: Iterable[tuple[str, str]]) -> None:
        """Pack each merge as key = a*K + b -> code = rank*K + new_id (one int compare orders by rank)."""
        vocab = self.vocab
        cut = len(self.continuing_subword_prefix or "")
        self._k = k = max(2, max(vocab.values(), default=0) + 1)
        codes: dict[int, int] = {}
        for rank, (a, b) in enumerate(merges):
            new = a + b[cut:]  # HF strips len(prefix) from b unconditionally when a prefix is set
            for tok in (a, b, new):
                if tok not in vocab:
                    raise ModelFileError(f"BPE merge ({a!r}, {b!r}) uses {tok!r}, which is not in the vocab: "
                                         "the tokenizer file is corrupt")
            codes[vocab[a] * k + vocab[b]] = rank * k + vocab[new]  # a repeated pair keeps its last rank
        self._codes = codes
        self._none = (len(codes) + 1) * k * k + k  # larger than every code: "no merge here"
        # Rank order, each pair once (at its last rank), as HF writes them.
        by_rank = sorted(codes.items(), key=lambda kv: kv[1])
        self.merges: list[tuple[str, str]] = [(self.vocab_r[key // k], self.vocab_r[key % k]) for key, _ in by_rank]

    # ---- Model protocol -------------------------------------------------------------------------------

    def tokenize(self, chunk: str) -> list[Token]:
        if self.dropout:
            return self._tokenize(chunk) if chunk else []  # random each time: never cached
        cached = self._cache.get(chunk)
        if cached is not None:
            return list(cached)
        if not chunk:
            return []
        tokens = tuple(self._tokenize(chunk))
        if len(chunk) < CACHE_MAX_CHARS:
            if len(self._cache) >= self.cache_capacity:
                self._cache.clear()  # a bounded cache; clearing keeps the cost amortised O(1)
            self._cache[chunk] = tokens
        return list(tokens)

    def tokenize_ids(self, chunk: str) -> tuple[int, ...]:
        """Only the ids of `tokenize(chunk)` (a faster, separately cached path for encoders without offsets)."""
        if self.dropout:
            return tuple(t[0] for t in self._tokenize(chunk)) if chunk else ()
        cached = self._ids_cache.get(chunk)
        if cached is not None:
            return cached
        ids = tuple(t[0] for t in self._tokenize(chunk)) if chunk else ()
        if len(chunk) < CACHE_MAX_CHARS:
            if len(self._ids_cache) >= self.cache_capacity:
                self._ids_cache.clear()
            self._ids_cache[chunk] = ids
        return ids

    def to_dict(self) -> dict:
        return {
            "type": "BPE",
            "dropout": self.dropout,
            "unk_token": self.unk_token,
            "continuing_subword_prefix": self.continuing_subword_prefix,
            "end_of_word_suffix": self.end_of_word_suffix,
            "fuse_unk": self.fuse_unk,
            "byte_fallback": self.byte_fallback,
            "ignore_merges": self.ignore_merges,
            "vocab": dict(sorted(self.vocab.items(), key=lambda kv: kv[1])),
            "merges": [[a, b] for a, b in self.merges],
        }

    @classmethod
    def from_dict(cls, data: dict) -> BPEModel:
        check_type(data, "BPE")
        vocab = check_vocab(data, "BPE")
        raw = data.get("merges")
        if not isinstance(raw, list):
            raise ModelFileError("BPE model: 'merges' must be a list: the tokenizer file is corrupt")
        merges = [_parse_merge(m, vocab) for m in raw]
        dropout = data.get("dropout")
        if dropout is not None and (not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0):
            raise ModelFileError(f"BPE model: dropout {dropout!r} is not a number in [0, 1]: the file is corrupt")
        flags = {key: data.get(key, False) for key in ("fuse_unk", "byte_fallback", "ignore_merges")}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise ModelFileError(f"BPE model: {key!r} must be true or false, not {value!r}: the file is corrupt")
        return cls(
            vocab,
            merges,
            unk_token=optional_str(data, "unk_token", "BPE"),
            continuing_subword_prefix=optional_str(data, "continuing_subword_prefix", "BPE"),
            end_of_word_suffix=optional_str(data, "end_of_word_suffix", "BPE"),
            dropout=None if dropout is None else float(dropout),
            **flags,
        )

    # ---- encoding -------------------------------------------------------------------------------------

    def _tokenize(self, chunk: str) -> list[Token]:
        if self.ignore_merges and chunk in self.vocab:
            return [(self.vocab[chunk], 0, len(chunk))]
        ids, spans = self._initial_symbols(chunk)
        sizes = [1] * len(ids)  # how many initial symbols each current symbol covers
        if self.dropout:
            self._merge_heap(ids, sizes, self.dropout)
        elif len(ids) > LONG_CHUNK:
            self._merge_heap(ids, sizes, None)
        else:
            self._merge_scan(ids, sizes)
        out: list[Token] = []
        c = 0
        if spans is None:  # one initial symbol per character
            for tid, size in zip(ids, sizes):
                out.append((tid, c, c + size))
                c += size
        else:
            for tid, size in zip(ids, sizes):
                out.append((tid, spans[c][0], spans[c + size - 1][1]))
                c += size
        return out

    def _initial_symbols(self, chunk: str) -> tuple[list[int], list[tuple[int, int]] | None]:
        """Symbol ids of the chunk's characters; spans (char offsets per symbol) unless one symbol per char."""
        vocab = self.vocab
        prefix, suffix = self.continuing_subword_prefix, self.end_of_word_suffix
        if prefix is None and suffix is None:
            ids = [vocab.get(ch) for ch in chunk]
            if None not in ids:
                return ids, None  # type: ignore[return-value]
        # General path, following HF `BPE::merge_word` case by case.
        ids = []
        spans: list[tuple[int, int]] = []
        unk: tuple[int, int, int] | None = None  # pending (unk_id, start, end), for fusing
        last = len(chunk) - 1
        for i, ch in enumerate(chunk):
            s = ch
            if i > 0 and prefix is not None:
                s = prefix + s
            if i == last and suffix is not None:
                s = s + suffix
            tid = vocab.get(s)
            if tid is not None:
                if unk is not None:
                    ids.append(unk[0])
                    spans.append(unk[1:])
                    unk = None
                ids.append(tid)
                spans.append((i, i + 1))
                continue
            if self.byte_fallback:
                byte_ids = [vocab.get(byte_token(b)) for b in s.encode("utf-8")]
                if None not in byte_ids:
                    # HF adds these before a pending unk (which it flushes only at the next known char).
                    ids.extend(byte_ids)  # type: ignore[arg-type]
                    spans.extend([(i, i + 1)] * len(byte_ids))
                    continue
            if self.unk_token is not None:
                unk_id = vocab.get(self.unk_token)
                if unk_id is None:
                    raise TkitError(f"the BPE unk token {self.unk_token!r} is not in the vocabulary: "
                                    "add it to the vocab or unset unk_token")
                if unk is not None and self.fuse_unk:
                    unk = (unk_id, unk[1], i + 1)
                    continue
                if unk is not None:
                    ids.append(unk[0])
                    spans.append(unk[1:])
                unk = (unk_id, i, i + 1)
            # no unk token: the character is dropped, as HF does
        if unk is not None:
            ids.append(unk[0])
            spans.append(unk[1:])
        return ids, spans

    def _merge_scan(self, ids: list[int], sizes: list[int]) -> None:
        """Merge in place: lowest rank first, leftmost on ties; O(n^2) but in C-level list ops."""
        codes, k, none = self._codes, self._k, self._none
        get = codes.get
        pr = [get(ids[i] * k + ids[i + 1], none) for i in range(len(ids) - 1)]  # pr[i]: code of pair (i, i+1)
        while pr:
            best = min(pr)
            if best == none:
                break
            i = pr.index(best)
            new = best % k
            ids[i] = new
            del ids[i + 1]
            sizes[i] += sizes.pop(i + 1)
            del pr[i]
            if i > 0:
                pr[i - 1] = get(ids[i - 1] * k + new, none)
            if i < len(pr):
                pr[i] = get(new * k + ids[i + 1], none)

    def _merge_heap(self, ids: list[int], sizes: list[int], dropout: float | None) -> None:
        """HF `Word::merge_all`: a min-heap of (rank, pos) over a linked list; stale entries are skipped.
        With dropout, each popped merge is skipped with probability `dropout` (skipped ones come back once a
        merge is applied)."""
        codes, k = self._codes, self._k
        n = len(ids)
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        heap = []
        for i in range(n - 1):
            code = codes.get(ids[i] * k + ids[i + 1])
            if code is not None:
                heap.append((code // k, i, code % k))
        heapq.heapify(heap)
        skipped: list[tuple[int, int, int]] = []
        rand = random.random
        while heap:
            top = heapq.heappop(heap)
            if dropout is not None:
                if rand() < dropout:
                    skipped.append(top)
                    continue
                for s in skipped:
                    heapq.heappush(heap, s)
                skipped.clear()
            _, i, new = top
            if sizes[i] == 0:
                continue
            j = nxt[i]
            if j == -1:
                continue
            code = codes.get(ids[i] * k + ids[j])
            if code is None or code % k != new:
                continue  # the pair at i changed since this entry was pushed
            ids[i] = new
            sizes[i] += sizes[j]
            sizes[j] = 0
            nxt[i] = nxt[j]
            if nxt[j] != -1:
                prv[nxt[j]] = i
            p = prv[i]
            if p != -1:
                code = codes.get(ids[p] * k + new)
                if code is not None:
                    heapq.heappush(heap, (code // k, p, code % k))
            q = nxt[i]
            if q != -1:
                code = codes.get(new * k + ids[q])
                if code is not None:
                    heapq.heappush(heap, (code // k, i, code % k))
        keep = [i for i in range(n) if sizes[i]]
        ids[:] = [ids[i] for i in keep]
        sizes[:] = [sizes[i] for i in keep]


def _parse_merge(m: object, vocab: dict[str, int]) -> tuple[str, str]:
    """A merge as HF writes it: ["a", "b"], or the legacy "a b" (split at the first space that leaves two
    vocabulary tokens, so tokens containing spaces still load)."""
    if isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m):
        return m[0], m[1]
    if isinstance(m, str):
        cuts = [i for i, ch in enumerate(m) if ch == " "]
        for i in cuts:
            if m[:i] in vocab and m[i + 1 :] in vocab:
                return m[:i], m[i + 1 :]
        if cuts:
            return m[: cuts[0]], m[cuts[0] + 1 :]  # reported as out-of-vocab by the caller
    raise ModelFileError(f"BPE model: merge {m!r} is neither [\"a\", \"b\"] nor \"a b\": the file is corrupt")
