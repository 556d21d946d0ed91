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
raise ModelFileError naming the line.
"""
from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np

from ngram.arpa_format import VocabBytes, format_lines
from ngram.backoff import BackoffScorer
from ngram.escape import ESCAPE_HEADER, escape_token, needs_escaping, unescape_token
from ngram.npzfile import check_model_file
from ngram.packing import bits_per_id, pack_rows, sort_order
from ngram.tables import NgramIndex, sentence_positions
from ngram.vocab import BOS, EOS, UNK, Vocabulary
from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.errors import ModelFileError

TOKENIZER_HEADER = "# tkit-tokenizer: "
LOG_ZERO = -99.0  # SRILM's log10 0
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
def _ngram_ids(index: NgramIndex) -> Iterator[np.ndarray]:
    """The words of every n-gram, order by order: (M_n, n) int32, built from the prefix links."""
    ids = np.arange(index.vocab_size, dtype=np.int32)[:, None]
    yield ids
    v = np.uint64(index.vocab_size)
    for n in range(2, index.order + 1):
        words = (index.keys[n] % v).astype(np.int32)
        ids = np.hstack([ids[index.prefix(n)], words[:, None]])
        yield ids


def write_arpa(path: str | os.PathLike[str], vocab: Vocabulary, scorer: BackoffScorer,
               tokenizer_spec: str | None = None, on_progress: Callable[[int], None] | None = None) -> None:
    """Write the model as ARPA (gzip-compressed when the name ends in .gz), atomically, formatting the lines
    of each order in vectorised chunks of CHUNK_LINES."""
    index, order = scorer.index, scorer.order
    tokens = list(vocab.tokens)
    escaped = needs_escaping(tokens)
    if escaped:
        tokens = [escape_token(t) for t in tokens]
    header = []
    if tokenizer_spec and tokenizer_spec != "whitespace":
        header.append(TOKENIZER_HEADER + json.dumps(tokenizer_spec, ensure_ascii=False))
    if escaped:
        header.append(ESCAPE_HEADER)
    head = "".join(line + "\n" for line in header) + ("\n" if header else "") + "\\data\\\n"
    head += "".join(f"ngram {n}={index.size(n)}\n" for n in range(1, order + 1))
    vb = VocabBytes(tokens)
    gz = str(path).lower().endswith(".gz")
    with atomic_path(path) as tmp:
        out = gzip.open(tmp, "wb", compresslevel=GZIP_LEVEL) if gz else open(tmp, "wb")
        with out:
            out.write(head.encode("utf-8"))
            for n, ids in enumerate(_ngram_ids(index), start=1):
                out.write(f"\n\\{n}-grams:\n".encode())
                backoff = scorer.backoff[n] if n < order else None
                for lo in range(0, ids.shape[0], CHUNK_LINES):
                    hi = min(ids.shape[0], lo + CHUNK_LINES)
                    out.write(format_lines(ids[lo:hi], scorer.logp[n][lo:hi],
                                           None if backoff is None else backoff[lo:hi], vb))
                    if on_progress:
                        on_progress(hi - lo)
            out.write(b"\n\\end\\\n")


# ---- reading ---------------------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    check_model_file(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:  # type: ignore[operator]
            data = handle.read()
    except (OSError, EOFError) as err:
        raise ModelFileError(f"{path} is truncated or not a readable ARPA file ({err}): re-create it") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark, as some editors write
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{path}: invalid UTF-8 at byte offset {err.start}: an ARPA file must be UTF-8") from None


class _Lines:
    """The file's lines with 1-based numbers for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.replace("\r\n", "\n").split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()

    def error(self, lineno: int, message: str) -> ModelFileError:
        return ModelFileError(f"{self.path}, line {lineno}: {message}")


def _parse_header(src: _Lines) -> tuple[int, list[int], dict[str, str]]:
    """Position after the counts, the counts per order, and tkit header comments."""
    lines = src.lines
    meta: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "\\data\\":
        line = lines[i]
        if line.startswith(TOKENIZER_HEADER):
            try:
                meta["tokenizer"] = json.loads(line[len(TOKENIZER_HEADER):])
            except json.JSONDecodeError:
                raise src.error(i + 1, "the tkit-tokenizer header is not valid JSON") from None
        elif line.strip() == ESCAPE_HEADER:
            meta["escape"] = "backslash"
        i += 1
    if i == len(lines):
        raise ModelFileError(f"{src.path} is not an ARPA file (no \\data\\ line): give an ARPA language model")
    i += 1
    counts: list[int] = []
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            if counts:
                break
            i += 1
            continue
        if not line.startswith("ngram "):
            if counts and line.startswith("\\"):
                break
            raise src.error(i + 1, f"expected 'ngram N=COUNT' in the \\data\\ section, found {line[:40]!r}")
        try:
            left, right = line[6:].split("=")
            k, c = int(left), int(right)
        except ValueError:
            raise src.error(i + 1, f"malformed count line {line!r}") from None
        if k != len(counts) + 1:
            raise src.error(i + 1, f"n-gram counts must be listed for orders 1, 2, ... in turn; found order {k}")
        if c < 0:
            raise src.error(i + 1, f"negative n-gram count {c}")
        counts.append(c)
        i += 1
    if not counts:
        raise src.error(i, "the \\data\\ section lists no n-gram counts")
    return i, counts, meta


