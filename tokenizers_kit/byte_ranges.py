"""Byte ranges of corpus files, each read by whoever holds the file's path (a Dask worker, say).

A range [start, stop) owns the lines that START in it: a line starts at byte 0 or just after a b"\\n". The
reader of a range skips the tail of a line begun before `start` and reads past `stop` to the end of the last
line begun before it, so the ranges of a file together read every line exactly once, however the cuts fall
(inside a line, inside a UTF-8 sequence, on a newline, in a range shorter than one line). A gzip file cannot
be entered in the middle: it is one range (`whole`), read from the start.
"""
from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tokenizers_kit.errors import CorpusError

READ_BLOCK = 1 << 22  # bytes read at once (blocks of text yielded are about this size, cut on line ends)
MAX_RANGE_BYTES = 32 << 20  # a range's windows must fit in a worker's memory with room to spare
MIN_RANGE_BYTES = 1 << 20  # below this a task's fixed cost (scheduling, a file per stage) dominates
RANGES_PER_WORKER = 4  # so that workers finishing early find work, and a lost worker costs little


@dataclass(frozen=True)
class ByteRange:
    """The lines of `path` that start in [start, stop); `whole`: the whole (compressed) file."""

    path: str
    start: int
    stop: int
    whole: bool = False


def auto_range_bytes(paths: Sequence[str], workers: int) -> int:
    """About RANGES_PER_WORKER ranges for each worker, within [MIN_RANGE_BYTES, MAX_RANGE_BYTES]."""
    total = sum(os.path.getsize(p) for p in paths if p != "-" and os.path.isfile(p))
    return max(MIN_RANGE_BYTES, min(MAX_RANGE_BYTES, -(-total // (RANGES_PER_WORKER * max(1, workers)))))


def split_ranges(paths: Sequence[str], range_bytes: int) -> list[ByteRange]:
    """Ranges of about `range_bytes` over the files (absolute paths, so every machine reads the same)."""
    if range_bytes < 1:
        raise CorpusError(f"range size must be at least 1 byte (got {range_bytes})")
    out: list[ByteRange] = []
    for name in paths:
        if name == "-":
            raise CorpusError("--scheduler workers read the corpus files themselves, so stdin ('-') cannot be "
                              "used: save the text to a file on a path the workers share")
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            what = "is a directory" if os.path.isdir(path) else "does not exist"
            raise CorpusError(f"corpus file {name!r} {what}: check the path")
        size = os.path.getsize(path)
        if path.endswith(".gz"):
            out.append(ByteRange(path, 0, size, whole=True))
            continue
        out.extend(ByteRange(path, a, min(a + range_bytes, size)) for a in range(0, size, range_bytes))
    return out


def _open(rng: ByteRange):  # type: ignore[no-untyped-def]
    try:
        return gzip.open(rng.path, "rb") if rng.whole else open(rng.path, "rb")
    except FileNotFoundError:
        raise CorpusError(f"corpus file {rng.path!r} is not there on the machine reading it: every Dask worker "
                          "must see the inputs at the same path (a shared file system)") from None


def _first_line_start(handle, start: int) -> int:  # type: ignore[no-untyped-def]
    """The first line start at or after `start`."""
    if start == 0:
        return 0
    handle.seek(start - 1)
    pos = start - 1
    while block := handle.read(1 << 16):
        cut = block.find(b"\n")
        if cut >= 0:
            return pos + cut + 1
        pos += len(block)
    return pos  # no newline after start: no line starts in the rest of the file


def iter_range_bytes(rng: ByteRange) -> Iterator[tuple[int, bytes]]:
    """(file offset, bytes) of the range's lines, in blocks that end on a line end (the last may lack one);
    offsets in a gzip file count its uncompressed bytes."""
    with _open(rng) as handle:
        pos = 0
        if rng.whole:
            stop = None
        else:
            pos = _first_line_start(handle, rng.start)
            if pos >= rng.stop:
                return
            handle.seek(pos)
            stop = rng.stop
        read = 0  # bytes read past pos
        carry = b""  # the start of a line whose end is not read yet
        while True:
            block = handle.read(READ_BLOCK)
            if not block:
                if carry:
                    yield pos + read - len(carry), carry
                return
            if stop is not None and pos + read + len(block) >= stop:
                # the last line begun before `stop` ends at the first b"\n" at or after stop - 1
                cut = block.find(b"\n", max(0, stop - 1 - (pos + read)))
                if cut >= 0:
                    yield pos + read - len(carry), carry + block[:cut + 1]
                    return
            read += len(block)
            block = carry + block
            cut = block.rfind(b"\n") + 1
            carry = block[cut:]
            if cut:
                yield pos + read - len(block), block[:cut]


def iter_range_text(rng: ByteRange) -> Iterator[tuple[str, int]]:
    """(text block, its size in bytes) for the range's lines; invalid UTF-8 is a CorpusError naming the file
    and the byte offset, as the single-machine reader says it."""
    for offset, raw in iter_range_bytes(rng):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CorpusError(f"{rng.path}: invalid UTF-8 at byte offset {offset + err.start} (byte "
                              f"0x{raw[err.start]:02x}): convert the file to UTF-8 (e.g. with iconv)") from None
        yield text, len(raw)
