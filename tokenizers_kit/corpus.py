"""Reading corpora: UTF-8 validated, streamed line by line, with errors that name the file and byte offset."""
from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tokenizers_kit.errors import CorpusError

READ_BLOCK = 1 << 22  # 4 MiB: big enough for throughput, small enough for constant memory


def _open_binary(path: str) -> io.BufferedIOBase:
    if path == "-":
        return sys.stdin.buffer
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"corpus file {path!r} does not exist: check the path")
    if p.is_dir():
        raise CorpusError(f"corpus {path!r} is a directory: give the text files inside it")
    if path.endswith(".gz"):
        return gzip.open(p, "rb")  # type: ignore[return-value]
    return open(p, "rb")


def _decode(block: bytes, path: str, offset: int, final: bool) -> tuple[str, bytes]:
    """Decode a block; return the text and any incomplete UTF-8 tail to carry into the next block."""
    try:
        return block.decode("utf-8"), b""
    except UnicodeDecodeError as err:
        if not final and err.reason == "unexpected end of data":
            return block[: err.start].decode("utf-8"), block[err.start :]
        raise CorpusError(
            f"{path}: invalid UTF-8 at byte offset {offset + err.start} (byte 0x{block[err.start]:02x}): "
            "convert the file to UTF-8 (e.g. with iconv)"
        ) from None


def iter_text_blocks(path: str) -> Iterator[str]:
    """Yield the file's text in blocks that end on a line boundary (constant memory)."""
    handle = _open_binary(path)
    offset, pending, carry = 0, b"", ""
    try:
        while True:
            raw = handle.read(READ_BLOCK)
            final = not raw
            block = pending + raw
            text, pending = _decode(block, path, offset, final)
            offset += len(block) - len(pending)
            text = carry + text
            if final:
                if text:
                    yield text
                return
            cut = text.rfind("\n") + 1
            carry = text[cut:]
            if cut:
                yield text[:cut]
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def iter_lines(paths: Sequence[str]) -> Iterator[str]:
    """Every line of every file, without its line ending ("\\r\\n" or "\\n")."""
    for path in paths:
        for block in iter_text_blocks(path):
            lines = block.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for line in lines:
                yield line[:-1] if line.endswith("\r") else line


def read_text(paths: Sequence[str]) -> str:
    """The concatenated text of the files (validated UTF-8); an error if it is empty."""
    text = "".join(block for path in paths for block in iter_text_blocks(path))
    if not text.strip():
        raise CorpusError(f"corpus {', '.join(paths)} is empty: give a file with some text in it")
    return text


def require_nonempty(paths: Sequence[str]) -> None:
    """Raise if every file is missing or has no non-space text (reads at most until the first text)."""
    for path in paths:
        for block in iter_text_blocks(path):
            if block.strip():
                return
    raise CorpusError(f"corpus {', '.join(paths)} is empty: give a file with some text in it")


def corpus_bytes(paths: Iterable[str]) -> int:
    """Total size on disk, for progress bars (0 for stdin)."""
    return sum(os.path.getsize(p) for p in paths if p != "-" and os.path.exists(p))
