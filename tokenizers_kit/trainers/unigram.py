"""Unigram training as sentencepiece does it (`unigram_model_trainer.cc`), vectorised with NumPy.

1. Segments: each distinct chunk is cut before every `▁` (pieces may hold `▁` only as their first
   character, so no piece crosses such a cut and the lattice of a chunk is the concatenation of its parts'
   lattices — sentencepiece's `SplitSentencesByWhitespace`); equal parts are merged with summed counts.
2. Seeds (`unigram_seeds`): every single character, plus the right-branching substrings seen at least twice,
   best `frequency * length` first, `seed_size` at most; initial scores are their log relative scores.
3. EM, `n_sub_iterations` times: the E-step runs forward-backward on the lattice of every distinct segment
   at once (`unigram_lattice`), weighted by its count; the M-step drops pieces with expected count < 0.5 and
   sets score = digamma(count) - digamma(total) (Bayesian EM, a sparse prior). A single character is never
   dropped: below 0.5 it is scored like sentencepiece's UNK node, min_score - 10.
4. Stop when at most 1.1 x the wanted number of pieces remain. Otherwise prune: a Viterbi pass gives each
   piece's frequency F; a piece whose best segmentation is itself has as alternative its second-best
   segmentation; removing it costs F * (log p(piece) - sum log p(alternatives)) with the alternatives'
   frequencies raised by F. Keep the max(1.1 x wanted, 0.75 x current) pieces that cost most (and every
   single character), then EM again.
5. Finalize: every character (missing ones at min_score + k * 1e-4, most frequent first), then the best
   scored pieces up to exactly the wanted count. Ids: special tokens, then `<0x00>`..`<0xFF>` with
   byte_fallback (as Llama-style sentencepiece models do), then pieces by score, highest first.

Special tokens and byte pieces are never meant to be matched in text (sentencepiece never matches CONTROL or
BYTE pieces), but HF's Unigram matches every vocabulary entry. So they are scored below any spelling of
them by characters (`reserved_score`), and with byte_fallback the characters that spell them ("<", "0"-"9",
"A"-"F", "x", ">", and the specials' own) are always pieces: then "<0x41>" in text is those characters, in
tkit and HF. (An unseen character would not do: its UNK score, HF's min_score - 10, is below everything.)
"""
from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.unigram import UNK_PENALTY, UnigramModel, byte_piece
from tokenizers_kit.unigram_lattice import BlockedLattice, second_best
from tokenizers_kit.unigram_seeds import SPACE, find_seeds, pack_segments

Progress = Callable[[int, int], None]  # (EM rounds done, rounds expected)
EXPECTED_FREQUENCY_THRESHOLD = 0.5  # sentencepiece kExpectedFrequencyThreshold
MIN_SCORE_PENALTY_DELTA = 1e-4  # sentencepiece kMinScorePenaltyDelta
DESIRED_SLACK = 1.1  # EM stops once at most 1.1 x vocab_size pieces remain
LAZY_FILTER = 0.05  # dead pieces' nodes stay in the lattice (scored -inf) until they are 5% of all nodes
BLOCK_NODES = 1 << 18  # lattice nodes per block of segments (`unigram_lattice.BlockedLattice`) by default
MIN_BLOCK_NODES = 1 << 14  # below this the per-block Python steps cost more than the memory saved
BLOCK_BYTES_PER_NODE = 160  # working bytes per node of the block being built or run (sort keys, floats)
BLOCK_SHARE = 4  # with a memory budget, one block's working arrays get this fraction of it


