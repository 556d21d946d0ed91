"""Parsing ARPA text from streamed lines: the header, its declared counts (checked before anything is sized by
them), each `\\N-grams:` section a block of lines at a time, and `\\end\\`.

Every length is bounded by what the header declares: a section longer or shorter than its count, a line too
long, a run of blank lines, or text after `\\end\\` stops the read with a ModelFileError naming the line, so a
small compressed file that inflates without end is refused after little work.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from ngram.arpa_lines import ArpaLines
from ngram.escape import ESCAPE_HEADER
from ngram.order_limits import MAX_MODEL_ORDER
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.memory import available_memory, human

TOKENIZER_HEADER = "# tkit-tokenizer: "
LOG_ZERO = -99.0  # SRILM's log10 0
HEADER_MAX_LINE = 1 << 26  # the tkit-tokenizer header holds a whole tokenizer.json on one line
NGRAM_MAX_LINE = 1 << 20
MAX_PREAMBLE_LINES = 100_000  # text SRILM allows before \data\
MAX_BLANK_LINES = 100_000  # between sections and after \end\
DEFLATE_MAX_RATIO = 1032  # the most deflate can expand: a 258-byte match in about two bits
BLOCK_LINES = 1 << 16


@dataclass
class Header:
    counts: list[int]
    meta: dict[str, str] = field(default_factory=dict)


# ---- header ----------------------------------------------------------------------------------------------------
def parse_header(src: ArpaLines) -> Header:
    """The tkit comments before `\\data\\` and the `ngram N=COUNT` lines after it."""
    meta: dict[str, str] = {}
    seen = 0
    while True:
        line = src.next_line()
        if line is None:
            raise ModelFileError(f"{src.path} is not an ARPA file (no \\data\\ line): give an ARPA language model")
        if line.strip() == "\\data\\":
            break
        seen += 1
        if seen > MAX_PREAMBLE_LINES:
            raise ModelFileError(f"{src.path} is not an ARPA file (no \\data\\ line in its first "
                                 f"{MAX_PREAMBLE_LINES} lines): give an ARPA language model")
        if line.startswith(TOKENIZER_HEADER):
            try:
                meta["tokenizer"] = json.loads(line[len(TOKENIZER_HEADER):])
            except (json.JSONDecodeError, RecursionError):
                raise src.error(src.lineno, "the tkit-tokenizer header is not valid JSON") from None
        elif line.strip() == ESCAPE_HEADER:
            meta["escape"] = "backslash"
    return Header(_parse_counts(src), meta)


def _parse_counts(src: ArpaLines) -> list[int]:
    counts: list[int] = []
    blanks = 0
    while True:
        peeked = src.peek()
        if peeked is None:
            break
        line = peeked.strip()
        if not line:
            if counts:
                break
            blanks += 1
            if blanks > MAX_BLANK_LINES:
                raise src.error(src.lineno + 1, "too many blank lines after \\data\\: the file is corrupt")
            src.next_line()
            continue
        if not line.startswith("ngram "):
            if counts and line.startswith("\\"):
                break
            raise src.error(src.lineno + 1, f"expected 'ngram N=COUNT' in the \\data\\ section, found {line[:40]!r}")
        src.next_line()
        counts.append(_count_line(src, line, len(counts) + 1))
    if not counts:
        raise src.error(src.lineno, "the \\data\\ section lists no n-gram counts")
    return counts


def _count_line(src: ArpaLines, line: str, expected_order: int) -> int:
    try:
        left, right = line[6:].split("=")
        k, c = int(left), int(right)
    except ValueError:
        raise src.error(src.lineno, f"malformed count line {line[:60]!r}") from None
    if k != expected_order:
        raise src.error(src.lineno, f"n-gram counts must be listed for orders 1, 2, ... in turn; found order {k}")
    if k > MAX_MODEL_ORDER:
        raise src.error(src.lineno, f"order {k} is above the largest tkit reads ({MAX_MODEL_ORDER}): "
                                    "the file is corrupt")
    if c < 0:
        raise src.error(src.lineno, f"negative n-gram count {c}")
    return c


def bytes_per_entry(n: int) -> int:
    """What loading keeps per order-n entry: its ids (int32), log10 p and backoff (float64), and the sort keys
    and permutations of index building."""
    return 4 * n + 16 + 32


def check_declared(src: ArpaLines, counts: list[int]) -> None:
    """Refuse counts the file cannot hold or memory cannot take, before anything is sized by them.

    The shortest order-n line is `p TAB w1 SPACE ... wn NEWLINE`, 2n + 2 bytes; a file of S bytes holds at
    most S of text, and deflate inflates at most DEFLATE_MAX_RATIO times."""
    shortest = sum(c * (2 * n + 2) for n, c in enumerate(counts, start=1))
    capacity = src.size * (DEFLATE_MAX_RATIO if src.gzipped else 1)
    total = sum(counts)
    if shortest > capacity:
        raise ModelFileError(f"{src.path} declares {total} n-grams, more than its {src.size} bytes can hold: "
                             "the header counts are wrong or the file is truncated; re-create it")
    need = sum(c * bytes_per_entry(n) for n, c in enumerate(counts, start=1))
    have = available_memory()
    if need > have:
        raise ModelFileError(f"{src.path} declares {total} n-grams, which need about {human(need)} to load; "
                             f"{human(have)} is available: free memory or prune the model")


# ---- sections --------------------------------------------------------------------------------------------------
def skip_blank(src: ArpaLines) -> str | None:
    """The next line that is not blank (None at the end), after a bounded run of blank lines."""
    for _ in range(MAX_BLANK_LINES):
        line = src.next_line()
        if line is None or line.strip():
            return line
    raise src.error(src.lineno, f"more than {MAX_BLANK_LINES} blank lines in a row: the file is corrupt")


def _section_start(src: ArpaLines, n: int) -> int:
    line = skip_blank(src)
    if line is None:
        raise src.error(src.lineno, f"the file ends before the \\{n}-grams: section: it is truncated")
    if line.strip() != f"\\{n}-grams:":
        raise src.error(src.lineno, f"expected \\{n}-grams:, found {line[:40]!r}")
    return src.lineno + 1


def _end_in_block(block: list[str]) -> int:
    """Index of the first line that ends a section (empty, or a `\\` line), or -1."""
    if not block[0] or block[0][0] == "\\":
        return 0
    joined = "\n".join(block) + "\n"  # so that an empty last line shows as "\n\n"
    cuts = [k for k in (joined.find("\n\n"), joined.find("\n\\")) if k >= 0]
    return joined.count("\n", 0, min(cuts)) + 1 if cuts else -1


def _blocks(src: ArpaLines, n: int, expected: int) -> Iterator[tuple[int, list[str]]]:
    """(line number of the first, lines) of the section body, exactly `expected` lines in all."""
    got = 0
    while got < expected:
        first = src.lineno + 1
        block = src.take(min(BLOCK_LINES, expected - got))
        stop = _end_in_block(block) if block else 0
        if stop >= 0 or len(block) < min(BLOCK_LINES, expected - got):
            found = got + (stop if stop >= 0 else len(block))
            at_end = stop < 0
            raise src.error(first + (stop if stop >= 0 else len(block)) - (1 if at_end else 0),
                            f"the header promises {expected} {n}-grams but "
                            f"{'the file ends' if at_end else 'the section ends'} after {found}"
                            + (": the file is truncated" if at_end else ": the counts are wrong"))
        yield first, block
        got += len(block)
    after = src.peek()
    if after is not None and after and after[0] != "\\":
        raise src.error(src.lineno + 1, f"the header promises {expected} {n}-grams but the section has more: "
                                        "the counts are wrong")


def _parse_tabbed(block: list[str], n: int) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Fast path for KenLM/tkit layout `prob TAB w1 ... wn [TAB backoff]` on every line; None otherwise."""
    m = len(block)
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


