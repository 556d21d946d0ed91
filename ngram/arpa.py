"""ARPA files (`.arpa`, `.arpa.gz`): read what KenLM, SRILM and tkit write; write what KenLM and SRILM read.

Writing follows lmplz (lm/common/print.cc): `\\data\\`, `ngram k=count`, then one section per order with lines
`log10p<TAB>w1 ... wk<TAB>log10backoff` (every order below the top has the backoff column, `0` when the n-gram
is no context), `\\end\\`. Values are written with 6 decimals (lmplz prints float32; agreement is ~1e-6), log 0
as -99 (SRILM). Lines are formatted a chunk at a time from lookup tables (no per-value `format` call).

tkit-specific header comments (before `\\data\\`, where KenLM allows `#` lines and SRILM ignores text):
`# tkit-tokenizer: <JSON string>` for models that are not whitespace-tokenized, and `# tkit-escape: backslash`
when some token holds whitespace (see `ngram.escape`).

Reading accepts SRILM's omitted backoffs and -99 (read as log 0), adds `<unk>` with log10 p = -100 when it is
missing (as KenLM does, with a warning) and fills in missing context n-grams (SRILM pruning) with their backed-off
probability. Mistakes (truncation, wrong counts, an n-gram with a word missing from the unigrams, a bad number)
raise ModelFileError naming the line. The text is streamed (ngram.arpa_lines) and parsed a block of lines at a
time (ngram.arpa_read), so memory follows the model the header declares, not the size of the file.
"""
from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ngram.arpa_format import ThreadVocab, VocabBytes, format_lines
from ngram.arpa_lines import ArpaLines
from ngram.arpa_read import (
    HEADER_MAX_LINE,
    NGRAM_MAX_LINE,
    TOKENIZER_HEADER,
    check_declared,
    parse_header,
    read_end,
    read_ngrams,
    read_unigrams,
)
from ngram.backoff import BackoffScorer
from ngram.escape import ESCAPE_HEADER, escape_token, needs_escaping, unescape_token
from ngram.npzfile import check_model_file
from ngram.packing import bits_per_id, pack_rows, sort_order
from ngram.tables import NgramIndex, sentence_positions
from ngram.threaded import ordered_thread_map
from ngram.vocab import BOS, EOS, UNK, Vocabulary
from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.running import running_sum

MISSING_UNK_LOGP = -100.0  # KenLM's default for a model without <unk> (lm/config.cc)
CHUNK_LINES = 1 << 14
GZIP_LEVEL = 3  # level 6 would triple the writing time of a large model for ~10% smaller files


@dataclass
class ArpaModel:
    vocab: Vocabulary
    scorer: BackoffScorer
    tokenizer_spec: str | None = None
    warnings: list[str] = field(default_factory=list)


def is_arpa_path(path: str | os.PathLike[str]) -> bool:
    name = str(path).lower()
    return name.endswith(".arpa") or name.endswith(".arpa.gz")


# ---- writing ---------------------------------------------------------------------------------------------------
def _ngram_ids(index: NgramIndex, n: int, lo: int, hi: int) -> np.ndarray:
    """The words of the order-n n-grams lo..hi: (hi - lo, n) int32, following the prefix links back one chunk
    at a time (whole orders of word rows would hold every n-gram's words at once)."""
    out = np.empty((hi - lo, n), dtype=np.int32)
    if n == 1:
        out[:, 0] = np.arange(lo, hi, dtype=np.int32)
        return out
    v = np.uint64(index.vocab_size)
    keys = index.keys[n][lo:hi]
    for m in range(n, 1, -1):  # column m-1 is the last word of the order-m prefix
        out[:, m - 1] = keys % v
        prefix = keys // v
        keys = index.keys[m - 1][prefix] if m > 2 else prefix
    out[:, 0] = keys
    return out


def arpa_head(vocab_tokens: list[str], tokenizer_spec: str | None, sizes: list[int]) -> tuple[str, list[str]]:
    """The text before the first section (tkit comments, `\\data\\`, the counts) and the tokens as the file
    writes them (escaped when some token holds whitespace)."""
    tokens = list(vocab_tokens)
    escaped = needs_escaping(tokens)
    if escaped:
        tokens = [escape_token(t) for t in tokens]
    header = []
    if tokenizer_spec and tokenizer_spec != "whitespace":
        header.append(TOKENIZER_HEADER + json.dumps(tokenizer_spec, ensure_ascii=False))
    if escaped:
        header.append(ESCAPE_HEADER)
    head = "".join(line + "\n" for line in header) + ("\n" if header else "") + "\\data\\\n"
    head += "".join(f"ngram {n}={size}\n" for n, size in enumerate(sizes, start=1))
    return head, tokens