def _parse_section(src: _Lines, start: int, n: int, expected: int) -> tuple[int, list[str], np.ndarray, np.ndarray, int]:
    """Entries of the order-n section: (next line, the words (n per entry, flat), log10 p, log10 backoff,
    index of the first entry's line)."""
    lines = src.lines
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        raise src.error(len(lines), f"the file ends before the \\{n}-grams: section: it is truncated")
    if lines[i].strip() != f"\\{n}-grams:":
        raise src.error(i + 1, f"expected \\{n}-grams:, found {lines[i][:40]!r}")
    first = i + 1
    try:  # the section ends at a blank line, or at the next "\\" line if a blank is missing
        end = lines.index("", first)
    except ValueError:
        end = len(lines)
    joined = "\n".join(lines[first:end])
    cut = 0 if joined.startswith("\\") else joined.find("\n\\") + 1
    if cut or joined.startswith("\\"):
        end = first + joined.count("\n", 0, cut)
    if end - first != expected:
        at_end = end == len(lines)
        what = "the file ends" if at_end else "the section ends"
        raise src.error(end if at_end else end + 1,
                        f"the header promises {expected} {n}-grams but {what} after {end - first}"
                        + (": the file is truncated" if at_end else ": the counts are wrong"))
    parsed = _parse_tabbed(lines[first:end], n) or _parse_any(src, lines[first:end], n, first)
    flat, prob, bo = parsed
    positive = np.flatnonzero(prob > 0)
    if positive.size:
        j = int(positive[0])
        raise src.error(first + j + 1, f"positive log10 probability {prob[j]:g} (a probability above 1)")
    invalid = ~(np.isfinite(prob) | (prob < 0)) | ~(np.isfinite(bo) | (bo < 0))
    if invalid.any():
        raise src.error(first + int(np.flatnonzero(invalid)[0]) + 1, "a value is not a number")
    prob[prob <= LOG_ZERO] = -np.inf
    bo[bo <= LOG_ZERO] = -np.inf
    return end, flat, prob, bo, first


def _parse_tabbed(block: list[str], n: int) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Fast path for KenLM/tkit layout `prob TAB w1 ... wn [TAB backoff]` on every line; None otherwise."""
    m = len(block)
    if m == 0:
        return [], np.zeros(0), np.zeros(0)
    fields = "\t".join(block).split("\t")
    width = len(fields) // m
    if len(fields) != width * m or width not in (2, 3):
        return None
    flat = " ".join(fields[1::width]).split(" ")
    if len(flat) != n * m:
        return None
    try:
        prob = np.array(fields[0::width], dtype=np.float64)
        bo = np.array(fields[2::width], dtype=np.float64) if width == 3 else np.zeros(m)
    except ValueError:
        return None
    return flat, prob, bo


def _parse_any(src: _Lines, block: list[str], n: int, first: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Any whitespace layout, optional backoffs (SRILM); errors name the line."""
    parts = [ln.split() for ln in block]
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    bad = np.flatnonzero((lengths != n + 1) & (lengths != n + 2))
    if bad.size:
        j = int(bad[0])
        raise src.error(first + j + 1, f"a {n}-gram line needs a log10 probability, {n} word(s) and an optional "
                                       f"backoff, found {lengths[j]} fields")
    try:
        prob = np.array([p[0] for p in parts], dtype=np.float64)
        bo = np.zeros(len(parts), dtype=np.float64)
        has_bo = np.flatnonzero(lengths == n + 2)
        if has_bo.size:
            bo[has_bo] = np.array([parts[j][n + 1] for j in has_bo.tolist()], dtype=np.float64)
    except ValueError:
        for j, p in enumerate(parts):
            for value in (p[0], *p[n + 1:]):
                try:
                    float(value)
                except ValueError:
                    raise src.error(first + j + 1, f"{value!r} is not a number") from None
        raise
    return [w for p in parts for w in p[1:n + 1]], prob, bo


def _find_duplicates(src: _Lines, rows: np.ndarray, vocab_size: int, first_line: int, n: int) -> None:
    keys = pack_rows(rows, bits_per_id(vocab_size))
    perm = sort_order(keys)
    sk = keys[perm]
    same = np.all(sk[1:] == sk[:-1], axis=1)
    if same.any():
        j = int(max(perm[np.flatnonzero(same)[0]], perm[np.flatnonzero(same)[0] + 1]))
        raise src.error(first_line + j + 1, f"this {n}-gram appears twice in the section")