def _parse_any(src: ArpaLines, block: list[str], n: int, first: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Any whitespace layout, optional backoffs (SRILM); errors name the line."""
    parts = [ln.split() for ln in block]
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    bad = np.flatnonzero((lengths != n + 1) & (lengths != n + 2))
    if bad.size:
        j = int(bad[0])
        raise src.error(first + j, f"a {n}-gram line needs a log10 probability, {n} word(s) and an optional "
                                   f"backoff, found {lengths[j]} fields")
    try:
        prob = np.array([p[0] for p in parts], dtype=np.float64)
        bo = np.zeros(len(parts), dtype=np.float64)
        has_bo = np.flatnonzero(lengths == n + 2)
        if has_bo.size:
            bo[has_bo] = np.array([parts[j][n + 1] for j in has_bo.tolist()], dtype=np.float64)
    except ValueError:
        raise _not_a_number(src, parts, n, first) from None
    return [w for p in parts for w in p[1:n + 1]], prob, bo


def _not_a_number(src: ArpaLines, parts: list[list[str]], n: int, first: int) -> ModelFileError:
    """The error for the first value that does not parse (looked for only once parsing the block failed)."""
    for j, p in enumerate(parts):
        for value in (p[0], *p[n + 1:]):
            try:
                float(value)
            except ValueError:
                return src.error(first + j, f"{value[:40]!r} is not a number")
    return src.error(first, "a value is not a number")


def _check_values(src: ArpaLines, prob: np.ndarray, bo: np.ndarray, first: int) -> None:
    """Probabilities are log10 of at most 1; -99 and below is log 0 (SRILM); NaN is no number at all."""
    positive = np.flatnonzero(prob > 0)
    if positive.size:
        j = int(positive[0])
        raise src.error(first + j, f"positive log10 probability {prob[j]:g} (a probability above 1)")
    invalid = ~(np.isfinite(prob) | (prob < 0)) | ~(np.isfinite(bo) | (bo < 0))
    if invalid.any():
        raise src.error(first + int(np.flatnonzero(invalid)[0]), "a value is not a number")
    prob[prob <= LOG_ZERO] = -np.inf
    bo[bo <= LOG_ZERO] = -np.inf


def _parsed_blocks(src: ArpaLines, n: int, expected: int) -> Iterator[tuple[int, list[str], np.ndarray, np.ndarray]]:
    for first, block in _blocks(src, n, expected):
        flat, prob, bo = _parse_tabbed(block, n) or _parse_any(src, block, n, first)
        _check_values(src, prob, bo, first)
        yield first, flat, prob, bo


@dataclass
class Section:
    first: int  # line number of the first entry
    prob: np.ndarray
    backoff: np.ndarray
    words: list[str] = field(default_factory=list)  # unigrams only
    ids: np.ndarray | None = None  # (M, n) int32, orders 2 and up


def read_unigrams(src: ArpaLines, expected: int) -> Section:
    first = _section_start(src, 1)
    section = Section(first, np.empty(expected), np.empty(expected))
    got = 0
    for _, flat, prob, bo in _parsed_blocks(src, 1, expected):
        section.words.extend(flat)
        section.prob[got:got + prob.size] = prob
        section.backoff[got:got + prob.size] = bo
        got += prob.size
    return section


def read_ngrams(src: ArpaLines, n: int, expected: int, lookup: Mapping[str, int]) -> Section:
    """The order-n section with its words mapped to ids; a word missing from the unigrams is an error."""
    first = _section_start(src, n)
    section = Section(first, np.empty(expected), np.empty(expected), ids=np.empty((expected, n), np.int32))
    got = 0
    for line, flat, prob, bo in _parsed_blocks(src, n, expected):
        m = prob.size
        ids = np.fromiter(map(lookup.get, flat, repeat(-1)), dtype=np.int64, count=len(flat)).reshape(m, n)
        missing = np.flatnonzero(np.any(ids < 0, axis=1))
        if missing.size:
            j = int(missing[0])
            word = next(w for w in flat[j * n:(j + 1) * n] if w not in lookup)
            raise src.error(line + j, f"the word {word[:40]!r} of this {n}-gram is missing from the unigrams")
        section.ids[got:got + m] = ids  # type: ignore[index]
        section.prob[got:got + m] = prob
        section.backoff[got:got + m] = bo
        got += m
    return section


def read_end(src: ArpaLines) -> None:
    """`\\end\\`, then nothing but blank lines (as KenLM requires)."""
    line = skip_blank(src)
    if line is None or line.strip() != "\\end\\":
        raise src.error(max(src.lineno, 1), "expected \\end\\: the file is truncated or has extra sections")
    trailing = skip_blank(src)
    if trailing is not None:
        raise src.error(src.lineno, f"text after \\end\\ ({trailing[:40]!r}): the file is corrupt; remove it")