def write_arpa(path: str | os.PathLike[str], vocab: Vocabulary, scorer: BackoffScorer,
               tokenizer_spec: str | None = None, on_progress: Callable[[int], None] | None = None) -> None:
    """Write the model as ARPA (gzip-compressed when the name ends in .gz), atomically, formatting the lines
    of each order in vectorised chunks of CHUNK_LINES."""
    index, order = scorer.index, scorer.order
    head, tokens = arpa_head(vocab.tokens, tokenizer_spec, index.sizes())
    per_thread = ThreadVocab(VocabBytes(tokens))

    def chunk(part: tuple[int, int, int]) -> bytes:  # run by the formatting threads
        n, lo, hi = part
        backoff = scorer.backoff[n] if n < order else None
        return format_lines(_ngram_ids(index, n, lo, hi), scorer.logp[n][lo:hi],
                            None if backoff is None else backoff[lo:hi], per_thread.get())

    gz = str(path).lower().endswith(".gz")
    with atomic_path(path) as tmp:
        out = gzip.open(tmp, "wb", compresslevel=GZIP_LEVEL) if gz else open(tmp, "wb")
        with out:
            out.write(head.encode("utf-8"))
            for n in range(1, order + 1):
                out.write(f"\n\\{n}-grams:\n".encode())
                parts = [(n, lo, min(index.size(n), lo + CHUNK_LINES)) for lo in range(0, index.size(n), CHUNK_LINES)]
                for (_, lo, hi), lines in zip(parts, ordered_thread_map(chunk, parts)):
                    out.write(lines)
                    if on_progress:
                        on_progress(hi - lo)
            out.write(b"\n\\end\\\n")


# ---- reading ---------------------------------------------------------------------------------------------------
def _find_duplicates(src: ArpaLines, rows: np.ndarray, vocab_size: int, first_line: int, n: int) -> None:
    keys = pack_rows(rows, bits_per_id(vocab_size))
    perm = sort_order(keys)
    sk = keys[perm]
    same = np.all(sk[1:] == sk[:-1], axis=1)
    if same.any():
        j = int(max(perm[np.flatnonzero(same)[0]], perm[np.flatnonzero(same)[0] + 1]))
        raise src.error(first_line + j, f"this {n}-gram appears twice in the section")


def _unigram_vocab(src: ArpaLines, names: list[str], first: int, warnings: list[str]) -> Vocabulary:
    """tkit's vocabulary of the unigram section (`<unk> <s> </s>` first); <s> and </s> must be there."""
    p = src.path
    for special in (BOS, EOS):
        if special not in names:
            raise ModelFileError(f"{p} has no {special} unigram: tkit scores sentences and needs <s> and </s>")
    if UNK not in names:
        warnings.append(f"{p} has no <unk>: unknown words get log10 p = {MISSING_UNK_LOGP:g}, as KenLM does")
    if len(set(names)) != len(names):
        seen: set[str] = set()
        for j, name in enumerate(names):
            if name in seen:
                raise src.error(first + j, f"the unigram {name[:40]!r} appears twice")
            seen.add(name)
    return Vocabulary.for_sentences(names)


def _unescaped(src: ArpaLines, names: list[str]) -> list[str]:
    try:
        return [unescape_token(t) for t in names]
    except ValueError as err:
        raise ModelFileError(f"{src.path}: {err}") from None


@dataclass
class _Unigrams:
    vocab: Vocabulary
    lookup: dict[str, int]  # a word as the file writes it -> its id
    logp: np.ndarray
    backoff: np.ndarray


def _read_unigrams(src: ArpaLines, count: int, escaped: bool, warnings: list[str]) -> _Unigrams:
    """The unigram section as tables over tkit's vocabulary (a missing <unk> gets KenLM's default)."""
    uni = read_unigrams(src, count)
    names = _unescaped(src, uni.words) if escaped else uni.words
    vocab = _unigram_vocab(src, names, uni.first, warnings)
    ids = np.fromiter((vocab.index[t] for t in names), dtype=np.int64, count=len(names))
    logp = np.full(len(vocab), MISSING_UNK_LOGP)
    backoff = np.zeros(len(vocab))
    logp[ids] = uni.prob
    backoff[ids] = uni.backoff
    if logp[vocab.bos_id] == -np.inf:  # SRILM writes -99 for <s>, which is never predicted
        logp[vocab.bos_id] = 0.0
    lookup = vocab.index if not escaped else {escape_token(t): i for i, t in enumerate(vocab.tokens)}
    return _Unigrams(vocab, lookup, logp, backoff)