def block_nodes_for(memory: int | None) -> int:
    """Nodes per lattice block: the default, or under a memory budget a quarter of it in working arrays."""
    if memory is None:
        return BLOCK_NODES
    return max(MIN_BLOCK_NODES, min(BLOCK_NODES, memory // (BLOCK_SHARE * BLOCK_BYTES_PER_NODE)))


def digamma(x: np.ndarray) -> np.ndarray:
    """The digamma function for x > 0 (recurrence up to 7, then the asymptotic series; sentencepiece's)."""
    x = np.array(x, dtype=np.float64)
    result = np.zeros_like(x)
    small = x < 7
    while small.any():
        result[small] -= 1.0 / x[small]
        x[small] += 1.0
        small = x < 7
    x -= 0.5
    xx = 1.0 / x
    xx2 = xx * xx
    xx4 = xx2 * xx2
    return (result + np.log(x) + xx2 / 24.0 - 7.0 / 960.0 * xx4 + 31.0 / 8064.0 * xx4 * xx2
            - 127.0 / 30720.0 * xx4 * xx4)


_SEP = "\ue000"  # joins chunks for one regex pass (chunks holding it take the slow path)
_SEGMENT = re.compile(f"{SPACE}[^{SPACE}{_SEP}]*|[^{SPACE}{_SEP}]+")


def split_segments(chunk_counts: Mapping[str, int], max_segment_length: int) -> dict[str, int]:
    """Distinct training segments with counts: chunks cut before each `▁` and into `max_segment_length`
    characters at most."""
    if not isinstance(chunk_counts, Mapping):
        raise TkitError("the Unigram trainer takes a mapping of chunk -> count")
    out: dict[str, int] = {}
    get = out.get
    by_count: dict[int, list[str]] = defaultdict(list)  # chunks to cut, by count
    for chunk, count in chunk_counts.items():
        if type(chunk) is not str or type(count) is not int:
            chunk, count = _checked(chunk, count)
        if count > 0 and chunk:
            if chunk.find(SPACE, 1) < 0:  # a word already (the common case with a pre-tokenizer)
                out[chunk] = get(chunk, 0) + count
            else:
                by_count[count].append(chunk)
        elif count < 0:
            _checked(chunk, count)
    for count, chunks in by_count.items():  # one C-level regex pass and count per distinct chunk count
        odd = [c for c in chunks if _SEP in c]
        parts = _SEGMENT.findall(_SEP.join(c for c in chunks if _SEP not in c))
        for c in odd:
            parts += _split_one(c)
        for seg, k in Counter(parts).items():
            out[seg] = get(seg, 0) + k * count
    for seg in [s for s in out if len(s) > max_segment_length]:
        k = out.pop(seg)
        for i in range(0, len(seg), max_segment_length):
            out[seg[i:i + max_segment_length]] = get(seg[i:i + max_segment_length], 0) + k
    return out


def _checked(chunk: object, count: object) -> tuple[str, int]:
    if not isinstance(chunk, str):
        raise TkitError(f"training chunk {chunk!r} is not a string")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise TkitError(f"training chunk {chunk!r} has count {count!r}; counts must be integers >= 0")
    return chunk, int(count)


def _split_one(chunk: str) -> list[str]:
    parts = chunk.split(SPACE)
    return ([parts[0]] if parts[0] else []) + [SPACE + p for p in parts[1:]]


class UnigramTrainer:
    def __init__(
        self,
        vocab_size: int = 8000,
        *,
        special_tokens: Iterable[str] = (),
        unk_token: str | None = "<unk>",
        max_piece_length: int = 16,
        shrinking_factor: float = 0.75,
        n_sub_iterations: int = 2,
        seed_size: int = 1_000_000,
        byte_fallback: bool = False,
        max_segment_length: int = 2048,
        split_by_script: bool = True,
        progress: Progress | None = None,
        memory: int | None = None,
        block_nodes: int | None = None,
    ) -> None:
        """`memory` (bytes): size the lattice blocks from this budget; `block_nodes`: set their size directly
        (None with no `memory`: the default). Other block sizes give the same pieces, but scores can differ in
        their last bits (the blocks' expected counts are added in another order): `tkit train tokenizer
        --memory` keeps the default, so a budget never changes the tokenizer."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise TkitError(f"vocab size must be a positive integer, got {vocab_size!r}")
        if not isinstance(max_piece_length, int) or max_piece_length < 1:
            raise TkitError(f"max piece length must be a positive integer, got {max_piece_length!r}")
        if not 0.0 < shrinking_factor < 1.0:
            raise TkitError(f"shrinking factor must be between 0 and 1 (exclusive), got {shrinking_factor!r}")
        if not isinstance(n_sub_iterations, int) or n_sub_iterations < 1:
            raise TkitError(f"n_sub_iterations must be a positive integer, got {n_sub_iterations!r}")
        if not isinstance(seed_size, int) or seed_size < 1:
            raise TkitError(f"seed size must be a positive integer, got {seed_size!r}")
        if not isinstance(max_segment_length, int) or max_segment_length < max_piece_length:
            raise TkitError(f"max segment length must be an integer >= max piece length, got {max_segment_length!r}")
        specials: list[str] = []
        for tok in special_tokens:
            if not isinstance(tok, str) or not tok:
                raise TkitError(f"special token {tok!r} must be a non-empty string")
            if tok not in specials:
                specials.append(tok)
        if unk_token is not None:
            if not isinstance(unk_token, str) or not unk_token:
                raise TkitError(f"unk token {unk_token!r} must be a non-empty string or None")
            if unk_token not in specials:
                specials.insert(0, unk_token)
        self.vocab_size = vocab_size
        self.special_tokens = specials
        self.unk_token = unk_token
        self.max_piece_length = max_piece_length
        self.shrinking_factor = shrinking_factor
        self.n_sub_iterations = n_sub_iterations
        self.seed_size = seed_size
        self.byte_fallback = byte_fallback
        if block_nodes is not None and (isinstance(block_nodes, bool) or not isinstance(block_nodes, int)
                                        or block_nodes < 1):
            raise TkitError(f"block_nodes must be a positive integer, got {block_nodes!r}")
        self.max_segment_length = max_segment_length
        self.block_nodes = block_nodes if block_nodes is not None else block_nodes_for(memory)
        self.split_by_script = split_by_script
        self.progress = progress
        self.stats: dict[str, float] = {}  # what the last train() did: sizes per round, objective
        self.seconds: dict[str, float] = {}  # and where its time went

    # ---- the algorithm ----------------------------------------------------------------------------------

    def train(self, chunk_counts: Mapping[str, int]) -> UnigramModel:
        clock = _Clock()
        seg_counts = split_segments(chunk_counts, self.max_segment_length)
        if not seg_counts:
            raise TkitError("no text to train on: the corpus is empty (or the pre-tokenizer produced nothing)")
        reserved = list(self.special_tokens)
        if self.byte_fallback:
            reserved += [byte_piece(b) for b in range(256) if byte_piece(b) not in self.special_tokens]
        n_learned = self.vocab_size - len(reserved)
        segments = sorted(seg_counts)  # a canonical order: the result never depends on dict order
        counts = np.fromiter((seg_counts[s] for s in segments), dtype=np.float64, count=len(segments))
        n_segments = len(segments)
        packed = pack_segments(segments, counts)
        del seg_counts, segments  # one string per segment: the packed arrays hold them from here on
        spelling = spelling_chars(reserved) if self.byte_fallback else []
        unseen = [c for c in spelling if c not in packed.chars and c not in reserved]  # not in the corpus
        n_required = sum(1 for c in packed.chars if c not in reserved) + len(unseen)
        if n_learned < n_required:
            extra = f" + {256} byte pieces" if self.byte_fallback else ""
            raise TkitError(f"vocab size {self.vocab_size} is too small: the {len(self.special_tokens)} special "
                            f"tokens{extra} and the {n_required} distinct characters of the corpus need "
                            f"{len(reserved) + n_required}; raise --vocab-size")

        clock.lap("segments")
        seeds = find_seeds(packed, max_len=self.max_piece_length, seed_size=self.seed_size,
                           min_seeds=2 * n_learned, split_by_script=self.split_by_script)
        clock.lap("seeds")
        lattice = BlockedLattice(packed.begin, packed.length, packed.count, seeds.table, self.block_nodes)
        n_pos = packed.n_pos
        seeds.keep_piece_rows()  # pruning reads the table at the pieces' own occurrences only
        clock.lap("lattice")
        P = len(seeds.pieces)
        n_chars = len(packed.chars)
        is_char = np.zeros(P, dtype=bool)
        is_char[:n_chars] = True
        score = seeds.log_prob.copy()
        alive = np.ones(P, dtype=bool)
        weak = np.zeros(P, dtype=bool)  # characters kept with a stand-in score (expected count < 0.5)
        removed_at = np.full(P, -1)  # EM round in which a piece was dropped (for filling up a short vocab)
        desired = int(n_learned * DESIRED_SLACK)
        self.stats = {"segments": float(n_segments), "seeds": float(P), "nodes": float(lattice.n_nodes),
                      "positions": float(n_pos), "blocks": float(len(lattice.blocks))}
        self.seconds = clock.laps

        round_no = 0
        while True:
            for _ in range(self.n_sub_iterations):
                lattice.keep(alive, slack=LAZY_FILTER)
                clock.lap("filter")
                expected, objective = lattice.expected_counts(np.where(alive, score, -np.inf))
                clock.lap("em")
                score, new_alive, weak = _m_step(expected, score, alive, is_char)
                removed_at[alive & ~new_alive] = round_no
                alive = new_alive
            self.stats[f"round{round_no}_pieces"] = float(alive.sum())
            self.stats["objective"] = objective
            round_no += 1
            if self.progress is not None:  # rounds left if each prune keeps `shrinking_factor` of the pieces
                left = _rounds_left(int(alive.sum()), desired, self.shrinking_factor)
                self.progress(round_no, round_no + left)
            if alive.sum() <= desired:
                break
            new_alive = self._prune(lattice, seeds, score, alive, is_char, desired)
            clock.lap("prune")
            removed_at[alive & ~new_alive] = round_no
            alive = new_alive
        self.stats["rounds"] = float(round_no)
        model = self._finalize(seeds, score, alive & ~weak, is_char, removed_at, n_learned, reserved, unseen)
        clock.lap("finalize")
        return model

    def _prune(self, lattice: BlockedLattice, seeds, score: np.ndarray, alive: np.ndarray, is_char: np.ndarray,
               desired: int) -> np.ndarray:
        freq = lattice.viterbi_counts(np.where(alive, score, -np.inf))
        total = freq.sum()
        log_total = math.log(total)
        vsum = float(lattice.count.sum())
        cand = np.flatnonzero(alive & ~is_char)
        alt_score, owner, alt_piece = second_best(seeds.table, seeds.rep, seeds.length, score, alive, cand)
        f = freq[cand]
        # Removable for free: never on a Viterbi path, or its own best segmentation is already split.
        useful = (f > 0) & ~(alt_score > score[cand])
        n_alt = np.bincount(owner, minlength=len(cand))
        with np.errstate(divide="ignore", invalid="ignore"):  # pieces with f == 0 are not ranked anyway
            log_alt = np.bincount(owner, weights=np.log(freq[alt_piece] + f[owner]), minlength=len(cand))
            logsum_alt = np.log(total + f * (n_alt - 1))
            logprob_alt = log_alt - n_alt * logsum_alt
            logprob_sp = np.log(f) - log_total
            loss = (f / vsum) * (logprob_sp - logprob_alt)
        # Single characters always stay; then the candidates that cost most to remove.
        n_keep = max(desired, int(self.shrinking_factor * alive.sum())) - int((alive & is_char).sum())
        ranked = cand[useful][np.lexsort((cand[useful], -loss[useful]))]
        new_alive = alive & is_char
        new_alive[ranked[:max(0, n_keep)]] = True
        return new_alive

    def _finalize(self, seeds, score: np.ndarray, ok: np.ndarray, is_char: np.ndarray,
                  removed_at: np.ndarray, n_learned: int, reserved: list[str], unseen: list[str]) -> UnigramModel:
        """Exactly `n_learned` pieces (when the data has that many): every character (and the `unseen` ones
        that spell reserved pieces), then the best pieces. `ok`: pieces alive with a real score."""
        pieces = seeds.pieces
        taken = set(reserved)
        chars = [p for p in np.flatnonzero(is_char).tolist() if pieces[p] not in taken]  # most frequent first
        n_more = n_learned - len(chars) - len(unseen)
        # The alive pieces by score; if EM left too few (a tiny corpus), the most recently dropped ones, best
        # last score first, scored just below the alive ones.
        rest = np.flatnonzero(~is_char)
        last_round = np.where(ok[rest], np.iinfo(np.int64).max, removed_at[rest])
        order = rest[np.lexsort((rest, -score[rest], -last_round))]
        chosen: dict[str, float] = {}
        floor = float(score[ok].min()) if ok.any() else math.inf
        for p in order.tolist():
            if len(chosen) >= n_more:
                break
            piece = pieces[p]
            if piece in taken or piece in chosen:
                continue
            if ok[p]:
                chosen[piece] = float(score[p])
            else:
                floor = min(floor - MIN_SCORE_PENALTY_DELTA, float(score[p]))
                chosen[piece] = floor
        # Characters keep their score; those kept with a stand-in (expected count < 0.5 in EM) go just above
        # the lowest score, the more frequent ones higher (sentencepiece's FinalizeSentencePieces).
        real = [float(score[p]) for p in chars if ok[p]] + list(chosen.values())
        min_score = min(real) if real else -UNK_PENALTY
        final: dict[str, float] = {}
        penalty = 0.0
        for p in chars:
            if ok[p]:
                final[pieces[p]] = float(score[p])
            else:
                final[pieces[p]] = min_score + penalty
                penalty += MIN_SCORE_PENALTY_DELTA
        for ch in unseen:  # below every seen character
            final[ch] = min_score - UNK_PENALTY
        final.update(chosen)
        low = reserved_score(reserved, min(final.values(), default=-UNK_PENALTY))
        vocab = [(tok, low) for tok in reserved]
        vocab += sorted(final.items(), key=lambda kv: (-kv[1], kv[0]))
        unk_id = reserved.index(self.unk_token) if self.unk_token is not None else None
        return UnigramModel(vocab, unk_id=unk_id, byte_fallback=self.byte_fallback)


def spelling_chars(reserved: list[str]) -> list[str]:
    """The characters that spell the reserved pieces (special tokens, byte pieces), in a fixed order."""
    return sorted({ch for tok in reserved for ch in tok})


def reserved_score(reserved: list[str], min_score: float) -> float:
    """A score for special tokens and byte pieces below any path of characters through their text: a piece of
    n characters is always worse than n pieces of score >= min_score (<= 0) each."""
    longest = max((len(t) for t in reserved), default=1)
    return longest * min(min_score, 0.0) - UNK_PENALTY


class _Clock:
    """Wall time per phase, summed over laps."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


def _rounds_left(size: int, desired: int, shrinking_factor: float) -> int:
    if size <= desired:
        return 0
    return math.ceil(math.log(size / desired) / -math.log(shrinking_factor))


def _m_step(expected: np.ndarray, score: np.ndarray, alive: np.ndarray, is_char: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bayesian M-step: drop pieces expected fewer than 0.5 times, score = digamma(c) - digamma(sum c).
    Returns (scores, alive pieces, characters kept with a stand-in score); dropped pieces keep their last
    score (the finalizer may need them to fill the vocabulary)."""
    kept = alive & (expected >= EXPECTED_FREQUENCY_THRESHOLD)
    score = score.copy()
    if kept.any():
        score[kept] = digamma(expected[kept]) - digamma(np.array([expected[kept].sum()]))[0]
    weak_chars = is_char & ~kept
    if weak_chars.any():  # a character is never dropped; it scores as sentencepiece's UNK node would
        score[weak_chars] = float(score[kept].min()) - UNK_PENALTY if kept.any() else -UNK_PENALTY
    return score, kept | is_char, weak_chars
