"""The Unigram model: the most probable segmentation of a chunk under a unigram language model of pieces.

Encoding is HF `tokenizers`' `Unigram::encode_optimized`, reproduced decision for decision so ids match HF on
every chunk: a left-to-right Viterbi over the chunk's characters, the pieces starting at each position found
by walking a character trie. A position with no one-character piece gets an UNK node scored `min_score - 10`;
on equal path scores the candidate seen first wins (the one starting earliest, i.e. the longest last piece);
consecutive UNK nodes are fused into one token; a fused unknown string that is not itself a piece becomes its
UTF-8 bytes as `<0xXX>` pieces when `byte_fallback` is on and every byte has a piece, else one `unk_id` token.

Speed: results are cached per distinct chunk. Whole-line (SentencePiece-style) chunks are cut before each
`▁` when no piece has `▁` after its first character: no piece can cross such a cut, so the Viterbi path of
the line is the concatenation of the paths of its parts, and the parts (words) repeat, so they cache well.
Float rounding could only flip a decision between two paths whose scores tie to within 1e-6, so a part
where that happens is flagged and its line is encoded whole instead.

`sample` draws a segmentation for subword regularisation (Kudo 2018): forward filtering, backward sampling
on the same lattice with scores scaled by `alpha` (sentencepiece `Lattice::Sample`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import ClassVar

import numpy as np

from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.base import MODELS, Token, check_type

UNK_PENALTY = 10.0  # HF K_UNK_PENALTY, sentencepiece kUnkPenalty
SPACE = "\u2581"  # ▁, the Metaspace replacement
TIE_EPS = 1e-6  # path scores closer than this may order differently once shifted by a prefix's score
CACHE_MAX_CHARS = 256
DEFAULT_CACHE_CAPACITY = 1 << 17
_LEAF: dict = {}  # the children of every leaf of the trie (never written to)


def byte_piece(b: int) -> str:
    """The byte-fallback piece of byte `b`: `<0x0A>` (HF and sentencepiece spelling)."""
    return f"<0x{b:02X}>"


@MODELS.register
class UnigramModel:
    """A unigram language model over pieces, with HF `tokenizers` encoding semantics and its JSON layout."""

    type: ClassVar[str] = "Unigram"

    def __init__(
        self,
        vocab: Sequence[tuple[str, float]],
        *,
        unk_id: int | None = 0,
        byte_fallback: bool = False,
        cache_capacity: int = DEFAULT_CACHE_CAPACITY,
    ) -> None:
        pieces: list[tuple[str, float]] = []
        for item in vocab:
            try:
                piece, score = item
                score = float(score)
            except (TypeError, ValueError):
                raise TkitError(f"Unigram vocab entry {item!r} is not a (piece, score) pair") from None
            if not isinstance(piece, str) or math.isnan(score):
                raise TkitError(f"Unigram vocab entry {item!r}: the piece must be a string and the score a number")
            pieces.append((piece, score))
        if unk_id is not None:
            if isinstance(unk_id, bool) or not isinstance(unk_id, int) or unk_id < 0:
                raise TkitError(f"Unigram unk_id must be a non-negative integer or None, got {unk_id!r}")
            if not pieces:
                raise TkitError("the Unigram vocab is empty but an unk_id is set: give at least the unknown token")
            if unk_id >= len(pieces):
                raise TkitError(f"Unigram unk_id {unk_id} is outside the vocab of {len(pieces)} pieces")
        self.vocab = pieces
        self.unk_id = unk_id
        self.byte_fallback = bool(byte_fallback)
        self.cache_capacity = cache_capacity
        self._token_to_id = {piece: i for i, (piece, _) in enumerate(pieces)}  # a repeated piece: last id wins
        self.min_score = min((s for _, s in pieces), default=math.inf)
        self._unk_score = self.min_score - UNK_PENALTY
        self._build_trie()
        self._byte_ids = [self._token_to_id.get(byte_piece(b)) for b in range(256)]
        # Lines may be cut before "▁" only if no piece crosses such a cut and "▁" itself is never unknown.
        self._cut_at_space = SPACE in self._token_to_id and not any(SPACE in p[1:] for p, _ in pieces)
        self._cache: dict[str, tuple[Token, ...]] = {}
        self._tied: set[str] = set()  # cached parts whose Viterbi saw a near tie

    def _build_trie(self) -> None:
        """A character trie of the pieces: node = {char: [child node, (id, score) or None]}. Leaves share one
        empty dict, so a vocabulary costs about one list per distinct prefix."""
        root: dict[str, list] = {}
        for piece, i in self._token_to_id.items():
            if not piece:
                continue  # HF's trie never yields an empty match
            node = root
            last = len(piece) - 1
            for k, ch in enumerate(piece):
                slot = node.get(ch)
                if slot is None:
                    slot = node[ch] = [_LEAF, None]
                if k == last:
                    slot[1] = (i, self.vocab[i][1])
                elif slot[0] is _LEAF:
                    slot[0] = {}
                node = slot[0]
        self._trie = root

    # ---- Model protocol -------------------------------------------------------------------------------

    def tokenize(self, chunk: str) -> list[Token]:
        """(id, start, end) tokens of the Viterbi segmentation of `chunk`; offsets are characters."""
        hit = self._cache.get(chunk)
        if hit is not None:
            return list(hit)
        if not chunk:
            return []
        if self._cut_at_space and chunk.find(SPACE, 1) > 0:
            return self._tokenize_line(chunk)
        return list(self._encode(chunk))

    def tokenize_ids(self, chunk: str) -> list[int]:
        """Only the ids of `tokenize(chunk)`."""
        return [t[0] for t in self.tokenize(chunk)]

    def token_to_id(self, token: str) -> int | None:
        return self._token_to_id.get(token)

    def id_to_token(self, token_id: int) -> str | None:
        if 0 <= token_id < len(self.vocab):
            return self.vocab[token_id][0]
        return None

    def get_vocab(self) -> dict[str, int]:
        return dict(self._token_to_id)

    def get_vocab_size(self) -> int:
        return len(self.vocab)

    def get_scores(self) -> list[float]:
        return [s for _, s in self.vocab]

    def to_dict(self) -> dict:
        return {
            "type": "Unigram",
            "unk_id": self.unk_id,
            "vocab": [[piece, score] for piece, score in self.vocab],
            "byte_fallback": self.byte_fallback,
        }

    @classmethod
    def from_dict(cls, data: dict) -> UnigramModel:
        check_type(data, "Unigram")
        vocab = data.get("vocab")
        if not isinstance(vocab, list):
            raise ModelFileError("Unigram model: 'vocab' must be a list of [piece, score] pairs: the file is corrupt")
        pieces: list[tuple[str, float]] = []
        for i, item in enumerate(vocab):
            if (not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str)
                    or isinstance(item[1], bool) or not isinstance(item[1], (int, float))
                    or math.isnan(item[1])):
                raise ModelFileError(f"Unigram model: vocab entry {i} is {item!r}, not a [piece, score] pair: "
                                     "the file is corrupt")
            pieces.append((item[0], float(item[1])))
        unk_id = data.get("unk_id")
        if unk_id is not None and (isinstance(unk_id, bool) or not isinstance(unk_id, int)
                                   or not 0 <= unk_id < len(pieces)):
            raise ModelFileError(f"Unigram model: unk_id {unk_id!r} is not an index into the vocab of "
                                 f"{len(pieces)} pieces: the file is corrupt")
        byte_fallback = data.get("byte_fallback", False)
        if not isinstance(byte_fallback, bool):
            raise ModelFileError(f"Unigram model: 'byte_fallback' must be true or false, not {byte_fallback!r}: "
                                 "the file is corrupt")
        return cls(pieces, unk_id=unk_id, byte_fallback=byte_fallback)

    # ---- encoding -------------------------------------------------------------------------------------

    def tokenize_part(self, part: str) -> tuple[tuple[Token, ...], bool]:
        """Tokens of one part of a line cut before each `▁` (see the module doc), and whether its Viterbi saw a
        near tie: then the parts' concatenation may differ from the whole line's encoding, and the line must be
        encoded whole. Only meaningful when `cuts_at_space` is true."""
        tokens = self._encode(part)
        return tokens, part in self._tied or len(part) >= CACHE_MAX_CHARS

    _encode_cached = tokenize_part  # the name the pipeline first used

    @property
    def cuts_at_space(self) -> bool:
        """Whether lines may be cut before each `▁` and encoded part by part (no piece has an inner `▁`)."""
        return self._cut_at_space

    def _encode(self, chunk: str) -> tuple[Token, ...]:
        hit = self._cache.get(chunk)
        if hit is not None:
            return hit
        path, near_tie = self._viterbi(chunk)
        tokens = tuple(self._to_tokens(chunk, path))
        if len(chunk) < CACHE_MAX_CHARS:
            if len(self._cache) >= self.cache_capacity:
                self._cache.clear()  # bounded; clearing keeps the amortised cost O(1)
                self._tied.clear()
            self._cache[chunk] = tokens
            if near_tie:
                self._tied.add(chunk)
        return tokens

    def _tokenize_line(self, line: str) -> list[Token]:
        """Encode a line part by part (cut before each `▁`), or whole if a part has a near tie."""
        out: list[Token] = []
        begin = 0
        cache, tied = self._cache, self._tied
        words = line.split(SPACE)
        for k, word in enumerate(words):
            part = SPACE + word if k else word  # the text before the first "▁" has none
            if not part:
                continue
            tokens = cache.get(part)
            if tokens is None:
                tokens = self._encode(part)
            if part in tied or len(part) >= CACHE_MAX_CHARS:
                path, _ = self._viterbi(line)
                return self._to_tokens(line, path)
            out += [(t, s + begin, e + begin) for t, s, e in tokens] if begin else tokens
            begin += len(part)
        return out

    def _viterbi(self, chunk: str) -> tuple[list[tuple[int, int, int]], bool]:
        """Best path as (id, start, end) nodes, UNK nodes carrying `unk_id`; and whether a near tie was seen.

        HF semantics: candidates for an end position arrive in order of their start; a later one replaces the
        kept one only if strictly better; the UNK node of a position comes after that position's pieces.
        """
        n = len(chunk)
        root = self._trie
        unk_score = self._unk_score
        best = [0.0] * (n + 1)
        back = [-1] * (n + 1)  # start of the best node ending here; -1 = none yet
        ids = [0] * (n + 1)
        near_tie = False
        for i in range(n):
            base = best[i]
            single = False
            node = root
            j = i
            while j < n:  # walk the trie along chunk[i:]: every piece starting at i, shortest first
                slot = node.get(chunk[j])
                if slot is None:
                    break
                node, entry = slot
                j += 1
                if entry is None:
                    continue
                if j == i + 1:
                    single = True
                cand = base + entry[1]
                if back[j] < 0:
                    best[j] = cand
                    back[j] = i
                    ids[j] = entry[0]
                else:
                    kept = best[j]
                    if cand > kept:
                        if cand - kept < TIE_EPS:
                            near_tie = True
                        best[j] = cand
                        back[j] = i
                        ids[j] = entry[0]
                    elif kept - cand < TIE_EPS:
                        near_tie = True
            if not single:
                j = i + 1
                cand = base + unk_score
                if back[j] < 0 or cand > best[j]:
                    if back[j] >= 0 and cand - best[j] < TIE_EPS:
                        near_tie = True
                    if self.unk_id is None:
                        raise TkitError(f"cannot encode {chunk[i]!r} (U+{ord(chunk[i]):04X}): it has no piece and "
                                        "the Unigram model has no unk_id; retrain with an unknown token or "
                                        "byte_fallback")
                    best[j] = cand
                    back[j] = i
                    ids[j] = self.unk_id
                elif back[j] >= 0 and best[j] - cand < TIE_EPS:
                    near_tie = True
        path: list[tuple[int, int, int]] = []
        j = n
        while j > 0:
            i = back[j]
            path.append((ids[j], i, j))
            j = i
        path.reverse()
        return path, near_tie

    def _to_tokens(self, chunk: str, path: Iterable[tuple[int, int, int]]) -> list[Token]:
        """Fuse consecutive UNK nodes (HF `fuse_unk`, always on for Unigram), then map strings to ids."""
        unk_id = self.unk_id
        out: list[Token] = []
        fused_start = -1
        fused_end = -1
        for tid, s, e in path:
            if tid == unk_id and unk_id is not None:  # a matched piece with unk's id fuses too, as in HF
                if fused_start < 0:
                    fused_start = s
                fused_end = e
                continue
            if fused_start >= 0:
                self._emit_unknown(chunk, fused_start, fused_end, out)
                fused_start = -1
            out.append((tid, s, e))
        if fused_start >= 0:
            self._emit_unknown(chunk, fused_start, fused_end, out)
        return out

    def _emit_unknown(self, chunk: str, s: int, e: int, out: list[Token]) -> None:
        text = chunk[s:e]
        tid = self._token_to_id.get(text)
        if tid is not None:
            out.append((tid, s, e))
            return
        if self.byte_fallback:
            byte_ids = [self._byte_ids[b] for b in text.encode("utf-8")]
            if None not in byte_ids:
                out.extend((b, s, e) for b in byte_ids)  # type: ignore[misc]
                return
        assert self.unk_id is not None
        out.append((self.unk_id, s, e))

    # ---- subword regularisation ---------------------------------------------------------------------

    def sample(self, chunk: str, alpha: float, rng: np.random.Generator) -> list[Token]:
        """A segmentation drawn with probability proportional to exp(alpha * path score).

        alpha -> infinity approaches the Viterbi segmentation; alpha = 0 is uniform over segmentations.
        """
        if not chunk:
            return []
        if not math.isfinite(alpha) or alpha < 0:
            raise TkitError(f"sampling alpha must be a finite number >= 0, got {alpha!r}")
        nodes = self._lattice(chunk)  # nodes[j] = [(id, start, score), ...] ending at j
        n = len(chunk)
        fwd = np.full(n + 1, -np.inf)
        fwd[0] = 0.0
        for j in range(1, n + 1):
            ends = nodes[j]
            vals = np.array([fwd[s] + alpha * sc for _, s, sc in ends])
            m = vals.max()
            fwd[j] = m + math.log(np.exp(vals - m).sum())
        path: list[tuple[int, int, int]] = []
        j = n
        while j > 0:
            ends = nodes[j]
            logits = np.array([fwd[s] + alpha * sc for _, s, sc in ends]) - fwd[j]
            probs = np.exp(logits)
            k = int(rng.choice(len(ends), p=probs / probs.sum())) if len(ends) > 1 else 0
            tid, s, _ = ends[k]
            path.append((tid, s, j))
            j = s
        path.reverse()
        return self._to_tokens(chunk, path)

    def _lattice(self, chunk: str) -> list[list[tuple[int, int, float]]]:
        """All lattice nodes, grouped by end position: (id, start, score); UNK nodes as in `_viterbi`."""
        n = len(chunk)
        nodes: list[list[tuple[int, int, float]]] = [[] for _ in range(n + 1)]
        for i in range(n):
            single = False
            node = self._trie
            j = i
            while j < n:
                slot = node.get(chunk[j])
                if slot is None:
                    break
                node, entry = slot
                j += 1
                if entry is not None:
                    nodes[j].append((entry[0], i, entry[1]))
                    single = single or j == i + 1
            if not single:
                if self.unk_id is None:
                    raise TkitError(f"cannot encode {chunk[i]!r} (U+{ord(chunk[i]):04X}): it has no piece and the "
                                    "Unigram model has no unk_id; retrain with an unknown token or byte_fallback")
                nodes[i + 1].append((self.unk_id, i, self._unk_score))
        return nodes