def read_arpa(path: str | os.PathLike[str]) -> ArpaModel:
    """Load an ARPA file into a BackoffScorer over tkit's vocabulary (`<unk> <s> </s>` first)."""
    p = Path(path)
    src = _Lines(p, _read_text(p))
    pos, counts, meta = _parse_header(src)
    order = len(counts)
    sections = []
    for n in range(1, order + 1):
        pos, *section = _parse_section(src, pos, n, counts[n - 1])
        sections.append(section)
    while pos < len(src.lines) and not src.lines[pos].strip():
        pos += 1
    if pos == len(src.lines) or src.lines[pos].strip() != "\\end\\":
        raise src.error(min(pos + 1, len(src.lines)), "expected \\end\\: the file is truncated or has extra sections")

    warnings: list[str] = []
    escaped = meta.get("escape") == "backslash"
    names, uni_prob, uni_bo, uni_first = sections[0]
    if escaped:
        try:
            names = [unescape_token(t) for t in names]
        except ValueError as err:
            raise ModelFileError(f"{p}: {err}") from None
    for special in (BOS, EOS):
        if special not in names:
            raise ModelFileError(f"{p} has no {special} unigram: tkit scores sentences and needs <s> and </s>")
    if UNK not in names:
        warnings.append(f"{p} has no <unk>: unknown words get log10 p = {MISSING_UNK_LOGP:g}, as KenLM does")
    if len(set(names)) != len(names):
        seen: set[str] = set()
        for j, name in enumerate(names):
            if name in seen:
                raise src.error(uni_first + j + 1, f"the unigram {name!r} appears twice")
            seen.add(name)
    vocab = Vocabulary.for_sentences(names)
    v = len(vocab)
    lookup = vocab.index if not escaped else {escape_token(t): i for i, t in enumerate(vocab.tokens)}
    logp1 = np.full(v, MISSING_UNK_LOGP)
    bo1 = np.zeros(v)
    uni_ids = np.fromiter((vocab.index[t] for t in names), dtype=np.int64, count=len(names))
    logp1[uni_ids] = uni_prob
    bo1[uni_ids] = uni_bo
    logp1[vocab.bos_id] = 0.0 if logp1[vocab.bos_id] == -np.inf else logp1[vocab.bos_id]

    rows: list[np.ndarray] = [np.empty((0, 0), np.int64), np.arange(v, dtype=np.int64)[:, None]]
    probs: list[np.ndarray] = [np.empty(0), logp1]
    backs: list[np.ndarray] = [np.empty(0), bo1]
    for n in range(2, order + 1):
        flat, prob, bo, first = sections[n - 1]
        ids = np.fromiter(map(lookup.get, flat, repeat(-1)), dtype=np.int64, count=len(flat)).reshape(-1, n)
        missing = np.flatnonzero(np.any(ids < 0, axis=1))
        if missing.size:
            j = int(missing[0])
            word = next(w for w in flat[j * n:(j + 1) * n] if w not in lookup)
            raise src.error(first + j + 1, f"the word {word!r} of this {n}-gram is missing from the unigrams")
        if ids.shape[0] > 1:
            _find_duplicates(src, ids, v, first, n)
        rows.append(ids)
        probs.append(prob)
        backs.append(bo)
    index, logp, backoff, blanks = _build_index(rows, probs, backs, v)
    scorer = BackoffScorer(index, logp, backoff)
    _fill_blanks(scorer, blanks)
    spec = meta.get("tokenizer")
    return ArpaModel(vocab, scorer, spec if isinstance(spec, str) else None, warnings)


def _add_missing_prefixes(rows: list[np.ndarray], probs: list[np.ndarray], backs: list[np.ndarray],
                          v: int) -> list[np.ndarray]:
    """SRILM may prune a context while keeping its extensions: add such contexts (top order down) as blank
    entries (probability to be filled in, backoff 0). Returns a blank mask per order."""
    order = len(rows) - 1
    blank = [np.zeros(r.shape[0], dtype=bool) for r in rows]
    bits = bits_per_id(v)
    for n in range(order, 2, -1):
        wanted = rows[n][:, : n - 1]
        have = rows[n - 1]
        both = np.vstack([have, wanted])
        keys = pack_rows(both, bits)
        perm = sort_order(keys)
        sk = keys[perm]
        start = np.ones(len(perm), dtype=bool)
        start[1:] = np.any(sk[1:] != sk[:-1], axis=1)
        group = np.cumsum(start) - 1
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
        for t in range(1, n - 1):
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