def read_arpa(path: str | os.PathLike[str]) -> ArpaModel:
    """Load an ARPA file into a BackoffScorer over tkit's vocabulary (`<unk> <s> </s>` first), streaming it:
    the declared counts are checked before anything is sized by them, and no more text is read than they
    allow."""
    p = check_model_file(path)
    warnings: list[str] = []
    with ArpaLines(p, HEADER_MAX_LINE) as src:
        header = parse_header(src)
        check_declared(src, header.counts)
        src.max_line = NGRAM_MAX_LINE
        uni = _read_unigrams(src, header.counts[0], header.meta.get("escape") == "backslash", warnings)
        v = len(uni.vocab)
        rows: list[np.ndarray] = [np.empty((0, 0), np.int32), np.arange(v, dtype=np.int32)[:, None]]
        probs: list[np.ndarray] = [np.empty(0), uni.logp]
        backs: list[np.ndarray] = [np.empty(0), uni.backoff]
        for n in range(2, len(header.counts) + 1):
            section = read_ngrams(src, n, header.counts[n - 1], uni.lookup)
            assert section.ids is not None
            if section.ids.shape[0] > 1:
                _find_duplicates(src, section.ids, v, section.first, n)
            rows.append(section.ids)
            probs.append(section.prob)
            backs.append(section.backoff)
        read_end(src)
    index, logp, backoff, blanks = _build_index(rows, probs, backs, v)
    del rows
    scorer = BackoffScorer(index, logp, backoff)
    _fill_blanks(scorer, blanks)
    spec = header.meta.get("tokenizer")
    return ArpaModel(uni.vocab, scorer, spec if isinstance(spec, str) else None, warnings)


def _add_missing_prefixes(rows: list[np.ndarray], probs: list[np.ndarray], backs: list[np.ndarray],
                          v: int) -> list[np.ndarray]:
    """SRILM may prune a context while keeping its extensions: add such contexts (top order down) as blank
    entries (probability to be filled in, backoff 0). Returns a blank mask per order."""
    order = len(rows) - 1
    blank = [np.zeros(r.shape[0], dtype=bool) for r in rows]
    bits = bits_per_id(v)
    for n in range(order, 2, -1):
        if not rows[n].size:
            continue
        wanted = rows[n][:, : n - 1]
        have = rows[n - 1]
        both = np.vstack([have, wanted])
        keys = pack_rows(both, bits)
        perm = sort_order(keys)
        sk = keys[perm]
        start = np.ones(len(perm), dtype=bool)
        start[1:] = np.any(sk[1:] != sk[:-1], axis=1)
        group = running_sum(start) - 1
        has_existing = np.zeros(int(group[-1]) + 1 if group.size else 0, dtype=bool)
        has_existing[group[perm < have.shape[0]]] = True
        new_first = perm[start & ~has_existing[group]]
        if new_first.size:
            extra = both[new_first]
            rows[n - 1] = np.vstack([have, extra])
            probs[n - 1] = np.concatenate([probs[n - 1], np.full(len(extra), np.nan)])
            backs[n - 1] = np.concatenate([backs[n - 1], np.zeros(len(extra))])
            blank[n - 1] = np.concatenate([blank[n - 1], np.ones(len(extra), dtype=bool)])
    return blank


def _build_index(rows: list[np.ndarray], probs: list[np.ndarray], backs: list[np.ndarray], v: int):
    """Rank-packed keys per order (prefix index * V + last word), values sorted along."""
    blank = _add_missing_prefixes(rows, probs, backs, v)
    order = len(rows) - 1
    index = NgramIndex(v, [])
    logp = [np.empty(0), probs[1]]
    backoff = [np.empty(0), backs[1]]
    blanks: list[np.ndarray] = [np.empty(0, np.int64), np.empty(0, np.int64)]
    for n in range(2, order + 1):
        r = rows[n]
        prefix = r[:, 0]
        for t in range(1, n - 1 if r.size else 0):  # an empty order needs no lookups (n of them would cost n^2)
            prefix = index.lookup(t + 1, prefix, r[:, t])
        keys = prefix.astype(np.uint64) * np.uint64(v) + r[:, n - 1].astype(np.uint64)
        perm = np.argsort(keys, kind="stable")
        index.keys.append(keys[perm])
        logp.append(probs[n][perm])
        backoff.append(backs[n][perm])
        blanks.append(np.flatnonzero(blank[n][perm]))
    return index, logp, backoff, blanks


def _fill_blanks(scorer: BackoffScorer, blanks: list[np.ndarray]) -> None:
    """A blank n-gram h w gets bo(h) + log10 p(w | h') from the lower orders, so adding it changes no score."""
    index = scorer.index
    v = np.uint64(index.vocab_size)
    for n in range(2, scorer.order + 1):
        if not blanks[n].size:
            continue
        rows = np.empty((blanks[n].size, n), dtype=np.int64)
        idx = blanks[n]
        for level in range(n, 1, -1):  # words right to left, following the prefix links
            rows[:, level - 1] = (index.keys[level][idx] % v).astype(np.int64)
            idx = index.prefix(level)[idx]
        rows[:, 0] = idx
        context = index.prefix(n)[blanks[n]]
        tail = rows[:, 1:].reshape(-1)  # h' w, scored with orders < n
        reset = np.zeros(tail.size, dtype=bool)
        reset[:: n - 1] = True
        lp = scorer.position_logprobs(tail, sentence_positions(reset), max_order=n - 1)
        last = lp[n - 2:: n - 1] if n > 2 else scorer.logp[1][tail]
        scorer.logp[n][blanks[n]] = scorer.backoff[n - 1][context] + last
