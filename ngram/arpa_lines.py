"""The lines of an ARPA file (plain or gzip), streamed in decoded blocks with bounded buffers.

The file is read a chunk of bytes at a time, so memory follows what the parser keeps, never the inflated size
of a compressed file; a line longer than `max_line` stops reading (a stream of zeros has no newline to stop at).
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO

from tokenizers_kit.errors import ModelFileError

CHUNK_BYTES = 1 << 22
GZIP_MAGIC = b"\x1f\x8b"
# Errors a corrupt or truncated gzip stream raises from read().
READ_ERRORS = (OSError, EOFError, zlib.error)


class ArpaLines:
    """Lines without their newline (CRLF read as LF, a leading byte-order mark dropped), numbered from 1."""

    def __init__(self, path: Path, max_line: int) -> None:
        self.path = path
        self.max_line = max_line
        self.lineno = 0  # lines handed out so far
        self.size = 0
        self.gzipped = False
        self._raw: BinaryIO | None = None
        self._stream: BinaryIO | None = None
        self._lines: list[str] = []
        self._pos = 0
        self._rest = b""
        self._offset = 0  # bytes of the (inflated) stream decoded so far
        self._eof = False

    def __enter__(self) -> ArpaLines:
        try:
            raw = open(self.path, "rb")
        except OSError as err:
            raise ModelFileError(f"{self.path} cannot be read ({err.strerror}): check its permissions") from None
        self._raw = raw
        try:
            self.size = raw.seek(0, 2)
            raw.seek(0)
            self.gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
        except OSError as err:
            raw.close()
            raise ModelFileError(f"{self.path} cannot be read ({err.strerror}): give a regular file") from None
        self._stream = gzip.GzipFile(fileobj=raw, mode="rb") if self.gzipped else raw  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None and self._stream is not self._raw:
            self._stream.close()
        if self._raw is not None:
            self._raw.close()

    def error(self, lineno: int, message: str) -> ModelFileError:
        return ModelFileError(f"{self.path}, line {lineno}: {message}")

    # ---- reading -------------------------------------------------------------------------------------------
    def _read_chunk(self) -> bytes:
        assert self._stream is not None
        try:
            return self._stream.read(CHUNK_BYTES)
        except READ_ERRORS as err:
            raise ModelFileError(f"{self.path} is truncated or not a readable ARPA file "
                                 f"({type(err).__name__}: {err}): re-create it") from None

    def _fill(self) -> bool:
        """Decode the next chunk of whole lines into the buffer; False at the end of the file."""
        while not self._eof:
            chunk = self._read_chunk()
            data = self._rest + chunk
            if not chunk:
                self._eof = True
                self._rest = b""
                if data:
                    self._decode(data)
                    return True
                return False
            cut = data.rfind(b"\n") + 1
            self._rest = data[cut:]
            if len(self._rest) > self.max_line:
                raise self.error(self.lineno + len(self._lines) - self._pos + 1 + data.count(b"\n", 0, cut),
                                 f"a line longer than {self.max_line} bytes: this is not an ARPA file "
                                 "(or it is corrupt)")
            if cut:
                self._decode(data[:cut - 1])
                return True
        return False

    def _decode(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = self.lineno + len(self._lines) - self._pos + 1 + data.count(b"\n", 0, err.start)
            raise ModelFileError(f"{self.path}, line {line}: invalid UTF-8 at byte offset "
                                 f"{self._offset + err.start}: an ARPA file must be UTF-8") from None
        if self._offset == 0:
            text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors write
        self._offset += len(data) + 1
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        self._lines = self._lines[self._pos:] + text.split("\n")
        self._pos = 0

    def next_line(self) -> str | None:
        """The next line, or None at the end of the file."""
        if self._pos == len(self._lines) and not self._fill():
            return None
        line = self._lines[self._pos]
        self._pos += 1
        self.lineno += 1
        return line

    def peek(self) -> str | None:
        if self._pos == len(self._lines) and not self._fill():
            return None
        return self._lines[self._pos]

    def take(self, k: int) -> list[str]:
        """Up to k next lines (fewer only at the end of the file)."""
        out: list[str] = []
        while len(out) < k:
            if self._pos == len(self._lines) and not self._fill():
                break
            hi = min(len(self._lines), self._pos + k - len(out))
            part = self._lines[self._pos:hi]
            out = part if not out else out + part
            self.lineno += hi - self._pos
            self._pos = hi
        return out
