"""Lines of any length in bounded memory: a file read as text pieces, cut into work items at line ends or at
places inside a line where the tokenizer's output provably does not change.

A work item is `(text, continues)`: `text` starts at a line start (`continues` False) or at a safe cut inside a
line (`continues` True), and ends after a '\\n', at a safe cut, or at the end of the input. Lines are split on
'\\n' only: '\\r', '\\x0b', '\\x0c', '\\x85', U+2028 ... are text like any other character.

The safe cut (`cut_finder`) is before a ' ' whose previous character is not whitespace (nor '▁'). It is used
only for pipelines where that cut is proven exact (`windowable`):
- every pre-tokenizer kind accepted here puts a chunk boundary there, and no chunk decision before it looks
  past it (GPT-2/GPT-4 split patterns: no alternative matches a non-space followed by ' '; BERT / Whitespace
  splits; Metaspace with split);
- with no pre-tokenizer, the tokenizer cuts before each '▁' itself (`Tokenizer._subchunk`) and the normalizer
  turns ' ' into '▁', or the model encodes each character alone (the `char` algorithm);
- normalizers act character by character (a ' ' after a non-space composes with nothing), and a leading
  `Prepend` applies to the line's first part only;
- no added token contains a ' ' after another character, so none can straddle the cut.
A line with no safe cut is encoded whole; the Unigram models then keep only the undecided stretch of their
Viterbi (tokenizers_kit.unigram_stream).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from tokenizers_kit.corpus import _open_binary
from tokenizers_kit.errors import CorpusError

Work = tuple[str, bool]  # (text, continues a line cut at a safe place)
READ_BYTES = 1 << 20
WINDOW_CHARS = 1 << 16  # a long line's parts: small, so a part encoded whole (a Unigram near tie) stays small

_LAST_CUT = re.compile(r"(?s).*[^\s\u2581](?= )")  # greedy: the last ' ' after a non-space (stdlib \s: wider)


def last_space_cut(text: str) -> int:
    """Index of the last ' ' that follows a non-space character (0 if none)."""
    m = _LAST_CUT.match(text)
    return m.end() if m else 0


def any_cut(text: str) -> int:
    """Every position is safe (one token per character)."""
    return len(text)


def _decode_error(path: str, raw: bytes, err: UnicodeDecodeError, offset: int, lines_before: int) -> CorpusError:
    line = lines_before + raw.count(b"\n", 0, err.start) + 1
    return CorpusError(f"{path}: invalid UTF-8 at byte offset {offset + err.start} (line {line}, byte "
                       f"0x{raw[err.start]:02x}): convert the file to UTF-8 (e.g. with iconv)")


def iter_pieces(path: str, nbytes: int = READ_BYTES) -> Iterator[str]:
    """The file's text in pieces of at most about `nbytes` bytes, UTF-8 checked, whatever its line lengths."""
    handle = _open_binary(path)
    offset, lines, pending = 0, 0, b""
    try:
        while True:
            raw = handle.read(nbytes)
            block = pending + raw
            try:
                text, pending = block.decode("utf-8"), b""
            except UnicodeDecodeError as err:
                if raw and err.reason == "unexpected end of data":  # a character cut by the read
                    text, pending = block[: err.start].decode("utf-8"), block[err.start:]
                else:
                    raise _decode_error(path, block, err, offset, lines) from None
            offset += len(block) - len(pending)
            lines += text.count("\n")
            if text:
                yield text
            if not raw:
                return
    finally:
        if path != "-":
            handle.close()


def iter_work(pieces: Iterator[str], cut: Callable[[str], int] | None, size: int,
              window: int | None = None) -> Iterator[Work]:
    """Work items: runs of whole lines of about `size` chars, and a line longer than `size` in parts of about
    `window` chars cut by `cut` (None: long lines stay whole)."""
    window = min(window or WINDOW_CHARS, size)
    buf, continues, searched = "", False, 0  # buf (one partial line when searched > 0): no safe cut before searched
    for piece in pieces:
        buf += piece
        while len(buf) >= size:
            line_end = buf.find("\n", size - 1) + 1 or buf.rfind("\n") + 1  # whole lines, about `size` chars
            if line_end:
                yield buf[:line_end], continues
                buf, continues, searched = buf[line_end:], False, 0
                continue
            if cut is None:
                break  # one long line, kept whole
            lo, hi = max(0, searched - 1), min(len(buf), searched + window)  # a cut needs the char before it
            inside = cut(buf[lo:hi])
            if inside:
                yield buf[:lo + inside], continues
                buf, continues, searched = buf[lo + inside:], True, 0
            elif hi == len(buf):
                searched = hi
                break  # no safe cut yet: read more
            else:
                searched = hi
    if buf:
        yield buf, continues


def cut_finder(tok: object) -> Callable[[str], int] | None:
    """The safe-cut function for a tokenizer, or None when none is proven for its pipeline."""
    from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer

    if isinstance(tok, CharTokenizer):
        return any_cut
    if isinstance(tok, WhitespaceTokenizer):
        return last_space_cut
    windowable = getattr(tok, "windowable", None)
    if windowable is None:
        return None
    kind = windowable()
    return {"space": last_space_cut, "any": any_cut}.get(kind) if kind else None
